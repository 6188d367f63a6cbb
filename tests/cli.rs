//! The `medbridge` command line on the real model: contract, retrieval sanity and clear errors.
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn medbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(args)
        .env("MEDBRIDGE_MODEL", common::model_dir())
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run medbridge")
}

fn ok(args: &[&str]) -> String {
    let out = medbridge(args);
    assert!(out.status.success(), "medbridge {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails_with(args: &[&str], needle: &str) {
    let out = medbridge(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "medbridge {args:?} should fail");
    assert!(err.contains(needle), "medbridge {args:?}: stderr {err:?} lacks {needle:?}");
}

/// Indexes shared by tests, built once per checkout under target/test-indexes.
fn cached_index(name: &str, build: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-indexes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    // A stale index (other model) is refused by `search`; rebuild it then.
    let probe = medbridge(&["search", "--index", path.to_str().unwrap(), "probe"]);
    if !probe.status.success() {
        let mut args: Vec<&str> = build.to_vec();
        args.extend(["--out", path.to_str().unwrap()]);
        ok(&args);
    }
    path
}

fn catalog_path() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/icd10/catalog.jsonl");
    assert!(p.is_file(), "{} missing: run `medbridge catalog` first", p.display());
    p
}

/// A slice of the real catalogue for index tests: all of chapters E, I, J and R (the codes the CLI and page
/// tests query, E11, I21, I10, I50, J15, J45, R51, compete with their whole chapters: E10, E13, I22, I25 …)
/// and every 16th other code as distractors, ~1/10 of it: indexing the whole Spanish catalogue with the
/// dev binary took ~14 minutes of CI. The page tests (tests/browser/page-index.sh) search this index too.
fn catalog_slice() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-indexes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog-slice.jsonl");
    let all = std::fs::read_to_string(catalog_path()).unwrap();
    let code_of = |line: &str| line.strip_prefix("{\"code\":\"").and_then(|rest| rest.split('"').next()).unwrap_or_default().to_string();
    let slice: String = all
        .lines()
        .enumerate()
        .filter(|(i, l)| code_of(l).starts_with(['E', 'I', 'J', 'R']) || i % 16 == 0)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let codes: std::collections::HashSet<String> = slice.lines().map(code_of).collect();
    assert!(
        ["E11", "I10", "I21", "I50", "J15", "J45", "R51"].iter().all(|c| codes.contains(*c)) && codes.len() > 8_000,
        "the catalogue changed shape"
    );
    // rewritten only when it differs, so the cached index built from it stays valid
    if std::fs::read_to_string(&path).ok().as_deref() != Some(slice.as_str()) {
        std::fs::write(&path, slice).unwrap();
        let _ = std::fs::remove_file(dir.join("icd10-es-slice.mbix"));
    }
    path
}

