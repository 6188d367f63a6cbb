//! The encoder as trainers see it: frozen lower layers (computed once per distinct text and
//! cached in f16), trainable top layers (whole, or low-rank adapters), frozen word table.
//!
//! Why this is fast: the frozen part runs in inference mode (fused kernels, no graph), once per
//! distinct token sequence over the whole run, length-sorted so there is little padding; each
//! step then runs only the top layers, on length-sorted chunks padded to their own longest text.
//!
//! Why the key bias of trainable layers stays frozen: softmax is invariant to adding the same
//! number to every score of a query, and `q·(k_j + b)` adds `q·b` to all of them, so the key bias
//! has an exactly zero gradient. Training it would only let weight decay erode it.
use std::collections::{HashMap, HashSet};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Linear, VarBuilder};
use half::f16;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::encode::batch::{self, length_sorted_batches, pad_tensor};
use crate::encode::{Kind, Pool};
use crate::model::bert::{mean_pool_normalize, Layer, Mode, Model};
use crate::model::bert::{weights_from_raw, word_embeddings};
use crate::model::names::{self, WORD_EMBEDDINGS};
use crate::model::parts::{Adapt, TrainSpec};
use crate::model::{ModelDir, ModelInfo, RawTensor};
use crate::text::tokenize::Tokenizer;
use crate::{format_err, Result};

/// How the computation runs (does not change the result beyond f16 rounding of the cache).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exec {
    /// Keep the frozen layers' output per distinct sequence (f16) instead of recomputing it.
    pub cache: bool,
    /// Pad every chunk to at least this many tokens (0: to the chunk's longest). 64 = the
    /// "stock" setting of the step-time benchmark.
    pub pad_to: usize,
    /// Texts per forward chunk (chunks are length-sorted).
    pub chunk: usize,
}

impl Default for Exec {
    fn default() -> Self {
        Exec { cache: true, pad_to: 0, chunk: 32 }
    }
}

/// The six matrices of a layer that adapters attach to.
pub const LORA_TARGETS: [&str; 6] = names::LAYER_MATRICES;

fn slot<'a>(layer: &'a mut Layer, target: &str) -> &'a mut Linear {
    match target {
        names::QUERY => &mut layer.query,
        names::KEY => &mut layer.key,
        names::VALUE => &mut layer.value,
        names::ATTENTION_OUT => &mut layer.attn_out,
        names::FFN_IN => &mut layer.ffn_in,
        names::FFN_OUT => &mut layer.ffn_out,
        _ => unreachable!("unknown adapter target {target}"),
    }
}

enum Top {
    /// Trainable tensors by short name (`attention.self.query.weight`, …) and the frozen rest.
    Full {
        vars: Vec<(String, Var)>,
        fixed: HashMap<String, Tensor>,
    },
    Lora {
        base: Layer,
        adapters: Vec<(&'static str, Var, Var)>,
        scale: f64,
    },
}

/// See the module docs.
pub struct TrainableEncoder {
    pub info: ModelInfo,
    pub tokenizer: Tokenizer,
    pub base: Model,
    pub spec: TrainSpec,
    pub exec: Exec,
    params: Vec<(String, Var)>,
    top: Vec<Top>,
    cache: HashMap<Vec<u32>, Vec<f16>>,
    /// Seconds spent in the frozen layers so far.
    pub frozen_secs: f64,
}

impl TrainableEncoder {
    /// Load a model directory (optionally with trained parts applied first, see [`crate::model::parts`]).
    pub fn load(
        dir: &std::path::Path,
        trained: Option<&std::path::Path>,
        spec: TrainSpec,
        exec: Exec,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let md = ModelDir::open(dir)?;
        let mut info = md.info.clone();
        let mut tensors = md.raw_tensors()?;
        if let Some(t) = trained {
            let m = crate::model::parts::apply(&mut tensors, &info, t)?;
            info.model_id = m.model_id;
        }
        Self::from_raw(info, md.tokenizer()?, tensors, spec, exec, seed, device)
    }

