//! The e5 forward pass on WebGPU (feature `webgpu`): our own WGSL compute shaders, quantised
//! weights resident on the device, the same numerics as the candle path in [`crate::model::bert`].
//!
//! Natively this runs on any wgpu adapter (tests use Mesa lavapipe over Vulkan); on wasm32 it runs on
//! the browser's WebGPU. Per batch: embedding gather (split word table) → layer norm → 12 × [fused
//! QKV matmul → masked attention → output matmul + residual → layer norm → FFN matmul + GELU → matmul
//! + residual → layer norm] → mean pooling + L2 norm; only `batch × hidden` floats are read back.
//!
//! Activation buffers are created per call (sized for that batch), not cached: `embed_ids` takes
//! `&self` and may be awaited concurrently (two browser tasks interleaving across `await`s); a shared
//! workspace would need a lock held across awaits. Creating ~10 buffers and ~90 bind groups is cheap
//! next to the forward pass, and weights — the large part — are uploaded once at construction.
//!
//! Natively, `MEDBRIDGE_GPU_PROFILE=1` runs each dispatch of a pass alone first and prints host-timed
//! totals per kernel (debug aid; doubles the work).
mod kernels;
mod pack;
#[doc(hidden)]
pub mod testing;

use crate::model::bert::{Config, Pool};
use crate::model::e5s1::{RawDType, RawTensor, QK};
use crate::{format_err, Result};
use kernels::{empty, grid, storage, uniform, AttentionParams, GatherParams, Kernels, LayerNormParams, MatmulParams, PoolParams};
pub use pack::{quantize_q4_0, WeightFormat};

/// WebGPU's default maxStorageBufferBindingSize (128 MiB): the word table is split below it.
pub const DEFAULT_MAX_BINDING: u64 = 128 << 20;
/// Tokens (batch × padded length) per GPU pass; larger batches are split. Bounds the biggest
/// activation buffer (tokens × 1536 f32 = 48 MiB) and every dispatch dimension.
pub const DEFAULT_MAX_TOKENS: usize = 8192;
/// Word-table chunks the gather kernel can bind (4 + ids + pos/type + output = 7 storage buffers).
pub const MAX_TABLE_CHUNKS: usize = 4;

/// How to build a [`GpuEncoder`].
#[derive(Debug, Clone)]
pub struct GpuOptions {
    /// Format of the 72 body matrices on the GPU.
    pub format: WeightFormat,
    /// Largest word-table binding; `None`: the device's maxStorageBufferBindingSize (≤ 128 MiB).
    pub max_table_binding: Option<u64>,
    /// Tokens per GPU pass (see [`DEFAULT_MAX_TOKENS`]).
    pub max_tokens: usize,
}

impl GpuOptions {
    pub fn new(format: WeightFormat) -> Self {
        Self { format, max_table_binding: None, max_tokens: DEFAULT_MAX_TOKENS }
    }
}

/// A wgpu device and queue, with what the adapter reported.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::AdapterInfo,
}

impl GpuContext {
    /// Request an adapter and a device with WebGPU's default limits; `Ok(None)` when there is no
    /// adapter. Natively the backend follows `WGPU_BACKEND` (e.g. `vulkan`, `gl`).
    pub async fn request() -> Result<Option<Self>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = match instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
        {
            Ok(a) => a,
            Err(_) => return Ok(None),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor { label: Some("medbridge"), ..Default::default() })
            .await
            .map_err(|e| format_err!("WebGPU device request failed: {e}"))?;
        Ok(Some(Self { device, queue, adapter: adapter.get_info() }))
    }
}

#[derive(Clone)]
struct GpuLayer {
    qkv: wgpu::Buffer,
    qkv_b: wgpu::Buffer,
    attn_out: wgpu::Buffer,
    attn_out_b: wgpu::Buffer,
    attn_ln_g: wgpu::Buffer,
    attn_ln_b: wgpu::Buffer,
    ffn_in: wgpu::Buffer,
    ffn_in_b: wgpu::Buffer,
    ffn_out: wgpu::Buffer,
    ffn_out_b: wgpu::Buffer,
    out_ln_g: wgpu::Buffer,
    out_ln_b: wgpu::Buffer,
}

