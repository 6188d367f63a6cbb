//! The ICD-10 search asset a page downloads: an MBIX catalogue index ([`crate::index`]) re-encoded for
//! the web, plus the catalogue rows of the indexed codes, so that the browser can search and display
//! results without anything but this file and the model bundle.
//!
//! - Vectors are quantised to int8 with one f32 scale per vector (`q = round(x / s)`, `s = max|x| / 127`):
//!   `dim + 4` bytes instead of `4·dim`. Queries are quantised the same way; the cosine error is ~1e-3.
//! - The HNSW graph is the index's own (same neighbours, same entry point): it is transcoded, not rebuilt,
//!   from instant-distance's serialised layout (checked by a round-trip test), with the unused neighbour
//!   slots dropped.
//! - Catalogue rows: every indexed code and its ancestors (code, parent, level, descriptions per language).
//!
//! File layout (`catalog.mbca`): magic `MBCA`, u32 format version, u32 header length, JSON header
//! ([`AssetMeta`]), u64 payload length, payload = deflate(bincode([`Payload`])), then sha256 of all of it.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};

use instant_distance::{HnswMap, Search};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{split_passage_id, Catalog, CatalogEntry};
use crate::index::{Index, Vector};
use crate::{format_err, Result};

pub const ASSET_FILE: &str = "catalog.mbca";
const MAGIC: &[u8; 4] = b"MBCA";
pub const FORMAT_VERSION: u32 = 1;
pub const QUANTIZATION: &str = "int8 + f32 scale per vector";
/// instant-distance's neighbour slots per node on layer 0 (2·M) and above (M), M = 32 in 0.6.
const ZERO_SLOTS: usize = 64;
const UPPER_SLOTS: usize = 32;
const INVALID: u32 = u32::MAX;

/// An int8 vector with its scale; distance is 1 − (approximate) cosine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QVector {
    pub scale: f32,
    pub q: Vec<i8>,
}

impl QVector {
    pub fn quantize(v: &[f32]) -> Self {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        QVector { scale, q: v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect() }
    }

    pub fn dot(&self, o: &QVector) -> f32 {
        let s: i32 = self.q.iter().zip(&o.q).map(|(&a, &b)| a as i32 * b as i32).sum();
        s as f32 * self.scale * o.scale
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.q.iter().map(|&x| x as f32 * self.scale).collect()
    }
}

impl instant_distance::Point for QVector {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - self.dot(other)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AssetMeta {
    pub format_version: u32,
    pub model_id: String,
    pub dim: usize,
    /// Indexed passages (one per code and language for an `icd10:all` index).
    pub passages: usize,
    /// Distinct indexed codes.
    pub codes: usize,
    /// Catalogue rows shipped (indexed codes and their ancestors).
    pub entries: usize,
    /// The index's source, `icd10:<lang>`.
    pub source: String,
    pub doc_kind: String,
    pub quantization: String,
    /// Bytes the vectors take as f32 and as shipped (int8 + scale).
    pub f32_vector_bytes: u64,
    pub int8_vector_bytes: u64,
}

/// The HNSW graph without its points: neighbour lists (unused slots dropped), values (point → passage).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct CompactGraph {
    ef_search: u64,
    zero: Vec<Vec<u32>>,
    layers: Vec<Vec<Vec<u32>>>,
    values: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Passage ids (`CODE` or `CODE@lang`), by passage index.
    ids: Vec<String>,
    entries: Vec<CatalogEntry>,
    graph: CompactGraph,
    /// Per graph point: scale, and `dim` int8 values.
    scales: Vec<f32>,
    vectors: Vec<i8>,
}

// ---- instant-distance's serialised layout (bincode 1, fixint): HnswMap { hnsw: Hnsw { ef_search: usize,
// points: Vec<P>, zero: Vec<[u32; 64]>, layers: Vec<Vec<[u32; 32]>> }, values: Vec<V> }.

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self.b.get(self.p..self.p + n).ok_or_else(|| format_err!("HNSW graph: unexpected end of the serialised graph at byte {}", self.p))?;
        self.p += n;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn len(&mut self, what: &str) -> Result<usize> {
        let n = self.u64()?;
        if n as usize > self.b.len() {
            return Err(format_err!("HNSW graph: implausible {what} count {n}"));
        }
        Ok(n as usize)
    }
}

