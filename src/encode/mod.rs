//! Encoding text into L2-normalised vectors with the e5 conventions.
//!
//! Callers pass raw text and a [`Kind`]; the library adds e5's `query: ` / `passage: ` prefix,
//! tokenizes, batches by length (less padding), runs the BERT model, mean-pools and normalises.
pub mod bert;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::model::{ModelDir, ModelInfo, RawDType, RawTensor};
use crate::tokenize::{Tokenizer, Tokens};
use crate::{format_err, Result};
use bert::{mean_pool_normalize, Mode, Model, WordEmbeddings};

pub const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";
pub const DEFAULT_BATCH: usize = 32;

/// What a text is, which decides e5's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Query,
    Passage,
    /// No prefix: the caller has added one, or wants none.
    Raw,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Query => "query: ",
            Kind::Passage => "passage: ",
            Kind::Raw => "",
        }
    }
    pub fn apply(self, text: &str) -> String {
        format!("{}{}", self.prefix(), text)
    }
}

impl std::str::FromStr for Kind {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "query" => Ok(Kind::Query),
            "passage" => Ok(Kind::Passage),
            "raw" => Ok(Kind::Raw),
            _ => Err(format_err!("unknown kind {s:?}: use query, passage or raw")),
        }
    }
}

/// Vectors plus how many inputs were cut at the model's 512-token limit.
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub truncated: usize,
}

pub struct Encoder {
    pub info: ModelInfo,
    pub tokenizer: Tokenizer,
    pub model: Model,
    pub batch_size: usize,
    /// Token limit per text (specials included); at most 512.
    pub max_tokens: usize,
}

/// Build a VarBuilder over f32 copies of every tensor except the word table, which is returned apart.
pub fn weights_from_raw(tensors: Vec<RawTensor>, device: &Device) -> Result<(HashMap<String, Tensor>, Option<RawTensor>)> {
    let mut map = HashMap::new();
    let mut word = None;
    for t in tensors {
        if t.name == WORD_EMBEDDINGS {
            word = Some(t);
            continue;
        }
        let v = Tensor::from_vec(t.to_f32(), t.shape.clone(), device)?;
        map.insert(t.name, v);
    }
    Ok((map, word))
}

pub fn word_embeddings(raw: RawTensor, device: &Device) -> Result<WordEmbeddings> {
    let (rows, dim) = (raw.shape[0], raw.shape[1]);
    Ok(match raw.dtype {
        RawDType::Q4_0 => WordEmbeddings::Q4_0 { bytes: std::sync::Arc::new(raw.bytes), rows, dim },
        _ => WordEmbeddings::Dense(Tensor::from_vec(raw.to_f32(), (rows, dim), device)?),
    })
}

impl Encoder {
    pub fn load(dir: &Path) -> Result<Self> {
        let md = ModelDir::open(dir)?;
        let tokenizer = md.tokenizer()?;
        let tensors = md.raw_tensors()?;
        Self::from_parts(md.info, tokenizer, tensors, &Device::Cpu)
    }

    pub fn from_parts(info: ModelInfo, tokenizer: Tokenizer, tensors: Vec<RawTensor>, device: &Device) -> Result<Self> {
        let (map, word) = weights_from_raw(tensors, device)?;
        let word = word.ok_or_else(|| format_err!("model has no {WORD_EMBEDDINGS} tensor"))?;
        let vb = VarBuilder::from_tensors(map, DType::F32, device);
        let model = Model::new(&info.config, vb, word_embeddings(word, device)?)?;
        Ok(Self { info, tokenizer, model, batch_size: DEFAULT_BATCH, max_tokens: crate::tokenize::MAX_TOKENS })
    }

    pub fn dim(&self) -> usize {
        self.info.config.hidden_size
    }

    pub fn tokenize(&self, text: &str, kind: Kind) -> Result<Tokens> {
        self.tokenizer.encode_with_limit(&kind.apply(text), self.max_tokens)
    }

    /// One padded batch of token ids → normalised vectors.
    pub fn embed_ids(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(vec![]);
        }
        let seq = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
        let pad = self.tokenizer.pad_id();
        let mut ids = Vec::with_capacity(batch.len() * seq);
        let mut mask = Vec::with_capacity(batch.len() * seq);
        for b in batch {
            ids.extend_from_slice(b);
            mask.extend(std::iter::repeat_n(1f32, b.len()));
            ids.extend(std::iter::repeat_n(pad, seq - b.len()));
            mask.extend(std::iter::repeat_n(0f32, seq - b.len()));
        }
        let mask = Tensor::from_vec(mask, (batch.len(), seq), &self.model.device)?;
        let hidden = self.model.forward(&ids, &mask, Mode::Inference)?;
        Ok(mean_pool_normalize(&hidden, &mask)?.to_vec2::<f32>()?)
    }

    pub fn embed(&self, texts: &[&str], kind: Kind) -> Result<Vec<Vec<f32>>> {
        Ok(self.embed_with_progress(texts, kind, |_, _| {})?.vectors)
    }

    pub fn embed_one(&self, text: &str, kind: Kind) -> Result<Vec<f32>> {
        Ok(self.embed(&[text], kind)?.pop().expect("one vector per text"))
    }

    /// Embed many texts in length-sorted batches; `progress(done, total)` after each batch.
    pub fn embed_with_progress(&self, texts: &[&str], kind: Kind, mut progress: impl FnMut(usize, usize)) -> Result<Embeddings> {
        let toks = texts.iter().map(|t| self.tokenize(t, kind)).collect::<Result<Vec<_>>>()?;
        let truncated = toks.iter().filter(|t| t.truncated).count();
        let mut order: Vec<usize> = (0..toks.len()).collect();
        order.sort_by_key(|&i| toks[i].ids.len());
        let mut vectors = vec![Vec::new(); toks.len()];
        let mut done = 0;
        for chunk in order.chunks(self.batch_size.max(1)) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| toks[i].ids.as_slice()).collect();
            for (&i, v) in chunk.iter().zip(self.embed_ids(&batch)?) {
                vectors[i] = v;
            }
            done += chunk.len();
            progress(done, toks.len());
        }
        Ok(Embeddings { vectors, truncated })
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}
