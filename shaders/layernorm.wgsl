// y = (x - mean) / sqrt(var + eps) * gamma + beta over rows of length p.h; one workgroup per row
// (row = wg.y * nwg.x + wg.x). Two-pass mean / variance in workgroup memory.
struct Params { rows: u32, h: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const WG: u32 = 128u;
//#include "common/reduce.wgsl"

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * nwg.x + wg.x;
    if (row >= p.rows) { return; } // uniform per workgroup
    let base = row * p.h;
    var s = 0.0;
    for (var i = lid; i < p.h; i += WG) { s += x[base + i]; }
    let mean = reduce_sum(s, lid) / f32(p.h);
    var s2 = 0.0;
    for (var i = lid; i < p.h; i += WG) { let d = x[base + i] - mean; s2 += d * d; }
    let inv = inverseSqrt(reduce_sum(s2, lid) / f32(p.h) + p.eps);
    for (var i = lid; i < p.h; i += WG) {
        y[base + i] = (x[base + i] - mean) * inv * gamma[i] + beta[i];
    }
}
