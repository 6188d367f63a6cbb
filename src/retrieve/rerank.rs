//! Second stage: a cross-encoder reranker (query and passage in one sequence, a scoring head).
//!
//! The reranker is the base encoder with trained parts applied (the top layers or their adapters,
//! exactly as for the bi-encoder, see [`crate::model::parts`]) plus a linear head on the first
//! token's last hidden state (no bias: see `train::cross`). Its trained parts live in
//! `models/trained/cross/` (`weights.safetensors` + `manifest.json`, kind `cross`, head tensor
//! [`HEAD_WEIGHT`]); `medbridge train cross` writes them.
//!
//! Input: XLM-R's pair template with e5's prefixes, `<s> query: Q </s></s> passage: P </s>`
//! ([`crate::encode::pair_tokens`], shared by training and inference so they cannot drift apart);
//! batching and the forward pass are the encoder's ([`Encoder::forward_all`]).
//!
//! Native and wasm32: [`Reranker::from_bytes`] takes the files' bytes; [`Reranker::load`] reads
//! them from directories.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::fusion::fuse_scores;
#[cfg(not(target_arch = "wasm32"))]
use super::Run;
use crate::encode::{pair_tokens, Encoder, Pool};
use crate::model::bundle::WebReranker;
#[cfg(not(target_arch = "wasm32"))]
use crate::model::bundle::{BodyFormat, BUNDLE_RERANKER};
use crate::model::parts::{self, Manifest, PARTS_FORMAT, PARTS_MANIFEST};
use crate::model::{ModelDir, ModelInfo, RawTensor};
use crate::text::tokenize::Tokenizer;
use crate::{format_err, Error, Result};

/// Head weight, shape (1, hidden).
pub const HEAD_WEIGHT: &str = "head.weight";
/// Where `medbridge train cross` puts the reranker's parts by default.
pub const DEFAULT_DIR: &str = "models/trained/cross";
/// Default token limit of a (query, passage) sequence.
pub const DEFAULT_MAX_LEN: usize = 128;
/// Default weight of the first stage's score in the final order (see [`fuse_scores`]); chosen on
/// CodiEsp *train* mentions (never on the evaluation sets).
pub const DEFAULT_FIRST_STAGE_WEIGHT: f32 = 1.0;
/// The least share of a query's (query, candidate) tokens the reranker must read to judge it (see
/// [`Reranker::min_seen`]).
pub const DEFAULT_MIN_SEEN: f32 = 0.9;
/// What to run when no reranker exists.
pub const TRAIN_HINT: &str = "train one with `medbridge train cross --data PAIRS.jsonl` (pairs from `medbridge synth`)";

/// Split a cross-encoder's trained tensors into the head weight (1, h) and the encoder part;
/// `origin` names the file in errors.
pub fn split_head(mut trained: HashMap<String, Tensor>, hidden: usize, origin: &str) -> Result<(Tensor, HashMap<String, Tensor>)> {
    let mut take = |name: &str, dims: &[usize]| -> Result<Tensor> {
        let t = trained.remove(name).ok_or_else(|| format_err!("{origin}: the reranker head tensor {name} is missing"))?;
        if t.dims() != dims {
            return Err(format_err!("{origin}: {name} has shape {:?}, expected {dims:?}", t.dims()));
        }
        Ok(t.to_dtype(DType::F32)?)
    };
    let w = take(HEAD_WEIGHT, &[1, hidden])?;
    if let Some(extra) = trained.keys().find(|k| k.starts_with("head.")) {
        return Err(format_err!("{origin}: unknown head tensor {extra}"));
    }
    Ok((w, trained))
}

/// Base encoder + trained cross parts, scoring (query, passage) pairs.
pub struct Reranker {
    /// The encoder with the trained layers applied; `info.model_id` is the reranker's identity.
    pub encoder: Encoder,
    /// (hidden, 1)
    head_w: Tensor,
    /// Token limit per pair sequence (the training limit by default).
    pub max_len: usize,
    /// Pairs per forward batch.
    pub batch_size: usize,
    /// Weight of the first stage's score when ordering the reranked candidates (0 = the
    /// reranker's score alone); see [`fuse_scores`].
    pub first_stage_weight: f32,
    /// A query whose pairs the reranker reads less than this share of (mean over its candidates)
    /// keeps the first stage's order: a reranker trained on short mention–name pairs, shown the
    /// first 80 tokens of a clinical case and an explanation, lost to the first stage on CasiMedicos
    /// (README, "Evaluation report"). Every CodiEsp dev query reads ≥ 0.95 of its top 10's pairs,
    /// every CasiMedicos case < 0.7; 0 = always rerank.
    pub min_seen: f32,
}

