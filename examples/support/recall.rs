//! Shared by the index benchmarks: exact top-10 by brute force, and an index's recall@10 against it
//! with its search latency.
use std::time::Instant;

use medbridge::retrieve::VectorIndex;

/// The 10 nearest of `vectors` to each query by exhaustive dot product (the vectors are normalised).
pub fn exact_top10(vectors: &[Vec<f32>], queries: &[Vec<f32>]) -> Vec<Vec<usize>> {
    queries
        .iter()
        .map(|q| {
            let mut s: Vec<(usize, f32)> = vectors.iter().enumerate().map(|(i, v)| (i, medbridge::encode::dot(v, q))).collect();
            let nth = 10.min(s.len() - 1);
            s.select_nth_unstable_by(nth, |a, b| b.1.total_cmp(&a.1));
            s.truncate(10);
            s.into_iter().map(|(i, _)| i).collect()
        })
        .collect()
}

fn percentile(ms: &mut [f64], p: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() as f64 - 1.0) * p).round() as usize]
}

/// Search each query's top 10 in `index`, print recall@10 against `exact` and the latency p50/p99.
pub fn measure(name: &str, index: &dyn VectorIndex, queries: &[Vec<f32>], exact: &[Vec<usize>]) -> anyhow::Result<(f64, f64)> {
    // One untimed search first: an index may build its search structure on the first one.
    if let Some(q) = queries.first() {
        index.nearest(q, 10)?;
    }
    let mut ms = Vec::new();
    let mut hits = 0;
    for (q, e) in queries.iter().zip(exact) {
        let t = Instant::now();
        let got = index.nearest(q, 10)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += got.iter().filter(|(i, _)| e.contains(i)).count();
    }
    let recall = hits as f64 / (10 * queries.len()) as f64;
    let p50 = percentile(&mut ms, 0.5);
    println!(
        "{name}: recall@10 vs exact {recall:.4} over {} queries; top-10 latency p50 {p50:.3} ms, p99 {:.3} ms",
        queries.len(),
        percentile(&mut ms, 0.99)
    );
    Ok((recall, p50))
}