/// The word table on the device, split by rows.
#[derive(Clone)]
pub(crate) struct GpuTable {
    pub chunks: Vec<wgpu::Buffer>,
    pub rows: usize,
    pub rows_per_chunk: u32,
    pub scale_off: u32,
}

impl GpuTable {
    /// Upload `t` (rows × dim; Q4_0 and Q8_0 kept, f32 → Q8_0) in chunks of at most `max_binding` bytes.
    pub(crate) fn upload(device: &wgpu::Device, t: &RawTensor, max_binding: u64) -> Result<(Self, WeightFormat)> {
        if t.shape.len() != 2 {
            return Err(format_err!("word table {} must be 2-D, is {:?}", t.name, t.shape));
        }
        let (rows, dim) = (t.shape[0], t.shape[1]);
        let fmt = if t.dtype == RawDType::Q4_0 { WeightFormat::Q4_0 } else { WeightFormat::Q8_0 };
        let bytes = pack::blocks_in(t, fmt)?;
        let bpr = dim / QK;
        let max_rows = (max_binding / pack::packed_bytes(1, bpr, fmt).max(1)) as usize;
        let mut rows_per_chunk = max_rows.min(rows).max(1);
        while rows_per_chunk > 1 && pack::packed_bytes(rows_per_chunk, bpr, fmt) > max_binding {
            rows_per_chunk -= 1;
        }
        let n_chunks = rows.div_ceil(rows_per_chunk).max(1);
        if n_chunks > MAX_TABLE_CHUNKS {
            return Err(format_err!(
                "word table of {rows} rows needs {n_chunks} buffers of ≤ {max_binding} bytes; the gather kernel binds at most {MAX_TABLE_CHUNKS}"
            ));
        }
        // Balance the chunks (less padding in the last one).
        let rows_per_chunk = rows.div_ceil(n_chunks).max(1);
        let row_bytes = bpr * fmt.block_bytes();
        let mut chunks = Vec::with_capacity(n_chunks);
        let mut scale_off = 0;
        for c in 0..n_chunks {
            let (r0, r1) = (c * rows_per_chunk, ((c + 1) * rows_per_chunk).min(rows));
            let (words, off) = pack::pack_blocks(&bytes[r0 * row_bytes..r1 * row_bytes], fmt, rows_per_chunk * bpr)?;
            scale_off = off;
            chunks.push(storage(device, "word_table", &words));
        }
        Ok((Self { chunks, rows, rows_per_chunk: rows_per_chunk as u32, scale_off }, fmt))
    }
}

/// The encoder on the GPU: pipelines compiled and weights uploaded once. A clone shares the device
/// buffers (wgpu handles are reference-counted).
#[derive(Clone)]
pub struct GpuEncoder {
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: Config,
    k: Kernels,
    table: GpuTable,
    pos_type: wgpu::Buffer,
    emb_ln_g: wgpu::Buffer,
    emb_ln_b: wgpu::Buffer,
    layers: Vec<GpuLayer>,
    /// scale offsets of the packed qkv, attention-output, FFN-in and FFN-out matrices
    scale_offs: [u32; 4],
    dummy: wgpu::Buffer,
    max_tokens: usize,
}

fn find<'a>(tensors: &'a [RawTensor], name: &str) -> Result<&'a RawTensor> {
    tensors.iter().find(|t| t.name == name).ok_or_else(|| format_err!("model has no tensor {name}"))
}

fn vector(tensors: &[RawTensor], name: &str, len: usize) -> Result<Vec<f32>> {
    let v = find(tensors, name)?.to_f32();
    if v.len() != len {
        return Err(format_err!("tensor {name} has {} values, expected {len}", v.len()));
    }
    Ok(v)
}

fn matrix(tensors: &[RawTensor], name: &str, rows: usize, cols: usize, fmt: WeightFormat) -> Result<Vec<u8>> {
    let t = find(tensors, name)?;
    if t.shape != [rows, cols] {
        return Err(format_err!("tensor {name} has shape {:?}, expected [{rows}, {cols}]", t.shape));
    }
    pack::blocks_in(t, fmt)
}

