//! HNSW index over normalised embeddings (instant-distance), saved as one self-checking file.
//!
//! File: the crate's container ([`crate::io::container`], magic `MBIX`) with an [`IndexMeta`] header
//! and a bincode payload (ids, texts, graph). Loading verifies magic, version, checksum and (when
//! asked) the model identity.
use std::borrow::Cow;
use std::path::Path;

use std::sync::OnceLock;

use instant_distance::{Builder, HnswMap, Search};
use serde::{Deserialize, Serialize};

use super::quantized::Rescored;
use super::{Source, VectorIndex};
use crate::io::container::{self, FileKind};
use crate::{format_err, Error, Result};

pub const FORMAT_VERSION: u32 = 1;
/// The `.mbix` file (see [`crate::io::container`]).
pub const FILE: FileKind =
    FileKind { magic: b"MBIX", version: FORMAT_VERSION, name: "index file", fix: "rebuild it with `medbridge index`" };

/// An L2-normalised vector; distance is 1 − cosine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Vector(pub Vec<f32>);

impl instant_distance::Point for Vector {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - crate::encode::dot(&self.0, &other.0)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IndexMeta {
    pub format_version: u32,
    /// `ModelInfo::model_id` of the encoder that produced the vectors.
    pub model_id: String,
    pub dim: usize,
    pub documents: usize,
    /// Where the documents came from (a corpus path, or `icd10:<lang>`).
    pub source: String,
    /// e5 prefix kind used for documents.
    pub doc_kind: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    ids: Vec<String>,
    texts: Vec<String>,
    graph: HnswMap<Vector, u32>,
}

pub struct Index {
    pub meta: IndexMeta,
    source: Source,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    graph: HnswMap<Vector, u32>,
    /// The search structure, built on the first search (see [`Rescored`]); `None` if building it
    /// failed, and instant-distance's own search is used.
    fast: OnceLock<Option<Rescored>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub text: String,
}

/// Builder → map, as in instant-distance.
pub struct IndexBuilder {
    pub ef_construction: usize,
    pub ef_search: usize,
    pub seed: u64,
}

impl Default for IndexBuilder {
    fn default() -> Self {
        // ef_search ≥ the deepest top-k we serve (100 for run files) keeps recall high.
        Self { ef_construction: 100, ef_search: 192, seed: 42 }
    }
}

impl IndexBuilder {
    pub fn build(
        &self,
        model_id: &str,
        source: &str,
        doc_kind: &str,
        ids: Vec<String>,
        texts: Vec<String>,
        vectors: Vec<Vec<f32>>,
    ) -> Result<Index> {
        if ids.len() != vectors.len() || texts.len() != vectors.len() {
            return Err(format_err!("index: {} ids, {} texts and {} vectors differ in number", ids.len(), texts.len(), vectors.len()));
        }
        if vectors.is_empty() {
            return Err(format_err!("index: nothing to index ({source} has no documents)"));
        }
        let dim = vectors[0].len();
        if let Some(i) = vectors.iter().position(|v| v.len() != dim) {
            return Err(format_err!("index: vector of document {:?} has {} dimensions, expected {dim}", ids[i], vectors[i].len()));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(id.as_str())) {
            return Err(format_err!("index: document id {dup:?} occurs twice in {source}"));
        }
        // A search returns at most ef_search passages; where results have several passages each (a code
        // under many names), search that much deeper so that as many distinct results come back.
        let kind = Source::parse(source);
        let results = ids.iter().map(|id| kind.result_id(id)).collect::<std::collections::HashSet<_>>().len();
        let ef_search = (self.ef_search * ids.len()).div_ceil(results.max(1)).clamp(self.ef_search, 4 * self.ef_search);
        let values: Vec<u32> = (0..vectors.len() as u32).collect();
        let points = vectors.into_iter().map(Vector).collect();
        let graph = Builder::default().ef_construction(self.ef_construction).ef_search(ef_search).seed(self.seed).build(points, values);
        let meta = IndexMeta {
            format_version: FORMAT_VERSION,
            model_id: model_id.into(),
            dim,
            documents: ids.len(),
            source: source.into(),
            doc_kind: doc_kind.into(),
        };
        Ok(Index { source: Source::parse(&meta.source), meta, ids, texts, graph, fast: OnceLock::new() })
    }
}

impl VectorIndex for Index {
    fn source(&self) -> &Source {
        &self.source
    }
    fn dim(&self) -> usize {
        self.meta.dim
    }
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn passage_id(&self, i: usize) -> &str {
        &self.ids[i]
    }
    fn passage_text(&self, i: usize) -> Cow<'_, str> {
        Cow::Borrowed(&self.texts[i])
    }
    fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(usize, f32)>> {
        // Measured on the 98,284-code index (examples/hnsw_bench.rs): see the README.
        if let Some(fast) = self.fast.get_or_init(|| Rescored::from_index(self).ok()) {
            return Ok(fast.nearest(query, n));
        }
        let mut search = Search::default();
        Ok(self
            .graph
            .search(&Vector(query.to_vec()), &mut search)
            .take(n)
            .map(|item| (*item.value as usize, 1.0 - item.distance))
            .collect())
    }
}

