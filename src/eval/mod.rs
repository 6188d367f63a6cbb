//! Ranking metrics (BEIR / pytrec_eval conventions) and TREC run files.
//!
//! Conventions used by [`evaluate`]:
//!
//! * A document is relevant when its qrels grade is `> 0` (trec_eval's default
//!   `relevance_level` 1). Unjudged documents count as non-relevant.
//! * The evaluated queries are those in the qrels with at least one relevant
//!   document. A query like that which is missing from the run (or has an empty
//!   ranking) scores 0 on every metric; run queries without qrels are ignored.
//! * Rankings are taken in the order given (best first, as [`Run`] requires);
//!   a document repeated in a ranking only counts at its first position.
//!   (trec_eval instead re-sorts by score, breaking ties by doc id descending;
//!   for rankings sorted by score without ties the two agree.)
//! * `Recall@k` = |relevant ∩ top k| / |relevant| (not capped at k, as pytrec_eval's
//!   `recall_k`, so with more than k relevant docs it cannot reach 1).
//! * `MRR@10` = 1 / rank of the first relevant document in the top 10, else 0.
//! * `nDCG@10` = DCG@10 / IDCG@10 with gain = grade (linear, as trec_eval's
//!   `ndcg_cut`) and discount 1/log2(rank + 1); the ideal ranking sorts all
//!   positively-graded judged documents by grade.
//! * `MAP@10` = Σ_{relevant hits at rank r ≤ 10} precision@r / |relevant| — the
//!   denominator is the total number of relevant documents, exactly as
//!   trec_eval's `map_cut_10` (which BEIR reports), not min(|relevant|, 10).
//!   So a query with more than 10 relevant documents cannot reach MAP@10 = 1.
//! * `MAP` = the same over the whole ranking (trec_eval's `map`, uninterpolated average
//!   precision; CodiEsp-D's official metric): relevant documents never retrieved add 0.
//! * Every metric is the unweighted mean over evaluated queries.
pub mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::Qrels;
use crate::{Error, Result};

use crate::retrieve::{Method, Run};

/// What `medbridge eval --out FILE` writes: the labels `medbridge report` groups by, what was
/// evaluated and how, and the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// The evaluation set's name in the report (default: the queries file).
    pub set: String,
    /// The system's name in the report (default: method, model and reranking).
    pub system: String,
    pub queries: std::path::PathBuf,
    pub qrels: std::path::PathBuf,
    pub index: std::path::PathBuf,
    pub method: Method,
    /// Candidates the reranker saw per query (0: no reranking).
    pub rerank: usize,
    pub reranker_model_id: Option<String>,
    pub first_stage_weight: Option<f32>,
    /// Below this share of its pairs read, a query kept the first stage's order (see `Reranker::min_seen`).
    #[serde(default)]
    pub rerank_min_seen: Option<f32>,
    pub rerank_catalog: Option<std::path::PathBuf>,
    pub model_id: String,
    pub metrics: Metrics,
}

/// Mean metrics over the evaluated queries (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of evaluated queries (qrels queries with ≥1 relevant doc).
    pub queries: usize,
    pub mrr_at_10: f64,
    pub recall_at_1: f64,
    pub recall_at_3: f64,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    pub ndcg_at_10: f64,
    pub map_at_10: f64,
    /// Over the whole ranking (absent from metrics written before it existed: read as 0).
    #[serde(default)]
    pub map: f64,
}

impl Metrics {
    /// Header matching [`Metrics::table_row`].
    pub fn table_header() -> &'static str {
        "queries  MRR@10    R@1    R@3    R@5   R@10 nDCG@10 MAP@10    MAP"
    }

    /// One line, metrics in percent: `  381   45.12  38.00  ...`.
    pub fn table_row(&self) -> String {
        format!(
            "{:>7} {:>7.2} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>7.2} {:>6.2} {:>6.2}",
            self.queries,
            100.0 * self.mrr_at_10,
            100.0 * self.recall_at_1,
            100.0 * self.recall_at_3,
            100.0 * self.recall_at_5,
            100.0 * self.recall_at_10,
            100.0 * self.ndcg_at_10,
            100.0 * self.map_at_10,
            100.0 * self.map,
        )
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} MRR@10={:.4} R@1={:.4} R@3={:.4} R@5={:.4} R@10={:.4} nDCG@10={:.4} MAP@10={:.4} MAP={:.4}",
            self.queries,
            self.mrr_at_10,
            self.recall_at_1,
            self.recall_at_3,
            self.recall_at_5,
            self.recall_at_10,
            self.ndcg_at_10,
            self.map_at_10,
            self.map
        )
    }
}

