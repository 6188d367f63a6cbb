//! BERT inference with int8 products (`int8`) on plain row buffers, over *packed* sequences: a
//! batch's tokens one sequence after another, with no padding. Each sequence attends only to its
//! own rows, so nothing is computed for padding and no mask is needed.
//!
//! Why not candle tensors here: profiling a batch of 32 ~184-token passages on the tensor path
//! showed a fifth of the time in page faults (every op allocating 10–50 MB), 7% in libm's scalar
//! `expf` (softmax), and the transposes copying Q, K, V and the context per layer. Here Q, K and V
//! come from one fused product and are read in place by `gemm` with strides, softmax uses the
//! vectorised exp of the GELU, and the feed-forward runs over blocks of rows that stay in cache.
//! The f32 candle path stays the reference (`bert::Layer::forward`).
use candle_core::Tensor;
use gemm::{gemm, Parallelism};

use super::bert::Layer;
use super::int8::{exp_neg, max_f32, Int8Linear, Kernel};
use crate::Result;

/// Rows of the feed-forward computed together: its 1,536-wide intermediate stays in L2.
const FFN_BLOCK_ROWS: usize = 64;

/// Where one sequence is in a packed buffer: rows `start..start + len`, attending to the first
/// `keys` of them (`keys < len` only for a padded batch on the tensor path, whose padding rows
/// are computed and ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub len: usize,
    pub keys: usize,
}

impl Span {
    /// Spans for sequences of these lengths packed one after another.
    pub fn packed(lengths: impl IntoIterator<Item = usize>) -> Vec<Span> {
        let mut start = 0;
        lengths
            .into_iter()
            .map(|len| {
                let span = Span { start, len, keys: len };
                start += len;
                span
            })
            .collect()
    }
}

