//! Synthetic training data for the bi-encoder and the reranker: (query, positive passage, hard
//! negatives) pairs in en/es/fr/pt/it/ca, grounded in the ICD-10 hierarchy of the [`Catalog`].
//!
//! Three generators write one format:
//! - [`offline::generate_offline`] — needs no service. Turns catalogue descriptions into
//!   clinical-style mentions (abbreviations, lay wording, dropped qualifiers, laterality and
//!   severity phrasings, telegraphic word order, missing accents, keyboard typos) and builds
//!   cross-lingual pairs. Catalan and Italian (no / 427 catalogue descriptions) are produced by
//!   an explicit, hand-written Spanish→Catalan and Spanish→Italian phrase lexicon plus
//!   morphological suffix rules ([`lexicon`]), applied to the Spanish descriptions.
//! - `llm::generate_llm` (native only) — any OpenAI-compatible chat-completions endpoint;
//!   batched prompts, retries with backoff, a requests-per-minute limit, resumable output and
//!   validation (language heuristic, length, deduplication).
//! - [`annotated::generate_annotated`] — real mentions coded by people (BEIR queries + qrels,
//!   e.g. CodiEsp train) with their gold code's description and its hierarchy siblings.
//!
//! # Output format (JSONL, one [`SynthPair`] per line)
//! ```json
//! {"lang":"ca","query":"insuficiencia cardiaca esq.","positive_code":"I50.1",
//!  "positive_text":"Insuficiencia ventricular izquierda","positive_lang":"es",
//!  "hard_negatives":[{"code":"I50.0","text":"Insuficiencia cardíaca congestiva","relation":"sibling"}],
//!  "generator":"offline","seed":42,"template":"transfer:es>ca+lower+laterality"}
//! ```
//! - `lang`: language of the query. `positive_lang`: language of `positive_text`, which is the
//!   catalogue description *exactly as the search page indexes it* (for Spanish possibly
//!   `"gnuhealth wording / cie wording"`). `lang != positive_lang` is a cross-lingual pair.
//! - `hard_negatives`: codes near the positive in the hierarchy, described in `positive_lang`:
//!   siblings (same parent) first, then cousins (same grandparent), then other codes of the
//!   same 3-character category. Never the positive, its ancestors or its descendants (those are
//!   partly right), never a code whose text equals the positive text.
//! - `generator`: `"offline"`, `"llm"`, or `"annotated"` (real mentions with their coders' codes,
//!   e.g. from CodiEsp train, by [`annotated`]); `seed`: the run's seed; `template`: `+`-joined list
//!   of what produced the query (e.g. `transfer:es>it`, `abbrev`, `lay`, `drop_qualifier`,
//!   `typo`, `no_accents`, `curated`, `llm`), so quality can be inspected per template.
//!
//! # Deduplication and evaluation overlap
//! Queries are compared after [`normalize_query`] (BM25's accent/case [`fold`](crate::retrieve::bm25::fold), whitespace
//! collapsed, surrounding punctuation trimmed). Within a run a `(lang, normalised query)` occurs
//! once. [`Exclusion`] holds normalised evaluation queries (JSONL files with a `"text"` or
//! `"query"` field, e.g. CodiEsp `queries.jsonl`); generated queries equal to one are dropped and
//! counted, or refused with an error in strict mode.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogEntry, LANGS};
use crate::corpus::read_lines_jsonl;
pub use crate::retrieve::bm25::normalize_query;
use crate::{format_err, Error, Result};

pub mod annotated;
pub mod lexicon;
#[cfg(not(target_arch = "wasm32"))]
pub mod llm;
pub mod offline;

pub use annotated::{generate_annotated, generate_annotated_files, AnnotatedOptions, AnnotatedOutput};
#[cfg(not(target_arch = "wasm32"))]
pub use llm::{generate_llm, LlmOptions, LlmProgress, LlmReport};
pub use offline::{generate_offline, OfflineOptions, OfflineOutput};

/// Default number of pairs per language (6 × 3,300 = 19,800 ≥ the study's ~19,500).
pub const DEFAULT_PAIRS_PER_LANG: usize = 3_300;
/// Default number of hard negatives per pair.
pub const DEFAULT_HARD_NEGATIVES: usize = 3;

/// One hard negative: a code near the positive in the hierarchy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HardNegative {
    pub code: String,
    pub text: String,
    /// `"sibling"`, `"cousin"` or `"category"`.
    #[serde(default)]
    pub relation: String,
}

