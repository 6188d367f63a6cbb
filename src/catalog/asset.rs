//! The ICD-10 search asset a page downloads (`catalog.mbca`): a catalogue index ([`crate::retrieve::index`])
//! re-encoded for the web ([`crate::retrieve::quantized`]: int8 vectors, the same HNSW graph) plus the
//! catalogue rows of the indexed codes and their ancestors (code, parent, level, descriptions per
//! language), so that the browser can search and display results with nothing but this file and the
//! model bundle. Search itself is the crate's one first stage ([`crate::retrieve::search::Retriever`]).
//!
//! File: the crate's container ([`crate::io::container`], magic `MBCA`) with an [`AssetMeta`] header
//! and payload = deflate(bincode([`Payload`])).
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogEntry};
use crate::io::container::{self, FileKind};
use crate::retrieve::index::Index;
use crate::retrieve::quantized::{CompactGraph, Quantized, QuantizedIndex, QUANTIZATION};
use crate::retrieve::rerank::Reranker;
use crate::retrieve::search::{Hit, QueryInput, Retriever};
use crate::retrieve::{split_passage_id, Method, Source, VectorIndex};
use crate::text::Lang;
use crate::{format_err, Error, Result};

pub const ASSET_FILE: &str = "catalog.mbca";
/// 2: passages other than a row's description (a code's other names) carry their text.
pub const FORMAT_VERSION: u32 = 2;
/// The `.mbca` file (see [`crate::io::container`]).
pub const FILE: FileKind =
    FileKind { magic: b"MBCA", version: FORMAT_VERSION, name: "catalogue asset", fix: "re-export it with `medbridge export-web`" };

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

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Passage ids (`CODE`, `CODE@lang`, `CODE[@lang]#n` for other names), by passage index.
    ids: Vec<String>,
    /// By passage index: its text when it is not the row's description in its language (a name), else empty.
    names: Vec<String>,
    entries: Vec<CatalogEntry>,
    graph: CompactGraph,
    /// Per graph point: scale, and `dim` int8 values.
    scales: Vec<f32>,
    vectors: Vec<i8>,
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
            let e = catalog
                .get(&c)
                .ok_or_else(|| format_err!("code {c} of the index is not in the catalogue: rebuild the index from this catalogue"))?;
            cur = e.parent.clone();
            // the page shows descriptions only: inclusion terms would just grow the download
            want.insert(c, CatalogEntry { inclusion_terms: Vec::new(), ..e.clone() });
        }
    }
    Ok(want.into_values().collect())
}

/// Write the asset of an ICD-10 index (see the module docs). The catalogue must hold every indexed code.
pub fn build(index: &Index, catalog: &Catalog) -> Result<(Vec<u8>, AssetMeta)> {
    if !index.source().is_icd10() {
        return Err(format_err!(
            "index source is {:?}: the search page needs an ICD-10 index (`medbridge index --icd10 --lang …`)",
            index.meta.source
        ));
    }
    let codes: HashSet<&str> = index.ids.iter().map(|id| split_passage_id(id).0).collect();
    let entries = rows_with_ancestors(catalog, &codes)?;
    let Quantized { graph, scales, vectors } = Quantized::from_index(index)?;
    let dim = index.meta.dim;
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
        f32_vector_bytes: (scales.len() * dim * 4) as u64,
        int8_vector_bytes: (scales.len() * (dim + 4)) as u64,
    };
    let by_code: HashMap<&str, &CatalogEntry> = entries.iter().map(|e| (e.code.as_str(), e)).collect();
    let names = index
        .ids
        .iter()
        .zip(&index.texts)
        .map(|(id, text)| {
            let (code, lang) = (split_passage_id(id).0, index.source().passage_lang(id));
            let description = by_code.get(code).and_then(|e| e.descriptions.get(lang));
            if description == Some(text) {
                String::new()
            } else {
                text.clone()
            }
        })
        .collect();
    let payload = Payload { ids: index.ids.clone(), names, entries, graph, scales, vectors };
    let raw = bincode::serialize(&payload).map_err(|e| format_err!("catalogue asset: {e}"))?;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).map_err(|e| format_err!("catalogue asset: deflate: {e}"))?;
    let packed = z.finish().map_err(|e| format_err!("catalogue asset: deflate: {e}"))?;
    Ok((container::write(&FILE, &meta, &packed)?, meta))
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
    /// Which stage ranked it: "bi-encoder" (HNSW), "bm25", or "bi-encoder+bm25" (score fusion).
    pub stage: String,
}

