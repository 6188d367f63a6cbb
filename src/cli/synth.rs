//! `medbridge synth`: (query, positive, hard negatives) pairs from the catalogue (offline, llm) or
//! from real coded mentions (annotated).
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;

use medbridge::catalog::{Catalog, LANGS};
use medbridge::synth::{self, AnnotatedOptions, Exclusion, LlmOptions, OfflineOptions};

#[derive(Args)]
pub struct SynthArgs {
    /// Output JSONL (one pair per line). The LLM generator appends and resumes; the others replace it.
    #[arg(long, default_value = "target/synth/pairs.jsonl")]
    out: PathBuf,
    /// offline (no service needed), llm (an OpenAI-compatible chat-completions endpoint) or annotated
    /// (real mentions coded by people: --queries, --qrels, --lang).
    #[arg(long, default_value = "offline")]
    generator: String,
    /// Catalogue file (built by `medbridge catalog`).
    #[arg(long, default_value = super::DEFAULT_CATALOG)]
    catalog: PathBuf,
    /// Pairs per query language (6 languages × 3,300 = 19,800 by default).
    #[arg(long, default_value_t = synth::DEFAULT_PAIRS_PER_LANG)]
    per_lang: usize,
    /// Query languages, comma-separated (en,es,fr,pt,it,ca).
    #[arg(long, default_value = "en,es,fr,pt,it,ca")]
    langs: String,
    /// Hard negatives per pair (siblings, then cousins, then the same category; annotated: siblings only).
    #[arg(long, default_value_t = synth::DEFAULT_HARD_NEGATIVES)]
    hard_negatives: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Evaluation queries never to emit (JSONL with "text" or "query"); repeat the flag for several files.
    /// annotated: mentions equal to one are dropped and counted.
    #[arg(long)]
    exclude: Vec<PathBuf>,
    /// Fail instead of dropping a generated query that equals an evaluation query.
    #[arg(long)]
    strict: bool,
    /// llm: base URL (http://host:port/v1) or the full …/chat/completions URL.
    #[arg(long)]
    endpoint: Option<String>,
    /// llm: model name sent to the endpoint.
    #[arg(long = "llm-model")]
    llm_model: Option<String>,
    /// llm: environment variable holding the API key (none is sent when it is unset).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// llm: request starts per minute.
    #[arg(long, default_value_t = 60.0)]
    rate: f64,
    /// llm: codes per request.
    #[arg(long, default_value_t = 5)]
    codes_per_request: usize,
    /// llm: retries per request (exponential backoff from 1 s to 60 s).
    #[arg(long, default_value_t = 6)]
    retries: u32,
    /// llm: stop after this many requests in this run (resume later by running again).
    #[arg(long)]
    max_batches: Option<usize>,
    /// annotated: BEIR queries.jsonl of the mentions ({"_id", "text"} per line), e.g. CodiEsp train.
    #[arg(long)]
    queries: Option<PathBuf>,
    /// annotated: BEIR qrels TSV (query-id, corpus-id = ICD-10 code, score); a mention's first code
    /// with score > 0 is its positive.
    #[arg(long)]
    qrels: Option<PathBuf>,
    /// annotated: language of the mentions (en, es, fr, pt, it, ca).
    #[arg(long)]
    lang: Option<String>,
    /// annotated: language of the code descriptions used as positive and negative passages.
    #[arg(long, default_value = "en")]
    passage_lang: String,
}

