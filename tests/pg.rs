//! PostgreSQL + pgvector (issue 16), end to end on a real cluster: `scripts/pg-cluster.sh start` (installs
//! PostgreSQL 15 and pgvector 0.8.0 when missing; a coordinator and two shards on 127.0.0.1), then the
//! Spanish catalogue slice's index (the CLI and page tests' one, 11,957 passages) exported to one node and
//! to the two shards. Asserts: recall@10 of both against exact search ≥ 0.99, `eval --pg` equal to
//! `eval --index` within 0.005 on CodiEsp dev mentions (those whose code is in the slice), a re-export
//! loads nothing, another model's collection is refused, and an export killed half-way and rerun ends
//! complete and equal. The cluster is stopped at the end, pass or fail.
mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use medbridge::encode::{Encoder, Kind};
use medbridge::retrieve::index::{Index, IndexBuilder};
use medbridge::retrieve::pg::{self, PgIndex};
use medbridge::retrieve::VectorIndex;

/// The cluster's ports: scripts/pg-cluster.sh's, moved by MEDBRIDGE_PG_PORT as there.
fn port() -> u16 {
    std::env::var("MEDBRIDGE_PG_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(56432)
}

fn url(offset: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{}/postgres", port() + offset)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn medbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medbridge")).args(args).env("RAYON_NUM_THREADS", "1").output().unwrap()
}

fn ok(args: &[&str]) -> (String, String) {
    let out = medbridge(args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "medbridge {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

fn cluster(cmd: &str) {
    let status = Command::new("bash").arg(root().join("scripts/pg-cluster.sh")).arg(cmd).status().unwrap();
    assert!(status.success(), "scripts/pg-cluster.sh {cmd} failed");
}

/// Stops the cluster when the test ends, passed or not.
struct Cluster;
impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(root().join("scripts/pg-cluster.sh")).arg("stop").status();
    }
}

/// The CLI tests' index of the Spanish catalogue slice (built by tests/browser/page-index.sh if missing).
fn slice_index() -> PathBuf {
    let path = root().join("target/test-indexes/icd10-es-slice-names.mbix");
    let fresh = medbridge(&["search", "--index", path.to_str().unwrap(), "probe"]).status.success();
    if !fresh {
        let status = Command::new("bash").arg(root().join("tests/browser/page-index.sh")).status().unwrap();
        assert!(status.success(), "building {} failed", path.display());
    }
    path
}

/// CodiEsp dev mentions whose code the slice indexes (queries.jsonl + qrels.tsv in `dir`).
fn slice_eval_set(index: &Index, dir: &Path, max: usize) -> (PathBuf, PathBuf, Vec<String>) {
    let codes: HashSet<&str> = (0..index.len()).map(|i| index.source().result_id(index.passage_id(i))).collect();
    let data = common::shared().join("data/codiesp/dev");
    let qrels = std::fs::read_to_string(data.join("qrels.tsv")).unwrap();
    let mut judged: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in qrels.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        judged.entry(f[0].to_string()).or_default().push(f[1].to_string());
    }
    judged.retain(|_, cs| cs.iter().all(|c| codes.contains(c.as_str())));
    let mut kept = Vec::new();
    let (mut q_out, mut r_out) = (String::new(), String::from("query-id\tcorpus-id\tscore\n"));
    for line in std::fs::read_to_string(data.join("queries.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (id, text) = (v["_id"].as_str().unwrap(), v["text"].as_str().unwrap());
        if let Some(cs) = judged.get(id) {
            q_out += &format!("{line}\n");
            for c in cs {
                r_out += &format!("{id}\t{c}\t1\n");
            }
            kept.push(text.to_string());
            if kept.len() == max {
                break;
            }
        }
    }
    let (q, r) = (dir.join("queries.jsonl"), dir.join("qrels.tsv"));
    std::fs::write(&q, q_out).unwrap();
    std::fs::write(&r, r_out).unwrap();
    (q, r, kept)
}

/// A nearest-neighbour search: query → (passage, cosine), best first.
type Nearest<'a> = &'a dyn Fn(&[f32]) -> Vec<(usize, f32)>;

fn recall_at_10(exact: &[Vec<usize>], got: &[Vec<usize>]) -> f64 {
    let hits: usize = exact.iter().zip(got).map(|(e, g)| e.iter().filter(|i| g.contains(i)).count()).sum();
    hits as f64 / exact.iter().map(|e| e.len()).sum::<usize>() as f64
}

fn metrics(path: &Path) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap()["metrics"].clone()
}

