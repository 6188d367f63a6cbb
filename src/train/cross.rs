//! Listwise fine-tuning of the cross-encoder reranker (see [`crate::retrieve::rerank`] for its use).
//!
//! The model is the base encoder (lower layers frozen, top layers or adapters trained, as for the
//! bi-encoder) reading `<s> query: Q </s></s> passage: P </s>` ([`crate::encode::pair_tokens`]),
//! plus a linear head on the first token's last hidden state ([`crate::retrieve::rerank::HEAD_WEIGHT`]),
//! registered as a trainable parameter of the encoder so the optimiser, checkpoints and trained
//! parts carry it like any other tensor. The head has no bias: a listwise softmax is invariant to
//! adding the same number to every score of a list, so a bias would get an exactly zero gradient
//! (and ranking never needs it).
//!
//! Each example is a list: the positive passage first, then up to `k` negatives of other codes —
//! the bi-encoder's top-ranked wrong codes from a dense index ([`mine_negatives`]) interleaved
//! with the synthetic data's hierarchy negatives (siblings, cousins). Loss: softmax
//! cross-entropy of the positive against its list (shorter lists are padded with masked slots).
use std::collections::{BTreeMap, HashSet};

use candle_core::{DType, Tensor, Var};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::encoder::TrainableEncoder;
use super::Objective;
use crate::encode::{pair_tokens, Encoder, Kind, Pool};
use crate::retrieve::index::Index;
use crate::retrieve::rerank::HEAD_WEIGHT;
use crate::synth::{HardNegative, SynthPair};
use crate::{format_err, Result};

/// One tokenised list: `seqs[0]` is the positive pair.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossExample {
    pub lang: String,
    pub code: String,
    pub seqs: Vec<Vec<u32>>,
    /// Code of each sequence's passage (`codes[0] == code`).
    pub codes: Vec<String>,
}

/// Add the scoring head to `enc` as a trainable parameter (weight uniform in ±1/√hidden) and
/// return the objective that uses it.
pub fn add_head(enc: &mut TrainableEncoder, seed: u64) -> Result<CrossObjective> {
    let h = enc.base.config.hidden_size;
    let mut rng = StdRng::seed_from_u64(seed ^ 0xC705_5E1D);
    let bound = 1.0 / (h as f32).sqrt();
    let w: Vec<f32> = (0..h).map(|_| rng.gen_range(-bound..bound)).collect();
    let w = Var::from_tensor(&Tensor::from_vec(w, (1, h), enc.device())?)?;
    enc.add_param(HEAD_WEIGHT, w.clone());
    Ok(CrossObjective { w })
}

/// Negatives of each pair: mined and synthetic ones taken alternately (mined first), other codes only
/// (never the positive's code or text), distinct codes, at most `k`.
pub fn merge_negatives(pair: &SynthPair, mined: &[HardNegative], k: usize) -> Vec<HardNegative> {
    let mut seen: HashSet<&str> = HashSet::from([pair.positive_code.as_str()]);
    let mut out = Vec::with_capacity(k);
    let (mut a, mut b) = (mined.iter(), pair.hard_negatives.iter());
    let mut from_mined = true;
    while out.len() < k {
        let next = if from_mined { a.next().or_else(|| b.next()) } else { b.next().or_else(|| a.next()) };
        let Some(n) = next else { break };
        if n.text != pair.positive_text && seen.insert(n.code.as_str()) {
            out.push(n.clone());
            from_mined = !from_mined;
        }
    }
    out
}

/// Tokenise lists: each pair with at most `k` negatives (see [`merge_negatives`]; `mined[i]`
/// belongs to `pairs[i]`, empty when nothing was mined). Token limit: `enc.spec.max_len`.
pub fn prepare(enc: &TrainableEncoder, pairs: &[SynthPair], mined: Option<&[Vec<HardNegative>]>, k: usize) -> Result<Vec<CrossExample>> {
    if let Some(m) = mined {
        if m.len() != pairs.len() {
            return Err(format_err!("{} mined lists for {} pairs", m.len(), pairs.len()));
        }
    }
    let max_len = enc.spec.max_len;
    let mut out = Vec::with_capacity(pairs.len());
    for (i, p) in pairs.iter().enumerate() {
        let negs = merge_negatives(p, mined.map(|m| m[i].as_slice()).unwrap_or(&[]), k);
        let mut seqs = vec![pair_tokens(&enc.tokenizer, &p.query, &p.positive_text, max_len)?.ids];
        let mut codes = vec![p.positive_code.clone()];
        for n in negs {
            seqs.push(pair_tokens(&enc.tokenizer, &p.query, &n.text, max_len)?.ids);
            codes.push(n.code);
        }
        out.push(CrossExample { lang: p.lang.clone(), code: p.positive_code.clone(), seqs, codes });
    }
    Ok(out)
}

/// The bi-encoder's top-ranked wrong codes for each pair's query from a dense `index` built with
/// `encoder`: up to `k` per pair, excluding the positive's code and text. `progress(done, total)`.
pub fn mine_negatives(
    encoder: &Encoder,
    index: &Index,
    pairs: &[SynthPair],
    k: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Vec<HardNegative>>> {
    let mut out = Vec::with_capacity(pairs.len());
    let depth = (k + 5) * index.source().overfetch();
    for chunk in pairs.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|p| p.query.as_str()).collect();
        let vecs = encoder.embed(&texts, Kind::Query)?;
        for (p, v) in chunk.iter().zip(vecs) {
            let mut seen: HashSet<String> = HashSet::from([p.positive_code.clone()]);
            let mut negs = Vec::new();
            for hit in index.search(&v, depth)? {
                let code = index.source().result_id(&hit.id).to_string();
                if negs.len() >= k {
                    break;
                }
                if hit.text != p.positive_text && seen.insert(code.clone()) {
                    negs.push(HardNegative { code, text: hit.text, relation: "mined".into() });
                }
            }
            out.push(negs);
        }
        progress(out.len(), pairs.len());
    }
    Ok(out)
}

