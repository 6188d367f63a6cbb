//! MedBridge: private, multilingual clinical search.
//!
//! The data flows tokenize → encode → index → rerank → evaluate; modules follow it.
//! The CLI (`src/main.rs`) and the wasm API are thin shells over this library.

pub mod error;
pub mod model;
pub mod tokenize;
pub mod encode;
pub mod corpus;
pub mod index;
pub mod catalog;
pub mod bm25;
pub mod eval;
#[cfg(feature = "webgpu")] pub mod gpu;
pub mod search;
pub mod rerank;
pub mod bundle;
pub mod catalog_asset;
pub mod docs;
pub mod synth;
pub mod train;
pub mod report;
#[cfg(all(target_arch = "wasm32", feature = "wasm"))]
pub mod web;

pub use error::{Error, Result};

/// Write `bytes` to `path` (creating its directory) through a synced sibling temporary file and a
/// rename, so a crash or a full disk never leaves a half-written file where a good one was.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
