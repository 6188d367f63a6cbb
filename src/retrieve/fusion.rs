//! Fusing rankings: score fusion of the dense and lexical lists (hybrid search) and of the reranker
//! with the first stage.
use std::collections::{BTreeSet, HashMap};

/// Each score's distance from the list's mean in standard deviations (all 0 when the scores are
/// equal): puts cosines, BM25 scores and logits on one scale without calibration.
pub fn standardise(v: &[f32]) -> Vec<f32> {
    let n = v.len().max(1) as f32;
    let mean = v.iter().sum::<f32>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
    v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
}

/// Score fusion of two ranked lists of one query (each id at most once per list): a result scores
/// z(a) + `w_b` · z(b), each list standardised over itself ([`standardise`]); a result one list
/// lacks counts as that list's lowest (an empty list adds nothing). Sorted by fused score, ties by
/// id. Unlike rank fusion it keeps how far ahead a list's leaders are: on CasiMedicos it beat
/// reciprocal-rank fusion in every language pair (README, "Which first stage").
pub fn zscore_fusion<'a>(a: &[(&'a str, f32)], b: &[(&'a str, f32)], w_b: f32) -> Vec<(&'a str, f32)> {
    let z = |l: &[(&'a str, f32)]| -> (HashMap<&'a str, f32>, f32) {
        let zs = standardise(&l.iter().map(|x| x.1).collect::<Vec<_>>());
        let floor = zs.iter().copied().fold(f32::INFINITY, f32::min);
        (l.iter().map(|x| x.0).zip(zs).collect(), if floor.is_finite() { floor } else { 0.0 })
    };
    let ((za, fa), (zb, fb)) = (z(a), z(b));
    let ids: BTreeSet<&str> = za.keys().chain(zb.keys()).copied().collect();
    let mut out: Vec<(&str, f32)> =
        ids.into_iter().map(|id| (id, za.get(id).copied().unwrap_or(fa) + w_b * zb.get(id).copied().unwrap_or(fb))).collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(y.0)));
    out
}

/// The final scores of reranked candidates: seen · z(reranker) + w · z(first stage), each
/// standardised over the candidates of one query. Standardising makes the two scales comparable
/// (cosines in a narrow band, logits, BM25 scores) without calibration; the first stage's opinion
/// keeps the reranker from throwing away what the bi-encoder already ranks well. `seen` (0–1) is
/// the share of the pairs' tokens the reranker could read within its limit: a reranker trained on
/// short pairs that saw a tenth of two long documents should not overrule a first stage that read
/// them whole.
pub fn fuse_scores(reranker: &[f32], first_stage: &[f32], w: f32, seen: f32) -> Vec<f32> {
    if w == 0.0 {
        return reranker.to_vec();
    }
    standardise(reranker).iter().zip(standardise(first_stage)).map(|(r, f)| seen * r + w * f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(s: &[f32]) -> Vec<usize> {
        let mut o: Vec<usize> = (0..s.len()).collect();
        o.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        o
    }

    #[test]
    fn fusion_moves_from_the_reranker_to_the_first_stage_with_the_weight() {
        let reranker = [2.0, 0.0, 1.0, -1.0];
        let first = [0.80, 0.92, 0.90, 0.85];
        assert_eq!(fuse_scores(&reranker, &first, 0.0, 1.0), reranker.to_vec());
        assert_eq!(order(&fuse_scores(&reranker, &first, 0.0, 1.0)), [0, 2, 1, 3]);
        assert_eq!(order(&fuse_scores(&reranker, &first, 100.0, 1.0)), [1, 2, 3, 0]);
        // in between both count: the candidate both like (2) wins
        assert_eq!(order(&fuse_scores(&reranker, &first, 1.0, 1.0))[0], 2);
        // standardised: rescaling or shifting the first stage's scores changes nothing
        let scaled: Vec<f32> = first.iter().map(|x| 40.0 * x + 3.0).collect();
        let (a, b) = (fuse_scores(&reranker, &first, 1.0, 1.0), fuse_scores(&reranker, &scaled, 1.0, 1.0));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4), "{a:?} {b:?}");
        // a reranker that read little of the texts counts for little: at seen 0.1 the first stage leads
        assert_eq!(order(&fuse_scores(&reranker, &first, 1.0, 0.1))[..2], [1, 2]);
        // equal scores (one candidate, or ties) give no NaN
        assert!(fuse_scores(&[1.0], &[0.5], 1.0, 1.0).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn zscore_fusion_weighs_how_far_ahead_each_list_puts_a_result() {
        let list = |v: &[(&'static str, f32)]| v.to_vec();
        // dense is sure of x (far ahead); bm25 mildly prefers y: x wins, where rank fusion would tie them
        let dense = list(&[("x", 0.9), ("y", 0.5), ("z", 0.49)]);
        let bm25 = list(&[("y", 12.0), ("x", 11.0), ("w", 2.0)]);
        let f = zscore_fusion(&dense, &bm25, 1.0);
        let ids: Vec<&str> = f.iter().map(|(d, _)| *d).collect();
        assert_eq!(ids[..2], ["x", "y"], "{f:?}");
        assert_eq!(ids.len(), 4, "the union of both lists: {f:?}");
        // a result one list lacks counts as that list's lowest: w (bm25 only) ranks below z's dense floor + bm25 floor
        let z = |id: &str| f.iter().find(|x| x.0 == id).unwrap().1;
        let (zd, zb) = (standardise(&[0.9, 0.5, 0.49]), standardise(&[12.0, 11.0, 2.0]));
        assert!((z("w") - (zd[2] + zb[2])).abs() < 1e-5 && (z("z") - (zd[2] + zb[2])).abs() < 1e-5, "{f:?}");
        // the weight moves the order toward the weighted list; an empty list leaves the other's order
        assert_eq!(zscore_fusion(&dense, &bm25, 10.0)[0].0, "y");
        let alone: Vec<&str> = zscore_fusion(&dense, &[], 0.7).into_iter().map(|x| x.0).collect();
        assert_eq!(alone, ["x", "y", "z"]);
        // rescaling a list changes nothing
        let scaled: Vec<(&str, f32)> = bm25.iter().map(|(d, s)| (*d, 3.0 * s + 7.0)).collect();
        let g = zscore_fusion(&dense, &scaled, 1.0);
        assert!(f.iter().zip(&g).all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() < 1e-4), "{f:?} {g:?}");
    }
}
