//! Retrieval runs over an index: dense (encoder + HNSW), lexical (BM25 over the index's own
//! texts) and their reciprocal-rank fusion. The CLI and the evaluation call these.
use crate::bm25::Bm25Index;
use crate::corpus::Query;
use crate::encode::{Encoder, Kind};
use crate::eval::{reciprocal_rank_fusion, Run};
use crate::index::Index;
use crate::Result;

/// How a run is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Dense,
    Bm25,
    /// Reciprocal-rank fusion of dense and BM25 (k = 60).
    Hybrid,
}

impl std::str::FromStr for Method {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(Method::Dense),
            "bm25" => Ok(Method::Bm25),
            "hybrid" => Ok(Method::Hybrid),
            _ => Err(crate::format_err!("unknown method {s:?}: use dense, bm25 or hybrid")),
        }
    }
}

/// Document id as evaluated: catalogue passages `CODE@lang` count as `CODE`.
pub fn result_id<'a>(index: &Index, id: &'a str) -> &'a str {
    if index.meta.source.starts_with("icd10:") {
        crate::catalog::split_passage_id(id).0
    } else {
        id
    }
}

/// Keep the best-scoring entry per evaluated id (a code found in several languages counts once).
fn collapse(index: &Index, hits: impl IntoIterator<Item = (String, f32)>, k: usize) -> Vec<(String, f32)> {
    let mut seen = std::collections::HashSet::new();
    hits.into_iter()
        .filter_map(|(id, s)| {
            let rid = result_id(index, &id).to_string();
            seen.insert(rid.clone()).then_some((rid, s))
        })
        .take(k)
        .collect()
}

/// Dense run: queries embedded in batches, top `k` per query (over-fetching to survive collapsing).
pub fn dense_run(enc: &Encoder, index: &Index, queries: &[Query], k: usize, progress: impl FnMut(usize, usize)) -> Result<Run> {
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let emb = enc.embed_with_progress(&texts, Kind::Query, progress)?;
    let fetch = if index.meta.source == "icd10:all" { k * 4 } else { k };
    let mut run = Run::new();
    for (q, v) in queries.iter().zip(&emb.vectors) {
        let hits = index.search(v, fetch)?;
        run.insert(q.id.clone(), collapse(index, hits.into_iter().map(|h| (h.id, h.score)), k));
    }
    Ok(run)
}

/// BM25 over the texts stored in the index.
pub fn bm25_for(index: &Index) -> Bm25Index {
    let docs: Vec<(String, String)> = index.ids.iter().cloned().zip(index.texts.iter().cloned()).collect();
    Bm25Index::new(&docs)
}

pub fn bm25_run(bm25: &Bm25Index, index: &Index, queries: &[Query], k: usize) -> Run {
    let fetch = if index.meta.source == "icd10:all" { k * 4 } else { k };
    queries.iter().map(|q| (q.id.clone(), collapse(index, bm25.search(&q.text, fetch), k))).collect()
}

pub fn hybrid_run(dense: &Run, lexical: &Run, k: usize) -> Run {
    let mut fused = reciprocal_rank_fusion(&[dense, lexical], 60.0);
    for hits in fused.values_mut() {
        hits.truncate(k);
    }
    fused
}