/// Upload layer `l`'s weights (body matrices in `fmt`, QKV fused); `scale_offs` gets the packed
/// matrices' scale offsets (the same for every layer of a model).
fn upload_layer(
    device: &wgpu::Device,
    tensors: &[RawTensor],
    l: usize,
    config: &Config,
    fmt: WeightFormat,
    scale_offs: &mut [u32; 4],
) -> Result<GpuLayer> {
    let (h, ff) = (config.hidden_size, config.intermediate_size);
    let p = |s: &str| format!("encoder.layer.{l}.{s}");
    let mut up = |idx: usize, bytes: Vec<u8>| -> Result<wgpu::Buffer> {
        let (words, off) = pack::pack_blocks(&bytes, fmt, 0)?;
        scale_offs[idx] = off;
        Ok(storage(device, "weights", &words))
    };
    let mut qkv = matrix(tensors, &p("attention.self.query.weight"), h, h, fmt)?;
    qkv.extend(matrix(tensors, &p("attention.self.key.weight"), h, h, fmt)?);
    qkv.extend(matrix(tensors, &p("attention.self.value.weight"), h, h, fmt)?);
    let mut qkv_b = vector(tensors, &p("attention.self.query.bias"), h)?;
    qkv_b.extend(vector(tensors, &p("attention.self.key.bias"), h)?);
    qkv_b.extend(vector(tensors, &p("attention.self.value.bias"), h)?);
    let v = |s: &str, n: usize| -> Result<wgpu::Buffer> { Ok(storage(device, "vector", &vector(tensors, &p(s), n)?)) };
    Ok(GpuLayer {
        qkv: up(0, qkv)?,
        qkv_b: storage(device, "vector", &qkv_b),
        attn_out: up(1, matrix(tensors, &p("attention.output.dense.weight"), h, h, fmt)?)?,
        ffn_in: up(2, matrix(tensors, &p("intermediate.dense.weight"), ff, h, fmt)?)?,
        ffn_out: up(3, matrix(tensors, &p("output.dense.weight"), h, ff, fmt)?)?,
        attn_out_b: v("attention.output.dense.bias", h)?,
        attn_ln_g: v("attention.output.LayerNorm.weight", h)?,
        attn_ln_b: v("attention.output.LayerNorm.bias", h)?,
        ffn_in_b: v("intermediate.dense.bias", ff)?,
        ffn_out_b: v("output.dense.bias", h)?,
        out_ln_g: v("output.LayerNorm.weight", h)?,
        out_ln_b: v("output.LayerNorm.bias", h)?,
    })
}

