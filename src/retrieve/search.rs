//! The first stage, once for every index: dense (HNSW), lexical (BM25 over the index's own texts)
//! and hybrid (their score fusion), each collapsed to results — an ICD-10 passage
//! `CODE@lang` counts as `CODE`, the best-scoring passage of a code stands for it.
use std::cell::OnceCell;
use std::collections::HashMap;

use super::bm25::Bm25Index;
use super::fusion::zscore_fusion;
use super::{Method, Run, VectorIndex};
use crate::{format_err, Result};

/// How deep each list goes before hybrid fusion (at least the results wanted); the lists are
/// standardised over this depth, so it is fixed rather than the number of results asked for.
pub const HYBRID_DEPTH: usize = 100;
/// BM25's weight against the bi-encoder's in hybrid fusion, z(dense) + w · z(bm25). Chosen on
/// CasiMedicos (train split, the only one there is): every weight from 0.5 to 1.0 put hybrid above
/// BM25 and zero-shot + 5 in all seven language pairs, 0.7 was best on average and best for each
/// pair held out when chosen on the other six (README, "Which first stage").
pub const HYBRID_LEXICAL_WEIGHT: f32 = 0.7;

/// One ranked result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The result id (a code, or a document id).
    pub id: String,
    /// The passage that stands for it (`CODE@lang`, or the id itself).
    pub passage_id: String,
    pub score: f32,
    /// Which first stages ranked it.
    pub dense: bool,
    pub lexical: bool,
}

impl Hit {
    /// "bi-encoder", "bm25" or "bi-encoder+bm25".
    pub fn stage(&self) -> &'static str {
        match (self.dense, self.lexical) {
            (true, true) => "bi-encoder+bm25",
            (false, true) => "bm25",
            _ => "bi-encoder",
        }
    }
}

/// A query as the first stage sees it: its text (BM25) and its vector (dense; `None` for BM25 alone).
pub struct QueryInput<'a> {
    pub text: &'a str,
    pub vector: Option<&'a [f32]>,
}

/// Dense, BM25 and hybrid search over one [`VectorIndex`]; BM25 is built on first use.
pub struct Retriever<I> {
    index: I,
    bm25: OnceCell<Bm25Index>,
}

impl<I: VectorIndex> Retriever<I> {
    pub fn new(index: I) -> Self {
        Self { index, bm25: OnceCell::new() }
    }

    pub fn index(&self) -> &I {
        &self.index
    }

    pub fn into_index(self) -> I {
        self.index
    }

    /// BM25 over the index's passage texts.
    pub fn bm25(&self) -> &Bm25Index {
        self.bm25.get_or_init(|| {
            let docs: Vec<(String, String)> =
                (0..self.index.len()).map(|i| (self.index.passage_id(i).to_string(), self.index.passage_text(i).into_owned())).collect();
            Bm25Index::new(&docs)
        })
    }

    /// Keep the best-scoring passage per result (a code found in several languages counts once).
    fn collapse(&self, hits: impl IntoIterator<Item = (String, f32)>, k: usize, dense: bool) -> Vec<Hit> {
        let source = self.index.source();
        let mut seen = std::collections::HashSet::new();
        hits.into_iter()
            .filter_map(|(pid, score)| {
                let id = source.result_id(&pid).to_string();
                seen.insert(id.clone()).then_some(Hit { id, passage_id: pid, score, dense, lexical: !dense })
            })
            .take(k)
            .collect()
    }

    /// The `k` results nearest to a normalised query vector.
    pub fn dense(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        if query.len() != self.index.dim() {
            return Err(format_err!("query vector has {} dimensions, the index has {}", query.len(), self.index.dim()));
        }
        self.collapse_deep(k, true, |n| {
            Ok(self.index.nearest(query, n)?.into_iter().map(|(i, s)| (self.index.passage_id(i).to_string(), s)).collect())
        })
    }

    /// The `k` best results by BM25 over the passage texts.
    pub fn lexical(&self, text: &str, k: usize) -> Vec<Hit> {
        self.collapse_deep(k, false, |n| Ok(self.bm25().search(text, n))).expect("BM25 search cannot fail")
    }

    /// Collapse the best `n` passages of `fetch` to results, fetching deeper (×2) while the passages
    /// give fewer than `k` distinct results and more exist: a code indexed under many names may fill
    /// a whole first guess ([`super::Source::overfetch`]) alone.
    fn collapse_deep(&self, k: usize, dense: bool, fetch: impl Fn(usize) -> Result<Vec<(String, f32)>>) -> Result<Vec<Hit>> {
        let mut n = k * self.index.source().overfetch();
        loop {
            let passages = fetch(n)?;
            let exhausted = passages.len() < n || n >= self.index.len();
            let hits = self.collapse(passages, k, dense);
            if hits.len() >= k || exhausted {
                return Ok(hits);
            }
            n *= 2;
        }
    }

    /// Score fusion ([`fuse`]) of the dense and lexical top [`HYBRID_DEPTH`] (or `k`, if more); the
    /// score is the fused one, ties broken by id.
    pub fn hybrid(&self, query: &[f32], text: &str, k: usize) -> Result<Vec<Hit>> {
        let depth = k.max(HYBRID_DEPTH);
        Ok(fuse(&self.dense(query, depth)?, &self.lexical(text, depth), k))
    }

