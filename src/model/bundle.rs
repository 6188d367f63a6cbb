//! The web model bundle: what a page downloads, verifies and caches to run the encoder locally.
//!
//! A bundle directory holds four files (five with a reranker, [`WebReranker`]):
//! - `weights.gguf`: the model tensors. Body linear weights as Q8_0 (re-quantised from the dequantised
//!   f32 of the Q4_0 import, fine-tuned layers from their f32; default) or Q4_0 (the import's blocks
//!   as they are, fine-tuned layers f32); the word-embedding table stays as imported (Q4_0);
//!   small tensors (biases, norms, position/type tables) f32.
//! - `tokenizer.json`, `config.json`: as in the model directory.
//! - `manifest.json`: [`Manifest`], written last. Its `version` is derived from the content hashes of
//!   the other files, so a different model (or body format) gets a different cache key in the browser.
//!
//! [`export_web`] (native) writes a bundle; [`load_bundle_bytes`] (native and wasm) turns the fetched
//! bytes back into what [`crate::encode::Encoder::from_parts`] takes.
use std::collections::HashMap;
#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::sha256_hex;
use crate::model::names::WORD_EMBEDDINGS;
use crate::model::{ModelInfo, RawDType, RawTensor};
use crate::text::tokenize::Tokenizer;
use crate::{format_err, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const BUNDLE_WEIGHTS: &str = "weights.gguf";
pub const BUNDLE_TOKENIZER: &str = "tokenizer.json";
pub const BUNDLE_CONFIG: &str = "config.json";
pub const BUNDLE_FORMAT: &str = "medbridge-web-bundle/1";
/// The reranker's own parts, when the bundle has one (see [`WebReranker`]).
pub const BUNDLE_RERANKER: &str = "reranker.gguf";

/// How the body's linear weights are stored in `weights.gguf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// Re-quantised to Q8_0 from the dequantised f32 (error far below Q4_0's own; one format for GPU kernels).
    #[default]
    Q8_0,
    /// The imported Q4_0 blocks unchanged; fine-tuned layers stay f32: their changes are smaller than
    /// a 4-bit step (quantised to Q4_0, the fine-tuned bi-encoder's CodiEsp MRR@10 fell from 55.6 to 21.3).
    Q4_0,
}

impl std::str::FromStr for BodyFormat {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "q8_0" | "q8" => Ok(BodyFormat::Q8_0),
            "q4_0" | "q4" => Ok(BodyFormat::Q4_0),
            _ => Err(format_err!("unknown body format {s:?}: use q8_0 or q4_0")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

impl FileEntry {
    /// Check length and sha256 of fetched/cached bytes against this entry.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        self.check_len(bytes.len())?;
        self.check_sha256(&sha256_hex(bytes))
    }

    /// The length half of [`FileEntry::verify`].
    pub fn check_len(&self, len: usize) -> Result<()> {
        if len as u64 != self.bytes {
            return Err(format_err!("{}: {} bytes, manifest says {}", self.name, len, self.bytes));
        }
        Ok(())
    }

    /// The hash half of [`FileEntry::verify`], for a sha256 computed elsewhere (the browser's SubtleCrypto).
    pub fn check_sha256(&self, got: &str) -> Result<()> {
        if got != self.sha256 {
            return Err(format_err!("{}: sha256 {got} does not match the manifest's {}", self.name, self.sha256));
        }
        Ok(())
    }
}

/// The reranker of a web bundle: only its own parts ship (`reranker.gguf`: the trained top layers
/// from `first_layer` on, in the body's format, and the head `head.weight`); it runs on the bundle
/// model's word table and lower layers, which are its base model's (checked at export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebReranker {
    /// [`BUNDLE_RERANKER`], listed in `files` too.
    pub file: String,
    /// The reranker's identity (base + its trained parts).
    pub model_id: String,
    /// The first of the layers `reranker.gguf` replaces.
    pub first_layer: usize,
    /// Token limit of a (query, passage) sequence: the training limit.
    pub max_len: usize,
    /// How its training data was made, with the data's attribution (the trained parts' recipe).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trained_on: String,
}

