//! `--rerank N` for `search` and `eval`: the cross-encoder reranks the first stage's top N.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use medbridge::catalog::Catalog;
use medbridge::corpus::Query;
use medbridge::encode::Precision;
use medbridge::model::parts;
use medbridge::pipeline;
use medbridge::retrieve::rerank::{Reranker, DEFAULT_DIR, TRAIN_HINT};
use medbridge::retrieve::Run;
use medbridge::retrieve::VectorIndex;

#[derive(Args, Clone, Debug)]
pub struct RerankArgs {
    /// Rerank the first stage's top N with the cross-encoder reranker (0 = no reranking).
    #[arg(long, default_value_t = 0)]
    pub rerank: usize,
    /// The reranker's trained parts (`medbridge train cross`), or a web bundle with a reranker
    /// (`medbridge export-web --reranker`: the page's quantised reranker, run natively on the CPU).
    #[arg(long, default_value = DEFAULT_DIR)]
    pub reranker: PathBuf,
    /// The reranker's base model directory (default: --model if it is that base, else the default model).
    #[arg(long)]
    pub reranker_base: Option<PathBuf>,
    /// Weight of the first stage's score in the reranked order: z(reranker) + W · z(first stage)
    /// over each query's top N (0 = the reranker alone).
    #[arg(long, default_value_t = medbridge::retrieve::rerank::DEFAULT_FIRST_STAGE_WEIGHT)]
    pub first_stage_weight: f32,
    /// Also describe each candidate code to the reranker by its descriptions in this ICD-10
    /// catalogue (`medbridge catalog`'s catalog.jsonl: every language it has, and the ICD-10-CM
    /// inclusion terms), scoring the best of them. For indexes whose texts are in one language
    /// only (e.g. an English code list).
    #[arg(long)]
    pub rerank_catalog: Option<PathBuf>,
    /// Which texts of a candidate the reranker judges it by: `index` (every text the index holds
    /// for it, plus --rerank-catalog's) or `catalog` (only --rerank-catalog's descriptions and
    /// inclusion terms)
    #[arg(long, value_enum, default_value_t = RerankTexts::Index)]
    pub rerank_texts: RerankTexts,
    /// A query keeps the first stage's order when the reranker reads less than this share of its
    /// (query, candidate) tokens within its token limit (0 = always rerank)
    #[arg(long, default_value_t = medbridge::retrieve::rerank::DEFAULT_MIN_SEEN)]
    pub rerank_min_seen: f32,
    /// Token limit of a (query, passage) sequence (default: the reranker's training limit; the
    /// longer side is cut first).
    #[arg(long)]
    pub rerank_max_len: Option<usize>,
    /// The CPU path's arithmetic (the global --precision, set by the command).
    #[arg(skip)]
    pub precision: Precision,
}

impl RerankArgs {
    /// Fail before any work when reranking is asked for and no reranker exists.
    pub fn check(&self) -> Result<()> {
        if self.rerank > 0 && !self.reranker.join(parts::PARTS_MANIFEST).is_file() {
            bail!(
                "--rerank {}: no trained reranker in {} ({} is missing): {TRAIN_HINT}",
                self.rerank,
                self.reranker.display(),
                parts::PARTS_MANIFEST
            );
        }
        if self.rerank_texts == RerankTexts::Catalog && self.rerank_catalog.is_none() {
            bail!("--rerank-texts catalog needs --rerank-catalog FILE (the catalogue whose descriptions to use)");
        }
        if let Some(c) = &self.rerank_catalog {
            if self.rerank == 0 {
                bail!("--rerank-catalog {} needs --rerank N", c.display());
            }
            if !c.is_file() {
                bail!("--rerank-catalog {}: no such file (build it with `medbridge catalog`)", c.display());
            }
        }
        Ok(())
    }