    /// The method [`Method::Auto`] stands for on this index (any other method is itself). Measured
    /// (README, "Which first stage"): on a catalogue index — short names, many languages — fusing
    /// BM25 in lost to dense alone on every CodiEsp configuration; on documents, fusion won in every
    /// CasiMedicos language pair, cross-lingual ones included (drug names, lab values and Latin
    /// roots are shared across languages).
    pub fn resolve(&self, method: Method) -> Method {
        match method {
            Method::Auto if self.index.source().is_icd10() => Method::Dense,
            Method::Auto => Method::Hybrid,
            m => m,
        }
    }

    /// One query by `method` (dense, hybrid and auto need the vector).
    pub fn search(&self, q: &QueryInput, method: Method, k: usize) -> Result<Vec<Hit>> {
        let vector = || q.vector.ok_or_else(|| format_err!("{} search needs the query's vector", method.as_str()));
        match self.resolve(method) {
            Method::Auto => unreachable!("resolved above"),
            Method::Dense => self.dense(vector()?, k),
            Method::Bm25 => Ok(self.lexical(q.text, k)),
            Method::Hybrid => self.hybrid(vector()?, q.text, k),
        }
    }

    /// A run over many queries (`vectors[i]` belongs to `queries[i]`; empty for BM25).
    pub fn run(&self, queries: &[(String, String)], vectors: &[Vec<f32>], method: Method, k: usize) -> Result<Run> {
        if method != Method::Bm25 && vectors.len() != queries.len() {
            return Err(format_err!("{} queries but {} query vectors", queries.len(), vectors.len()));
        }
        let mut run = Run::new();
        for (i, (id, text)) in queries.iter().enumerate() {
            let q = QueryInput { text, vector: vectors.get(i).map(|v| v.as_slice()) };
            run.insert(id.clone(), self.search(&q, method, k)?.into_iter().map(|h| (h.id, h.score)).collect());
        }
        Ok(run)
    }
}

/// Score fusion of a dense and a lexical list of one query, BM25 weighted [`HYBRID_LEXICAL_WEIGHT`]
/// (see [`zscore_fusion`]), keeping which lists held each result and its passage (the dense one
/// when both did).
pub fn fuse<'a>(dense: &'a [Hit], lexical: &'a [Hit], k: usize) -> Vec<Hit> {
    fn scores(hits: &[Hit]) -> Vec<(&str, f32)> {
        hits.iter().map(|h| (h.id.as_str(), h.score)).collect()
    }
    let fused = zscore_fusion(&scores(dense), &scores(lexical), HYBRID_LEXICAL_WEIGHT);
    let by_id = |hits: &'a [Hit]| -> HashMap<&'a str, &'a Hit> { hits.iter().map(|h| (h.id.as_str(), h)).collect() };
    let (in_dense, in_lexical) = (by_id(dense), by_id(lexical));
    fused
        .into_iter()
        .take(k)
        .map(|(id, score)| {
            let (d, l) = (in_dense.get(id), in_lexical.get(id));
            let passage_id = d.or(l).map(|h| h.passage_id.clone()).unwrap_or_else(|| id.to_string());
            Hit { id: id.to_string(), passage_id, score, dense: d.is_some(), lexical: l.is_some() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::index::IndexBuilder;

    #[test]
    fn auto_fuses_on_documents_and_searches_a_catalogue_dense() {
        let texts = ["acute appendicitis with fever and pain", "kidney stone with severe flank pain", "fever and cough in a child"];
        let ids: Vec<String> = (0..3).map(|i| format!("d{i}")).collect();
        let vecs = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.6, 0.8]];
        let docs = IndexBuilder::default()
            .build("m", "corpus.jsonl", "passage", ids.clone(), texts.map(String::from).to_vec(), vecs.clone())
            .unwrap();
        let r = Retriever::new(docs);
        assert_eq!(r.resolve(Method::Auto), Method::Hybrid);
        assert_eq!(r.resolve(Method::Bm25), Method::Bm25);
        // a query sharing no term with the documents (another language) keeps the dense order
        let es = r.search(&QueryInput { text: "niño con tos", vector: Some(&[0.6, 0.8]) }, Method::Auto, 3).unwrap();
        let dense = r.search(&QueryInput { text: "niño con tos", vector: Some(&[0.6, 0.8]) }, Method::Dense, 3).unwrap();
        assert_eq!(es.iter().map(|h| &h.id).collect::<Vec<_>>(), dense.iter().map(|h| &h.id).collect::<Vec<_>>());
        let hits = r.search(&QueryInput { text: "fever and cough in a child", vector: Some(&[0.6, 0.8]) }, Method::Auto, 2).unwrap();
        assert_eq!((hits[0].id.as_str(), hits[0].stage()), ("d2", "bi-encoder+bm25"));
        // a catalogue index is searched dense, whatever the query
        let codes: Vec<String> = ["K35", "N20", "R50"].map(String::from).to_vec();
        let cat = IndexBuilder::default().build("m", "icd10:en", "passage", codes, texts.map(String::from).to_vec(), vecs).unwrap();
        assert_eq!(Retriever::new(cat).resolve(Method::Auto), Method::Dense);
    }
}
