//! Contrastive fine-tuning of the bi-encoder (e5: `query: ` / `passage: ` prefixes, mean
//! pooling, cosine similarity).
//!
//! Loss: InfoNCE. Each query's candidates are every positive and every hard negative of the
//! batch (in-batch negatives plus the synthetic hard negatives, duplicates merged); logits are
//! cosine / temperature; the target is the query's positive. A candidate with the query's own
//! code (another pair of the same code, possibly in another language) is masked out rather than
//! treated as a negative.
use std::collections::{BTreeMap, HashMap};

use candle_core::Tensor;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use super::encoder::TrainableEncoder;
use super::Objective;
use crate::encode::{Kind, Pool};
use crate::synth::SynthPair;
use crate::{format_err, Result};

/// One tokenised training pair.
#[derive(Debug, Clone, PartialEq)]
pub struct BiExample {
    pub lang: String,
    pub query: Vec<u32>,
    pub positive: Vec<u32>,
    pub code: String,
    /// (token ids, code) of the hard negatives.
    pub negatives: Vec<(Vec<u32>, String)>,
}

/// Tokenise pairs (`query: ` + query, `passage: ` + texts), keeping at most `hard_negatives`
/// hard negatives each.
pub fn prepare<'a>(enc: &TrainableEncoder, pairs: &'a [SynthPair], hard_negatives: usize) -> Result<Vec<BiExample>> {
    let mut memo: HashMap<(bool, &str), Vec<u32>> = HashMap::new();
    let mut tok = |text: &'a str, query: bool| -> Result<Vec<u32>> {
        if let Some(v) = memo.get(&(query, text)) {
            return Ok(v.clone());
        }
        let v = enc.tokenize(text, if query { Kind::Query } else { Kind::Passage })?;
        memo.insert((query, text), v.clone());
        Ok(v)
    };
    let mut out = Vec::with_capacity(pairs.len());
    for p in pairs {
        let q = tok(&p.query, true)?;
        let pos = tok(&p.positive_text, false)?;
        let mut negs = Vec::new();
        for n in p.hard_negatives.iter().filter(|n| n.code != p.positive_code).take(hard_negatives) {
            negs.push((tok(&n.text, false)?, n.code.clone()));
        }
        out.push(BiExample { lang: p.lang.clone(), query: q, positive: pos, code: p.positive_code.clone(), negatives: negs });
    }
    Ok(out)
}

/// Hold out whole codes: pick codes at random until their pairs number at least `dev_pairs`;
/// returns (train, dev). No dev code is a positive in training.
pub fn split_dev(pairs: Vec<SynthPair>, dev_pairs: usize, seed: u64) -> (Vec<SynthPair>, Vec<SynthPair>) {
    if dev_pairs == 0 {
        return (pairs, vec![]);
    }
    let mut codes: Vec<&str> = pairs.iter().map(|p| p.positive_code.as_str()).collect();
    codes.sort();
    codes.dedup();
    let mut rng = StdRng::seed_from_u64(seed ^ 0xD5EE_D5EE);
    codes.shuffle(&mut rng);
    let mut per_code: HashMap<&str, usize> = HashMap::new();
    for p in &pairs {
        *per_code.entry(p.positive_code.as_str()).or_default() += 1;
    }
    let mut held = std::collections::HashSet::new();
    let mut n = 0;
    for c in codes {
        if n >= dev_pairs {
            break;
        }
        n += per_code[c];
        held.insert(c.to_string());
    }
    pairs.into_iter().partition(|p| !held.contains(&p.positive_code))
}

/// The bi-encoder objective.
#[derive(Debug, Clone)]
pub struct BiObjective {
    pub temperature: f64,
}

impl Default for BiObjective {
    fn default() -> Self {
        BiObjective { temperature: 0.05 }
    }
}

/// A batch's candidates: distinct sequences with their codes, and each query's target.
pub struct Candidates<'a> {
    pub seqs: Vec<&'a [u32]>,
    pub codes: Vec<&'a str>,
    pub targets: Vec<u32>,
}

