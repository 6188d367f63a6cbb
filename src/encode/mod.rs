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
            Backend::Cpu(model) if model.precision == Precision::Int8 => {
                let (rows, spans) = model.forward_packed(batch)?;
                let h = model.config.hidden_size;
                Ok(spans
                    .iter()
                    .map(|s| {
                        let tokens = &rows[s.start * h..(s.start + s.len) * h];
                        match pool {
                            Pool::Mean => mean_normalized(tokens, h),
                            Pool::Cls => tokens.get(..h).map_or_else(|| vec![0.0; h], <[f32]>::to_vec),
                        }
                    })
                    .collect())
            }
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

/// Mean of `rows` (each `h` wide), L2-normalised: `mean_pool_normalize` for one unpadded sequence.
fn mean_normalized(rows: &[f32], h: usize) -> Vec<f32> {
    let mut mean = vec![0f32; h];
    for row in rows.chunks_exact(h) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    let count = (rows.len() / h).max(1) as f32;
    mean.iter_mut().for_each(|m| *m /= count);
    let norm = dot(&mean, &mean).sqrt().max(1e-12);
    mean.iter_mut().for_each(|m| *m /= norm);
    mean
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
    /// Natively on the CPU, batches run on one worker per thread (see [`batch_workers`]).
    pub async fn forward_all(&self, seqs: &[&[u32]], pool: Pool, mut progress: impl FnMut(usize, usize)) -> Result<Vec<Vec<f32>>> {
        #[cfg(not(target_arch = "wasm32"))]
        if matches!(self.backend, Backend::Cpu(_)) && batch_workers() > 1 && seqs.len() > self.batch_size {
            return self.forward_all_on_workers(seqs, pool, batch_workers(), progress);
        }
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut out = vec![Vec::new(); seqs.len()];
        let mut done = 0;
        for chunk in batch::padding_aware_batches(&lens, self.batch_size) {
            let b: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
            for (&i, v) in chunk.iter().zip(self.forward(&b, pool).await?) {
                out[i] = v;
            }
            done += chunk.len();
            progress(done, seqs.len());
        }
        Ok(out)
    }

    /// [`forward_all`](Self::forward_all) with `workers` threads each taking the next length-sorted batch
    /// and running it alone (one-thread rayon pool: no nested splitting). On 2 vCPUs this scales
    /// better than splitting every product over both (measured: 178.8 against 85.9 texts/s on one
    /// thread, where the split gave 1.3×).
    #[cfg(not(target_arch = "wasm32"))]
    fn forward_all_on_workers(
        &self,
        seqs: &[&[u32]],
        pool: Pool,
        workers: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<Vec<f32>>> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let batches = batch::padding_aware_batches(&lens, self.batch_size);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Vec<Vec<f32>>>)>();
        let mut out = vec![Vec::new(); seqs.len()];
        std::thread::scope(|scope| -> Result<()> {
            for _ in 0..workers.min(batches.len()) {
                let (tx, next, failed, batches) = (tx.clone(), &next, &failed, &batches);
                let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().map_err(|e| format_err!("worker thread: {e}"))?;
                scope.spawn(move || {
                    one_thread.install(|| loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= batches.len() || failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let batch: Vec<&[u32]> = batches[b].iter().map(|&i| seqs[i]).collect();
                        let result = block_on(self.forward(&batch, pool));
                        failed.fetch_or(result.is_err(), Ordering::Relaxed);
                        if tx.send((b, result)).is_err() {
                            break;
                        }
                    })
                });
            }
            drop(tx);
            let mut done = 0;
            for (b, result) in rx {
                for (&i, v) in batches[b].iter().zip(result?) {
                    out[i] = v;
                }
                done += batches[b].len();
                progress(done, seqs.len());
            }
            Ok(())
        })?;
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

/// Threads that encode batches side by side on the CPU: `MEDBRIDGE_BATCH_WORKERS`, else one per core.
/// Each runs its batch on one thread, so `RAYON_NUM_THREADS=1` (the scripts' setting: candle's
/// threading within a product loses on 2 vCPUs) still leaves many-text encoding on every core.
#[cfg(not(target_arch = "wasm32"))]
pub fn batch_workers() -> usize {
    match std::env::var("MEDBRIDGE_BATCH_WORKERS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) => n.max(1),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
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
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt()).max(1e-12)
}

/// Σ aᵢbᵢ over the shorter of the two (HNSW search is mostly this): AVX2 + FMA where the CPU has
/// them (x86-64's baseline is SSE2), else 16 independent partial sums — a float sum in one chain
/// cannot be reordered, so it would neither vectorise nor pipeline.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (mut s0, mut s1, mut s2, mut s3) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    // SAFETY (every load): i + 32 ≤ n, or i + 8 ≤ n below.
    while i + 32 <= n {
        let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa), _mm256_loadu_ps(pb), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(8)), _mm256_loadu_ps(pb.add(8)), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(16)), _mm256_loadu_ps(pb.add(16)), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(24)), _mm256_loadu_ps(pb.add(24)), s3);
        i += 32;
    }
    while i + 8 <= n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i)), s0);
        i += 8;
    }
    let s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    let half = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    let mut lanes = [0f32; 4];
    _mm_storeu_ps(lanes.as_mut_ptr(), half);
    lanes.iter().sum::<f32>() + a[i..n].iter().zip(&b[i..n]).map(|(x, y)| x * y).sum::<f32>()
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_at_every_length() {
        for n in [0, 1, 15, 16, 17, 33, 384] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 104729) % 97) as f32 / 97.0 - 0.5).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - plain).abs() < 1e-5, "n = {n}");
            assert!((dot_portable(&a, &b) as f64 - plain).abs() < 1e-5, "n = {n}");
        }
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0); // the shorter length
        assert!((cosine(&[3.0, 4.0], &[6.0, 8.0]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn batch_workers_give_every_vector_in_input_order() {
        let (info, tokenizer, tensors) = crate::model::testing::tiny_model(crate::text::tokenize::letters_tokenizer(), 2, 5);
        let mut enc = Encoder::from_parts(info, tokenizer, tensors, &candle_core::Device::Cpu).unwrap();
        enc.batch_size = 4;
        let texts: Vec<String> = (0..37).map(|i| "abcdefghij".repeat(5)[..3 + (i * 7) % 29].to_string()).collect();
        let toks: Vec<Tokens> = texts.iter().map(|t| enc.tokenize(t, Kind::Raw).unwrap()).collect();
        let seqs: Vec<&[u32]> = toks.iter().map(|t| t.ids.as_slice()).collect();
        let one = enc.forward_all_on_workers(&seqs, Pool::Mean, 1, |_, _| {}).unwrap();
        let mut seen = Vec::new();
        let three = enc.forward_all_on_workers(&seqs, Pool::Mean, 3, |d, t| seen.push((d, t))).unwrap();
        assert_eq!(one, three, "workers must not change any vector");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0) && seen.last() == Some(&(37, 37)), "{seen:?}");
        for (seq, v) in seqs.iter().zip(&three) {
            let alone = enc.embed_ids(&[seq]).unwrap().pop().unwrap();
            assert!(cosine(&alone, v) > 0.9999, "a vector belongs to another text");
        }
    }
}
