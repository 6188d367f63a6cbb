//! The one batching path of every forward pass (encoder, reranker, trainer, both backends): sort
//! sequences by length (less padding), cut into batches, pad each batch to its longest, and put the
//! results back in input order.
use candle_core::{Device, Tensor};

use crate::{format_err, Result};

/// Indices of `lens` in ascending length (stable), cut into batches of at most `size`.
pub fn length_sorted_batches(lens: &[usize], size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| lens[i]);
    order.chunks(size.max(1)).map(|c| c.to_vec()).collect()
}

/// A batch is cut early (below `size`) where padding it to the next sequence's length would leave
/// more than this share of its rows padding…
const MAX_PADDING: f64 = 0.2;
/// …once it holds this many tokens: smaller batches lose more to per-batch costs (every weight
/// streamed once per batch) than they save.
const MIN_BATCH_TOKENS: usize = 128;

/// [`length_sorted_batches`], with each batch also cut where padding would waste more than a fifth
/// of it: 32 random ICD-10 descriptions (8–50 tokens) padded to their longest are two-thirds padding.
/// For inference (encoder, reranker): which sequences share a batch changes nothing but speed.
pub fn padding_aware_batches(lens: &[usize], size: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for sorted in length_sorted_batches(lens, size) {
        let mut batch: Vec<usize> = Vec::with_capacity(sorted.len());
        let mut tokens = 0;
        for i in sorted {
            let padded = (batch.len() + 1) * lens[i];
            if tokens >= MIN_BATCH_TOKENS && padded as f64 * (1.0 - MAX_PADDING) > (tokens + lens[i]) as f64 {
                out.push(std::mem::take(&mut batch));
                tokens = 0;
            }
            batch.push(i);
            tokens += lens[i];
        }
        out.push(batch);
    }
    out
}

/// Run `f` over length-sorted batches of `seqs` and return its results in the order of `seqs`;
/// `progress(done, total)` after each batch. `f` gets one batch and returns one result per sequence.
pub fn map_batches<T: Default + Clone>(
    seqs: &[&[u32]],
    size: usize,
    mut f: impl FnMut(&[&[u32]]) -> Result<Vec<T>>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<T>> {
    let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
    let mut out = vec![T::default(); seqs.len()];
    let mut done = 0;
    for chunk in length_sorted_batches(&lens, size) {
        let batch: Vec<&[u32]> = chunk.iter().map(|&i| seqs[i]).collect();
        let results = f(&batch)?;
        if results.len() != chunk.len() {
            return Err(format_err!("a batch of {} sequences gave {} results", chunk.len(), results.len()));
        }
        for (&i, r) in chunk.iter().zip(results) {
            out[i] = r;
        }
        done += chunk.len();
        progress(done, seqs.len());
    }
    Ok(out)
}

/// Padded ids (row-major, `seqs.len() × seq`) and the 0/1 mask of a batch.
pub fn pad(seqs: &[&[u32]], seq: usize, pad_id: u32) -> Result<(Vec<u32>, Vec<f32>)> {
    let mut ids = Vec::with_capacity(seqs.len() * seq);
    let mut mask = Vec::with_capacity(seqs.len() * seq);
    for s in seqs {
        if s.len() > seq {
            return Err(format_err!("sequence of {} tokens does not fit the padded length {seq}", s.len()));
        }
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad_id, seq - s.len()));
        mask.extend((0..seq).map(|i| if i < s.len() { 1f32 } else { 0.0 }));
    }
    Ok((ids, mask))
}

/// [`pad`] with the mask as a (batch, seq) tensor on `device`.
pub fn pad_tensor(seqs: &[&[u32]], seq: usize, pad_id: u32, device: &Device) -> Result<(Vec<u32>, Tensor)> {
    let (ids, mask) = pad(seqs, seq, pad_id)?;
    Ok((ids, Tensor::from_vec(mask, (seqs.len(), seq), device)?))
}

/// The longest sequence of a batch (at least 1).
pub fn longest(seqs: &[&[u32]]) -> usize {
    seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_length_sorted_and_results_come_back_in_order() {
        let seqs: Vec<Vec<u32>> = vec![vec![1; 5], vec![1; 2], vec![1; 9], vec![1; 1], vec![1; 3]];
        let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
        assert_eq!(length_sorted_batches(&[5, 2, 9, 1, 3], 2), vec![vec![3, 1], vec![4, 0], vec![2]]);
        let mut seen = Vec::new();
        let out = map_batches(&refs, 2, |b| Ok(b.iter().map(|s| s.len()).collect()), |d, t| seen.push((d, t))).unwrap();
        assert_eq!(out, vec![5, 2, 9, 1, 3]);
        assert_eq!(seen, vec![(2, 5), (4, 5), (5, 5)]);
        assert!(map_batches(&refs, 2, |_| Ok(vec![0usize]), |_, _| {}).is_err());
    }

    #[test]
    fn batches_are_cut_where_padding_would_dominate() {
        // 20 short sequences then 4 long ones: padding the short ones to 100 would be 80 % padding.
        let lens: Vec<usize> = [vec![100; 4], vec![10; 20]].concat();
        assert_eq!(padding_aware_batches(&lens, 32), vec![(4..24).collect::<Vec<_>>(), vec![0, 1, 2, 3]]);
        // Below the token floor nothing is cut; the size limit still holds; similar lengths stay together.
        assert_eq!(padding_aware_batches(&[50, 2, 3], 32), vec![vec![1, 2, 0]]);
        assert_eq!(padding_aware_batches(&[10; 5], 2), vec![vec![0, 1], vec![2, 3], vec![4]]);
        let similar: Vec<usize> = (0..32).map(|i| 40 + i % 5).collect();
        assert_eq!(padding_aware_batches(&similar, 32).len(), 1);
        let all: Vec<usize> = padding_aware_batches(&lens, 7).concat();
        assert_eq!(all.len(), lens.len(), "every sequence exactly once");
    }

    #[test]
    fn padding_masks_the_pad_tokens() {
        let (ids, mask) = pad(&[&[5, 6], &[7]], 3, 0).unwrap();
        assert_eq!(ids, vec![5, 6, 0, 7, 0, 0]);
        assert_eq!(mask, vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert!(pad(&[&[1, 2, 3, 4]], 3, 0).is_err());
    }
}
