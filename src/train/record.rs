//! What a finished training run records in its trained parts' manifest (`training` and `metrics`,
//! see [`crate::model::parts::Manifest`]): typed here so `medbridge train bi|cross` and any other
//! trainer write the same fields. The manifest keeps them as JSON so that older manifests (other
//! fields) still load.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{LoopOptions, TrainReport};

/// Held-out dev split of every trainer: whole codes, so no dev code is seen in training.
pub const DEV_SPLIT: &str = "whole codes held out, seeded";

/// The training data: which file (and its hash), how it was made, how much of it was used.
#[derive(Debug, Clone, Serialize)]
pub struct DataRecord {
    pub file: PathBuf,
    pub sha256: String,
    pub recipe: Option<String>,
    pub train_pairs: usize,
    /// Pairs available before `max_pairs` cut them (the reranker's trainer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_pairs_available: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pairs: Option<usize>,
    pub dev_pairs: usize,
    pub dev_split: &'static str,
    /// The per-language, per-generator table of the pairs (as printed by the trainer).
    pub counts: String,
}

/// AdamW with linear warm-up and linear decay, as [`super::train_loop`] runs it.
#[derive(Debug, Clone, Serialize)]
pub struct OptimiserRecord {
    pub name: &'static str,
    pub lr: f64,
    pub warmup_steps: usize,
    pub schedule: &'static str,
    pub weight_decay: f64,
    pub clip: f64,
}

impl OptimiserRecord {
    pub fn adamw(opts: &LoopOptions) -> Self {
        OptimiserRecord {
            name: "AdamW",
            lr: opts.lr,
            warmup_steps: opts.warmup,
            schedule: "linear warm-up, linear decay to 0",
            weight_decay: opts.adamw.weight_decay,
            clip: opts.clip,
        }
    }
}

/// The bi-encoder's objective.
#[derive(Debug, Clone, Serialize)]
pub struct BiObjectiveRecord {
    pub loss: &'static str,
    pub temperature: f64,
    pub hard_negatives: usize,
}

/// The reranker's objective and input.
#[derive(Debug, Clone, Serialize)]
pub struct CrossObjectiveRecord {
    pub loss: &'static str,
    pub negatives: usize,
    pub mean_list: f64,
    pub mined_from: Option<PathBuf>,
    pub mine_model: Option<PathBuf>,
    pub input: &'static str,
    pub head: &'static str,
}

/// Either trainer's objective (serialised as the record itself).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ObjectiveRecord {
    Bi(BiObjectiveRecord),
    Cross(CrossObjectiveRecord),
}

/// The manifest's `training` field.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingRecord {
    pub data: DataRecord,
    pub objective: ObjectiveRecord,
    pub optimiser: OptimiserRecord,
    pub steps: usize,
    /// Pairs per step (bi-encoder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Lists per step (reranker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_lists: Option<usize>,
    pub epochs: f64,
    pub mean_step_secs: f64,
    pub frozen_pass_secs: f64,
    pub device: String,
}

impl TrainingRecord {
    /// The record of a run that trained `examples` examples in batches of `batch` for `opts.steps`.
    pub fn new(
        data: DataRecord,
        objective: ObjectiveRecord,
        opts: &LoopOptions,
        examples: usize,
        report: &TrainReport,
        device: &candle_core::Device,
    ) -> Self {
        let batch = opts.batch;
        let per_epoch = (examples / batch.max(1)).max(1);
        let (batch, batch_lists) = match objective {
            ObjectiveRecord::Bi(_) => (Some(batch), None),
            ObjectiveRecord::Cross(_) => (None, Some(batch)),
        };
        TrainingRecord {
            data,
            objective,
            optimiser: OptimiserRecord::adamw(opts),
            steps: opts.steps,
            batch,
            batch_lists,
            epochs: opts.steps as f64 / per_epoch as f64,
            mean_step_secs: report.mean_step_secs,
            frozen_pass_secs: report.precompute_secs,
            device: format!("{device:?}"),
        }
    }
}

/// The manifest's `metrics` field: the trainer's own dev split, step by step, and the last loss.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsRecord {
    pub synthetic_dev: Vec<(usize, BTreeMap<String, f64>)>,
    pub final_loss: f64,
}

impl From<&TrainReport> for MetricsRecord {
    fn from(r: &TrainReport) -> Self {
        MetricsRecord { synthetic_dev: r.dev.clone(), final_loss: r.final_loss }
    }
}