fn slots(r: &mut Reader, n: usize) -> Result<Vec<u32>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.u32()?);
    }
    // Used slots come first; keep only those (and check that they do).
    let used = v.iter().position(|&x| x == INVALID).unwrap_or(n);
    if v[used..].iter().any(|&x| x != INVALID) {
        return Err(format_err!("HNSW graph: a neighbour list has a gap (unexpected instant-distance layout)"));
    }
    v.truncate(used);
    Ok(v)
}

/// Split a serialised `HnswMap<Vector, u32>` into its points (f32) and its structure.
fn decompose(graph: &HnswMap<Vector, u32>) -> Result<(Vec<Vec<f32>>, CompactGraph)> {
    let bytes = bincode::serialize(graph).map_err(|e| format_err!("HNSW graph: {e}"))?;
    let mut r = Reader { b: &bytes, p: 0 };
    let ef_search = r.u64()?;
    let n = r.len("point")?;
    let mut points = Vec::with_capacity(n);
    for _ in 0..n {
        let d = r.len("dimension")?;
        let raw = r.take(d * 4)?;
        points.push(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect());
    }
    let nz = r.len("layer-0 node")?;
    let zero = (0..nz).map(|_| slots(&mut r, ZERO_SLOTS)).collect::<Result<Vec<_>>>()?;
    let nl = r.len("layer")?;
    let mut layers = Vec::with_capacity(nl);
    for _ in 0..nl {
        let m = r.len("node")?;
        layers.push((0..m).map(|_| slots(&mut r, UPPER_SLOTS)).collect::<Result<Vec<_>>>()?);
    }
    let nv = r.len("value")?;
    let values = (0..nv).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
    if r.p != bytes.len() || nz != n || nv != n {
        return Err(format_err!("HNSW graph: unexpected serialised layout ({n} points, {nz} nodes, {nv} values, {} of {} bytes read)", r.p, bytes.len()));
    }
    Ok((points, CompactGraph { ef_search, zero, layers, values }))
}