/// The asset's passages as a [`VectorIndex`]: int8 graph, ids, and texts read from the catalogue rows.
pub struct CatalogPassages {
    source: Source,
    ids: Vec<String>,
    names: Vec<String>,
    by_passage: HashMap<String, usize>,
    entries: Vec<CatalogEntry>,
    by_code: HashMap<String, usize>,
    vectors: QuantizedIndex,
}

impl CatalogPassages {
    pub fn entry(&self, code: &str) -> Option<&CatalogEntry> {
        self.by_code.get(code).map(|&i| &self.entries[i])
    }

    fn text_of(&self, i: usize) -> &str {
        if !self.names[i].is_empty() {
            return &self.names[i];
        }
        let passage_id = &self.ids[i];
        let (code, _) = split_passage_id(passage_id);
        let lang = self.source.passage_lang(passage_id);
        self.entry(code).and_then(|e| e.descriptions.get(lang)).map(|s| s.as_str()).unwrap_or_default()
    }
}

impl VectorIndex for CatalogPassages {
    fn source(&self) -> &Source {
        &self.source
    }
    fn dim(&self) -> usize {
        self.vectors.dim()
    }
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn passage_id(&self, i: usize) -> &str {
        &self.ids[i]
    }
    fn passage_text(&self, i: usize) -> Cow<'_, str> {
        Cow::Borrowed(self.text_of(i))
    }
    fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(usize, f32)>> {
        Ok(self.vectors.nearest(query, n))
    }
}

/// A loaded asset, ready to search.
pub struct CatalogAsset {
    pub meta: AssetMeta,
    retriever: Retriever<CatalogPassages>,
}

impl CatalogAsset {
    /// Parse and verify (magic, version, checksum, model identity when `expected_model` is given).
    pub fn from_bytes(bytes: &[u8], expected_model: Option<&str>) -> Result<Self> {
        Self::parse(container::read(&FILE, bytes, ASSET_FILE)?, expected_model)
    }

    /// [`Self::from_bytes`] for bytes already checked against a manifest's sha256 (the page's
    /// loader): the same checks but the container's own checksum ([`container::read_verified`]).
    pub fn from_verified_bytes(bytes: &[u8], expected_model: Option<&str>) -> Result<Self> {
        Self::parse(container::read_verified(&FILE, bytes, ASSET_FILE)?, expected_model)
    }

    fn parse((meta, packed): (AssetMeta, &[u8]), expected_model: Option<&str>) -> Result<Self> {
        Error::check_model(ASSET_FILE, &meta.model_id, expected_model, "re-export the bundle (`medbridge export-web`)")?;
        let damaged = |why: String| Error::damaged(ASSET_FILE, why, FILE.fix);
        let mut raw = Vec::new();
        flate2::read::DeflateDecoder::new(packed).read_to_end(&mut raw).map_err(|e| damaged(format!("inflate: {e}")))?;
        let pl: Payload = bincode::deserialize(&raw).map_err(|e| damaged(format!("payload: {e}")))?;
        drop(raw);
        if pl.ids.len() != meta.passages || pl.names.len() != meta.passages {
            return Err(damaged(format!("{} ids and {} names for {} passages", pl.ids.len(), pl.names.len(), meta.passages)));
        }
        let vectors =
            QuantizedIndex::new(&pl.graph, &pl.scales, &pl.vectors, meta.dim, meta.passages).map_err(|e| damaged(e.to_string()))?;
        let by_code: HashMap<String, usize> = pl.entries.iter().enumerate().map(|(i, e)| (e.code.clone(), i)).collect();
        let by_passage: HashMap<String, usize> = pl.ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        if let Some(id) = pl.ids.iter().find(|id| !by_code.contains_key(split_passage_id(id).0)) {
            return Err(damaged(format!("passage {id} has no catalogue row")));
        }
        let passages = CatalogPassages {
            source: Source::parse(&meta.source),
            by_passage,
            ids: pl.ids,
            names: pl.names,
            entries: pl.entries,
            by_code,
            vectors,
        };
        Ok(CatalogAsset { meta, retriever: Retriever::new(passages) })
    }

    fn passages(&self) -> &CatalogPassages {
        self.retriever.index()
    }

    pub fn entry(&self, code: &str) -> Option<&CatalogEntry> {
        self.passages().entry(code)
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.passages().entries
    }

