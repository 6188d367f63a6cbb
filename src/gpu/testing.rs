//! Single-kernel entry points for tests: upload host data, run one kernel, read the result back.
//! Not part of the stable API.
use super::kernels::{
    empty, grid, read_back, storage, uniform, AttentionParams, GatherParams, GeluParams, Kernels, LayerNormParams, MatmulParams, PoolParams,
};
use super::pack::{self, WeightFormat};
use super::{GpuContext, GpuTable};
use crate::model::e5s1::RawTensor;
use crate::{format_err, Result};

fn encoder(ctx: &GpuContext) -> wgpu::CommandEncoder {
    ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("test") })
}

async fn run(
    ctx: &GpuContext,
    kern: &super::kernels::Kernel,
    bufs: &[&wgpu::Buffer],
    groups: (u32, u32, u32),
    out: &wgpu::Buffer,
    len: usize,
) -> Result<Vec<f32>> {
    let val = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let bg = kern.bind(&ctx.device, bufs);
    let mut enc = encoder(ctx);
    {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        kern.dispatch(&mut pass, &bg, groups);
    }
    if let Some(e) = val.pop().await {
        return Err(format_err!("WebGPU validation error: {e}"));
    }
    read_back(&ctx.device, &ctx.queue, enc, out, len).await
}

/// y = x · Wᵀ + bias (x: m × k, W: n × k as ggml blocks of `fmt`), then GELU and / or + resid.
#[allow(clippy::too_many_arguments)]
pub async fn matmul(
    ctx: &GpuContext,
    fmt: WeightFormat,
    x: &[f32],
    m: usize,
    w_blocks: &[u8],
    n: usize,
    k: usize,
    bias: &[f32],
    gelu: bool,
    resid: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let ks = Kernels::new(&ctx.device, fmt, fmt, 32);
    let (words, off) = pack::pack_blocks(w_blocks, fmt, 0)?;
    let d = &ctx.device;
    let (xb, wb, bb) = (storage(d, "x", x), storage(d, "w", &words), storage(d, "b", bias));
    let rb = resid.map(|r| storage(d, "r", r)).unwrap_or_else(|| empty(d, "dummy", 16));
    let yb = empty(d, "y", (m * n * 4) as u64);
    let p = uniform(d, &MatmulParams { m: m as u32, n: n as u32, k: k as u32, scale_off: off });
    let kern = match (gelu, resid.is_some()) {
        (false, false) => &ks.matmul,
        (true, false) => &ks.matmul_gelu,
        (false, true) => &ks.matmul_res,
        (true, true) => return Err(format_err!("GELU and residual together are not compiled")),
    };
    run(ctx, kern, &[&p, &xb, &wb, &bb, &rb, &yb], ((n as u32).div_ceil(64), (m as u32).div_ceil(64), 1), &yb, m * n).await
}

pub async fn layer_norm(ctx: &GpuContext, x: &[f32], rows: usize, h: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Result<Vec<f32>> {
    let ks = Kernels::new(&ctx.device, WeightFormat::Q8_0, WeightFormat::Q8_0, 32);
    let d = &ctx.device;
    let (xb, gb, bb, yb) = (storage(d, "x", x), storage(d, "g", gamma), storage(d, "b", beta), empty(d, "y", (rows * h * 4) as u64));
    let p = uniform(d, &LayerNormParams { rows: rows as u32, h: h as u32, eps, _a: 0 });
    run(ctx, &ks.layernorm, &[&p, &xb, &gb, &bb, &yb], grid(rows as u32), &yb, rows * h).await
}

pub async fn gelu(ctx: &GpuContext, x: &[f32]) -> Result<Vec<f32>> {
    let ks = Kernels::new(&ctx.device, WeightFormat::Q8_0, WeightFormat::Q8_0, 32);
    let d = &ctx.device;
    let xb = storage(d, "x", x);
    let p = uniform(d, &GeluParams { n: x.len() as u32, _a: 0, _b: 0, _c: 0 });
    run(ctx, &ks.gelu, &[&p, &xb], grid((x.len() as u32).div_ceil(256)), &xb, x.len()).await
}

/// qkv: (batch·seq) × 3h, mask: batch·seq (1 token, 0 pad) → (batch·seq) × h.
pub async fn attention(
    ctx: &GpuContext,
    qkv: &[f32],
    mask: &[f32],
    batch: usize,
    seq: usize,
    heads: usize,
    head_dim: usize,
) -> Result<Vec<f32>> {
    let ks = Kernels::new(&ctx.device, WeightFormat::Q8_0, WeightFormat::Q8_0, head_dim as u32);
    let d = &ctx.device;
    let h = heads * head_dim;
    let (qb, mb, ob) = (storage(d, "qkv", qkv), storage(d, "mask", mask), empty(d, "out", (batch * seq * h * 4) as u64));
    let p = uniform(d, &AttentionParams { batch: batch as u32, seq: seq as u32, h: h as u32, scale: 1.0 / (head_dim as f32).sqrt() });
    run(ctx, &ks.attention, &[&p, &qb, &mb, &ob], ((seq as u32).div_ceil(64), heads as u32, batch as u32), &ob, batch * seq * h).await
}

/// Word rows of `table` (split in bindings of ≤ `max_binding` bytes) + pos[t] + typ → (tokens × h,
/// number of table buffers used).
pub async fn gather(
    ctx: &GpuContext,
    table: &RawTensor,
    ids: &[u32],
    seq: usize,
    pos: &[f32],
    typ: &[f32],
    max_binding: u64,
) -> Result<(Vec<f32>, usize)> {
    let d = &ctx.device;
    let (t, fmt) = GpuTable::upload(d, table, max_binding)?;
    let ks = Kernels::new(d, fmt, fmt, 32);
    let h = table.shape[1];
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= t.rows) {
        return Err(format_err!("token id {bad} is outside the {}-row table", t.rows));
    }
    let mut pt = pos.to_vec();
    pt.extend_from_slice(typ);
    let (ib, pb, ob, dummy) =
        (storage(d, "ids", ids), storage(d, "pt", &pt), empty(d, "out", (ids.len() * h * 4) as u64), empty(d, "dummy", 16));
    let c = |i: usize| t.chunks.get(i).unwrap_or(&dummy);
    let p = uniform(
        d,
        &GatherParams {
            tokens: ids.len() as u32,
            seq: seq as u32,
            h: h as u32,
            rows_per_chunk: t.rows_per_chunk,
            scale_off: t.scale_off,
            type_off: pos.len() as u32,
            _a: 0,
            _b: 0,
        },
    );
    let out = run(
        ctx,
        &ks.gather,
        &[&p, &ib, c(0), c(1), c(2), c(3), &pb, &ob],
        grid(((ids.len() * h) as u32).div_ceil(256)),
        &ob,
        ids.len() * h,
    )
    .await?;
    Ok((out, t.chunks.len()))
}

pub async fn mean_pool(ctx: &GpuContext, x: &[f32], mask: &[f32], batch: usize, seq: usize, h: usize) -> Result<Vec<f32>> {
    let ks = Kernels::new(&ctx.device, WeightFormat::Q8_0, WeightFormat::Q8_0, 32);
    let d = &ctx.device;
    let (xb, mb, ob) = (storage(d, "x", x), storage(d, "mask", mask), empty(d, "out", (batch * h * 4) as u64));
    let p = uniform(d, &PoolParams { batch: batch as u32, seq: seq as u32, h: h as u32, _a: 0 });
    run(ctx, &ks.pool, &[&p, &xb, &mb, &ob], (batch as u32, 1, 1), &ob, batch * h).await
}
