//! WebGPU kernels and the whole forward pass against CPU references (run natively on any wgpu
//! adapter; CI uses Mesa lavapipe: `apt-get install mesa-vulkan-drivers libvulkan1`, optionally
//! `WGPU_BACKEND=vulkan`). No adapter is a FAILURE, not a skip.
//!
//! `cargo test --features webgpu --test gpu -- --nocapture` prints the measured errors.
#![cfg(feature = "webgpu")]
mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use medbridge::encode::{cosine, Encoder};
use medbridge::gpu::{quantize_q4_0, testing, GpuContext, GpuEncoder, GpuOptions, WeightFormat};
use medbridge::model::bert::{mean_pool_normalize, Config, Mode, Model};
use medbridge::model::bert::{weights_from_raw, word_embeddings};
use medbridge::model::e5s1::{dequantize_q4_0, dequantize_q8_0, quantize_q8_0, RawDType, RawTensor};
use medbridge::model::ModelDir;
use rand::{rngs::StdRng, Rng, SeedableRng};

fn ctx() -> GpuContext {
    match pollster::block_on(GpuContext::request()) {
        Ok(Some(c)) => {
            eprintln!("adapter: {} ({:?}, {:?})", c.adapter.name, c.adapter.backend, c.adapter.device_type);
            c
        }
        Ok(None) => panic!(
            "no WebGPU/wgpu adapter found: install Mesa lavapipe (apt-get install -y mesa-vulkan-drivers libvulkan1) \
             and retry, optionally with WGPU_BACKEND=vulkan"
        ),
        Err(e) => panic!("wgpu device request failed: {e}"),
    }
}

fn rand_vec(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0) * scale).collect()
}

fn max_abs(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y).abs()).fold(0.0, f64::max)
}

fn gelu64(x: f64) -> f64 {
    0.5 * x * (1.0 + candle_core::cpu::erf::erf_f64(x / std::f64::consts::SQRT_2))
}

#[test]
fn matmul_q8_0_and_q4_0_match_dequantised_f32() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(1);
    let (m, n, k) = (70, 96, 160); // m, n not multiples of the 64×64 tile
    let x = rand_vec(&mut rng, m * k, 1.0);
    let w = rand_vec(&mut rng, n * k, 0.1);
    let bias = rand_vec(&mut rng, n, 0.5);
    let resid = rand_vec(&mut rng, m * n, 1.0);
    for fmt in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
        let (blocks, wd) = match fmt {
            WeightFormat::Q8_0 => {
                let b = quantize_q8_0(&w);
                let d = dequantize_q8_0(&b);
                (b, d)
            }
            WeightFormat::Q4_0 => {
                let b = quantize_q4_0(&w);
                let d = dequantize_q4_0(&b);
                (b, d)
            }
        };
        let lin: Vec<f64> = (0..m * n)
            .map(|i| {
                let (r, c) = (i / n, i % n);
                (0..k).map(|j| x[r * k + j] as f64 * wd[c * k + j] as f64).sum::<f64>() + bias[c] as f64
            })
            .collect();
        for (what, gelu, res) in [("plain", false, false), ("gelu", true, false), ("residual", false, true)] {
            let want: Vec<f64> = lin
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let v = if gelu { gelu64(v) } else { v };
                    if res {
                        v + resid[i] as f64
                    } else {
                        v
                    }
                })
                .collect();
            let got =
                pollster::block_on(testing::matmul(&ctx, fmt, &x, m, &blocks, n, k, &bias, gelu, res.then_some(resid.as_slice()))).unwrap();
            let err = max_abs(&got, &want);
            println!("matmul {fmt:?} {what}: max abs error {err:.3e}");
            assert!(err < 2e-5, "matmul {fmt:?} {what}: max abs error {err}");
        }
    }
}