    pub fn from_raw(
        info: ModelInfo,
        tokenizer: Tokenizer,
        tensors: Vec<RawTensor>,
        spec: TrainSpec,
        exec: Exec,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let cfg = info.config.clone();
        let n = cfg.num_hidden_layers;
        if spec.freeze_layers >= n {
            return Err(format_err!("--freeze-layers {} leaves nothing to train: the model has {n} layers", spec.freeze_layers));
        }
        if spec.max_len < 3 || spec.max_len > cfg.max_position_embeddings {
            return Err(format_err!("max_len {} must be within 3..={}", spec.max_len, cfg.max_position_embeddings));
        }
        let (map, word) = weights_from_raw(tensors, device)?;
        let word = word.ok_or_else(|| format_err!("model has no {WORD_EMBEDDINGS} tensor"))?;
        let base = Model::new(&cfg, VarBuilder::from_tensors(map.clone(), DType::F32, device), word_embeddings(word, device)?)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Vec::new();
        let mut top = Vec::new();
        for i in spec.freeze_layers..n {
            let prefix = format!("{}{i}.", names::LAYER_PREFIX);
            match spec.adapt {
                Adapt::Layers => {
                    let mut names: Vec<&String> = map.keys().filter(|k| k.starts_with(&prefix)).collect();
                    names.sort();
                    let (mut vars, mut fixed) = (Vec::new(), HashMap::new());
                    for name in names {
                        let short = name[prefix.len()..].to_string();
                        let t = &map[name];
                        if short == format!("{}.bias", names::KEY) {
                            fixed.insert(short, t.clone());
                        } else {
                            let v = Var::from_tensor(t)?;
                            params.push((name.clone(), v.clone()));
                            vars.push((short, v));
                        }
                    }
                    top.push(Top::Full { vars, fixed });
                }
                Adapt::Lora { rank, alpha } => {
                    if rank == 0 {
                        return Err(format_err!("LoRA rank must be at least 1"));
                    }
                    let base_layer = base.layers[i].clone();
                    let mut adapters = Vec::new();
                    for target in LORA_TARGETS {
                        let w = map
                            .get(&format!("{prefix}{target}.weight"))
                            .ok_or_else(|| format_err!("model has no {prefix}{target}.weight"))?;
                        let (out, inp) = w.dims2()?;
                        let bound = 1.0 / (inp as f32).sqrt();
                        let a: Vec<f32> = (0..rank * inp).map(|_| rng.gen_range(-bound..bound)).collect();
                        let a = Var::from_tensor(&Tensor::from_vec(a, (rank, inp), device)?)?;
                        let b = Var::zeros((out, rank), DType::F32, device)?;
                        params.push((format!("{prefix}{target}.lora_a"), a.clone()));
                        params.push((format!("{prefix}{target}.lora_b"), b.clone()));
                        adapters.push((target, a, b));
                    }
                    top.push(Top::Lora { base: base_layer, adapters, scale: alpha / rank as f64 });
                }
            }
        }
        Ok(Self { info, tokenizer, base, spec, exec, params, top, cache: HashMap::new(), frozen_secs: 0.0 })
    }

    pub fn device(&self) -> &Device {
        &self.base.device
    }

    /// Trainable parameters, by name (Hugging Face names; adapters end in `.lora_a`/`.lora_b`).
    pub fn params(&self) -> &[(String, Var)] {
        &self.params
    }

    /// Register an extra trainable parameter (e.g. a reranker's scoring head).
    pub fn add_param(&mut self, name: impl Into<String>, var: Var) {
        self.params.push((name.into(), var));
    }

    /// Token ids of a text with e5's prefix for `kind`, cut to `spec.max_len`.
    pub fn tokenize(&self, text: &str, kind: Kind) -> Result<Vec<u32>> {
        Ok(crate::encode::tokenize(&self.tokenizer, text, kind, self.spec.max_len)?.ids)
    }

    pub fn cached_sequences(&self) -> usize {
        self.cache.len()
    }

    /// Bytes held by the frozen-output cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.iter().map(|(k, v)| k.len() * 4 + v.len() * 2).sum()
    }

    /// Output of the frozen part for a batch, padded to `seq` tokens: (b, seq, hidden).
    fn frozen_forward(&mut self, seqs: &[&[u32]], seq: usize) -> Result<(Tensor, Tensor)> {
        let t0 = std::time::Instant::now();
        let (ids, mask) = pad_tensor(seqs, seq, self.tokenizer.pad_id(), self.device())?;
        let x = self.base.embed_tokens(&ids, seqs.len(), seq, Mode::Inference)?;
        let x = self.base.run_layers(x, &Model::mask_bias(&mask)?, 0..self.spec.freeze_layers, Mode::Inference)?;
        self.frozen_secs += t0.elapsed().as_secs_f64();
        Ok((x, mask))
    }

    /// Compute and cache the frozen part of every sequence not cached yet (length-sorted
    /// batches); `progress(done, total)` over the missing ones.
    pub fn precompute(&mut self, seqs: &[&[u32]], mut progress: impl FnMut(usize, usize)) -> Result<()> {
        let mut seen = HashSet::new();
        let mut missing: Vec<&[u32]> = seqs.iter().copied().filter(|s| !self.cache.contains_key(*s) && seen.insert(*s)).collect();
        missing.sort_by_key(|s| s.len());
        let total = missing.len();
        let h = self.base.config.hidden_size;
        let mut done = 0;
        let mut start = 0;
        while start < missing.len() {
            // up to 64 texts and ~4096 padded tokens per batch
            let mut end = start + 1;
            while end < missing.len() && end - start < 64 && (end + 1 - start) * missing[end].len() <= 4096 {
                end += 1;
            }
            let batch = &missing[start..end];
            let seq = batch.iter().map(|s| s.len()).max().unwrap_or(1);
            let (x, _) = self.frozen_forward(batch, seq)?;
            let x = x.to_dtype(DType::F16)?.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f16>()?;
            for (j, s) in batch.iter().enumerate() {
                let row = &x[j * seq * h..(j * seq + s.len()) * h];
                self.cache.insert(s.to_vec(), row.to_vec());
            }
            done += batch.len();
            progress(done, total);
            start = end;
        }
        Ok(())
    }