/// A reranked run and how many of its queries kept the first stage's order (see
/// [`Reranker::min_seen`]).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug)]
pub struct Reranked {
    pub run: Run,
    pub kept_first_stage: usize,
}

impl Reranker {
    /// This reranker computing in `precision` on the CPU (unchanged on WebGPU).
    pub fn with_precision(mut self, precision: crate::encode::Precision) -> Result<Self> {
        self.encoder = self.encoder.with_precision(precision)?;
        Ok(self)
    }

    /// Load the reranker in `cross_dir` on the first of `bases` whose model is the one it was
    /// trained on (its manifest's `base_model_id`); an error names the candidates otherwise.
    pub fn load_on_matching_base(bases: &[&Path], cross_dir: &Path) -> Result<Self> {
        let mp = cross_dir.join(PARTS_MANIFEST);
        let m = parts::read_manifest(cross_dir)?;
        let found = bases.iter().find(|d| ModelDir::open(d).map(|md| md.info.model_id == m.base_model_id).unwrap_or(false));
        match found {
            Some(base) => Self::load(base, cross_dir),
            None => Err(format_err!(
                "{}: the reranker was trained on base model {}, which is neither {}: pass its directory with --reranker-base",
                mp.display(),
                m.base_model_id,
                bases.iter().map(|b| b.display().to_string()).collect::<Vec<_>>().join(" nor ")
            )),
        }
    }

    /// Load the base model directory `base_dir` and the trained parts in `cross_dir`.
    pub fn load(base_dir: &Path, cross_dir: &Path) -> Result<Self> {
        let (manifest, weights, _) = read_files(cross_dir)?;
        let md = ModelDir::open(base_dir)?;
        Self::from_bytes(md.info.clone(), md.tokenizer()?, md.raw_tensors()?, &manifest, &weights, &cross_dir.display().to_string())
    }

    /// From the base model's parts and the bytes of the reranker's `manifest.json` and weights
    /// (`origin` names them in errors). Refuses parts of another kind or base model and weights
    /// whose sha256 differs from the manifest.
    pub fn from_bytes(
        info: ModelInfo,
        tokenizer: Tokenizer,
        mut tensors: Vec<RawTensor>,
        manifest: &[u8],
        weights: &[u8],
        origin: &str,
    ) -> Result<Self> {
        let (m, head_w, body) = read_parts(manifest, weights, origin, &info)?;
        parts::apply_tensors(&mut tensors, &m, &body, Path::new(&format!("{origin}/{}", m.weights.file)))?;
        let mut info = info;
        info.model_id = m.model_id.clone();
        let encoder = Encoder::from_parts(info, tokenizer, tensors, &Device::Cpu)?;
        Self::with_head(encoder, head_w, m.spec.max_len)
    }

    /// The reranker of a web bundle on `encoder` (the bundle's model, on its device): `tensors`
    /// (`reranker.gguf`) replace layers `entry.first_layer..` and give the head; the word table and
    /// the lower layers are `encoder`'s, shared, not copied.
    pub async fn on_encoder(encoder: &Encoder, entry: &WebReranker, mut tensors: Vec<RawTensor>) -> Result<Self> {
        let origin = &entry.file;
        let h = encoder.dim();
        let at = tensors.iter().position(|t| t.name == HEAD_WEIGHT).ok_or_else(|| format_err!("{origin}: no {HEAD_WEIGHT} tensor"))?;
        let head = tensors.swap_remove(at);
        if head.shape != [1, h] {
            return Err(format_err!("{origin}: {HEAD_WEIGHT} has shape {:?}, expected [1, {h}]", head.shape));
        }
        let head_w = Tensor::from_vec(head.to_f32(), (1, h), &Device::Cpu)?;
        let mut info = encoder.info.clone();
        info.model_id = entry.model_id.clone();
        let top = encoder.with_top_layers(info, entry.first_layer, tensors).await.map_err(|e| format_err!("{origin}: {e}"))?;
        Self::with_head(top, head_w, entry.max_len)
    }