#[test]
fn layer_norm_matches_cpu() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(2);
    let (rows, h, eps) = (7, 384, 1e-12f32);
    let x: Vec<f32> = rand_vec(&mut rng, rows * h, 2.0).iter().map(|v| v + 3.0).collect();
    let g = rand_vec(&mut rng, h, 1.0);
    let b = rand_vec(&mut rng, h, 1.0);
    let mut want = Vec::new();
    for r in x.chunks(h) {
        let mean = r.iter().map(|&v| v as f64).sum::<f64>() / h as f64;
        let var = r.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / h as f64;
        want.extend(r.iter().enumerate().map(|(i, &v)| (v as f64 - mean) / (var + eps as f64).sqrt() * g[i] as f64 + b[i] as f64));
    }
    let got = pollster::block_on(testing::layer_norm(&ctx, &x, rows, h, &g, &b, eps)).unwrap();
    let err = max_abs(&got, &want);
    println!("layernorm: max abs error {err:.3e}");
    assert!(err < 1e-5, "layernorm max abs error {err}");
}

#[test]
fn gelu_matches_libm_erf() {
    let ctx = ctx();
    let x: Vec<f32> = (0..20001).map(|i| -10.0 + i as f32 * 0.001).collect();
    let want: Vec<f64> = x.iter().map(|&v| gelu64(v as f64)).collect();
    let got = pollster::block_on(testing::gelu(&ctx, &x)).unwrap();
    let err = max_abs(&got, &want);
    println!("gelu: max abs error {err:.3e} over [-10, 10]");
    assert!(err < 2e-6, "gelu max abs error {err}");
}

#[test]
fn attention_with_padding_mask_matches_cpu() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(3);
    let (batch, seq, heads, hd) = (3, 70, 3, 32); // two query blocks, three key tiles
    let lens = [70, 45, 1];
    let h = heads * hd;
    let qkv = rand_vec(&mut rng, batch * seq * 3 * h, 2.0);
    let mask: Vec<f32> = (0..batch * seq).map(|i| if i % seq < lens[i / seq] { 1.0 } else { 0.0 }).collect();
    let mut want = vec![0f64; batch * seq * h];
    let scale = 1.0 / (hd as f64).sqrt();
    for b in 0..batch {
        for hh in 0..heads {
            for t in 0..seq {
                let q = |d: usize| qkv[(b * seq + t) * 3 * h + hh * hd + d] as f64;
                let kk = |j: usize, d: usize| qkv[(b * seq + j) * 3 * h + h + hh * hd + d] as f64;
                let vv = |j: usize, d: usize| qkv[(b * seq + j) * 3 * h + 2 * h + hh * hd + d] as f64;
                let s: Vec<f64> = (0..lens[b]).map(|j| (0..hd).map(|d| q(d) * kk(j, d)).sum::<f64>() * scale).collect();
                let mx = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for d in 0..hd {
                    want[(b * seq + t) * h + hh * hd + d] = (0..lens[b]).map(|j| e[j] / z * vv(j, d)).sum();
                }
            }
        }
    }
    let got = pollster::block_on(testing::attention(&ctx, &qkv, &mask, batch, seq, heads, hd)).unwrap();
    let err = max_abs(&got, &want);
    println!("attention (masked): max abs error {err:.3e}");
    assert!(err < 1e-5, "attention max abs error {err}");
}

#[test]
fn gather_across_split_table_boundaries() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(4);
    let (rows, h, seq) = (10, 64, 5);
    let vals = rand_vec(&mut rng, rows * h, 1.0);
    let pos = rand_vec(&mut rng, 8 * h, 0.1);
    let typ = rand_vec(&mut rng, h, 0.1);
    let ids: Vec<u32> = vec![0, 3, 4, 5, 9, 8, 7, 6, 2, 1];
    for (dtype, bytes) in [(RawDType::Q8_0, quantize_q8_0(&vals)), (RawDType::Q4_0, quantize_q4_0(&vals))] {
        let table = RawTensor { name: "embeddings.word_embeddings.weight".into(), dtype, shape: vec![rows, h], bytes };
        let deq = table.to_f32();
        let want: Vec<f64> = (0..ids.len() * h)
            .map(|i| {
                let (m, d) = (i / h, i % h);
                deq[ids[m] as usize * h + d] as f64 + pos[(m % seq) * h + d] as f64 + typ[d] as f64
            })
            .collect();
        // Room for 4 rows per binding → 3 buffers (rows 0-3, 4-7, 8-9 after balancing: 4, 4, 2).
        let row_bytes = match dtype {
            RawDType::Q8_0 => 2 * 36,
            _ => 2 * 20,
        };
        let (got, chunks) = pollster::block_on(testing::gather(&ctx, &table, &ids, seq, &pos, &typ, 4 * row_bytes)).unwrap();
        let err = max_abs(&got, &want);
        println!("gather {dtype:?} over {chunks} table buffers: max abs error {err:.3e}");
        assert_eq!(chunks, 3);
        assert!(err < 1e-6, "gather {dtype:?} max abs error {err}");
        // Unsplit gives the same.
        let (one, c1) = pollster::block_on(testing::gather(&ctx, &table, &ids, seq, &pos, &typ, 1 << 20)).unwrap();
        assert_eq!(c1, 1);
        assert_eq!(one, got);
    }
}

