//! `medbridge train …`: fine-tuning commands (thin shell over `medbridge::train`).
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use medbridge::model::parts;
use medbridge::synth;
use medbridge::train::record::{self, BiObjectiveRecord, CrossObjectiveRecord, DataRecord, MetricsRecord, ObjectiveRecord, TrainingRecord};
use medbridge::train::{self, bi, cross, Adapt, Event, Exec, LoopOptions, Objective, TrainReport, TrainSpec, TrainableEncoder};

#[derive(Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    cmd: TrainCommand,
}

#[derive(Subcommand)]
enum TrainCommand {
    /// Contrastive fine-tuning of the bi-encoder on synthetic pairs (`medbridge synth`): InfoNCE
    /// over in-batch and hard negatives; lower layers frozen (computed once per text), top layers
    /// or low-rank adapters trained; writes the trained parts + manifest to --out.
    Bi(BiArgs),
    /// Listwise fine-tuning of the cross-encoder reranker (`search/eval --rerank N`): query and
    /// passage in one sequence, a linear head on the first token, softmax cross-entropy of the
    /// positive against k negatives (the bi-encoder's top wrong codes from --mine-index, and the
    /// data's hierarchy negatives); writes the trained parts + manifest to --out.
    Cross(CrossArgs),
    /// Write a model directory = base model (--model) + trained parts; use it with --model.
    Assemble {
        /// Trained parts (weights.safetensors + manifest.json).
        #[arg(long, default_value = "models/trained/bi")]
        trained: PathBuf,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Training-loop options shared by `train bi` and `train cross` (same flags, same defaults).
#[derive(Args)]
struct LoopArgs {
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Checkpoints kept.
    #[arg(long, default_value_t = 2)]
    keep: usize,
    #[arg(long, default_value_t = 1.0)]
    epochs: f64,
    /// Total optimiser steps (overrides --epochs).
    #[arg(long)]
    steps: Option<usize>,
    /// Stop after this global step (checkpointed; continue later with --resume).
    #[arg(long)]
    stop_at: Option<usize>,
    /// Warm-up as a fraction of all steps (then linear decay to 0).
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Global gradient-norm clip (0 = none).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
    /// Train rank-R adapters on the unfrozen layers instead of the layers themselves (0 = whole layers).
    #[arg(long, default_value_t = 0)]
    lora_rank: usize,
    /// Adapter scale numerator (default 2 × rank).
    #[arg(long)]
    lora_alpha: Option<f64>,
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Log a line every N steps when stderr is not a terminal.
    #[arg(long, default_value_t = 10)]
    log_every: usize,
    /// Write the held-out dev pairs (the split this training uses) to FILE as JSONL and exit
    /// without training: to measure other models on the same held-out codes.
    #[arg(long, value_name = "FILE")]
    write_dev: Option<PathBuf>,
}

impl LoopArgs {
    /// `--write-dev`: writes the dev pairs and returns true (the caller stops there).
    fn wrote_dev(&self, dev_pairs: &[synth::SynthPair]) -> Result<bool> {
        let Some(path) = &self.write_dev else { return Ok(false) };
        synth::write_jsonl(path, dev_pairs)?;
        eprintln!("wrote {} held-out dev pairs to {}", dev_pairs.len(), path.display());
        Ok(true)
    }

    /// The loop's options for `examples` training examples in batches of `batch`: steps from
    /// --steps or --epochs, warm-up as a fraction of them.
    fn options(&self, examples: usize, batch: usize, lr: f64, checkpoints: &Path, resume: bool, data_fingerprint: String) -> LoopOptions {
        let steps_per_epoch = examples / batch.max(1);
        let steps = self.steps.unwrap_or(((self.epochs * steps_per_epoch as f64).ceil() as usize).max(1));
        LoopOptions {
            batch,
            steps,
            lr,
            warmup: (self.warmup * steps as f64).round() as usize,
            adamw: train::AdamWParams { weight_decay: self.weight_decay, ..Default::default() },
            clip: self.clip,
            seed: self.seed,
            eval_every: self.eval_every,
            checkpoint_every: self.checkpoint_every,
            checkpoint_dir: Some(checkpoints.to_path_buf()),
            keep_checkpoints: self.keep,
            resume,
            stop_at: self.stop_at,
            data_fingerprint,
        }
    }
}

#[derive(Args)]
struct BiArgs {
    /// Synthetic pairs JSONL (from `medbridge synth`).
    #[arg(long)]
    data: PathBuf,
    /// How the data was made (the `medbridge synth …` command line), recorded in the manifest.
    #[arg(long)]
    recipe: Option<String>,
    /// Where the trained parts go (replaced, never added to).
    #[arg(long, default_value = "models/trained/bi")]
    out: PathBuf,
    /// Checkpoint directory (step-NNNNNN/ + latest).
    #[arg(long, default_value = "target/train/bi")]
    checkpoints: PathBuf,
    /// Continue from the newest checkpoint (same data, seed and configuration).
    #[arg(long)]
    resume: bool,
    /// Pairs per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-5)]
    lr: f64,
    /// InfoNCE temperature.
    #[arg(long, default_value_t = 0.05)]
    temperature: f64,
    /// Hard negatives used per pair (of those in the data).
    #[arg(long, default_value_t = 3)]
    hard_negatives: usize,
    /// Token limit per text (mentions and code descriptions are short).
    #[arg(long, default_value_t = 48)]
    max_len: usize,
    /// Freeze the lower N transformer layers (the word table is always frozen).
    #[arg(long, default_value_t = 9)]
    freeze_layers: usize,
    /// Held-out pairs (whole codes) for dev evaluation.
    #[arg(long, default_value_t = 300)]
    dev_size: usize,
    /// Recompute the frozen layers every step instead of caching their output.
    #[arg(long)]
    no_cache: bool,
    /// Texts per forward chunk.
    #[arg(long, default_value_t = 32)]
    chunk: usize,
    /// Options shared by every trainer.
    #[command(flatten)]
    common: LoopArgs,
}

pub fn run(model_dir: &Path, args: TrainArgs) -> Result<()> {
    match args.cmd {
        TrainCommand::Bi(a) => train_bi(model_dir, a),
        TrainCommand::Cross(a) => train_cross(model_dir, a),
        TrainCommand::Assemble { trained, out } => {
            let info = parts::assemble(model_dir, &trained, &out)?;
            eprintln!("assembled {} into {} (model_id {})", trained.display(), out.display(), info.model_id);
            Ok(())
        }
    }
}

fn train_bi(model_dir: &Path, a: BiArgs) -> Result<()> {
    let pairs = synth::read_jsonl(&a.data)?;
    if pairs.is_empty() {
        bail!("{}: no pairs", a.data.display());
    }
    let data_sha = medbridge::io::sha256_hex(&std::fs::read(&a.data).with_context(|| a.data.display().to_string())?);
    let counts = synth::format_counts(&pairs);
    let (train_pairs, dev_pairs) = bi::split_dev(pairs, a.dev_size, a.common.seed);
    eprintln!("{}: {} training pairs, {} dev pairs (held-out codes)\n{counts}", a.data.display(), train_pairs.len(), dev_pairs.len());
    if a.common.wrote_dev(&dev_pairs)? {
        return Ok(());
    }

    let adapt = if a.common.lora_rank > 0 {
        Adapt::Lora { rank: a.common.lora_rank, alpha: a.common.lora_alpha.unwrap_or(2.0 * a.common.lora_rank as f64) }
    } else {
        Adapt::Layers
    };
    let spec = TrainSpec { freeze_layers: a.freeze_layers, adapt, max_len: a.max_len };
    let exec = Exec { cache: !a.no_cache, pad_to: 0, chunk: a.chunk };
    let device = train::default_device()?;
    let mut enc = TrainableEncoder::load(model_dir, None, spec.clone(), exec, a.common.seed, &device)?;
    let n_params: usize = enc.params().iter().map(|p| p.1.as_tensor().elem_count()).sum();
    eprintln!(
        "model {} on {device:?}: {} of {} layers frozen, training {n_params} parameters ({adapt:?})",
        enc.info.model_id, a.freeze_layers, enc.info.config.num_hidden_layers
    );

    let t = Instant::now();
    let train_ex = bi::prepare(&enc, &train_pairs, a.hard_negatives)?;
    let dev_ex = bi::prepare(&enc, &dev_pairs, a.hard_negatives)?;
    eprintln!("tokenised in {:.1} s", t.elapsed().as_secs_f64());
    let spe = train_ex.len() / a.batch.max(1);
    let opts = a.common.options(train_ex.len(), a.batch, a.lr, &a.checkpoints, a.resume, bi::fingerprint(&train_ex));
    let steps = opts.steps;
    eprintln!("{steps} steps of {} pairs ({spe} per epoch), warm-up {}, lr {}, temperature {}", a.batch, opts.warmup, a.lr, a.temperature);

    let start = Instant::now();
    let obj = bi::BiObjective { temperature: a.temperature };
    let report = drive("train bi", "pairs", 1.0, &mut enc, &obj, &train_ex, &dev_ex, &opts, a.common.log_every)?;
    eprintln!(
        "{} steps in {:.0} s (frozen-layer pass {:.0} s, {:.2} s/step), final loss {:.4}",
        report.steps - report.first_step,
        start.elapsed().as_secs_f64(),
        report.precompute_secs,
        report.mean_step_secs,
        report.final_loss
    );
    if report.steps < steps {
        eprintln!("stopped at step {} of {steps}: continue with --resume", report.steps);
        return Ok(());
    }
    let data = DataRecord {
        file: a.data.clone(),
        sha256: data_sha,
        recipe: a.recipe.clone(),
        train_pairs: train_ex.len(),
        train_pairs_available: None,
        max_pairs: None,
        dev_pairs: dev_ex.len(),
        dev_split: record::DEV_SPLIT,
        counts,
    };
    let objective = ObjectiveRecord::Bi(BiObjectiveRecord {
        loss: "InfoNCE, in-batch + hard negatives, same-code candidates masked",
        temperature: a.temperature,
        hard_negatives: a.hard_negatives,
    });
    let training = TrainingRecord::new(data, objective, &opts, train_ex.len(), &report, &device);
    let m = enc.save_parts(&a.out, "bi", a.common.seed, &training, &MetricsRecord::from(&report))?;
    eprintln!(
        "trained parts: {} ({} bytes, {} parameters), model_id {}\nassemble a model directory with: medbridge --model {} train assemble --trained {} --out models/e5-small-bi",
        a.out.display(),
        m.weights.bytes,
        m.weights.parameters,
        m.model_id,
        model_dir.display(),
        a.out.display()
    );
    Ok(())
}

/// Run [`train::train_loop`] with a progress bar (loss, its moving average, `unit`/s) on a
/// terminal, or log lines (every `log_every` steps, dev metrics, checkpoints) otherwise.
/// `per_example` scales examples/s into `unit`/s (e.g. a reranker list holds several pairs).
#[allow(clippy::too_many_arguments)]
fn drive<O: Objective>(
    prefix: &str,
    unit: &str,
    per_example: f64,
    enc: &mut TrainableEncoder,
    obj: &O,
    train_ex: &[O::Example],
    dev_ex: &[O::Example],
    opts: &LoopOptions,
    log_every: usize,
) -> Result<TrainReport> {
    let tty = std::io::stderr().is_terminal();
    let pb = if tty { ProgressBar::new(opts.steps as u64) } else { ProgressBar::hidden() };
    pb.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})").unwrap().progress_chars("=> "));
    pb.set_prefix(prefix.to_string());
    let start = Instant::now();
    let mut pre_last = 0;
    let mut ema: Option<f64> = None;
    let report = train::train_loop(enc, obj, train_ex, dev_ex, opts, |e| match e {
        Event::Precompute { done, total } => {
            if *done * 10 / (*total).max(1) > pre_last || done == total {
                pre_last = *done * 10 / (*total).max(1);
                eprintln!("frozen layers: {done}/{total} distinct texts ({:.0} s)", start.elapsed().as_secs_f64());
            }
        }
        Event::Resumed { step, from } => {
            pb.set_position(*step as u64);
            eprintln!("resumed at step {step} from {}", from.display());
        }
        Event::Step { step, total, epoch, loss, lr, grad_norm, secs, examples_per_sec } => {
            let l = ema.map_or(*loss, |m| 0.95 * m + 0.05 * loss);
            ema = Some(l);
            let rate = examples_per_sec * per_example;
            pb.set_position(*step as u64);
            pb.set_message(format!("loss {loss:.3} (avg {l:.3}) {rate:.1} {unit}/s"));
            if !tty && (step % log_every.max(1) == 0 || step == total) {
                eprintln!("step {step}/{total} epoch {epoch} loss {loss:.4} avg {l:.4} lr {lr:.2e} |g| {grad_norm:.3} {secs:.2} s/step {rate:.1} {unit}/s");
            }
        }
        Event::Dev { step, metrics } => {
            let s: Vec<String> = metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            pb.println(format!("dev @ step {step}: {}", s.join(", ")));
            if !tty {
                eprintln!("dev @ step {step}: {}", s.join(", "));
            }
        }
        Event::Checkpoint { step, path } => {
            if !tty {
                eprintln!("checkpoint @ step {step}: {}", path.display());
            }
        }
    })?;
    pb.finish_and_clear();
    Ok(report)
}

