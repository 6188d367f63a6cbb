//! Host-side weight preparation: ggml blocks → u32 words the shaders read.
//!
//! WGSL storage has no u8 or f16 (without extensions), and ggml blocks (34 or 18 bytes) are not
//! 4-byte aligned, so each matrix is repacked as `[quants of every block][f16 scales, two per u32]`:
//! Q8_0 blocks give 8 words of i8 quants, Q4_0 blocks 4 words of nibbles in ggml order. The shaders
//! decode it with `shaders/common/qblock.wgsl`.
pub use crate::model::e5s1::quantize_q4_0;
use crate::model::e5s1::{quantize_q8_0, RawDType, RawTensor, Q4_0_BLOCK_BYTES, Q8_0_BLOCK_BYTES, QK};
use crate::{format_err, Result};

/// Weight format of the quantised matrices on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// 8-bit blocks (re-quantised from the f32 values of the source weights): more accurate.
    Q8_0,
    /// The shipped 4-bit blocks as they are: half the memory and bandwidth.
    Q4_0,
}

impl WeightFormat {
    pub(crate) fn qfmt(self) -> u32 {
        match self {
            WeightFormat::Q8_0 => 8,
            WeightFormat::Q4_0 => 4,
        }
    }
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            WeightFormat::Q8_0 => Q8_0_BLOCK_BYTES,
            WeightFormat::Q4_0 => Q4_0_BLOCK_BYTES,
        }
    }
    /// Quant words per block in the packed layout.
    pub(crate) fn qwords(self) -> usize {
        (self.block_bytes() - 2) / 4
    }
    pub(crate) fn raw(self) -> RawDType {
        match self {
            WeightFormat::Q8_0 => RawDType::Q8_0,
            WeightFormat::Q4_0 => RawDType::Q4_0,
        }
    }
}

/// A matrix's ggml blocks in `fmt`, converting (via f32) when the source differs.
pub fn blocks_in(t: &RawTensor, fmt: WeightFormat) -> Result<Vec<u8>> {
    let cols = *t.shape.last().unwrap_or(&0);
    if !cols.is_multiple_of(QK) {
        return Err(format_err!("tensor {} has {cols} columns, not a multiple of {QK}", t.name));
    }
    Ok(if t.dtype == fmt.raw() {
        t.bytes.clone()
    } else {
        match fmt {
            WeightFormat::Q8_0 => quantize_q8_0(&t.to_f32()),
            WeightFormat::Q4_0 => quantize_q4_0(&t.to_f32()),
        }
    })
}

/// Repack ggml blocks into the shader layout; `blocks_cap` ≥ the number of blocks reserves room for
/// quants of that many blocks (so several chunks share one scale offset). Returns (words, scale_off).
pub fn pack_blocks(bytes: &[u8], fmt: WeightFormat, blocks_cap: usize) -> Result<(Vec<u32>, u32)> {
    let bb = fmt.block_bytes();
    if !bytes.len().is_multiple_of(bb) {
        return Err(format_err!("{} bytes is not a whole number of {fmt:?} blocks", bytes.len()));
    }
    let nblocks = bytes.len() / bb;
    let cap = blocks_cap.max(nblocks);
    let qw = fmt.qwords();
    let scale_off = cap * qw;
    let mut words = vec![0u32; scale_off + cap.div_ceil(2)];
    for (b, block) in bytes.chunks_exact(bb).enumerate() {
        for (w, q) in block[2..].chunks_exact(4).enumerate() {
            words[b * qw + w] = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
        }
        let d = u16::from_le_bytes([block[0], block[1]]) as u32;
        words[scale_off + b / 2] |= d << (16 * (b % 2));
    }
    if scale_off > u32::MAX as usize || words.len() > u32::MAX as usize {
        return Err(format_err!("tensor too large for 32-bit indexing"));
    }
    Ok((words, scale_off as u32))
}

/// Bytes of one packed chunk of `rows` rows of `blocks_per_row` blocks.
pub fn packed_bytes(rows: usize, blocks_per_row: usize, fmt: WeightFormat) -> u64 {
    let blocks = rows * blocks_per_row;
    ((blocks * fmt.qwords() + blocks.div_ceil(2)) * 4) as u64
}
