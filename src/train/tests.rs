//! Training tests on tiny random models (fast, no files needed).
use std::collections::HashMap;

use candle_core::{Device, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::bi::{self, BiExample, BiObjective};
use super::encoder::{Exec, TrainableEncoder};
use super::*;
use crate::encode::Encoder;
use crate::encode::Pool;
use crate::model::parts;
use crate::model::{ModelInfo, RawTensor};
use crate::synth::{HardNegative, SynthPair};
use crate::text::tokenize::Tokenizer;

fn tokenizer() -> Tokenizer {
    crate::text::tokenize::letters_tokenizer()
}

fn tiny_model(layers: usize, seed: u64) -> (ModelInfo, Tokenizer, Vec<RawTensor>) {
    crate::model::testing::tiny_model(tokenizer(), layers, seed)
}

fn trainable(layers: usize, freeze: usize, adapt: Adapt, exec: Exec) -> TrainableEncoder {
    let (info, tok, t) = tiny_model(layers, 7);
    TrainableEncoder::from_raw(info, tok, t, TrainSpec { freeze_layers: freeze, adapt, max_len: 24 }, exec, 3, &Device::Cpu).unwrap()
}

fn word(rng: &mut StdRng) -> String {
    let n = rng.gen_range(3..7);
    (0..n).map(|_| (b'a' + rng.gen_range(0..26u8)) as char).collect()
}

/// `n` pairs: query = two words of the passage plus noise; hard negatives share a word.
fn pairs(n: usize, seed: u64) -> Vec<SynthPair> {
    let mut rng = StdRng::seed_from_u64(seed);
    let passages: Vec<String> = (0..n).map(|_| format!("{} {} {}", word(&mut rng), word(&mut rng), word(&mut rng))).collect();
    (0..n)
        .map(|i| {
            let w: Vec<&str> = passages[i].split(' ').collect();
            let neg = |j: usize| HardNegative {
                code: format!("C{:02}", j % n),
                text: format!("{} {}", w[0], passages[j % n]),
                relation: "sibling".into(),
            };
            SynthPair {
                lang: ["en", "es"][i % 2].into(),
                query: format!("{} {} {}", w[1], w[0], word(&mut rng)),
                positive_code: format!("C{i:02}"),
                positive_text: passages[i].clone(),
                positive_lang: "en".into(),
                hard_negatives: vec![neg(i + 1), neg(i + 2)],
                generator: "offline".into(),
                seed,
                template: String::new(),
            }
        })
        .collect()
}

fn opts(steps: usize, batch: usize, lr: f64) -> LoopOptions {
    LoopOptions {
        batch,
        steps,
        lr,
        warmup: 2,
        adamw: AdamWParams::default(),
        clip: 1.0,
        seed: 11,
        eval_every: 0,
        checkpoint_every: 0,
        checkpoint_dir: None,
        keep_checkpoints: 2,
        resume: false,
        stop_at: None,
        data_fingerprint: "test".into(),
    }
}

fn snapshot(enc: &TrainableEncoder) -> HashMap<String, Vec<f32>> {
    enc.params().iter().map(|(n, v)| (n.clone(), v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap())).collect()
}

fn frozen_snapshot(enc: &TrainableEncoder) -> Vec<Vec<f32>> {
    let mut out = vec![enc.position_like()];
    for l in &enc.base.layers {
        for lin in [&l.query, &l.key, &l.value, &l.attn_out, &l.ffn_in, &l.ffn_out] {
            out.push(lin.weight().flatten_all().unwrap().to_vec1::<f32>().unwrap());
        }
    }
    out
}

impl TrainableEncoder {
    fn position_like(&self) -> Vec<f32> {
        self.base.word.lookup(&[5, 6, 7], &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }
}

/// Two optimiser rounds of `loss`; every trainable tensor must receive a non-zero gradient. LoRA's B
/// starts at zero, so A's gradient is exactly zero on the first step: adapters are checked on the second.
fn assert_every_param_gets_a_gradient(adapt: Adapt, enc: &mut TrainableEncoder, mut loss: impl FnMut(&mut TrainableEncoder) -> Tensor) {
    let mut opt = AdamW::new(enc.params().to_vec(), AdamWParams::default()).unwrap();
    for round in 0..2 {
        let grads = loss(enc).backward().unwrap();
        if round == 1 || adapt == Adapt::Layers {
            for (name, var) in enc.params() {
                let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{adapt:?}: {name} has no gradient"));
                assert!(abs_sum(g) > 0.0, "{adapt:?}: {name} has an all-zero gradient");
            }
        }
        opt.step(&grads, 1e-3).unwrap();
    }
}

fn abs_sum(t: &Tensor) -> f32 {
    t.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn every_trainable_parameter_gets_a_gradient_in_both_modes() {
    for (adapt, expected) in [(Adapt::Layers, 2 * 15), (Adapt::Lora { rank: 4, alpha: 8.0 }, 2 * 12)] {
        let mut enc = trainable(3, 1, adapt, Exec::default());
        assert_eq!(enc.params().len(), expected, "{adapt:?}: trainable tensors (key bias excluded)");
        assert!(enc.params().iter().all(|(n, _)| !n.starts_with("encoder.layer.0.") && !n.contains("key.bias")));
        let ex = bi::prepare(&enc, &pairs(6, 1), 2).unwrap();
        let batch: Vec<&BiExample> = ex.iter().collect();
        let obj = BiObjective::default();
        assert_every_param_gets_a_gradient(adapt, &mut enc, |enc| obj.loss(enc, &batch).unwrap());
    }
}

#[test]
fn frozen_parts_do_not_change_and_trained_ones_do() {
    for adapt in [Adapt::Layers, Adapt::Lora { rank: 2, alpha: 4.0 }] {
        let mut enc = trainable(3, 1, adapt, Exec::default());
        let frozen_before = frozen_snapshot(&enc);
        let probe = enc.tokenize("abc def", crate::encode::Kind::Query).unwrap();
        let frozen_out_before = enc.embed(&[&probe], Pool::Mean).unwrap();
        let before = snapshot(&enc);
        let ex = bi::prepare(&enc, &pairs(8, 2), 2).unwrap();
        train_loop(&mut enc, &BiObjective::default(), &ex, &[], &opts(4, 4, 1e-3), |_| {}).unwrap();
        assert_eq!(frozen_before, frozen_snapshot(&enc), "{adapt:?}: a frozen tensor changed");
        let after = snapshot(&enc);
        for (n, v) in &before {
            assert_ne!(v, &after[n], "{adapt:?}: trainable {n} did not change");
        }
        let out_after = enc.embed(&[&probe], Pool::Mean).unwrap();
        assert_ne!(frozen_out_before, out_after, "{adapt:?}: the output did not change");
    }
}

#[test]
fn loss_falls_on_a_tiny_overfit_set() {
    for adapt in [Adapt::Layers, Adapt::Lora { rank: 8, alpha: 16.0 }] {
        let mut enc = trainable(2, 1, adapt, Exec::default());
        let ex = bi::prepare(&enc, &pairs(8, 3), 2).unwrap();
        let rep = train_loop(&mut enc, &BiObjective { temperature: 0.1 }, &ex, &ex, &opts(40, 8, 3e-3), |_| {}).unwrap();
        let first = rep.losses[0].1;
        let last = rep.final_loss;
        println!("{adapt:?}: loss {first:.3} → {last:.3}; dev {:?} → {:?}", rep.dev[0].1["mrr@10"], rep.dev.last().unwrap().1["mrr@10"]);
        assert!(last < 0.3 * first, "{adapt:?}: loss {first} → {last} did not fall enough");
        assert!(rep.dev.last().unwrap().1["r@1"] >= rep.dev[0].1["r@1"]);
        assert_eq!(rep.dev.last().unwrap().1["r@1"], 1.0, "{adapt:?}: the overfit set is not memorised");
    }
}

#[test]
fn cache_and_no_cache_give_the_same_loss_and_padding_does_not_matter() {
    let ex = {
        let enc = trainable(3, 2, Adapt::Layers, Exec::default());
        bi::prepare(&enc, &pairs(6, 4), 2).unwrap()
    };
    let batch: Vec<&BiExample> = ex.iter().collect();
    let mut losses = vec![];
    for exec in [Exec::default(), Exec { cache: false, pad_to: 0, chunk: 4 }, Exec { cache: false, pad_to: 40, chunk: 64 }] {
        let mut enc = trainable(3, 2, Adapt::Layers, exec.clone());
        losses.push(BiObjective::default().loss(&mut enc, &batch).unwrap().to_scalar::<f32>().unwrap());
    }
    println!("losses {losses:?}");
    for l in &losses[1..] {
        assert!((l - losses[0]).abs() < 2e-3 * losses[0].abs().max(1.0), "losses differ: {losses:?}");
    }
}

#[test]
fn resume_continues_exactly_where_the_run_stopped() {
    let dir = tempfile::tempdir().unwrap();
    for adapt in [Adapt::Layers, Adapt::Lora { rank: 2, alpha: 4.0 }] {
        let ck = dir.path().join(format!("{adapt:?}").replace(' ', ""));
        let ex = {
            let enc = trainable(3, 1, adapt, Exec::default());
            bi::prepare(&enc, &pairs(12, 5), 2).unwrap()
        };
        let obj = BiObjective::default();
        let mut straight = trainable(3, 1, adapt, Exec::default());
        let a = train_loop(&mut straight, &obj, &ex, &ex[..4], &opts(6, 4, 1e-3), |_| {}).unwrap();

        let mut o = opts(6, 4, 1e-3);
        o.checkpoint_dir = Some(ck.clone());
        o.checkpoint_every = 2;
        o.stop_at = Some(3);
        let mut first = trainable(3, 1, adapt, Exec::default());
        let r1 = train_loop(&mut first, &obj, &ex, &ex[..4], &o, |_| {}).unwrap();
        assert_eq!(r1.steps, 3);
        assert!(ck.join("step-000003").join(CKPT_OPTIM).is_file());

        o.stop_at = None;
        o.resume = true;
        let mut second = trainable(3, 1, adapt, Exec::default()); // fresh weights: all state comes from the checkpoint
        let mut resumed_at = None;
        let b = train_loop(&mut second, &obj, &ex, &ex[..4], &o, |e| {
            if let Event::Resumed { step, .. } = e {
                resumed_at = Some(*step)
            }
        })
        .unwrap();
        assert_eq!(resumed_at, Some(3));
        assert_eq!(b.first_step, 3);
        let (pa, pb) = (snapshot(&straight), snapshot(&second));
        for (n, v) in &pa {
            let d = v.iter().zip(&pb[n]).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(d <= 1e-6, "{adapt:?}: {n} differs by {d} after resume");
        }
        let la: Vec<f64> = a.losses.iter().map(|l| l.1).collect();
        let lb: Vec<f64> = b.losses.iter().map(|l| l.1).collect();
        assert_eq!(la.len(), lb.len());
        for (x, y) in la.iter().zip(&lb) {
            assert!((x - y).abs() < 1e-5, "{adapt:?}: loss histories differ: {la:?} vs {lb:?}");
        }
        // a checkpoint of another configuration is refused, naming the difference
        let mut other = trainable(3, 2, adapt, Exec::default());
        let err = train_loop(&mut other, &obj, &ex, &[], &o, |_| {}).expect_err("mismatched resume must fail");
        assert!(err.to_string().contains("checkpoint"), "{err}");
    }
}

#[test]
fn trained_parts_round_trip_into_an_encoder_with_a_new_model_id() {
    let dir = tempfile::tempdir().unwrap();
    for adapt in [Adapt::Layers, Adapt::Lora { rank: 3, alpha: 6.0 }] {
        let out = dir.path().join(format!("{adapt:?}").replace(' ', ""));
        let mut enc = trainable(3, 1, adapt, Exec::default());
        let ex = bi::prepare(&enc, &pairs(8, 6), 2).unwrap();
        train_loop(&mut enc, &BiObjective::default(), &ex, &[], &opts(3, 4, 1e-2), |_| {}).unwrap();
        let m = enc.save_parts(&out, "bi", 11, &serde_json::json!({"recipe": "test"}), &serde_json::json!({})).unwrap();
        assert_ne!(m.model_id, "tiny-test@7");
        assert!(m.model_id.starts_with("tiny-test@7+bi-"), "{}", m.model_id);
        let names: Vec<String> = enc.params().iter().map(|p| p.0.clone()).collect();
        assert!(names.iter().all(|n| !n.contains("word_embeddings")));

        let (info, tok, mut tensors) = tiny_model(3, 7);
        let got = parts::apply(&mut tensors, &info, &out).unwrap();
        assert_eq!(got.model_id, m.model_id);
        let mut info2 = info.clone();
        info2.model_id = got.model_id.clone();
        let plain = Encoder::from_parts(info2, tok, tensors, &Device::Cpu).unwrap();
        let texts = ["abc def gh", "zz top", "query words here"];
        for t in texts {
            let ids = enc.tokenize(t, crate::encode::Kind::Passage).unwrap();
            let want = &enc.embed(&[&ids], Pool::Mean).unwrap()[0];
            let have = plain.embed_one(t, crate::encode::Kind::Passage).unwrap();
            let c = crate::encode::cosine(want, &have);
            assert!(c > 0.9999, "{adapt:?}: {t:?} cosine {c} between trainer and assembled encoder");
        }
        // other base model refused
        let (mut info3, _, mut t3) = tiny_model(3, 7);
        info3.model_id = "other@1".into();
        let e = parts::apply(&mut t3, &info3, &out).unwrap_err().to_string();
        assert!(e.contains("manifest.json") && e.contains("other@1"), "{e}");
        // damaged weights refused
        let wp = out.join(parts::PARTS_WEIGHTS);
        let mut b = std::fs::read(&wp).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        std::fs::write(&wp, b).unwrap();
        let (info4, _, mut t4) = tiny_model(3, 7);
        let e = parts::apply(&mut t4, &info4, &out).unwrap_err().to_string();
        assert!(e.contains("sha256"), "{e}");
    }
}

#[test]
fn same_code_candidates_are_masked_not_negatives() {
    let mk = |q: &[u32], p: &[u32], code: &str| BiExample {
        lang: "en".into(),
        query: q.to_vec(),
        positive: p.to_vec(),
        code: code.into(),
        negatives: vec![(vec![9, 9], "Z".into())],
    };
    let ex = [mk(&[1], &[5], "A"), mk(&[2], &[6], "A"), mk(&[3], &[5], "A"), mk(&[4], &[7], "B")];
    let refs: Vec<&BiExample> = ex.iter().collect();
    let c = bi::candidates(&refs);
    assert_eq!(c.seqs.len(), 4, "positives 5,6,7 and one negative, duplicates merged");
    assert_eq!(c.targets, vec![0, 1, 0, 2]);
    let mut enc = trainable(2, 1, Adapt::Layers, Exec::default());
    let tok = |s: &str| enc.tokenize(s, crate::encode::Kind::Query).unwrap();
    // with everything of the same code, the loss is 0 (nothing to push away but the negative, far off)
    let same = [
        BiExample { lang: "en".into(), query: tok("abc"), positive: tok("abc"), code: "A".into(), negatives: vec![] },
        BiExample { lang: "en".into(), query: tok("abc"), positive: tok("xyz"), code: "A".into(), negatives: vec![] },
    ];
    let refs: Vec<&BiExample> = same.iter().collect();
    let l = BiObjective::default().loss(&mut enc, &refs).unwrap().to_scalar::<f32>().unwrap();
    assert!(l.abs() < 1e-4, "loss {l} with only same-code candidates");
}

#[test]
fn schedule_order_and_dev_split() {
    assert!((lr_at(0, 100, 10, 1.0) - 0.1).abs() < 1e-12);
    assert!((lr_at(9, 100, 10, 1.0) - 1.0).abs() < 1e-12);
    assert!((lr_at(55, 100, 10, 1.0) - 0.5).abs() < 1e-12);
    assert_eq!(lr_at(100, 100, 10, 1.0), 0.0);
    let mut o = EpochOrder::new(10, 3, 1);
    assert_eq!(o.steps_per_epoch(), 3);
    let e0: Vec<usize> = (0..3).flat_map(|s| o.batch_at(s).1).collect();
    let mut sorted = e0.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 9, "an epoch sees distinct examples");
    let (ep, b3) = o.batch_at(3);
    assert_eq!(ep, 1);
    let mut fresh = EpochOrder::new(10, 3, 1);
    assert_eq!(fresh.batch_at(3).1, b3, "the order is a function of (seed, step)");
    let ps = pairs(20, 9);
    let (train, dev) = bi::split_dev(ps, 5, 1);
    assert!(dev.len() >= 5);
    let dev_codes: std::collections::HashSet<_> = dev.iter().map(|p| &p.positive_code).collect();
    assert!(train.iter().all(|p| !dev_codes.contains(&p.positive_code)));
}

#[path = "cross_tests.rs"]
mod cross;