#[test]
fn embed_writes_jsonl_with_normalised_vectors() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(["embed", "--kind", "query"])
        .env("MEDBRIDGE_MODEL", common::model_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all("dolor de cabeza\nmal de cap\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], "dolor de cabeza");
    let v: Vec<f64> = lines[0]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(v.len(), 384);
    assert!((v.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-4);
    // The same text through the golden case (which carries the prefix) agrees (the CLI computes in
    // int8 by default: cosine ≥ 0.9998 to f32 measured).
    let golden = common::golden().into_iter().find(|c| c.text == "query: dolor de cabeza").unwrap();
    let cos: f64 = v.iter().zip(&golden.embedding).map(|(a, b)| a * *b as f64).sum();
    assert!(cos > 0.9995, "cosine {cos}");
}

/// The synthetic generator's pairs (default recipe, from the real catalogue): the lay wordings the page's
/// index learns as names (scripts/run.sh does the same).
fn synthetic_names() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-indexes/synthetic-names.jsonl");
    if !path.is_file() {
        ok(&["synth", "--out", path.to_str().unwrap()]);
    }
    path
}

fn top_codes(index: &std::path::Path, query: &str, k: usize) -> Vec<String> {
    let out = ok(&["search", "--index", index.to_str().unwrap(), "--json", "--top-k", &k.to_string(), query]);
    out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect()
}

/// The page's kind of index on the catalogue slice: Spanish codes under all of their names (other languages'
/// descriptions, inclusion terms, the generator's lay wordings). The page tests serve it too.
#[test]
fn spanish_catalogue_finds_codes_by_any_of_their_names() {
    let cat = catalog_slice();
    let names = synthetic_names();
    let idx = cached_index(
        "icd10-es-slice-names.mbix",
        &["index", "--icd10", "--lang", "es", "--catalog", cat.to_str().unwrap(), "--names", "--names-from", names.to_str().unwrap()],
    );
    let ids = top_codes(&idx, "diabetes mellitus tipo 2", 5);
    assert_eq!(ids.len(), 5, "five distinct codes: {ids:?}");
    assert!(ids.iter().any(|c| c.starts_with("E11")), "no E11 code in top 5: {ids:?}");
    for (query, code) in [("mal de cap", "R51"), ("dolor de cabeza", "R51"), ("mal di testa", "R51"), ("dolor torácico opresivo", "R07")] {
        let ids = top_codes(&idx, query, 5);
        assert!(ids.iter().any(|c| c.starts_with(code)), "{query:?}: no {code} in top 5: {ids:?}");
    }
}

#[test]
fn real_catalogue_keeps_inclusion_terms() {
    let cat = medbridge::catalog::Catalog::load_jsonl(&catalog_path()).unwrap();
    let terms = |code: &str| cat.get(code).unwrap().inclusion_terms.clone();
    assert_eq!(terms("B37.0"), ["Oral thrush"]);
    assert!(terms("N20.0").iter().any(|t| t == "Renal stone"), "{:?}", terms("N20.0"));
    let n: usize = cat.entries.iter().map(|e| e.inclusion_terms.len()).sum();
    assert!(n > 10_000, "only {n} inclusion terms: is the catalogue older than its builder?");
}

#[test]
fn casimedicos_cases_find_their_own_explanation() {
    let d = common::shared().join("data/casimedicos/en");
    let corpus = d.join("corpus.jsonl");
    let idx = cached_index("casimedicos-en.mbix", &["index", "--corpus", corpus.to_str().unwrap()]);
    let tmp = tempfile::tempdir().unwrap();
    let metrics = tmp.path().join("m.json");
    let run = tmp.path().join("run.trec");
    let (queries, qrels) = (d.join("queries.jsonl"), d.join("qrels.tsv"));
    let args = [
        "eval",
        "--queries",
        queries.to_str().unwrap(),
        "--qrels",
        qrels.to_str().unwrap(),
        "--index",
        idx.to_str().unwrap(),
        "--out",
        metrics.to_str().unwrap(),
        "--run",
        run.to_str().unwrap(),
    ];
    let out = medbridge(&args);
    let (table, log) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && table.contains("MRR@10"), "{log}");
    // the default method fuses BM25 in for English cases against English explanations
    assert!(log.contains("auto: 381 queries searched hybrid"), "{log}");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&metrics).unwrap()).unwrap();
    let r10 = m["metrics"]["recall_at_10"].as_f64().unwrap();
    assert_eq!(m["metrics"]["queries"].as_u64().unwrap(), 381);
    assert!(r10 > 0.5, "own explanation in the top 10 for only {:.1}% of cases", 100.0 * r10);
    // MAP over the whole run (depth 100) next to MAP@10: never lower, printed and saved
    let (map10, map) = (m["metrics"]["map_at_10"].as_f64().unwrap(), m["metrics"]["map"].as_f64().unwrap());
    assert!(map >= map10 && map > 0.0, "MAP {map} vs MAP@10 {map10}");
    assert!(table.contains("MAP@10    MAP"), "{table}");
    // The run file has the TREC shape: qid Q0 docid rank score tag.
    let first = std::fs::read_to_string(&run).unwrap().lines().next().unwrap().to_string();
    let cols: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(cols.len(), 6, "{first}");
    assert_eq!((cols[1], cols[3]), ("Q0", "1"));
}