/// Layer normalisation over rows of `weight.len()` values.
pub struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    pub fn new(weight: &Tensor, bias: &Tensor, eps: f32) -> Result<Self> {
        Ok(Self { weight: weight.to_vec1()?, bias: bias.to_vec1()?, eps })
    }

    /// Every row of `rows` in place.
    #[inline(always)]
    pub fn apply(&self, rows: &mut [f32]) {
        let h = self.weight.len();
        for row in rows.chunks_exact_mut(h) {
            let mean = sum(row) / h as f32;
            let mut var = [0f32; 16];
            let chunks = row.chunks_exact(16);
            for (i, &v) in chunks.remainder().iter().enumerate() {
                var[i] += (v - mean) * (v - mean);
            }
            for c in chunks {
                for i in 0..16 {
                    var[i] += (c[i] - mean) * (c[i] - mean);
                }
            }
            let inv = 1.0 / (var.iter().sum::<f32>() / h as f32 + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// Sum in sixteen lanes, so that it vectorises.
#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let chunks = xs.chunks_exact(16);
    for (i, &v) in chunks.remainder().iter().enumerate() {
        lanes[i] += v;
    }
    for c in chunks {
        for i in 0..16 {
            lanes[i] += c[i];
        }
    }
    lanes.iter().sum()
}

/// Softmax of one row in place (the row holds scores already scaled).
#[inline(always)]
fn softmax(row: &mut [f32]) {
    // Sixteen lanes: a single running `max` is a scalar dependency chain (measured: 12% of a
    // passage's forward pass).
    let mut lanes = [f32::NEG_INFINITY; 16];
    let chunks = row.chunks_exact(16);
    for (i, &v) in chunks.remainder().iter().enumerate() {
        lanes[i] = max_f32(lanes[i], v);
    }
    for c in chunks {
        for i in 0..16 {
            lanes[i] = max_f32(lanes[i], c[i]);
        }
    }
    let max = lanes.iter().fold(f32::NEG_INFINITY, |m, &v| max_f32(m, v));
    #[cfg(target_arch = "wasm32")]
    let tail = super::int8::lanes::exp_neg_from(row, max);
    #[cfg(not(target_arch = "wasm32"))]
    let tail = &mut *row;
    for v in tail.iter_mut() {
        *v = exp_neg(max - *v);
    }
    let inv = 1.0 / sum(row);
    row.iter_mut().for_each(|v| *v *= inv);
}

/// One encoder layer in int8: Q, K and V as one product, then attention, then the feed-forward.
pub struct Int8Layer {
    /// Q, K and V stacked: 3 × hidden outputs.
    qkv: Int8Linear,
    attn_out: Int8Linear,
    /// With GELU fused into its epilogue.
    ffn_in: Int8Linear,
    ffn_out: Int8Linear,
    attn_norm: Norm,
    out_norm: Norm,
    heads: usize,
    head_dim: usize,
    kernel: Kernel,
}

fn weights(linear: &candle_nn::Linear) -> Result<(Vec<f32>, Vec<f32>)> {
    let w = linear.weight().flatten_all()?.to_vec1::<f32>()?;
    let b = match linear.bias() {
        Some(b) => b.to_vec1::<f32>()?,
        None => vec![0.0; linear.weight().dim(0)?],
    };
    Ok((w, b))
}

impl Int8Layer {
    pub fn new(layer: &Layer, heads: usize, head_dim: usize, kernel: Kernel) -> Result<Self> {
        let (h, eps) = (heads * head_dim, layer.attn_norm.eps);
        let (mut w, mut b) = (Vec::with_capacity(3 * h * h), Vec::with_capacity(3 * h));
        for linear in [&layer.query, &layer.key, &layer.value] {
            let (lw, lb) = weights(linear)?;
            w.extend(lw);
            b.extend(lb);
        }
        Ok(Self {
            qkv: Int8Linear::new(&w, 3 * h, h, Some(&b), false, kernel)?,
            attn_out: Int8Linear::from_linear(&layer.attn_out, false, kernel)?,
            ffn_in: Int8Linear::from_linear(&layer.ffn_in, true, kernel)?,
            ffn_out: Int8Linear::from_linear(&layer.ffn_out, false, kernel)?,
            attn_norm: Norm::new(&layer.attn_norm.weight, &layer.attn_norm.bias, eps)?,
            out_norm: Norm::new(&layer.out_norm.weight, &layer.out_norm.bias, layer.out_norm.eps)?,
            heads,
            head_dim,
            kernel,
        })
    }

    /// `x`: rows × hidden, replaced by the layer's output; `spans` say which rows form a sequence.
    pub fn forward(&self, x: &mut [f32], spans: &[Span]) {
        match self.kernel {
            // SAFETY (both): the layer's products were built for this kernel, so the CPU has it.
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => unsafe { self.forward_avx512(x, spans) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { self.forward_avx2(x, spans) },
            _ => self.forward_body(x, spans),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,fma")]
    unsafe fn forward_avx512(&self, x: &mut [f32], spans: &[Span]) {
        self.forward_body(x, spans)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&self, x: &mut [f32], spans: &[Span]) {
        self.forward_body(x, spans)
    }

    #[inline(always)]
    fn forward_body(&self, x: &mut [f32], spans: &[Span]) {
        let h = self.heads * self.head_dim;
        let rows = x.len() / h;
        let mut qkv = vec![0f32; rows * 3 * h];
        self.qkv.forward_into(x, rows, &mut qkv);
        let mut ctx = vec![0f32; rows * h];
        let longest = spans.iter().map(|s| s.len).max().unwrap_or(0);
        let longest_keys = spans.iter().map(|s| s.keys).max().unwrap_or(0);
        let mut scores = vec![0f32; longest * longest_keys];
        for span in spans.iter().filter(|s| s.len > 0 && s.keys > 0) {
            for head in 0..self.heads {
                self.attend(&qkv, &mut ctx, *span, head, &mut scores);
            }
        }
        let ff = self.ffn_in.outputs();
        let (mut y, mut f) = (vec![0f32; FFN_BLOCK_ROWS * h], vec![0f32; FFN_BLOCK_ROWS * ff]);
        for (x, ctx) in x.chunks_mut(FFN_BLOCK_ROWS * h).zip(ctx.chunks(FFN_BLOCK_ROWS * h)) {
            let m = x.len() / h;
            let (y, f) = (&mut y[..m * h], &mut f[..m * ff]);
            self.attn_out.forward_into(ctx, m, y);
            y.iter_mut().zip(x.iter()).for_each(|(y, x)| *y += x);
            self.attn_norm.apply(y);
            self.ffn_in.forward_into(y, m, f);
            self.ffn_out.forward_into(f, m, x);
            x.iter_mut().zip(y.iter()).for_each(|(x, y)| *x += y);
            self.out_norm.apply(x);
        }
    }

    /// One head of one sequence: `ctx[q rows, head] = softmax(Q·Kᵀ/√d) · V`, read in place from the
    /// fused Q|K|V rows.
    #[inline(always)]
    fn attend(&self, qkv: &[f32], ctx: &mut [f32], span: Span, head: usize, scores: &mut [f32]) {
        let (d, h) = (self.head_dim, self.heads * self.head_dim);
        let (t, keys) = (span.len, span.keys);
        assert!(keys <= t && (span.start + t) * 3 * h <= qkv.len() && (span.start + t) * h <= ctx.len());
        assert!(scores.len() >= t * keys);
        let first = span.start * 3 * h + head * d;
        let (q, k, v) = (qkv[first..].as_ptr(), qkv[first + h..].as_ptr(), qkv[first + 2 * h..].as_ptr());
        let out = ctx[span.start * h + head * d..].as_mut_ptr();
        let stride = (3 * h) as isize;
        // SAFETY: bounds asserted above: Q/K/V rows span.start.. span.start + t (at most `keys`
        // of K and V are read) with stride 3h and d columns from the head's offset; `scores` holds
        // t × keys; `out` writes t rows of d columns at stride h inside `ctx`.
        unsafe {
            // scores (t × keys) = Q (t × d) · Kᵀ (d × keys) / √d
            gemm(
                t,
                keys,
                d,
                scores.as_mut_ptr(),
                1,
                keys as isize,
                false,
                q,
                1,
                stride,
                k,
                stride,
                1,
                0.0,
                1.0 / (d as f32).sqrt(),
                false,
                false,
                false,
                Parallelism::None,
            );
        }
        for row in scores[..t * keys].chunks_exact_mut(keys) {
            softmax(row);
        }
        // SAFETY: as above.
        unsafe {
            // ctx (t × d) = P (t × keys) · V (keys × d)
            gemm(
                t,
                d,
                keys,
                out,
                1,
                h as isize,
                false,
                scores.as_ptr(),
                1,
                keys as isize,
                v,
                1,
                stride,
                0.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_norm_match_plain_formulas() {
        let mut row: Vec<f32> = (0..37).map(|i| ((i * 7919) % 23) as f32 * 0.37 - 4.0).collect();
        let max = row.iter().cloned().fold(f32::MIN, f32::max);
        let total: f32 = row.iter().map(|v| (v - max).exp()).sum();
        let expected: Vec<f32> = row.iter().map(|v| (v - max).exp() / total).collect();
        softmax(&mut row);
        for (a, b) in row.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let norm = Norm { weight: vec![2.0; 37], bias: vec![0.5; 37], eps: 1e-12 };
        let mut x: Vec<f32> = (0..74).map(|i| (i as f32 * 0.3).sin()).collect();
        let original = x.clone();
        norm.apply(&mut x);
        for (out, inp) in x.chunks(37).zip(original.chunks(37)) {
            let mean = inp.iter().sum::<f32>() / 37.0;
            let var = inp.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 37.0;
            for (o, i) in out.iter().zip(inp) {
                let want = (i - mean) / var.sqrt() * 2.0 + 0.5;
                assert!((o - want).abs() < 1e-4, "{o} vs {want}");
            }
        }
    }

    #[test]
    fn spans_pack_sequences_back_to_back() {
        assert_eq!(
            Span::packed([3, 1, 2]),
            vec![Span { start: 0, len: 3, keys: 3 }, Span { start: 3, len: 1, keys: 1 }, Span { start: 4, len: 2, keys: 2 }]
        );
    }
}
