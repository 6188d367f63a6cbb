//! Fine-tuning: the pieces every trainer shares, and the trainers.
//!
//! - [`encoder::TrainableEncoder`] — the base BERT with its lower `K` layers frozen (their output
//!   computed once per distinct text and cached in f16), the top layers trainable either whole
//!   or through low-rank adapters (LoRA), and the word table always frozen.
//! - [`AdamW`] (own implementation, so its moments can be checkpointed), [`lr_at`] (linear
//!   warm-up then linear decay), [`clip_grad_norm`], [`EpochOrder`] (deterministic shuffling that
//!   a resumed run replays), [`Checkpoint`] and the generic [`train_loop`] over an [`Objective`].
//! - [`bi`] — the contrastive bi-encoder objective (InfoNCE, in-batch + hard negatives).
//! - [`parts`] — the trained parts on disk (`models/trained/<kind>/`: f16 safetensors + manifest)
//!   and their assembly with the base model into a model directory with its own `model_id`.
//!
//! A cross-encoder trainer reuses all of it: its [`Objective`] scores (query, passage) sequences
//! with [`encoder::Pool::Cls`] and a head whose parameters it registers with
//! [`encoder::TrainableEncoder::add_param`].
pub mod bi;
pub mod cross;
pub mod encoder;
pub mod record;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{backprop::GradStore, Tensor, Var};
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
use serde::{Deserialize, Serialize};

pub use crate::encode::Pool;
pub use crate::model::parts::{Adapt, TrainSpec};
use crate::{format_err, Error, Result};
pub use encoder::{Exec, TrainableEncoder};

// ---------------------------------------------------------------------------------------------
// Optimiser

/// AdamW hyper-parameters (decoupled weight decay, applied to matrices only).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct AdamWParams {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    fn default() -> Self {
        AdamWParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

/// AdamW whose state (step, first and second moments) can be saved and restored exactly.
pub struct AdamW {
    pub params: AdamWParams,
    pub step: usize,
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl AdamW {
    pub fn new(vars: Vec<(String, Var)>, params: AdamWParams) -> Result<Self> {
        let m = vars.iter().map(|(_, v)| v.as_tensor().zeros_like()).collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self { params, step: 0, vars, m, v })
    }

    /// One update with learning rate `lr`. Parameters without a gradient are an error (the
    /// silent-no-gradient trap: a graph that does not reach a trainable tensor).
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        let p = self.params;
        self.step += 1;
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - p.beta1.powi(t), 1.0 - p.beta2.powi(t));
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let g = grads.get(var.as_tensor()).ok_or_else(|| format_err!("parameter {name} received no gradient"))?;
            let m = ((&self.m[i] * p.beta1)? + (g * (1.0 - p.beta1))?)?;
            let v = ((&self.v[i] * p.beta2)? + (g.sqr()? * (1.0 - p.beta2))?)?;
            let update = ((&m / bc1)? / ((&v / bc2)?.sqrt()? + p.eps)?)?;
            let mut theta = var.as_detached_tensor();
            if p.weight_decay > 0.0 && theta.rank() >= 2 {
                theta = (theta * (1.0 - lr * p.weight_decay))?;
            }
            var.set(&(theta - (update * lr)?)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Moments as named tensors (`m.<param>`, `v.<param>`).
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
        }
        out
    }

    pub fn load_state(&mut self, step: usize, tensors: &std::collections::HashMap<String, Tensor>, origin: &Path) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (which, slot) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let key = format!("{which}.{name}");
                let t = tensors.get(&key).ok_or_else(|| format_err!("{}: optimiser state {key} is missing", origin.display()))?;
                if t.dims() != var.as_tensor().dims() {
                    return Err(format_err!(
                        "{}: optimiser state {key} has shape {:?}, the parameter {:?}",
                        origin.display(),
                        t.dims(),
                        var.as_tensor().dims()
                    ));
                }
                *slot = t.to_device(var.as_tensor().device())?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Learning rate at `step` (0-based): linear warm-up over `warmup` steps to `peak`, then linear
/// decay to zero at `total`.
pub fn lr_at(step: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let rest = total.saturating_sub(warmup).max(1);
    let done = step.saturating_sub(warmup);
    peak * (1.0 - done as f64 / rest as f64).max(0.0)
}

/// Scale gradients so their global L2 norm is at most `max_norm`; returns the norm before.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[(String, Var)], max_norm: f64) -> Result<f64> {
    let mut sq = 0f64;
    for (_, v) in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    let norm = sq.sqrt();
    if max_norm > 0.0 && norm > max_norm {
        let s = max_norm / (norm + 1e-6);
        for (_, v) in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let scaled = (g * s)?;
                grads.insert(v.as_tensor(), scaled);
            }
        }
    }
    Ok(norm)
}

// ---------------------------------------------------------------------------------------------
// Data order

