// Quantised weights as repacked by the host (src/gpu/pack.rs): blocks of 32 weights (ggml Q8_0 or
// Q4_0) stored as u32 words, [quants of every block, in block order] then [f16 scales, two per u32]
// at a scale offset. Q8_0: 8 words per block, byte j = weight j (i8). Q4_0: 4 words per block, byte
// j low nibble = weight j, high nibble = weight j + 16, value (q - 8) * d.
// The including shader defines QFMT (8 or 4); callers read the words from their own buffers.

// Index of the word holding the scales of block blk (and of its even/odd neighbour).
fn q_scale_word(scale_off: u32, blk: u32) -> u32 {
    return scale_off + (blk >> 1u);
}

// Scale d of block blk, from its scale word.
fn q_scale(sw: u32, blk: u32) -> f32 {
    let v = unpack2x16float(sw);
    return select(v.x, v.y, (blk & 1u) == 1u);
}

// Index of the quant word holding weight j (0..31) of block blk (also weights j..j+3 when 4 | j).
fn q_word(blk: u32, j: u32) -> u32 {
    if (QFMT == 8u) { return blk * 8u + j / 4u; }
    return blk * 4u + (j % 16u) / 4u;
}

// Weight j of a block, before scaling, from its word u = quants[q_word(blk, j)].
fn q_value(u: u32, j: u32) -> f32 {
    if (QFMT == 8u) { return f32(extractBits(bitcast<i32>(u), (j % 4u) * 8u, 8u)); }
    return f32((u >> ((j % 4u) * 8u + select(0u, 4u, j >= 16u))) & 15u) - 8.0;
}

// Weights j..j+3 (4 | j) of a block, before scaling, from their word u = quants[q_word(blk, j)].
fn q_values4(u: u32, j: u32) -> vec4<f32> {
    if (QFMT == 8u) {
        let s = bitcast<i32>(u);
        return vec4<f32>(f32(extractBits(s, 0u, 8u)), f32(extractBits(s, 8u, 8u)), f32(extractBits(s, 16u, 8u)), f32(extractBits(s, 24u, 8u)));
    }
    let sh = select(0u, 4u, j >= 16u);
    let q = vec4<u32>((u >> sh) & 15u, (u >> (8u + sh)) & 15u, (u >> (16u + sh)) & 15u, (u >> (24u + sh)) & 15u);
    return vec4<f32>(q) - 8.0;
}