/// Rebuild an `HnswMap<P, u32>` from its structure and points (inverse of [`decompose`]).
fn compose<P: Serialize + for<'de> Deserialize<'de>>(g: &CompactGraph, points: &[P]) -> Result<HnswMap<P, u32>> {
    let n = points.len();
    if g.zero.len() != n || g.values.len() != n {
        return Err(format_err!("HNSW graph: {n} points but {} nodes and {} values", g.zero.len(), g.values.len()));
    }
    let mut out = Vec::new();
    out.extend_from_slice(&g.ef_search.to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for p in points {
        bincode::serialize_into(&mut out, p).map_err(|e| format_err!("HNSW graph: {e}"))?;
    }
    let put_slots = |out: &mut Vec<u8>, list: &[u32], total: usize| -> Result<()> {
        if list.len() > total || list.iter().any(|&x| x as usize >= n) {
            return Err(format_err!("HNSW graph: bad neighbour list ({} entries, slots {total}, {n} points)", list.len()));
        }
        for i in 0..total {
            out.extend_from_slice(&list.get(i).copied().unwrap_or(INVALID).to_le_bytes());
        }
        Ok(())
    };
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for z in &g.zero {
        put_slots(&mut out, z, ZERO_SLOTS)?;
    }
    out.extend_from_slice(&(g.layers.len() as u64).to_le_bytes());
    for layer in &g.layers {
        out.extend_from_slice(&(layer.len() as u64).to_le_bytes());
        for node in layer {
            put_slots(&mut out, node, UPPER_SLOTS)?;
        }
    }
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for v in &g.values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    bincode::deserialize(&out).map_err(|e| format_err!("HNSW graph: {e}"))
}

/// Every code of `codes` and its ancestors, as catalogue rows sorted by code.
fn rows_with_ancestors(catalog: &Catalog, codes: &HashSet<&str>) -> Result<Vec<CatalogEntry>> {
    let mut want: BTreeMap<String, CatalogEntry> = BTreeMap::new();
    for code in codes {
        let mut cur = Some(code.to_string());
        while let Some(c) = cur {
            if want.contains_key(&c) {
                break;
            }
            let e = catalog.get(&c).ok_or_else(|| format_err!("code {c} of the index is not in the catalogue: rebuild the index from this catalogue"))?;
            cur = e.parent.clone();
            // the page shows descriptions only: inclusion terms would just grow the download
            want.insert(c, CatalogEntry { inclusion_terms: Vec::new(), ..e.clone() });
        }
    }
    Ok(want.into_values().collect())
}

/// Write the asset of an ICD-10 index (see the module docs). The catalogue must hold every indexed code.
pub fn build(index: &Index, catalog: &Catalog) -> Result<(Vec<u8>, AssetMeta)> {
    if !index.meta.source.starts_with("icd10:") {
        return Err(format_err!("index source is {:?}: the search page needs an ICD-10 index (`medbridge index --icd10 --lang …`)", index.meta.source));
    }
    let codes: HashSet<&str> = index.ids.iter().map(|id| split_passage_id(id).0).collect();
    let entries = rows_with_ancestors(catalog, &codes)?;
    let (points, graph) = decompose(index.graph())?;
    let dim = index.meta.dim;
    let mut scales = Vec::with_capacity(points.len());
    let mut vectors = Vec::with_capacity(points.len() * dim);
    for p in &points {
        let q = QVector::quantize(p);
        scales.push(q.scale);
        vectors.extend_from_slice(&q.q);
    }
    let meta = AssetMeta {
        format_version: FORMAT_VERSION,
        model_id: index.meta.model_id.clone(),
        dim,
        passages: index.len(),
        codes: codes.len(),
        entries: entries.len(),
        source: index.meta.source.clone(),
        doc_kind: index.meta.doc_kind.clone(),
        quantization: QUANTIZATION.into(),
        f32_vector_bytes: (points.len() * dim * 4) as u64,
        int8_vector_bytes: (points.len() * (dim + 4)) as u64,
    };
    let payload = Payload { ids: index.ids.clone(), entries, graph, scales, vectors };
    let raw = bincode::serialize(&payload).map_err(|e| format_err!("catalogue asset: {e}"))?;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).map_err(|e| format_err!("catalogue asset: deflate: {e}"))?;
    let packed = z.finish().map_err(|e| format_err!("catalogue asset: deflate: {e}"))?;
    let header = serde_json::to_vec(&meta).expect("meta serialises");
    let mut out = Vec::with_capacity(packed.len() + header.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    Ok((out, meta))
}

/// One ranked ICD-10 code.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeHit {
    pub rank: usize,
    pub code: String,
    pub score: f32,
    /// Description in the asked language, or in the fallback language (`fallback` true).
    pub description: String,
    pub description_lang: String,
    pub fallback: bool,
    pub parent: Option<String>,
    pub parent_description: Option<String>,
    /// The passage that matched and its language.
    pub matched_text: String,
    pub matched_lang: String,
    /// Which stage ranked it: "bi-encoder" (HNSW), "bm25", or "bi-encoder+bm25" (reciprocal-rank fusion).
    pub stage: String,
}

/// A loaded asset, ready to search.
pub struct CatalogAsset {
    pub meta: AssetMeta,
    ids: Vec<String>,
    entries: Vec<CatalogEntry>,
    by_code: HashMap<String, usize>,
    graph: HnswMap<QVector, u32>,
    bm25: std::cell::OnceCell<crate::bm25::Bm25Index>,
}

/// Languages tried, in order, when a code has no description in `lang`.
pub fn fallback_order(lang: &str) -> &'static [&'static str] {
    match lang {
        "ca" => &["es", "fr", "it", "pt", "en"],
        "es" => &["en", "fr", "pt", "it"],
        "pt" => &["es", "en", "fr", "it"],
        "it" => &["en", "fr", "es", "pt"],
        "fr" => &["en", "es", "it", "pt"],
        _ => &["en", "es", "fr", "pt", "it"],
    }
}

