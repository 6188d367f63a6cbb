//! The CLI under faults (issue 14, item 4): `kill -9` in the middle of a write leaves the previous
//! output byte for byte and nothing a later run trips over; bad inputs get one error naming the
//! file, the line and the field, and write nothing; a 100 MB line is refused in bounded memory.
//!
//! The kill tests catch a command mid-write by polling for the sibling `.NAME.partial` file or
//! directory every atomic write goes through (medbridge::io), then send SIGKILL (Child::kill).
//! Figures (time, peak RSS) are printed: `cargo test --test cli_faults -- --nocapture`.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn strs(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_medbridge"));
    c.args(args).env("RAYON_NUM_THREADS", "1").current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A finished run: exit code (negative: killed by that signal), stderr, wall time, peak RSS.
struct Run {
    code: i32,
    stderr: String,
    secs: f64,
    peak_rss_mib: f64,
}

/// Run to the end, measuring the child's peak RSS with wait4 (ru_maxrss, KiB on Linux).
#[allow(clippy::zombie_processes)] // wait4 reaps the child
fn run(args: &[&str]) -> Run {
    let err = tempfile::NamedTempFile::new().unwrap();
    let start = Instant::now();
    let child = command(args).stdout(Stdio::null()).stderr(err.reopen().unwrap()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps our own child (std's Child never waits on drop).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -libc::WTERMSIG(status) };
    let r = Run {
        code,
        stderr: std::fs::read_to_string(err.path()).unwrap(),
        secs: start.elapsed().as_secs_f64(),
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    };
    eprintln!("$ medbridge {}\n{}", args.join(" "), r.stderr);
    r
}

fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, 0, "medbridge {args:?} failed: {}", r.stderr);
    r
}

/// Names in `dir` that a killed write leaves: `.NAME.partial` (file or directory), `.NAME.old`.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('.') && (n.ends_with(".partial") || n.ends_with(".old")))
        .collect();
    v.sort();
    v
}

/// sha256 of every file under `path` (a file, or a directory walked recursively), by relative path.
fn snapshot(path: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                walk(root, &e.unwrap().path(), out);
            }
        } else {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, medbridge::io::sha256_hex(&std::fs::read(p).unwrap()));
        }
    }
    let mut out = BTreeMap::new();
    walk(path, path, &mut out);
    assert!(!out.is_empty(), "{} holds no file", path.display());
    out
}

/// Spawn `args`, poll `dir` until `ready` holds (checked every 0.1 ms), then SIGKILL the child.
/// Returns false when the child finished first (the write was too quick to catch).
fn kill_when(args: &[&str], dir: &Path, ready: impl Fn(&Path) -> bool) -> bool {
    let mut child: Child = command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if ready(dir) {
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            assert!(!status.success(), "the child was killed");
            return true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "medbridge {args:?} failed before it could be killed");
            return false;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "medbridge {args:?} ran for 5 minutes");
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn has_partial(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
}

/// A 2-layer model over a letters-only vocabulary (fast; the bad-input and memory tests need no real one).
fn tiny_model(dir: &Path) -> PathBuf {
    let (info, tok, t) = medbridge::model::testing::tiny_model(medbridge::text::tokenize::letters_tokenizer(), 2, 3);
    let d = dir.join("tiny-model");
    medbridge::model::testing::write_model_dir(&d, &info, &tok, &t).unwrap();
    d
}

fn jsonl(docs: &[(&str, &str)]) -> String {
    docs.iter().map(|(id, text)| format!("{}\n", serde_json::json!({"_id": id, "text": text}))).collect()
}

