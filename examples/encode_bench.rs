//! Native encoder benchmark: batch-32 passage throughput and single-query latency.
//! Run with RAYON_NUM_THREADS=1 and =2 to compare:
//!   RAYON_NUM_THREADS=1 cargo run --release --example encode_bench -- [corpus.jsonl]
use std::time::Instant;

use medbridge::encode::{Encoder, Kind};

fn main() -> anyhow::Result<()> {
    let enc = Encoder::load(&medbridge::model::default_dir())?;
    let corpus = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/codiesp/corpus_en.jsonl".into());
    let docs = medbridge::corpus::read_corpus(&corpus)?;
    // A fixed, spread sample of 256 passages.
    let step = (docs.len() / 256).max(1);
    let texts: Vec<String> = docs.iter().step_by(step).take(256).map(|d| d.passage_text()).collect();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let tokens: usize = refs.iter().map(|t| enc.tokenize(t, Kind::Passage).unwrap().ids.len()).sum();
    enc.embed(&refs[..32], Kind::Passage)?; // warm-up
    let t = Instant::now();
    enc.embed(&refs, Kind::Passage)?;
    let secs = t.elapsed().as_secs_f64();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    println!(
        "threads={threads} corpus={corpus} passages={} mean_tokens={:.1} batch=32: {:.1} passages/s",
        refs.len(),
        tokens as f64 / refs.len() as f64,
        refs.len() as f64 / secs
    );
    let queries = ["dolor torácico opresivo", "type 2 diabetes with kidney damage", "mal de cap", "insuficiencia cardiaca congestiva"];
    let mut lat = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        enc.embed_one(queries[i % queries.len()], Kind::Query)?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("threads={threads} single query latency: median {:.1} ms, p90 {:.1} ms", lat[10], lat[18]);
    Ok(())
}
