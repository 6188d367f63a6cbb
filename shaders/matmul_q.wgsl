// y[m, n] = sum_k x[m, k] * W[n, k] + bias[n]  (then optional GELU, optional residual add).
// W is quantised along k in blocks of 32 (ggml Q8_0 or Q4_0) and repacked as in common/qblock.wgsl,
// blocks row-major by (n, k-block), scales at p.scale_off.
// Prefix constants (set by the host): QFMT (8 or 4), ACT (0 none, 1 GELU), RESID (0/1).
// Tile 64x64 outputs per 256-invocation workgroup, k in steps of 16; each invocation owns 4x4 outputs.
struct Params { m: u32, n: u32, k: u32, scale_off: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
//#include "common/qblock.wgsl"
//#include "common/gelu.wgsl"

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let m0 = wg.y * BM;
    let n0 = wg.x * BN;
    let tx = tid % 16u;
    let ty = tid / 16u;
    let lr = tid / 4u;       // row of the tile this invocation loads (0..63)
    let lp = tid % 4u;       // which 4 k-values of the 16 it loads
    let nb = p.k / 32u;
    // 4x4 register tile as four vec4 rows (no dynamically indexed private arrays: slow on some drivers)
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        // activations
        let am = m0 + lr;
        for (var i = 0u; i < 4u; i++) {
            let kk = lp * 4u + i;
            var v = 0.0;
            if (am < p.m) { v = x[am * p.k + k0 + kk]; }
            As[kk * BM + lr] = v;
        }
        // weights, dequantised
        let bn = n0 + lr;
        var wv = vec4<f32>(0.0);
        if (bn < p.n) {
            let blk = bn * nb + k0 / 32u;
            let j = k0 % 32u + lp * 4u;
            wv = q_values4(w[q_word(blk, j)], j) * q_scale(w[q_scale_word(p.scale_off, blk)], blk);
        }
        for (var i = 0u; i < 4u; i++) {
            Bs[(lp * 4u + i) * BN + lr] = wv[i];
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let ab = kk * BM + ty;
            let bb = kk * BN + tx;
            let bv = vec4<f32>(Bs[bb], Bs[bb + 16u], Bs[bb + 32u], Bs[bb + 48u]);
            acc0 = fma(vec4<f32>(As[ab]), bv, acc0);
            acc1 = fma(vec4<f32>(As[ab + 16u]), bv, acc1);
            acc2 = fma(vec4<f32>(As[ab + 32u]), bv, acc2);
            acc3 = fma(vec4<f32>(As[ab + 48u]), bv, acc3);
        }
        workgroupBarrier();
    }

    store_row(m0 + ty, n0 + tx, acc0);
    store_row(m0 + ty + 16u, n0 + tx, acc1);
    store_row(m0 + ty + 32u, n0 + tx, acc2);
    store_row(m0 + ty + 48u, n0 + tx, acc3);
}

fn store_row(m: u32, n0: u32, v4: vec4<f32>) {
    if (m >= p.m) { return; }
    for (var j = 0u; j < 4u; j++) {
        let n = n0 + 16u * j;
        if (n >= p.n) { continue; }
        var v = v4[j] + bias[n];
        if (ACT == 1u) { v = gelu(v); }
        if (RESID == 1u) { v = v + res[m * p.n + n]; }
        y[m * p.n + n] = v;
    }
}
