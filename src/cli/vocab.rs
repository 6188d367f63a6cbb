//! `medbridge prune-vocab`: the model with only the vocabulary our languages and data need
//! (medbridge::model::prune), derived from the catalogue, training texts and general text (wordfreq),
//! and measured on evaluation texts that are never used to derive it.
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use medbridge::catalog::Catalog;
use medbridge::model::{prune, ModelDir};
use medbridge::text::tokenize::Tokenizer;
use medbridge::text::wordfreq;

#[derive(Args)]
pub struct PruneVocabArgs {
    /// Output model directory: the model of --model with the pruned vocabulary (same model id).
    #[arg(long)]
    out: PathBuf,
    /// ICD-10 catalogue whose descriptions (every language) and inclusion terms tokenize exactly as before.
    #[arg(long, default_value = super::DEFAULT_CATALOG)]
    catalog: PathBuf,
    /// More texts to keep whole (training data, never evaluation data): .jsonl (every string value),
    /// .tsv or .txt (every field of every line).
    #[arg(long)]
    texts: Vec<PathBuf>,
    /// The N most frequent words of each language (wordfreq, PyPI: en es ca it pt fr), as written and
    /// capitalised; 0 for none.
    #[arg(long, default_value_t = 30_000)]
    wordfreq: usize,
    /// Evaluation texts (same formats) to measure the pruning on: they are read, never kept.
    #[arg(long)]
    measure: Vec<PathBuf>,
    /// Where pip puts the wordfreq wheel.
    #[arg(long, default_value = "models/.cache")]
    cache: PathBuf,
}

/// Every text of a file: string values of JSONL objects (recursively; not ids, codes or languages),
/// fields of TSV/text lines.
fn read_texts(path: &Path) -> Result<Vec<String>> {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(o) => {
                let label = |k: &str| k.ends_with("id") || k.starts_with("code") || k.starts_with("lang");
                o.iter().filter(|(k, _)| !label(&k.to_ascii_lowercase())).for_each(|(_, v)| strings(v, out))
            }
            _ => {}
        }
    }
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let jsonl = path.extension().is_some_and(|e| e == "jsonl");
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: not UTF-8 text", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        if jsonl {
            let v: serde_json::Value = serde_json::from_str(&line).with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
            strings(&v, &mut out);
        } else {
            out.extend(line.split('\t').filter(|f| !f.trim().is_empty()).map(str::to_string));
        }
    }
    Ok(out)
}

/// How a pruned vocabulary tokenizes texts, against the full one.
struct Change {
    texts: usize,
    texts_changed: usize,
    tokens: usize,
    tokens_pruned: usize,
    tokens_after: usize,
    unknown_after: usize,
}

fn measure(full: &Tokenizer, pruned: &Tokenizer, keep: &BTreeSet<u32>, unk: u32, texts: &[String]) -> Result<Change> {
    let mut c = Change { texts: texts.len(), texts_changed: 0, tokens: 0, tokens_pruned: 0, tokens_after: 0, unknown_after: 0 };
    for t in texts {
        let before = full.encode(t)?.ids;
        let after = pruned.encode(t)?.ids;
        let pruned_here = before.iter().filter(|id| !keep.contains(id)).count();
        c.tokens += before.len() - 2;
        c.tokens_pruned += pruned_here;
        c.tokens_after += after.len() - 2;
        c.unknown_after += after.iter().filter(|&&id| id == unk).count();
        c.texts_changed += usize::from(pruned_here > 0);
    }
    Ok(c)
}

pub fn run(model_dir: &Path, a: PruneVocabArgs) -> Result<()> {
    let model = ModelDir::open(model_dir)?;
    let full = model.tokenizer()?;
    let mut sources = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let catalog = Catalog::load_jsonl(&a.catalog)?;
    for e in &catalog.entries {
        texts.extend(e.descriptions.values().cloned());
        texts.extend(e.inclusion_terms.iter().cloned());
    }
    sources.push(format!("{} ({} codes)", a.catalog.display(), catalog.entries.len()));
    for path in &a.texts {
        let t = read_texts(path)?;
        sources.push(format!("{} ({} texts)", path.display(), t.len()));
        texts.extend(t);
    }
    if a.wordfreq > 0 {
        let wheel = wordfreq::fetch(&a.cache)?;
        for lang in wordfreq::LANGUAGES {
            let words = wordfreq::top_words(&wheel, lang, a.wordfreq)?;
            for w in words {
                let mut chars = w.chars();
                if let Some(first) = chars.next() {
                    texts.push(first.to_uppercase().chain(chars).collect());
                }
                texts.push(w);
            }
        }
        sources.push(format!(
            "{} top {} words per language ({}), as written and capitalised",
            wordfreq::REQUIREMENT,
            a.wordfreq,
            wordfreq::LANGUAGES.join(" ")
        ));
    }
    eprintln!("tokenizing {} texts to find the pieces they use …", texts.len());
    let keep = prune::kept_ids(&full, texts.iter().map(String::as_str))?;
    let keep_list: Vec<u32> = keep.iter().copied().collect();
    let derived_from = sources.join("; ");
    let pruned = prune::write_pruned(&model, &full, &keep_list, &derived_from, &a.out)?;
    let mib = |bytes: usize| bytes as f64 / (1u64 << 20) as f64;
    eprintln!(
        "kept {} of {} pieces ({:.1} %): word table {:.1} MiB → {:.1} MiB as stored; {} written (model id {} unchanged)",
        keep.len(),
        full.vocab_size(),
        100.0 * keep.len() as f64 / full.vocab_size() as f64,
        mib(pruned.table_bytes.0),
        mib(pruned.table_bytes.1),
        a.out.display(),
        pruned.info.model_id
    );
    eprintln!("derived from: {derived_from}");
    if !a.measure.is_empty() {
        let unk = pruned.tokenizer.to_data().unk;
        println!("| evaluation texts | texts | texts changed | tokens | tokens pruned | tokens after | <unk> after |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for path in &a.measure {
            let c = measure(&full, &pruned.tokenizer, &keep, unk, &read_texts(path)?)?;
            println!(
                "| {} | {} | {} ({:.2} %) | {} | {} ({:.3} %) | {} ({:+.2} %) | {} |",
                path.display(),
                c.texts,
                c.texts_changed,
                100.0 * c.texts_changed as f64 / c.texts.max(1) as f64,
                c.tokens,
                c.tokens_pruned,
                100.0 * c.tokens_pruned as f64 / c.tokens.max(1) as f64,
                c.tokens_after,
                100.0 * (c.tokens_after as f64 / c.tokens.max(1) as f64 - 1.0),
                c.unknown_after
            );
        }
    }
    Ok(())
}