/// `manifest.json` of a web bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// 16 hex digits of sha256 over the files' names and hashes: the browser cache key.
    pub version: String,
    pub model_id: String,
    pub body: BodyFormat,
    pub files: Vec<FileEntry>,
    /// The cross-encoder, when the bundle has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reranker: Option<WebReranker>,
}

impl Manifest {
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| format_err!("invalid {MANIFEST_FILE}: {e}"))?;
        if m.format != BUNDLE_FORMAT {
            return Err(format_err!("{MANIFEST_FILE}: format {:?} is not {BUNDLE_FORMAT:?}", m.format));
        }
        for need in [BUNDLE_WEIGHTS, BUNDLE_TOKENIZER, BUNDLE_CONFIG] {
            if m.file(need).is_none() {
                return Err(format_err!("{MANIFEST_FILE}: no entry for {need}"));
            }
        }
        if let Some(r) = &m.reranker {
            if m.file(&r.file).is_none() {
                return Err(format_err!("{MANIFEST_FILE}: the reranker's file {} has no entry", r.file));
            }
        }
        if m.version != version_of(&m.files) {
            return Err(format_err!("{MANIFEST_FILE}: version {} does not match its file hashes", m.version));
        }
        Ok(m)
    }

    pub fn file(&self, name: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.name == name)
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The bundle version: sha256 over `name\tsha256\n` of every file (sorted by name), first 16 hex digits.
pub fn version_of(files: &[FileEntry]) -> String {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.name.as_bytes());
        h.update(b"\t");
        h.update(f.sha256.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())[..16].to_string()
}

/// Re-encode the imported tensors for the web: see the module docs.
pub fn web_tensors(tensors: Vec<RawTensor>, body: BodyFormat) -> Result<Vec<RawTensor>> {
    use crate::model::e5s1::{quantize_q8_0, QK};
    tensors
        .into_iter()
        .map(|t| {
            let is_matrix = t.shape.len() == 2;
            if t.name == WORD_EMBEDDINGS {
                return Ok(t); // Q4_0 as imported (or whatever it is): lossless.
            }
            match (t.dtype, body) {
                // Fine-tuned layers arrive as f32: store them like the rest of the body.
                (RawDType::F32, BodyFormat::Q8_0) if is_matrix && t.name.starts_with("encoder.layer.") && t.shape[1] % QK == 0 => {
                    let bytes = quantize_q8_0(&t.to_f32());
                    Ok(RawTensor { dtype: RawDType::Q8_0, bytes, ..t })
                }
                (RawDType::F32, _) => Ok(t),
                (RawDType::Q4_0, BodyFormat::Q4_0) | (RawDType::Q8_0, BodyFormat::Q8_0) => Ok(t),
                (RawDType::Q4_0, BodyFormat::Q8_0) if is_matrix && t.shape[1] % QK == 0 => {
                    let bytes = quantize_q8_0(&t.to_f32());
                    Ok(RawTensor { dtype: RawDType::Q8_0, bytes, ..t })
                }
                (d, b) => Err(format_err!("tensor {} ({d:?}, shape {:?}) cannot be stored as {b:?}", t.name, t.shape)),
            }
        })
        .collect()
}

/// Write the web bundle of the model in `model_dir` into `out_dir` (created if needed).
///
/// Every file is written under a temporary name and renamed into place; `manifest.json` comes last,
/// so a reader never sees a manifest naming files that are not complete.
#[cfg(not(target_arch = "wasm32"))]
pub fn export_web(model_dir: &Path, out_dir: &Path, body: BodyFormat) -> Result<Manifest> {
    use crate::model::{write_gguf, ModelDir};
    use crate::Error;

    let md = ModelDir::open(model_dir)?;
    let tokenizer = md.tokenizer()?;
    let tensors = web_tensors(md.raw_tensors()?, body)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;

    let body_name = match body {
        BodyFormat::Q8_0 => "q8_0",
        BodyFormat::Q4_0 => "q4_0",
    };
    // write_gguf writes `<name>.gguf.partial` and renames it: atomic on its own.
    let weights = out_dir.join(BUNDLE_WEIGHTS);
    write_gguf(&weights, &tensors, &[("medbridge.model_id", md.info.model_id.clone()), ("medbridge.web_body", body_name.to_string())])?;
    drop(tensors);
    let weight_bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
    let mut files = vec![FileEntry { name: BUNDLE_WEIGHTS.into(), bytes: weight_bytes.len() as u64, sha256: sha256_hex(&weight_bytes) }];
    drop(weight_bytes);

    files.push(write_entry(out_dir, BUNDLE_TOKENIZER, &tokenizer.to_json_bytes())?);
    let config = serde_json::to_vec_pretty(&md.info).expect("config serialises");
    files.push(write_entry(out_dir, BUNDLE_CONFIG, &config)?);

    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        version: version_of(&files),
        model_id: md.info.model_id.clone(),
        body,
        files,
        reranker: None,
    };
    write_entry(out_dir, MANIFEST_FILE, &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"))?;
    Ok(manifest)
}