/// The listwise objective: softmax cross-entropy of the positive (slot 0) over its list.
#[derive(Debug, Clone)]
pub struct CrossObjective {
    /// Head weight (1, hidden), shared with the encoder's parameter list.
    pub w: Var,
}

impl CrossObjective {
    /// The head of an encoder that already has one (e.g. rebuilt to resume): finds its tensors
    /// among the encoder's parameters.
    pub fn from_encoder(enc: &TrainableEncoder) -> Result<Self> {
        let find = |n: &str| {
            enc.params().iter().find(|p| p.0 == n).map(|p| p.1.clone()).ok_or_else(|| format_err!("the encoder has no parameter {n}"))
        };
        Ok(Self { w: find(HEAD_WEIGHT)? })
    }

    /// Scores of sequences with a graph to the parameters: (n,).
    pub fn scores(&self, enc: &mut TrainableEncoder, seqs: &[&[u32]]) -> Result<Tensor> {
        let cls = enc.encode(seqs, Pool::Cls)?;
        Ok(cls.matmul(&self.w.as_tensor().t()?)?.squeeze(1)?)
    }

    /// Scores without a graph (inference kernels).
    pub fn scores_detached(&self, enc: &mut TrainableEncoder, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let w: Vec<f32> = self.w.as_detached_tensor().flatten_all()?.to_vec1()?;
        Ok(enc.embed(seqs, Pool::Cls)?.iter().map(|v| v.iter().zip(&w).map(|(x, y)| x * y).sum::<f32>()).collect())
    }
}

impl Objective for CrossObjective {
    type Example = CrossExample;

    fn loss(&self, enc: &mut TrainableEncoder, batch: &[&CrossExample]) -> Result<Tensor> {
        let width = batch.iter().map(|e| e.seqs.len()).max().unwrap_or(0);
        if width < 2 {
            return Err(format_err!("no negatives in the batch: a list needs a positive and at least one negative"));
        }
        let mut seqs: Vec<&[u32]> = Vec::new();
        let mut slots = Vec::new(); // position in the flat (batch × width) matrix
        for (i, e) in batch.iter().enumerate() {
            for (j, s) in e.seqs.iter().enumerate() {
                seqs.push(s);
                slots.push((i * width + j) as u32);
            }
        }
        let s = self.scores(enc, &seqs)?;
        let dev = enc.device().clone();
        // scatter the scores into (batch, width), empty slots at -1e9
        let n = batch.len() * width;
        let mut fill = vec![-1e9f32; n];
        for &slot in &slots {
            fill[slot as usize] = 0.0;
        }
        let placed = Tensor::zeros(n, DType::F32, &dev)?.index_add(&Tensor::from_vec(slots, seqs.len(), &dev)?, &s, 0)?;
        let logits = (placed + Tensor::from_vec(fill, n, &dev)?)?.reshape((batch.len(), width))?;
        let targets = Tensor::zeros(batch.len(), DType::U32, &dev)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
    }

    /// Reranking of each dev list: MRR@10 and R@1 of the positive within its list, overall and
    /// MRR@10 per query language, and the mean list length.
    fn evaluate(&self, enc: &mut TrainableEncoder, dev: &[CrossExample]) -> Result<BTreeMap<String, f64>> {
        if dev.is_empty() {
            return Err(format_err!("no dev examples"));
        }
        let seqs: Vec<&[u32]> = dev.iter().flat_map(|e| e.seqs.iter().map(|s| s.as_slice())).collect();
        let scores = self.scores_detached(enc, &seqs)?;
        let (mut mrr, mut r1, mut len) = (0.0, 0.0, 0.0);
        let mut per_lang: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        let mut at = 0;
        for e in dev {
            let s = &scores[at..at + e.seqs.len()];
            at += e.seqs.len();
            let rank = s[1..].iter().filter(|&&x| x >= s[0]).count();
            let rr = if rank < 10 { 1.0 / (rank + 1) as f64 } else { 0.0 };
            mrr += rr;
            r1 += (rank == 0) as u8 as f64;
            len += e.seqs.len() as f64;
            let l = per_lang.entry(e.lang.as_str()).or_default();
            l.0 += rr;
            l.1 += 1;
        }
        let n = dev.len() as f64;
        let mut m = BTreeMap::new();
        m.insert("mrr@10".to_string(), mrr / n);
        m.insert("r@1".to_string(), r1 / n);
        m.insert("list_len".to_string(), len / n);
        for (l, (s, k)) in per_lang {
            m.insert(format!("mrr@10.{l}"), s / k as f64);
        }
        Ok(m)
    }

    fn sequences<'a>(&self, examples: &'a [CrossExample]) -> Vec<&'a [u32]> {
        examples.iter().flat_map(|e| e.seqs.iter().map(|s| s.as_slice())).collect()
    }
}

/// A fingerprint of tokenised lists (order-sensitive), for checkpoints.
pub fn fingerprint(examples: &[CrossExample]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for e in examples {
        for (s, c) in e.seqs.iter().zip(&e.codes) {
            for id in s {
                h.update(id.to_le_bytes());
            }
            h.update([0xff, 0xff, 0xff, 0xff]);
            h.update(c.as_bytes());
        }
        h.update([0xfe]);
    }
    hex::encode(h.finalize())[..16].to_string()
}