pub fn run(a: SynthArgs) -> Result<()> {
    let langs: Vec<String> = a.langs.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    if let Some(bad) = langs.iter().find(|l| !LANGS.contains(&l.as_str())) {
        bail!("--langs: unknown language {bad:?} (choose from {})", LANGS.join(","));
    }
    if langs.is_empty() || a.per_lang == 0 {
        bail!("--langs and --per-lang must ask for at least one pair");
    }
    if !a.catalog.is_file() {
        bail!("{} does not exist: build the catalogue with `medbridge catalog`", a.catalog.display());
    }
    if a.generator != "annotated" && (a.queries.is_some() || a.qrels.is_some() || a.lang.is_some()) {
        bail!("--queries, --qrels and --lang are options of --generator annotated");
    }
    let catalog = Catalog::load_jsonl(&a.catalog)?;
    let exclude = Exclusion::load(&a.exclude)?;
    if !a.exclude.is_empty() {
        eprintln!("excluding {} evaluation queries from {} file(s)", exclude.len(), a.exclude.len());
    }
    match a.generator.as_str() {
        "offline" => {
            let opts = OfflineOptions {
                seed: a.seed,
                pairs_per_lang: a.per_lang,
                langs,
                hard_negatives: a.hard_negatives,
                exclude,
                strict: a.strict,
                ..OfflineOptions::default()
            };
            let out = synth::generate_offline(&catalog, &opts)?;
            synth::write_jsonl(&a.out, &out.pairs)?;
            eprintln!("{}", synth::format_counts(&out.pairs));
            eprintln!(
                "dropped {} duplicates, {} equal to evaluation queries{}",
                out.duplicates,
                out.excluded.dropped,
                if out.excluded.examples.is_empty() { String::new() } else { format!(" (e.g. {:?})", out.excluded.examples) }
            );
            for (lang, missing) in &out.shortfall {
                eprintln!("note: {lang} is {missing} pairs short of {} (not enough distinct source texts)", a.per_lang);
            }
            for (lang, cov) in &out.transfer_coverage {
                eprintln!("{lang}: mean lexicon coverage of es→{lang} transfers {:.0}%", cov * 100.0);
            }
            eprintln!("{} pairs written to {}", out.pairs.len(), a.out.display());
        }
        "llm" => {
            let (Some(endpoint), Some(model)) = (a.endpoint, a.llm_model) else {
                bail!("--generator llm needs --endpoint URL and --llm-model NAME");
            };
            let mut opts = LlmOptions::new(endpoint, model);
            opts.api_key_env = a.api_key_env;
            opts.langs = langs;
            opts.pairs_per_lang = a.per_lang;
            opts.hard_negatives = a.hard_negatives;
            opts.seed = a.seed;
            opts.requests_per_minute = a.rate;
            opts.codes_per_request = a.codes_per_request.max(1);
            opts.max_retries = a.retries;
            opts.backoff_initial = Duration::from_secs(1);
            opts.max_batches = a.max_batches;
            opts.exclude = exclude;
            opts.strict = a.strict;
            let mut pb: Option<indicatif::ProgressBar> = None;
            let rep = synth::generate_llm(&catalog, &opts, &a.out, |p| {
                let bar = pb.get_or_insert_with(|| super::bar(p.batches_total, "requests"));
                bar.set_position(p.batches_done as u64);
                bar.set_message(format!("{} pairs, {} retries", p.pairs_written, p.retries));
            })?;
            if let Some(b) = pb {
                b.finish();
            }
            eprintln!(
                "{} requests ({} retries), {} batches resumed from {}, {} failed; {} pairs appended (kept before: {})",
                rep.requests,
                rep.retries,
                rep.batches_skipped_resume,
                a.out.display(),
                rep.batches_failed,
                rep.pairs_written,
                rep.pairs_existing
            );
            for (lang, n) in &rep.per_lang {
                eprintln!("  {lang}: {n}");
            }
            eprintln!(
                "rejected: {} wrong language, {} bad length, {} duplicates, {} equal to evaluation queries",
                rep.rejected_language, rep.rejected_length, rep.rejected_duplicate, rep.excluded.dropped
            );
            if rep.stopped_early {
                eprintln!("stopped after --max-batches; run the same command again to continue");
            }
            eprintln!("{}", synth::format_counts(&synth::read_jsonl(&a.out)?));
        }
        "annotated" => {
            let (Some(queries), Some(qrels), Some(lang)) = (&a.queries, &a.qrels, &a.lang) else {
                bail!("--generator annotated needs --queries FILE, --qrels FILE and --lang L (the mentions' language)");
            };
            let mut opts = AnnotatedOptions::new(lang);
            opts.passage_lang = a.passage_lang.clone();
            opts.hard_negatives = a.hard_negatives;
            opts.seed = a.seed;
            opts.exclude = exclude;
            opts.strict = a.strict;
            let out = synth::generate_annotated_files(&catalog, queries, qrels, &opts)?;
            synth::write_jsonl(&a.out, &out.pairs)?;
            eprintln!("{}", synth::format_counts(&out.pairs));
            eprintln!("{}", out.summary(&opts.passage_lang));
            if !out.excluded.examples.is_empty() {
                eprintln!("equal to evaluation queries, e.g. {:?}", out.excluded.examples);
            }
            eprintln!("{} pairs written to {}", out.pairs.len(), a.out.display());
        }
        other => bail!("--generator: {other:?} is not offline, llm or annotated"),
    }
    Ok(())
}
