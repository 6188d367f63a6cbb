//! A model directory in the Hugging Face layout, so other engines (sentence-transformers,
//! transformers, an ONNX export) run exactly our weights: `model.safetensors` (every tensor
//! dequantised to f32, `BertModel` names), `config.json` (`BertModel`), sentence-transformers' module
//! files (mean pooling over every token, L2 normalisation: what [`crate::encode`] computes) and our
//! tokenizer as `medbridge-tokenizer.json`. Hugging Face's `tokenizer.json` for it needs a
//! SentencePiece character map, which `scripts/peers/hf_tokenizer.py` builds with sentencepiece.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::json;

use crate::model::{ModelDir, TOKENIZER_FILE};
use crate::{format_err, Error, Result};

pub const WEIGHTS: &str = "model.safetensors";
/// Our tokenizer (pieces, scores, XLM-R's character table), from which the HF one is built.
pub const OUR_TOKENIZER: &str = "medbridge-tokenizer.json";

/// Write `model` into `out` (replaced whole); returns the number of tensors written.
pub fn export(model: &ModelDir, out: &Path) -> Result<usize> {
    let cfg = &model.info.config;
    let raw = model.raw_tensors()?;
    let tokenizer = model.tokenizer()?;
    let mut tensors = HashMap::with_capacity(raw.len());
    for t in &raw {
        tensors.insert(t.name.clone(), Tensor::from_vec(t.to_f32(), t.shape.clone(), &Device::Cpu)?);
    }
    let n = tensors.len();
    let config = json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "intermediate_size": cfg.intermediate_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": cfg.max_position_embeddings,
        "type_vocab_size": cfg.type_vocab_size,
        "layer_norm_eps": cfg.layer_norm_eps,
        "position_embedding_type": "absolute",
        "pad_token_id": tokenizer.pad_id(),
        "initializer_range": 0.02,
        "torch_dtype": "float32",
        "medbridge_model_id": model.info.model_id,
        "medbridge_source": model.info.source,
    });
    let modules = json!([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]);
    let pooling = json!({
        "word_embedding_dimension": cfg.hidden_size,
        "pooling_mode_cls_token": false,
        "pooling_mode_mean_tokens": true,
        "pooling_mode_max_tokens": false,
        "pooling_mode_mean_sqrt_len_tokens": false,
    });
    let st_config = json!({"max_seq_length": cfg.max_position_embeddings, "do_lower_case": false});
    let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).expect("JSON values serialise");
    crate::io::write_dir_atomic(out, |dir| {
        let weights = safetensors::serialize(&tensors, None).map_err(|e| format_err!("{}: {e}", out.join(WEIGHTS).display()))?;
        let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).map_err(|e| Error::io(out.join(name), e));
        write(WEIGHTS, &weights)?;
        write("config.json", &pretty(&config))?;
        write("modules.json", &pretty(&modules))?;
        write("sentence_bert_config.json", &pretty(&st_config))?;
        for sub in ["1_Pooling", "2_Normalize"] {
            std::fs::create_dir(dir.join(sub)).map_err(|e| Error::io(out.join(sub), e))?;
        }
        write("1_Pooling/config.json", &pretty(&pooling))?;
        let ours = model.path.join(TOKENIZER_FILE);
        std::fs::copy(&ours, dir.join(OUR_TOKENIZER)).map_err(|e| Error::io(&ours, e))?;
        Ok(())
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing;

    #[test]
    fn exports_every_tensor_dequantised_with_a_bert_config() {
        let tmp = tempfile::tempdir().unwrap();
        let (info, tokenizer, tensors) = testing::tiny_model(crate::text::tokenize::letters_tokenizer(), 2, 7);
        testing::write_model_dir(&tmp.path().join("m"), &info, &tokenizer, &tensors).unwrap();
        let model = ModelDir::open(&tmp.path().join("m")).unwrap();
        let out = tmp.path().join("hf");
        assert_eq!(export(&model, &out).unwrap(), tensors.len());
        let back = candle_core::safetensors::load(out.join(WEIGHTS), &Device::Cpu).unwrap();
        assert_eq!(back.len(), tensors.len());
        for t in &tensors {
            let b = &back[&t.name];
            assert_eq!(b.dims(), t.shape.as_slice(), "{}", t.name);
            assert_eq!(b.flatten_all().unwrap().to_vec1::<f32>().unwrap(), t.to_f32(), "{}", t.name);
        }
        let config: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["hidden_size"], info.config.hidden_size);
        assert_eq!(config["vocab_size"], info.config.vocab_size);
        assert_eq!(config["architectures"][0], "BertModel");
        let pooling: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("1_Pooling/config.json")).unwrap()).unwrap();
        assert_eq!(pooling["pooling_mode_mean_tokens"], true);
        assert!(out.join(OUR_TOKENIZER).is_file() && out.join("2_Normalize").is_dir());
    }
}