#[derive(Args)]
struct CrossArgs {
    /// Synthetic pairs JSONL (from `medbridge synth`).
    #[arg(long)]
    data: PathBuf,
    /// How the data was made (the `medbridge synth …` command line), recorded in the manifest.
    #[arg(long)]
    recipe: Option<String>,
    /// Where the trained parts go (replaced, never added to).
    #[arg(long, default_value = medbridge::retrieve::rerank::DEFAULT_DIR)]
    out: PathBuf,
    /// Checkpoint directory (step-NNNNNN/ + latest).
    #[arg(long, default_value = "target/train/cross")]
    checkpoints: PathBuf,
    /// Continue from the newest checkpoint (same data, mined negatives, seed and configuration).
    #[arg(long)]
    resume: bool,
    /// Lists (one query, its positive and its negatives) per step.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Negatives per list.
    #[arg(long, default_value_t = 7)]
    negatives: usize,
    /// Mine negatives with the bi-encoder from this dense index (`medbridge index`, built with
    /// --mine-model): its top-ranked wrong codes for each query.
    #[arg(long)]
    mine_index: Option<PathBuf>,
    /// The model the mining index was built with (default: --model).
    #[arg(long)]
    mine_model: Option<PathBuf>,
    /// Use only this many training pairs (a seeded sample; 0 = all) — for short runs.
    #[arg(long, default_value_t = 0)]
    max_pairs: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Token limit per (query, passage) sequence.
    #[arg(long, default_value_t = 96)]
    max_len: usize,
    /// Freeze the lower N transformer layers (the word table is always frozen).
    #[arg(long, default_value_t = 10)]
    freeze_layers: usize,
    /// Held-out pairs (whole codes) for dev evaluation.
    #[arg(long, default_value_t = 200)]
    dev_size: usize,
    /// Recompute the frozen layers every step instead of caching their output (saves memory:
    /// the cache holds every (query, passage) sequence, ~75 KB each at 96 tokens).
    #[arg(long)]
    no_cache: bool,
    /// Sequences per forward chunk.
    #[arg(long, default_value_t = 32)]
    chunk: usize,
    /// Options shared by every trainer.
    #[command(flatten)]
    common: LoopArgs,
}

