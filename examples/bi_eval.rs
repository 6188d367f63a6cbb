//! Zero-shot vs fine-tuned bi-encoder on a BEIR dataset, from ONE pass through the frozen layers.
//!
//! The trained parts only change the layers above `freeze_layers`, so the lower layers' output
//! is computed once per text (block by block) and both top stacks (base, fine-tuned) run on it:
//! the pair of evaluations costs ~(1 + 2·top/12) of one model's pass instead of two passes.
//! Search is exact (brute-force cosine over all documents), so it is a clean A/B of the two
//! encoders (the CLI's `eval` uses the approximate HNSW index).
//!
//! ```sh
//! D=../shared/data
//! RAYON_NUM_THREADS=1 cargo run --release --example bi_eval -- \
//!   --queries $D/codiesp/dev/queries.jsonl --qrels $D/codiesp/dev/qrels.tsv \
//!   --corpus $D/codiesp/corpus_en.jsonl --trained models/trained/bi --out target/train/codiesp_dev.json
//! ```
//! `--manifest-label NAME` records the results in the trained parts' manifest (metrics.eval.NAME).
//! `--sample N` keeps every judged document plus N others (seeded) for a quicker, easier pool;
//! `--cross-queries FILE` (repeatable) also scores other query files (e.g. Spanish CasiMedicos
//! cases) against the same corpus; `--max-len` caps tokens per text (default 512);
//! `--save-index FILE` also saves the fine-tuned model's document vectors as a regular HNSW index
//! (the one `medbridge index --model models/e5-small-bi` would build), so `medbridge eval` can run the
//! two-stage pipeline (`--rerank N`) on it without embedding the corpus a third time.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use candle_core::Device;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use medbridge::corpus::{read_corpus, read_qrels, read_queries, Query};
use medbridge::encode::Kind;
use medbridge::eval::{evaluate, Metrics};
use medbridge::model::parts;
use medbridge::model::ModelDir;
use medbridge::retrieve::Run;
use medbridge::train::{Adapt, Exec, Pool, TrainSpec, TrainableEncoder};

