//! Second stage: a cross-encoder reranker (query and passage in one sequence, a scoring head).
//!
//! The reranker is the base encoder with trained parts applied (the top layers or their adapters,
//! exactly as for the bi-encoder, see [`crate::train::parts`]) plus a linear head on the first
//! token's last hidden state (no bias: see [`crate::train::cross`]). Its trained parts live in
//! `models/trained/cross/` (`weights.safetensors` + `manifest.json`, kind `cross`, head tensor
//! [`HEAD_WEIGHT`]); `medbridge train cross` writes them.
//!
//! Input: XLM-R's pair template with e5's prefixes, `<s> query: Q </s></s> passage: P </s>`
//! ([`pair_ids`], shared by training and inference so they cannot drift apart).
//!
//! Native and wasm32: [`Reranker::from_bytes`] takes the files' bytes; [`Reranker::load`] reads
//! them from directories.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::encode::bert::Mode;
use crate::encode::{Encoder, Kind};
use crate::eval::Run;
use crate::model::{ModelDir, ModelInfo, RawTensor};
use crate::tokenize::Tokenizer;
use crate::train::parts::{self, Manifest, PARTS_FORMAT, PARTS_MANIFEST};
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
/// What to run when no reranker exists.
pub const TRAIN_HINT: &str = "train one with `medbridge train cross --data PAIRS.jsonl` (pairs from `medbridge synth`)";

/// Token ids of a (query, passage) pair: `<s> query: Q </s></s> passage: P </s>`, at most
/// `max_len` tokens (the longer side is cut first); the flag says whether anything was cut.
pub fn pair_ids(tokenizer: &Tokenizer, query: &str, passage: &str, max_len: usize) -> Result<(Vec<u32>, bool)> {
    let t = tokenizer.encode_pair_with_limit(&Kind::Query.apply(query), &Kind::Passage.apply(passage), max_len)?;
    Ok((t.ids, t.truncated))
}

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
    pub manifest: Manifest,
    /// (hidden, 1)
    head_w: Tensor,
    /// Token limit per pair sequence (the training limit by default).
    pub max_len: usize,
    /// Pairs per forward batch.
    pub batch_size: usize,
    /// Weight of the first stage's score when ordering the reranked candidates (0 = the
    /// reranker's score alone); see [`fuse_scores`].
    pub first_stage_weight: f32,
}

/// The final scores of reranked candidates: seen · z(reranker) + w · z(first stage), each
/// standardised over the candidates of one query. Standardising makes the two scales comparable
/// (cosines in a narrow band, logits, BM25 scores) without calibration; the first stage's opinion
/// keeps the reranker from throwing away what the bi-encoder already ranks well. `seen` (0–1) is
/// the share of the pairs' tokens the reranker could read within its limit: a reranker trained on
/// short pairs that saw a tenth of two long documents should not overrule a first stage that read
/// them whole.
pub fn fuse_scores(reranker: &[f32], first_stage: &[f32], w: f32, seen: f32) -> Vec<f32> {
    fn z(v: &[f32]) -> Vec<f32> {
        let n = v.len().max(1) as f32;
        let mean = v.iter().sum::<f32>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
        v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
    }
    if w == 0.0 {
        return reranker.to_vec();
    }
    z(reranker).iter().zip(z(first_stage)).map(|(r, f)| seen * r + w * f).collect()
}

impl Reranker {
    /// Load the base model directory `base_dir` and the trained parts in `cross_dir`.
    pub fn load(base_dir: &Path, cross_dir: &Path) -> Result<Self> {
        let mp = cross_dir.join(PARTS_MANIFEST);
        if !mp.is_file() {
            return Err(format_err!("no trained reranker in {} ({PARTS_MANIFEST} is missing): {TRAIN_HINT}", cross_dir.display()));
        }
        let manifest = std::fs::read(&mp).map_err(|e| Error::io(&mp, e))?;
        let m = parse_manifest(&manifest, &mp.display().to_string())?;
        let wp = cross_dir.join(&m.weights.file);
        let weights = std::fs::read(&wp).map_err(|e| Error::io(&wp, e))?;
        let md = ModelDir::open(base_dir)?;
        Self::from_bytes(md.info.clone(), md.tokenizer()?, md.raw_tensors()?, &manifest, &weights, &cross_dir.display().to_string())
    }

