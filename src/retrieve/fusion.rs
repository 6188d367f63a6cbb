//! Fusing rankings: reciprocal-rank fusion of runs (hybrid search) and the reranker's score fusion.
use std::collections::{BTreeMap, HashMap, HashSet};

use super::Run;

/// Reciprocal-rank fusion (Cormack et al. 2009): each doc scores
/// Σ_runs 1 / (k + rank) with rank from 1 in each run where it appears
/// (`k` = 60 is the usual choice). Output covers the union of queries and
/// documents, sorted by fused score descending, ties by doc id ascending.
/// Input scores are ignored; only ranks matter.
pub fn reciprocal_rank_fusion(runs: &[&Run], k: f64) -> Run {
    let mut fused: BTreeMap<&str, HashMap<&str, f64>> = BTreeMap::new();
    for run in runs {
        for (qid, ranking) in run.iter() {
            let acc = fused.entry(qid.as_str()).or_default();
            let mut seen = HashSet::new();
            let mut rank = 0usize;
            for (doc, _) in ranking {
                if !seen.insert(doc.as_str()) {
                    continue;
                }
                rank += 1;
                *acc.entry(doc.as_str()).or_insert(0.0) += 1.0 / (k + rank as f64);
            }
        }
    }
    fused
        .into_iter()
        .map(|(qid, acc)| {
            let mut v: Vec<(&str, f64)> = acc.into_iter().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            (qid.to_string(), v.into_iter().map(|(d, s)| (d.to_string(), s as f32)).collect())
        })
        .collect()
}

/// The final scores of reranked candidates: seen · z(reranker) + w · z(first stage), each
/// standardised over the candidates of one query. Standardising makes the two scales comparable
/// (cosines in a narrow band, logits, BM25 scores) without calibration; the first stage's opinion
/// keeps the reranker from throwing away what the bi-encoder already ranks well. `seen` (0–1) is
/// the share of the pairs' tokens the reranker could read within its limit: a reranker trained on
/// short pairs that saw a tenth of two long documents should not overrule a first stage that read
/// them whole.
pub fn fuse_scores(reranker: &[f32], first_stage: &[f32], w: f32, seen: f32) -> Vec<f32> {
    fn z(v: &[f32]) -> Vec<f32> {
        let n = v.len().max(1) as f32;
        let mean = v.iter().sum::<f32>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
        v.iter().map(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 }).collect()
    }
    if w == 0.0 {
        return reranker.to_vec();
    }
    z(reranker).iter().zip(z(first_stage)).map(|(r, f)| seen * r + w * f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(docs: &[&str]) -> Vec<(String, f32)> {
        docs.iter().enumerate().map(|(i, d)| (d.to_string(), 100.0 - i as f32)).collect()
    }

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
    fn rrf_fuses_by_rank() {
        let a: Run = [("q".to_string(), ranking(&["x", "y", "z"]))].into();
        let b: Run = [("q".to_string(), ranking(&["y", "w"])), ("q2".to_string(), ranking(&["v"]))].into();
        let f = reciprocal_rank_fusion(&[&a, &b], 60.0);
        let q = &f["q"];
        let docs: Vec<&str> = q.iter().map(|(d, _)| d.as_str()).collect();
        // y: 1/62 + 1/61; x: 1/61; w: 1/62; z: 1/63
        assert_eq!(docs, ["y", "x", "w", "z"]);
        assert!((q[0].1 as f64 - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(f["q2"].len(), 1);
    }
}
