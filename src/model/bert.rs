//! BERT encoder (multilingual-e5-small) on candle: one file, a `Config` and a `Model`.
//!
//! Differs from candle-transformers' BertModel where it matters to us: the 250k-row word table can
//! stay Q4_0 in memory (rows are dequantised as they are gathered), and layer norm / softmax have a
//! differentiable mode, because candle's fused kernels have no backward pass (training would
//! silently get no gradients).
use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::e5s1::{dequantize_q4_0_block, Q4_0_BLOCK_BYTES, QK};
use super::int8::Kernel;
use super::names;
use super::packed::{Int8Layer, Span};
use super::{RawDType, RawTensor};
use crate::{format_err, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
}

impl Config {
    /// A tiny configuration for unit tests with random weights.
    pub fn tiny(vocab_size: usize) -> Self {
        Config {
            vocab_size,
            hidden_size: 64,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 128,
            max_position_embeddings: 64,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
        }
    }
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// The word-embedding table: dense, or Q4_0 rows dequantised on lookup (saves ~380 MB).
#[derive(Clone)]
pub enum WordEmbeddings {
    Dense(Tensor),
    Q4_0 { bytes: Arc<Vec<u8>>, rows: usize, dim: usize },
}

impl WordEmbeddings {
    pub fn lookup(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        match self {
            WordEmbeddings::Dense(t) => {
                let idx = Tensor::from_slice(ids, ids.len(), t.device())?;
                Ok(t.index_select(&idx, 0)?)
            }
            WordEmbeddings::Q4_0 { bytes, rows, dim } => {
                let row_bytes = dim / QK * Q4_0_BLOCK_BYTES;
                let mut out = Vec::with_capacity(ids.len() * dim);
                for &id in ids {
                    let id = id as usize;
                    if id >= *rows {
                        return Err(format_err!("token id {id} is outside the {rows}-row embedding table"));
                    }
                    for block in bytes[id * row_bytes..(id + 1) * row_bytes].chunks_exact(Q4_0_BLOCK_BYTES) {
                        dequantize_q4_0_block(block, &mut out);
                    }
                }
                Ok(Tensor::from_vec(out, (ids.len(), *dim), device)?)
            }
        }
    }
}

/// f32 copies of every tensor except the word table, which is returned apart (kept as stored).
pub fn weights_from_raw(tensors: Vec<RawTensor>, device: &Device) -> Result<(HashMap<String, Tensor>, Option<RawTensor>)> {
    let mut map = HashMap::new();
    let mut word = None;
    for t in tensors {
        if t.name == names::WORD_EMBEDDINGS {
            word = Some(t);
            continue;
        }
        let v = Tensor::from_vec(t.to_f32(), t.shape.clone(), device)?;
        map.insert(t.name, v);
    }
    Ok((map, word))
}

/// The word table as the model holds it: Q4_0 rows stay quantised, anything else becomes f32.
pub fn word_embeddings(raw: RawTensor, device: &Device) -> Result<WordEmbeddings> {
    let (rows, dim) = (raw.shape[0], raw.shape[1]);
    Ok(match raw.dtype {
        RawDType::Q4_0 => WordEmbeddings::Q4_0 { bytes: Arc::new(raw.bytes), rows, dim },
        _ => WordEmbeddings::Dense(Tensor::from_vec(raw.to_f32(), (rows, dim), device)?),
    })
}

/// How a sequence's last hidden states become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// e5: mean over tokens, L2-normalised (the bi-encoder).
    Mean,
    /// The first token's hidden state, unnormalised (a cross-encoder's input to its head).
    Cls,
}

/// How to run the numerics: fused kernels for inference, differentiable ops for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Inference,
    Training,
}

#[derive(Clone)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(vb: VarBuilder, size: usize, eps: f64) -> Result<Self> {
        Ok(Self { weight: vb.get(size, "weight")?, bias: vb.get(size, "bias")?, eps: eps as f32 })
    }
    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        Ok(match mode {
            Mode::Inference => candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)?,
            Mode::Training => candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps)?,
        })
    }
}