#[test]
fn mean_pool_normalize_matches_cpu() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(5);
    let (batch, seq, h) = (3, 9, 384);
    let lens = [9, 4, 1];
    let x = rand_vec(&mut rng, batch * seq * h, 1.0);
    let mask: Vec<f32> = (0..batch * seq).map(|i| if i % seq < lens[i / seq] { 1.0 } else { 0.0 }).collect();
    let xt = Tensor::from_vec(x.clone(), (batch, seq, h), &Device::Cpu).unwrap();
    let mt = Tensor::from_vec(mask.clone(), (batch, seq), &Device::Cpu).unwrap();
    let want: Vec<f64> =
        mean_pool_normalize(&xt, &mt).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|&v| v as f64).collect();
    let got = pollster::block_on(testing::mean_pool(&ctx, &x, &mask, batch, seq, h)).unwrap();
    let err = max_abs(&got, &want);
    println!("mean pool + L2: max abs error {err:.3e}");
    assert!(err < 1e-6, "pool max abs error {err}");
}

/// Random tiny model in HF names: matrices Q4_0, vectors f32 (like the shipped model).
fn tiny_tensors(cfg: &Config, rng: &mut StdRng) -> Vec<RawTensor> {
    let mut out = Vec::new();
    let f32t = |name: String, shape: Vec<usize>, v: Vec<f32>| RawTensor {
        name,
        dtype: RawDType::F32,
        shape,
        bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    let (h, ff) = (cfg.hidden_size, cfg.intermediate_size);
    let q4 = |name: String, shape: Vec<usize>, v: Vec<f32>| RawTensor { name, dtype: RawDType::Q4_0, shape, bytes: quantize_q4_0(&v) };
    out.push(q4("embeddings.word_embeddings.weight".into(), vec![cfg.vocab_size, h], rand_vec(rng, cfg.vocab_size * h, 1.0)));
    out.push(f32t(
        "embeddings.position_embeddings.weight".into(),
        vec![cfg.max_position_embeddings, h],
        rand_vec(rng, cfg.max_position_embeddings * h, 0.3),
    ));
    out.push(f32t(
        "embeddings.token_type_embeddings.weight".into(),
        vec![cfg.type_vocab_size, h],
        rand_vec(rng, cfg.type_vocab_size * h, 0.3),
    ));
    let ones = |rng: &mut StdRng, n: usize| rand_vec(rng, n, 0.2).iter().map(|v| v + 1.0).collect::<Vec<f32>>();
    out.push(f32t("embeddings.LayerNorm.weight".into(), vec![h], ones(rng, h)));
    out.push(f32t("embeddings.LayerNorm.bias".into(), vec![h], rand_vec(rng, h, 0.1)));
    for l in 0..cfg.num_hidden_layers {
        let p = |s: &str| format!("encoder.layer.{l}.{s}");
        for (name, o, i) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", ff, h),
            ("output.dense", h, ff),
        ] {
            out.push(q4(p(&format!("{name}.weight")), vec![o, i], rand_vec(rng, o * i, 1.0 / (i as f32).sqrt() * 1.7)));
            out.push(f32t(p(&format!("{name}.bias")), vec![o], rand_vec(rng, o, 0.1)));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            out.push(f32t(p(&format!("{name}.weight")), vec![h], ones(rng, h)));
            out.push(f32t(p(&format!("{name}.bias")), vec![h], rand_vec(rng, h, 0.1)));
        }
    }
    out
}