/// Deterministic shuffled order of `n` examples, reshuffled each epoch from `seed` and the epoch
/// number, so step `s` always sees the same batch (a resumed run replays the order exactly).
/// The last partial batch of an epoch is dropped.
#[derive(Debug, Clone)]
pub struct EpochOrder {
    pub n: usize,
    pub batch: usize,
    pub seed: u64,
    cached: Option<(usize, Vec<usize>)>,
}

impl EpochOrder {
    pub fn new(n: usize, batch: usize, seed: u64) -> Self {
        Self { n, batch: batch.max(1), seed, cached: None }
    }
    pub fn steps_per_epoch(&self) -> usize {
        self.n / self.batch
    }
    /// (epoch, example indices) of global step `step`.
    pub fn batch_at(&mut self, step: usize) -> (usize, Vec<usize>) {
        let spe = self.steps_per_epoch().max(1);
        let epoch = step / spe;
        if self.cached.as_ref().map(|c| c.0) != Some(epoch) {
            let mut perm: Vec<usize> = (0..self.n).collect();
            let mut rng = StdRng::seed_from_u64(self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            perm.shuffle(&mut rng);
            self.cached = Some((epoch, perm));
        }
        let perm = &self.cached.as_ref().unwrap().1;
        let start = (step % spe) * self.batch;
        (epoch, perm[start..(start + self.batch).min(self.n)].to_vec())
    }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

pub const CKPT_PARAMS: &str = "params.safetensors";
pub const CKPT_OPTIM: &str = "optim.safetensors";
pub const CKPT_STATE: &str = "state.json";

/// What a checkpoint records besides tensors; `resume` refuses a checkpoint whose `spec` or
/// `data_fingerprint` differ from the run's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointState {
    pub step: usize,
    pub total_steps: usize,
    pub spec: TrainSpec,
    pub data_fingerprint: String,
    pub seed: u64,
    /// (step, training loss) every step so far.
    #[serde(default)]
    pub losses: Vec<(usize, f64)>,
    /// (step, dev metrics).
    #[serde(default)]
    pub dev: Vec<(usize, BTreeMap<String, f64>)>,
}

/// Checkpoint directory layout: `<dir>/step-NNNNNN/{params,optim}.safetensors + state.json`,
/// plus `<dir>/latest` naming the newest. Older checkpoints beyond `keep` are deleted.
pub struct Checkpoint;

impl Checkpoint {
    pub fn save(dir: &Path, enc: &TrainableEncoder, opt: &AdamW, state: &CheckpointState, keep: usize) -> Result<PathBuf> {
        let name = format!("step-{:06}", state.step);
        let final_dir = dir.join(&name);
        crate::io::write_dir_atomic(&final_dir, |tmp| {
            let params: std::collections::HashMap<String, Tensor> =
                enc.params().iter().map(|(n, v)| (n.clone(), v.as_detached_tensor())).collect();
            candle_core::safetensors::save(&params, tmp.join(CKPT_PARAMS))?;
            let optim: std::collections::HashMap<String, Tensor> = opt.state_tensors().into_iter().collect();
            candle_core::safetensors::save(&optim, tmp.join(CKPT_OPTIM))?;
            crate::io::write_atomic(&tmp.join(CKPT_STATE), &serde_json::to_vec_pretty(state).expect("state serialises"))
        })?;
        crate::io::write_atomic(&dir.join("latest"), name.as_bytes())?;
        // prune: old checkpoints beyond `keep`, and what a killed run left half-written
        let names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
            .collect();
        for stale in names.iter().filter(|n| n.starts_with(".step-") && (n.ends_with(".partial") || n.ends_with(".old"))) {
            let _ = std::fs::remove_dir_all(dir.join(stale));
        }
        let mut all: Vec<String> = names.into_iter().filter(|n| n.starts_with("step-")).collect();
        all.sort();
        while all.len() > keep.max(1) {
            let old = all.remove(0);
            let _ = std::fs::remove_dir_all(dir.join(old));
        }
        Ok(final_dir)
    }

    /// The newest checkpoint directory under `dir`, if any.
    pub fn latest(dir: &Path) -> Result<Option<PathBuf>> {
        let latest = dir.join("latest");
        if !latest.is_file() {
            return Ok(None);
        }
        let name = std::fs::read_to_string(&latest).map_err(|e| Error::io(&latest, e))?;
        let p = dir.join(name.trim());
        if !p.join(CKPT_STATE).is_file() {
            return Err(format_err!("{}: names {}, which has no {CKPT_STATE}", latest.display(), p.display()));
        }
        Ok(Some(p))
    }