#[test]
fn postgres_collections_match_the_local_index() {
    let index_path = slice_index();
    let t_start = Instant::now();
    cluster("start");
    let _stop = Cluster;
    println!("cluster started in {:.1} s", t_start.elapsed().as_secs_f64());
    let (coord, shard0, shard1) = (url(0), url(1), url(2));
    let (coord, shards) = (coord.as_str(), [shard0.as_str(), shard1.as_str()]);
    let idx = Index::load(&index_path, None).unwrap();
    let n = idx.len();
    let ipath = index_path.to_str().unwrap();
    // `export pg` of the slice into `table` over both shards, then `extra` flags.
    let export_sharded = |table: &'static str, extra: &[&'static str]| -> Vec<String> {
        let mut a = vec!["export", "pg", "--index", ipath, "--url", coord, "--table", table, "--shard", shards[0], "--shard", shards[1]];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect()
    };

    // Export to one node and to two shards (replacing what an earlier run left).
    let t = Instant::now();
    ok(&["export", "pg", "--index", ipath, "--url", coord, "--table", "ci_es", "--replace"]);
    let single_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    ok(&strs(&export_sharded("ci_es_sharded", &["--replace"])));
    println!("exported {n} passages: one node {single_s:.1} s, two shards {:.1} s", t.elapsed().as_secs_f64());
    let mut shard_rows = 0;
    for s in shards {
        let rows: i64 = pg::connect(s).unwrap().query_one("SELECT count(*) FROM ci_es_sharded", &[]).unwrap().get(0);
        assert!(rows > 0 && (rows as usize) < n, "shard {s} holds {rows} of {n} rows");
        shard_rows += rows as usize;
    }
    assert_eq!(shard_rows, n, "the shards together hold every row once");

    // A second export is a no-op.
    let (_, err) = ok(&["export", "pg", "--index", ipath, "--url", coord, "--table", "ci_es"]);
    assert!(err.contains(&format!("{n} rows ({n} already there, 0 loaded")), "re-export: {err}");

    // Recall@10 against exact search, on CodiEsp dev mentions (embedded once, here).
    let tmp = tempfile::tempdir().unwrap();
    let (queries, qrels, texts) = slice_eval_set(&idx, tmp.path(), usize::MAX);
    assert!(texts.len() >= 200, "only {} CodiEsp dev mentions have their code in the slice", texts.len());
    let enc = Encoder::load(&common::model_dir()).unwrap();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let qv = enc.embed(&refs, Kind::Query).unwrap();
    let vectors = idx.vectors();
    let exact: Vec<Vec<usize>> = qv
        .iter()
        .map(|q| {
            let mut s: Vec<(usize, f32)> =
                vectors.iter().enumerate().map(|(i, v)| (i, v.iter().zip(q).map(|(a, b)| a * b).sum())).collect();
            s.sort_by(|a, b| b.1.total_cmp(&a.1));
            s.into_iter().take(10).map(|(i, _)| i).collect()
        })
        .collect();
    let top10 = |ix: Nearest| qv.iter().map(|q| ix(q).into_iter().map(|(i, _)| i).collect()).collect::<Vec<Vec<usize>>>();
    let local = top10(&|q| idx.nearest(q, 10).unwrap());
    let single = PgIndex::open(coord, "ci_es", Some(&idx.meta.model_id), pg::DEFAULT_EF_SEARCH).unwrap();
    let sharded = PgIndex::open(coord, "ci_es_sharded", Some(&idx.meta.model_id), pg::DEFAULT_EF_SEARCH).unwrap();
    let time = |ix: &PgIndex| {
        let t = Instant::now();
        let r = top10(&|q| ix.nearest(q, 10).unwrap());
        (r, t.elapsed().as_secs_f64() * 1000.0 / qv.len() as f64)
    };
    let ((one, one_ms), (two, two_ms)) = (time(&single), time(&sharded));
    let (r_local, r_one, r_two) = (recall_at_10(&exact, &local), recall_at_10(&exact, &one), recall_at_10(&exact, &two));
    println!(
        "recall@10 vs exact over {} queries: local HNSW {r_local:.4}, PostgreSQL one node {r_one:.4} ({one_ms:.1} ms/query), two shards {r_two:.4} ({two_ms:.1} ms/query)",
        qv.len()
    );
    assert!(r_one >= 0.99 && r_two >= 0.99, "recall@10: one node {r_one}, two shards {r_two}");

    // The whole pipeline: eval on the file index and on both collections gives the same metrics.
    let q = queries.to_str().unwrap();
    let r = qrels.to_str().unwrap();
    let out = |name: &str| tmp.path().join(name);
    ok(&["eval", "--queries", q, "--qrels", r, "--index", ipath, "--out", out("file.json").to_str().unwrap()]);
    ok(&["eval", "--queries", q, "--qrels", r, "--pg", coord, "--table", "ci_es", "--out", out("one.json").to_str().unwrap()]);
    ok(&["eval", "--queries", q, "--qrels", r, "--pg", coord, "--table", "ci_es_sharded", "--out", out("two.json").to_str().unwrap()]);
    let (file, one_m, two_m) = (metrics(&out("file.json")), metrics(&out("one.json")), metrics(&out("two.json")));
    println!(
        "eval (MRR@10, R@5): file {} {}, one node {} {}, two shards {} {}",
        file["mrr_at_10"], file["recall_at_5"], one_m["mrr_at_10"], one_m["recall_at_5"], two_m["mrr_at_10"], two_m["recall_at_5"]
    );
    for (k, v) in file.as_object().unwrap() {
        if let Some(a) = v.as_f64() {
            for (name, m) in [("one node", &one_m), ("two shards", &two_m)] {
                let b = m[k].as_f64().unwrap();
                assert!((a - b).abs() <= 0.005, "{k}: file index {a}, {name} {b}");
            }
        }
    }
    let (hits, _) = ok(&["search", "--pg", coord, "--table", "ci_es_sharded", "--json", "infarto agudo de miocardio"]);
    let first: serde_json::Value = serde_json::from_str(hits.lines().next().unwrap()).unwrap();
    assert!(first["id"].as_str().unwrap().starts_with("I21"), "search --pg: {hits}");

    // Another model: refused when searching, and when exporting into the collection.
    let bi = root().join("models/e5-small-bi");
    let out = Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(["--model", bi.to_str().unwrap(), "search", "--pg", coord, "--table", "ci_es", "probe"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("collection ci_es") && err.contains("was built with model"), "{err}");
    let other = tmp.path().join("other.mbix");
    IndexBuilder::default()
        .build(
            "another-model@0",
            "icd10:es",
            "passage",
            vec!["A00".into(), "B00".into()],
            vec!["x".into(), "y".into()],
            vec![vec![1.0; 384], vec![0.5; 384]],
        )
        .unwrap()
        .save(&other)
        .unwrap();
    let out = medbridge(&["export", "pg", "--index", other.to_str().unwrap(), "--url", coord, "--table", "ci_es"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("was built with model") && err.contains("--replace"), "{err}");

    // Killed half-way (after its first batches reached the shards), then rerun: complete and equal.
    let mut killed_at = None;
    for attempt in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_medbridge"))
            .args(export_sharded("ci_kill", &["--replace"]))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut client = pg::connect(coord).unwrap();
        loop {
            // (an earlier run's complete ci_kill stays until this export replaces it)
            let loading = pg::collection(&mut client, "ci_kill").ok().flatten().is_some_and(|m| !m.complete);
            let rows: i64 = client.query_one("SELECT count(*) FROM ci_kill", &[]).map(|r| r.get(0)).unwrap_or(0);
            if (loading && rows > 0) || Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let meta = pg::collection(&mut client, "ci_kill").unwrap();
        let rows: i64 = client.query_one("SELECT count(*) FROM ci_kill", &[]).map(|r| r.get(0)).unwrap_or(0);
        if meta.is_some_and(|m| !m.complete) && (rows as usize) < n {
            killed_at = Some(rows);
            break;
        }
        println!("attempt {attempt}: the export finished before the kill; again");
    }
    let rows = killed_at.expect("could not kill the export half-way in 5 attempts");
    let out = medbridge(&["search", "--pg", coord, "--table", "ci_kill", "probe"]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("did not finish"),
        "an unfinished collection is refused"
    );
    let (_, err) = ok(&strs(&export_sharded("ci_kill", &[])));
    println!("killed with {rows} of {n} rows loaded; the rerun: {}", err.lines().last().unwrap_or(""));
    let resumed = PgIndex::open(coord, "ci_kill", Some(&idx.meta.model_id), pg::DEFAULT_EF_SEARCH).unwrap();
    assert_eq!(resumed.len(), n);
    assert!(
        (0..n).all(|i| resumed.passage_id(i) == idx.passage_id(i) && resumed.passage_text(i) == idx.passage_text(i)),
        "rows equal the index's"
    );
    // (two HNSW builds differ at the margin: pgvector draws levels at random)
    let r_resumed = recall_at_10(&exact, &top10(&|q| resumed.nearest(q, 10).unwrap()));
    assert!(r_resumed >= 0.99, "the resumed collection's recall@10 {r_resumed}");
}