fn linear(vb: VarBuilder, inp: usize, out: usize) -> Result<Linear> {
    Ok(Linear::new(vb.get((out, inp), "weight")?, Some(vb.get(out, "bias")?)))
}

/// The numbers the CPU forward pass computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Precision {
    /// candle's f32 products: the reference (training, parity tests).
    F32,
    /// Int8 weights × 12-bit activations, exact i32 sums (`int8`), over packed sequences (`packed`):
    /// 4.4× f32's throughput on one AVX-512 VNNI core (encode_bench), cosine ≥ 0.9998 to f32.
    #[default]
    Int8,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }
}

#[derive(Clone)]
pub struct Layer {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub attn_out: Linear,
    pub attn_norm: LayerNorm,
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub out_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
    /// Set by `Model::with_precision(Int8)`; used in inference mode only (training never sets it).
    int8: Option<Arc<Int8Layer>>,
}

impl Layer {
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let (h, ff) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Self {
            query: linear(vb.pp(names::QUERY), h, h)?,
            key: linear(vb.pp(names::KEY), h, h)?,
            value: linear(vb.pp(names::VALUE), h, h)?,
            attn_out: linear(vb.pp(names::ATTENTION_OUT), h, h)?,
            attn_norm: LayerNorm::new(vb.pp(names::ATTENTION_NORM), h, cfg.layer_norm_eps)?,
            ffn_in: linear(vb.pp(names::FFN_IN), h, ff)?,
            ffn_out: linear(vb.pp(names::FFN_OUT), ff, h)?,
            out_norm: LayerNorm::new(vb.pp(names::OUTPUT_NORM), h, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
            int8: None,
        })
    }

    /// `x`: (batch, seq, hidden); `mask_bias`: (batch, 1, 1, seq), 0 for tokens and -1e4·scale for padding.
    /// Always candle's f32 products (int8 runs whole models: `Model::forward`).
    pub fn forward(&self, x: &Tensor, mask_bias: &Tensor, mode: Mode) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let split = |y: Tensor| -> Result<Tensor> { Ok(y.reshape((b, t, self.heads, self.head_dim))?.transpose(1, 2)?.contiguous()?) };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (self.head_dim as f64).sqrt()))?.broadcast_add(mask_bias)?;
        let probs = match mode {
            Mode::Inference => candle_nn::ops::softmax_last_dim(&scores)?,
            Mode::Training => candle_nn::ops::softmax(&scores, D::Minus1)?,
        };
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let x = self.attn_norm.forward(&(self.attn_out.forward(&ctx)? + x)?, mode)?;
        let f = self.ffn_in.forward(&x)?.gelu_erf()?;
        self.out_norm.forward(&(self.ffn_out.forward(&f)? + x)?, mode)
    }
}

#[derive(Clone)]
pub struct Model {
    pub config: Config,
    pub word: WordEmbeddings,
    pub position: Tensor,
    pub token_type: Tensor,
    pub emb_norm: LayerNorm,
    pub layers: Vec<Layer>,
    pub device: Device,
    pub precision: Precision,
}

