//! An index's HNSW search against exact search: recall@10 and top-10 latency (one thread) on encoded
//! queries (CodiEsp *train* mentions by default, never the evaluation set).
//!   cargo run --release --example hnsw_bench -- --index FILE.mbix [--model DIR] [--queries Q.jsonl] [--sample 500]
//!     [--ef 64,128,256]   (search candidates to compare; default: the index's own setting)
//! Each setting is measured twice: MedBridge's search (int8 graph, exact rescoring) and instant-distance's.
use std::path::PathBuf;

use anyhow::{bail, Result};
use medbridge::encode::{Encoder, Kind};
use medbridge::retrieve::index::Index;

#[path = "support/recall.rs"]
mod recall;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let Some(index_path) = arg("--index").map(PathBuf::from) else { bail!("--index FILE.mbix is required") };
    let queries = arg("--queries").unwrap_or_else(|| "../shared/data/codiesp/train/queries.jsonl".into());
    let sample: usize = arg("--sample").map(|s| s.parse()).transpose()?.unwrap_or(500);
    let model = arg("--model").map(PathBuf::from).unwrap_or_else(medbridge::model::default_dir);
    let t = std::time::Instant::now();
    let mut idx = Index::load(&index_path, None)?;
    println!("{}: {} passages, loaded in {:.1} s", index_path.display(), idx.len(), t.elapsed().as_secs_f64());
    let qs = medbridge::corpus::read_queries(&queries)?;
    let step = (qs.len() / sample).max(1);
    let texts: Vec<&str> = qs.iter().step_by(step).take(sample).map(|q| q.text.as_str()).collect();
    let qv = Encoder::load(&model)?.embed(&texts, Kind::Query)?;
    let exact = recall::exact_top10(&idx.vectors(), &qv);
    let efs: Vec<Option<usize>> = match arg("--ef") {
        None => vec![None],
        Some(list) => list.split(',').map(|e| e.trim().parse::<usize>().map(Some)).collect::<Result<_, _>>()?,
    };
    for ef in efs {
        if let Some(ef) = ef {
            idx.set_ef_search(ef)?;
        }
        let setting = ef.map_or("the index's ef_search".to_string(), |ef| format!("ef_search {ef}"));
        recall::measure(&format!("MedBridge (int8 graph, f32 rescoring), {setting}"), &idx, &qv, &exact)?;
        let mut library = Index::from_bytes(&idx.to_bytes()?, None)?;
        library.use_instant_distance_search();
        recall::measure(&format!("instant-distance (f32), {setting}"), &library, &qv, &exact)?;
    }
    Ok(())
}
