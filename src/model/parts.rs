//! Trained parts on disk and their assembly with the base model.
//!
//! `models/trained/<kind>/` (kind `bi`, later `cross`) holds exactly two files, replaced (not
//! added to) by re-training:
//! - `weights.safetensors` — only the trained tensors, f16, Hugging Face names: whole top layers
//!   (`encoder.layer.11.attention.self.query.weight`, …) or low-rank adapters
//!   (`….query.lora_a` (rank × in), `….query.lora_b` (out × rank)). Never the word table.
//! - `manifest.json` — [`Manifest`]: base model id, the new model id, what was trained, the
//!   weights' sha256, the training-data recipe, seed, hyper-parameters and metrics.
//!
//! [`assemble`] writes a complete model directory (base tensors with the trained ones replaced or
//! the adapters merged, `config.json` carrying the new `model_id`, the tokenizer), which every
//! command takes with `--model`; indexes built with the base model are refused by it.
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::io::sha256_hex;

use crate::model::{write_gguf, ModelDir, ModelInfo, RawDType, RawTensor, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::{format_err, Error, Result};

pub const PARTS_WEIGHTS: &str = "weights.safetensors";
pub const PARTS_MANIFEST: &str = "manifest.json";
pub const PARTS_FORMAT: u32 = 1;

/// What is trained above the frozen layers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Adapt {
    /// Every tensor of the top layers (except the key bias, see the module docs).
    Layers,
    /// Low-rank adapters `W + (alpha/rank)·B·A` on the six matrices of each top layer.
    Lora { rank: usize, alpha: f64 },
}

/// What is trained; recorded in checkpoints and the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainSpec {
    /// The lower this many transformer layers are frozen (the embeddings always are).
    pub freeze_layers: usize,
    pub adapt: Adapt,
    /// Token limit per text (specials included).
    pub max_len: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WeightsInfo {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub dtype: String,
    pub tensors: usize,
    pub parameters: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// `bi` (bi-encoder) or `cross` (reranker).
    pub kind: String,
    /// `model_id` of the base model directory these parts apply to (it embeds the base file's hash).
    pub base_model_id: String,
    pub base_model_name: String,
    /// Identity of base + these parts; recorded in indexes built with the assembled model.
    pub model_id: String,
    pub spec: TrainSpec,
    pub weights: WeightsInfo,
    pub seed: u64,
    /// How the training data was made (generator, options, exclusions, counts) and the
    /// hyper-parameters, as the trainer recorded them.
    pub training: serde_json::Value,
    pub metrics: serde_json::Value,
}

/// Save trained tensors (as f16) and their manifest into `dir`; returns the manifest. The directory
/// is replaced whole ([`crate::io::write_dir_atomic`]): a kill leaves the previous parts, never new
/// weights under an old manifest.
#[allow(clippy::too_many_arguments)]
pub fn save(
    dir: &Path,
    kind: &str,
    base: &ModelInfo,
    spec: &TrainSpec,
    trained: Vec<(String, Tensor)>,
    seed: u64,
    training: serde_json::Value,
    metrics: serde_json::Value,
) -> Result<Manifest> {
    let mut tensors = std::collections::HashMap::new();
    let mut parameters = 0;
    for (name, t) in trained {
        parameters += t.elem_count();
        tensors.insert(name, t.to_dtype(DType::F16)?.to_device(&Device::Cpu)?);
    }
    let n = tensors.len();
    let bytes = safetensors::serialize(&tensors, None).map_err(|e| format_err!("{}: {e}", dir.join(PARTS_WEIGHTS).display()))?;
    let sha = sha256_hex(&bytes);
    let m = Manifest {
        format: PARTS_FORMAT,
        kind: kind.to_string(),
        base_model_id: base.model_id.clone(),
        base_model_name: base.name.clone(),
        model_id: format!("{}+{kind}-{}", base.model_id, &sha[..12]),
        spec: spec.clone(),
        weights: WeightsInfo {
            file: PARTS_WEIGHTS.into(),
            sha256: sha,
            bytes: bytes.len() as u64,
            dtype: "f16".into(),
            tensors: n,
            parameters,
        },
        seed,
        training,
        metrics,
    };
    crate::io::write_dir_atomic(dir, |tmp| {
        crate::io::write_atomic(&tmp.join(PARTS_WEIGHTS), &bytes)?;
        crate::io::write_atomic(&tmp.join(PARTS_MANIFEST), &serde_json::to_vec_pretty(&m).expect("manifest serialises"))
    })?;
    Ok(m)
}

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(PARTS_MANIFEST);
    let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| format_err!("{}: {e}", p.display()))?;
    if m.format != PARTS_FORMAT {
        return Err(format_err!("{}: format {} is not {PARTS_FORMAT}", p.display(), m.format));
    }
    Ok(m)
}

/// Rewrite the metrics of an existing manifest (e.g. after evaluation); the weights are untouched.
pub fn update_metrics(dir: &Path, metrics: serde_json::Value) -> Result<Manifest> {
    let mut m = read_manifest(dir)?;
    m.metrics = metrics;
    crate::io::write_atomic(&dir.join(PARTS_MANIFEST), &serde_json::to_vec_pretty(&m).expect("manifest serialises"))?;
    Ok(m)
}