    /// The top layers with their current parameter values (adapters merged into the weights);
    /// `detached`: plain tensors (no graph, for evaluation), else a differentiable expression.
    fn top_layers(&self, detached: bool) -> Result<Vec<Layer>> {
        let t = |v: &Var| if detached { v.as_detached_tensor() } else { v.as_tensor().clone() };
        self.top
            .iter()
            .map(|top| match top {
                Top::Full { vars, fixed } => {
                    let mut local = fixed.clone();
                    for (short, v) in vars {
                        local.insert(short.clone(), t(v));
                    }
                    Ok(Layer::new(&self.base.config, VarBuilder::from_tensors(local, DType::F32, self.device()))?)
                }
                Top::Lora { base, adapters, scale } => {
                    let mut l = base.clone();
                    for (target, a, b) in adapters {
                        let lin = slot(&mut l, target);
                        let w = (lin.weight() + (t(b).matmul(&t(a))? * *scale)?)?;
                        *lin = Linear::new(w, lin.bias().cloned());
                    }
                    Ok(l)
                }
            })
            .collect()
    }

    /// Encode token sequences through the whole model, with a graph to the trainable
    /// parameters: (n, hidden), rows in the order of `seqs`.
    pub fn encode(&mut self, seqs: &[&[u32]], pool: Pool) -> Result<Tensor> {
        self.run(seqs, pool, Mode::Training)
    }

    fn run(&mut self, seqs: &[&[u32]], pool: Pool, mode: Mode) -> Result<Tensor> {
        if seqs.is_empty() {
            return Err(format_err!("nothing to encode"));
        }
        let layers = self.top_layers(mode == Mode::Inference)?;
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let batches = length_sorted_batches(&lens, self.exec.chunk);
        let h = self.base.config.hidden_size;
        let mut outs = Vec::new();
        for chunk in &batches {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
            let seq = batch::longest(&batch).max(self.exec.pad_to);
            let (x, mask) = if self.exec.cache {
                self.precompute(&batch, |_, _| {})?;
                let mut data = vec![0f32; batch.len() * seq * h];
                for (j, s) in batch.iter().enumerate() {
                    let row = &self.cache[*s];
                    for (d, v) in data[j * seq * h..].iter_mut().zip(row) {
                        *d = v.to_f32();
                    }
                }
                let x = Tensor::from_vec(data, (batch.len(), seq, h), self.device())?;
                let (_, mask) = pad_tensor(&batch, seq, self.tokenizer.pad_id(), self.device())?;
                (x, mask)
            } else {
                self.frozen_forward(&batch, seq)?
            };
            let bias = Model::mask_bias(&mask)?;
            let mut y = x;
            for l in &layers {
                y = l.forward(&y, &bias, mode)?;
            }
            outs.push(match pool {
                Pool::Mean => mean_pool_normalize(&y, &mask)?,
                Pool::Cls => y.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?,
            });
        }
        let sorted = Tensor::cat(&outs, 0)?;
        let mut inverse = vec![0u32; seqs.len()];
        for (pos, &i) in batches.iter().flatten().enumerate() {
            inverse[i] = pos as u32;
        }
        let idx = Tensor::from_vec(inverse, seqs.len(), self.device())?;
        Ok(sorted.index_select(&idx, 0)?)
    }

    /// Like [`encode`](Self::encode) without a graph (inference kernels), as plain vectors.
    pub fn embed(&mut self, seqs: &[&[u32]], pool: Pool) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(256) {
            out.extend(self.run(chunk, pool, Mode::Inference)?.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// Exchange frozen-output caches with another encoder of the same base and `freeze_layers`
    /// (e.g. to score the base model and a fine-tuned one from one frozen pass).
    pub fn swap_cache(&mut self, other: &mut TrainableEncoder) -> Result<()> {
        if other.spec.freeze_layers != self.spec.freeze_layers || other.info.config != self.info.config {
            return Err(format_err!("frozen-output caches are only shared between encoders with the same base and frozen layers"));
        }
        std::mem::swap(&mut self.cache, &mut other.cache);
        Ok(())
    }

    /// Forget cached frozen outputs (free memory).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Save the trained tensors and their manifest into `dir` (see [`crate::model::parts`]).
    pub fn save_parts(
        &self,
        dir: &std::path::Path,
        kind: &str,
        seed: u64,
        training: &impl serde::Serialize,
        metrics: &impl serde::Serialize,
    ) -> Result<crate::model::parts::Manifest> {
        let training = serde_json::to_value(training).map_err(|e| crate::format_err!("training record: {e}"))?;
        let metrics = serde_json::to_value(metrics).map_err(|e| crate::format_err!("metrics record: {e}"))?;
        crate::model::parts::save(dir, kind, &self.info, &self.spec, self.trained_tensors(), seed, training, metrics)
    }

    /// The trained tensors as they are shipped: name → tensor (see [`crate::model::parts`]).
    pub fn trained_tensors(&self) -> Vec<(String, Tensor)> {
        self.params.iter().map(|(n, v)| (n.clone(), v.as_detached_tensor())).collect()
    }
}
