//! Int8 matrix products for the CPU inference path (native and the page's wasm engine).
//!
//! A linear layer's weight is quantised once to int8 with one scale per output row; each token's
//! activations are quantised at run time to 12 bits with one scale per token; the products are
//! summed exactly in i32 and scaled back. Measured on e5-small: int8 activations cost too much
//! (cosine to f32 down to 0.9985 on ICD-10 texts), 12 bits do not (≥ 0.9998), and 12 × 8 bits
//! still sums 8,192 products in i32 without overflow. Both operands are held as i16 pairs, the
//! shape of the integer dot instructions: AVX-512 VNNI `vpdpwssd` (32 multiply-adds per
//! instruction, against 16 for f32 FMA) and wasm SIMD128 `i32x4.dot_i16x8` (8, against 4 for f32
//! without FMA). The f32 candle path stays the reference (training, tests, `--precision f32`).
//!
//! The weight layout follows the kernel chosen when the matrix is built (the CPU's features are
//! probed once), so the inner loops only stream memory. The epilogue adds the bias and, for the
//! feed-forward's first matrix, applies GELU (a vectorisable erf; libm's scalar erf cost a quarter
//! of the f32 forward pass).
use candle_core::{CpuStorage, Layout, Shape, Tensor};

use crate::{format_err, Result};

/// Weights: symmetric int8 (−127..=127).
const WEIGHT_MAX: f32 = 127.0;
/// Activations: symmetric 12-bit.
const ACT_MAX: f32 = 2047.0;
/// Longest input whose sums cannot overflow i32: 2047 · 127 · 8192 < 2³¹.
const MAX_INPUTS: usize = 8192;

/// A thread's working buffers (quantised activations, their scales, the i32 sums), kept between
/// products: fresh multi-megabyte buffers per product cost a fifth of the forward pass in page faults.
#[derive(Default)]
struct Scratch {
    acts: Vec<i16>,
    act_scales: Vec<f32>,
    acc: Vec<i32>,
}

impl Scratch {
    /// The three buffers at these lengths (contents unspecified: every caller overwrites them).
    fn take(&mut self, acts: usize, scales: usize, acc: usize) -> (&mut [i16], &mut [f32], &mut [i32]) {
        grow(&mut self.acts, acts);
        grow(&mut self.act_scales, scales);
        grow(&mut self.acc, acc);
        (&mut self.acts[..acts], &mut self.act_scales[..scales], &mut self.acc[..acc])
    }
}

fn grow<T: Default + Clone>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Which kernel this CPU runs (probed once); it fixes the weight layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kernel {
    /// Row-major weights, plain loops (auto-vectorised): any CPU, and the reference in tests.
    Portable,
    /// AVX-512 VNNI: panels of 32 output rows.
    #[cfg(target_arch = "x86_64")]
    Vnni,
    /// AVX2 (`vpmaddwd`, 16 multiply-adds per instruction): panels of 16 output rows.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// wasm SIMD128: panels of 8 output rows.
    #[cfg(target_arch = "wasm32")]
    Simd128,
}

impl Kernel {
    /// The fastest kernel this CPU runs, or the one `MEDBRIDGE_INT8_KERNEL` names
    /// (`portable|avx2|vnni`, for benchmarks) if the CPU runs it.
    pub fn detect() -> Self {
        let best = Self::best();
        match std::env::var("MEDBRIDGE_INT8_KERNEL") {
            Ok(name) => Self::available().into_iter().find(|k| k.as_str() == name).unwrap_or(best),
            Err(_) => best,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => "vnni",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
            #[cfg(target_arch = "wasm32")]
            Kernel::Simd128 => "simd128",
        }
    }

    fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                return Kernel::Vnni;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Kernel::Avx2;
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            return Kernel::Simd128;
        }
        #[allow(unreachable_code)]
        Kernel::Portable
    }

    /// Every kernel this CPU can run (the tests compare them).
    pub fn available() -> Vec<Self> {
        let mut out = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                out.push(Kernel::Avx2);
            }
            if Self::best() == Kernel::Vnni {
                out.push(Kernel::Vnni);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        out.push(Kernel::Simd128);
        out
    }

    /// Output rows per panel (the weight layout's width).
    fn panel(self) -> usize {
        match self {
            Kernel::Portable => 1,
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => 32,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => 16,
            #[cfg(target_arch = "wasm32")]
            Kernel::Simd128 => 8,
        }
    }
}