impl Model {
    /// Build from a VarBuilder holding every tensor except the word table (Hugging Face names).
    pub fn new(config: &Config, vb: VarBuilder, word: WordEmbeddings) -> Result<Self> {
        let h = config.hidden_size;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::new(config, vb.pp(format!("{}{i}", names::LAYER_PREFIX))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config: config.clone(),
            word,
            position: vb.get((config.max_position_embeddings, h), names::POSITION_EMBEDDINGS)?,
            token_type: vb.get((config.type_vocab_size, h), names::TOKEN_TYPE_EMBEDDINGS)?,
            emb_norm: LayerNorm::new(vb.pp(names::EMBEDDINGS_NORM), h, config.layer_norm_eps)?,
            layers,
            device: vb.device().clone(),
            precision: Precision::F32,
        })
    }

    /// This model computing in `precision` (int8 matrices are built from the f32 ones, which stay
    /// for the reference path; only a CPU device can run int8).
    pub fn with_precision(mut self, precision: Precision) -> Result<Self> {
        if precision == self.precision {
            return Ok(self);
        }
        match precision {
            Precision::F32 => self.layers.iter_mut().for_each(|l| l.int8 = None),
            Precision::Int8 => {
                if !self.device.is_cpu() {
                    return Err(format_err!("int8 precision runs on the CPU only (use f32 on {:?})", self.device));
                }
                let kernel = Kernel::detect();
                for l in &mut self.layers {
                    l.int8 = Some(Arc::new(Int8Layer::new(l, l.heads, l.head_dim, kernel)?));
                }
            }
        }
        self.precision = precision;
        Ok(self)
    }

    /// Build from a model's raw tensors (Hugging Face names), all f32 but the word table.
    pub fn from_raw(config: &Config, tensors: Vec<RawTensor>, device: &Device) -> Result<Self> {
        let (map, word) = weights_from_raw(tensors, device)?;
        let word = word.ok_or_else(|| format_err!("model has no {} tensor", names::WORD_EMBEDDINGS))?;
        Self::new(config, VarBuilder::from_tensors(map, DType::F32, device), word_embeddings(word, device)?)
    }

    /// This model with layers `first..` replaced by the ones in `tensors` (Hugging Face names, the
    /// layers' own indices), sharing everything below: a reranker's trained top layers on the
    /// bi-encoder's frozen lower ones cost only their own memory (candle tensors are shared, not copied).
    pub fn with_top_layers(&self, first: usize, tensors: Vec<RawTensor>) -> Result<Self> {
        let n = self.layers.len();
        if first >= n {
            return Err(format_err!("top layers from {first}: the model has {n} layers"));
        }
        let (map, word) = weights_from_raw(tensors, &self.device)?;
        if word.is_some() {
            return Err(format_err!("top layers: unexpected {} tensor", names::WORD_EMBEDDINGS));
        }
        let expected = (n - first) * (2 * names::LAYER_MATRICES.len() + 2 * names::LAYER_NORMS.len());
        if let Some(stray) = map.keys().find(|k| {
            let layer = k.strip_prefix(names::LAYER_PREFIX).and_then(|r| r.split('.').next()).and_then(|i| i.parse::<usize>().ok());
            !layer.is_some_and(|l| (first..n).contains(&l))
        }) {
            return Err(format_err!("top layers from {first}: tensor {stray} is not in layers {first}..{n}"));
        }
        if map.len() != expected {
            return Err(format_err!("top layers from {first}: {} tensors, expected {expected}", map.len()));
        }
        let vb = VarBuilder::from_tensors(map, DType::F32, &self.device);
        let mut out = self.clone();
        let kernel = Kernel::detect();
        for i in first..n {
            let mut layer = Layer::new(&self.config, vb.pp(format!("{}{i}", names::LAYER_PREFIX)))?;
            if self.precision == Precision::Int8 {
                layer.int8 = Some(Arc::new(Int8Layer::new(&layer, layer.heads, layer.head_dim, kernel)?));
            }
            out.layers[i] = layer;
        }
        Ok(out)
    }

    /// Embedding layer output for a padded batch of ids (batch, seq) → (batch, seq, hidden).
    pub fn embed_tokens(&self, ids: &[u32], batch: usize, seq: usize, mode: Mode) -> Result<Tensor> {
        if seq > self.config.max_position_embeddings {
            return Err(format_err!("sequence of {seq} tokens exceeds the model's {} positions", self.config.max_position_embeddings));
        }
        let h = self.config.hidden_size;
        let words = self.word.lookup(ids, &self.device)?.reshape((batch, seq, h))?;
        let pos = self.position.narrow(0, 0, seq)?.unsqueeze(0)?;
        let typ = self.token_type.narrow(0, 0, 1)?.unsqueeze(0)?;
        let x = words.broadcast_add(&pos)?.broadcast_add(&typ)?;
        self.emb_norm.forward(&x, mode)
    }

    /// Additive attention bias from a (batch, seq) 0/1 mask.
    pub fn mask_bias(mask: &Tensor) -> Result<Tensor> {
        let (b, t) = mask.dims2()?;
        Ok(((mask.ones_like()? - mask)? * -1e9)?.reshape((b, 1, 1, t))?)
    }

    /// Run layers `range` over hidden states.
    pub fn run_layers(&self, mut x: Tensor, mask_bias: &Tensor, range: std::ops::Range<usize>, mode: Mode) -> Result<Tensor> {
        for layer in &self.layers[range] {
            x = layer.forward(&x, mask_bias, mode)?;
        }
        Ok(x)
    }

    /// Last hidden states (batch, seq, hidden) for padded ids and a 0/1 f32 mask (in int8
    /// inference, padding must follow each sequence's tokens, and its rows are left unspecified).
    pub fn forward(&self, ids: &[u32], mask: &Tensor, mode: Mode) -> Result<Tensor> {
        let (b, t) = mask.dims2()?;
        let x = self.embed_tokens(ids, b, t, mode)?;
        if let (Some(int8), Mode::Inference) = (self.int8_layers(), mode) {
            let mut spans = Vec::with_capacity(b);
            for (i, row) in mask.to_dtype(DType::F32)?.to_vec2::<f32>()?.iter().enumerate() {
                let keys = row.iter().take_while(|&&m| m != 0.0).count();
                if row[keys..].iter().any(|&m| m != 0.0) {
                    return Err(format_err!("int8 forward pass: sequence {i}'s mask has padding before tokens"));
                }
                spans.push(Span { start: i * t, len: t, keys });
            }
            let mut rows = x.flatten_all()?.to_vec1::<f32>()?;
            int8.iter().for_each(|layer| layer.forward(&mut rows, &spans));
            return Ok(Tensor::from_vec(rows, (b, t, self.config.hidden_size), &self.device)?);
        }
        self.run_layers(x, &Self::mask_bias(mask)?, 0..self.layers.len(), mode)
    }

    /// Every layer's int8 form, if this model computes in int8.
    fn int8_layers(&self) -> Option<Vec<&Int8Layer>> {
        self.layers.iter().map(|l| l.int8.as_deref()).collect()
    }

    /// Int8 inference over packed sequences (no padding, see `packed`): the last hidden states of
    /// all their tokens, one sequence after another (`rows × hidden`), and where each one is.
    pub fn forward_packed(&self, seqs: &[&[u32]]) -> Result<(Vec<f32>, Vec<Span>)> {
        let int8 = self.int8_layers().ok_or_else(|| format_err!("packed forward pass: the model is not in int8 precision"))?;
        let limit = self.config.max_position_embeddings;
        if let Some(long) = seqs.iter().find(|s| s.len() > limit) {
            return Err(format_err!("sequence of {} tokens exceeds the model's {limit} positions", long.len()));
        }
        let spans = Span::packed(seqs.iter().map(|s| s.len()));
        let ids: Vec<u32> = seqs.iter().flat_map(|s| s.iter().copied()).collect();
        if ids.is_empty() {
            return Ok((vec![], spans));
        }
        let positions: Vec<u32> = seqs.iter().flat_map(|s| 0..s.len() as u32).collect();
        let positions = Tensor::from_slice(&positions, positions.len(), &self.device)?;
        let words = self.word.lookup(&ids, &self.device)?;
        let x = (words + self.position.index_select(&positions, 0)?)?.broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let mut rows = self.emb_norm.forward(&x, Mode::Inference)?.flatten_all()?.to_vec1::<f32>()?;
        int8.iter().for_each(|layer| layer.forward(&mut rows, &spans));
        Ok((rows, spans))
    }
}