fn cpu_embed(model: &Model, batch: &[&[u32]], pad: u32) -> Vec<Vec<f32>> {
    let seq = batch.iter().map(|b| b.len()).max().unwrap().max(1);
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for b in batch {
        ids.extend_from_slice(b);
        ids.extend(std::iter::repeat_n(pad, seq - b.len()));
        mask.extend((0..seq).map(|i| if i < b.len() { 1f32 } else { 0.0 }));
    }
    let mask = Tensor::from_vec(mask, (batch.len(), seq), &Device::Cpu).unwrap();
    let hidden = model.forward(&ids, &mask, Mode::Inference).unwrap();
    mean_pool_normalize(&hidden, &mask).unwrap().to_vec2::<f32>().unwrap()
}

#[test]
fn tiny_model_forward_matches_candle_and_rejects_bad_input() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(6);
    let cfg = Config::tiny(100);
    let tensors = tiny_tensors(&cfg, &mut rng);
    let (map, word): (HashMap<String, Tensor>, _) = weights_from_raw(tensors.clone(), &Device::Cpu).unwrap();
    let vb = candle_nn::VarBuilder::from_tensors(map, DType::F32, &Device::Cpu);
    let cpu = Model::new(&cfg, vb, word_embeddings(word.unwrap(), &Device::Cpu).unwrap()).unwrap();
    let batch: Vec<Vec<u32>> = vec![(0..40).map(|i| (i * 7 % 100) as u32).collect(), vec![0, 5, 2], (10..30).collect(), vec![99]];
    let refs: Vec<&[u32]> = batch.iter().map(|b| b.as_slice()).collect();
    let want = cpu_embed(&cpu, &refs, 1);
    for fmt in [WeightFormat::Q4_0, WeightFormat::Q8_0] {
        // Small token budget forces two GPU passes.
        let opts = GpuOptions { format: fmt, max_table_binding: Some(2048), max_tokens: 100 };
        let gpu = pollster::block_on(GpuEncoder::new(ctx.device.clone(), ctx.queue.clone(), &cfg, &tensors, opts)).unwrap();
        assert!(gpu.table_chunks() > 1);
        let got = pollster::block_on(gpu.embed_ids(&refs, 1)).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let c = cosine(g, w);
            println!("tiny model {fmt:?} text {i}: cosine {c:.6}");
            let lim = if fmt == WeightFormat::Q4_0 { 0.99999 } else { 0.999 };
            assert!(c >= lim, "tiny model {fmt:?} text {i}: cosine {c}");
        }
        let long = vec![3u32; cfg.max_position_embeddings + 1];
        let e = pollster::block_on(gpu.embed_ids(&[&long], 1)).unwrap_err();
        println!("too long: {e}");
        let e = pollster::block_on(gpu.embed_ids(&[&[1, 100, 2]], 1)).unwrap_err();
        println!("unknown id: {e}");
        assert!(pollster::block_on(gpu.embed_ids(&[], 1)).unwrap().is_empty());
    }
}

#[test]
fn real_model_gpu_matches_candle_cpu_q8_0_and_q4_0() {
    let ctx = ctx();
    let dir = common::model_dir();
    let cpu = Encoder::load(&dir).unwrap();
    let md = ModelDir::open(&dir).unwrap();
    let tensors = md.raw_tensors().unwrap();
    let cases = common::golden();
    let pad = cpu.tokenizer.pad_id();
    // Mixed lengths in each batch (padding + mask), several texts per dispatch.
    let batches: Vec<Vec<&[u32]>> = cases.chunks(5).map(|c| c.iter().map(|g| g.ids.as_slice()).collect()).collect();
    let want: Vec<Vec<f32>> = batches.iter().flat_map(|b| cpu.embed_ids(b).unwrap()).collect();
    for fmt in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
        let t0 = std::time::Instant::now();
        let gpu =
            pollster::block_on(GpuEncoder::new(ctx.device.clone(), ctx.queue.clone(), &md.info.config, &tensors, GpuOptions::new(fmt)))
                .unwrap();
        println!("{fmt:?}: built in {:.2?}, word table in {} buffer(s) as {:?}", t0.elapsed(), gpu.table_chunks(), gpu.table_format());
        let t0 = std::time::Instant::now();
        let got: Vec<Vec<f32>> = batches.iter().flat_map(|b| pollster::block_on(gpu.embed_ids(b, pad)).unwrap()).collect();
        println!("{fmt:?}: {} texts in {:.2?}", got.len(), t0.elapsed());
        let mut worst = 1f32;
        for ((g, w), case) in got.iter().zip(&want).zip(&cases) {
            let c = cosine(g, w);
            let cg = cosine(g, &case.embedding);
            println!("  {fmt:?} cos(gpu, cpu) {c:.6}  cos(gpu, golden) {cg:.6}  {:?}", case.text.chars().take(50).collect::<String>());
            worst = worst.min(c);
            assert!(c >= 0.999, "{fmt:?}: cosine {c} < 0.999 for {:?}", case.text);
        }
        println!("{fmt:?}: worst cosine vs candle CPU {worst:.6}");
    }
}