    /// `head_w`: (1, hidden).
    fn with_head(encoder: Encoder, head_w: Tensor, max_len: usize) -> Result<Self> {
        Ok(Self {
            encoder,
            head_w: head_w.t()?.contiguous()?,
            max_len,
            batch_size: 32,
            first_stage_weight: DEFAULT_FIRST_STAGE_WEIGHT,
            min_seen: DEFAULT_MIN_SEEN,
        })
    }

    /// Scores of (query, passage) pairs, higher = more relevant; length-sorted batches.
    pub async fn score_pairs_async(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        let ids =
            pairs.iter().map(|(q, p)| Ok(pair_tokens(&self.encoder.tokenizer, q, p, self.max_len)?.ids)).collect::<Result<Vec<_>>>()?;
        let seqs: Vec<&[u32]> = ids.iter().map(|v| v.as_slice()).collect();
        self.score_ids_async(&seqs).await
    }

    /// [`score_pairs_async`](Self::score_pairs_async), blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        crate::encode::block_on(self.score_pairs_async(pairs))
    }

    /// Scores of one query against several passages.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn score(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>> {
        let pairs: Vec<(&str, &str)> = passages.iter().map(|p| (query, *p)).collect();
        self.score_pairs(&pairs)
    }

    /// Mean share of the (query, passage) pairs' tokens that fit in `max_len` (1 when nothing is cut).
    pub fn seen_fraction(&self, query: &str, passages: &[&str]) -> Result<f32> {
        Ok(self.pair_sequences(query, passages)?.1)
    }

    /// The pairs' token ids within `max_len` and the mean share of their tokens that fit (see
    /// [`fuse_scores`]); only a cut pair is tokenised a second time, whole, for its length.
    fn pair_sequences(&self, query: &str, passages: &[&str]) -> Result<(Vec<Vec<u32>>, f32)> {
        let tok = &self.encoder.tokenizer;
        let mut seqs = Vec::with_capacity(passages.len());
        let mut sum = 0.0;
        for p in passages {
            let t = pair_tokens(tok, query, p, self.max_len)?;
            sum += if t.truncated { t.ids.len() as f32 / pair_tokens(tok, query, p, usize::MAX)?.ids.len() as f32 } else { 1.0 };
            seqs.push(t.ids);
        }
        let seen = if passages.is_empty() { 1.0 } else { sum / passages.len() as f32 };
        Ok((seqs, seen))
    }

    /// Scores of already-built pair sequences (see [`pair_tokens`]): the encoder's first-token
    /// states, length-sorted in batches of `batch_size`, times the head.
    pub async fn score_ids_async(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        if seqs.is_empty() {
            return Ok(vec![]);
        }
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut scores = vec![0f32; seqs.len()];
        for chunk in crate::encode::batch::padding_aware_batches(&lens, self.batch_size) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
            let first = self.encoder.forward(&batch, Pool::Cls).await?;
            let h = self.head_w.dims()[0];
            let first = Tensor::from_vec(first.into_iter().flatten().collect::<Vec<f32>>(), (batch.len(), h), &Device::Cpu)?;
            let s = first.matmul(&self.head_w)?.squeeze(1)?.to_vec1::<f32>()?;
            for (&i, v) in chunk.iter().zip(s) {
                scores[i] = v;
            }
        }
        Ok(scores)
    }

    /// [`score_ids_async`](Self::score_ids_async), blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn score_ids(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        crate::encode::block_on(self.score_ids_async(seqs))
    }

    /// Rerank one query's candidates: `texts[c]` are candidate `c`'s texts (its reranker score is its
    /// best over them: e.g. a code's name in each language), `first[c]` its first-stage score. Returns
    /// the candidates as `(c, final score)` best first — the reranker's score fused with the first
    /// stage's ([`fuse_scores`], weight `first_stage_weight`) — or `None` when the reranker reads too
    /// little of the pairs to judge ([`Reranker::min_seen`]): keep the first stage's order.
    pub async fn rerank_candidates(&self, query: &str, texts: &[Vec<&str>], first: &[f32]) -> Result<Option<Vec<(usize, f32)>>> {
        if texts.len() != first.len() {
            return Err(format_err!("rerank: {} candidates' texts but {} first-stage scores", texts.len(), first.len()));
        }
        if let Some(c) = texts.iter().position(|t| t.is_empty()) {
            return Err(format_err!("rerank: candidate {c} has no text to judge it by"));
        }
        // every (candidate, text) pair in one scoring call: batches stay full
        let owner: Vec<usize> = texts.iter().enumerate().flat_map(|(c, ts)| std::iter::repeat_n(c, ts.len())).collect();
        let flat: Vec<&str> = texts.iter().flatten().copied().collect();
        let (seqs, seen) = self.pair_sequences(query, &flat)?;
        if seen < self.min_seen {
            return Ok(None);
        }
        let seqs: Vec<&[u32]> = seqs.iter().map(|v| v.as_slice()).collect();
        let mut scores = vec![f32::NEG_INFINITY; texts.len()];
        for (c, s) in owner.into_iter().zip(self.score_ids_async(&seqs).await?) {
            scores[c] = scores[c].max(s);
        }
        let fused = fuse_scores(&scores, first, self.first_stage_weight, seen);
        let mut order: Vec<(usize, f32)> = fused.into_iter().enumerate().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(Some(order))
    }

    /// Rerank the top `n` of every ranking in `run` by the reranker's score fused with the first
    /// stage's ([`fuse_scores`], weight `first_stage_weight`); the rest keep their order below them
    /// (scores stay decreasing). `texts_of` gives a result id's descriptions (one or more, e.g. a
    /// code's description in each language: the candidate's score is its best over them, so a
    /// Spanish mention can match a code's Spanish wording) and `query_of` a query id's text;
    /// `progress(done, total)` counts queries. A query the reranker cannot read enough of keeps its
    /// first-stage order ([`Reranker::min_seen`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn rerank_run(
        &self,
        run: &Run,
        query_of: impl Fn(&str) -> Option<String>,
        texts_of: impl Fn(&str) -> Option<Vec<String>>,
        n: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Reranked> {
        let mut out = Run::new();
        let mut kept_first_stage = 0;
        let total = run.len();
        for (done, (qid, hits)) in run.iter().enumerate() {
            let q = query_of(qid).ok_or_else(|| format_err!("rerank: no text for query {qid:?}"))?;
            let top = n.min(hits.len());
            let texts = hits[..top]
                .iter()
                .map(|(id, _)| {
                    texts_of(id).filter(|t| !t.is_empty()).ok_or_else(|| format_err!("rerank: no passage text for result {id:?}"))
                })
                .collect::<Result<Vec<_>>>()?;
            let texts: Vec<Vec<&str>> = texts.iter().map(|ts| ts.iter().map(|t| t.as_str()).collect()).collect();
            let first: Vec<f32> = hits[..top].iter().map(|h| h.1).collect();
            match crate::encode::block_on(self.rerank_candidates(&q, &texts, &first))? {
                None => {
                    out.insert(qid.clone(), hits.clone());
                    kept_first_stage += 1;
                }
                Some(order) => {
                    let mut head: Vec<(String, f32)> = order.iter().map(|&(c, s)| (hits[c].0.clone(), s)).collect();
                    let floor = head.last().map(|h| h.1).unwrap_or(0.0) - 1.0;
                    let tail = hits[top..].iter().enumerate().map(|(j, (id, _))| (id.clone(), floor - j as f32 * 1e-3));
                    head.extend(tail);
                    out.insert(qid.clone(), head);
                }
            }
            progress(done + 1, total);
        }
        Ok(Reranked { run: out, kept_first_stage })
    }
}