/// One training pair; see the module docs for the meaning of each field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SynthPair {
    pub lang: String,
    pub query: String,
    pub positive_code: String,
    pub positive_text: String,
    pub positive_lang: String,
    #[serde(default)]
    pub hard_negatives: Vec<HardNegative>,
    pub generator: String,
    pub seed: u64,
    #[serde(default)]
    pub template: String,
}

/// Write pairs as JSONL (one object per line), creating parent directories.
pub fn write_jsonl(path: &Path, pairs: &[SynthPair]) -> Result<()> {
    // An interrupted run never leaves half a file.
    crate::io::write_atomic_with(path, |w| write_pairs(w, pairs).map_err(|e| Error::io(path, e)))
}

/// Serialise pairs as JSONL lines to any writer.
pub fn write_pairs(w: &mut impl Write, pairs: &[SynthPair]) -> std::io::Result<()> {
    for p in pairs {
        serde_json::to_writer(&mut *w, p)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Read a JSONL file of pairs. Errors name `file:line` (bad JSON, missing field, empty query,
/// unknown language or generator).
pub fn read_jsonl(path: &Path) -> Result<Vec<SynthPair>> {
    let rows: Vec<(usize, SynthPair)> = read_lines_jsonl(path)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, p) in rows {
        if p.query.trim().is_empty() {
            return Err(Error::parse(path, line, "empty \"query\""));
        }
        if !LANGS.contains(&p.lang.as_str()) || !LANGS.contains(&p.positive_lang.as_str()) {
            return Err(Error::parse(path, line, format!("unknown language {:?}/{:?}", p.lang, p.positive_lang)));
        }
        if !["offline", "llm", "annotated"].contains(&p.generator.as_str()) {
            return Err(Error::parse(path, line, format!("unknown generator {:?}", p.generator)));
        }
        out.push(p);
    }
    Ok(out)
}

/// Number of pairs per `(lang, generator)`.
pub fn counts(pairs: &[SynthPair]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for p in pairs {
        *out.entry((p.lang.clone(), p.generator.clone())).or_default() += 1;
    }
    out
}

/// A printable table of [`counts`]: one line per language (in [`LANGS`] order), one column
/// per generator, plus cross-lingual share and totals.
pub fn format_counts(pairs: &[SynthPair]) -> String {
    let c = counts(pairs);
    let gens: Vec<String> = {
        let s: std::collections::BTreeSet<String> = c.keys().map(|(_, g)| g.clone()).collect();
        s.into_iter().collect()
    };
    let mut s = format!("{:<6}", "lang");
    for g in &gens {
        s += &format!("{g:>9}");
    }
    s += &format!("{:>9}{:>8}\n", "total", "cross");
    let mut grand = 0;
    for l in LANGS {
        let mut tot = 0;
        let mut line = format!("{l:<6}");
        for g in &gens {
            let n = c.get(&(l.to_string(), g.clone())).copied().unwrap_or(0);
            tot += n;
            line += &format!("{n:>9}");
        }
        let cross = pairs.iter().filter(|p| p.lang == l && p.positive_lang != l).count();
        let pct = if tot > 0 { 100.0 * cross as f64 / tot as f64 } else { 0.0 };
        line += &format!("{tot:>9}{:>7.0}%\n", pct);
        grand += tot;
        s += &line;
    }
    s += &format!("{:<6}{:>w$}\n", "all", grand, w = 9 * gens.len() + 9);
    s
}

/// Remove later duplicates of `(lang, normalised query)`; returns how many were removed.
pub fn dedup(pairs: &mut Vec<SynthPair>) -> usize {
    let mut seen = HashSet::new();
    let before = pairs.len();
    pairs.retain(|p| seen.insert((p.lang.clone(), normalize_query(&p.query))));
    before - pairs.len()
}

// ---------------------------------------------------------------------------------------------
// Evaluation-query exclusion

/// Normalised evaluation queries that generated data must not contain.
#[derive(Clone, Debug, Default)]
pub struct Exclusion {
    set: HashSet<String>,
    /// (file, number of queries read).
    pub sources: Vec<(PathBuf, usize)>,
}

/// What [`apply_exclusion`] (or a generator) dropped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExclusionReport {
    pub dropped: usize,
    /// Up to 10 dropped queries, for the log.
    pub examples: Vec<String>,
}

impl Exclusion {
    pub fn new() -> Self {
        Self::default()
    }
    /// Load several files (see [`Exclusion::add_file`]).
    pub fn load(paths: &[PathBuf]) -> Result<Self> {
        let mut e = Self::new();
        for p in paths {
            e.add_file(p)?;
        }
        Ok(e)
    }
    /// Add the queries of a JSONL file: each line an object with a string `"text"` or `"query"`
    /// field (BEIR `queries.jsonl`, or a synthetic pairs file). Returns the number read.
    pub fn add_file(&mut self, path: &Path) -> Result<usize> {
        let rows: Vec<(usize, serde_json::Value)> = read_lines_jsonl(path)?;
        let mut n = 0;
        for (line, v) in rows {
            let t = v.get("text").and_then(|t| t.as_str()).or_else(|| v.get("query").and_then(|t| t.as_str()));
            match t {
                Some(t) => {
                    self.add(t);
                    n += 1;
                }
                None => return Err(Error::parse(path, line, "expected a string field \"text\" or \"query\"")),
            }
        }
        self.sources.push((path.to_path_buf(), n));
        Ok(n)
    }
    pub fn add(&mut self, text: &str) {
        let n = normalize_query(text);
        if !n.is_empty() {
            self.set.insert(n);
        }
    }
    pub fn contains(&self, query: &str) -> bool {
        !self.set.is_empty() && self.set.contains(&normalize_query(query))
    }
    pub fn len(&self) -> usize {
        self.set.len()
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// Drop pairs whose query is an evaluation query. With `strict`, any overlap is an error that
/// names up to 10 of the overlapping queries.
pub fn apply_exclusion(pairs: &mut Vec<SynthPair>, excl: &Exclusion, strict: bool) -> Result<ExclusionReport> {
    let mut rep = ExclusionReport::default();
    pairs.retain(|p| {
        if excl.contains(&p.query) {
            rep.dropped += 1;
            if rep.examples.len() < 10 {
                rep.examples.push(p.query.clone());
            }
            false
        } else {
            true
        }
    });
    if strict && rep.dropped > 0 {
        return Err(overlap_error(&rep));
    }
    Ok(rep)
}

pub(crate) fn overlap_error(rep: &ExclusionReport) -> Error {
    format_err!("{} generated queries equal evaluation queries (strict mode), e.g. {:?}", rep.dropped, rep.examples)
}

// ---------------------------------------------------------------------------------------------
// Language heuristic

/// Cheap language evidence for short clinical text: function words and characteristic letters.
/// Returns a score per language of [`LANGS`] (0 = no evidence).
pub fn language_scores(text: &str) -> BTreeMap<&'static str, u32> {
    let lower = text.to_lowercase();
    let mut s: BTreeMap<&'static str, u32> = LANGS.iter().map(|l| (*l, 0)).collect();
    for w in lower.split(|c: char| !(c.is_alphanumeric() || c == '·' || c == '\'')) {
        let w = w.trim_matches('\'');
        if w.is_empty() {
            continue;
        }
        for (l, words) in lexicon::marker_words() {
            if words.contains(&w) {
                *s.get_mut(l).unwrap() += 2;
            }
        }
        if w.starts_with("l'") || w.starts_with("d'") {
            *s.get_mut("fr").unwrap() += 1;
            *s.get_mut("ca").unwrap() += 1;
            *s.get_mut("it").unwrap() += 1;
        }
    }
    for (l, chars) in lexicon::marker_chars() {
        let n = lower.chars().filter(|c| chars.contains(*c)).count() as u32;
        *s.get_mut(l).unwrap() += 2 * n.min(3);
    }
    if lower.contains("l·l") {
        *s.get_mut("ca").unwrap() += 4;
    }
    s
}

/// Is `text` plausibly written in `lang`? True unless another language has clearly more
/// evidence (short mentions like "HTA" have none and pass).
pub fn plausible_language(text: &str, lang: &str) -> bool {
    let s = language_scores(text);
    let own = s.get(lang).copied().unwrap_or(0);
    let best_other = s.iter().filter(|(l, _)| **l != lang).map(|(_, v)| *v).max().unwrap_or(0);
    best_other <= own + 1 || best_other < 3
}

// ---------------------------------------------------------------------------------------------
// Hierarchy

/// Parent/children index over a catalogue, for hard negatives.
pub struct Hierarchy<'a> {
    pub catalog: &'a Catalog,
    children: HashMap<&'a str, Vec<usize>>,
    by_category: HashMap<&'a str, Vec<usize>>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Hierarchy<'a> {
    pub fn new(catalog: &'a Catalog) -> Self {
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_category: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut index = HashMap::new();
        for (i, e) in catalog.entries.iter().enumerate() {
            index.insert(e.code.as_str(), i);
            if let Some(p) = &e.parent {
                children.entry(p.as_str()).or_default().push(i);
            }
            by_category.entry(category(&e.code)).or_default().push(i);
        }
        Hierarchy { catalog, children, by_category, index }
    }

    pub fn entry(&self, code: &str) -> Option<&'a CatalogEntry> {
        self.index.get(code).map(|&i| &self.catalog.entries[i])
    }

    /// Is `a` an ancestor of `b` (or equal)?
    pub fn is_ancestor_or_self(&self, a: &str, b: &str) -> bool {
        let mut cur = Some(b);
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.entry(c).and_then(|e| e.parent.as_deref());
        }
        false
    }

    /// Up to `k` hard negatives for `code`, described in `lang`, in the order siblings, cousins,
    /// same category (each group shuffled with `rng`). Level-7 codes are only used as negatives
    /// of level-7 positives.
    pub fn hard_negatives(&self, code: &str, lang: &str, k: usize, rng: &mut impl rand::Rng) -> Vec<HardNegative> {
        self.hard_negatives_of(code, lang, k, &["sibling", "cousin", "category"], rng)
    }

    /// [`Hierarchy::hard_negatives`] from the given relations only, in that order (`"sibling"`,
    /// `"cousin"`, `"category"`); e.g. `&["sibling"]` for siblings alone (the annotated generator).
    pub fn hard_negatives_of(&self, code: &str, lang: &str, k: usize, relations: &[&str], rng: &mut impl rand::Rng) -> Vec<HardNegative> {
        use rand::seq::SliceRandom;
        let Some(e) = self.entry(code) else { return Vec::new() };
        let pos_text = e.descriptions.get(lang).map(|s| s.as_str()).unwrap_or("");
        let mut out: Vec<HardNegative> = Vec::new();
        let mut used: HashSet<&str> = HashSet::new();
        let parent = e.parent.as_deref();
        let grand = parent.and_then(|p| self.entry(p)).and_then(|p| p.parent.as_deref());
        let empty: Vec<usize> = Vec::new();
        for &rel in relations {
            if out.len() >= k {
                break;
            }
            let mut group: Vec<usize> = match rel {
                "sibling" => match parent {
                    Some(p) => self.children.get(p).unwrap_or(&empty).clone(),
                    // categories: their "siblings" are the neighbouring categories of the same letter
                    None => self.neighbour_categories(code),
                },
                "cousin" => {
                    let mut c = Vec::new();
                    if let Some(g) = grand {
                        for &u in self.children.get(g).unwrap_or(&empty) {
                            if Some(self.catalog.entries[u].code.as_str()) != parent {
                                c.extend(self.children.get(self.catalog.entries[u].code.as_str()).unwrap_or(&empty));
                            }
                        }
                    }
                    c
                }
                "category" => self.by_category.get(category(code)).unwrap_or(&empty).clone(),
                _ => Vec::new(),
            };
            group.shuffle(rng);
            for i in group {
                if out.len() >= k {
                    break;
                }
                let n = &self.catalog.entries[i];
                if n.level == 7 && e.level != 7 {
                    continue;
                }
                if used.contains(n.code.as_str()) || self.is_ancestor_or_self(&n.code, code) || self.is_ancestor_or_self(code, &n.code) {
                    continue;
                }
                let Some(t) = n.descriptions.get(lang) else { continue };
                if t == pos_text || normalize_query(t) == normalize_query(pos_text) {
                    continue;
                }
                used.insert(n.code.as_str());
                out.push(HardNegative { code: n.code.clone(), text: t.clone(), relation: rel.to_string() });
            }
        }
        out
    }

    /// Categories with the same letter and a number within ±5 (e.g. I48 → I43..I53).
    fn neighbour_categories(&self, code: &str) -> Vec<usize> {
        let b = code.as_bytes();
        let num: Option<i32> = code.get(1..3).and_then(|s| s.parse().ok());
        let Some(num) = num else { return Vec::new() };
        let mut out = Vec::new();
        for d in -5..=5i32 {
            let m = num + d;
            if d == 0 || !(0..=99).contains(&m) {
                continue;
            }
            let c = format!("{}{:02}", b[0] as char, m);
            if let Some(&i) = self.index.get(c.as_str()) {
                out.push(i);
            }
        }
        out
    }
}

/// The 3-character category of a code (`"E11.9"` → `"E11"`).
pub fn category(code: &str) -> &str {
    code.get(..3).unwrap_or(code)
}

#[cfg(test)]
pub(crate) mod tests;