/// `y = x · Wᵀ + b` (optionally followed by GELU) with `W` in int8; `x` is `(…, k)` f32.
#[derive(Clone)]
pub struct Int8Linear {
    n: usize,
    k: usize,
    /// `k` rounded up to even (inputs go in pairs; the pad is zero).
    kp: usize,
    kernel: Kernel,
    /// Portable: `n × kp` row-major. Panels: for each panel of `P` rows, for each input pair,
    /// `P` × (w[k], w[k+1]).
    packed: Vec<i16>,
    /// Per output row: the weight's quantisation step.
    scales: Vec<f32>,
    bias: Vec<f32>,
    gelu: bool,
}

/// Nearest integer (halves away from zero) by truncation: `f32::round` is a libm call on x86-64's
/// baseline (no SSE4.1), a tenth of the whole forward pass. `x` must be finite and |x| < 2³¹ (every
/// caller clamps it first): the unchecked conversion vectorises, `as i32`'s saturation does not
/// (measured: the scalar quantisation loop was ~8% of a passage's forward pass).
#[inline(always)]
fn round_to_i32(x: f32) -> i32 {
    debug_assert!(x.is_finite() && x.abs() < 2e9);
    // SAFETY: callers pass finite values far inside i32's range (see above).
    unsafe { (x + copysign(0.5, x)).to_int_unchecked::<i32>() }
}

/// The larger of two finite values, as a compare-and-select: `f32::max` (IEEE maxNum, NaN-aware)
/// is a call to libm's `fmaxf` in wasm (seen in a Chromium profile of the page), which keeps the
/// loops using it scalar. Callers pass finite values, or catch NaN otherwise.
#[inline(always)]
pub(crate) fn max_f32(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// The smaller of two finite values (see [`max_f32`]).
#[inline(always)]
fn min_f32(a: f32, b: f32) -> f32 {
    if a < b {
        a
    } else {
        b
    }
}

/// `magnitude` with the sign of `sign`, by bits, so that loops using it vectorise in wasm too.
#[inline(always)]
fn copysign(magnitude: f32, sign: f32) -> f32 {
    f32::from_bits((magnitude.to_bits() & 0x7fff_ffff) | (sign.to_bits() & 0x8000_0000))
}

/// Symmetric quantisation of one row to ±`max`: returns the step (NaN if the row is not finite).
#[inline(always)]
fn quantize_row(row: &[f32], max: f32, out: &mut [i16]) -> f32 {
    // Sixteen lanes, so the reductions vectorise; `max` skips NaN, so the sum catches it (and inf).
    let (mut lane_max, mut lane_sum) = ([0f32; 16], [0f32; 16]);
    let chunks = row.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            lane_max[i] = max_f32(lane_max[i], c[i].abs());
            lane_sum[i] += c[i] * 0.0;
        }
    }
    for (i, v) in rest.iter().enumerate() {
        lane_max[i] = max_f32(lane_max[i], v.abs());
        lane_sum[i] += v * 0.0;
    }
    let amax = lane_max.iter().fold(0f32, |a, &b| max_f32(a, b)) + lane_sum.iter().sum::<f32>();
    if amax == 0.0 || !amax.is_finite() {
        out.iter_mut().for_each(|q| *q = 0);
        return if amax == 0.0 { 1.0 } else { f32::NAN };
    }
    let step = amax / max;
    let inv = 1.0 / step;
    #[cfg(target_arch = "wasm32")]
    let (out, row) = lanes::quantize(row, inv, max, out);
    for (q, v) in out.iter_mut().zip(row) {
        *q = round_to_i32(min_f32(max_f32(v * inv, -max), max)) as i16;
    }
    step
}