    /// Restore parameters and optimiser state; returns the recorded state.
    pub fn load(ckpt: &Path, enc: &TrainableEncoder, opt: &mut AdamW) -> Result<CheckpointState> {
        let sp = ckpt.join(CKPT_STATE);
        let bytes = std::fs::read(&sp).map_err(|e| Error::io(&sp, e))?;
        let state: CheckpointState = serde_json::from_slice(&bytes).map_err(|e| format_err!("{}: {e}", sp.display()))?;
        let pp = ckpt.join(CKPT_PARAMS);
        let params = candle_core::safetensors::load(&pp, enc.device())?;
        for (name, var) in enc.params() {
            let t = params.get(name).ok_or_else(|| format_err!("{}: parameter {name} is missing", pp.display()))?;
            if t.dims() != var.as_tensor().dims() {
                return Err(format_err!(
                    "{}: parameter {name} has shape {:?}, the model {:?}",
                    pp.display(),
                    t.dims(),
                    var.as_tensor().dims()
                ));
            }
            var.set(t)?;
        }
        let op = ckpt.join(CKPT_OPTIM);
        let optim = candle_core::safetensors::load(&op, enc.device())?;
        opt.load_state(state.step, &optim, &op)?;
        Ok(state)
    }
}

// ---------------------------------------------------------------------------------------------
// The loop

/// A training objective over examples of type `E` (the bi-encoder's pairs, the reranker's lists).
pub trait Objective {
    type Example;
    /// Scalar loss of one batch (with a graph reaching the encoder's parameters).
    fn loss(&self, enc: &mut TrainableEncoder, batch: &[&Self::Example]) -> Result<Tensor>;
    /// Metrics on the held-out examples (higher is better for the first key).
    fn evaluate(&self, enc: &mut TrainableEncoder, dev: &[Self::Example]) -> Result<BTreeMap<String, f64>>;
    /// Every token sequence the examples use, so the frozen part can be computed up front.
    fn sequences<'a>(&self, examples: &'a [Self::Example]) -> Vec<&'a [u32]>;
    /// Pairs (or lists) per example, for the pairs/s figure.
    fn examples_per_step(&self, batch: usize) -> usize {
        batch
    }
}

/// Options of [`train_loop`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopOptions {
    pub batch: usize,
    /// Total optimiser steps (e.g. epochs × steps per epoch).
    pub steps: usize,
    pub lr: f64,
    pub warmup: usize,
    pub adamw: AdamWParams,
    /// Global gradient-norm limit (0 = no clipping).
    pub clip: f64,
    pub seed: u64,
    /// Evaluate on the dev examples every this many steps (0 = only at start and end).
    pub eval_every: usize,
    /// Checkpoint every this many steps (0 = only at the end); needs `checkpoint_dir`.
    pub checkpoint_every: usize,
    pub checkpoint_dir: Option<PathBuf>,
    pub keep_checkpoints: usize,
    /// Continue from the newest checkpoint in `checkpoint_dir`.
    pub resume: bool,
    /// Stop (with a checkpoint) after this global step, leaving the schedule as for `steps`
    /// (train in several sittings).
    pub stop_at: Option<usize>,
    /// A fingerprint of the training data; a checkpoint of other data is refused.
    pub data_fingerprint: String,
}

/// What the loop reports to its caller (progress bar, log).
#[derive(Debug, Clone)]
pub enum Event {
    /// The frozen part was computed for `done` of `total` distinct sequences.
    Precompute {
        done: usize,
        total: usize,
    },
    Resumed {
        step: usize,
        from: PathBuf,
    },
    Step {
        step: usize,
        total: usize,
        epoch: usize,
        loss: f64,
        lr: f64,
        grad_norm: f64,
        secs: f64,
        examples_per_sec: f64,
    },
    Dev {
        step: usize,
        metrics: BTreeMap<String, f64>,
    },
    Checkpoint {
        step: usize,
        path: PathBuf,
    },
}

/// Result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub steps: usize,
    pub first_step: usize,
    pub mean_step_secs: f64,
    pub precompute_secs: f64,
    pub final_loss: f64,
    pub losses: Vec<(usize, f64)>,
    pub dev: Vec<(usize, BTreeMap<String, f64>)>,
}

