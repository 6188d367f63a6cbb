//! The user's documents in memory and an HNSW graph over their passages' vectors.
use std::collections::HashSet;

use instant_distance::{Builder, HnswMap, Search};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DocPassage;
use crate::retrieve::index::Vector;
use crate::{format_err, Result};

/// One added document: its passages and their vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// 12 hex digits of sha256 over the name and passages: the same file added twice has the same id.
    pub id: String,
    pub name: String,
    /// Milliseconds since the epoch (as the browser's `Date.now()`).
    pub added_ms: f64,
    pub passages: Vec<DocPassage>,
    pub vectors: Vec<Vec<f32>>,
}

impl Document {
    pub fn id_for(name: &str, passages: &[DocPassage]) -> String {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        for p in passages {
            h.update(b"\x00");
            h.update(p.title.as_bytes());
            h.update(b"\x01");
            h.update(p.text.as_bytes());
        }
        hex::encode(h.finalize())[..12].to_string()
    }
}

/// A passage found by [`DocIndex::search`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocHit {
    pub doc_id: String,
    pub doc_name: String,
    pub passage: usize,
    pub title: String,
    pub text: String,
    pub score: f32,
}

/// The user's documents and an HNSW graph over all their passages (rebuilt on every change; it holds
/// at most a few thousand passages).
pub struct DocIndex {
    pub model_id: String,
    pub dim: usize,
    docs: Vec<Document>,
    graph: Option<HnswMap<Vector, (u32, u32)>>,
}

impl DocIndex {
    pub fn new(model_id: &str, dim: usize) -> Self {
        Self { model_id: model_id.into(), dim, docs: Vec::new(), graph: None }
    }

    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    pub fn passages(&self) -> usize {
        self.docs.iter().map(|d| d.passages.len()).sum()
    }

    /// Add (or replace, same id) documents and rebuild the graph. Checks dimensions.
    pub fn add(&mut self, docs: Vec<Document>) -> Result<()> {
        for d in &docs {
            if d.vectors.len() != d.passages.len() {
                return Err(format_err!("document {:?}: {} passages but {} vectors", d.name, d.passages.len(), d.vectors.len()));
            }
            if let Some(v) = d.vectors.iter().find(|v| v.len() != self.dim) {
                return Err(format_err!("document {:?}: vector of {} dimensions, the model has {}", d.name, v.len(), self.dim));
            }
        }
        let new: HashSet<String> = docs.iter().map(|d| d.id.clone()).collect();
        self.docs.retain(|d| !new.contains(&d.id));
        self.docs.extend(docs);
        self.rebuild();
        Ok(())
    }

    /// Remove a document by id; false when there is none.
    pub fn remove(&mut self, id: &str) -> bool {
        let n = self.docs.len();
        self.docs.retain(|d| d.id != id);
        let removed = self.docs.len() != n;
        if removed {
            self.rebuild();
        }
        removed
    }

    pub fn clear(&mut self) {
        self.docs.clear();
        self.graph = None;
    }

    fn rebuild(&mut self) {
        let mut points = Vec::new();
        let mut values = Vec::new();
        for (di, d) in self.docs.iter().enumerate() {
            for (pi, v) in d.vectors.iter().enumerate() {
                points.push(Vector(v.clone()));
                values.push((di as u32, pi as u32));
            }
        }
        self.graph = if points.is_empty() { None } else { Some(Builder::default().ef_search(100).seed(7).build(points, values)) };
    }

    /// The `k` passages nearest to a normalised query vector; score is cosine.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<DocHit>> {
        if query.len() != self.dim {
            return Err(format_err!("query vector has {} dimensions, the documents {}", query.len(), self.dim));
        }
        let Some(g) = &self.graph else { return Ok(Vec::new()) };
        let mut s = Search::default();
        Ok(g.search(&Vector(query.to_vec()), &mut s)
            .take(k)
            .map(|it| {
                let (di, pi) = *it.value;
                let d = &self.docs[di as usize];
                let p = &d.passages[pi as usize];
                DocHit {
                    doc_id: d.id.clone(),
                    doc_name: d.name.clone(),
                    passage: pi as usize,
                    title: p.title.clone(),
                    text: p.text.clone(),
                    score: 1.0 - it.distance,
                }
            })
            .collect())
    }
}
