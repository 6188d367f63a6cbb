//! Cross-encoder reranker tests on tiny random models (a child of `train::tests`, whose model,
//! tokenizer and data builders it uses).
use super::*;
use crate::model::parts;
use crate::retrieve::index::IndexBuilder;
use crate::retrieve::rerank::{Reranker, HEAD_WEIGHT};
use crate::retrieve::Run;
use crate::train::cross::{self, CrossExample, CrossObjective};

fn cross_trainable(layers: usize, freeze: usize, adapt: Adapt) -> (TrainableEncoder, CrossObjective) {
    let (info, tok, t) = tiny_model(layers, 7);
    let mut enc =
        TrainableEncoder::from_raw(info, tok, t, TrainSpec { freeze_layers: freeze, adapt, max_len: 64 }, Exec::default(), 3, &Device::Cpu)
            .unwrap();
    let obj = cross::add_head(&mut enc, 5).unwrap();
    (enc, obj)
}

/// Parts saved by a trainer, read back as a [`Reranker`] over the same tiny base model.
fn reranker_from(dir: &std::path::Path) -> crate::Result<Reranker> {
    let (info, tok, t) = tiny_model(3, 7);
    let m = std::fs::read(dir.join(parts::PARTS_MANIFEST)).unwrap();
    let w = std::fs::read(dir.join(parts::PARTS_WEIGHTS)).unwrap_or_default();
    Reranker::from_bytes(info, tok, t, &m, &w, &dir.display().to_string())
}

#[test]
fn every_cross_parameter_head_included_gets_a_gradient() {
    for (adapt, layer_tensors) in [(Adapt::Layers, 2 * 15), (Adapt::Lora { rank: 4, alpha: 8.0 }, 2 * 12)] {
        let (mut enc, obj) = cross_trainable(3, 1, adapt);
        assert_eq!(enc.params().len(), layer_tensors + 1, "{adapt:?}: layer tensors + the head weight");
        assert!(enc.params().iter().any(|p| p.0 == HEAD_WEIGHT));
        let ex = cross::prepare(&enc, &pairs(6, 1), None, 2).unwrap();
        assert!(ex.iter().all(|e| e.seqs.len() == 3 && e.codes[0] == e.code && !e.codes[1..].contains(&e.code)));
        let batch: Vec<&CrossExample> = ex.iter().collect();
        assert_every_param_gets_a_gradient(adapt, &mut enc, |enc| obj.loss(enc, &batch).unwrap());
    }
}

#[test]
fn lists_of_unequal_length_are_masked_not_padded_with_scores() {
    let (mut enc, obj) = cross_trainable(2, 1, Adapt::Layers);
    let ex = cross::prepare(&enc, &pairs(4, 2), None, 2).unwrap();
    // the loss of a batch = the mean of the per-list losses, whatever the other lists' lengths
    let mut short = ex[1].clone();
    short.seqs.truncate(2);
    short.codes.truncate(2);
    let one = |e: &CrossExample, enc: &mut TrainableEncoder| obj.loss(enc, &[e]).unwrap().to_scalar::<f32>().unwrap();
    let (a, b) = (one(&ex[0], &mut enc), one(&short, &mut enc));
    let both = obj.loss(&mut enc, &[&ex[0], &short]).unwrap().to_scalar::<f32>().unwrap();
    assert!((both - (a + b) / 2.0).abs() < 1e-4, "batch loss {both} vs per-list {a}, {b}");
    // a list without negatives cannot train
    let mut alone = ex[2].clone();
    alone.seqs.truncate(1);
    assert!(obj.loss(&mut enc, &[&alone]).is_err());
}