fn search_ids(model: &Path, index: &Path, query: &str) -> Vec<String> {
    let out = command(&["--model", s(model), "search", "--index", s(index), "--json", "--top-k", "3", query]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect()
}

/// `index --corpus` writes the index once, at the end: the test polls for `.NAME.partial` and retries
/// (a fresh run, the previous index put back first) when the write finished between two polls; if
/// no attempt is caught mid-write it kills a last run half-way instead (the same outcome is asserted).
#[test]
fn kill_during_index_keeps_the_previous_index() {
    let started = Instant::now();
    let model = common::model_dir();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.mbix");
    let old_corpus = tmp.path().join("old.jsonl");
    std::fs::write(&old_corpus, jsonl(&[("old-1", "dolor de cabeza"), ("old-2", "fractura de cadera")])).unwrap();
    ok(&["--model", s(&model), "index", "--corpus", s(&old_corpus), "--out", s(&out)]);
    let previous = std::fs::read(&out).unwrap();
    // the new corpus: CasiMedicos cases (long clinical texts, truncated to 128 tokens to keep it quick)
    let casi = std::fs::read_to_string(common::shared().join("data/casimedicos/en/corpus.jsonl")).unwrap();
    let new_corpus = tmp.path().join("new.jsonl");
    std::fs::write(&new_corpus, casi.lines().take(8).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let args = ["--model", s(&model), "index", "--corpus", s(&new_corpus), "--out", s(&out), "--max-tokens", "128"];

    let partial = tmp.path().join(".x.mbix.partial");
    let mut caught = false;
    let mut attempts = 0;
    while !caught && attempts < 6 {
        attempts += 1;
        std::fs::write(&out, &previous).unwrap(); // a finished attempt replaced it
        let t = Instant::now();
        caught = kill_when(&args, tmp.path(), |_| partial.exists());
        println!(
            "index attempt {attempts}: {} after {:.1} s",
            if caught { "killed mid-write" } else { "finished first" },
            t.elapsed().as_secs_f64()
        );
    }
    if !caught {
        std::fs::write(&out, &previous).unwrap();
        let t = Instant::now();
        let mut child = command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        child.kill().unwrap();
        child.wait().unwrap();
        println!("index: never caught mid-write in {attempts} attempts; killed a run after {:.1} s instead", t.elapsed().as_secs_f64());
    }
    assert_eq!(std::fs::read(&out).unwrap(), previous, "the previous index changed");
    assert_eq!(search_ids(&model, &out, "dolor de cabeza")[0], "old-1", "the previous index still loads and answers");

    let r = ok(&args);
    assert!(leftovers(tmp.path()).is_empty(), "left behind: {:?}", leftovers(tmp.path()));
    let ids = search_ids(&model, &out, "A 45-year-old patient");
    assert!(ids.iter().all(|i| i.starts_with("d-")), "the new index: {ids:?}");
    println!(
        "index kill test: {:.1} s in all; a full run {:.1} s, peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        r.secs,
        r.peak_rss_mib
    );
}

/// `catalog` streams ~19 MB of JSONL into `.NAME.partial`: caught mid-write, the previous (small)
/// catalogue stays; the rerun writes the same bytes as an undisturbed run.
#[test]
fn kill_during_catalog_keeps_the_previous_catalogue() {
    let started = Instant::now();
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/.cache");
    assert!(cache.is_dir(), "{} missing: scripts/setup.sh (medbridge catalog) fills it", cache.display());
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference.jsonl");
    let r = ok(&["catalog", "--out", s(&reference), "--cache", s(&cache)]);
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("catalog.jsonl");
    let previous: String = std::fs::read_to_string(&reference).unwrap().lines().take(2).map(|l| format!("{l}\n")).collect();
    let args = ["catalog", "--out", s(&out), "--cache", s(&cache)];
    let mut attempts = 0;
    loop {
        attempts += 1;
        std::fs::write(&out, &previous).unwrap();
        if kill_when(&args, &dir, has_partial) {
            break;
        }
        assert!(attempts < 10, "catalog never caught mid-write in {attempts} attempts");
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap(), previous, "the previous catalogue changed");
    assert_eq!(leftovers(&dir), [".catalog.jsonl.partial"], "killed mid-write");

    ok(&args);
    assert!(leftovers(&dir).is_empty(), "left behind: {:?}", leftovers(&dir));
    assert_eq!(snapshot(&out), snapshot(&reference), "the rerun writes what an undisturbed run does");
    println!(
        "catalog kill test: {:.1} s ({attempts} attempts); a run {:.1} s, peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        r.secs,
        r.peak_rss_mib
    );
}

/// `train bi` with a checkpoint every step on a tiny model: killed while a checkpoint is being
/// written, the newest complete checkpoint and the previous trained parts stay; `--resume` then
/// ends with the same weights as an uninterrupted run.
#[test]
fn kill_during_train_checkpoint_then_resume_gives_the_same_weights() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let data = tmp.path().join("pairs.jsonl");
    let pairs: Vec<medbridge::synth::SynthPair> = (0..24)
        .map(|i| {
            let text = |j: usize| format!("code {} {}", ["alpha", "beta", "gamma", "delta"][j % 4], "xyzw".repeat(j % 5 + 1));
            medbridge::synth::SynthPair {
                lang: "en".into(),
                query: format!("query {i} {}", text(i)),
                positive_code: format!("C{i:02}"),
                positive_text: text(i),
                positive_lang: "en".into(),
                hard_negatives: vec![medbridge::synth::HardNegative {
                    code: format!("C{:02}", (i + 1) % 24),
                    text: text(i + 1),
                    relation: "sibling".into(),
                }],
                generator: "offline".into(),
                seed: 1,
                template: String::new(),
            }
        })
        .collect();
    medbridge::synth::write_jsonl(&data, &pairs).unwrap();
    let train = |out: &Path, ck: &Path, steps: &str, keep: &str, resume: bool| -> Vec<String> {
        let mut a: Vec<String> =
            ["--model", s(&model), "train", "bi", "--data", s(&data), "--out", s(out), "--checkpoints", s(ck)].map(String::from).to_vec();
        a.extend(
            ["--steps", steps, "--batch", "4", "--freeze-layers", "1", "--max-len", "16", "--dev-size", "4", "--eval-every", "1000"]
                .map(String::from),
        );
        a.extend(["--checkpoint-every", "1", "--keep", keep, "--lr", "1e-3"].map(String::from));
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let go = |a: &[String]| ok(&strs(a));

    // the uninterrupted run, keeping every checkpoint
    let (ref_out, ref_ck) = (tmp.path().join("ref"), tmp.path().join("ref-ck"));
    let r = go(&train(&ref_out, &ref_ck, "40", "100", false));
    // previous trained parts in --out (a shorter run), then the run that is killed
    let (out, ck) = (tmp.path().join("trained"), tmp.path().join("ck"));
    go(&train(&out, &tmp.path().join("ck0"), "2", "3", false));
    let previous = snapshot(&out);
    let args = train(&out, &ck, "40", "3", false);
    let argv = strs(&args);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let _ = std::fs::remove_dir_all(&ck);
        std::fs::create_dir_all(&ck).unwrap();
        // killed while a checkpoint is being written, a few steps in (older ones already pruned)
        let past_step_5 = |d: &Path| std::fs::read_to_string(d.join("latest")).is_ok_and(|l| l.trim() >= "step-000005");
        if kill_when(&argv, &ck, |d| past_step_5(d) && has_partial(d)) {
            break;
        }
        assert!(attempts < 10, "train never caught writing a checkpoint in {attempts} attempts");
        std::fs::remove_dir_all(&out).unwrap();
        go(&train(&out, &tmp.path().join("ck0"), "2", "3", false));
    }
    assert_eq!(snapshot(&out), previous, "the previous trained parts changed");
    let latest = std::fs::read_to_string(ck.join("latest")).unwrap();
    let step_dir = ck.join(latest.trim());
    // the newest complete checkpoint is byte-identical to the same step of the uninterrupted run
    assert_eq!(snapshot(&step_dir), snapshot(&ref_ck.join(latest.trim())), "{latest} differs from the uninterrupted run's");
    println!("train: killed at {latest} with {:?} left", leftovers(&ck));

    let r2 = go(&train(&out, &ck, "40", "3", true));
    assert!(
        r2.stderr.contains(&format!("resumed at step {}", latest.trim().trim_start_matches("step-").trim_start_matches('0'))),
        "{}",
        r2.stderr
    );
    assert!(leftovers(&ck).is_empty() && leftovers(tmp.path()).is_empty(), "left behind: {:?}", leftovers(&ck));
    assert_eq!(
        std::fs::read(out.join("weights.safetensors")).unwrap(),
        std::fs::read(ref_out.join("weights.safetensors")).unwrap(),
        "kill + resume ends with the uninterrupted run's weights"
    );
    println!(
        "train kill test: {:.1} s ({attempts} attempts); an uninterrupted 40-step run {:.1} s, peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        r.secs,
        r.peak_rss_mib
    );
}

/// `export-web` builds the bundle in `.NAME.partial/` and swaps it in: killed while the weights are
/// being written, the previous bundle (q4_0) is intact file for file; the rerun (q8_0) is complete.
#[test]
fn kill_during_export_web_keeps_the_previous_bundle() {
    let started = Instant::now();
    let model = common::model_dir();
    let tmp = tempfile::tempdir().unwrap();
    let web = tmp.path().join("web");
    ok(&["--model", s(&model), "export-web", "--out", s(&web), "--body", "q4_0"]);
    let previous = snapshot(&web);
    let args = ["--model", s(&model), "export-web", "--out", s(&web)];
    let partial = tmp.path().join(".web.partial");
    let mut attempts = 0;
    loop {
        attempts += 1;
        // mid-write: the weights' own partial file exists inside the partial directory
        if kill_when(&args, tmp.path(), |_| partial.join(".weights.gguf.partial").exists()) {
            break;
        }
        assert!(attempts < 5, "export-web never caught mid-write");
        ok(&["--model", s(&model), "export-web", "--out", s(&web), "--body", "q4_0"]);
    }
    assert_eq!(snapshot(&web), previous, "the previous bundle changed");
    assert_eq!(leftovers(tmp.path()), [".web.partial"]);

    let r = ok(&args);
    assert!(leftovers(tmp.path()).is_empty(), "left behind: {:?}", leftovers(tmp.path()));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(web.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["body"], "q8_0");
    let now = snapshot(&web);
    for f in manifest["files"].as_array().unwrap() {
        assert_eq!(now[f["name"].as_str().unwrap()], f["sha256"].as_str().unwrap(), "{f}");
    }
    assert_eq!(now.len(), manifest["files"].as_array().unwrap().len() + 1, "the manifest and its files, nothing else");
    // a directory holding other files is refused, not replaced
    std::fs::write(web.join("index.html"), "the page").unwrap();
    let e = run(&args);
    assert!(e.code != 0 && e.stderr.contains("index.html") && e.stderr.contains("not part of a web bundle"), "{}", e.stderr);
    assert_eq!(std::fs::read_to_string(web.join("index.html")).unwrap(), "the page");
    println!(
        "export-web kill test: {:.1} s ({attempts} attempts); a q8_0 export {:.1} s, peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        r.secs,
        r.peak_rss_mib
    );
}

/// Each bad input: a non-zero exit, stderr naming the file, `:line:` and the field, no panic, and
/// nothing at the output path.
#[test]
fn bad_inputs_name_the_file_line_and_field() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let good_corpus = tmp.path().join("good-corpus.jsonl");
    std::fs::write(&good_corpus, jsonl(&[("d1", "abc def"), ("d2", "ghi jkl"), ("d3", "mno pqr")])).unwrap();
    let index = tmp.path().join("good.mbix");
    ok(&["--model", s(&model), "index", "--corpus", s(&good_corpus), "--out", s(&index)]);
    let good_queries = tmp.path().join("good-queries.jsonl");
    std::fs::write(&good_queries, jsonl(&[("q1", "abc"), ("q2", "ghi")])).unwrap();
    let good_qrels = tmp.path().join("good-qrels.tsv");
    std::fs::write(&good_qrels, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n").unwrap();
    let out = tmp.path().join("out");

    let check = |what: &str, file: &Path, args: &[&str], needles: &[&str]| {
        let r = run(args);
        assert!(r.code > 0, "{what}: exit {} {}", r.code, r.stderr);
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        let at = format!("{}:", file.display());
        assert!(r.stderr.contains(&at), "{what}: stderr lacks {at:?}: {}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "{what}: stderr lacks {n:?}: {}", r.stderr);
        }
        assert!(!out.exists(), "{what}: {} was written", out.display());
        println!("{what}: {}", r.stderr.lines().last().unwrap_or(""));
    };
    let bad = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let index_args = |corpus: &Path| -> Vec<String> {
        ["--model", s(&model), "index", "--corpus", s(corpus), "--out", s(&out)].map(String::from).to_vec()
    };
    let eval_args = |queries: &Path, qrels: &Path| -> Vec<String> {
        ["--model", s(&model), "eval", "--queries", s(queries), "--qrels", s(qrels), "--index", s(&index), "--out", s(&out)]
            .map(String::from)
            .to_vec()
    };

    let corpus_cases: &[(&str, &[u8], &[&str])] = &[
        ("empty corpus", b"", &[":1:", "the file is empty: no documents"]),
        ("whitespace-only corpus", b"  \n\t\n\n", &[":1:", "no documents: all 3 lines are blank"]),
        (
            "invalid UTF-8",
            b"{\"_id\": \"a\", \"text\": \"ok\"}\n{\"_id\": \"b\", \"text\": \"caf\xe9\"}\n",
            &[":2:", "invalid UTF-8 at byte 26"],
        ),
        (
            "duplicate id",
            b"{\"_id\": \"a\", \"text\": \"x\"}\n\n{\"_id\": \"a\", \"text\": \"y\"}\n",
            &[":3:", "field \"_id\": duplicate id \"a\" (first defined at line 1)"],
        ),
        ("missing id", b"{\"_id\": \"a\", \"text\": \"x\"}\n{\"text\": \"y\"}\n", &[":2:", "field \"_id\" is missing"]),
        ("text of the wrong type", b"{\"_id\": \"a\", \"text\": [1]}\n", &[":1:", "field \"text\" must be a string"]),
        ("no text nor title", b"{\"_id\": \"a\", \"text\": \" \"}\n", &[":1:", "fields \"text\" and \"title\""]),
    ];
    for (i, (what, bytes, needles)) in corpus_cases.iter().enumerate() {
        let f = bad(&format!("corpus-{i}.jsonl"), bytes);
        check(what, &f, &strs(&index_args(&f)), needles);
    }

    let query_cases: &[(&str, &[u8], &[&str])] = &[
        ("empty queries", b"", &[":1:", "the file is empty: no queries"]),
        ("whitespace-only queries", b" \n \n", &[":1:", "no queries: all 2 lines are blank"]),
        (
            "duplicate query id",
            b"{\"_id\": \"q1\", \"text\": \"a\"}\n{\"_id\": \"q1\", \"text\": \"b\"}\n",
            &[":2:", "field \"_id\": duplicate id \"q1\""],
        ),
        (
            "empty query text",
            b"{\"_id\": \"q1\", \"text\": \"a\"}\n{\"_id\": \"q2\"}\n",
            &[":2:", "field \"text\" is empty or missing (query \"q2\")"],
        ),
    ];
    for (i, (what, bytes, needles)) in query_cases.iter().enumerate() {
        let f = bad(&format!("queries-{i}.jsonl"), bytes);
        check(what, &f, &strs(&eval_args(&f, &good_qrels)), needles);
    }

    let qrels_cases: &[(&str, &[u8], &[&str])] = &[
        ("empty qrels", b"", &[":1:", "the file is empty: no judgements"]),
        ("header-only qrels", b"query-id\tcorpus-id\tscore\n\n", &[":1:", "only a header line"]),
        ("invalid UTF-8 qrels", b"query-id\tcorpus-id\tscore\nq1\td\xff1\t1\n", &[":2:", "invalid UTF-8"]),
        ("score not an integer", b"query-id\tcorpus-id\tscore\nq1\td1\thigh\n", &[":2:", "field \"score\": \"high\" is not an integer"]),
        (
            "conflicting duplicate judgement",
            b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t0\n",
            &[":3:", "field \"score\": (q1, d1) judged 0 here but 1 at line 2"],
        ),
        (
            "missing field",
            b"query-id\tcorpus-id\tscore\nq1\td1\n",
            &[":2:", "field \"score\" is missing: expected 3 fields (query-id, corpus-id, score)"],
        ),
        (
            "query-id not in the queries",
            b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq7\td2\t1\n",
            &[":3:", "field \"query-id\": \"q7\" is not a query of", "good-queries.jsonl"],
        ),
        (
            "corpus-id not in the index",
            b"query-id\tcorpus-id\tscore\nq1\td9\t1\nq2\td8\t1\n",
            &[":2:", "field \"corpus-id\": \"d9\" is not a document of the index", "good.mbix", "(1 more lines like it)"],
        ),
    ];
    for (i, (what, bytes, needles)) in qrels_cases.iter().enumerate() {
        let f = bad(&format!("qrels-{i}.tsv"), bytes);
        check(what, &f, &strs(&eval_args(&good_queries, &f)), needles);
    }
    // stdin of `embed`: the same reader
    let mut child =
        command(&["--model", s(&model), "embed"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"fine\r\nnot \xff utf-8\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("stdin:2: invalid UTF-8 at byte 5"), "{err}");
    // and the good files pass
    ok(&strs(&eval_args(&good_queries, &good_qrels)));
    assert!(out.is_file());
    println!("bad-input test: {:.1} s", started.elapsed().as_secs_f64());
}

/// A 100 MB JSONL (or TSV) file on one line: refused after 16 MiB (medbridge::corpus::MAX_LINE_BYTES)
/// with an error naming the file and line 1, in bounded memory. Before the cap the whole line was read
/// into memory (≥ 100 MiB resident); the bound asserted is 64 MiB above the same command on a tiny
/// valid file, and below the line's own size.
#[test]
fn a_100_mb_line_is_refused_in_bounded_memory() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let big = tmp.path().join("big.jsonl");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        f.write_all(b"{\"_id\": \"a\", \"text\": \"").unwrap();
        let chunk = "lorem ipsum ".repeat(1 << 16).into_bytes(); // 768 KiB
        let mut n = 0;
        while n < 100 << 20 {
            f.write_all(&chunk).unwrap();
            n += chunk.len();
        }
        f.write_all(b"\"}\n").unwrap();
    }
    let size = std::fs::metadata(&big).unwrap().len();
    let generated = started.elapsed().as_secs_f64();
    let small = tmp.path().join("small.jsonl");
    std::fs::write(&small, jsonl(&[("a", "lorem ipsum"), ("b", "dolor sit")])).unwrap();
    let out = tmp.path().join("x.mbix");

    let baseline = ok(&["--model", s(&model), "index", "--corpus", s(&small), "--out", s(&out)]);
    std::fs::remove_file(&out).unwrap();
    let r = run(&["--model", s(&model), "index", "--corpus", s(&big), "--out", s(&out)]);
    assert!(r.code > 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{}:1: the line is longer than 16 MiB", big.display())), "{}", r.stderr);
    assert!(!out.exists());
    println!(
        "100 MB line ({size} bytes, written in {generated:.1} s): index refused it in {:.2} s at peak RSS {:.1} MiB; a tiny valid corpus: {:.2} s, {:.1} MiB",
        r.secs, r.peak_rss_mib, baseline.secs, baseline.peak_rss_mib
    );
    assert!(r.peak_rss_mib < baseline.peak_rss_mib + 64.0, "peak RSS {:.1} MiB", r.peak_rss_mib);
    assert!(r.peak_rss_mib < (size >> 20) as f64, "peak RSS {:.1} MiB: the line was read whole", r.peak_rss_mib);

    // the same file as qrels (read before anything else by eval), and as queries
    let queries = tmp.path().join("q.jsonl");
    std::fs::write(&queries, jsonl(&[("q1", "lorem")])).unwrap();
    let metrics = tmp.path().join("m.json");
    let r = run(&["--model", s(&model), "eval", "--queries", s(&queries), "--qrels", s(&big), "--index", s(&out), "--out", s(&metrics)]);
    assert!(r.code > 0 && r.stderr.contains(&format!("{}:1: the line is longer than 16 MiB", big.display())), "{}", r.stderr);
    println!("  as qrels: refused in {:.2} s at peak RSS {:.1} MiB", r.secs, r.peak_rss_mib);
    assert!(r.peak_rss_mib < baseline.peak_rss_mib + 64.0, "peak RSS {:.1} MiB", r.peak_rss_mib);
    let qrels = tmp.path().join("qrels.tsv");
    std::fs::write(&qrels, "q1\ta\t1\n").unwrap();
    let r = run(&["--model", s(&model), "eval", "--queries", s(&big), "--qrels", s(&qrels), "--index", s(&out), "--out", s(&metrics)]);
    assert!(r.code > 0 && r.stderr.contains(&format!("{}:1: the line is longer than 16 MiB", big.display())), "{}", r.stderr);
    println!("  as queries: refused in {:.2} s at peak RSS {:.1} MiB", r.secs, r.peak_rss_mib);
    assert!(r.peak_rss_mib < baseline.peak_rss_mib + 64.0, "peak RSS {:.1} MiB", r.peak_rss_mib);
    assert!(!metrics.exists());
    println!("100 MB line test: {:.1} s", started.elapsed().as_secs_f64());
}
