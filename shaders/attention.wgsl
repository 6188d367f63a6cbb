// Self-attention with a padding mask, per (query block, head, batch item).
// qkv: [batch*seq, 3*h] (q | k | v, head hh at columns hh*HD..); mask: [batch*seq] 1.0 token / 0.0 pad;
// out: [batch*seq, h]. One invocation per query row, online softmax over key tiles of 32 kept in
// workgroup memory. Masked keys get weight exactly 0 (as with the CPU's -1e9 bias).
// Prefix constant: HD (head dim).
struct Params { batch: u32, seq: u32, h: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const KT: u32 = 32u;
var<workgroup> Ks: array<f32, KT * HD>;
var<workgroup> Vs: array<f32, KT * HD>;
var<workgroup> Ms: array<f32, KT>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let head = wg.y;
    let b = wg.z;
    let t = wg.x * WG + lid;
    let h3 = 3u * p.h;
    let valid = t < p.seq;
    var q: array<f32, HD>;
    var acc: array<f32, HD>;
    let qrow = (b * p.seq + min(t, p.seq - 1u)) * h3 + head * HD;
    for (var d = 0u; d < HD; d++) { q[d] = qkv[qrow + d] * p.scale; acc[d] = 0.0; }
    var mx = -3.0e38;
    var l = 0.0;
    for (var j0 = 0u; j0 < p.seq; j0 += KT) {
        for (var e = lid; e < KT * HD; e += WG) {
            let jj = e / HD;
            let d = e % HD;
            let key = j0 + jj;
            var kv = 0.0;
            var vv = 0.0;
            if (key < p.seq) {
                let r = (b * p.seq + key) * h3 + head * HD + d;
                kv = qkv[r + p.h];
                vv = qkv[r + 2u * p.h];
            }
            Ks[e] = kv;
            Vs[e] = vv;
        }
        if (lid < KT) {
            let key = j0 + lid;
            Ms[lid] = select(0.0, mask[b * p.seq + min(key, p.seq - 1u)], key < p.seq);
        }
        workgroupBarrier();
        let n = min(KT, p.seq - j0);
        for (var jj = 0u; jj < n; jj++) {
            if (Ms[jj] < 0.5) { continue; }
            var s = 0.0;
            for (var d = 0u; d < HD; d++) { s = fma(q[d], Ks[jj * HD + d], s); }
            if (s > mx) {
                let c = exp(mx - s);
                l = l * c;
                for (var d = 0u; d < HD; d++) { acc[d] = acc[d] * c; }
                mx = s;
            }
            let e = exp(s - mx);
            l += e;
            for (var d = 0u; d < HD; d++) { acc[d] = fma(e, Vs[jj * HD + d], acc[d]); }
        }
        workgroupBarrier();
    }
    if (valid) {
        let inv = select(0.0, 1.0 / l, l > 0.0);
        let o = (b * p.seq + t) * p.h + head * HD;
        for (var d = 0u; d < HD; d++) { out[o + d] = acc[d] * inv; }
    }
}