/// A bundle's files by name.
pub type BundleBytes = HashMap<String, Vec<u8>>;

/// A bundle directory's manifest (parsed, and its bytes) and files, each checked against the
/// manifest (length and sha256): what a page loads, read natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_dir(dir: &Path) -> Result<(Manifest, Vec<u8>, BundleBytes)> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest_bytes = std::fs::read(&manifest_path).map_err(|e| crate::Error::io(&manifest_path, e))?;
    let manifest = Manifest::from_json_bytes(&manifest_bytes).map_err(|e| format_err!("{}: {e}", manifest_path.display()))?;
    let mut files = HashMap::new();
    for entry in &manifest.files {
        let path = dir.join(&entry.name);
        let bytes = std::fs::read(&path).map_err(|e| crate::Error::io(&path, e))?;
        entry.verify(&bytes).map_err(|e| format_err!("{}: {e} (re-export the bundle with `medbridge export-web`)", dir.display()))?;
        files.insert(entry.name.clone(), bytes);
    }
    Ok((manifest, manifest_bytes, files))
}

/// Write a bundle's `reranker.gguf` (see [`WebReranker`]) into `dir`.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_reranker(dir: &Path, entry: &WebReranker, tensors: &[RawTensor]) -> Result<FileEntry> {
    let path = dir.join(&entry.file);
    crate::model::write_gguf(
        &path,
        tensors,
        &[("medbridge.model_id", entry.model_id.clone()), ("medbridge.first_layer", entry.first_layer.to_string())],
    )?;
    let bytes = std::fs::read(&path).map_err(|e| crate::Error::io(&path, e))?;
    Ok(FileEntry { name: entry.file.clone(), bytes: bytes.len() as u64, sha256: sha256_hex(&bytes) })
}

/// The one format the GPU keeps the body's matrices in: the bundle's, except that a Q4_0 body with
/// f32 fine-tuned layers goes to Q8_0 (quantised to Q4_0 those layers lose their fine-tuning).
pub fn gpu_body_format(manifest: &Manifest, tensors: &[RawTensor]) -> BodyFormat {
    let f32_layers = tensors.iter().any(|t| t.dtype == RawDType::F32 && t.shape.len() == 2 && t.name.starts_with("encoder.layer."));
    if manifest.body == BodyFormat::Q4_0 && f32_layers {
        BodyFormat::Q8_0
    } else {
        manifest.body
    }
}

