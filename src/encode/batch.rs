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
    fn padding_masks_the_pad_tokens() {
        let (ids, mask) = pad(&[&[5, 6], &[7]], 3, 0).unwrap();
        assert_eq!(ids, vec![5, 6, 0, 7, 0, 0]);
        assert_eq!(mask, vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert!(pad(&[&[1, 2, 3, 4]], 3, 0).is_err());
    }
}
