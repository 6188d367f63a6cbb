//! `medbridge train …`: fine-tuning commands (thin shell over `medbridge::train`).
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use medbridge::synth;
use medbridge::train::{self, bi, parts, Adapt, Event, Exec, LoopOptions, TrainSpec, TrainableEncoder};

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
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Checkpoints kept.
    #[arg(long, default_value_t = 2)]
    keep: usize,
    /// Continue from the newest checkpoint (same data, seed and configuration).
    #[arg(long)]
    resume: bool,
    #[arg(long, default_value_t = 1.0)]
    epochs: f64,
    /// Total optimiser steps (overrides --epochs).
    #[arg(long)]
    steps: Option<usize>,
    /// Stop after this global step (checkpointed; continue later with --resume).
    #[arg(long)]
    stop_at: Option<usize>,
    /// Pairs per step.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-5)]
    lr: f64,
    /// Warm-up as a fraction of all steps (then linear decay to 0).
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Global gradient-norm clip (0 = none).
    #[arg(long, default_value_t = 1.0)]
    clip: f64,
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
    /// Train rank-R adapters on the unfrozen layers instead of the layers themselves (0 = whole layers).
    #[arg(long, default_value_t = 0)]
    lora_rank: usize,
    /// Adapter scale numerator (default 2 × rank).
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// Held-out pairs (whole codes) for dev evaluation.
    #[arg(long, default_value_t = 300)]
    dev_size: usize,
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Recompute the frozen layers every step instead of caching their output.
    #[arg(long)]
    no_cache: bool,
    /// Texts per forward chunk.
    #[arg(long, default_value_t = 32)]
    chunk: usize,
    /// Log a line every N steps when stderr is not a terminal.
    #[arg(long, default_value_t = 10)]
    log_every: usize,
}

pub fn run(model_dir: &Path, args: TrainArgs) -> Result<()> {
    match args.cmd {
        TrainCommand::Bi(a) => train_bi(model_dir, a),
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
    let data_sha = train::sha256_hex(&std::fs::read(&a.data).with_context(|| a.data.display().to_string())?);
    let counts = synth::format_counts(&pairs);
    let (train_pairs, dev_pairs) = bi::split_dev(pairs, a.dev_size, a.seed);
    eprintln!("{}: {} training pairs, {} dev pairs (held-out codes)\n{counts}", a.data.display(), train_pairs.len(), dev_pairs.len());

    let adapt = if a.lora_rank > 0 { Adapt::Lora { rank: a.lora_rank, alpha: a.lora_alpha.unwrap_or(2.0 * a.lora_rank as f64) } } else { Adapt::Layers };
    let spec = TrainSpec { freeze_layers: a.freeze_layers, adapt, max_len: a.max_len };
    let exec = Exec { cache: !a.no_cache, pad_to: 0, chunk: a.chunk };
    let device = train::default_device()?;
    let mut enc = TrainableEncoder::load(model_dir, None, spec.clone(), exec, a.seed, &device)?;
    let n_params: usize = enc.params().iter().map(|p| p.1.as_tensor().elem_count()).sum();
    eprintln!("model {} on {device:?}: {} of {} layers frozen, training {n_params} parameters ({adapt:?})", enc.info.model_id, a.freeze_layers, enc.info.config.num_hidden_layers);

    let t = Instant::now();
    let train_ex = bi::prepare(&enc, &train_pairs, a.hard_negatives)?;
    let dev_ex = bi::prepare(&enc, &dev_pairs, a.hard_negatives)?;
    eprintln!("tokenised in {:.1} s", t.elapsed().as_secs_f64());
    let spe = train_ex.len() / a.batch.max(1);
    let steps = a.steps.unwrap_or(((a.epochs * spe as f64).ceil() as usize).max(1));
    let opts = LoopOptions {
        batch: a.batch,
        steps,
        lr: a.lr,
        warmup: (a.warmup * steps as f64).round() as usize,
        adamw: train::AdamWParams { weight_decay: a.weight_decay, ..Default::default() },
        clip: a.clip,
        seed: a.seed,
        eval_every: a.eval_every,
        checkpoint_every: a.checkpoint_every,
        checkpoint_dir: Some(a.checkpoints.clone()),
        keep_checkpoints: a.keep,
        resume: a.resume,
        stop_at: a.stop_at,
        data_fingerprint: bi::fingerprint(&train_ex),
    };
    eprintln!("{steps} steps of {} pairs ({spe} per epoch), warm-up {}, lr {}, temperature {}", a.batch, opts.warmup, a.lr, a.temperature);

    let tty = std::io::stderr().is_terminal();
    let pb = if tty { ProgressBar::new(steps as u64) } else { ProgressBar::hidden() };
    pb.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})").unwrap().progress_chars("=> "));
    pb.set_prefix("train bi");
    let start = Instant::now();
    let mut pre_last = 0;
    let mut ema: Option<f64> = None;
    let obj = bi::BiObjective { temperature: a.temperature };
    let report = train::train_loop(&mut enc, &obj, &train_ex, &dev_ex, &opts, |e| match e {
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
            pb.set_position(*step as u64);
            pb.set_message(format!("loss {loss:.3} (avg {l:.3}) {examples_per_sec:.1} pairs/s"));
            if !tty && (step % a.log_every.max(1) == 0 || step == total) {
                eprintln!("step {step}/{total} epoch {epoch} loss {loss:.4} avg {l:.4} lr {lr:.2e} |g| {grad_norm:.3} {secs:.2} s/step {examples_per_sec:.1} pairs/s");
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
    let training = serde_json::json!({
        "data": { "file": a.data, "sha256": data_sha, "recipe": a.recipe, "train_pairs": train_ex.len(), "dev_pairs": dev_ex.len(),
                  "dev_split": "whole codes held out, seeded", "counts": counts },
        "objective": { "loss": "InfoNCE, in-batch + hard negatives, same-code candidates masked", "temperature": a.temperature, "hard_negatives": a.hard_negatives },
        "optimiser": { "name": "AdamW", "lr": a.lr, "warmup_steps": opts.warmup, "schedule": "linear warm-up, linear decay to 0", "weight_decay": a.weight_decay, "clip": a.clip },
        "steps": steps, "batch": a.batch, "epochs": steps as f64 / spe.max(1) as f64,
        "mean_step_secs": report.mean_step_secs, "frozen_pass_secs": report.precompute_secs,
        "device": format!("{device:?}"),
    });
    let metrics = serde_json::json!({ "synthetic_dev": report.dev, "final_loss": report.final_loss });
    let m = parts::save(&a.out, "bi", &enc, a.seed, training, metrics)?;
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