impl Index {
    /// Where the documents came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Search with `ef` candidates from now on (the build's choice is stored in the file): more is
    /// slower and finds more of the true nearest. instant-distance keeps the setting private, so it
    /// is rewritten in the graph's serialised form, where it is the first field (the crate is pinned
    /// for that layout, see [`super::quantized`]); this copies the graph once.
    pub fn set_ef_search(&mut self, ef: usize) -> Result<()> {
        let mut bytes = bincode::serialize(&self.graph).map_err(|e| format_err!("index graph: {e}"))?;
        bytes[..8].copy_from_slice(&(ef.max(1) as u64).to_le_bytes());
        self.graph = bincode::deserialize(&bytes).map_err(|e| format_err!("index graph: {e}"))?;
        self.fast = OnceLock::new();
        Ok(())
    }

    /// From now on search with instant-distance's own f32 search instead of the int8 graph with exact
    /// rescoring (for benchmarks that compare the two).
    pub fn use_instant_distance_search(&mut self) {
        self.fast = OnceLock::from(None);
    }

    /// The HNSW graph (for re-encoding it, see [`crate::catalog::asset`]).
    pub fn graph(&self) -> &HnswMap<Vector, u32> {
        &self.graph
    }

    /// The `k` nearest documents to a normalised query vector, best first; score is cosine.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        if query.len() != self.meta.dim {
            return Err(format_err!("query vector has {} dimensions, the index has {}", query.len(), self.meta.dim));
        }
        Ok(self
            .nearest(query, k)?
            .into_iter()
            .map(|(i, score)| Hit { id: self.ids[i].clone(), score, text: self.texts[i].clone() })
            .collect())
    }

    /// The stored vector of every document, in id order (for exporting and re-indexing).
    pub fn vectors(&self) -> Vec<Vec<f32>> {
        let mut out = vec![Vec::new(); self.ids.len()];
        for (pid, p) in self.graph.iter() {
            out[self.graph.values[pid.into_inner() as usize] as usize] = p.0.clone();
        }
        out
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = bincode::serialize(&PayloadRef { ids: &self.ids, texts: &self.texts, graph: &self.graph })
            .map_err(|e| format_err!("index payload: {e}"))?;
        container::write(&FILE, &self.meta, &payload)
    }

    /// Write atomically: a damaged or interrupted save never replaces a good file.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_bytes()?)
    }

    /// Load and verify; `expected_model` refuses an index built with other weights.
    pub fn load(path: &Path, expected_model: Option<&str>) -> Result<Index> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes, expected_model, &path.display().to_string())
    }

    pub fn from_bytes(bytes: &[u8], expected_model: Option<&str>) -> Result<Index> {
        Self::parse(bytes, expected_model, "index")
    }

    fn parse(bytes: &[u8], expected_model: Option<&str>, what: &str) -> Result<Index> {
        let (meta, payload): (IndexMeta, _) = container::read(&FILE, bytes, what)?;
        Error::check_model(what, &meta.model_id, expected_model, "rebuild the index with this model (`medbridge index`)")?;
        // instant-distance trusts the graph it deserialises: check it first (one pass, no copies)
        super::quantized::check_index_payload(payload, meta.dim).map_err(|e| Error::damaged(what, e.to_string(), FILE.fix))?;
        let Payload { ids, texts, graph } =
            bincode::deserialize(payload).map_err(|e| Error::damaged(what, format!("payload: {e}"), FILE.fix))?;
        if ids.len() != meta.documents || texts.len() != ids.len() {
            return Err(Error::damaged(what, format!("{} ids for {} documents", ids.len(), meta.documents), FILE.fix));
        }
        Ok(Index { source: Source::parse(&meta.source), meta, ids, texts, graph, fast: OnceLock::new() })
    }
}