#[test]
fn cross_loss_falls_and_the_trained_reranker_puts_positives_first() {
    let dir = tempfile::tempdir().unwrap();
    for adapt in [Adapt::Layers, Adapt::Lora { rank: 8, alpha: 16.0 }] {
        let (mut enc, obj) = cross_trainable(3, 1, adapt);
        let ps = pairs(8, 3);
        let ex = cross::prepare(&enc, &ps, None, 2).unwrap();
        let rep = train_loop(&mut enc, &obj, &ex, &ex, &opts(60, 8, 3e-3), |_| {}).unwrap();
        let (first, last) = (rep.losses[0].1, rep.final_loss);
        println!("{adapt:?}: loss {first:.3} → {last:.3}; dev {:?} → {:?}", rep.dev[0].1, rep.dev.last().unwrap().1);
        assert!(last < 0.3 * first, "{adapt:?}: loss {first} → {last} did not fall enough");
        assert_eq!(rep.dev.last().unwrap().1["r@1"], 1.0, "{adapt:?}: the overfit lists are not memorised");

        // ship the parts (f16), load them as a Reranker over the base model, rerank the lists
        let out = dir.path().join(format!("{adapt:?}").replace(' ', ""));
        let m = enc.save_parts(&out, "cross", 11, &serde_json::json!({}), &serde_json::json!({})).unwrap();
        assert!(m.model_id.starts_with("tiny-test@7+cross-"), "{}", m.model_id);
        let mut rr = reranker_from(&out).unwrap();
        rr.first_stage_weight = 0.0; // the reranker alone: the first stage below ranks the positive last
                                     // the share of a pair the reranker reads: all of it within the limit, a part when cut
        let (q0, p0) = (ps[0].query.as_str(), ps[0].positive_text.as_str());
        let trained_len = rr.max_len;
        rr.max_len = 512;
        assert_eq!(rr.seen_fraction(q0, &[p0]).unwrap(), 1.0);
        rr.max_len = 8;
        let seen = rr.seen_fraction(q0, &[p0, p0]).unwrap();
        let full = crate::encode::pair_tokens(&rr.encoder.tokenizer, q0, p0, 512).unwrap().ids.len() as f32;
        assert!((seen - 8.0 / full).abs() < 1e-6, "seen {seen}, pair of {full} tokens cut to 8");
        rr.max_len = trained_len;
        assert_eq!(rr.encoder.info.model_id, m.model_id);
        // same scores as the trainer's (up to f16 storage of the parts)
        let seqs: Vec<&[u32]> = ex.iter().flat_map(|e| e.seqs.iter().map(|s| s.as_slice())).collect();
        let want = obj.scores_detached(&mut enc, &seqs).unwrap();
        let have = rr.score_ids(&seqs).unwrap();
        for (w, h) in want.iter().zip(&have) {
            assert!((w - h).abs() < 0.02 * w.abs().max(1.0), "{adapt:?}: trainer score {w} vs reranker {h}");
        }
        // a first stage that ranks the positive last; reranking its top 3 puts it first
        let mut run = Run::new();
        let mut texts = std::collections::HashMap::new();
        for (i, p) in ps.iter().enumerate() {
            let mut hits: Vec<(String, f32)> = p.hard_negatives.iter().map(|n| (n.code.clone(), 0.0)).collect();
            hits.push((p.positive_code.clone(), 0.0));
            hits.push(("TAIL".into(), 0.0));
            for (j, h) in hits.iter_mut().enumerate() {
                h.1 = 1.0 - j as f32 * 0.1;
            }
            for n in &p.hard_negatives {
                texts.insert((i, n.code.clone()), n.text.clone());
            }
            texts.insert((i, p.positive_code.clone()), p.positive_text.clone());
            run.insert(format!("q{i}"), hits);
        }
        let qi = |qid: &str| qid[1..].parse::<usize>().unwrap();
        for (qid, hits) in run.clone() {
            let i = qi(&qid);
            let one: Run = [(qid.clone(), hits)].into_iter().collect();
            let one_text = |id: &str| texts.get(&(i, id.to_string())).cloned().map(|t| vec![t]);
            let re = rr.rerank_run(&one, |_| Some(ps[i].query.clone()), one_text, 3, |_, _| {}).unwrap().run;
            let ranked = &re[&qid];
            assert_eq!(ranked[0].0, ps[i].positive_code, "{adapt:?}: {qid} reranked {ranked:?}");
            assert_eq!(ranked[3].0, "TAIL", "beyond the top N the order is kept");
            assert!(ranked.windows(2).all(|w| w[0].1 > w[1].1), "scores decrease: {ranked:?}");
            // several descriptions per candidate: its best counts, so the first negative described
            // also by the positive's text ties with the positive at the top
            let first_negative = ps[i].hard_negatives[0].code.clone();
            let with_extra = |id: &str| {
                let mut t = one_text(id)?;
                if id == first_negative {
                    t.push(ps[i].positive_text.clone());
                }
                Some(t)
            };
            let re = rr.rerank_run(&one, |_| Some(ps[i].query.clone()), with_extra, 3, |_, _| {}).unwrap().run;
            let top2: std::collections::HashSet<&str> = re[&qid][..2].iter().map(|h| h.0.as_str()).collect();
            assert!(top2.contains(ps[i].positive_code.as_str()) && top2.contains(first_negative.as_str()), "{adapt:?}: {:?}", re[&qid]);
            assert!((re[&qid][0].1 - re[&qid][1].1).abs() < 1e-3, "{adapt:?}: a shared best description scores the same: {:?}", re[&qid]);
        }
        // a reranker that reads too little of the pairs keeps the first stage's order, and says so
        let all_text = |id: &str| Some(vec![format!("{id} {}", ps[0].positive_text)]);
        let query = |_: &str| Some(ps[0].query.clone());
        rr.max_len = 8;
        let seen = rr.seen_fraction(&ps[0].query, &[&format!("{} {}", ps[0].positive_code, ps[0].positive_text)]).unwrap();
        assert!(seen < rr.min_seen, "the test needs pairs cut below min_seen: seen {seen}");
        let kept = rr.rerank_run(&run, query, all_text, 3, |_, _| {}).unwrap();
        assert_eq!(kept.kept_first_stage, run.len());
        assert_eq!(kept.run, run, "an unread query keeps the first stage's ranking and scores");
        rr.min_seen = 0.0;
        let forced = rr.rerank_run(&run, query, all_text, 3, |_, _| {}).unwrap();
        assert_eq!(forced.kept_first_stage, 0);
        assert_ne!(forced.run, run, "min_seen 0 reranks whatever it reads");
        rr.max_len = trained_len;
        rr.min_seen = crate::retrieve::rerank::DEFAULT_MIN_SEEN;
        // a missing passage text is an error naming the result
        let e = rr.rerank_run(&run, |_| Some("x".into()), |_| None, 3, |_, _| {}).unwrap_err().to_string();
        assert!(e.contains("no passage text"), "{e}");
    }
}