/// Read every tensor of a GGUF file held in memory.
pub fn read_gguf_bytes(bytes: &[u8]) -> Result<Vec<RawTensor>> {
    use candle_core::quantized::{gguf_file, GgmlDType};
    let mut cur = std::io::Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut cur).map_err(|e| format_err!("{BUNDLE_WEIGHTS}: not a readable GGUF file: {e}"))?;
    let mut names: Vec<_> = content.tensor_infos.keys().cloned().collect();
    names.sort();
    // candle trusts the shapes and offsets it read: check that each tensor lies inside the file first
    for name in &names {
        let info = &content.tensor_infos[name];
        let (block, size) = (info.ggml_dtype.block_size(), info.ggml_dtype.type_size());
        let len = info
            .shape
            .dims()
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            // (an empty tensor too: candle casts its unaligned empty buffer to blocks)
            .filter(|&n| n > 0 && n % block == 0)
            .and_then(|n| (n / block).checked_mul(size));
        let end = len.and_then(|len| content.tensor_data_offset.checked_add(info.offset)?.checked_add(len as u64));
        if end.is_none_or(|end| end > bytes.len() as u64) {
            return Err(format_err!(
                "{BUNDLE_WEIGHTS}: tensor {name} ({:?}, shape {:?}) is empty, does not fit its type's blocks or lies outside the file",
                info.ggml_dtype,
                info.shape.dims()
            ));
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let qt =
            content.tensor(&mut cur, &name, &candle_core::Device::Cpu).map_err(|e| format_err!("{BUNDLE_WEIGHTS}: tensor {name}: {e}"))?;
        let dtype = match qt.dtype() {
            GgmlDType::F32 => RawDType::F32,
            GgmlDType::Q4_0 => RawDType::Q4_0,
            GgmlDType::Q8_0 => RawDType::Q8_0,
            d => return Err(format_err!("{BUNDLE_WEIGHTS}: tensor {name} has unsupported type {d:?}")),
        };
        let shape = qt.shape().dims().to_vec();
        out.push(RawTensor { name, dtype, shape, bytes: qt.data()?.into_owned() });
    }
    Ok(out)
}

/// Turn a bundle's files (name → bytes) into model parts.
///
/// Checks that every file of the manifest is present with the right length; the sha256 check is the
/// caller's (the web loader verifies each file as it arrives, with [`FileEntry::verify`], so that a
/// damaged cached copy can be refetched) — call [`verify_files`] first when the bytes come from elsewhere.
pub fn load_bundle_bytes(manifest: &Manifest, files: &HashMap<String, Vec<u8>>) -> Result<(ModelInfo, Tokenizer, Vec<RawTensor>)> {
    load_bundle_bytes_marked(manifest, files, |_| {})
}

