//! Text → L2-normalised vectors with the e5 conventions, on one of two backends.
//!
//! The [`Encoder`] is the only place that adds e5's `query: ` / `passage: ` prefix, truncates,
//! sorts by length, pads and batches ([`batch`]); the reranker, the trainer, the CLI and the page
//! all go through it. Its [`Backend`] — candle on the CPU, or our WGSL kernels on WebGPU — is chosen
//! once, when the encoder is built; nothing above it branches on the device.
pub mod batch;

use std::path::Path;

use crate::model::bert::{mean_pool_normalize, Mode, Model};
pub use crate::model::bert::{Pool, Precision};
use crate::model::{ModelDir, ModelInfo, RawTensor};
use crate::text::tokenize::{Tokenizer, Tokens};
use crate::{format_err, Result};

pub const DEFAULT_BATCH: usize = 32;

/// What a text is, which decides e5's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Kind {
    Query,
    Passage,
    /// No prefix: the caller has added one, or wants none.
    Raw,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Query => "query",
            Kind::Passage => "passage",
            Kind::Raw => "raw",
        }
    }

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

/// Where the forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Device {
    /// candle on the CPU (the reference forward pass).
    #[default]
    Cpu,
    /// Our WGSL compute shaders through wgpu: the browser's WebGPU, or natively any Vulkan/Metal/DX12
    /// adapter (Mesa's lavapipe in tests). Needs the `webgpu` feature.
    #[serde(rename = "webgpu")]
    #[cfg_attr(feature = "cli", value(name = "webgpu"))]
    WebGpu,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::WebGpu => "webgpu",
        }
    }
}

/// The forward pass of one padded batch, on the device chosen when the encoder was built.
// One per encoder, built once: the variants' size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Cpu(Model),
    #[cfg(feature = "webgpu")]
    WebGpu(crate::gpu::GpuEncoder),
}

impl Backend {
    pub fn device(&self) -> Device {
        match self {
            Backend::Cpu(_) => Device::Cpu,
            #[cfg(feature = "webgpu")]
            Backend::WebGpu(_) => Device::WebGpu,
        }
    }

    /// One batch of token ids (padded here to its longest) → one pooled vector per sequence.
    pub async fn forward(&self, batch: &[&[u32]], pad_id: u32, pool: Pool) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(vec![]);
        }
        match self {
            Backend::Cpu(model) => {
                let (ids, mask) = batch::pad_tensor(batch, batch::longest(batch), pad_id, &model.device)?;
                let hidden = model.forward(&ids, &mask, Mode::Inference)?;
                Ok(match pool {
                    Pool::Mean => mean_pool_normalize(&hidden, &mask)?.to_vec2::<f32>()?,
                    Pool::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?.to_vec2::<f32>()?,
                })
            }
            #[cfg(feature = "webgpu")]
            Backend::WebGpu(gpu) => gpu.forward_ids(batch, pad_id, pool).await,
        }
    }
}

/// Vectors plus how many inputs were cut at the token limit.
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub truncated: usize,
}

pub struct Encoder {
    pub info: ModelInfo,
    pub tokenizer: Tokenizer,
    backend: Backend,
    pub batch_size: usize,
    /// Token limit per text (specials included); at most 512.
    pub max_tokens: usize,
}

/// Run a future to completion on this thread (native callers of the async encoder). The CPU
/// backend never waits; the WebGPU one waits for the device.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    #[cfg(feature = "webgpu")]
    {
        pollster::block_on(f)
    }
    #[cfg(not(feature = "webgpu"))]
    {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("without the webgpu feature every encoder future is ready at once"),
        }
    }
}

impl Encoder {
    /// The model directory `dir` on the CPU.
    pub fn load(dir: &Path) -> Result<Self> {
        let md = ModelDir::open(dir)?;
        Self::from_parts(md.info.clone(), md.tokenizer()?, md.raw_tensors()?, &candle_core::Device::Cpu)
    }