impl Int8Linear {
    /// Quantise `weight` (`n × k`, row-major f32) for `kernel`.
    pub fn new(weight: &[f32], n: usize, k: usize, bias: Option<&[f32]>, gelu: bool, kernel: Kernel) -> Result<Self> {
        if weight.len() != n * k {
            return Err(format_err!("int8 linear: weight has {} values, expected {n} × {k}", weight.len()));
        }
        if k > MAX_INPUTS {
            return Err(format_err!("int8 linear: {k} inputs exceed the {MAX_INPUTS} whose sums fit in i32"));
        }
        // The kernels' `unsafe` rests on this: a layout is only built for a kernel this CPU runs.
        if !Kernel::available().contains(&kernel) {
            return Err(format_err!("int8 linear: this CPU cannot run the {} kernel", kernel.as_str()));
        }
        if let Some(b) = bias {
            if b.len() != n {
                return Err(format_err!("int8 linear: bias has {} values, expected {n}", b.len()));
            }
        }
        let panel = kernel.panel();
        let kp = k.div_ceil(2) * 2;
        let np = n.div_ceil(panel) * panel;
        let mut rows = vec![0i16; np * kp];
        let mut scales = vec![0f32; n];
        for j in 0..n {
            scales[j] = quantize_row(&weight[j * k..(j + 1) * k], WEIGHT_MAX, &mut rows[j * kp..j * kp + k]);
            if scales[j].is_nan() {
                return Err(format_err!("int8 linear: weight row {j} is not finite"));
            }
        }
        let packed = if panel == 1 {
            rows
        } else {
            let mut p = Vec::with_capacity(np * kp);
            for first in (0..np).step_by(panel) {
                for s in 0..kp / 2 {
                    for c in 0..panel {
                        let r = (first + c) * kp + s * 2;
                        p.extend_from_slice(&rows[r..r + 2]);
                    }
                }
            }
            p
        };
        Ok(Self { n, k, kp, kernel, packed, scales, bias: bias.map(|b| b.to_vec()).unwrap_or_else(|| vec![0.0; n]), gelu })
    }

    /// From a candle linear layer's f32 weight (`n × k`) and bias.
    pub fn from_linear(linear: &candle_nn::Linear, gelu: bool, kernel: Kernel) -> Result<Self> {
        let (n, k) = linear.weight().dims2()?;
        let w = linear.weight().flatten_all()?.to_vec1::<f32>()?;
        let b = linear.bias().map(|b| b.to_vec1::<f32>()).transpose()?;
        Self::new(&w, n, k, b.as_deref(), gelu, kernel)
    }

    /// `m` rows of `x` (`m × k`) → `m × n`.
    pub fn forward_slice(&self, x: &[f32], m: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * self.n];
        self.forward_into(x, m, &mut out);
        out
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// `m` rows of `x` (`m × k`) → `out` (`m × n`), overwritten.
    pub fn forward_into(&self, x: &[f32], m: usize, out: &mut [f32]) {
        assert!(x.len() == m * self.k && out.len() == m * self.n, "int8 linear: {m} rows of {} → {}", self.k, self.n);
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            match self.kernel {
                // SAFETY (both): `new` builds a layout only for a kernel this CPU runs.
                #[cfg(target_arch = "x86_64")]
                Kernel::Vnni => unsafe { self.forward_avx512(x, m, out, scratch) },
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { self.forward_avx2(x, m, out, scratch) },
                _ => self.forward_body(x, m, out, scratch),
            }
        })
    }

    /// The whole product (quantisation and epilogue too) compiled for AVX-512, so that its loops
    /// vectorise 16 wide.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    unsafe fn forward_avx512(&self, x: &[f32], m: usize, out: &mut [f32], scratch: &mut Scratch) {
        self.forward_body(x, m, out, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&self, x: &[f32], m: usize, out: &mut [f32], scratch: &mut Scratch) {
        self.forward_body(x, m, out, scratch)
    }

    #[inline(always)]
    fn forward_body(&self, x: &[f32], m: usize, out: &mut [f32], scratch: &mut Scratch) {
        let (n, k, kp) = (self.n, self.k, self.kp);
        // Sums for the output width rounded up to the panel (the kernels store whole panels).
        let np = n.div_ceil(self.kernel.panel()) * self.kernel.panel();
        let (acts, act_scales, acc) = scratch.take(m * kp, m, m * np);
        for i in 0..m {
            let row = &mut acts[i * kp..(i + 1) * kp];
            act_scales[i] = quantize_row(&x[i * k..(i + 1) * k], ACT_MAX, &mut row[..k]);
            row[k..].iter_mut().for_each(|q| *q = 0);
        }
        let products = |acts: &[i16], acc: &mut [i32]| {
            let m = acts.len() / kp;
            match self.kernel {
                Kernel::Portable => portable(acts, &self.packed, m, n, kp, acc),
                // SAFETY (both): `new` builds a layout only for a kernel this CPU runs.
                #[cfg(target_arch = "x86_64")]
                Kernel::Vnni => unsafe { vnni::matmul(acts, &self.packed, m, np, kp, acc) },
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { avx2::matmul(acts, &self.packed, m, np, kp, acc) },
                #[cfg(target_arch = "wasm32")]
                Kernel::Simd128 => simd128::matmul(acts, &self.packed, m, np, kp, acc),
            }
        };
        // Natively, large products are split by rows over the current rayon pool's threads
        // (RAYON_NUM_THREADS; one on an encoder's batch worker, src/encode): each thread streams the
        // whole weight, which stays in its core's cache.
        #[cfg(not(target_arch = "wasm32"))]
        {
            let threads = rayon::current_num_threads().min(m / 16).max(1);
            if threads > 1 && m * n * kp >= 1 << 22 {
                let rows = m.div_ceil(threads);
                std::thread::scope(|scope| {
                    let mut parts = acts.chunks(rows * kp).zip(acc.chunks_mut(rows * np));
                    let first = parts.next();
                    for (a, c) in parts {
                        scope.spawn(move || products(a, c));
                    }
                    if let Some((a, c)) = first {
                        products(a, c);
                    }
                });
            } else {
                products(acts, acc);
            }
        }
        #[cfg(target_arch = "wasm32")]
        products(acts, acc);
        for i in 0..m {
            let sa = act_scales[i];
            let (row, acc_row) = (&mut out[i * n..(i + 1) * n], &acc[i * np..i * np + n]);
            for j in 0..n {
                row[j] = acc_row[j] as f32 * (sa * self.scales[j]) + self.bias[j];
            }
            if self.gelu {
                gelu_erf(row);
            }
        }
    }

    /// Apply to a tensor `(…, k)` on the CPU.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.apply_op1_no_bwd(self)?)
    }
}

