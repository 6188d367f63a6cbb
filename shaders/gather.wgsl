// Embedding sum before layer norm: out[m, d] = word[ids[m], d] + pos[m % seq, d] + type0[d].
// The word table (Q8_0 or Q4_0, repacked as in common/qblock.wgsl) is split by rows over up to four
// storage buffers t0..t3 of p.rows_per_chunk rows each, so no binding exceeds the device's
// maxStorageBufferBindingSize. Each chunk: quants of its rows, then f16 scales (two per u32) at
// p.scale_off (the same offset in every chunk: chunks are laid out for rows_per_chunk rows).
// pos_type: [max_pos * h] position rows, then the token-type-0 row at p.type_off.
// Prefix constant: QFMT (8 or 4). One invocation per output element; ids were checked on the host.
struct Params { tokens: u32, seq: u32, h: u32, rows_per_chunk: u32, scale_off: u32, type_off: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> t0: array<u32>;
@group(0) @binding(3) var<storage, read> t1: array<u32>;
@group(0) @binding(4) var<storage, read> t2: array<u32>;
@group(0) @binding(5) var<storage, read> t3: array<u32>;
@group(0) @binding(6) var<storage, read> pos_type: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
//#include "common/qblock.wgsl"

fn word(c: u32, i: u32) -> u32 {
    if (c == 0u) { return t0[i]; }
    if (c == 1u) { return t1[i]; }
    if (c == 2u) { return t2[i]; }
    return t3[i];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + lid;
    if (i >= p.tokens * p.h) { return; }
    let m = i / p.h;
    let d = i % p.h;
    let id = ids[m];
    let c = id / p.rows_per_chunk;
    let r = id % p.rows_per_chunk;
    let blk = r * (p.h / 32u) + d / 32u;
    let j = d % 32u;
    let v = q_value(word(c, q_word(blk, j)), j) * q_scale(word(c, q_scale_word(p.scale_off, blk)), blk);
    out[i] = v + pos_type[(m % p.seq) * p.h + d] + pos_type[p.type_off + d];
}
