// Mean pooling over unmasked tokens then L2 normalisation; one workgroup per batch item.
// x: [batch*seq, h]; mask: [batch*seq]; out: [batch, h]. Mirrors the CPU: count clamped to 1e-9,
// norm clamped to 1e-12.
struct Params { batch: u32, seq: u32, h: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 128u;
//#include "common/reduce.wgsl"

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let b = wg.x;
    var cnt = 0.0;
    for (var t = 0u; t < p.seq; t++) { cnt += mask[b * p.seq + t]; }
    cnt = max(cnt, 1e-9);
    var ss = 0.0;
    for (var d = lid; d < p.h; d += WG) {
        var s = 0.0;
        for (var t = 0u; t < p.seq; t++) {
            s = fma(x[(b * p.seq + t) * p.h + d], mask[b * p.seq + t], s);
        }
        let mean = s / cnt;
        out[b * p.h + d] = mean;
        ss += mean * mean;
    }
    let norm = max(sqrt(reduce_sum(ss, lid)), 1e-12);
    for (var d = lid; d < p.h; d += WG) {
        out[b * p.h + d] = out[b * p.h + d] / norm;
    }
}