/// [`load_bundle_bytes`], calling `mark(stage)` as each stage ends ("tokenizer", "weights"): the page
/// times where a start goes.
pub fn load_bundle_bytes_marked(
    manifest: &Manifest,
    files: &HashMap<String, Vec<u8>>,
    mut mark: impl FnMut(&'static str),
) -> Result<(ModelInfo, Tokenizer, Vec<RawTensor>)> {
    for f in &manifest.files {
        let b = files.get(&f.name).ok_or_else(|| format_err!("bundle file {} is missing", f.name))?;
        if b.len() as u64 != f.bytes {
            return Err(format_err!("bundle file {}: {} bytes, manifest says {}", f.name, b.len(), f.bytes));
        }
    }
    let get = |n: &str| files.get(n).expect("checked above");
    let info: ModelInfo = serde_json::from_slice(get(BUNDLE_CONFIG)).map_err(|e| format_err!("{BUNDLE_CONFIG}: {e}"))?;
    if info.model_id != manifest.model_id {
        return Err(format_err!("{BUNDLE_CONFIG} is for model {}, the manifest for {}", info.model_id, manifest.model_id));
    }
    mark("config");
    let tokenizer = Tokenizer::from_json_bytes(get(BUNDLE_TOKENIZER))?;
    mark("tokenizer");
    let tensors = read_gguf_bytes(get(BUNDLE_WEIGHTS))?;
    mark("weights");
    Ok((info, tokenizer, tensors))
}

/// The reranker's parts from a bundle's files (`None` when the bundle has no reranker).
pub fn reranker_tensors(manifest: &Manifest, files: &HashMap<String, Vec<u8>>) -> Result<Option<(WebReranker, Vec<RawTensor>)>> {
    let Some(r) = &manifest.reranker else { return Ok(None) };
    let bytes = files.get(&r.file).ok_or_else(|| format_err!("bundle file {} is missing", r.file))?;
    let tensors = read_gguf_bytes(bytes).map_err(|e| format_err!("{}: {e}", r.file))?;
    Ok(Some((r.clone(), tensors)))
}

/// Verify length and sha256 of every manifest file.
pub fn verify_files(manifest: &Manifest, files: &HashMap<String, Vec<u8>>) -> Result<()> {
    for f in &manifest.files {
        f.verify(files.get(&f.name).ok_or_else(|| format_err!("bundle file {} is missing", f.name))?)?;
    }
    Ok(())
}

/// Write one file of a bundle directory atomically and describe it for the manifest.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_entry(dir: &Path, name: &str, bytes: &[u8]) -> Result<FileEntry> {
    crate::io::write_atomic(&dir.join(name), bytes)?;
    Ok(FileEntry { name: name.into(), bytes: bytes.len() as u64, sha256: sha256_hex(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_q4_body_with_f32_fine_tuned_layers_goes_to_the_gpu_as_q8() {
        let m = |body| Manifest {
            format: BUNDLE_FORMAT.into(),
            version: String::new(),
            model_id: "m".into(),
            body,
            files: vec![],
            reranker: None,
        };
        let t = |name: &str, dtype| RawTensor { name: name.into(), dtype, shape: vec![32, 32], bytes: vec![] };
        let imported =
            vec![t("encoder.layer.0.intermediate.dense.weight", RawDType::Q4_0), t("embeddings.position_embeddings.weight", RawDType::F32)];
        let mut tuned = imported.clone();
        tuned.push(t("encoder.layer.1.intermediate.dense.weight", RawDType::F32));
        assert_eq!(gpu_body_format(&m(BodyFormat::Q4_0), &imported), BodyFormat::Q4_0);
        assert_eq!(gpu_body_format(&m(BodyFormat::Q4_0), &tuned), BodyFormat::Q8_0);
        assert_eq!(gpu_body_format(&m(BodyFormat::Q8_0), &tuned), BodyFormat::Q8_0);
    }

    #[test]
    fn version_depends_on_hashes_not_order() {
        let a = FileEntry { name: "a".into(), bytes: 1, sha256: "00".into() };
        let b = FileEntry { name: "b".into(), bytes: 2, sha256: "11".into() };
        assert_eq!(version_of(&[a.clone(), b.clone()]), version_of(&[b.clone(), a.clone()]));
        let b2 = FileEntry { sha256: "12".into(), ..b.clone() };
        assert_ne!(version_of(&[a.clone(), b]), version_of(&[a, b2]));
    }

    #[test]
    fn q8_body_is_close_to_q4_source() {
        // One Q4_0 block row of 32 weights: scale 0.5, nibbles 0..16.
        let mut block = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        block.extend((0..16u8).map(|i| i | ((15 - i) << 4)));
        let t = RawTensor {
            name: "encoder.layer.0.attention.self.query.weight".into(),
            dtype: RawDType::Q4_0,
            shape: vec![1, 32],
            bytes: block,
        };
        let src = t.to_f32();
        let out = web_tensors(vec![t], BodyFormat::Q8_0).unwrap();
        assert_eq!(out[0].dtype, RawDType::Q8_0);
        for (x, y) in src.iter().zip(out[0].to_f32()) {
            assert!((x - y).abs() <= 4.0 / 127.0 / 2.0 + 1e-3, "{x} vs {y}");
        }
    }

    #[test]
    fn fine_tuned_f32_layer_matrices_become_q8_others_stay_f32() {
        let f32_tensor = |name: &str, shape: Vec<usize>| {
            let n: usize = shape.iter().product();
            let vals: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0).collect();
            RawTensor { name: name.into(), dtype: RawDType::F32, shape, bytes: vals.iter().flat_map(|v| v.to_le_bytes()).collect() }
        };
        let layer = f32_tensor("encoder.layer.11.output.dense.weight", vec![2, 64]);
        let src = layer.to_f32();
        let out = web_tensors(
            vec![
                layer,
                f32_tensor("encoder.layer.11.output.dense.bias", vec![64]),
                f32_tensor("embeddings.position_embeddings.weight", vec![2, 64]),
            ],
            BodyFormat::Q8_0,
        )
        .unwrap();
        assert_eq!(out[0].dtype, RawDType::Q8_0);
        for (x, y) in src.iter().zip(out[0].to_f32()) {
            assert!((x - y).abs() <= 0.5 / 127.0 + 1e-4, "{x} vs {y}");
        }
        assert_eq!(out[1].dtype, RawDType::F32, "biases stay f32");
        assert_eq!(out[2].dtype, RawDType::F32, "position embeddings stay f32 (gathered, not multiplied)");
    }
}