#[test]
fn bad_reranker_directories_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // nothing there: name the command that trains one
    let e = Reranker::load(std::path::Path::new("models/e5-small"), &dir.path().join("nope")).err().unwrap().to_string();
    assert!(e.contains("no trained reranker") && e.contains("medbridge train cross") && e.contains("nope"), "{e}");

    let (mut enc, obj) = cross_trainable(3, 1, Adapt::Layers);
    let ex = cross::prepare(&enc, &pairs(4, 4), None, 2).unwrap();
    train_loop(&mut enc, &obj, &ex, &[], &opts(2, 4, 1e-3), |_| {}).unwrap();
    let good = dir.path().join("cross");
    enc.save_parts(&good, "cross", 1, &serde_json::json!({}), &serde_json::json!({})).unwrap();
    assert!(reranker_from(&good).is_ok());
    // a reranker is not an encoder: `train assemble` / bi loading refuse it
    let (info, _, mut t) = tiny_model(3, 7);
    let e = parts::apply(&mut t, &info, &good).unwrap_err().to_string();
    assert!(e.contains("kind cross") && e.contains("--rerank"), "{e}");
    // bi-encoder parts are not a reranker
    let (mut bi_enc, _) = (trainable(3, 1, Adapt::Layers, Exec::default()), ());
    let bex = bi::prepare(&bi_enc, &pairs(4, 4), 1).unwrap();
    train_loop(&mut bi_enc, &BiObjective::default(), &bex, &[], &opts(1, 4, 1e-3), |_| {}).unwrap();
    let bi_dir = dir.path().join("bi");
    bi_enc.save_parts(&bi_dir, "bi", 1, &serde_json::json!({}), &serde_json::json!({})).unwrap();
    let e = reranker_from(&bi_dir).err().unwrap().to_string();
    assert!(e.contains("manifest.json") && e.contains("not a reranker") && e.contains("medbridge train cross"), "{e}");
    // another base model
    let (mut info2, tok2, t2) = tiny_model(3, 7);
    info2.model_id = "other@2".into();
    let m = std::fs::read(good.join(parts::PARTS_MANIFEST)).unwrap();
    let w = std::fs::read(good.join(parts::PARTS_WEIGHTS)).unwrap();
    let e = Reranker::from_bytes(info2, tok2, t2, &m, &w, "X").err().unwrap().to_string();
    assert!(e.contains("X/manifest.json") && e.contains("other@2"), "{e}");
    // damaged weights
    let mut bad = w.clone();
    let n = bad.len() - 1;
    bad[n] ^= 1;
    let (info3, tok3, t3) = tiny_model(3, 7);
    let e = Reranker::from_bytes(info3, tok3, t3, &m, &bad, "X").err().unwrap().to_string();
    assert!(e.contains("X/weights.safetensors") && e.contains("sha256"), "{e}");
    // a malformed manifest names the file, line and column
    let (info4, tok4, t4) = tiny_model(3, 7);
    let e = Reranker::from_bytes(info4, tok4, t4, b"{\n \"format\": 1,\n \"kind\": 3\n}", &w, "X").err().unwrap().to_string();
    assert!(e.contains("X/manifest.json") && e.contains("line 3"), "{e}");
}