impl candle_core::CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("int8 linear: input must be f32");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("int8 linear: input must be contiguous");
        };
        let dims = layout.shape().dims();
        if dims.last() != Some(&self.k) {
            candle_core::bail!("int8 linear: input {:?} does not end in {} features", dims, self.k);
        }
        let m = layout.shape().elem_count() / self.k;
        let out = self.forward_slice(&data[start..end], m);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("checked above") = self.n;
        Ok((CpuStorage::F32(out), Shape::from(out_dims)))
    }
}

fn portable(acts: &[i16], w: &[i16], m: usize, n: usize, kp: usize, acc: &mut [i32]) {
    for i in 0..m {
        let a = &acts[i * kp..(i + 1) * kp];
        for j in 0..n {
            let b = &w[j * kp..(j + 1) * kp];
            acc[i * n + j] = a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum();
        }
    }
}

/// Activation bytes of one block of rows: every panel of the weight passes over the same block
/// while it is in cache instead of re-reading a batch's whole activations per panel. Measured
/// neutral, natively and in the page (the page's faster small batches were padding, fixed by
/// `encode::batch::padding_aware_batches`).
const ROW_BLOCK_BYTES: usize = 64 << 10;

/// Loop over blocks of rows, then panels, then row tiles: `tile(rows, a_rows, panel, out)` writes
/// one tile of `P` sums per row into `out` (row stride `np`, the output width rounded up to `P`).
fn tiled<const P: usize, const TILE: usize>(
    a: &[i16],
    w: &[i16],
    m: usize,
    kp: usize,
    acc: &mut [i32],
    mut tile: impl FnMut(usize, &[i16], &[i16], &mut [i32]),
) {
    let np = acc.len() / m.max(1);
    let block = (ROW_BLOCK_BYTES / (2 * kp.max(1)) / TILE).max(1) * TILE;
    for start in (0..m).step_by(block) {
        let end = m.min(start + block);
        for (p, panel) in w.chunks_exact(kp * P).enumerate() {
            let mut i = start;
            while i < end {
                let rows = TILE.min(end - i);
                tile(rows, &a[i * kp..(i + rows) * kp], panel, &mut acc[i * np + p * P..]);
                i += rows;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    /// 12 rows × 2 registers of 16 outputs = 24 accumulators (of 32 zmm registers): each panel
    /// load feeds 24 dot instructions.
    const TILE: usize = 12;

    /// # Safety
    /// The CPU must have AVX-512F/BW and VNNI; `w` must be packed for `Kernel::Vnni`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn matmul(a: &[i16], w: &[i16], m: usize, np: usize, kp: usize, acc: &mut [i32]) {
        super::tiled::<32, TILE>(a, w, m, kp, acc, |rows, a, panel, out| {
            // SAFETY: the caller guarantees the features; `tiled` passes `rows` whole rows and one panel.
            unsafe {
                match rows {
                    12 => tile::<12>(a, kp, panel, out, np),
                    11 => tile::<11>(a, kp, panel, out, np),
                    10 => tile::<10>(a, kp, panel, out, np),
                    9 => tile::<9>(a, kp, panel, out, np),
                    8 => tile::<8>(a, kp, panel, out, np),
                    7 => tile::<7>(a, kp, panel, out, np),
                    6 => tile::<6>(a, kp, panel, out, np),
                    5 => tile::<5>(a, kp, panel, out, np),
                    4 => tile::<4>(a, kp, panel, out, np),
                    3 => tile::<3>(a, kp, panel, out, np),
                    2 => tile::<2>(a, kp, panel, out, np),
                    _ => tile::<1>(a, kp, panel, out, np),
                }
            }
        });
    }

    /// `acc += pairwise products of a and b`, as the one `vpdpwssd` instruction: written as
    /// `_mm512_dpwssd_epi32`, LLVM splits it into `vpmaddwd` + `vpaddd` for CPUs it does not know to
    /// be fast at VNNI (the generic x86-64 target), two µops where one is enough — measured: the
    /// kernel ran at half the rate, 1 instead of 2 products of 16 lanes per cycle.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vnni")]
    unsafe fn dpwssd(acc: &mut __m512i, a: __m512i, b: __m512i) {
        // SAFETY: the caller has AVX-512 VNNI (every caller is `target_feature`-gated); registers only.
        unsafe {
            std::arch::asm!("vpdpwssd {acc}, {a}, {b}", acc = inout(zmm_reg) *acc, a = in(zmm_reg) a, b = in(zmm_reg) b,
                options(pure, nomem, nostack, preserves_flags));
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const R: usize>(a: &[i16], kp: usize, panel: &[i16], out: &mut [i32], np: usize) {
        assert!(a.len() >= R * kp && panel.len() >= kp * 32 && out.len() >= (R - 1) * np + 32);
        let mut lo = [_mm512_setzero_si512(); R];
        let mut hi = [_mm512_setzero_si512(); R];
        for s in 0..kp / 2 {
            // SAFETY: bounds asserted above (s·64 + 64 ≤ kp·32; r·kp + s·2 + 2 ≤ R·kp).
            unsafe {
                let b0 = _mm512_loadu_si512(panel.as_ptr().add(s * 64) as *const _);
                let b1 = _mm512_loadu_si512(panel.as_ptr().add(s * 64 + 32) as *const _);
                for r in 0..R {
                    let pair = (a.as_ptr().add(r * kp + s * 2) as *const i32).read_unaligned();
                    let av = _mm512_set1_epi32(pair);
                    dpwssd(&mut lo[r], av, b0);
                    dpwssd(&mut hi[r], av, b1);
                }
            }
        }
        for r in 0..R {
            // SAFETY: asserted above: row r's 32 sums start at r·np, inside `out`.
            unsafe {
                _mm512_storeu_si512(out.as_mut_ptr().add(r * np) as *mut _, lo[r]);
                _mm512_storeu_si512(out.as_mut_ptr().add(r * np + 16) as *mut _, hi[r]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 6 rows × 2 registers of 8 outputs = 12 accumulators (of 16 ymm registers).
    const TILE: usize = 6;

    /// # Safety
    /// The CPU must have AVX2; `w` must be packed for `Kernel::Avx2`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn matmul(a: &[i16], w: &[i16], m: usize, np: usize, kp: usize, acc: &mut [i32]) {
        super::tiled::<16, TILE>(a, w, m, kp, acc, |rows, a, panel, out| {
            // SAFETY: the caller guarantees AVX2; `tiled` passes `rows` whole rows and one panel.
            unsafe {
                match rows {
                    6 => tile::<6>(a, kp, panel, out, np),
                    5 => tile::<5>(a, kp, panel, out, np),
                    4 => tile::<4>(a, kp, panel, out, np),
                    3 => tile::<3>(a, kp, panel, out, np),
                    2 => tile::<2>(a, kp, panel, out, np),
                    _ => tile::<1>(a, kp, panel, out, np),
                }
            }
        });
    }

    #[target_feature(enable = "avx2")]
    unsafe fn tile<const R: usize>(a: &[i16], kp: usize, panel: &[i16], out: &mut [i32], np: usize) {
        assert!(a.len() >= R * kp && panel.len() >= kp * 16 && out.len() >= (R - 1) * np + 16);
        let mut lo = [_mm256_setzero_si256(); R];
        let mut hi = [_mm256_setzero_si256(); R];
        for s in 0..kp / 2 {
            // SAFETY: bounds asserted above (s·32 + 32 ≤ kp·16; r·kp + s·2 + 2 ≤ R·kp).
            unsafe {
                let b0 = _mm256_loadu_si256(panel.as_ptr().add(s * 32) as *const _);
                let b1 = _mm256_loadu_si256(panel.as_ptr().add(s * 32 + 16) as *const _);
                for r in 0..R {
                    let pair = (a.as_ptr().add(r * kp + s * 2) as *const i32).read_unaligned();
                    let av = _mm256_set1_epi32(pair);
                    lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(av, b0));
                    hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(av, b1));
                }
            }
        }
        for r in 0..R {
            // SAFETY: asserted above: row r's 16 sums start at r·np, inside `out`.
            unsafe {
                _mm256_storeu_si256(out.as_mut_ptr().add(r * np) as *mut _, lo[r]);
                _mm256_storeu_si256(out.as_mut_ptr().add(r * np + 8) as *mut _, hi[r]);
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use std::arch::wasm32::*;

    /// 4 rows × 2 registers of 4 outputs = 8 accumulators (engines map v128 to 16 xmm registers).
    const TILE: usize = 4;

    pub fn matmul(a: &[i16], w: &[i16], m: usize, np: usize, kp: usize, acc: &mut [i32]) {
        super::tiled::<8, TILE>(a, w, m, kp, acc, |rows, a, panel, out| match rows {
            4 => tile::<4>(a, kp, panel, out, np),
            3 => tile::<3>(a, kp, panel, out, np),
            2 => tile::<2>(a, kp, panel, out, np),
            _ => tile::<1>(a, kp, panel, out, np),
        });
    }

    #[inline(always)]
    fn tile<const R: usize>(a: &[i16], kp: usize, panel: &[i16], out: &mut [i32], np: usize) {
        assert!(a.len() >= R * kp && panel.len() >= kp * 8 && out.len() >= (R - 1) * np + 8);
        let mut lo = [i32x4_splat(0); R];
        let mut hi = [i32x4_splat(0); R];
        for s in 0..kp / 2 {
            // SAFETY: bounds asserted above (s·16 + 16 ≤ kp·8; r·kp + s·2 + 2 ≤ R·kp).
            unsafe {
                let b0 = v128_load(panel.as_ptr().add(s * 16) as *const v128);
                let b1 = v128_load(panel.as_ptr().add(s * 16 + 8) as *const v128);
                for r in 0..R {
                    let pair = (a.as_ptr().add(r * kp + s * 2) as *const i32).read_unaligned();
                    let av = i32x4_splat(pair);
                    lo[r] = i32x4_add(lo[r], i32x4_dot_i16x8(av, b0));
                    hi[r] = i32x4_add(hi[r], i32x4_dot_i16x8(av, b1));
                }
            }
        }
        for r in 0..R {
            // SAFETY: asserted above: row r's 8 sums start at r·np, inside `out`.
            unsafe {
                v128_store(out.as_mut_ptr().add(r * np) as *mut v128, lo[r]);
                v128_store(out.as_mut_ptr().add(r * np + 4) as *mut v128, hi[r]);
            }
        }
    }
}

/// The loops that LLVM leaves scalar in wasm (its SIMD128 cost model does not vectorise float →
/// int conversion, so the rounding in quantisation, GELU and softmax's exp ran one value at a time:
/// measured in V8, GELU at 20 ns and quantisation at 5 ns per value, a quarter of the page's forward
/// pass), written with SIMD128 intrinsics. Same operations in the same order as the scalar code,
/// so the results are bit-identical; each returns the tail (< 4 or 8 values) for the scalar loop.
#[cfg(target_arch = "wasm32")]
pub(crate) mod lanes {
    use std::arch::wasm32::*;

    /// `x + copysign(0.5, x)` truncated: [`super::round_to_i32`] on four lanes.
    #[inline(always)]
    fn round(x: v128) -> v128 {
        let half = v128_or(v128_and(x, u32x4_splat(0x8000_0000)), f32x4_splat(0.5));
        i32x4_trunc_sat_f32x4(f32x4_add(x, half))
    }

    /// [`super::exp_neg`] on four lanes (`max_f32(a, b)` is `f32x4_pmax(b, a)`).
    #[inline(always)]
    fn exp_neg(z: v128) -> v128 {
        let x = f32x4_pmax(f32x4_splat(-87.0), f32x4_neg(z));
        let n = round(f32x4_mul(x, f32x4_splat(std::f32::consts::LOG2_E)));
        let r = f32x4_sub(x, f32x4_mul(f32x4_convert_i32x4(n), f32x4_splat(std::f32::consts::LN_2)));
        let c = |v: f32| f32x4_splat(v);
        let mut p = f32x4_add(c(1.0 / 120.0), f32x4_mul(r, c(1.0 / 720.0)));
        p = f32x4_add(c(1.0 / 24.0), f32x4_mul(r, p));
        p = f32x4_add(c(1.0 / 6.0), f32x4_mul(r, p));
        p = f32x4_add(c(0.5), f32x4_mul(r, p));
        p = f32x4_add(c(1.0), f32x4_mul(r, p));
        p = f32x4_add(c(1.0), f32x4_mul(r, p));
        f32x4_mul(p, i32x4_shl(i32x4_add(n, i32x4_splat(127)), 23))
    }

    /// [`super::erf`] on four lanes.
    #[inline(always)]
    fn erf(x: v128) -> v128 {
        let c = |v: f32| f32x4_splat(v);
        let a = f32x4_abs(x);
        let t = f32x4_div(c(1.0), f32x4_add(c(1.0), f32x4_mul(c(0.327_591_1), a)));
        let mut poly = f32x4_add(c(-1.453_152_1), f32x4_mul(t, c(1.061_405_4)));
        poly = f32x4_add(c(1.421_413_7), f32x4_mul(t, poly));
        poly = f32x4_add(c(-0.284_496_74), f32x4_mul(t, poly));
        poly = f32x4_add(c(0.254_829_6), f32x4_mul(t, poly));
        poly = f32x4_mul(t, poly);
        let y = f32x4_sub(c(1.0), f32x4_mul(poly, exp_neg(f32x4_mul(a, a))));
        v128_or(v128_and(y, u32x4_splat(0x7fff_ffff)), v128_and(x, u32x4_splat(0x8000_0000)))
    }

    /// `f` over `xs` in place, four values at a time; returns the rest (< 4) for the scalar loop.
    #[inline(always)]
    fn map4(xs: &mut [f32], f: impl Fn(v128) -> v128) -> &mut [f32] {
        let (body, rest) = xs.split_at_mut(xs.len() / 4 * 4);
        for chunk in body.chunks_exact_mut(4) {
            // SAFETY: a chunk is four f32 (16 bytes); unaligned v128 loads and stores are allowed.
            unsafe {
                let p = chunk.as_mut_ptr() as *mut v128;
                v128_store(p, f(v128_load(p)));
            }
        }
        rest
    }

    /// [`super::gelu_erf`] over whole groups of four; returns the rest.
    #[inline(always)]
    pub(crate) fn gelu_erf(xs: &mut [f32]) -> &mut [f32] {
        map4(xs, |v| {
            let e = erf(f32x4_mul(v, f32x4_splat(std::f32::consts::FRAC_1_SQRT_2)));
            f32x4_mul(f32x4_mul(f32x4_splat(0.5), v), f32x4_add(f32x4_splat(1.0), e))
        })
    }

    /// `v = exp_neg(max − v)` (softmax's numerator) over whole groups of four; returns the rest.
    #[inline(always)]
    pub(crate) fn exp_neg_from(xs: &mut [f32], max: f32) -> &mut [f32] {
        map4(xs, |v| exp_neg(f32x4_sub(f32x4_splat(max), v)))
    }

    /// The rounding loop of [`super::quantize_row`] over whole groups of eight; returns the rest.
    #[inline(always)]
    pub(crate) fn quantize<'a, 'b>(row: &'a [f32], inv: f32, max: f32, out: &'b mut [i16]) -> (&'b mut [i16], &'a [f32]) {
        let whole = row.len().min(out.len()) / 8 * 8;
        let (lo, hi, scale) = (f32x4_splat(-max), f32x4_splat(max), f32x4_splat(inv));
        let q = |v: v128| round(f32x4_pmin(hi, f32x4_pmax(lo, f32x4_mul(v, scale))));
        for (o, r) in out[..whole].chunks_exact_mut(8).zip(row[..whole].chunks_exact(8)) {
            // SAFETY: eight f32 in, eight i16 (16 bytes) out; unaligned v128 access is allowed.
            unsafe {
                let a = q(v128_load(r.as_ptr() as *const v128));
                let b = q(v128_load(r.as_ptr().add(4) as *const v128));
                v128_store(o.as_mut_ptr() as *mut v128, i16x8_narrow_i32x4(a, b));
            }
        }
        (&mut out[whole..], &row[whole..])
    }
}

/// GELU with the exact (erf) form, in place; |error| < 3e-7 against libm.
#[inline(always)]
pub fn gelu_erf(xs: &mut [f32]) {
    #[cfg(target_arch = "wasm32")]
    let xs = lanes::gelu_erf(xs);
    for x in xs.iter_mut() {
        let v = *x;
        *x = 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7) with a branch-free exp, so that loops
/// over it vectorise.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp_neg(a * a);
    copysign(y, x)
}

/// e^(−z) for z ≥ 0 (0 beyond 87), branch-free: 2^n by exponent bits, a degree-6 polynomial for the rest.
#[inline(always)]
pub(crate) fn exp_neg(z: f32) -> f32 {
    let x = max_f32(-z, -87.0);
    let n = round_to_i32(x * std::f32::consts::LOG2_E);
    let r = x - n as f32 * std::f32::consts::LN_2;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(((n + 127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum::<f32>() + b[j];
            }
        }
        out
    }

    #[test]
    fn every_kernel_matches_the_portable_one_exactly_and_f32_closely() {
        // Sizes that exercise partial panels, partial tiles and k not a multiple of the step.
        // The last is large enough to be split over threads natively, and into row blocks.
        for (m, n, k) in [(1, 8, 4), (9, 40, 67), (17, 64, 128), (3, 33, 5), (70, 64, 1100)] {
            let (x, w, b) = (random(m * k, 1), random(n * k, 2), random(n, 3));
            let exact = reference(&x, &w, &b, m, n, k);
            let portable = Int8Linear::new(&w, n, k, Some(&b), false, Kernel::Portable).unwrap().forward_slice(&x, m);
            for kernel in Kernel::available() {
                let got = Int8Linear::new(&w, n, k, Some(&b), false, kernel).unwrap().forward_slice(&x, m);
                assert_eq!(portable, got, "kernel {kernel:?} differs from the portable one at {m}×{n}×{k}");
            }
            let scale = exact.iter().fold(0f32, |a, v| a.max(v.abs()));
            let err = exact.iter().zip(&portable).fold(0f32, |a, (e, p)| a.max((e - p).abs()));
            assert!(err < 0.01 * scale.max(1.0), "int8 error {err} against f32 (scale {scale}) at {m}×{n}×{k}");
        }
    }

    #[test]
    fn gelu_matches_libm_erf() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 / 400.0).collect();
        let mut fast = xs.clone();
        gelu_erf(&mut fast);
        for (x, f) in xs.iter().zip(&fast) {
            let exact = 0.5 * x * (1.0 + libm_erf(x / std::f32::consts::SQRT_2));
            assert!((exact - f).abs() < 1e-6 * (1.0 + x.abs()), "gelu({x}) = {f}, expected {exact}");
        }
    }

    fn libm_erf(x: f32) -> f32 {
        candle_core::Tensor::new(&[x], &candle_core::Device::Cpu).unwrap().erf().unwrap().to_vec1::<f32>().unwrap()[0]
    }

    #[test]
    fn zero_rows_and_bad_weights() {
        let lin = Int8Linear::new(&[0.0; 8], 2, 4, None, false, Kernel::detect()).unwrap();
        assert_eq!(lin.forward_slice(&[1.0, 2.0, 3.0, 4.0], 1), vec![0.0, 0.0]);
        assert!(lin.forward_slice(&[0.0; 4], 1).iter().all(|v| *v == 0.0));
        let err = Int8Linear::new(&[f32::NAN, 0.0, 0.0, 0.0], 1, 4, None, false, Kernel::Portable).err().unwrap();
        assert!(err.to_string().contains("row 0"), "{err}");
        assert!(Int8Linear::new(&[0.0; 7], 2, 4, None, false, Kernel::Portable).is_err());
    }
}