    /// From the base model's parts and the bytes of the reranker's `manifest.json` and weights
    /// (`origin` names them in errors). Refuses parts of another kind or base model and weights
    /// whose sha256 differs from the manifest.
    pub fn from_bytes(info: ModelInfo, tokenizer: Tokenizer, mut tensors: Vec<RawTensor>, manifest: &[u8], weights: &[u8], origin: &str) -> Result<Self> {
        let mpath = format!("{origin}/{PARTS_MANIFEST}");
        let m = parse_manifest(manifest, &mpath)?;
        if m.base_model_id != info.model_id {
            return Err(format_err!("{mpath}: this reranker was trained on base model {}, not {} (pass that base model)", m.base_model_id, info.model_id));
        }
        let wpath = format!("{origin}/{}", m.weights.file);
        let sha = crate::train::sha256_hex(weights);
        if sha != m.weights.sha256 {
            return Err(format_err!("{wpath}: sha256 {sha} differs from the manifest's {} (damaged or replaced file)", m.weights.sha256));
        }
        let trained = candle_core::safetensors::load_buffer(weights, &Device::Cpu).map_err(|e| format_err!("{wpath}: {e}"))?;
        let (head_w, body) = split_head(trained, info.config.hidden_size, &wpath)?;
        parts::apply_tensors(&mut tensors, &m, &body, Path::new(&wpath))?;
        let mut info = info;
        info.model_id = m.model_id.clone();
        let encoder = Encoder::from_parts(info, tokenizer, tensors, &Device::Cpu)?;
        let max_len = m.spec.max_len;
        Ok(Self { encoder, manifest: m, head_w: head_w.t()?.contiguous()?, max_len, batch_size: 32, first_stage_weight: DEFAULT_FIRST_STAGE_WEIGHT })
    }

    /// Scores of (query, passage) pairs, higher = more relevant; length-sorted batches.
    pub fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f32>> {
        let ids = pairs.iter().map(|(q, p)| Ok(pair_ids(&self.encoder.tokenizer, q, p, self.max_len)?.0)).collect::<Result<Vec<_>>>()?;
        let seqs: Vec<&[u32]> = ids.iter().map(|v| v.as_slice()).collect();
        self.score_ids(&seqs)
    }