#[test]
fn checkpoints_carry_the_head_and_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let ex = {
        let (enc, _) = cross_trainable(3, 1, Adapt::Layers);
        cross::prepare(&enc, &pairs(8, 5), None, 2).unwrap()
    };
    let (mut straight, obj) = cross_trainable(3, 1, Adapt::Layers);
    train_loop(&mut straight, &obj, &ex, &[], &opts(4, 4, 1e-3), |_| {}).unwrap();
    let mut o = opts(4, 4, 1e-3);
    o.checkpoint_dir = Some(dir.path().to_path_buf());
    o.stop_at = Some(2);
    let (mut first, obj1) = cross_trainable(3, 1, Adapt::Layers);
    train_loop(&mut first, &obj1, &ex, &[], &o, |_| {}).unwrap();
    o.stop_at = None;
    o.resume = true;
    let (mut second, _) = cross_trainable(3, 1, Adapt::Layers);
    let obj2 = CrossObjective::from_encoder(&second).unwrap();
    train_loop(&mut second, &obj2, &ex, &[], &o, |_| {}).unwrap();
    let (a, b) = (snapshot(&straight), snapshot(&second));
    for n in [HEAD_WEIGHT, "encoder.layer.2.output.dense.weight"] {
        let d = a[n].iter().zip(&b[n]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(d <= 1e-6, "{n} differs by {d} after resume");
    }
}

#[test]
fn negatives_merge_mined_and_synthetic_and_mining_skips_the_positive() {
    let ps = pairs(6, 6);
    let p = &ps[0];
    let mined = vec![
        HardNegative { code: p.positive_code.clone(), text: "same code".into(), relation: "mined".into() },
        HardNegative { code: "M1".into(), text: "m one".into(), relation: "mined".into() },
        HardNegative { code: p.hard_negatives[0].code.clone(), text: "dup code".into(), relation: "mined".into() },
        HardNegative { code: "M2".into(), text: "m two".into(), relation: "mined".into() },
    ];
    let got: Vec<String> = cross::merge_negatives(p, &mined, 10).into_iter().map(|n| n.code).collect();
    let want: Vec<String> = vec!["M1".into(), p.hard_negatives[0].code.clone(), "M2".into(), p.hard_negatives[1].code.clone()];
    assert_eq!(got, want, "alternating, distinct codes, never the positive");
    assert_eq!(cross::merge_negatives(p, &mined, 2).len(), 2);

    // mining from a dense index of the pairs' passages with a tiny encoder
    let (info, tok, t) = tiny_model(2, 7);
    let enc = crate::encode::Encoder::from_parts(info.clone(), tok, t, &Device::Cpu).unwrap();
    let ids: Vec<String> = ps.iter().map(|p| p.positive_code.clone()).collect();
    let texts: Vec<String> = ps.iter().map(|p| p.positive_text.clone()).collect();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let vecs = enc.embed(&refs, crate::encode::Kind::Passage).unwrap();
    let idx = IndexBuilder::default().build(&info.model_id, "test", "passage", ids, texts, vecs).unwrap();
    let mut calls = 0;
    let mined = cross::mine_negatives(&enc, &idx, &ps, 3, |_, _| calls += 1).unwrap();
    assert!(calls >= 1);
    for (p, m) in ps.iter().zip(&mined) {
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|n| n.code != p.positive_code && n.text != p.positive_text && n.relation == "mined"));
    }
    let ex = {
        let (enc, _) = cross_trainable(3, 1, Adapt::Layers);
        cross::prepare(&enc, &ps, Some(&mined), 4).unwrap()
    };
    for e in &ex {
        let distinct: std::collections::HashSet<&String> = e.codes.iter().collect();
        assert!(e.seqs.len() >= 4 && e.seqs.len() <= 5 && distinct.len() == e.codes.len(), "{:?}", e.codes);
    }
    assert_ne!(cross::fingerprint(&ex), cross::fingerprint(&ex[1..]));
}