#[test]
fn bad_input_gets_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("corpus.jsonl");
    std::fs::write(&bad, "{\"_id\": \"a\", \"text\": \"fine\"}\n{not json}\n").unwrap();
    fails_with(&["index", "--corpus", bad.to_str().unwrap(), "--out", tmp.path().join("x").to_str().unwrap()], "corpus.jsonl:2");
    assert!(!tmp.path().join("x").exists(), "a failed index run must not leave a file");

    let idx = cached_index(
        "casimedicos-en.mbix",
        &["index", "--corpus", common::shared().join("data/casimedicos/en/corpus.jsonl").to_str().unwrap()],
    );
    fails_with(&["search", "--index", idx.to_str().unwrap(), "   "], "empty");
    fails_with(&["search", "--index", tmp.path().join("missing.mbix").to_str().unwrap(), "x"], "missing.mbix");

    // A damaged index is refused, naming the file.
    let damaged = tmp.path().join("damaged.mbix");
    let mut bytes = std::fs::read(&idx).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    fails_with(&["search", "--index", damaged.to_str().unwrap(), "x"], "damaged");

    // No model: the message says which command fetches it.
    let out = Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(["--model", tmp.path().join("nomodel").to_str().unwrap(), "search", "--index", idx.to_str().unwrap(), "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("medbridge import-model"));
}

#[test]
fn help_explains_every_command() {
    let help = ok(&["--help"]);
    for cmd in ["import-model", "embed", "index", "search", "eval", "catalog"] {
        assert!(help.contains(cmd), "--help lacks {cmd}");
    }
    assert!(ok(&["eval", "--help"]).contains("qrels"));
}

/// A web bundle of small fake files with a valid manifest (export-site copies and checks it, never reads the model).
fn fake_bundle(dir: &std::path::Path) {
    use medbridge::model::bundle::{version_of, BodyFormat, FileEntry, Manifest, BUNDLE_FORMAT};
    std::fs::create_dir_all(dir).unwrap();
    let files: Vec<FileEntry> = ["weights.gguf", "tokenizer.json", "config.json", "catalog.mbca"]
        .iter()
        .map(|name| {
            let bytes = format!("the bytes of {name}").into_bytes();
            std::fs::write(dir.join(name), &bytes).unwrap();
            FileEntry { name: name.to_string(), bytes: bytes.len() as u64, sha256: medbridge::io::sha256_hex(&bytes) }
        })
        .collect();
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        version: version_of(&files),
        model_id: "test-model".into(),
        body: BodyFormat::Q8_0,
        files,
        reranker: None,
    };
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// `export-site`: the page, the engine and the bundle in one folder with `_headers` under `--base`; a damaged
/// bundle, a missing engine, a bad --base and a folder it did not write are refused, the previous site kept.
#[test]
fn export_site_writes_a_whole_site_and_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (www, assets, out) = (tmp.path().join("www"), tmp.path().join("assets"), tmp.path().join("site"));
    std::fs::create_dir_all(www.join("pkg")).unwrap();
    std::fs::create_dir_all(www.join("package")).unwrap();
    for f in ["index.html", "app.js", "package/index.js", "worker.js", "style.css", "favicon.svg", "pkg/medbridge.js"] {
        std::fs::write(www.join(f), format!("/* {f} */")).unwrap();
    }
    std::fs::write(www.join("package/package.json"), "{}").unwrap(); // the npm package's, not part of the site
    fake_bundle(&assets);
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let args = |base: &str| {
        vec![
            "export-site".to_string(),
            "--out".into(),
            s(&out),
            "--www".into(),
            s(&www),
            "--assets".into(),
            s(&assets),
            "--base".into(),
            base.into(),
        ]
    };
    let run = |a: Vec<String>| medbridge(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let o = run(args("/demo/medbridge/"));
    assert!(!o.status.success() && err(&o).contains("pkg/medbridge_bg.wasm") && err(&o).contains("build-wasm.sh"), "{}", err(&o));
    std::fs::write(www.join("pkg/medbridge_bg.wasm"), b"\0asm").unwrap();
    let o = run(args("/demo/medbridge/"));
    assert!(o.status.success(), "{}", err(&o));
    let mut written: Vec<String> = walk(&out);
    written.sort();
    assert_eq!(
        written,
        [
            "_headers",
            "app.js",
            "assets/catalog.mbca",
            "assets/config.json",
            "assets/manifest.json",
            "assets/tokenizer.json",
            "assets/weights.gguf",
            "favicon.svg",
            "index.html",
            "medbridge-site.json",
            "package/index.js",
            "pkg/medbridge.js",
            "pkg/medbridge_bg.wasm",
            "style.css",
            "worker.js"
        ]
    );
    let headers = std::fs::read_to_string(out.join("_headers")).unwrap();
    assert!(headers.contains("/demo/medbridge/*\n  Content-Security-Policy: default-src 'self'"), "{headers}");
    let listing: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("medbridge-site.json")).unwrap()).unwrap();
    assert_eq!(listing["model_id"], "test-model");
    assert_eq!(std::fs::read(out.join("assets/weights.gguf")).unwrap(), std::fs::read(assets.join("weights.gguf")).unwrap());
    let before = walk(&out);

    // a damaged bundle file: refused, naming it; the previous site stays
    std::fs::write(assets.join("tokenizer.json"), "tampered").unwrap();
    let o = run(args("/"));
    assert!(!o.status.success() && err(&o).contains("tokenizer.json"), "{}", err(&o));
    assert_eq!(walk(&out), before);
    assert_eq!(std::fs::read_to_string(out.join("_headers")).unwrap(), headers);
    fake_bundle(&assets);
    // a --base that is not a path, or that would break the _headers file
    for base in ["demo", "/demo", "/a b/", "/x/\n/*/"] {
        let o = run(args(base));
        assert!(!o.status.success() && err(&o).contains("--base"), "{base:?}: {}", err(&o));
    }
    // a folder export-site did not write is not replaced
    let foreign = tmp.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let mut a = args("/");
    a[2] = s(&foreign);
    let o = run(a);
    assert!(!o.status.success() && err(&o).contains("not written by `medbridge export-site`"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "keep me");
    // a rerun replaces its own site
    assert!(run(args("/other/")).status.success());
    assert!(std::fs::read_to_string(out.join("_headers")).unwrap().contains("\n/other/*\n"));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(walk(&p).into_iter().map(|n| format!("{name}/{n}")));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn embedding(model: &std::path::Path, text: &str) -> Vec<f32> {
    let out = Command::new(env!("CARGO_BIN_EXE_medbridge"))
        .args(["--model", model.to_str().unwrap(), "embed", "--kind", "passage"])
        .env("RAYON_NUM_THREADS", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(format!("{text}\n").as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// `prune-vocab` on the real model (derived from a catalogue slice only: offline and fast): the model id
/// stays, the word table shrinks, a text of kept pieces gets exactly the same vector, a text with pruned
/// pieces still gets a close one (its words split into kept pieces), an index built with the full model
/// serves the pruned one, and evaluation texts are measured.
#[test]
fn prune_vocab_keeps_the_vectors_of_what_it_keeps() {
    let tmp = tempfile::tempdir().unwrap();
    let full = common::model_dir();
    let catalog = tmp.path().join("catalog-r.jsonl");
    let slice: String = std::fs::read_to_string(catalog_path())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"code\":\"R5"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&catalog, slice).unwrap();
    let eval = tmp.path().join("eval.jsonl");
    std::fs::write(&eval, "{\"_id\":\"q1\",\"text\":\"fiebre\"}\n{\"_id\":\"q2\",\"text\":\"xenotrasplante fotoquimioterapéutico\"}\n")
        .unwrap();
    let pruned = tmp.path().join("pruned");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let table = ok(&["prune-vocab", "--out", &s(&pruned), "--catalog", &s(&catalog), "--wordfreq", "0", "--measure", &s(&eval)]);
    assert!(table.contains("| 2 | 1 (50.00 %) |"), "one of the two evaluation texts changes: {table}");

    let config =
        |dir: &std::path::Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap() };
    let (a, b) = (config(&full), config(&pruned));
    assert_eq!(a["model_id"], b["model_id"], "same vector space, same model id");
    let kept = b["config"]["vocab_size"].as_u64().unwrap();
    assert!(kept < 5_000 && kept == b["vocab_pruning"]["kept_pieces"].as_u64().unwrap(), "{}", b["vocab_pruning"]);
    assert!(std::fs::metadata(pruned.join("model.gguf")).unwrap().len() * 2 < std::fs::metadata(full.join("model.gguf")).unwrap().len());

    // a catalogue text: every piece kept, the very same vector
    let first: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&catalog).unwrap().lines().next().unwrap()).unwrap();
    let text = first["descriptions"]["es"].as_str().unwrap();
    assert_eq!(embedding(&full, text), embedding(&pruned, text), "{text}");
    // pruned pieces: split into kept ones, a close but different vector
    let text = "xenotrasplante fotoquimioterapéutico";
    let (x, y) = (embedding(&full, text), embedding(&pruned, text));
    let cos: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    assert!(x != y && cos > 0.8, "cosine {cos}");

    // an index of the full model answers the pruned one
    let index = tmp.path().join("r5.mbix");
    ok(&["index", "--icd10", "--lang", "es", "--catalog", &s(&catalog), "--out", &s(&index)]);
    let hits = ok(&["--model", &s(&pruned), "search", "--index", &s(&index), "--json", "--top-k", "1", "fiebre"]);
    assert!(hits.contains("\"id\":\"R50"), "{hits}");
}