/// The shipped reranker as a web bundle carries it (its trained top layers in Q8_0 on the model's
/// lower layers): scores on the GPU match the CPU path's within 1e-3 with the same order, and
/// building it leaves the bi-encoder it shares buffers with unchanged.
#[test]
fn real_reranker_gpu_matches_cpu_and_shares_the_encoder() {
    use medbridge::encode::{block_on, pair_tokens, Pool};
    use medbridge::model::bundle::{web_tensors, BodyFormat};
    use medbridge::retrieve::rerank::{web_parts, Reranker};
    let dir = common::model_dir();
    let cross = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/trained/cross");
    let md = ModelDir::open(&dir).unwrap();
    let (entry, parts) = web_parts(&md, &dir, &cross, BodyFormat::Q8_0).unwrap();
    assert!(entry.first_layer > 0 && entry.first_layer < md.info.config.num_hidden_layers, "{entry:?}");
    let tensors = web_tensors(md.raw_tensors().unwrap(), BodyFormat::Q8_0).unwrap();
    let cpu = Encoder::from_parts(md.info.clone(), md.tokenizer().unwrap(), tensors.clone(), &Device::Cpu).unwrap();
    let gpu =
        block_on(Encoder::on_webgpu(md.info.clone(), md.tokenizer().unwrap(), &tensors, WeightFormat::Q8_0)).unwrap().expect("an adapter");
    let golden = common::golden();
    let probe: Vec<&[u32]> = golden.iter().take(4).map(|g| g.ids.as_slice()).collect();
    let before = block_on(gpu.forward(&probe, Pool::Mean)).unwrap();
    let rr_cpu = block_on(Reranker::on_encoder(&cpu, &entry, parts.clone())).unwrap();
    let rr_gpu = block_on(Reranker::on_encoder(&gpu, &entry, parts)).unwrap();
    let after = block_on(gpu.forward(&probe, Pool::Mean)).unwrap();
    assert_eq!(before, after, "the bi-encoder is unchanged by the reranker built on it");
    assert_eq!(rr_gpu.encoder.info.model_id, entry.model_id);

    let pairs = [
        ("diabetes mellitus tipo 2", "Diabetes mellitus tipo 2 sin complicaciones"),
        ("diabetes mellitus tipo 2", "Hipertensión esencial (primaria)"),
        ("dolor torácico opresivo irradiado al brazo izquierdo", "Dolor en el pecho, no especificado"),
        ("dolor torácico opresivo irradiado al brazo izquierdo", "Infarto agudo de miocardio"),
        ("chest pain", "Fractura de costilla"),
        ("fiebre", "Fiebre, no especificada"),
        ("insuficiencia renal crónica estadio 4 en paciente diabético", "Enfermedad renal crónica, estadio 4 (grave)"),
    ];
    let seqs: Vec<Vec<u32>> = pairs.iter().map(|(q, p)| pair_tokens(&cpu.tokenizer, q, p, entry.max_len).unwrap().ids).collect();
    let seqs: Vec<&[u32]> = seqs.iter().map(|v| v.as_slice()).collect();
    let want = block_on(rr_cpu.score_ids_async(&seqs)).unwrap();
    let got = block_on(rr_gpu.score_ids_async(&seqs)).unwrap();
    let diff = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("reranker scores CPU {want:?}\n                GPU {got:?}\nmax abs diff {diff:.2e}");
    assert!(diff <= 1e-3, "max abs diff {diff}");
    let order = |s: &[f32]| {
        let mut o: Vec<usize> = (0..s.len()).collect();
        o.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        o
    };
    assert_eq!(order(&want), order(&got));
    // the reranker knows a matching pair from a wrong one
    assert!(want[0] > want[1] && want[5] > want[4], "{want:?}");
}
