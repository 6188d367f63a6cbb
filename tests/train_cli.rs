//! `medbridge train bi` / `train assemble` end to end on a tiny random model written to disk.
use std::path::Path;
use std::process::{Command, Output};

use medbridge::synth::{HardNegative, SynthPair};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn medbridge(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_medbridge")).args(args).env("RAYON_NUM_THREADS", "1").output().unwrap();
    eprintln!("$ medbridge {}\n{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    out
}

/// A 2-layer model over a letters-only vocabulary, as a model directory.
fn tiny_model_dir(dir: &Path) {
    let (mut info, tok, t) = medbridge::model::testing::tiny_model(medbridge::text::tokenize::letters_tokenizer(), 2, 3);
    info.model_id = "tiny-cli@0".into(); // the id the assertions below follow through training and assembly
    medbridge::model::testing::write_model_dir(dir, &info, &tok, &t).unwrap();
}

fn write_pairs(path: &Path, n: usize) {
    let mut rng = StdRng::seed_from_u64(5);
    let mut w = || -> String { (0..rng.gen_range(3..6)).map(|_| (b'a' + rng.gen_range(0..26u8)) as char).collect() };
    let passages: Vec<String> = (0..n).map(|_| format!("{} {} {}", w(), w(), w())).collect();
    let pairs: Vec<SynthPair> = (0..n)
        .map(|i| {
            let first = passages[i].split(' ').next().unwrap().to_string();
            SynthPair {
                lang: "en".into(),
                query: format!("{first} {}", w()),
                positive_code: format!("C{i:02}"),
                positive_text: passages[i].clone(),
                positive_lang: "en".into(),
                hard_negatives: vec![HardNegative {
                    code: format!("C{:02}", (i + 1) % n),
                    text: passages[(i + 1) % n].clone(),
                    relation: "sibling".into(),
                }],
                generator: "offline".into(),
                seed: 1,
                template: String::new(),
            }
        })
        .collect();
    medbridge::synth::write_jsonl(path, &pairs).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn load(p: &Path) -> std::collections::HashMap<String, Vec<f32>> {
    candle_core::safetensors::load(p, &candle_core::Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.to_dtype(candle_core::DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

#[test]
fn train_bi_checkpoints_resumes_assembles_and_changes_the_model_id() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    tiny_model_dir(&base);
    let data = tmp.path().join("pairs.jsonl");
    write_pairs(&data, 24);
    let common = [
        "--data",
        s(&data),
        "--steps",
        "6",
        "--batch",
        "4",
        "--freeze-layers",
        "1",
        "--max-len",
        "16",
        "--dev-size",
        "4",
        "--eval-every",
        "3",
        "--checkpoint-every",
        "2",
        "--lr",
        "1e-3",
    ];

    let (t1, c1) = (tmp.path().join("trained1"), tmp.path().join("ck1"));
    let mut a = vec!["--model", s(&base), "train", "bi", "--out", s(&t1), "--checkpoints", s(&c1)];
    a.extend(common);
    let o = medbridge(&a);
    assert!(o.status.success());
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("dev @ step 0") && log.contains("dev @ step 6"), "dev evaluation at start and end");
    assert!(log.contains("step 6/6"), "progress lines with loss and pairs/s");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(t1.join("manifest.json")).unwrap()).unwrap();
    let id = manifest["model_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("tiny-cli@0+bi-"), "{id}");
    assert_eq!(manifest["base_model_id"], "tiny-cli@0");
    assert_eq!(manifest["seed"], 42);
    assert_eq!(manifest["spec"]["freeze_layers"], 1);
    assert!(manifest["training"]["data"]["sha256"].as_str().unwrap().len() == 64);
    assert!(manifest["metrics"]["synthetic_dev"].as_array().unwrap().len() >= 2);
    let w1 = load(&t1.join("weights.safetensors"));
    assert!(w1.keys().all(|k| k.starts_with("encoder.layer.1.")), "only the unfrozen layer is shipped: {:?}", w1.keys());
    assert!(c1.join("latest").is_file());

    // the same run in two sittings: stop at step 3, resume
    let (t2, c2) = (tmp.path().join("trained2"), tmp.path().join("ck2"));
    let mut a = vec!["--model", s(&base), "train", "bi", "--out", s(&t2), "--checkpoints", s(&c2), "--stop-at", "3"];
    a.extend(common);
    let o = medbridge(&a);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("continue with --resume"));
    assert!(!t2.join("manifest.json").exists(), "no trained parts before the run is complete");
    let mut a = vec!["--model", s(&base), "train", "bi", "--out", s(&t2), "--checkpoints", s(&c2), "--resume"];
    a.extend(common);
    let o = medbridge(&a);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("resumed at step 3"));
    let w2 = load(&t2.join("weights.safetensors"));
    assert_eq!(w1, w2, "resumed run ends with the same weights");

    // assemble: a model directory with the new identity; base-model indexes are refused
    let asm = tmp.path().join("assembled");
    assert!(medbridge(&["--model", s(&base), "train", "assemble", "--trained", s(&t1), "--out", s(&asm)]).status.success());
    let info: serde_json::Value = serde_json::from_slice(&std::fs::read(asm.join("config.json")).unwrap()).unwrap();
    assert_eq!(info["model_id"].as_str().unwrap(), id);
    let corpus = tmp.path().join("corpus.jsonl");
    std::fs::write(&corpus, "{\"_id\":\"d1\",\"text\":\"abc def\"}\n{\"_id\":\"d2\",\"text\":\"xyz uvw\"}\n").unwrap();
    let idx = tmp.path().join("base.mbix");
    assert!(medbridge(&["--model", s(&base), "index", "--corpus", s(&corpus), "--out", s(&idx)]).status.success());
    let o = medbridge(&["--model", s(&asm), "search", "--index", s(&idx), "abc"]);
    assert!(!o.status.success(), "an index of the base model must be refused by the fine-tuned one");
    assert!(String::from_utf8_lossy(&o.stderr).contains("tiny-cli@0"));
    let idx2 = tmp.path().join("ft.mbix");
    assert!(medbridge(&["--model", s(&asm), "index", "--corpus", s(&corpus), "--out", s(&idx2)]).status.success());
    assert!(medbridge(&["--model", s(&asm), "search", "--index", s(&idx2), "abc"]).status.success());

    // parts of another base model are refused, naming the manifest
    let other = tmp.path().join("other");
    tiny_model_dir(&other);
    let cfg = other.join("config.json");
    let txt = std::fs::read_to_string(&cfg).unwrap().replace("tiny-cli@0", "tiny-cli@9");
    std::fs::write(&cfg, txt).unwrap();
    let o = medbridge(&["--model", s(&other), "train", "assemble", "--trained", s(&t1), "--out", s(&tmp.path().join("x"))]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest.json"));
}

#[test]
fn train_bi_reports_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    tiny_model_dir(&base);
    let missing = tmp.path().join("missing.jsonl");
    let o = medbridge(&["--model", s(&base), "train", "bi", "--data", s(&missing)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.jsonl"));
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"lang\":\"en\",\"query\":\"abc\"}\n").unwrap();
    let o = medbridge(&["--model", s(&base), "train", "bi", "--data", s(&bad)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.jsonl:1"), "file:line in the error");
    let data = tmp.path().join("pairs.jsonl");
    write_pairs(&data, 12);
    let o = medbridge(&[
        "--model",
        s(&base),
        "train",
        "bi",
        "--data",
        s(&data),
        "--freeze-layers",
        "2",
        "--max-len",
        "16",
        "--dev-size",
        "0",
        "--batch",
        "4",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("leaves nothing to train"));
    let o = medbridge(&[
        "--model",
        s(&base),
        "train",
        "bi",
        "--data",
        s(&data),
        "--resume",
        "--checkpoints",
        s(&tmp.path().join("none")),
        "--max-len",
        "16",
        "--freeze-layers",
        "1",
        "--batch",
        "4",
        "--dev-size",
        "0",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no checkpoint"));
}

#[test]
fn train_cross_mines_trains_and_reranks_search_and_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    tiny_model_dir(&base);
    let data = tmp.path().join("pairs.jsonl");
    write_pairs(&data, 24);
    let pairs = medbridge::synth::read_jsonl(&data).unwrap();
    // a dense index over the codes' passages (the first stage, and the miner of negatives)
    let (corpus, queries, qrels) = (tmp.path().join("corpus.jsonl"), tmp.path().join("queries.jsonl"), tmp.path().join("qrels.tsv"));
    let mut c = String::new();
    let mut q = String::new();
    let mut r = String::from("query-id\tcorpus-id\tscore\n");
    for (i, p) in pairs.iter().enumerate() {
        c += &format!("{}\n", serde_json::json!({"_id": p.positive_code, "text": p.positive_text}));
        q += &format!("{}\n", serde_json::json!({"_id": format!("q{i}"), "text": p.query}));
        r += &format!("q{i}\t{}\t1\n", p.positive_code);
    }
    std::fs::write(&corpus, c).unwrap();
    std::fs::write(&queries, q).unwrap();
    std::fs::write(&qrels, r).unwrap();
    let index = tmp.path().join("corpus.mbix");
    assert!(medbridge(&["--model", s(&base), "index", "--corpus", s(&corpus), "--out", s(&index)]).status.success());

    let (out, ck) = (tmp.path().join("cross"), tmp.path().join("ck"));
    let o = medbridge(&[
        "--model",
        s(&base),
        "train",
        "cross",
        "--data",
        s(&data),
        "--mine-index",
        s(&index),
        "--negatives",
        "3",
        "--steps",
        "6",
        "--batch",
        "4",
        "--freeze-layers",
        "1",
        "--max-len",
        "40",
        "--dev-size",
        "4",
        "--eval-every",
        "3",
        "--checkpoint-every",
        "3",
        "--lr",
        "1e-3",
        "--out",
        s(&out),
        "--checkpoints",
        s(&ck),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("mined") && err.contains("dev @ step 6") && err.contains("pairs/s"), "{err}");
    assert!(ck.join("step-000006").join("optim.safetensors").is_file());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "cross");
    assert_eq!(m["base_model_id"], "tiny-cli@0");
    assert!(m["model_id"].as_str().unwrap().starts_with("tiny-cli@0+cross-"));
    assert_eq!(m["training"]["objective"]["negatives"], 3);
    assert!(m["training"]["objective"]["mean_list"].as_f64().unwrap() > 3.0, "mined + hierarchy negatives fill the lists: {m}");
    let w = load(&out.join("weights.safetensors"));
    assert_eq!(w["head.weight"].len(), 64);
    assert!(w.keys().all(|k| k == "head.weight" || k.starts_with("encoder.layer.1.")), "{:?}", w.keys());

    // search and eval rerank with it
    let o = medbridge(&[
        "--model",
        s(&base),
        "search",
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&out),
        "--top-k",
        "3",
        &pairs[0].query,
    ]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    let mj = tmp.path().join("m.json");
    let o = medbridge(&[
        "--model",
        s(&base),
        "eval",
        "--queries",
        s(&queries),
        "--qrels",
        s(&qrels),
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&out),
        "--out",
        s(&mj),
    ]);
    assert!(o.status.success());
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(&mj).unwrap()).unwrap();
    assert_eq!(rep["rerank"], 5);
    assert_eq!(rep["reranker_model_id"], m["model_id"]);
    assert_eq!(rep["first_stage_weight"], 1.0);
    // the candidates' catalogue descriptions (every language) join the index's text
    let catalog = tmp.path().join("catalog.jsonl");
    let lines: Vec<String> = pairs
        .iter()
        .map(|p| serde_json::json!({"code": p.positive_code, "parent": null, "level": 3, "descriptions": {"en": p.positive_text, "es": format!("{} (es)", p.positive_text)}}).to_string())
        .collect();
    std::fs::write(&catalog, lines.join("\n") + "\n").unwrap();
    let o = medbridge(&[
        "--model",
        s(&base),
        "eval",
        "--queries",
        s(&queries),
        "--qrels",
        s(&qrels),
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&out),
        "--rerank-catalog",
        s(&catalog),
        "--out",
        s(&mj),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&std::fs::read(&mj).unwrap()).unwrap();
    assert_eq!(rep["rerank_catalog"], s(&catalog));
    // a catalogue that describes none of the index's ids is refused, as is one without --rerank
    let other = tmp.path().join("other.jsonl");
    std::fs::write(
        &other,
        serde_json::json!({"code": "Z99.9", "parent": null, "level": 4, "descriptions": {"en": "x"}}).to_string() + "\n",
    )
    .unwrap();
    let o = medbridge(&[
        "--model",
        s(&base),
        "eval",
        "--queries",
        s(&queries),
        "--qrels",
        s(&qrels),
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&out),
        "--rerank-catalog",
        s(&other),
        "--out",
        s(&mj),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("other.jsonl") && err.contains("none of the index"), "{err}");
    let o = medbridge(&["--model", s(&base), "search", "--index", s(&index), "--rerank-catalog", s(&catalog), "x"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("needs --rerank"));
    let o = medbridge(&[
        "--model",
        s(&base),
        "search",
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&out),
        "--rerank-max-len",
        "4",
        "x",
    ]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--rerank-max-len 4"));
    // the search page needs an ICD-10 index: a plain corpus index is refused before any file is written
    let web = tmp.path().join("web");
    let o = medbridge(&["--model", s(&base), "export-web", "--index", s(&index), "--catalog", s(&catalog), "--out", s(&web)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("ICD-10 index"), "{err}");
    assert!(!web.exists(), "a refused export wrote {}", web.display());

    // the page's reranker: export-web ships only the trained top layer and the head (reranker.gguf); run on
    // the bundle's model as the page runs it (score-pairs --bundle), it scores as the native reranker does,
    // within the Q8_0 body's rounding
    let o = medbridge(&["--model", s(&base), "export-web", "--out", s(&web), "--reranker", s(&out)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("reranker.gguf") && err.contains("layers 1 and up"), "{err}");
    let bm: serde_json::Value = serde_json::from_slice(&std::fs::read(web.join("manifest.json")).unwrap()).unwrap();
    assert_eq!((bm["reranker"]["model_id"].as_str(), bm["reranker"]["first_layer"].as_u64()), (m["model_id"].as_str(), Some(1)), "{bm}");
    let pairs_file = tmp.path().join("score-pairs.jsonl");
    let lines: Vec<String> =
        pairs.iter().take(6).map(|p| serde_json::json!({"query": p.query, "passage": p.positive_text}).to_string()).collect();
    std::fs::write(&pairs_file, lines.join("\n") + "\n").unwrap();
    let scores = |args: &[&str]| -> Vec<f64> {
        let o = medbridge(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["score"].as_f64().unwrap())
            .collect()
    };
    // In f32, so that the difference is the bundle's own (its Q8_0 layers), not the int8 arithmetic's.
    let native = scores(&["--precision", "f32", "--model", s(&base), "score-pairs", "--pairs", s(&pairs_file), "--reranker", s(&out)]);
    let web_scores = scores(&["--precision", "f32", "score-pairs", "--pairs", s(&pairs_file), "--bundle", s(&web)]);
    assert_eq!(native.len(), 6);
    let diff = native.iter().zip(&web_scores).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let spread = native.iter().cloned().fold(f64::MIN, f64::max) - native.iter().cloned().fold(f64::MAX, f64::min);
    println!("bundle reranker vs native: max abs diff {diff:.2e}, score spread {spread:.3}");
    assert!(diff < 0.02 * spread, "bundle {web_scores:?} vs native {native:?}");
    assert!(native.iter().any(|x| (x - native[0]).abs() > 1e-4), "the scores tell pairs apart: {native:?}");
    // a model whose lower layers are not the reranker's base's is refused, naming the tensor; the bundle is kept
    let other = tmp.path().join("other-model");
    let (mut info, tok, t) = medbridge::model::testing::tiny_model(medbridge::text::tokenize::letters_tokenizer(), 2, 99);
    info.model_id = "tiny-other@0".into();
    medbridge::model::testing::write_model_dir(&other, &info, &tok, &t).unwrap();
    let before = std::fs::read(web.join("manifest.json")).unwrap();
    let o = medbridge(&["--model", s(&other), "export-web", "--out", s(&web), "--reranker", s(&out), "--reranker-base", s(&base)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("embeddings.position_embeddings.weight is not the reranker's base model's"), "{err}");
    assert_eq!(std::fs::read(web.join("manifest.json")).unwrap(), before, "a refused export changed the bundle");
    let o = medbridge(&["--model", s(&base), "export-web", "--out", s(&web), "--reranker", s(&tmp.path().join("nowhere"))]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no trained reranker"));
    let o = medbridge(&["--model", s(&base), "export-web", "--out", s(&tmp.path().join("web2"))]);
    assert!(o.status.success());
    let o = medbridge(&["score-pairs", "--pairs", s(&pairs_file), "--bundle", s(&tmp.path().join("web2"))]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no reranker"));
    std::fs::write(&pairs_file, "{\"query\": \"x\"}\n").unwrap();
    let o = medbridge(&["score-pairs", "--pairs", s(&pairs_file), "--bundle", s(&web)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("score-pairs.jsonl:1"), "{err}");

    // labelled results → the report (table, plot, json); the unlabelled default names the queries file
    let dense = tmp.path().join("dense.json");
    let o = medbridge(&[
        "--model",
        s(&base),
        "eval",
        "--queries",
        s(&queries),
        "--qrels",
        s(&qrels),
        "--index",
        s(&index),
        "--set",
        "tiny set",
        "--system",
        "dense",
        "--out",
        s(&dense),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(rep["set"].as_str().unwrap().ends_with("queries.jsonl"), "{rep}");
    let rdir = tmp.path().join("report");
    let o = medbridge(&["report", "--out", s(&rdir), s(&dense), s(&mj)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(rdir.join("report.md")).unwrap();
    assert!(md.contains("| tiny set | dense |"), "{md}");
    assert!(std::fs::read_to_string(rdir.join("report.svg")).unwrap().starts_with("<svg"));
    let o = medbridge(&["report", "--out", s(&rdir), s(&dense), s(&dense)]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("dense.json"));

    // no reranker: a clear error before any work, naming the command that trains one
    let o = medbridge(&[
        "--model",
        s(&base),
        "search",
        "--index",
        s(&index),
        "--rerank",
        "5",
        "--reranker",
        s(&tmp.path().join("nowhere")),
        "x",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("nowhere") && err.contains("medbridge train cross"), "{err}");
    // a reranker is not an encoder
    let o = medbridge(&["--model", s(&base), "train", "assemble", "--trained", s(&out), "--out", s(&tmp.path().join("asm"))]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("kind cross"), "{err}");
}