#[derive(Serialize)]
struct PayloadRef<'a> {
    ids: &'a [String],
    texts: &'a [String],
    graph: &'a HnswMap<Vector, u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_unit(rng: &mut rand::rngs::StdRng, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn sample(n: usize) -> (Index, Vec<Vec<f32>>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let vecs: Vec<Vec<f32>> = (0..n).map(|_| random_unit(&mut rng, 16)).collect();
        let ids = (0..n).map(|i| format!("d{i}")).collect();
        let texts = (0..n).map(|i| format!("text {i}")).collect();
        (IndexBuilder::default().build("model-a", "test", "passage", ids, texts, vecs.clone()).unwrap(), vecs)
    }

    #[test]
    fn finds_each_document_as_its_own_nearest_neighbour() {
        let (idx, vecs) = sample(300);
        let found = vecs.iter().enumerate().filter(|(i, v)| idx.search(v, 1).unwrap()[0].id == format!("d{i}")).count();
        assert!(found >= 297, "only {found}/300 found themselves");
        let hits = idx.search(&vecs[5], 10).unwrap();
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        assert!((hits[0].score - 1.0).abs() < 1e-5);
    }

    #[test]
    fn ef_search_sets_the_candidates_a_search_keeps() {
        let (mut idx, vecs) = sample(300);
        assert_eq!(idx.nearest(&vecs[0], 50).unwrap().len(), 50);
        idx.set_ef_search(3).unwrap();
        assert_eq!(idx.nearest(&vecs[0], 2).unwrap()[0].0, 0);
        // instant-distance returns at most ef; ours keeps at least as many candidates as asked for.
        assert_eq!(idx.nearest(&vecs[0], 50).unwrap().len(), 50);
        let mut library = Index::from_bytes(&idx.to_bytes().unwrap(), None).unwrap();
        library.use_instant_distance_search();
        assert_eq!(library.nearest(&vecs[0], 50).unwrap().len(), 3, "ef 3 keeps 3 candidates");
        idx.set_ef_search(200).unwrap();
        assert_eq!(idx.nearest(&vecs[0], 150).unwrap().len(), 150);
        assert_eq!(idx.search(&vecs[9], 1).unwrap()[0].id, "d9");
        assert_eq!(idx.vectors(), vecs, "the graph is unchanged");
    }

    #[test]
    fn save_load_round_trip_and_vectors_survive() {
        let (idx, vecs) = sample(50);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mbix");
        idx.save(&p).unwrap();
        let back = Index::load(&p, Some("model-a")).unwrap();
        assert_eq!(back.meta, idx.meta);
        assert_eq!(back.search(&vecs[3], 3).unwrap(), idx.search(&vecs[3], 3).unwrap());
        assert_eq!(back.vectors(), vecs);
    }

    #[test]
    fn refuses_other_model_damage_and_truncation() {
        let (idx, _) = sample(20);
        let bytes = idx.to_bytes().unwrap();
        let e = Index::from_bytes(&bytes, Some("model-b")).err().unwrap().to_string();
        assert!(e.contains("model-a") && e.contains("model-b"), "{e}");
        let mut bad = bytes.clone();
        bad[40] ^= 1;
        assert!(Index::from_bytes(&bad, None).err().unwrap().to_string().contains("damaged"));
        assert!(Index::from_bytes(&bytes[..bytes.len() / 2], None).is_err());
        assert!(Index::from_bytes(b"PK\x03\x04 not an index at all, really not", None).err().unwrap().to_string().contains("magic"));
    }

    #[test]
    fn rejects_bad_input() {
        let b = IndexBuilder::default();
        assert!(b.build("m", "s", "passage", vec![], vec![], vec![]).is_err());
        let e = b.build("m", "s", "passage", vec!["a".into(), "a".into()], vec!["".into(), "".into()], vec![vec![1.0], vec![1.0]]);
        assert!(e.err().unwrap().to_string().contains("twice"));
        let e = b.build("m", "s", "passage", vec!["a".into(), "b".into()], vec!["".into(), "".into()], vec![vec![1.0], vec![1.0, 0.0]]);
        assert!(e.is_err());
    }

    /// A file whose checksum is right but whose HNSW graph points outside itself (a bug or a crafted
    /// file: instant-distance trusts what it deserialises) is refused as damaged, not searched into a panic.
    #[test]
    fn refuses_a_graph_that_points_outside_itself() {
        let (idx, vecs) = sample(30);
        let graph = bincode::serialize(idx.graph()).unwrap();
        // layout: ef_search u64, n u64, n × (len u64 + 16 f32), layer-0 count u64, then node 0's first neighbour
        let first_neighbour = 8 + 8 + 30 * (8 + 16 * 4) + 8;
        for (at, value) in [(first_neighbour, 30u32), (graph.len() - 4, 30)] {
            let mut g = graph.clone();
            g[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let graph: HnswMap<Vector, u32> = bincode::deserialize(&g).unwrap();
            let payload = bincode::serialize(&PayloadRef { ids: &idx.ids, texts: &idx.texts, graph: &graph }).unwrap();
            let bytes = container::write(&FILE, &idx.meta, &payload).unwrap();
            let e = Index::from_bytes(&bytes, None).err().expect("a damaged graph is refused").to_string();
            assert!(e.contains("damaged") && e.contains("out of range"), "{e}");
        }
        assert!(Index::from_bytes(&idx.to_bytes().unwrap(), None).unwrap().search(&vecs[0], 1).is_ok());
    }
}
