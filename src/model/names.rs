//! The one table of tensor names: Hugging Face `BertModel` names, as stored in `model.gguf`, the
//! web bundle and the trained parts.
pub const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";
pub const POSITION_EMBEDDINGS: &str = "embeddings.position_embeddings.weight";
pub const TOKEN_TYPE_EMBEDDINGS: &str = "embeddings.token_type_embeddings.weight";
/// The embeddings' layer norm (`.weight`, `.bias`).
pub const EMBEDDINGS_NORM: &str = "embeddings.LayerNorm";
/// Every transformer layer's tensors start with `encoder.layer.{i}.`.
pub const LAYER_PREFIX: &str = "encoder.layer.";

/// The modules of one transformer layer, relative to its prefix (each has `.weight` and `.bias`).
pub const QUERY: &str = "attention.self.query";
pub const KEY: &str = "attention.self.key";
pub const VALUE: &str = "attention.self.value";
pub const ATTENTION_OUT: &str = "attention.output.dense";
pub const ATTENTION_NORM: &str = "attention.output.LayerNorm";
pub const FFN_IN: &str = "intermediate.dense";
pub const FFN_OUT: &str = "output.dense";
pub const OUTPUT_NORM: &str = "output.LayerNorm";

/// The six matrices of a layer (module, rows = out, cols = in as multiples of (hidden, ffn)):
/// what quantised bodies and low-rank adapters apply to.
pub const LAYER_MATRICES: [&str; 6] = [QUERY, KEY, VALUE, ATTENTION_OUT, FFN_IN, FFN_OUT];
/// The two layer norms of a layer.
pub const LAYER_NORMS: [&str; 2] = [ATTENTION_NORM, OUTPUT_NORM];

/// `encoder.layer.{layer}.{module}`.
pub fn layer_module(layer: usize, module: &str) -> String {
    format!("{LAYER_PREFIX}{layer}.{module}")
}

/// `encoder.layer.{layer}.{module}.{suffix}` (`suffix`: `weight`, `bias`, `lora_a`, …).
pub fn layer_tensor(layer: usize, module: &str, suffix: &str) -> String {
    format!("{LAYER_PREFIX}{layer}.{module}.{suffix}")
}

/// (rows, cols) of a layer matrix for a hidden size and a feed-forward size.
pub fn matrix_shape(module: &str, hidden: usize, ffn: usize) -> (usize, usize) {
    match module {
        FFN_IN => (ffn, hidden),
        FFN_OUT => (hidden, ffn),
        _ => (hidden, hidden),
    }
}