    /// Description of `code` in `lang`, else in the first fallback language that has one.
    pub fn describe(&self, code: &str, lang: &str) -> Option<(String, String, bool)> {
        let e = self.entry(code)?;
        if let Some(d) = e.descriptions.get(lang) {
            return Some((d.clone(), lang.to_string(), false));
        }
        let fallbacks = lang.parse::<Lang>().unwrap_or(Lang::En).fallbacks();
        for l in fallbacks {
            if let Some(d) = e.descriptions.get(*l) {
                return Some((d.clone(), l.to_string(), true));
            }
        }
        e.descriptions.iter().next().map(|(l, d)| (d.clone(), l.clone(), true))
    }

    fn code_hit(&self, rank: usize, hit: Hit, lang: &str) -> CodeHit {
        let (description, description_lang, fallback) = self.describe(&hit.id, lang).unwrap_or_default();
        let parent = self.entry(&hit.id).and_then(|e| e.parent.clone());
        let parent_description = parent.as_deref().and_then(|p| self.describe(p, lang)).map(|d| d.0);
        let passages = self.passages();
        CodeHit {
            rank,
            score: hit.score,
            description,
            description_lang,
            fallback,
            parent,
            parent_description,
            matched_text: passages.by_passage.get(&hit.passage_id).map(|&i| passages.text_of(i)).unwrap_or_default().to_string(),
            matched_lang: passages.source.passage_lang(&hit.passage_id).to_string(),
            stage: hit.stage().to_string(),
            code: hit.id,
        }
    }

    /// The first `n` of `hits` (this asset's search results for `query`) reordered by `reranker`, each
    /// code judged by the better of the name that matched it and its description in that name's
    /// language (at most two pairs per code: on the page's CPU path each pair costs ~60 ms, so a
    /// code's other names are not read), its score fused with the first stage's;
    /// the rest follow in their order. Hits keep their first-stage order when the reranker reads
    /// too little of the pairs ([`Reranker::min_seen`]); the second value says whether it reranked.
    pub async fn rerank(&self, reranker: &Reranker, query: &str, mut hits: Vec<CodeHit>, n: usize) -> Result<(Vec<CodeHit>, bool)> {
        let top = n.min(hits.len());
        if top < 2 {
            return Ok((hits, false));
        }
        let texts: Vec<Vec<&str>> = hits[..top]
            .iter()
            .map(|h| {
                let mut t: Vec<&str> = Some(h.matched_text.as_str()).filter(|m| !m.is_empty()).into_iter().collect();
                if let Some(d) = self.entry(&h.code).and_then(|e| e.descriptions.get(&h.matched_lang)) {
                    if !t.contains(&d.as_str()) {
                        t.push(d);
                    }
                }
                if t.is_empty() {
                    t.push(h.description.as_str());
                }
                t
            })
            .collect();
        let first: Vec<f32> = hits[..top].iter().map(|h| h.score).collect();
        let Some(order) = reranker.rerank_candidates(query, &texts, &first).await? else { return Ok((hits, false)) };
        drop(texts);
        let mut head: Vec<Option<CodeHit>> = hits.drain(..top).map(Some).collect();
        let mut out: Vec<CodeHit> = order
            .into_iter()
            .map(|(c, score)| {
                let mut h = head[c].take().expect("each candidate once");
                h.score = score;
                h.stage = format!("{} + reranker", h.stage);
                h
            })
            .collect();
        out.extend(hits);
        for (i, h) in out.iter_mut().enumerate() {
            h.rank = i + 1;
        }
        Ok((out, true))
    }