/// Train `enc` on `examples` with `obj`; evaluates on `dev`, checkpoints and resumes.
pub fn train_loop<O: Objective>(
    enc: &mut TrainableEncoder,
    obj: &O,
    examples: &[O::Example],
    dev: &[O::Example],
    opts: &LoopOptions,
    mut on_event: impl FnMut(&Event),
) -> Result<TrainReport> {
    if examples.len() < opts.batch {
        return Err(format_err!("{} training examples are fewer than one batch of {}", examples.len(), opts.batch));
    }
    let mut opt = AdamW::new(enc.params().to_vec(), opts.adamw)?;
    let mut state = CheckpointState {
        step: 0,
        total_steps: opts.steps,
        spec: enc.spec.clone(),
        data_fingerprint: opts.data_fingerprint.clone(),
        seed: opts.seed,
        losses: vec![],
        dev: vec![],
    };
    if opts.resume {
        let dir = opts.checkpoint_dir.as_ref().ok_or_else(|| format_err!("--resume needs a checkpoint directory"))?;
        match Checkpoint::latest(dir)? {
            None => return Err(format_err!("--resume: no checkpoint in {} (no `latest` file)", dir.display())),
            Some(ck) => {
                let st = Checkpoint::load(&ck, enc, &mut opt)?;
                if st.spec != state.spec {
                    return Err(format_err!(
                        "{}: checkpoint was trained with {:?}, this run asks for {:?}",
                        ck.display(),
                        st.spec,
                        state.spec
                    ));
                }
                if st.data_fingerprint != state.data_fingerprint {
                    return Err(format_err!(
                        "{}: checkpoint was trained on other data (fingerprint {} ≠ {})",
                        ck.display(),
                        st.data_fingerprint,
                        state.data_fingerprint
                    ));
                }
                if st.seed != state.seed {
                    return Err(format_err!("{}: checkpoint seed {} ≠ --seed {}", ck.display(), st.seed, state.seed));
                }
                state.step = st.step;
                state.losses = st.losses;
                state.dev = st.dev;
                on_event(&Event::Resumed { step: st.step, from: ck });
            }
        }
    }
    // The frozen part, once per distinct sequence.
    let t0 = Instant::now();
    if enc.exec.cache {
        let mut seqs = obj.sequences(examples);
        seqs.extend(obj.sequences(dev));
        enc.precompute(&seqs, |done, total| on_event(&Event::Precompute { done, total }))?;
    }
    let precompute_secs = t0.elapsed().as_secs_f64();
    let first_step = state.step;
    let mut order = EpochOrder::new(examples.len(), opts.batch, opts.seed);
    if state.step == 0 && !dev.is_empty() {
        let m = obj.evaluate(enc, dev)?;
        on_event(&Event::Dev { step: 0, metrics: m.clone() });
        state.dev.push((0, m));
    }
    let mut step_secs = Vec::new();
    let vars = enc.params().to_vec();
    let end = opts.stop_at.map_or(opts.steps, |s| s.min(opts.steps));
    while state.step < end {
        let t = Instant::now();
        let (epoch, idx) = order.batch_at(state.step);
        let batch: Vec<&O::Example> = idx.iter().map(|&i| &examples[i]).collect();
        let loss = obj.loss(enc, &batch)?;
        let loss_v = loss.to_scalar::<f32>()? as f64;
        if !loss_v.is_finite() {
            return Err(format_err!("step {}: the loss is {loss_v}", state.step));
        }
        let mut grads = loss.backward()?;
        let norm = clip_grad_norm(&mut grads, &vars, opts.clip)?;
        let lr = lr_at(state.step, opts.steps, opts.warmup, opts.lr);
        opt.step(&grads, lr)?;
        drop(grads);
        state.step += 1;
        state.losses.push((state.step, loss_v));
        let secs = t.elapsed().as_secs_f64();
        step_secs.push(secs);
        on_event(&Event::Step {
            step: state.step,
            total: opts.steps,
            epoch,
            loss: loss_v,
            lr,
            grad_norm: norm,
            secs,
            examples_per_sec: obj.examples_per_step(batch.len()) as f64 / secs,
        });
        let last = state.step == end;
        if !dev.is_empty() && (last || (opts.eval_every > 0 && state.step.is_multiple_of(opts.eval_every))) {
            let m = obj.evaluate(enc, dev)?;
            on_event(&Event::Dev { step: state.step, metrics: m.clone() });
            state.dev.push((state.step, m));
        }
        if let Some(dir) = &opts.checkpoint_dir {
            if last || (opts.checkpoint_every > 0 && state.step.is_multiple_of(opts.checkpoint_every)) {
                let p = Checkpoint::save(dir, enc, &opt, &state, opts.keep_checkpoints)?;
                on_event(&Event::Checkpoint { step: state.step, path: p });
            }
        }
    }
    let mean = if step_secs.is_empty() { 0.0 } else { step_secs.iter().sum::<f64>() / step_secs.len() as f64 };
    Ok(TrainReport {
        steps: state.step,
        first_step,
        mean_step_secs: mean,
        precompute_secs,
        final_loss: state.losses.last().map(|l| l.1).unwrap_or(f64::NAN),
        losses: state.losses,
        dev: state.dev,
    })
}

/// The device training runs on: the first CUDA GPU when built with `--features cuda` and one is
/// present, otherwise the CPU.
pub fn default_device() -> Result<candle_core::Device> {
    #[cfg(feature = "cuda")]
    {
        return Ok(candle_core::Device::cuda_if_available(0)?);
    }
    #[allow(unreachable_code)]
    Ok(candle_core::Device::Cpu)
}