fn train_cross(model_dir: &Path, a: CrossArgs) -> Result<()> {
    use rand::{seq::SliceRandom, SeedableRng};
    let pairs = synth::read_jsonl(&a.data)?;
    if pairs.is_empty() {
        bail!("{}: no pairs", a.data.display());
    }
    if a.negatives == 0 {
        bail!("--negatives must be at least 1");
    }
    let data_sha = medbridge::io::sha256_hex(&std::fs::read(&a.data).with_context(|| a.data.display().to_string())?);
    let (mut train_pairs, mut dev_pairs) = bi::split_dev(pairs, a.dev_size, a.common.seed);
    let total_train = train_pairs.len();
    if a.max_pairs > 0 && a.max_pairs < train_pairs.len() {
        train_pairs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(a.common.seed ^ 0x005A_3F1E));
        train_pairs.truncate(a.max_pairs);
    }
    dev_pairs.truncate(a.dev_size);
    let counts = synth::format_counts(&train_pairs);
    eprintln!(
        "{}: {} training pairs (of {total_train}), {} dev pairs (held-out codes)\n{counts}",
        a.data.display(),
        train_pairs.len(),
        dev_pairs.len()
    );
    if a.common.wrote_dev(&dev_pairs)? {
        return Ok(());
    }

    // negatives mined with the bi-encoder
    let mine = |ps: &[synth::SynthPair], what: &str| -> Result<Option<Vec<Vec<synth::HardNegative>>>> {
        let Some(ix) = &a.mine_index else { return Ok(None) };
        let mdir = a.mine_model.clone().unwrap_or_else(|| model_dir.to_path_buf());
        let enc = medbridge::encode::Encoder::load(&mdir)?;
        let index = medbridge::retrieve::index::Index::load(ix, Some(&enc.info.model_id))?;
        let t = Instant::now();
        let pb = super::bar(ps.len(), &format!("mining negatives ({what})"));
        let m = cross::mine_negatives(&enc, &index, ps, a.negatives, |d, _| pb.set_position(d as u64))?;
        pb.finish_and_clear();
        eprintln!(
            "mined {} negatives for {} {what} queries from {} in {:.0} s",
            m.iter().map(|v| v.len()).sum::<usize>(),
            ps.len(),
            ix.display(),
            t.elapsed().as_secs_f64()
        );
        Ok(Some(m))
    };
    let mined_train = mine(&train_pairs, "training")?;
    let mined_dev = if dev_pairs.is_empty() { None } else { mine(&dev_pairs, "dev")? };

    let adapt = if a.common.lora_rank > 0 {
        Adapt::Lora { rank: a.common.lora_rank, alpha: a.common.lora_alpha.unwrap_or(2.0 * a.common.lora_rank as f64) }
    } else {
        Adapt::Layers
    };
    let spec = TrainSpec { freeze_layers: a.freeze_layers, adapt, max_len: a.max_len };
    let exec = Exec { cache: !a.no_cache, pad_to: 0, chunk: a.chunk };
    let device = train::default_device()?;
    let mut enc = TrainableEncoder::load(model_dir, None, spec.clone(), exec, a.common.seed, &device)?;
    let obj = cross::add_head(&mut enc, a.common.seed)?;
    let n_params: usize = enc.params().iter().map(|p| p.1.as_tensor().elem_count()).sum();
    eprintln!(
        "model {} on {device:?}: {} of {} layers frozen, training {n_params} parameters ({adapt:?} + head)",
        enc.info.model_id, a.freeze_layers, enc.info.config.num_hidden_layers
    );

    let t = Instant::now();
    let train_ex = cross::prepare(&enc, &train_pairs, mined_train.as_deref(), a.negatives)?;
    let dev_ex = cross::prepare(&enc, &dev_pairs, mined_dev.as_deref(), a.negatives)?;
    let seqs: usize = train_ex.iter().chain(&dev_ex).map(|e| e.seqs.len()).sum();
    let mean_list = train_ex.iter().map(|e| e.seqs.len()).sum::<usize>() as f64 / train_ex.len().max(1) as f64;
    let short = train_ex.iter().filter(|e| e.seqs.len() < a.negatives + 1).count();
    eprintln!(
        "tokenised {seqs} (query, passage) sequences in {:.1} s; mean list {mean_list:.1}, {short} lists shorter than {}",
        t.elapsed().as_secs_f64(),
        a.negatives + 1
    );
    let spe = train_ex.len() / a.batch.max(1);
    let opts = a.common.options(train_ex.len(), a.batch, a.lr, &a.checkpoints, a.resume, cross::fingerprint(&train_ex));
    let steps = opts.steps;
    eprintln!("{steps} steps of {} lists ({spe} per epoch), warm-up {}, lr {}", a.batch, opts.warmup, a.lr);
    let start = Instant::now();
    let report = drive("train cross", "pairs", mean_list, &mut enc, &obj, &train_ex, &dev_ex, &opts, a.common.log_every)?;
    eprintln!(
        "{} steps in {:.0} s (frozen-layer pass {:.0} s, {:.2} s/step), final loss {:.4}",
        report.steps - report.first_step,
        start.elapsed().as_secs_f64(),
        report.precompute_secs,
        report.mean_step_secs,
        report.final_loss
    );
    if report.steps < steps {
        eprintln!("stopped at step {} of {steps}: continue with --resume", report.steps);
        return Ok(());
    }
    let data = DataRecord {
        file: a.data.clone(),
        sha256: data_sha,
        recipe: a.recipe.clone(),
        train_pairs: train_ex.len(),
        train_pairs_available: Some(total_train),
        max_pairs: Some(a.max_pairs),
        dev_pairs: dev_ex.len(),
        dev_split: record::DEV_SPLIT,
        counts,
    };
    let objective = ObjectiveRecord::Cross(CrossObjectiveRecord {
        loss: "listwise softmax cross-entropy, positive vs negatives",
        negatives: a.negatives,
        mean_list,
        mined_from: a.mine_index.clone(),
        mine_model: a.mine_model.clone(),
        input: "<s> query: Q </s></s> passage: P </s>",
        head: "linear on the first token, no bias",
    });
    let training = TrainingRecord::new(data, objective, &opts, train_ex.len(), &report, &device);
    let m = enc.save_parts(&a.out, "cross", a.common.seed, &training, &MetricsRecord::from(&report))?;
    eprintln!(
        "trained parts: {} ({} bytes, {} parameters), model_id {}\nuse it with: medbridge --model {} search|eval … --rerank 10",
        a.out.display(),
        m.weights.bytes,
        m.weights.parameters,
        m.model_id,
        model_dir.display(),
    );
    Ok(())
}
