//! Trained parts (`models/trained/{bi,cross}`): `manifest.json` + `weights.safetensors`, applied to a tiny
//! base model as `train assemble` and the reranker loader do. Input: u16 manifest length, manifest, weights.
//! The manifest's sha256 is set to the weights' so that mutations reach the safetensors reader and the
//! tensor checks behind it (the sha256 check itself is one comparison).
#![no_main]
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use medbridge::model::parts::{self, Manifest};
use medbridge::model::testing::tiny_model;
use medbridge::model::ModelInfo;
use medbridge::model::RawTensor;
use medbridge::retrieve::rerank::Reranker;
use medbridge::text::tokenize::{letters_tokenizer, Tokenizer};

static BASE: LazyLock<(ModelInfo, Tokenizer, Vec<RawTensor>)> = LazyLock::new(|| tiny_model(letters_tokenizer(), 2, 1));

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let Some(manifest) = data.get(2..2 + n) else { return };
    let weights = &data[2 + n..];
    let Ok(mut m) = serde_json::from_slice::<Manifest>(manifest) else { return };
    m.weights.sha256 = medbridge::io::sha256_hex(weights);
    let (info, tok, tensors) = &*BASE;
    if m.kind == "cross" {
        let Ok(mbytes) = serde_json::to_vec(&m) else { return };
        if let Ok(r) = Reranker::from_bytes(info.clone(), tok.clone(), tensors.clone(), &mbytes, weights, "fuzz") {
            let _ = r.score_pairs(&[("dolor", "pain")]);
        }
    } else if let Ok(trained) = candle_core::safetensors::load_buffer(weights, &candle_core::Device::Cpu) {
        let mut t = tensors.clone();
        let _ = parts::apply_tensors(&mut t, &m, &trained, std::path::Path::new("fuzz/weights.safetensors"));
    }
});
