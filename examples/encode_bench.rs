//! Native encoder benchmark, f32 (candle's reference) against int8 (the default) on the same texts in
//! one run: batch-32 throughput, single-query latency, and the int8 vectors' cosine to f32's.
//!   RAYON_NUM_THREADS=1 cargo run --release --example encode_bench -- [corpus.jsonl] [texts]
//! MEDBRIDGE_INT8_KERNEL=portable|avx2|vnni measures another of the CPU's int8 kernels.
use std::time::Instant;

use medbridge::encode::{Encoder, Kind, Precision};

fn main() -> anyhow::Result<()> {
    let corpus = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/codiesp/corpus_en.jsonl".into());
    let n: usize = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(1024);
    let docs = medbridge::corpus::read_corpus(&corpus)?;
    // A fixed, spread sample.
    let step = (docs.len() / n).max(1);
    let texts: Vec<String> = docs.iter().step_by(step).take(n).map(|d| d.passage_text()).collect();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let queries = ["dolor torácico opresivo", "type 2 diabetes with kidney damage", "mal de cap", "insuficiencia cardiaca congestiva"];
    let mut vectors = Vec::new();
    let mut speed = Vec::new();
    for precision in [Precision::F32, Precision::Int8] {
        let enc = Encoder::load(&medbridge::model::default_dir())?.with_precision(precision)?;
        let tokens: usize = refs.iter().map(|t| enc.tokenize(t, Kind::Passage).map(|t| t.ids.len())).sum::<medbridge::Result<usize>>()?;
        enc.embed(&refs[..32.min(refs.len())], Kind::Passage)?; // warm-up
        let t = Instant::now();
        let v = enc.embed(&refs, Kind::Passage)?;
        let per_s = refs.len() as f64 / t.elapsed().as_secs_f64();
        let mut lat = Vec::new();
        for i in 0..20 {
            let t = Instant::now();
            enc.embed_one(queries[i % queries.len()], Kind::Query)?;
            lat.push(t.elapsed().as_secs_f64() * 1e3);
        }
        lat.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{:<4} threads={threads} {} texts (mean {:.1} tokens) batch 32: {per_s:.1} texts/s; single query median {:.1} ms, p90 {:.1} ms",
            precision.as_str(),
            refs.len(),
            tokens as f64 / refs.len() as f64,
            lat[10],
            lat[18]
        );
        vectors.push(v);
        speed.push((per_s, lat[10]));
    }
    let mut cos: Vec<f32> = vectors[0].iter().zip(&vectors[1]).map(|(a, b)| medbridge::encode::cosine(a, b)).collect();
    cos.sort_by(|a, b| a.total_cmp(b));
    println!("int8 kernel: {} (MEDBRIDGE_INT8_KERNEL=portable|avx2|vnni picks one)", medbridge::model::int8::Kernel::detect().as_str());
    println!(
        "int8 / f32: throughput {:.2}×, query latency {:.2}×; cosine int8↔f32 min {:.5}, median {:.5}",
        speed[1].0 / speed[0].0,
        speed[1].1 / speed[0].1,
        cos[0],
        cos[cos.len() / 2]
    );
    Ok(())
}
