//! PostgreSQL + pgvector against the local HNSW index, on the same queries: export time (one node, two
//! shards), recall@10 of each against exact search, and query latency (p50, p99). The cluster comes from
//! `bash scripts/pg-cluster.sh start`.
//!
//! ```sh
//! bash scripts/pg-cluster.sh start
//! RAYON_NUM_THREADS=1 cargo run --release --example pg_bench -- --index target/report/codiesp_names_bi.mbix \
//!   --model models/e5-small-bi --queries ../shared/data/codiesp/dev/queries.jsonl --sample 500
//! ```
use std::path::PathBuf;
use std::time::Instant;

#[path = "support/recall.rs"]
mod recall;

use anyhow::{bail, Result};
use medbridge::encode::{Encoder, Kind};
use medbridge::retrieve::index::Index;
use medbridge::retrieve::pg::{self, ExportOptions, Passages, PgIndex};
use medbridge::retrieve::VectorIndex;

const COORD: &str = "postgres://postgres@127.0.0.1:56432/postgres";
const SHARDS: [&str; 2] = ["postgres://postgres@127.0.0.1:56433/postgres", "postgres://postgres@127.0.0.1:56434/postgres"];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let Some(index_path) = arg("--index").map(PathBuf::from) else { bail!("--index FILE.mbix is required") };
    let queries = arg("--queries").unwrap_or_else(|| "../shared/data/codiesp/dev/queries.jsonl".into());
    let sample: usize = arg("--sample").map(|s| s.parse()).transpose()?.unwrap_or(500);
    let model = arg("--model").map(PathBuf::from).unwrap_or_else(medbridge::model::default_dir);

    let idx = Index::load(&index_path, None)?;
    let n = idx.len();
    let vectors = idx.vectors();
    let passages = Passages::from_index(&idx);
    let rows = passages.rows();
    for (table, shards) in [("bench_one", &[][..]), ("bench_two", &SHARDS.map(String::from)[..])] {
        let opts = ExportOptions { table, shards, m: 16, ef_construction: 200, replace: false };
        let t = Instant::now();
        let r = pg::export(COORD, &passages.meta, &rows, &opts, |_, _| {})?;
        println!(
            "export {table} ({} shards): {n} vectors, COPY {:.1} s ({} rows already there), HNSW {:.1} s, total {:.1} s",
            shards.len(),
            r.load_secs,
            r.already_there,
            r.index_secs,
            t.elapsed().as_secs_f64()
        );
    }

    let qs = medbridge::corpus::read_queries(&queries)?;
    let step = (qs.len() / sample).max(1);
    let texts: Vec<&str> = qs.iter().step_by(step).take(sample).map(|q| q.text.as_str()).collect();
    let enc = Encoder::load(&model)?;
    let qv = enc.embed(&texts, Kind::Query)?;
    let exact = recall::exact_top10(&vectors, &qv);
    let measure = |name: &str, ix: &dyn VectorIndex| recall::measure(name, ix, &qv, &exact).map(|_| ());
    measure("local HNSW (.mbix, instant-distance)", &idx)?;
    measure("PostgreSQL one node", &PgIndex::open(COORD, "bench_one", Some(&idx.meta.model_id), pg::DEFAULT_EF_SEARCH)?)?;
    measure("PostgreSQL coordinator + 2 shards", &PgIndex::open(COORD, "bench_two", Some(&idx.meta.model_id), pg::DEFAULT_EF_SEARCH)?)?;
    Ok(())
}
