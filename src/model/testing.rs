//! The one tiny-model fixture of the tests: random weights in the real tensor names and shapes, over
//! a tiny vocabulary, small enough to train in a unit test.
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::bert::Config;
use super::names;
use super::{ModelInfo, RawDType, RawTensor};
use crate::text::tokenize::Tokenizer;

fn f32_tensor(name: String, shape: Vec<usize>, data: Vec<f32>) -> RawTensor {
    RawTensor { name, dtype: RawDType::F32, shape, bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect() }
}

/// Random f32 tensors of a BERT with `cfg`'s shape (matrices ~ U(±1/√in), norms ~ 1 ± 0.1).
pub fn tiny_tensors(cfg: &Config, seed: u64) -> Vec<RawTensor> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (h, ff) = (cfg.hidden_size, cfg.intermediate_size);
    let mut rnd = |n: usize, s: f32| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-s..s)).collect() };
    let mut t = vec![
        f32_tensor(names::WORD_EMBEDDINGS.into(), vec![cfg.vocab_size, h], rnd(cfg.vocab_size * h, 1.0)),
        f32_tensor(names::POSITION_EMBEDDINGS.into(), vec![cfg.max_position_embeddings, h], rnd(cfg.max_position_embeddings * h, 0.2)),
        f32_tensor(names::TOKEN_TYPE_EMBEDDINGS.into(), vec![cfg.type_vocab_size, h], rnd(cfg.type_vocab_size * h, 0.1)),
        f32_tensor(format!("{}.weight", names::EMBEDDINGS_NORM), vec![h], vec![1.0; h]),
        f32_tensor(format!("{}.bias", names::EMBEDDINGS_NORM), vec![h], vec![0.0; h]),
    ];
    for i in 0..cfg.num_hidden_layers {
        for m in names::LAYER_MATRICES {
            let (o, inp) = names::matrix_shape(m, h, ff);
            let s = 1.0 / (inp as f32).sqrt();
            t.push(f32_tensor(names::layer_tensor(i, m, "weight"), vec![o, inp], rnd(o * inp, s)));
            t.push(f32_tensor(names::layer_tensor(i, m, "bias"), vec![o], rnd(o, 0.05)));
        }
        for m in names::LAYER_NORMS {
            t.push(f32_tensor(names::layer_tensor(i, m, "weight"), vec![h], rnd(h, 0.1).iter().map(|v| 1.0 + v).collect()));
            t.push(f32_tensor(names::layer_tensor(i, m, "bias"), vec![h], rnd(h, 0.05)));
        }
    }
    t
}

/// A tiny model (`layers` layers, [`Config::tiny`]) over `tokenizer`'s vocabulary.
pub fn tiny_model(tokenizer: Tokenizer, layers: usize, seed: u64) -> (ModelInfo, Tokenizer, Vec<RawTensor>) {
    let mut cfg = Config::tiny(tokenizer.vocab_size());
    cfg.num_hidden_layers = layers;
    let tensors = tiny_tensors(&cfg, seed);
    let info = ModelInfo { model_id: format!("tiny-test@{seed}"), name: "tiny".into(), source: "random".into(), config: cfg };
    (info, tokenizer, tensors)
}

/// Write a model directory (`model.gguf`, `config.json`, `tokenizer.json`) for command-line tests.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_model_dir(dir: &std::path::Path, info: &ModelInfo, tokenizer: &Tokenizer, tensors: &[RawTensor]) -> crate::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    super::write_gguf(&dir.join(super::WEIGHTS_FILE), tensors, &[("medbridge.model_id", info.model_id.clone())])?;
    crate::io::write_atomic(&dir.join(super::CONFIG_FILE), &serde_json::to_vec_pretty(info).expect("config serialises"))?;
    crate::io::write_atomic(&dir.join(super::TOKENIZER_FILE), &tokenizer.to_json_bytes())
}
