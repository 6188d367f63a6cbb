//! A search from end to end, as `medbridge search` and `medbridge eval` run it: queries → encoder →
//! first stage ([`Retriever`]: dense, BM25 or hybrid) → optionally the cross-encoder on the top N
//! ([`Reranker`], fed every text a candidate has) → top k. The page runs the same first stage through
//! [`crate::catalog::asset::CatalogAsset::search`].
use std::borrow::Cow;
use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::corpus::Query;
use crate::encode::{Encoder, Kind};
use crate::retrieve::rerank::{Reranked, Reranker};
use crate::retrieve::search::Retriever;
use crate::retrieve::{Method, Run, VectorIndex};
use crate::{format_err, Result};

/// The first stage's run: `depth` results per query by `method`; `progress(done, total)` while the
/// queries are encoded (the slow part; BM25 encodes nothing).
pub fn first_stage<I: VectorIndex>(
    encoder: &Encoder,
    retriever: &Retriever<I>,
    queries: &[Query],
    method: Method,
    depth: usize,
    progress: impl FnMut(usize, usize),
) -> Result<Run> {
    if let Some(q) = queries.iter().find(|q| q.text.trim().is_empty()) {
        return Err(format_err!("query {:?} is empty", q.id));
    }
    let vectors = match method {
        Method::Bm25 => Vec::new(),
        Method::Auto | Method::Dense | Method::Hybrid => {
            let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
            encoder.embed_with_progress(&texts, Kind::Query, progress)?.vectors
        }
    };
    let qs: Vec<(String, String)> = queries.iter().map(|q| (q.id.clone(), q.text.clone())).collect();
    retriever.run(&qs, &vectors, method, depth)
}

/// Every text a result has, for the reranker: all of its passages in the index (a catalogue index
/// holds a code's description in each language) plus, optionally, its catalogue descriptions and
/// ICD-10-CM inclusion terms. Borrowed: only the candidates' texts are copied, when scored.
pub struct CandidateTexts<'a> {
    texts: HashMap<&'a str, Vec<Cow<'a, str>>>,
}

impl<'a> CandidateTexts<'a> {
    pub fn from_index<I: VectorIndex>(index: &'a I) -> Self {
        let mut texts: HashMap<&str, Vec<Cow<str>>> = HashMap::with_capacity(index.len());
        for i in 0..index.len() {
            texts.entry(index.source().result_id(index.passage_id(i))).or_default().push(index.passage_text(i));
        }
        Self { texts }
    }

    /// Each result's catalogue descriptions (every language) and inclusion terms only, not the
    /// index's other names of it (learned mentions, lay wordings); a result the catalogue lacks keeps
    /// its index texts.
    pub fn from_catalog<I: VectorIndex>(index: &'a I, catalog: &'a Catalog) -> Self {
        let mut all = Self::from_index(index);
        for (code, ts) in all.texts.iter_mut() {
            if let Some(e) = catalog.get(code) {
                let named: Vec<Cow<str>> = e.descriptions.values().chain(&e.inclusion_terms).map(|d| Cow::Borrowed(d.as_str())).collect();
                if !named.is_empty() {
                    *ts = named;
                }
            }
        }
        all
    }

    /// Add each result's catalogue descriptions (every language) and inclusion terms; returns how
    /// many texts were added (0: no result id is a code of this catalogue).
    pub fn add_catalog(&mut self, catalog: &'a Catalog) -> usize {
        let mut added = 0;
        for (code, ts) in self.texts.iter_mut() {
            for d in catalog.get(code).into_iter().flat_map(|e| e.descriptions.values().chain(&e.inclusion_terms)) {
                if !ts.iter().any(|t| t == d) {
                    ts.push(Cow::Borrowed(d));
                    added += 1;
                }
            }
        }
        added
    }

    pub fn results(&self) -> usize {
        self.texts.len()
    }

    pub fn get(&self, id: &str) -> Option<Vec<String>> {
        self.texts.get(id).map(|ts| ts.iter().map(|t| t.to_string()).collect())
    }
}

/// Rerank the top `n` of every ranking of `run` (see [`Reranker::rerank_run`]); `progress(done, total)` counts queries.
pub fn rerank(
    reranker: &Reranker,
    run: &Run,
    queries: &[Query],
    texts: &CandidateTexts,
    n: usize,
    progress: impl FnMut(usize, usize),
) -> Result<Reranked> {
    let qtext: HashMap<&str, &str> = queries.iter().map(|q| (q.id.as_str(), q.text.as_str())).collect();
    reranker.rerank_run(run, |q| qtext.get(q).map(|s| s.to_string()), |d| texts.get(d), n, progress)
}

/// Cut every ranking of `run` to its first `k`.
pub fn truncate(run: &mut Run, k: usize) {
    for hits in run.values_mut() {
        hits.truncate(k);
    }
}
