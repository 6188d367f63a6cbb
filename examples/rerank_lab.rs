//! Scores the first stage's candidates every way the second stage could, for offline analysis of
//! how to combine them: per query, the fine-tuned bi-encoder's top N over an index, and for each
//! candidate code the reranker's score and the bi-encoder's cosine against the index text and
//! against each of the code's catalogue descriptions (one per language; `inc:N` = its N-th
//! ICD-10-CM inclusion term).
//!
//! ```sh
//! D=../shared/data
//! RAYON_NUM_THREADS=1 cargo run --release --example rerank_lab -- \
//!   --index target/report/codiesp_en_bi.mbix --queries $D/codiesp/train/queries.jsonl \
//!   --qrels $D/codiesp/train/qrels.tsv --exclude $D/codiesp/dev/queries.jsonl --limit 300 \
//!   --depth 30 --out target/report/lab_train.jsonl
//! ```
//! `--exclude FILE` drops queries whose text occurs in FILE (keeps a train sample free of dev texts).
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use medbridge::catalog::Catalog;
use medbridge::corpus::{read_qrels, read_queries};
use medbridge::encode::{Encoder, Kind};
use medbridge::retrieve::index::Index;
use medbridge::retrieve::rerank::Reranker;

fn main() -> anyhow::Result<()> {
    let (mut index, mut queries, mut qrels, mut exclude, mut out) = (None, None, None, None, None);
    let (mut limit, mut depth) = (usize::MAX, 30usize);
    let (mut model, mut catalog, mut reranker) =
        (PathBuf::from("models/e5-small-bi"), PathBuf::from("models/icd10/catalog.jsonl"), PathBuf::from("models/trained/cross"));
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--index" => index = Some(PathBuf::from(v()?)),
            "--queries" => queries = Some(PathBuf::from(v()?)),
            "--qrels" => qrels = Some(PathBuf::from(v()?)),
            "--exclude" => exclude = Some(PathBuf::from(v()?)),
            "--out" => out = Some(PathBuf::from(v()?)),
            "--limit" => limit = v()?.parse()?,
            "--depth" => depth = v()?.parse()?,
            "--model" => model = v()?.into(),
            "--catalog" => catalog = v()?.into(),
            "--reranker" => reranker = v()?.into(),
            _ => bail!("unknown argument {k}"),
        }
    }
    let (Some(index), Some(queries), Some(qrels), Some(out)) = (index, queries, qrels, out) else {
        bail!("usage: rerank_lab --index I --queries Q --qrels R --out FILE [--exclude Q2] [--limit N] [--depth 30]");
    };
    let t0 = Instant::now();
    let enc = Encoder::load(&model)?;
    let idx = Index::load(&index, Some(&enc.info.model_id))?;
    let cat = Catalog::load_jsonl(&catalog)?;
    let rr = Reranker::load(&medbridge::model::default_dir(), &reranker)?;
    let qrels = read_qrels(&qrels)?;
    let banned: HashSet<String> = match &exclude {
        Some(p) => read_queries(p)?.into_iter().map(|q| q.text.trim().to_lowercase()).collect(),
        None => HashSet::new(),
    };
    let mut qs: Vec<_> = read_queries(&queries)?
        .into_iter()
        .filter(|q| qrels.contains_key(&q.id) && !banned.contains(&q.text.trim().to_lowercase()))
        .collect();
    qs.shuffle(&mut StdRng::seed_from_u64(7));
    qs.truncate(limit);
    qs.sort_by(|a, b| a.id.cmp(&b.id));
    let texts: HashMap<&str, &str> = idx.ids.iter().map(|s| s.as_str()).zip(idx.texts.iter().map(|s| s.as_str())).collect();
    eprintln!("{} queries, index {} ({} docs), depth {depth}", qs.len(), index.display(), idx.len());
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).with_context(|| out.display().to_string())?);
    for (n, q) in qs.iter().enumerate() {
        let qv = enc.embed_one(&q.text, Kind::Query)?;
        let hits = idx.search(&qv, depth)?;
        let mut rows = Vec::new();
        for h in &hits {
            let mut variants: Vec<(String, String)> = vec![("idx".into(), texts.get(h.id.as_str()).copied().unwrap_or("").to_string())];
            if let Some(e) = cat.get(&h.id) {
                for (l, d) in &e.descriptions {
                    variants.push((l.clone(), d.clone()));
                }
                for (i, t) in e.inclusion_terms.iter().enumerate() {
                    variants.push((format!("inc:{i}"), t.clone()));
                }
            }
            let vt: Vec<&str> = variants.iter().map(|v| v.1.as_str()).collect();
            let cross = rr.score(&q.text, &vt)?;
            let bi = enc.embed(&vt, Kind::Passage)?;
            let mut m = serde_json::Map::new();
            for ((v, c), b) in variants.iter().zip(cross).zip(bi) {
                let cos: f32 = qv.iter().zip(&b).map(|(x, y)| x * y).sum();
                m.insert(v.0.clone(), serde_json::json!([c, cos]));
            }
            rows.push(serde_json::json!({"id": h.id, "first": h.score, "scores": m}));
        }
        let gold: Vec<&String> = qrels[&q.id].keys().collect();
        writeln!(w, "{}", serde_json::json!({"qid": q.id, "text": q.text, "gold": gold, "cands": rows}))?;
        if (n + 1) % 20 == 0 {
            w.flush()?;
            eprintln!("{}/{} queries ({:.0} s)", n + 1, qs.len(), t0.elapsed().as_secs_f64());
        }
    }
    w.flush()?;
    eprintln!("written {} in {:.0} s", out.display(), t0.elapsed().as_secs_f64());
    Ok(())
}