/// An f32 tensor in raw form.
pub fn f32_raw(name: String, shape: Vec<usize>, data: &[f32]) -> RawTensor {
    let mut bytes = Vec::with_capacity(data.len() * 4);
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    RawTensor { name, dtype: RawDType::F32, shape, bytes }
}

/// Apply the trained parts in `dir` to the base model's tensors (replacing trained tensors,
/// merging adapters into the weights, all in f32). Refuses parts made for another base model
/// and weights whose sha256 differs from the manifest.
pub fn apply(tensors: &mut [RawTensor], base: &ModelInfo, dir: &Path) -> Result<Manifest> {
    let m = read_manifest(dir)?;
    let mp = dir.join(PARTS_MANIFEST);
    if m.kind == "cross" {
        return Err(format_err!(
            "{}: these are a reranker's parts (kind cross): use them with `--rerank N`, they do not make an encoder",
            mp.display()
        ));
    }
    if m.base_model_id != base.model_id {
        return Err(format_err!("{}: these trained parts are for base model {}, not {}", mp.display(), m.base_model_id, base.model_id));
    }
    let wp = dir.join(&m.weights.file);
    let bytes = std::fs::read(&wp).map_err(|e| Error::io(&wp, e))?;
    let sha = sha256_hex(&bytes);
    if sha != m.weights.sha256 {
        return Err(format_err!(
            "{}: sha256 {sha} differs from the manifest's {} (damaged or replaced file)",
            wp.display(),
            m.weights.sha256
        ));
    }
    let trained = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| format_err!("{}: {e}", wp.display()))?;
    apply_tensors(tensors, &m, &trained, &wp)?;
    Ok(m)
}

/// The core of [`apply`] on tensors already loaded (and checked) from `origin`: replace trained
/// tensors, merge adapters. Every name must be an encoder tensor or an adapter of one (a
/// reranker's head is taken out by its caller, see `crate::retrieve::rerank`).
pub fn apply_tensors(
    tensors: &mut [RawTensor],
    m: &Manifest,
    trained: &std::collections::HashMap<String, Tensor>,
    origin: &Path,
) -> Result<()> {
    let wp = origin;
    let pos: std::collections::HashMap<String, usize> = tensors.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    let mut names: Vec<&String> = trained.keys().collect();
    names.sort();
    for name in names {
        let t = trained[name].to_dtype(DType::F32)?;
        if let Some(prefix) = name.strip_suffix(".lora_a") {
            let Adapt::Lora { rank, alpha } = m.spec.adapt else {
                return Err(format_err!("{}: tensor {name} is an adapter but the manifest says {:?}", wp.display(), m.spec.adapt));
            };
            let b_name = format!("{prefix}.lora_b");
            let b = trained.get(&b_name).ok_or_else(|| format_err!("{}: {b_name} is missing", wp.display()))?.to_dtype(DType::F32)?;
            let w_name = format!("{prefix}.weight");
            let &i = pos.get(&w_name).ok_or_else(|| format_err!("{}: {name} adapts {w_name}, which the base model lacks", wp.display()))?;
            let shape = tensors[i].shape.clone();
            let w = Tensor::from_vec(tensors[i].to_f32(), (shape[0], shape[1]), &Device::Cpu)?;
            let merged =
                (w + (b.matmul(&t)? * (alpha / rank as f64))?).map_err(|e| format_err!("{}: merging {name}: {e}", wp.display()))?;
            tensors[i] = f32_raw(w_name, shape, &merged.flatten_all()?.to_vec1::<f32>()?);
        } else if name.ends_with(".lora_b") {
            continue;
        } else {
            let &i = pos.get(name.as_str()).ok_or_else(|| format_err!("{}: tensor {name} is not in the base model", wp.display()))?;
            if tensors[i].shape != t.dims() {
                return Err(format_err!("{}: tensor {name} has shape {:?}, the base model {:?}", wp.display(), t.dims(), tensors[i].shape));
            }
            tensors[i] = f32_raw(name.clone(), t.dims().to_vec(), &t.flatten_all()?.to_vec1::<f32>()?);
        }
    }
    Ok(())
}

/// Write a model directory `out` = base + trained parts (atomically, via `<out>.partial`).
pub fn assemble(base_dir: &Path, trained_dir: &Path, out: &Path) -> Result<ModelInfo> {
    let md = ModelDir::open(base_dir)?;
    let mut tensors = md.raw_tensors()?;
    let m = apply(&mut tensors, &md.info, trained_dir)?;
    let info = ModelInfo {
        model_id: m.model_id.clone(),
        name: format!("{} + {} fine-tune", md.info.name, m.kind),
        source: format!("{} + trained parts {} (sha256 {})", md.info.source, trained_dir.display(), m.weights.sha256),
        config: md.info.config.clone(),
    };
    crate::io::write_dir_atomic(out, |tmp| {
        write_gguf(&tmp.join(WEIGHTS_FILE), &tensors, &[("medbridge.model_id", info.model_id.clone())])?;
        let tp = base_dir.join(TOKENIZER_FILE);
        std::fs::copy(&tp, tmp.join(TOKENIZER_FILE)).map_err(|e| Error::io(&tp, e))?;
        crate::io::write_atomic(&tmp.join(CONFIG_FILE), &serde_json::to_vec_pretty(&info).expect("config serialises"))?;
        crate::io::write_atomic(&tmp.join(format!("trained-{}.json", m.kind)), &serde_json::to_vec_pretty(&m).expect("manifest serialises"))
    })?;
    Ok(info)
}