/// Per-query metrics; `ranking` best first, `judged` the query's qrels.
/// Returns `None` when the query has no relevant document.
fn query_metrics(ranking: &[(String, f32)], judged: &BTreeMap<String, i32>) -> Option<[f64; 8]> {
    let n_rel = judged.values().filter(|&&g| g > 0).count();
    if n_rel == 0 {
        return None;
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut rr = 0.0;
    let mut hits_at = [0usize; 4]; // @1, @3, @5, @10
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut ap_sum = 0.0;
    let mut ap_at_10 = 0.0;
    let mut rank = 0usize;
    for (doc, _) in ranking {
        if !seen.insert(doc.as_str()) {
            continue;
        }
        rank += 1;
        let grade = judged.get(doc).copied().unwrap_or(0);
        if grade > 0 {
            hits += 1;
            ap_sum += hits as f64 / rank as f64;
        }
        if rank > 10 {
            continue; // beyond the cut-off only the whole list's average precision counts
        }
        if grade > 0 {
            if rr == 0.0 {
                rr = 1.0 / rank as f64;
            }
            dcg += grade as f64 / (rank as f64 + 1.0).log2();
            ap_at_10 = ap_sum;
        }
        // after the loop hits_at[k] = hits within the first min(k, len) ranks
        for (slot, k) in [1usize, 3, 5, 10].into_iter().enumerate() {
            if rank <= k {
                hits_at[slot] = hits;
            }
        }
    }
    let mut grades: Vec<i32> = judged.values().copied().filter(|&g| g > 0).collect();
    grades.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = grades.iter().take(10).enumerate().map(|(i, &g)| g as f64 / (i as f64 + 2.0).log2()).sum();
    let r = |h: usize| h as f64 / n_rel as f64;
    let ap = |sum: f64| sum / n_rel as f64;
    Some([rr, r(hits_at[0]), r(hits_at[1]), r(hits_at[2]), r(hits_at[3]), dcg / idcg, ap(ap_at_10), ap(ap_sum)])
}

/// Scores `run` against `qrels`; see the module docs for the exact conventions.
pub fn evaluate(run: &Run, qrels: &Qrels) -> Metrics {
    let empty: Vec<(String, f32)> = Vec::new();
    let mut sums = [0.0f64; 8];
    let mut n = 0usize;
    for (qid, judged) in qrels {
        let ranking = run.get(qid).unwrap_or(&empty);
        if let Some(m) = query_metrics(ranking, judged) {
            n += 1;
            for (s, v) in sums.iter_mut().zip(m) {
                *s += v;
            }
        }
    }
    if n == 0 {
        return Metrics::default();
    }
    let mean = |i: usize| sums[i] / n as f64;
    Metrics {
        queries: n,
        mrr_at_10: mean(0),
        recall_at_1: mean(1),
        recall_at_3: mean(2),
        recall_at_5: mean(3),
        recall_at_10: mean(4),
        ndcg_at_10: mean(5),
        map_at_10: mean(6),
        map: mean(7),
    }
}

/// Writes `run` in TREC format, one line per result:
/// `qid Q0 docid rank score tag` (rank from 1, in the run's order).
/// Ids must not contain whitespace (the format cannot represent it).
pub fn write_trec_run(path: impl AsRef<Path>, run: &Run, tag: &str) -> Result<()> {
    let path = path.as_ref();
    let bad = |s: &str| s.is_empty() || s.chars().any(char::is_whitespace);
    if bad(tag) {
        return Err(Error::Invalid(format!("run tag {tag:?} must be non-empty without whitespace")));
    }
    crate::io::write_atomic_with(path, |w| {
        for (qid, ranking) in run {
            if bad(qid) {
                return Err(Error::Invalid(format!("query id {qid:?} cannot be written to a TREC run")));
            }
            for (i, (doc, score)) in ranking.iter().enumerate() {
                if bad(doc) {
                    return Err(Error::Invalid(format!("doc id {doc:?} cannot be written to a TREC run")));
                }
                writeln!(w, "{qid} Q0 {doc} {} {score} {tag}", i + 1).map_err(|e| Error::io(path, e))?;
            }
        }
        Ok(())
    })
}

/// Reads a TREC run (`qid Q0 docid rank score tag`, whitespace separated;
/// blank lines skipped). Each ranking is sorted by score descending, ties by
/// the file's rank. A doc repeated for the same query is an error.
pub fn read_trec_run(path: impl AsRef<Path>) -> Result<Run> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut tmp: BTreeMap<String, Vec<(String, f32, i64)>> = BTreeMap::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() != 6 {
            return Err(Error::parse(path, line_no, format!("expected 6 fields (qid Q0 docid rank score tag), found {}", fields.len())));
        }
        let rank: i64 = fields[3].parse().map_err(|_| Error::parse(path, line_no, format!("rank {:?} is not an integer", fields[3])))?;
        let score: f32 = fields[4].parse().map_err(|_| Error::parse(path, line_no, format!("score {:?} is not a number", fields[4])))?;
        if score.is_nan() {
            return Err(Error::parse(path, line_no, "score is NaN"));
        }
        let (qid, doc) = (fields[0].to_string(), fields[2].to_string());
        if let Some(first) = seen.insert((qid.clone(), doc.clone()), line_no) {
            return Err(Error::parse(path, line_no, format!("doc {doc} listed twice for query {qid} (first at line {first})")));
        }
        tmp.entry(qid).or_default().push((doc, score, rank));
    }
    Ok(tmp
        .into_iter()
        .map(|(qid, mut v)| {
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
            (qid, v.into_iter().map(|(d, s, _)| (d, s)).collect())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(docs: &[&str]) -> Vec<(String, f32)> {
        docs.iter().enumerate().map(|(i, d)| (d.to_string(), 100.0 - i as f32)).collect()
    }
    fn judged(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }
    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn first_relevant_at_rank_3() {
        let run: Run = [("q".to_string(), ranking(&["a", "b", "r", "c"]))].into();
        let qrels: Qrels = [("q".to_string(), judged(&[("r", 1)]))].into();
        let m = evaluate(&run, &qrels);
        assert_eq!(m.queries, 1);
        close(m.mrr_at_10, 1.0 / 3.0);
        close(m.recall_at_1, 0.0);
        close(m.recall_at_3, 1.0);
        close(m.recall_at_5, 1.0);
        close(m.recall_at_10, 1.0);
        close(m.ndcg_at_10, 1.0 / 4f64.log2()); // 0.5
        close(m.map_at_10, 1.0 / 3.0);
        close(m.map, 1.0 / 3.0);
    }

    #[test]
    fn graded_ndcg_and_map() {
        // grades: x=2, y=1, z=3 (z never retrieved). Ranking: x, n, y.
        let run: Run = [("q".to_string(), ranking(&["x", "n", "y"]))].into();
        let qrels: Qrels = [("q".to_string(), judged(&[("x", 2), ("y", 1), ("z", 3), ("n", 0)]))].into();
        let m = evaluate(&run, &qrels);
        let dcg = 2.0 / 2f64.log2() + 1.0 / 4f64.log2(); // 2 + 0.5
        let idcg = 3.0 + 2.0 / 3f64.log2() + 1.0 / 4f64.log2();
        close(m.ndcg_at_10, dcg / idcg);
        close(m.mrr_at_10, 1.0);
        close(m.recall_at_1, 1.0 / 3.0);
        close(m.recall_at_3, 2.0 / 3.0);
        // AP: hits at rank 1 (P=1) and 3 (P=2/3), 3 relevant
        close(m.map_at_10, (1.0 + 2.0 / 3.0) / 3.0);
    }

    #[test]
    fn nothing_relevant_retrieved_and_missing_query() {
        let run: Run = [("q1".to_string(), ranking(&["a", "b"]))].into();
        let qrels: Qrels = [
            ("q1".to_string(), judged(&[("r", 1)])),
            ("q2".to_string(), judged(&[("r", 1)])), // not in run: zeros
            ("q3".to_string(), judged(&[("a", 0)])), // no relevant: skipped
        ]
        .into();
        let m = evaluate(&run, &qrels);
        assert_eq!(m.queries, 2);
        assert_eq!(m, Metrics { queries: 2, ..Metrics::default() });

        let run2: Run = [("q2".to_string(), ranking(&["r"]))].into();
        let m = evaluate(&run2, &qrels);
        close(m.mrr_at_10, 0.5);
        close(m.recall_at_1, 0.5);
        close(m.ndcg_at_10, 0.5);
        assert_eq!(evaluate(&run, &Qrels::new()), Metrics::default());
    }

    #[test]
    fn more_than_ten_relevant() {
        // 12 relevant docs r0..r11, ranking returns r0..r9 then r10, r11.
        let rel: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
        let names: Vec<&str> = rel.iter().map(String::as_str).collect();
        let run: Run = [("q".to_string(), ranking(&names))].into();
        let qrels: Qrels = [("q".to_string(), rel.iter().map(|d| (d.clone(), 1)).collect())].into();
        let m = evaluate(&run, &qrels);
        close(m.mrr_at_10, 1.0);
        close(m.recall_at_1, 1.0 / 12.0);
        close(m.recall_at_5, 5.0 / 12.0);
        close(m.recall_at_10, 10.0 / 12.0);
        close(m.ndcg_at_10, 1.0); // ideal ranking is cut at 10 too
        close(m.map_at_10, 10.0 / 12.0); // trec_eval map_cut: divides by all 12
        close(m.map, 1.0); // the whole list: all 12 at ranks 1..12
    }

    #[test]
    fn map_reads_the_whole_ranking() {
        // Relevant at ranks 2, 11 and 20 (a duplicate at 3 does not take a rank), one never retrieved.
        let mut docs: Vec<String> = (0..21).map(|i| format!("n{i}")).collect();
        docs[1] = "a".into();
        docs[2] = "a".into();
        docs[11] = "b".into();
        docs[20] = "c".into();
        let names: Vec<&str> = docs.iter().map(String::as_str).collect();
        let run: Run = [("q".to_string(), ranking(&names))].into();
        let qrels: Qrels = [("q".to_string(), judged(&[("a", 1), ("b", 1), ("c", 2), ("d", 1)]))].into();
        let m = evaluate(&run, &qrels);
        close(m.map_at_10, (1.0 / 2.0) / 4.0);
        close(m.map, (1.0 / 2.0 + 2.0 / 11.0 + 3.0 / 20.0) / 4.0);
        close(m.recall_at_10, 1.0 / 4.0); // the cut-off metrics still stop at rank 10
        close(m.mrr_at_10, 0.5);
        // metrics written before MAP existed still load (as 0)
        let old = r#"{"queries":1,"mrr_at_10":0.5,"recall_at_1":0,"recall_at_3":0,"recall_at_5":0,"recall_at_10":0,"ndcg_at_10":0,"map_at_10":0}"#;
        assert_eq!(serde_json::from_str::<Metrics>(old).unwrap().map, 0.0);
        assert!(m.table_row().split_whitespace().count() == 9 && Metrics::table_header().ends_with("MAP"));
    }

    #[test]
    fn duplicates_in_ranking_count_once() {
        let run: Run = [("q".to_string(), ranking(&["a", "a", "r"]))].into();
        let qrels: Qrels = [("q".to_string(), judged(&[("r", 1)]))].into();
        close(evaluate(&run, &qrels).mrr_at_10, 0.5);
    }

    #[test]
    fn trec_run_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run.trec");
        let run: Run = [
            ("q1".to_string(), vec![("d1".to_string(), 2.5f32), ("d2".to_string(), 1.25)]),
            ("q2".to_string(), vec![("d9".to_string(), 0.1)]),
        ]
        .into();
        write_trec_run(&p, &run, "bm25").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.25 bm25\n"), "{text}");
        assert_eq!(read_trec_run(&p).unwrap(), run);

        std::fs::write(&p, "q1 Q0 d1 1 2.5 t\nq1 Q0 d2 x 1 t\n").unwrap();
        let e = read_trec_run(&p).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("rank"), "{e}");
        std::fs::write(&p, "q1 Q0 d1 1 2.5\n").unwrap();
        assert!(read_trec_run(&p).unwrap_err().to_string().contains(":1:"));
        // re-sorted by score
        std::fs::write(&p, "q1 Q0 a 1 1.0 t\nq1 Q0 b 2 3.0 t\n").unwrap();
        assert_eq!(read_trec_run(&p).unwrap()["q1"][0].0, "b");
        assert!(write_trec_run(&p, &run, "has space").is_err());
    }
}