    /// How deep the first stage must go to give `top_k` results after reranking.
    pub fn depth(&self, top_k: usize) -> usize {
        top_k.max(self.rerank)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RerankTexts {
    Index,
    Catalog,
}

/// Load the reranker named by `a`, finding its base model among --reranker-base, --model and the
/// default model directory.
pub fn load(model_dir: &Path, a: &RerankArgs) -> Result<Reranker> {
    a.check()?;
    let mut rr = match &a.reranker_base {
        _ if a.reranker.join(medbridge::model::bundle::BUNDLE_RERANKER).is_file() => {
            bundle_reranker(&a.reranker, medbridge::encode::Device::Cpu, a.precision)?
        }
        Some(base) => Reranker::load(base, &a.reranker)?.with_precision(a.precision)?,
        None => {
            Reranker::load_on_matching_base(&[model_dir, &medbridge::model::default_dir()], &a.reranker)?.with_precision(a.precision)?
        }
    };
    rr.first_stage_weight = a.first_stage_weight;
    if !(0.0..=1.0).contains(&a.rerank_min_seen) {
        bail!("--rerank-min-seen {}: use a share from 0 to 1", a.rerank_min_seen);
    }
    rr.min_seen = a.rerank_min_seen;
    if let Some(n) = a.rerank_max_len {
        if !(8..=512).contains(&n) {
            bail!("--rerank-max-len {n}: use 8 to 512 tokens");
        }
        rr.max_len = n;
    }
    Ok(rr)
}

/// Rerank the top `a.rerank` of `run` and cut every ranking to `top_k` (see
/// [`pipeline::CandidateTexts`] for the texts a candidate is judged by).
pub fn apply<I: VectorIndex>(
    model_dir: &Path,
    a: &RerankArgs,
    idx: &I,
    queries: &[Query],
    run: Run,
    top_k: usize,
) -> Result<(Run, Option<String>)> {
    let mut run = run;
    let mut id = None;
    if a.rerank > 0 {
        let rr = load(model_dir, a)?;
        let catalog = a.rerank_catalog.as_deref().map(Catalog::load_jsonl).transpose()?;
        let mut texts = match (&catalog, a.rerank_texts) {
            (Some(catalog), RerankTexts::Catalog) => pipeline::CandidateTexts::from_catalog(idx, catalog),
            _ => pipeline::CandidateTexts::from_index(idx),
        };
        if let (Some(catalog), Some(path), RerankTexts::Index) = (&catalog, &a.rerank_catalog, a.rerank_texts) {
            if texts.add_catalog(catalog) == 0 {
                bail!("--rerank-catalog {}: none of the index's {} ids is a code of this catalogue", path.display(), texts.results());
            }
        }
        let pb =
            if run.len() > 1 { super::bar(run.len(), &format!("reranking top {}", a.rerank)) } else { indicatif::ProgressBar::hidden() };
        let t = std::time::Instant::now();
        let reranked = pipeline::rerank(&rr, &run, queries, &texts, a.rerank, |d, _| pb.set_position(d as u64))?;
        pb.finish_and_clear();
        run = reranked.run;
        if run.len() > 1 || reranked.kept_first_stage > 0 {
            let kept = match reranked.kept_first_stage {
                0 => String::new(),
                n => format!(
                    "; {n} kept the first stage's order (the reranker read under {:.0}% of their tokens in {} per pair)",
                    rr.min_seen * 100.0,
                    rr.max_len
                ),
            };
            eprintln!(
                "reranker: the top {} of {} of {} queries in {:.0} s ({}){kept}",
                a.rerank,
                run.len() - reranked.kept_first_stage,
                run.len(),
                t.elapsed().as_secs_f64(),
                rr.encoder.info.model_id
            );
        }
        id = Some(rr.encoder.info.model_id.clone());
    }
    pipeline::truncate(&mut run, top_k);
    Ok((run, id))
}

#[derive(Args)]
pub struct ScorePairsArgs {
    /// (query, passage) pairs, one JSON object per line: {"query": "…", "passage": "…"}; "-" reads stdin.
    #[arg(long)]
    pairs: PathBuf,
    /// Score with this web bundle's reranker (`medbridge export-web --reranker`), exactly what the page
    /// computes: its quantised layers on the bundle's model; --device cpu or webgpu.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Without --bundle: the reranker's trained parts, on its base model (--reranker-base, --model or
    /// the default model directory).
    #[arg(long, default_value = DEFAULT_DIR)]
    reranker: PathBuf,
    #[arg(long)]
    reranker_base: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct Pair {
    query: String,
    passage: String,
}

/// `medbridge score-pairs`: the reranker's raw scores (logits) of (query, passage) pairs as JSON lines
/// `{"query", "passage", "score"}` on stdout, in input order.
pub fn score_pairs(model_dir: &Path, a: ScorePairsArgs, device: medbridge::encode::Device, precision: Precision) -> Result<()> {
    use std::io::Write;
    let name = a.pairs.display().to_string();
    let mut pairs = Vec::new();
    let stdin;
    let mut reader: medbridge::corpus::LineReader<Box<dyn std::io::BufRead>> = if a.pairs == Path::new("-") {
        stdin = std::io::stdin();
        medbridge::corpus::LineReader::new(Path::new("stdin"), Box::new(stdin.lock()))
    } else {
        let f = std::fs::File::open(&a.pairs).with_context(|| name.clone())?;
        medbridge::corpus::LineReader::new(&a.pairs, Box::new(std::io::BufReader::new(f)))
    };
    while let Some((line_no, line)) = reader.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        let p: Pair = serde_json::from_str(line).with_context(|| format!("{name}:{line_no}: expected {{\"query\": …, \"passage\": …}}"))?;
        pairs.push(p);
    }
    let rr = match &a.bundle {
        Some(dir) => bundle_reranker(dir, device, precision)?,
        None => {
            if device != medbridge::encode::Device::Cpu {
                bail!("--device {}: without --bundle the reranker runs on the CPU", device.as_str());
            }
            let args = RerankArgs {
                rerank: 1,
                reranker: a.reranker.clone(),
                reranker_base: a.reranker_base.clone(),
                first_stage_weight: medbridge::retrieve::rerank::DEFAULT_FIRST_STAGE_WEIGHT,
                rerank_catalog: None,
                rerank_texts: RerankTexts::Index,
                rerank_min_seen: 0.0,
                rerank_max_len: None,
                precision,
            };
            load(model_dir, &args)?
        }
    };
    let refs: Vec<(&str, &str)> = pairs.iter().map(|p| (p.query.as_str(), p.passage.as_str())).collect();
    let scores = rr.score_pairs(&refs)?;
    let mut out = std::io::stdout().lock();
    for (p, s) in pairs.iter().zip(scores) {
        writeln!(out, "{}", serde_json::json!({"query": p.query, "passage": p.passage, "score": s}))?;
    }
    eprintln!("scored {} pairs with {} on {}", pairs.len(), rr.encoder.info.model_id, rr.encoder.device().as_str());
    Ok(())
}

/// A web bundle's reranker, built natively as the page builds it.
fn bundle_reranker(dir: &Path, device: medbridge::encode::Device, precision: Precision) -> Result<Reranker> {
    use medbridge::encode::{block_on, Device, Encoder};
    use medbridge::model::bundle;
    let (manifest, _, files) = bundle::read_dir(dir)?;
    let (info, tokenizer, tensors) = bundle::load_bundle_bytes(&manifest, &files)?;
    let Some((entry, parts)) = bundle::reranker_tensors(&manifest, &files)? else {
        bail!("{}: this bundle has no reranker (export it with `medbridge export-web --reranker DIR`)", dir.display());
    };
    drop(files);
    let encoder = match device {
        Device::Cpu => Encoder::from_parts(info, tokenizer, tensors, &candle_core::Device::Cpu)?.with_precision(precision)?,
        Device::WebGpu => {
            #[cfg(feature = "webgpu")]
            {
                let fmt = match bundle::gpu_body_format(&manifest, &tensors) {
                    bundle::BodyFormat::Q8_0 => medbridge::gpu::WeightFormat::Q8_0,
                    bundle::BodyFormat::Q4_0 => medbridge::gpu::WeightFormat::Q4_0,
                };
                block_on(Encoder::on_webgpu(info, tokenizer, &tensors, fmt))?.ok_or_else(|| {
                    anyhow::anyhow!("--device webgpu: no WebGPU adapter found (natively: a Vulkan driver, e.g. mesa-vulkan-drivers)")
                })?
            }
            #[cfg(not(feature = "webgpu"))]
            bail!("--device webgpu: this build has no WebGPU backend (build with --features webgpu)")
        }
    };
    Ok(block_on(Reranker::on_encoder(&encoder, &entry, parts))?)
}