pub fn candidates<'a>(batch: &[&'a BiExample]) -> Candidates<'a> {
    let mut seqs: Vec<&[u32]> = Vec::new();
    let mut codes = Vec::new();
    let mut at: HashMap<&[u32], usize> = HashMap::new();
    let mut add = |s: &'a [u32], c: &'a str, seqs: &mut Vec<&'a [u32]>, codes: &mut Vec<&'a str>| -> usize {
        *at.entry(s).or_insert_with(|| {
            seqs.push(s);
            codes.push(c);
            seqs.len() - 1
        })
    };
    let targets = batch.iter().map(|e| add(&e.positive, &e.code, &mut seqs, &mut codes) as u32).collect();
    for e in batch {
        for (s, c) in &e.negatives {
            add(s, c, &mut seqs, &mut codes);
        }
    }
    Candidates { seqs, codes, targets }
}

impl Objective for BiObjective {
    type Example = BiExample;

    fn loss(&self, enc: &mut TrainableEncoder, batch: &[&BiExample]) -> Result<Tensor> {
        let c = candidates(batch);
        let b = batch.len();
        let mut all: Vec<&[u32]> = batch.iter().map(|e| e.query.as_slice()).collect();
        all.extend(&c.seqs);
        let emb = enc.encode(&all, Pool::Mean)?;
        let q = emb.narrow(0, 0, b)?;
        let p = emb.narrow(0, b, c.seqs.len())?;
        let logits = (q.matmul(&p.t()?)? / self.temperature)?;
        let n = c.seqs.len();
        let mut mask = vec![0f32; b * n];
        for (i, e) in batch.iter().enumerate() {
            for j in 0..n {
                if j != c.targets[i] as usize && c.codes[j] == e.code {
                    mask[i * n + j] = -1e9;
                }
            }
        }
        let logits = (logits + Tensor::from_vec(mask, (b, n), enc.device())?)?;
        let targets = Tensor::from_vec(c.targets, b, enc.device())?;
        Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
    }

    /// Retrieval among all dev passages (positives and hard negatives, one entry per distinct
    /// text): MRR@10, R@1, R@10 overall and MRR@10 per query language.
    fn evaluate(&self, enc: &mut TrainableEncoder, dev: &[BiExample]) -> Result<BTreeMap<String, f64>> {
        if dev.is_empty() {
            return Err(format_err!("no dev examples"));
        }
        let refs: Vec<&BiExample> = dev.iter().collect();
        let c = candidates(&refs);
        let queries: Vec<&[u32]> = dev.iter().map(|e| e.query.as_slice()).collect();
        let qv = enc.embed(&queries, Pool::Mean)?;
        let pv = enc.embed(&c.seqs, Pool::Mean)?;
        let mut m = BTreeMap::new();
        let mut per_lang: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
        let (mut mrr, mut r1, mut r10) = (0.0, 0.0, 0.0);
        for (e, q) in dev.iter().zip(&qv) {
            let mut scored: Vec<(f32, usize)> = pv.iter().enumerate().map(|(j, p)| (crate::encode::dot(q, p), j)).collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            let rank = scored.iter().position(|&(_, j)| c.codes[j] == e.code).unwrap_or(usize::MAX);
            let rr = if rank < 10 { 1.0 / (rank + 1) as f64 } else { 0.0 };
            mrr += rr;
            r1 += (rank < 1) as u8 as f64;
            r10 += (rank < 10) as u8 as f64;
            let l = per_lang.entry(e.lang.as_str()).or_default();
            l.0 += rr;
            l.1 += 1;
        }
        let n = dev.len() as f64;
        m.insert("mrr@10".to_string(), mrr / n);
        m.insert("r@1".to_string(), r1 / n);
        m.insert("r@10".to_string(), r10 / n);
        for (l, (s, k)) in per_lang {
            m.insert(format!("mrr@10.{l}"), s / k as f64);
        }
        Ok(m)
    }

    fn sequences<'a>(&self, examples: &'a [BiExample]) -> Vec<&'a [u32]> {
        let mut out = Vec::with_capacity(examples.len() * 5);
        for e in examples {
            out.push(e.query.as_slice());
            out.push(e.positive.as_slice());
            out.extend(e.negatives.iter().map(|n| n.0.as_slice()));
        }
        out
    }
}

/// A fingerprint of tokenised examples (order-sensitive), for checkpoints.
pub fn fingerprint(examples: &[BiExample]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for e in examples {
        for s in std::iter::once(&e.query).chain(std::iter::once(&e.positive)).chain(e.negatives.iter().map(|n| &n.0)) {
            for id in s {
                h.update(id.to_le_bytes());
            }
            h.update([0xff, 0xff, 0xff, 0xff]);
        }
        h.update(e.code.as_bytes());
    }
    hex::encode(h.finalize())[..16].to_string()
}