impl CatalogAsset {
    /// Parse and verify (magic, version, checksum, model identity when `expected_model` is given).
    pub fn from_bytes(bytes: &[u8], expected_model: Option<&str>) -> Result<Self> {
        if bytes.len() < 4 + 4 + 4 + 8 + 32 || &bytes[..4] != MAGIC {
            return Err(format_err!("{ASSET_FILE}: not a MedBridge catalogue asset (bad magic or too short)"));
        }
        let version = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        if version != FORMAT_VERSION {
            return Err(format_err!("{ASSET_FILE}: format version {version} is not supported (this build reads {FORMAT_VERSION}); re-export it with `medbridge export-web`"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != sum {
            return Err(format_err!("{ASSET_FILE}: damaged (checksum mismatch)"));
        }
        let hlen = u32::from_le_bytes(body[8..12].try_into().unwrap()) as usize;
        let meta: AssetMeta = serde_json::from_slice(body.get(12..12 + hlen).ok_or_else(|| format_err!("{ASSET_FILE}: header truncated"))?)
            .map_err(|e| format_err!("{ASSET_FILE}: header: {e}"))?;
        if let Some(m) = expected_model {
            if m != meta.model_id {
                return Err(format_err!("{ASSET_FILE} was built with model {:?}, but the loaded model is {m:?}: re-export the bundle", meta.model_id));
            }
        }
        let p = 12 + hlen;
        let plen = u64::from_le_bytes(body.get(p..p + 8).ok_or_else(|| format_err!("{ASSET_FILE}: truncated"))?.try_into().unwrap()) as usize;
        let packed = body.get(p + 8..p + 8 + plen).ok_or_else(|| format_err!("{ASSET_FILE}: payload truncated"))?;
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(packed).read_to_end(&mut raw).map_err(|e| format_err!("{ASSET_FILE}: inflate: {e}"))?;
        let pl: Payload = bincode::deserialize(&raw).map_err(|e| format_err!("{ASSET_FILE}: payload: {e}"))?;
        drop(raw);
        let n = pl.scales.len();
        if pl.vectors.len() != n * meta.dim || pl.ids.len() != meta.passages || n != meta.passages {
            return Err(format_err!("{ASSET_FILE}: {} ids, {n} scales and {} int8 values for {} passages of {} dimensions", pl.ids.len(), pl.vectors.len(), meta.passages, meta.dim));
        }
        if let Some(v) = pl.graph.values.iter().find(|&&v| v as usize >= n) {
            return Err(format_err!("{ASSET_FILE}: graph value {v} out of range"));
        }
        let points: Vec<QVector> =
            pl.scales.iter().zip(pl.vectors.chunks_exact(meta.dim)).map(|(&scale, q)| QVector { scale, q: q.to_vec() }).collect();
        let graph = compose(&pl.graph, &points)?;
        drop(points);
        let by_code = pl.entries.iter().enumerate().map(|(i, e)| (e.code.clone(), i)).collect();
        let asset = CatalogAsset { meta, ids: pl.ids, entries: pl.entries, by_code, graph, bm25: Default::default() };
        if let Some(id) = asset.ids.iter().find(|id| !asset.by_code.contains_key(split_passage_id(id).0)) {
            return Err(format_err!("{ASSET_FILE}: passage {id} has no catalogue row"));
        }
        Ok(asset)
    }

    pub fn entry(&self, code: &str) -> Option<&CatalogEntry> {
        self.by_code.get(code).map(|&i| &self.entries[i])
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// Language of passage `i`: the id suffix, else the index's language.
    fn passage_lang<'a>(&'a self, id: &'a str) -> &'a str {
        match id.split_once('@') {
            Some((_, l)) => l,
            None => self.meta.source.strip_prefix("icd10:").filter(|l| *l != "all").unwrap_or("en"),
        }
    }

    fn passage_text(&self, id: &str) -> String {
        let (code, _) = split_passage_id(id);
        let lang = self.passage_lang(id);
        self.entry(code).and_then(|e| e.descriptions.get(lang)).cloned().unwrap_or_default()
    }

    /// Description of `code` in `lang`, else in the first fallback language that has one.
    pub fn describe(&self, code: &str, lang: &str) -> Option<(String, String, bool)> {
        let e = self.entry(code)?;
        if let Some(d) = e.descriptions.get(lang) {
            return Some((d.clone(), lang.to_string(), false));
        }
        for l in fallback_order(lang) {
            if let Some(d) = e.descriptions.get(*l) {
                return Some((d.clone(), l.to_string(), true));
            }
        }
        e.descriptions.iter().next().map(|(l, d)| (d.clone(), l.clone(), true))
    }

    /// Dense candidates: (passage id, cosine), best first, `fetch` of them.
    fn dense(&self, query: &[f32], fetch: usize) -> Vec<(String, f32)> {
        let q = QVector::quantize(query);
        let mut s = Search::default();
        self.graph.search(&q, &mut s).take(fetch).map(|it| (self.ids[*it.value as usize].clone(), 1.0 - it.distance)).collect()
    }

    fn collapse(&self, hits: Vec<(String, f32)>) -> Vec<(String, String, f32)> {
        let mut seen = HashSet::new();
        hits.into_iter()
            .filter_map(|(id, s)| {
                let code = split_passage_id(&id).0.to_string();
                seen.insert(code.clone()).then_some((code, id, s))
            })
            .collect()
    }

    fn hit(&self, rank: usize, code: &str, passage_id: &str, score: f32, lang: &str, stage: &str) -> CodeHit {
        let (description, description_lang, fallback) = self.describe(code, lang).unwrap_or_default();
        let parent = self.entry(code).and_then(|e| e.parent.clone());
        let parent_description = parent.as_deref().and_then(|p| self.describe(p, lang)).map(|d| d.0);
        CodeHit {
            rank,
            code: code.to_string(),
            score,
            description,
            description_lang,
            fallback,
            parent,
            parent_description,
            matched_text: self.passage_text(passage_id),
            matched_lang: self.passage_lang(passage_id).to_string(),
            stage: stage.to_string(),
        }
    }

    /// The `k` best codes for a normalised query vector (bi-encoder + HNSW), described in `lang`.
    pub fn search(&self, query: &[f32], k: usize, lang: &str) -> Result<Vec<CodeHit>> {
        if query.len() != self.meta.dim {
            return Err(format_err!("query vector has {} dimensions, the catalogue {}", query.len(), self.meta.dim));
        }
        let fetch = if self.meta.source == "icd10:all" { k * 5 } else { k };
        let hits = self.collapse(self.dense(query, fetch.max(k)));
        Ok(hits.into_iter().take(k).enumerate().map(|(i, (code, pid, s))| self.hit(i + 1, &code, &pid, s, lang, "bi-encoder")).collect())
    }

    /// Hybrid: reciprocal-rank fusion (k = 60) of the dense top 100 and BM25's top 100 over the
    /// catalogue texts. `score` is the fused score; `stage` says which lists held the code.
    pub fn search_hybrid(&self, query: &[f32], query_text: &str, k: usize, lang: &str) -> Result<Vec<CodeHit>> {
        if query.len() != self.meta.dim {
            return Err(format_err!("query vector has {} dimensions, the catalogue {}", query.len(), self.meta.dim));
        }
        let depth = 100.max(k);
        let fetch = if self.meta.source == "icd10:all" { depth * 5 } else { depth };
        let dense: Vec<(String, String, f32)> = self.collapse(self.dense(query, fetch)).into_iter().take(depth).collect();
        let bm25 = self.bm25.get_or_init(|| {
            let docs: Vec<(String, String)> = self.ids.iter().map(|id| (id.clone(), self.passage_text(id))).collect();
            crate::bm25::Bm25Index::new(&docs)
        });
        let lexical: Vec<(String, String, f32)> = self.collapse(bm25.search(query_text, fetch)).into_iter().take(depth).collect();
        let mut fused: HashMap<String, (f32, String, bool, bool)> = HashMap::new();
        for (r, (code, pid, _)) in dense.iter().enumerate() {
            let e = fused.entry(code.clone()).or_insert((0.0, pid.clone(), false, false));
            e.0 += 1.0 / (60.0 + r as f32 + 1.0);
            e.2 = true;
        }
        for (r, (code, pid, _)) in lexical.iter().enumerate() {
            let e = fused.entry(code.clone()).or_insert((0.0, pid.clone(), false, false));
            e.0 += 1.0 / (60.0 + r as f32 + 1.0);
            e.3 = true;
        }
        let mut ranked: Vec<(String, (f32, String, bool, bool))> = fused.into_iter().collect();
        ranked.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        Ok(ranked
            .into_iter()
            .take(k)
            .enumerate()
            .map(|(i, (code, (s, pid, d, l)))| {
                let stage = match (d, l) {
                    (true, true) => "bi-encoder+bm25",
                    (true, false) => "bi-encoder",
                    _ => "bm25",
                };
                self.hit(i + 1, &code, &pid, s, lang, stage)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexBuilder;
    use rand::{Rng, SeedableRng};

    fn unit(rng: &mut rand::rngs::StdRng, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn entry(code: &str, parent: Option<&str>, descs: &[(&str, &str)]) -> CatalogEntry {
        CatalogEntry {
            code: code.into(),
            parent: parent.map(Into::into),
            level: crate::catalog::code_level(code),
            descriptions: descs.iter().map(|(l, d)| (l.to_string(), d.to_string())).collect(),
            inclusion_terms: Vec::new(),
        }
    }

    /// A catalogue of `n` codes Axx.y under categories Axx, and an `es` index of the subcodes.
    fn sample(n: usize, dim: usize) -> (Catalog, Index, Vec<Vec<f32>>) {
        let mut entries = Vec::new();
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        for i in 0..n {
            let cat = format!("A{:02}", i / 10);
            if i % 10 == 0 {
                entries.push(entry(&cat, None, &[("en", &format!("category {cat}")), ("es", &format!("categoría {cat}"))]));
            }
            let code = format!("{cat}.{}", i % 10);
            let mut d = vec![("es", format!("dolor número {i}"))];
            if i % 2 == 0 {
                d.push(("en", format!("pain number {i}")));
            }
            let d: Vec<(&str, &str)> = d.iter().map(|(l, s)| (*l, s.as_str())).collect();
            entries.push(entry(&code, Some(&cat), &d));
            ids.push(code);
            texts.push(format!("dolor número {i}"));
        }
        entries.sort_by(|a, b| a.code.cmp(&b.code));
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let vecs: Vec<Vec<f32>> = (0..n).map(|_| unit(&mut rng, dim)).collect();
        let idx = IndexBuilder::default().build("model-x", "icd10:es", "passage", ids, texts, vecs.clone()).unwrap();
        (Catalog { entries }, idx, vecs)
    }

    #[test]
    fn graph_transcode_is_exact() {
        let (_, idx, _) = sample(400, 24);
        let (points, g) = decompose(idx.graph()).unwrap();
        let back: HnswMap<Vector, u32> = compose(&g, &points.into_iter().map(Vector).collect::<Vec<_>>()).unwrap();
        assert_eq!(bincode::serialize(&back).unwrap(), bincode::serialize(idx.graph()).unwrap());
        assert!(g.zero.iter().all(|z| !z.is_empty() && z.len() <= ZERO_SLOTS && !z.contains(&INVALID)));
    }

    #[test]
    fn quantised_search_matches_f32_search() {
        let (cat, idx, vecs) = sample(500, 64);
        let (bytes, meta) = build(&idx, &cat).unwrap();
        assert_eq!((meta.passages, meta.codes, meta.entries), (500, 500, 550));
        assert_eq!(meta.int8_vector_bytes * 100 / meta.f32_vector_bytes, 26); // (64+4)/256
        let a = CatalogAsset::from_bytes(&bytes, Some("model-x")).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut agree = 0;
        for t in 0..50 {
            // A query near document t: the same top hit on both, scores within 0.01.
            let q: Vec<f32> = {
                let noise = unit(&mut rng, 64);
                let v: Vec<f32> = vecs[t].iter().zip(&noise).map(|(a, b)| a + 0.3 * b).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / n).collect()
            };
            let f = idx.search(&q, 5).unwrap();
            let h = a.search(&q, 5, "en").unwrap();
            agree += (f[0].id == h[0].code) as usize;
            assert!((f[0].score - h.iter().find(|x| x.code == f[0].id).map(|x| x.score).unwrap_or(f[0].score)).abs() < 0.01);
        }
        assert!(agree >= 48, "top-1 agreement {agree}/50");
        let h = a.search(&vecs[3], 1, "en").unwrap();
        assert_eq!(h[0].code, "A00.3");
        assert_eq!(h[0].rank, 1);
        // No English for odd numbers: Spanish fallback, marked.
        assert_eq!((h[0].description.as_str(), h[0].description_lang.as_str(), h[0].fallback), ("dolor número 3", "es", true));
        assert_eq!((h[0].parent.as_deref(), h[0].parent_description.as_deref()), (Some("A00"), Some("category A00")));
        assert_eq!((h[0].matched_text.as_str(), h[0].matched_lang.as_str(), h[0].stage.as_str()), ("dolor número 3", "es", "bi-encoder"));
        let h = a.search(&vecs[4], 1, "es").unwrap();
        assert_eq!((h[0].description.as_str(), h[0].fallback), ("dolor número 4", false));
        // Hybrid: an exact lexical match ranks first and is marked as found by both stages.
        let h = a.search_hybrid(&vecs[7], "dolor número 7", 3, "es").unwrap();
        assert_eq!((h[0].code.as_str(), h[0].stage.as_str()), ("A00.7", "bi-encoder+bm25"));
    }

    #[test]
    fn refuses_damage_other_models_and_non_catalogue_indexes() {
        let (cat, idx, _) = sample(50, 16);
        let (bytes, _) = build(&idx, &cat).unwrap();
        let e = CatalogAsset::from_bytes(&bytes, Some("model-y")).err().unwrap().to_string();
        assert!(e.contains("model-x") && e.contains("model-y"), "{e}");
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n / 2] ^= 1;
        assert!(CatalogAsset::from_bytes(&bad, None).err().unwrap().to_string().contains("damaged"));
        assert!(CatalogAsset::from_bytes(&bytes[..100], None).is_err());
        let mut small = cat.clone();
        small.entries.retain(|e| e.code != "A01.5");
        assert!(build(&idx, &small).err().unwrap().to_string().contains("A01.5"));
        let docs = IndexBuilder::default().build("model-x", "corpus.jsonl", "passage", vec!["d".into()], vec!["t".into()], vec![vec![1.0]]).unwrap();
        assert!(build(&docs, &cat).err().unwrap().to_string().contains("ICD-10 index"));
    }

    #[test]
    fn multilingual_index_collapses_codes() {
        let (cat, _, vecs) = sample(40, 16);
        // Two passages per code (es and en ids), as in an icd10:all index.
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        let mut vv = Vec::new();
        for (i, v) in vecs.iter().enumerate() {
            let code = format!("A{:02}.{}", i / 10, i % 10);
            ids.push(code.clone());
            texts.push(String::new());
            vv.push(v.clone());
            ids.push(format!("{code}@es"));
            texts.push(String::new());
            vv.push(v.iter().map(|x| x * 0.999).collect());
        }
        let idx = IndexBuilder::default().build("m", "icd10:all", "passage", ids, texts, vv).unwrap();
        let (bytes, meta) = build(&idx, &cat).unwrap();
        assert_eq!((meta.passages, meta.codes), (80, 40));
        let a = CatalogAsset::from_bytes(&bytes, None).unwrap();
        let h = a.search(&vecs[5], 5, "fr").unwrap();
        let codes: HashSet<&str> = h.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(codes.len(), 5, "{h:?}");
        assert_eq!(h[0].code, "A00.5");
    }
}