/// Mean over unmasked tokens, then L2 normalisation: (batch, seq, hidden) → (batch, hidden).
pub fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = sum.broadcast_div(&count)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    Ok(mean.broadcast_div(&norm)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::tiny_tensors;

    fn pooled(model: &Model, ids: &[u32], batch: usize) -> Vec<Vec<f32>> {
        let seq = ids.len() / batch;
        let mask = Tensor::ones((batch, seq), DType::F32, &Device::Cpu).unwrap();
        let hidden = model.forward(ids, &mask, Mode::Inference).unwrap();
        mean_pool_normalize(&hidden, &mask).unwrap().to_vec2::<f32>().unwrap()
    }

    #[test]
    fn int8_precision_follows_f32_and_survives_top_layer_swaps() {
        let mut cfg = Config::tiny(50);
        cfg.num_hidden_layers = 3;
        let f32_model = Model::from_raw(&cfg, tiny_tensors(&cfg, 7), &Device::Cpu).unwrap();
        let int8 = f32_model.clone().with_precision(Precision::Int8).unwrap();
        assert_eq!(int8.precision, Precision::Int8);
        let ids: Vec<u32> = (0..24).map(|i| (i * 7 % 50) as u32).collect();
        let (a, b) = (pooled(&f32_model, &ids, 2), pooled(&int8, &ids, 2));
        for (x, y) in a.iter().zip(&b) {
            let cos: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
            assert!(cos > 0.999, "int8 vs f32 cosine {cos}");
            assert!(x != y, "int8 path did not run (bit-identical to f32)");
        }
        // Back to f32 is the reference again, bit for bit.
        assert_eq!(pooled(&int8.clone().with_precision(Precision::F32).unwrap(), &ids, 2), a);
        // New top layers (a reranker's) are quantised too.
        let top: Vec<RawTensor> =
            tiny_tensors(&cfg, 8).into_iter().filter(|t| t.name.starts_with(&format!("{}2.", names::LAYER_PREFIX))).collect();
        let swapped = int8.with_top_layers(2, top).unwrap();
        assert!(swapped.layers.iter().all(|l| l.int8.is_some()));
    }

    #[test]
    fn packed_sequences_match_the_padded_batch_and_f32() {
        let mut cfg = Config::tiny(50);
        cfg.num_hidden_layers = 2;
        let f32_model = Model::from_raw(&cfg, tiny_tensors(&cfg, 11), &Device::Cpu).unwrap();
        let int8 = f32_model.clone().with_precision(Precision::Int8).unwrap();
        let seqs: Vec<Vec<u32>> = [9usize, 3, 1, 6].iter().map(|&n| (0..n).map(|i| ((i * 13 + n) % 50) as u32).collect()).collect();
        let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
        let (rows, spans) = int8.forward_packed(&refs).unwrap();
        let h = cfg.hidden_size;
        assert_eq!(rows.len(), 19 * h);
        // The same sequences right-padded to 9 tokens, through the tensor API (int8 and f32).
        let (mut ids, mut mask) = (vec![0u32; 4 * 9], vec![0f32; 4 * 9]);
        for (i, s) in seqs.iter().enumerate() {
            ids[i * 9..i * 9 + s.len()].copy_from_slice(s);
            mask[i * 9..i * 9 + s.len()].iter_mut().for_each(|m| *m = 1.0);
        }
        let mask = Tensor::from_vec(mask, (4, 9), &Device::Cpu).unwrap();
        let padded = int8.forward(&ids, &mask, Mode::Inference).unwrap().to_vec3::<f32>().unwrap();
        let reference = f32_model.forward(&ids, &mask, Mode::Inference).unwrap().to_vec3::<f32>().unwrap();
        for (i, span) in spans.iter().enumerate() {
            assert_eq!(span.len, seqs[i].len());
            for t in 0..span.len {
                let row = &rows[(span.start + t) * h..(span.start + t + 1) * h];
                let worst = row.iter().zip(&padded[i][t]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-4, "sequence {i} token {t}: packed vs padded differ by {worst}");
                let r = &reference[i][t];
                let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
                let cos = dot(row, r) / (dot(row, row) * dot(r, r)).sqrt();
                assert!(cos > 0.999, "sequence {i} token {t}: int8 vs f32 cosine {cos}");
            }
        }
        // Padding before tokens cannot be packed: a clear error, not wrong numbers.
        let holes = Tensor::from_vec(vec![0f32, 1.0, 1.0], (1, 3), &Device::Cpu).unwrap();
        let err = int8.forward(&[1, 2, 3], &holes, Mode::Inference).unwrap_err().to_string();
        assert!(err.contains("padding before tokens"), "{err}");
        assert!(f32_model.forward_packed(&refs).is_err(), "packing needs int8 precision");
        let too_long = vec![1u32; cfg.max_position_embeddings + 1];
        assert!(int8.forward_packed(&[&too_long]).unwrap_err().to_string().contains("exceeds"));
    }
}