    /// The model directory `dir` on `device` (WebGPU: the first adapter wgpu finds, natively).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_on(dir: &Path, device: Device) -> Result<Self> {
        match device {
            Device::Cpu => Self::load(dir),
            Device::WebGpu => {
                #[cfg(feature = "webgpu")]
                {
                    let md = ModelDir::open(dir)?;
                    let tensors = md.raw_tensors()?;
                    // Q8_0: the page's default body format (re-quantised from the model's weights).
                    block_on(Self::on_webgpu(md.info.clone(), md.tokenizer()?, &tensors, crate::gpu::WeightFormat::Q8_0))?.ok_or_else(
                        || format_err!("--device webgpu: no WebGPU adapter found (natively: a Vulkan driver, e.g. mesa-vulkan-drivers)"),
                    )
                }
                #[cfg(not(feature = "webgpu"))]
                Err(format_err!("--device webgpu: this build has no WebGPU backend (build with --features webgpu)"))
            }
        }
    }

    /// A CPU encoder from a model's parts (`device`: candle's CPU, or CUDA for training builds).
    pub fn from_parts(info: ModelInfo, tokenizer: Tokenizer, tensors: Vec<RawTensor>, device: &candle_core::Device) -> Result<Self> {
        let model = Model::from_raw(&info.config, tensors, device)?;
        Ok(Self::with_backend(info, tokenizer, Backend::Cpu(model)))
    }

    /// A WebGPU encoder from a model's parts; `Ok(None)` when there is no adapter.
    #[cfg(feature = "webgpu")]
    pub async fn on_webgpu(
        info: ModelInfo,
        tokenizer: Tokenizer,
        tensors: &[RawTensor],
        format: crate::gpu::WeightFormat,
    ) -> Result<Option<Self>> {
        let gpu = crate::gpu::GpuEncoder::new_default(&info.config, tensors, format).await?;
        Ok(gpu.map(|g| Self::with_backend(info, tokenizer, Backend::WebGpu(g))))
    }

    /// This encoder with layers `first..` replaced by `tensors` (e.g. a reranker's trained top
    /// layers), identified as `info`, on the same device and sharing the lower layers, the word table
    /// and (on the GPU) the pipelines.
    pub async fn with_top_layers(&self, info: ModelInfo, first: usize, tensors: Vec<RawTensor>) -> Result<Self> {
        let backend = match &self.backend {
            Backend::Cpu(model) => Backend::Cpu(model.with_top_layers(first, tensors)?),
            #[cfg(feature = "webgpu")]
            Backend::WebGpu(gpu) => Backend::WebGpu(gpu.with_top_layers(first, &tensors).await?),
        };
        Ok(Self { info, tokenizer: self.tokenizer.clone(), backend, batch_size: self.batch_size, max_tokens: self.max_tokens })
    }

    fn with_backend(info: ModelInfo, tokenizer: Tokenizer, backend: Backend) -> Self {
        Self { info, tokenizer, backend, batch_size: DEFAULT_BATCH, max_tokens: crate::text::tokenize::MAX_TOKENS }
    }

    /// This encoder computing in `precision` on the CPU. A WebGPU encoder is returned unchanged:
    /// its kernels have their own weight formats and f32 activations.
    pub fn with_precision(self, precision: Precision) -> Result<Self> {
        let backend = match self.backend {
            Backend::Cpu(model) => Backend::Cpu(model.with_precision(precision)?),
            #[cfg(feature = "webgpu")]
            gpu => gpu,
        };
        Ok(Self { backend, ..self })
    }

    /// The CPU path's precision (`None` on WebGPU).
    pub fn precision(&self) -> Option<Precision> {
        match &self.backend {
            Backend::Cpu(model) => Some(model.precision),
            #[cfg(feature = "webgpu")]
            Backend::WebGpu(_) => None,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn device(&self) -> Device {
        self.backend.device()
    }

    pub fn dim(&self) -> usize {
        self.info.config.hidden_size
    }

    /// Token ids of `kind`'s prefix + `text`, cut to `max_tokens`.
    pub fn tokenize(&self, text: &str, kind: Kind) -> Result<Tokens> {
        tokenize(&self.tokenizer, text, kind, self.max_tokens)
    }

    /// One batch of token ids → pooled vectors (see [`Backend::forward`]).
    pub async fn forward(&self, batch: &[&[u32]], pool: Pool) -> Result<Vec<Vec<f32>>> {
        self.backend.forward(batch, self.tokenizer.pad_id(), pool).await
    }

    /// Pooled vectors of many sequences, in length-sorted batches of `batch_size`, in input order.
    pub async fn forward_all(&self, seqs: &[&[u32]], pool: Pool, mut progress: impl FnMut(usize, usize)) -> Result<Vec<Vec<f32>>> {
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        let mut done = 0;
        for chunk in batch::length_sorted_batches(&lens, self.batch_size) {
            let b: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
            for (&i, v) in chunk.iter().zip(self.forward(&b, pool).await?) {
                out[i] = v;
            }
            done += chunk.len();
            progress(done, seqs.len());
        }
        Ok(out)
    }

    /// Embed many texts; `progress(done, total)` after each batch.
    pub async fn embed_async(&self, texts: &[&str], kind: Kind, progress: impl FnMut(usize, usize)) -> Result<Embeddings> {
        let toks = texts.iter().map(|t| self.tokenize(t, kind)).collect::<Result<Vec<_>>>()?;
        let truncated = toks.iter().filter(|t| t.truncated).count();
        let seqs: Vec<&[u32]> = toks.iter().map(|t| t.ids.as_slice()).collect();
        Ok(Embeddings { vectors: self.forward_all(&seqs, Pool::Mean, progress).await?, truncated })
    }

    /// One padded batch of token ids → normalised vectors.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn embed_ids(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        block_on(self.forward(batch, Pool::Mean))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn embed(&self, texts: &[&str], kind: Kind) -> Result<Vec<Vec<f32>>> {
        Ok(self.embed_with_progress(texts, kind, |_, _| {})?.vectors)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn embed_one(&self, text: &str, kind: Kind) -> Result<Vec<f32>> {
        Ok(self.embed(&[text], kind)?.pop().expect("one vector per text"))
    }

    /// Embed many texts in length-sorted batches; `progress(done, total)` after each batch.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn embed_with_progress(&self, texts: &[&str], kind: Kind, progress: impl FnMut(usize, usize)) -> Result<Embeddings> {
        block_on(self.embed_async(texts, kind, progress))
    }

    /// Pooled vectors of many sequences (blocking; see [`forward_all`](Self::forward_all)).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn forward_all_blocking(&self, seqs: &[&[u32]], pool: Pool) -> Result<Vec<Vec<f32>>> {
        block_on(self.forward_all(seqs, pool, |_, _| {}))
    }
}

/// Token ids of `kind`'s prefix + `text` (with `<s>`/`</s>`), cut to `limit` tokens.
pub fn tokenize(tokenizer: &Tokenizer, text: &str, kind: Kind, limit: usize) -> Result<Tokens> {
    tokenizer.encode_with_limit(&kind.apply(text), limit)
}

/// Token ids of a (query, passage) pair for a cross-encoder: XLM-R's pair template with e5's
/// prefixes, `<s> query: Q </s></s> passage: P </s>`, at most `max_len` tokens (the longer side is
/// cut first). Shared by training and inference so they cannot drift apart.
pub fn pair_tokens(tokenizer: &Tokenizer, query: &str, passage: &str, max_len: usize) -> Result<Tokens> {
    tokenizer.encode_pair_with_limit(&Kind::Query.apply(query), &Kind::Passage.apply(passage), max_len)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}