impl GpuEncoder {
    /// This encoder with layers `first..` replaced by the ones in `tensors` (their own indices),
    /// sharing the device, the pipelines, the word table and the lower layers' buffers: a
    /// reranker's trained top layers cost only their own upload.
    pub async fn with_top_layers(&self, first: usize, tensors: &[RawTensor]) -> Result<Self> {
        let n = self.layers.len();
        if first >= n {
            return Err(format_err!("top layers from {first}: the model has {n} layers"));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut offs = [0u32; 4];
        let top =
            (first..n).map(|l| upload_layer(&self.device, tensors, l, &self.config, self.k.body, &mut offs)).collect::<Result<Vec<_>>>();
        let v = val.pop().await;
        let o = oom.pop().await;
        let top = top?;
        if let Some(e) = v.or(o) {
            return Err(format_err!("WebGPU error while uploading the top layers: {e}"));
        }
        if offs != self.scale_offs {
            return Err(format_err!(
                "top layers from {first}: their matrices are packed unlike the model's ({offs:?} vs {:?})",
                self.scale_offs
            ));
        }
        let mut out = self.clone();
        out.layers.truncate(first);
        out.layers.extend(top);
        Ok(out)
    }

    /// Request a default adapter/device and build the encoder; `Ok(None)` if there is no adapter.
    pub async fn new_default(config: &Config, tensors: &[RawTensor], format: WeightFormat) -> Result<Option<Self>> {
        let Some(ctx) = GpuContext::request().await? else { return Ok(None) };
        Ok(Some(Self::new(ctx.device, ctx.queue, config, tensors, GpuOptions::new(format)).await?))
    }

    /// Compile every pipeline and upload every weight (resident on the device).
    pub async fn new(device: wgpu::Device, queue: wgpu::Queue, config: &Config, tensors: &[RawTensor], opts: GpuOptions) -> Result<Self> {
        let (h, ff, nh) = (config.hidden_size, config.intermediate_size, config.num_attention_heads);
        if nh == 0 || h % nh != 0 || h % QK != 0 || ff % QK != 0 {
            return Err(format_err!("unsupported config: hidden {h}, heads {nh}, ffn {ff} (need multiples of {QK})"));
        }
        let hd = config.head_dim();
        if hd > 128 {
            return Err(format_err!("head dim {hd} > 128 is not supported by the attention kernel"));
        }
        let fmt = opts.format;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let built = (|| -> Result<Self> {
            let max_binding =
                opts.max_table_binding.unwrap_or(device.limits().max_storage_buffer_binding_size).min(device.limits().max_buffer_size);
            let (table, table_fmt) = GpuTable::upload(&device, find(tensors, crate::model::names::WORD_EMBEDDINGS)?, max_binding)?;
            if !table.chunks.is_empty() && find(tensors, crate::model::names::WORD_EMBEDDINGS)?.shape[1] != h {
                return Err(format_err!("word table width differs from hidden size {h}"));
            }
            let k = Kernels::new(&device, fmt, table_fmt, hd as u32);
            let mut pt = vector(tensors, "embeddings.position_embeddings.weight", config.max_position_embeddings * h)?;
            pt.extend(vector(tensors, "embeddings.token_type_embeddings.weight", config.type_vocab_size * h)?[..h].iter());
            let pos_type = storage(&device, "pos_type", &pt);
            let emb_ln_g = storage(&device, "ln", &vector(tensors, "embeddings.LayerNorm.weight", h)?);
            let emb_ln_b = storage(&device, "ln", &vector(tensors, "embeddings.LayerNorm.bias", h)?);
            let mut scale_offs = [0u32; 4];
            let layers = (0..config.num_hidden_layers)
                .map(|l| upload_layer(&device, tensors, l, config, fmt, &mut scale_offs))
                .collect::<Result<_>>()?;
            let dummy = empty(&device, "dummy", 16);
            Ok(Self {
                device: device.clone(),
                queue: queue.clone(),
                config: config.clone(),
                k,
                table,
                pos_type,
                emb_ln_g,
                emb_ln_b,
                layers,
                scale_offs,
                dummy,
                max_tokens: opts.max_tokens.max(1),
            })
        })();
        let v = val.pop().await;
        let o = oom.pop().await;
        let enc = built?;
        if let Some(e) = v.or(o) {
            return Err(format_err!("WebGPU error while building the encoder: {e}"));
        }
        Ok(enc)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn format(&self) -> WeightFormat {
        self.k.body
    }
    /// Format of the word table on the GPU (Q4_0 when shipped so, else Q8_0).
    pub fn table_format(&self) -> WeightFormat {
        self.k.table
    }
    /// Number of storage buffers the word table is split over.
    pub fn table_chunks(&self) -> usize {
        self.table.chunks.len()
    }
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// One padded batch of token ids → L2-normalised mean-pooled vectors, entirely on the GPU.
    /// Sequences are padded with `pad_id` to the longest (masked out); batches over the token budget
    /// run as several GPU passes. Errors (not panics) on sequences longer than the model's positions
    /// and on ids outside the word table.
    pub async fn embed_ids(&self, batch: &[&[u32]], pad_id: u32) -> Result<Vec<Vec<f32>>> {
        self.forward_ids(batch, pad_id, Pool::Mean).await
    }

    /// [`embed_ids`](Self::embed_ids) with a choice of pooling: [`Pool::Cls`] reads back each
    /// sequence's first-token state (a cross-encoder's input to its head).
    pub async fn forward_ids(&self, batch: &[&[u32]], pad_id: u32, pool: Pool) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(vec![]);
        }
        let seq = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
        if seq > self.config.max_position_embeddings {
            return Err(format_err!("sequence of {seq} tokens exceeds the model's {} positions", self.config.max_position_embeddings));
        }
        for &id in batch.iter().flat_map(|b| b.iter()).chain(std::iter::once(&pad_id)) {
            if id as usize >= self.table.rows {
                return Err(format_err!("token id {id} is outside the {}-row embedding table", self.table.rows));
            }
        }
        let per_pass = (self.max_tokens / seq).clamp(1, kernels::MAX_GROUPS as usize);
        let mut out = Vec::with_capacity(batch.len());
        for part in batch.chunks(per_pass) {
            out.extend(self.run_pass(part, seq, pad_id, pool).await?);
        }
        Ok(out)
    }