/// A reranker's parts from the bytes of its `manifest.json` and weights, checked (kind, base model
/// `base`, sha256): the manifest, the head (1, hidden) and the encoder tensors.
fn read_parts(manifest: &[u8], weights: &[u8], origin: &str, base: &ModelInfo) -> Result<(Manifest, Tensor, HashMap<String, Tensor>)> {
    let mpath = format!("{origin}/{PARTS_MANIFEST}");
    let m = parse_manifest(manifest, &mpath)?;
    if m.base_model_id != base.model_id {
        return Err(format_err!(
            "{mpath}: this reranker was trained on base model {}, not {} (pass that base model)",
            m.base_model_id,
            base.model_id
        ));
    }
    let wpath = format!("{origin}/{}", m.weights.file);
    let sha = crate::io::sha256_hex(weights);
    if sha != m.weights.sha256 {
        return Err(format_err!("{wpath}: sha256 {sha} differs from the manifest's {} (damaged or replaced file)", m.weights.sha256));
    }
    let trained = candle_core::safetensors::load_buffer(weights, &Device::Cpu).map_err(|e| format_err!("{wpath}: {e}"))?;
    let (head_w, body) = split_head(trained, base.config.hidden_size, &wpath)?;
    Ok((m, head_w, body))
}

/// The reranker's part of a web bundle (see [`WebReranker`]): the trained parts in `cross_dir`
/// applied to their base model in `base_dir`, the layers they change (from the manifest's
/// `freeze_layers` on) in `body`'s format, and the head. Refuses a bundle model (`model`) whose
/// frozen part — every tensor below those layers but the word table — is not the base's
/// byte for byte: the page runs the reranker on the bundle model's lower layers. (The word table
/// may be pruned: `medbridge prune-vocab` keeps every kept piece's row as it was.)
#[cfg(not(target_arch = "wasm32"))]
pub fn web_parts(model: &ModelDir, base_dir: &Path, cross_dir: &Path, body: BodyFormat) -> Result<(WebReranker, Vec<RawTensor>)> {
    let (manifest, weights, wp) = read_files(cross_dir)?;
    let base = ModelDir::open(base_dir)?;
    let origin = cross_dir.display().to_string();
    let (m, head_w, trained) = read_parts(&manifest, &weights, &origin, &base.info)?;
    // the vocabulary may be pruned (fewer word-table rows); everything else must match
    let same_shape = crate::model::bert::Config { vocab_size: base.info.config.vocab_size, ..model.info.config.clone() };
    if same_shape != base.info.config {
        return Err(format_err!(
            "{}: the model's architecture differs from the reranker's base model {}",
            model.path.display(),
            base_dir.display()
        ));
    }
    let first = m.spec.freeze_layers;
    let top_layer = |name: &str| {
        name.strip_prefix(crate::model::names::LAYER_PREFIX)
            .and_then(|r| r.split('.').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_some_and(|l| l >= first)
    };
    let mut tensors = base.raw_tensors()?;
    let ours = model.raw_tensors()?;
    for t in tensors.iter().filter(|t| !top_layer(&t.name) && t.name != crate::model::names::WORD_EMBEDDINGS) {
        let same = ours.iter().find(|o| o.name == t.name).is_some_and(|o| o.dtype == t.dtype && o.shape == t.shape && o.bytes == t.bytes);
        if !same {
            return Err(format_err!(
                "{}: tensor {} is not the reranker's base model's ({}): the page runs the reranker on the bundle model's layers below {first}, so the model must be that base or a fine-tune of its layers {first} and up",
                model.path.display(),
                t.name,
                base_dir.display()
            ));
        }
    }
    drop(ours);
    parts::apply_tensors(&mut tensors, &m, &trained, &wp)?;
    tensors.retain(|t| top_layer(&t.name));
    let mut tensors = crate::model::bundle::web_tensors(tensors, body)?;
    let h = base.info.config.hidden_size;
    tensors.push(parts::f32_raw(HEAD_WEIGHT.into(), vec![1, h], &head_w.flatten_all()?.to_vec1::<f32>()?));
    let trained_on = m.training["data"]["recipe"].as_str().unwrap_or_default().to_string();
    Ok((
        WebReranker { file: BUNDLE_RERANKER.into(), model_id: m.model_id, first_layer: first, max_len: m.spec.max_len, trained_on },
        tensors,
    ))
}

/// The bytes of the reranker's `manifest.json` and weights in `cross_dir`, and the weights' path.
fn read_files(cross_dir: &Path) -> Result<(Vec<u8>, Vec<u8>, std::path::PathBuf)> {
    let mp = cross_dir.join(PARTS_MANIFEST);
    if !mp.is_file() {
        return Err(format_err!("no trained reranker in {} ({PARTS_MANIFEST} is missing): {TRAIN_HINT}", cross_dir.display()));
    }
    let manifest = std::fs::read(&mp).map_err(|e| Error::io(&mp, e))?;
    let wp = cross_dir.join(&parse_manifest(&manifest, &mp.display().to_string())?.weights.file);
    let weights = std::fs::read(&wp).map_err(|e| Error::io(&wp, e))?;
    Ok((manifest, weights, wp))
}

fn parse_manifest(bytes: &[u8], origin: &str) -> Result<Manifest> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| format_err!("{origin}: not a trained-parts manifest: {e}"))?;
    if m.format != PARTS_FORMAT {
        return Err(format_err!("{origin}: format {} is not {PARTS_FORMAT}", m.format));
    }
    if m.kind != "cross" {
        return Err(format_err!("{origin}: kind {:?} is not a reranker (kind \"cross\"): {TRAIN_HINT}", m.kind));
    }
    Ok(m)
}