    /// Scores of one query against several passages.
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
            let (ids, truncated) = pair_ids(tok, query, p, self.max_len)?;
            sum += if truncated { ids.len() as f32 / pair_ids(tok, query, p, usize::MAX)?.0.len() as f32 } else { 1.0 };
            seqs.push(ids);
        }
        let seen = if passages.is_empty() { 1.0 } else { sum / passages.len() as f32 };
        Ok((seqs, seen))
    }

    /// Scores of already-built pair sequences (see [`pair_ids`]).
    pub fn score_ids(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| seqs[i].len());
        let mut out = vec![0f32; seqs.len()];
        let model = &self.encoder.model;
        for chunk in order.chunks(self.batch_size.max(1)) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
            let seq = batch.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
            let (ids, mask) = crate::train::encoder::pad(&batch, seq, self.encoder.tokenizer.pad_id(), &model.device)?;
            let hidden = model.forward(&ids, &mask, Mode::Inference)?;
            let first = hidden.narrow(1, 0, 1)?.squeeze(1)?;
            let s = first.contiguous()?.matmul(&self.head_w)?.squeeze(1)?.to_vec1::<f32>()?;
            for (&i, v) in chunk.iter().zip(s) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Rerank the top `n` of every ranking in `run` by the reranker's score fused with the first
    /// stage's ([`fuse_scores`], weight `first_stage_weight`); the rest keep their order below them
    /// (scores stay decreasing). `texts_of` gives a result id's descriptions (one or more, e.g. a
    /// code's description in each language: the candidate's score is its best over them, so a
    /// Spanish mention can match a code's Spanish wording) and `query_of` a query id's text;
    /// `progress(done, total)` counts queries.
    pub fn rerank_run(
        &self,
        run: &Run,
        query_of: impl Fn(&str) -> Option<String>,
        texts_of: impl Fn(&str) -> Option<Vec<String>>,
        n: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Run> {
        let mut out = Run::new();
        let total = run.len();
        for (done, (qid, hits)) in run.iter().enumerate() {
            let q = query_of(qid).ok_or_else(|| format_err!("rerank: no text for query {qid:?}"))?;
            let top = n.min(hits.len());
            // every (candidate, description) pair in one scoring call: batches stay full
            let mut owner = Vec::new();
            let mut texts = Vec::new();
            for (c, (id, _)) in hits[..top].iter().enumerate() {
                let ts = texts_of(id).filter(|t| !t.is_empty()).ok_or_else(|| format_err!("rerank: no passage text for result {id:?}"))?;
                owner.extend(std::iter::repeat(c).take(ts.len()));
                texts.extend(ts);
            }
            let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
            let (seqs, seen) = self.pair_sequences(&q, &refs)?;
            let seqs: Vec<&[u32]> = seqs.iter().map(|v| v.as_slice()).collect();
            let mut scores = vec![f32::NEG_INFINITY; top];
            for (c, s) in owner.into_iter().zip(self.score_ids(&seqs)?) {
                scores[c] = scores[c].max(s);
            }
            let first: Vec<f32> = hits[..top].iter().map(|h| h.1).collect();
            let scores = fuse_scores(&scores, &first, self.first_stage_weight, seen);
            let mut head: Vec<(String, f32)> = hits[..top].iter().zip(scores).map(|((id, _), s)| (id.clone(), s)).collect();
            head.sort_by(|a, b| b.1.total_cmp(&a.1));
            let floor = head.last().map(|h| h.1).unwrap_or(0.0) - 1.0;
            let tail = hits[top..].iter().enumerate().map(|(j, (id, _))| (id.clone(), floor - j as f32 * 1e-3));
            head.extend(tail);
            out.insert(qid.clone(), head);
            progress(done + 1, total);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::fuse_scores;

    fn order(s: &[f32]) -> Vec<usize> {
        let mut o: Vec<usize> = (0..s.len()).collect();
        o.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        o
    }

    #[test]
    fn fusion_moves_from_the_reranker_to_the_first_stage_with_the_weight() {
        let reranker = [2.0, 0.0, 1.0, -1.0];
        let first = [0.80, 0.92, 0.90, 0.85];
        assert_eq!(fuse_scores(&reranker, &first, 0.0, 1.0), reranker.to_vec());
        assert_eq!(order(&fuse_scores(&reranker, &first, 0.0, 1.0)), [0, 2, 1, 3]);
        assert_eq!(order(&fuse_scores(&reranker, &first, 100.0, 1.0)), [1, 2, 3, 0]);
        // in between both count: the candidate both like (2) wins
        assert_eq!(order(&fuse_scores(&reranker, &first, 1.0, 1.0))[0], 2);
        // standardised: rescaling or shifting the first stage's scores changes nothing
        let scaled: Vec<f32> = first.iter().map(|x| 40.0 * x + 3.0).collect();
        let (a, b) = (fuse_scores(&reranker, &first, 1.0, 1.0), fuse_scores(&reranker, &scaled, 1.0, 1.0));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4), "{a:?} {b:?}");
        // a reranker that read little of the texts counts for little: at seen 0.1 the first stage leads
        assert_eq!(order(&fuse_scores(&reranker, &first, 1.0, 0.1))[..2], [1, 2]);
        // equal scores (one candidate, or ties) give no NaN
        assert!(fuse_scores(&[1.0], &[0.5], 1.0, 1.0).iter().all(|x| x.is_finite()));
    }
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