    async fn run_pass(&self, batch: &[&[u32]], seq: usize, pad_id: u32, pool: Pool) -> Result<Vec<Vec<f32>>> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let res = self.encode_pass(batch, seq, pad_id, pool);
        // Pop before awaiting the readback so errors from recording surface here.
        let v = val.pop().await;
        let o = oom.pop().await;
        if let Some(e) = v.or(o) {
            return Err(crate::Error::Gpu(format!("error in the forward pass: {e}")));
        }
        let (encoder, out_buf) = res?;
        let h = self.config.hidden_size;
        let flat = kernels::read_back(&self.device, &self.queue, encoder, &out_buf, batch.len() * h).await?;
        Ok(flat.chunks_exact(h).map(|c| c.to_vec()).collect())
    }

    fn encode_pass(&self, batch: &[&[u32]], seq: usize, pad_id: u32, pool: Pool) -> Result<(wgpu::CommandEncoder, wgpu::Buffer)> {
        let dev = &self.device;
        let cfg = &self.config;
        let (h, ff) = (cfg.hidden_size, cfg.intermediate_size);
        let nb = batch.len();
        let m = nb * seq;
        let mut ids = Vec::with_capacity(m);
        let mut mask = Vec::with_capacity(m);
        for b in batch {
            ids.extend_from_slice(b);
            mask.extend(std::iter::repeat_n(1f32, b.len()));
            ids.extend(std::iter::repeat_n(pad_id, seq - b.len()));
            mask.extend(std::iter::repeat_n(0f32, seq - b.len()));
        }
        let f = |n: usize| (n * 4) as u64;
        let ids_buf = storage(dev, "ids", &ids);
        let mask_buf = storage(dev, "mask", &mask);
        let x = empty(dev, "x", f(m * h));
        let x2 = empty(dev, "x2", f(m * h));
        let t1 = empty(dev, "t1", f(m * h));
        let qkv = empty(dev, "qkv", f(m * 3 * h));
        let ctx = empty(dev, "ctx", f(m * h));
        let fbuf = empty(dev, "ffn", f(m * ff));
        let out = empty(dev, "pooled", f(nb * h));

        let (m32, h32, ff32, seq32) = (m as u32, h as u32, ff as u32, seq as u32);
        let so = self.scale_offs;
        let p_qkv = uniform(dev, &MatmulParams { m: m32, n: 3 * h32, k: h32, scale_off: so[0] });
        let p_ao = uniform(dev, &MatmulParams { m: m32, n: h32, k: h32, scale_off: so[1] });
        let p_fi = uniform(dev, &MatmulParams { m: m32, n: ff32, k: h32, scale_off: so[2] });
        let p_fo = uniform(dev, &MatmulParams { m: m32, n: h32, k: ff32, scale_off: so[3] });
        let p_ln = uniform(dev, &LayerNormParams { rows: m32, h: h32, eps: cfg.layer_norm_eps as f32, _a: 0 });
        let scale = 1.0 / (self.k.head_dim as f32).sqrt();
        let p_att = uniform(dev, &AttentionParams { batch: nb as u32, seq: seq32, h: h32, scale });
        let t = &self.table;
        let type_off = (cfg.max_position_embeddings * h) as u32;
        let p_gather = uniform(
            dev,
            &GatherParams {
                tokens: m32,
                seq: seq32,
                h: h32,
                rows_per_chunk: t.rows_per_chunk,
                scale_off: t.scale_off,
                type_off,
                _a: 0,
                _b: 0,
            },
        );
        let p_pool = uniform(dev, &PoolParams { batch: nb as u32, seq: seq32, h: h32, _a: 0 });

        let k = &self.k;
        let chunk = |i: usize| t.chunks.get(i).unwrap_or(&self.dummy);
        let mut cmds: Vec<(&kernels::Kernel, wgpu::BindGroup, (u32, u32, u32))> = Vec::new();
        let gather_bg = k.gather.bind(dev, &[&p_gather, &ids_buf, chunk(0), chunk(1), chunk(2), chunk(3), &self.pos_type, &t1]);
        cmds.push((&k.gather, gather_bg, grid((m32 * h32).div_ceil(256))));
        let ln_grid = grid(m32);
        cmds.push((&k.layernorm, k.layernorm.bind(dev, &[&p_ln, &t1, &self.emb_ln_g, &self.emb_ln_b, &x]), ln_grid));
        let mm_grid = |n: u32| (n.div_ceil(64), m32.div_ceil(64), 1);
        for l in &self.layers {
            cmds.push((&k.matmul, k.matmul.bind(dev, &[&p_qkv, &x, &l.qkv, &l.qkv_b, &self.dummy, &qkv]), mm_grid(3 * h32)));
            cmds.push((
                &k.attention,
                k.attention.bind(dev, &[&p_att, &qkv, &mask_buf, &ctx]),
                (seq32.div_ceil(64), cfg.num_attention_heads as u32, nb as u32),
            ));
            cmds.push((&k.matmul_res, k.matmul_res.bind(dev, &[&p_ao, &ctx, &l.attn_out, &l.attn_out_b, &x, &t1]), mm_grid(h32)));
            cmds.push((&k.layernorm, k.layernorm.bind(dev, &[&p_ln, &t1, &l.attn_ln_g, &l.attn_ln_b, &x2]), ln_grid));
            cmds.push((&k.matmul_gelu, k.matmul_gelu.bind(dev, &[&p_fi, &x2, &l.ffn_in, &l.ffn_in_b, &self.dummy, &fbuf]), mm_grid(ff32)));
            cmds.push((&k.matmul_res, k.matmul_res.bind(dev, &[&p_fo, &fbuf, &l.ffn_out, &l.ffn_out_b, &x2, &t1]), mm_grid(h32)));
            cmds.push((&k.layernorm, k.layernorm.bind(dev, &[&p_ln, &t1, &l.out_ln_g, &l.out_ln_b, &x]), ln_grid));
        }
        if pool == Pool::Mean {
            cmds.push((&k.pool, k.pool.bind(dev, &[&p_pool, &x, &mask_buf, &out]), (nb as u32, 1, 1)));
        }

        #[cfg(not(target_arch = "wasm32"))]
        if std::env::var_os("MEDBRIDGE_GPU_PROFILE").is_some() {
            // Debug aid: run each dispatch alone and report where the time goes (host-timed).
            let mut per: std::collections::BTreeMap<&str, (usize, std::time::Duration)> = Default::default();
            for (kern, bg, g) in &cmds {
                let mut e = dev.create_command_encoder(&Default::default());
                {
                    let mut pass = e.begin_compute_pass(&Default::default());
                    kern.dispatch(&mut pass, bg, *g);
                }
                let t = std::time::Instant::now();
                self.queue.submit(Some(e.finish()));
                let _ = dev.poll(wgpu::PollType::wait_indefinitely());
                let s = per.entry(kern.label()).or_default();
                s.0 += 1;
                s.1 += t.elapsed();
            }
            eprintln!("GPU profile ({nb} × {seq} tokens): {per:?}");
        }
        let mut encoder = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("forward") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("forward"), timestamp_writes: None });
            for (kern, bg, g) in &cmds {
                kern.dispatch(&mut pass, bg, *g);
            }
        }
        if pool == Pool::Cls {
            // each sequence's first token: one row copy per sequence, no kernel needed
            let row = f(h);
            for b in 0..nb as u64 {
                encoder.copy_buffer_to_buffer(&x, b * seq as u64 * row, &out, b * row, row);
            }
        }
        Ok((encoder, out))
    }
}