    /// The `k` best codes for a query by `method` (the vector for dense and hybrid, the text for BM25
    /// and hybrid), described in `lang`.
    pub fn search(&self, query: &QueryInput, method: Method, k: usize, lang: &str) -> Result<Vec<CodeHit>> {
        let hits = self.retriever.search(query, method, k)?;
        Ok(hits.into_iter().enumerate().map(|(i, h)| self.code_hit(i + 1, h, lang)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::index::IndexBuilder;

    fn dense(a: &CatalogAsset, q: &[f32], k: usize, lang: &str) -> Result<Vec<CodeHit>> {
        a.search(&QueryInput { text: "", vector: Some(q) }, Method::Dense, k, lang)
    }
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
    fn quantised_search_matches_f32_search() {
        let (cat, idx, vecs) = sample(500, 64);
        let (bytes, meta) = build(&idx, &cat).unwrap();
        assert_eq!((meta.passages, meta.codes, meta.entries), (500, 500, 550));
        assert_eq!(meta.int8_vector_bytes * 100 / meta.f32_vector_bytes, 26); // (64+4)/256
        let a = CatalogAsset::from_bytes(&bytes, Some("model-x")).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut agree = 0;
        for doc in vecs.iter().take(50) {
            // A query near the document: the same top hit on both, scores within 0.01.
            let q: Vec<f32> = {
                let noise = unit(&mut rng, 64);
                let v: Vec<f32> = doc.iter().zip(&noise).map(|(a, b)| a + 0.3 * b).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / n).collect()
            };
            let f = idx.search(&q, 5).unwrap();
            let h = dense(&a, &q, 5, "en").unwrap();
            agree += (f[0].id == h[0].code) as usize;
            assert!((f[0].score - h.iter().find(|x| x.code == f[0].id).map(|x| x.score).unwrap_or(f[0].score)).abs() < 0.01);
        }
        assert!(agree >= 48, "top-1 agreement {agree}/50");
        let h = dense(&a, &vecs[3], 1, "en").unwrap();
        assert_eq!(h[0].code, "A00.3");
        assert_eq!(h[0].rank, 1);
        // No English for odd numbers: Spanish fallback, marked.
        assert_eq!((h[0].description.as_str(), h[0].description_lang.as_str(), h[0].fallback), ("dolor número 3", "es", true));
        assert_eq!((h[0].parent.as_deref(), h[0].parent_description.as_deref()), (Some("A00"), Some("category A00")));
        assert_eq!((h[0].matched_text.as_str(), h[0].matched_lang.as_str(), h[0].stage.as_str()), ("dolor número 3", "es", "bi-encoder"));
        let h = dense(&a, &vecs[4], 1, "es").unwrap();
        assert_eq!((h[0].description.as_str(), h[0].fallback), ("dolor número 4", false));
        // Hybrid: an exact lexical match ranks first and is marked as found by both stages.
        let h = a.search(&QueryInput { text: "dolor número 7", vector: Some(&vecs[7]) }, Method::Hybrid, 3, "es").unwrap();
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
        // Bytes the page's loader checked against the manifest: the container checksum is not hashed again,
        // everything else still is checked.
        let mut sum_flipped = bytes.clone();
        sum_flipped[n - 1] ^= 1;
        assert!(CatalogAsset::from_bytes(&sum_flipped, None).is_err());
        assert_eq!(CatalogAsset::from_verified_bytes(&sum_flipped, Some("model-x")).unwrap().entries().len(), cat.entries.len());
        assert!(CatalogAsset::from_verified_bytes(&bytes, Some("model-y")).err().unwrap().to_string().contains("model-y"));
        assert!(CatalogAsset::from_verified_bytes(&bytes[..100], None).is_err());
        let mut small = cat.clone();
        small.entries.retain(|e| e.code != "A01.5");
        assert!(build(&idx, &small).err().unwrap().to_string().contains("A01.5"));
        let docs = IndexBuilder::default()
            .build("model-x", "corpus.jsonl", "passage", vec!["d".into()], vec!["t".into()], vec![vec![1.0]])
            .unwrap();
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
        let h = dense(&a, &vecs[5], 5, "fr").unwrap();
        let codes: HashSet<&str> = h.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(codes.len(), 5, "{h:?}");
        assert_eq!(h[0].code, "A00.5");
    }

    #[test]
    fn names_keep_their_text_and_language() {
        let (cat, _, vecs) = sample(20, 16);
        let ids = vec!["A00.1".to_string(), "A00.1@ca#1".to_string(), "A00.2".to_string()];
        let texts = vec!["dolor número 1".to_string(), "mal de cap u".to_string(), "dolor número 2".to_string()];
        let idx = IndexBuilder::default().build("m", "icd10:es", "passage", ids, texts, vecs[..3].to_vec()).unwrap();
        let a = CatalogAsset::from_bytes(&build(&idx, &cat).unwrap().0, None).unwrap();
        let h = dense(&a, &vecs[1], 1, "es").unwrap();
        assert_eq!((h[0].code.as_str(), h[0].matched_text.as_str(), h[0].matched_lang.as_str()), ("A00.1", "mal de cap u", "ca"));
        assert_eq!(h[0].description, "dolor número 1");
        let h = a.search(&QueryInput { text: "mal de cap", vector: None }, Method::Bm25, 1, "es").unwrap();
        assert_eq!((h[0].code.as_str(), h[0].matched_text.as_str()), ("A00.1", "mal de cap u"), "BM25 reads the names too");
    }
}