struct Args {
    queries: Vec<PathBuf>,
    qrels: PathBuf,
    corpus: PathBuf,
    trained: PathBuf,
    sample: Option<usize>,
    max_len: usize,
    out: Option<PathBuf>,
    block: usize,
    /// Record the results in the trained parts' manifest under metrics.eval.<label>.
    label: Option<String>,
    save_index: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        queries: vec![],
        qrels: PathBuf::new(),
        corpus: PathBuf::new(),
        trained: "models/trained/bi".into(),
        sample: None,
        max_len: 512,
        out: None,
        block: 4096,
        label: None,
        save_index: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--queries" | "--cross-queries" => a.queries.push(v()?.into()),
            "--qrels" => a.qrels = v()?.into(),
            "--corpus" => a.corpus = v()?.into(),
            "--trained" => a.trained = v()?.into(),
            "--sample" => a.sample = Some(v()?.parse()?),
            "--max-len" => a.max_len = v()?.parse()?,
            "--out" => a.out = Some(v()?.into()),
            "--block" => a.block = v()?.parse()?,
            "--manifest-label" => a.label = Some(v()?),
            "--save-index" => a.save_index = Some(v()?.into()),
            _ => bail!("unknown argument {k}"),
        }
    }
    if a.queries.is_empty() || a.qrels.as_os_str().is_empty() || a.corpus.as_os_str().is_empty() {
        bail!("usage: bi_eval --queries Q [--cross-queries Q2 …] --qrels R --corpus C [--trained DIR] [--sample N] [--max-len 512] [--out FILE]");
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let t0 = Instant::now();
    let md = ModelDir::open(&medbridge::model::default_dir())?;
    let raw = md.raw_tensors()?;
    let manifest = parts::read_manifest(&a.trained)?;
    let spec = TrainSpec { freeze_layers: manifest.spec.freeze_layers, adapt: Adapt::Layers, max_len: a.max_len };
    let exec = Exec { cache: true, pad_to: 0, chunk: 32 };
    let mut base = TrainableEncoder::from_raw(md.info.clone(), md.tokenizer()?, raw.clone(), spec.clone(), exec.clone(), 0, &Device::Cpu)?;
    let mut ft_raw = raw;
    parts::apply(&mut ft_raw, &md.info, &a.trained)?;
    let mut ft = TrainableEncoder::from_raw(md.info.clone(), md.tokenizer()?, ft_raw, spec, exec, 0, &Device::Cpu)?;

    let qrels = read_qrels(&a.qrels)?;
    let mut docs = read_corpus(&a.corpus)?;
    if let Some(n) = a.sample {
        let judged: std::collections::HashSet<&str> = qrels.values().flat_map(|m| m.keys().map(|k| k.as_str())).collect();
        let (mut keep, mut rest): (Vec<_>, Vec<_>) = docs.into_iter().partition(|d| judged.contains(d.id.as_str()));
        rest.shuffle(&mut StdRng::seed_from_u64(1));
        keep.extend(rest.into_iter().take(n));
        docs = keep;
    }
    let query_sets: Vec<(PathBuf, Vec<Query>)> = a
        .queries
        .iter()
        .map(|p| Ok((p.clone(), read_queries(p)?.into_iter().filter(|q| qrels.contains_key(&q.id)).collect())))
        .collect::<anyhow::Result<_>>()?;
    eprintln!(
        "{} documents, query sets {:?}, frozen layers {}",
        docs.len(),
        query_sets.iter().map(|(p, q)| (p.display().to_string(), q.len())).collect::<Vec<_>>(),
        manifest.spec.freeze_layers
    );

    // (kind, text) → vectors of both models (base, fine-tuned), block by block, sharing the frozen pass
    type BothVectors = (Vec<Vec<f32>>, Vec<Vec<f32>>);
    let mut embed_both = |texts: Vec<String>, kind: Kind, what: &str| -> anyhow::Result<BothVectors> {
        let toks: Vec<Vec<u32>> =
            texts.iter().map(|t| Ok(base.tokenizer.encode_with_limit(&kind.apply(t), a.max_len)?.ids)).collect::<anyhow::Result<_>>()?;
        let mut order: Vec<usize> = (0..toks.len()).collect();
        order.sort_by_key(|&i| toks[i].len());
        let (mut vb, mut vf) = (vec![Vec::new(); toks.len()], vec![Vec::new(); toks.len()]);
        let t = Instant::now();
        let mut done = 0;
        for block in order.chunks(a.block) {
            let seqs: Vec<&[u32]> = block.iter().map(|&i| toks[i].as_slice()).collect();
            base.precompute(&seqs, |_, _| {})?;
            let eb = base.embed(&seqs, Pool::Mean)?;
            base.swap_cache(&mut ft)?;
            let ef = ft.embed(&seqs, Pool::Mean)?;
            ft.clear_cache();
            base.clear_cache();
            for ((&i, b), f) in block.iter().zip(eb).zip(ef) {
                vb[i] = b;
                vf[i] = f;
            }
            done += block.len();
            eprintln!("{what}: {done}/{} ({:.0} s)", toks.len(), t.elapsed().as_secs_f64());
        }
        Ok((vb, vf))
    };
    let doc_texts: Vec<String> = docs.iter().map(|d| d.passage_text()).collect();
    let (db, df) = embed_both(doc_texts.clone(), Kind::Passage, "documents")?;
    if let Some(p) = &a.save_index {
        eprintln!("building the HNSW graph over {} fine-tuned vectors …", df.len());
        let idx = medbridge::retrieve::index::IndexBuilder::default().build(
            &manifest.model_id,
            &a.corpus.display().to_string(),
            "passage",
            docs.iter().map(|d| d.id.clone()).collect(),
            doc_texts,
            df.clone(),
        )?;
        idx.save(p)?;
        eprintln!("saved {}", p.display());
    }
    let mut report = BTreeMap::new();
    println!("{:<48} {:<10} {}", "queries", "model", Metrics::table_header());
    for (path, qs) in &query_sets {
        let (qb, qf) = embed_both(qs.iter().map(|q| q.text.clone()).collect(), Kind::Query, "queries")?;
        for (name, qv, dv) in [("zero-shot", &qb, &db), ("fine-tuned", &qf, &df)] {
            let mut run = Run::new();
            for (q, v) in qs.iter().zip(qv) {
                let mut s: Vec<(f32, usize)> = dv.iter().enumerate().map(|(j, d)| (v.iter().zip(d).map(|(x, y)| x * y).sum(), j)).collect();
                s.sort_by(|x, y| y.0.total_cmp(&x.0));
                run.insert(q.id.clone(), s.iter().take(100).map(|&(sc, j)| (docs[j].id.clone(), sc)).collect());
            }
            let m = evaluate(&run, &qrels);
            println!("{:<48} {:<10} {}", path.display(), name, m.table_row());
            report.insert(format!("{}|{name}", path.display()), serde_json::to_value(m)?);
        }
    }
    let out = serde_json::json!({
        "corpus": a.corpus, "documents": docs.len(), "sample": a.sample, "qrels": a.qrels, "max_len": a.max_len,
        "base_model_id": md.info.model_id, "fine_tuned_model_id": manifest.model_id, "search": "exact cosine, top 100",
        "metrics": report, "seconds": t0.elapsed().as_secs_f64(),
    });
    if let Some(p) = &a.out {
        std::fs::write(p, serde_json::to_vec_pretty(&out)?).with_context(|| p.display().to_string())?;
        eprintln!("written {}", p.display());
    }
    if let Some(label) = &a.label {
        let mut m = parts::read_manifest(&a.trained)?.metrics;
        if !m.is_object() {
            m = serde_json::json!({});
        }
        let eval = m.as_object_mut().unwrap().entry("eval").or_insert_with(|| serde_json::json!({}));
        eval[label.as_str()] = out.clone();
        parts::update_metrics(&a.trained, m)?;
        eprintln!("recorded under metrics.eval.{label} in {}", a.trained.join(parts::PARTS_MANIFEST).display());
    }
    eprintln!("total {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}
