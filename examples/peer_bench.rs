//! MedBridge's native side of `scripts/bench-peers.sh`: the same measurements as
//! `scripts/peers/bench_py.py` makes of the Python engines, on the same text files (one text per line,
//! e5 prefix included, encoded as they are).
//!   RAYON_NUM_THREADS=1 cargo run --release --example peer_bench -- --emb-dir DIR --queries Q.txt T1.txt [T2.txt …]
//! Prints one JSON line per texts file (batch-32 throughput, texts and tokens per second) and one for the
//! single-query latency; writes each file's vectors to DIR/medbridge-<precision>-<file>.f32 (little-endian
//! f32, one row per text) for the script's cosine check. `--precision f32` runs candle's reference path.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use medbridge::encode::{Encoder, Kind, Precision};
use serde_json::json;

fn lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
}

fn main() -> anyhow::Result<()> {
    let (mut emb_dir, mut queries, mut precision, mut files) = (PathBuf::from("target/peers/emb"), None, Precision::Int8, vec![]);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--emb-dir" => emb_dir = args.next().context("--emb-dir DIR")?.into(),
            "--queries" => queries = Some(PathBuf::from(args.next().context("--queries FILE")?)),
            "--precision" => {
                precision = match args.next().as_deref() {
                    Some("int8") => Precision::Int8,
                    Some("f32") => Precision::F32,
                    other => bail!("--precision int8|f32, not {other:?}"),
                }
            }
            _ if a.starts_with("--") => bail!("unknown option {a}"),
            _ => files.push(PathBuf::from(a)),
        }
    }
    std::fs::create_dir_all(&emb_dir)?;
    let enc = Encoder::load(&medbridge::model::default_dir())?.with_precision(precision)?;
    let engine = format!("medbridge-{}", precision.as_str());
    for file in &files {
        let texts = lines(file)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens: usize = refs.iter().map(|t| enc.tokenize(t, Kind::Raw).map(|t| t.ids.len())).sum::<medbridge::Result<usize>>()?;
        enc.embed(&refs[..32.min(refs.len())], Kind::Raw)?; // warm-up
        let t = Instant::now();
        let vectors = enc.embed(&refs, Kind::Raw)?;
        let seconds = t.elapsed().as_secs_f64();
        let name = file.file_name().and_then(|s| s.to_str()).unwrap_or("texts");
        let mut out = std::io::BufWriter::new(std::fs::File::create(emb_dir.join(format!("{engine}-{name}.f32")))?);
        for v in &vectors {
            for x in v {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        out.flush()?;
        let line = json!({"engine": engine, "input": name, "texts": refs.len(), "tokens": tokens, "seconds": seconds,
            "texts_per_s": refs.len() as f64 / seconds, "tokens_per_s": tokens as f64 / seconds,
            "kernel": medbridge::model::int8::Kernel::detect().as_str()});
        println!("{line}");
    }
    if let Some(q) = queries {
        let texts = lines(&q)?;
        for t in texts.iter().take(3) {
            enc.embed_one(t, Kind::Raw)?;
        }
        let mut ms: Vec<f64> = Vec::with_capacity(texts.len());
        for t in &texts {
            let start = Instant::now();
            enc.embed_one(t, Kind::Raw)?;
            ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        println!(
            "{}",
            json!({"engine": engine, "input": "queries", "n": ms.len(), "latency_median_ms": at(0.5), "latency_p90_ms": at(0.9)})
        );
    }
    Ok(())
}
