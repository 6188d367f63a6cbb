//! Step time of bi-encoder fine-tuning on the real model: the stock configuration against ours,
//! in the same run, on the same synthetic pairs.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release --example train_bench            # 3 steps per configuration
//! BENCH_STEPS=5 BENCH_DATA=target/synth/pairs.jsonl cargo run --release --example train_bench
//! ```
//! Needs models/e5-small (`medbridge import-model`) and, without BENCH_DATA,
//! models/icd10/catalog.jsonl (`medbridge catalog`) to generate a few pairs.
//!
//! Configurations (32 pairs per step, AdamW, word table frozen everywhere):
//! - `stock`: all 12 layers trained, every text padded to 64 tokens, in-batch negatives only
//!   (the setting measured at 21 s/step in ../shared/notes/candle.md);
//! - `ours, cold`: lower 9 layers frozen and recomputed each step (inference kernels), top 3
//!   trained, 3 hard negatives per pair, texts ≤ 48 tokens in length-sorted chunks;
//! - `ours, warm`: the same with the frozen layers' output cached per distinct text (what every
//!   training step costs once the one-off frozen pass is done; that pass is timed separately);
//! - `LoRA r8, warm`: rank-8 adapters on the top 3 layers instead of the layers themselves.
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use medbridge::model::ModelDir;
use medbridge::synth::{self, OfflineOptions};
use medbridge::train::{self, bi, Adapt, Event, Exec, LoopOptions, TrainSpec, TrainableEncoder};

fn main() -> anyhow::Result<()> {
    let steps: usize = std::env::var("BENCH_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = medbridge::model::default_dir();
    let md = ModelDir::open(&dir)?;
    let raw = md.raw_tensors()?;
    let pairs = match std::env::var_os("BENCH_DATA") {
        Some(p) => synth::read_jsonl(&PathBuf::from(p))?,
        None => {
            let cat = medbridge::catalog::Catalog::load_jsonl(std::path::Path::new("models/icd10/catalog.jsonl"))?;
            let opts = OfflineOptions { pairs_per_lang: 60, ..Default::default() };
            synth::generate_offline(&cat, &opts)?.pairs
        }
    };
    let batch = 32;
    let n = (batch * (steps + 1)).min(pairs.len());
    // a fixed, shuffled slice so every configuration sees the same batches
    let (pairs, _) = bi::split_dev(pairs, 0, 1);
    let pairs: Vec<_> = pairs.into_iter().step_by(1).take(n).collect();
    println!(
        "{} pairs, {steps} timed steps of {batch} pairs per configuration, RAYON_NUM_THREADS={:?}",
        pairs.len(),
        std::env::var("RAYON_NUM_THREADS").ok()
    );

    struct Conf {
        name: &'static str,
        spec: TrainSpec,
        exec: Exec,
        hard_negatives: usize,
    }
    let confs = [
        Conf {
            name: "stock (12 layers, pad 64, in-batch)",
            spec: TrainSpec { freeze_layers: 0, adapt: Adapt::Layers, max_len: 64 },
            exec: Exec { cache: false, pad_to: 64, chunk: 1024 },
            hard_negatives: 0,
        },
        Conf {
            name: "ours, cold (freeze 9, +3 hard neg)",
            spec: TrainSpec { freeze_layers: 9, adapt: Adapt::Layers, max_len: 48 },
            exec: Exec { cache: false, pad_to: 0, chunk: 32 },
            hard_negatives: 3,
        },
        Conf {
            name: "ours, warm (cached frozen 9)",
            spec: TrainSpec { freeze_layers: 9, adapt: Adapt::Layers, max_len: 48 },
            exec: Exec { cache: true, pad_to: 0, chunk: 32 },
            hard_negatives: 3,
        },
        Conf {
            name: "LoRA r8 top 3, warm",
            spec: TrainSpec { freeze_layers: 9, adapt: Adapt::Lora { rank: 8, alpha: 16.0 }, max_len: 48 },
            exec: Exec { cache: true, pad_to: 0, chunk: 32 },
            hard_negatives: 3,
        },
    ];
    let only: Option<String> = std::env::var("BENCH_ONLY").ok();
    let mut rows = Vec::new();
    for (ci, c) in confs.iter().enumerate() {
        if let Some(o) = &only {
            if !o.split(',').any(|x| x.trim() == ci.to_string()) {
                continue;
            }
        }
        let mut enc =
            TrainableEncoder::from_raw(md.info.clone(), md.tokenizer()?, raw.clone(), c.spec.clone(), c.exec.clone(), 1, &Device::Cpu)?;
        let ex = bi::prepare(&enc, &pairs, c.hard_negatives)?;
        let texts: usize = ex[..batch * steps].iter().map(|e| 2 + e.negatives.len()).sum::<usize>() / steps;
        let tokens: usize = ex[..batch * steps]
            .iter()
            .map(|e| e.query.len() + e.positive.len() + e.negatives.iter().map(|n| n.0.len()).sum::<usize>())
            .sum::<usize>()
            / steps;
        let opts = LoopOptions {
            batch,
            steps,
            lr: 2e-5,
            warmup: 1,
            adamw: Default::default(),
            clip: 1.0,
            seed: 1,
            eval_every: 0,
            checkpoint_every: 0,
            checkpoint_dir: None,
            keep_checkpoints: 1,
            resume: false,
            stop_at: None,
            data_fingerprint: String::new(),
        };
        let mut secs = Vec::new();
        let t = Instant::now();
        let rep = train::train_loop(&mut enc, &bi::BiObjective::default(), &ex[..batch * steps], &[], &opts, |e| {
            if let Event::Step { step, secs: s, loss, .. } = e {
                println!("  {}: step {step} {s:.2} s (loss {loss:.3})", c.name);
                secs.push(*s);
            }
        })?;
        let mean = secs.iter().sum::<f64>() / secs.len() as f64;
        let distinct = enc.cached_sequences();
        let pre_per_text = if distinct > 0 { rep.precompute_secs / distinct as f64 } else { 0.0 };
        println!(
            "{}: {mean:.2} s/step, {:.1} pairs/s ({texts} texts, {tokens} real tokens per step; frozen pass {:.1} s for {distinct} texts = {:.1} ms/text; total {:.0} s)",
            c.name,
            batch as f64 / mean,
            rep.precompute_secs,
            pre_per_text * 1e3,
            t.elapsed().as_secs_f64()
        );
        rows.push((c.name, mean, texts, tokens, pre_per_text));
    }
    println!("\n| configuration | s/step (32 pairs) | pairs/s | texts/step | tokens/step | frozen pass ms/text |");
    println!("|---|---|---|---|---|---|");
    for (name, mean, texts, tokens, pre) in &rows {
        println!("| {name} | {mean:.2} | {:.1} | {texts} | {tokens} | {:.1} |", 32.0 / mean, pre * 1e3);
    }
    Ok(())
}
