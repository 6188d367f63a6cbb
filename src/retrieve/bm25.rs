//! Multilingual Okapi BM25 over an in-memory inverted index.
//!
//! Scoring is Lucene's BM25 (what Anserini uses), defaults `k1 = 0.9`, `b = 0.4`:
//!
//! ```text
//! score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf / (tf + k1 · (1 − b + b · |d| / avgdl))
//! idf(t)      = ln(1 + (N − df + 0.5) / (df + 0.5))
//! ```
//!
//! (a query term written twice counts twice, as with a Lucene BooleanQuery;
//! document lengths are exact token counts rather than Lucene's lossy 1-byte norms,
//! and the constant `(k1 + 1)` factor is omitted, which does not change rankings).
//!
//! The [`Analyzer`] is language-agnostic so one index serves en/es/fr/it/pt/ca:
//!
//! 1. lowercase, then Unicode NFD and drop combining marks (`cabeça` → `cabeca`,
//!    `infección` → `infeccion`); `ß æ œ ø ł đ` become `ss ae oe o l d`;
//! 2. split on every non-alphanumeric character (`l'infection` → `l`, `infection`;
//!    `11.5` → `11`, `5`);
//! 3. drop a merged stopword list of function words from the six languages
//!    ([`STOPWORDS`]; negations like `without`/`sin`/`sans`/`senza`/`sem` are
//!    kept because they matter for ICD-10 titles);
//! 4. optional light stemming ([`light_stem`]): strip a plural `-s` and then a
//!    final `-e`, which conflates `fracture/fractures`, `infeccion/infecciones`,
//!    `lesion/lesiones`, `tumor/tumores` across languages.
use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::Run;
use crate::corpus::{Doc, Query};
use crate::{format_err, Error, Result};

/// Function words dropped by the analyzer (already lowercased and accent-folded).
/// Roughly Lucene's English set plus the commonest articles, prepositions,
/// conjunctions, pronouns and auxiliaries of es/fr/it/pt/ca, and French/Catalan
/// elision fragments (`l`, `d`, `qu`, ...).
pub const STOPWORDS: &[&str] = &[
    // en
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has", "have", "had", "if", "in", "into", "is", "it",
    "its", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "those", "to", "was",
    "were", "which", "who", "will", "with", "what", "can", "may", "do", "does", "did", // es
    "el", "la", "los", "las", "lo", "un", "una", "unos", "unas", "de", "del", "al", "y", "e", "o", "u", "en", "con", "por", "para", "que",
    "se", "su", "sus", "es", "son", "fue", "ha", "han", "le", "les", "como", "mas", "pero", "este", "esta", "estos", "estas", "ese", "esa",
    "muy", "sobre", "entre", "cual", "cuando", "donde", "ya", "tambien", "hay", "ser", "ni", // fr
    "le", "les", "l", "une", "des", "du", "d", "et", "ou", "au", "aux", "dans", "par", "pour", "sur", "avec", "ce", "cette", "ces", "sa",
    "ses", "est", "sont", "qui", "qu", "il", "elle", "ils", "elles", "ne", "pas", "plus", "s", "n", "c", "j", "m", "t", "leur", "leurs",
    "ont", // it
    "il", "gli", "i", "uno", "di", "della", "dei", "degli", "delle", "dello", "alla", "ai", "agli", "alle", "da", "dal", "dalla", "nel",
    "nella", "nei", "negli", "nelle", "su", "per", "tra", "fra", "ed", "che", "si", "sono", "come", "anche", "questo", "questa",
    // pt
    "os", "as", "um", "uma", "uns", "umas", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "pelo", "pela", "pelos", "pelas",
    "com", "ou", "seu", "sua", "sao", "ao", "aos", "mais", "mas", "foi", // ca
    "els", "unes", "dels", "als", "amb", "seva", "aquest", "aquesta", "pero",
];

/// Light, language-agnostic stemmer (applied after folding and stopwords).
/// Tokens containing digits or shorter than 4 characters are left alone.
/// Otherwise: a final `s` is removed unless the word ends in `ss`, `us` or `is`
/// (`virus`, `crisis`, `analisis` stay); then a final `e` is removed if at least
/// 4 characters remain. Both singular and plural thus map to the same stem
/// (`disease(s)` → `diseas`, `infeccion(es)` → `infeccion`).
pub fn light_stem(token: &str) -> &str {
    if token.len() < 4 || !token.is_ascii() || token.bytes().any(|b| b.is_ascii_digit()) {
        return token;
    }
    let mut t = token;
    if t.ends_with('s') && !(t.ends_with("ss") || t.ends_with("us") || t.ends_with("is")) {
        t = &t[..t.len() - 1];
    }
    if t.ends_with('e') && t.len() > 4 {
        t = &t[..t.len() - 1];
    }
    t
}

/// Text → index terms; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analyzer {
    /// Drop [`STOPWORDS`].
    pub stopwords: bool,
    /// Apply [`light_stem`].
    pub stem: bool,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer { stopwords: true, stem: true }
    }
}

fn is_stopword(t: &str) -> bool {
    use std::sync::OnceLock;
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOPWORDS.iter().copied().collect()).contains(t)
}

/// Lowercase + accent folding, keeping every character (used before splitting).
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' => out.push('d'),
            'ı' => out.push('i'),
            _ => out.push(c),
        }
    }
    out
}

/// Normalisation used for deduplication and evaluation overlap: [`fold`] (lowercase, no
/// accents), whitespace collapsed, leading/trailing punctuation and spaces trimmed.
pub fn normalize_query(text: &str) -> String {
    let f = fold(text);
    let joined = f.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.trim_matches(|c: char| !c.is_alphanumeric()).to_string()
}

impl Analyzer {
    /// The terms of `text`, in order (repeats kept).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let folded = fold(text);
        folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .filter(|t| !(self.stopwords && is_stopword(t)))
            .map(|t| (if self.stem { light_stem(t) } else { t }).to_string())
            .collect()
    }
}

/// BM25 parameters and the analyzer the index was built with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bm25Params {
    pub k1: f32,
    pub b: f32,
    pub analyzer: Analyzer,
}

impl Default for Bm25Params {
    /// Anserini's defaults: k1 = 0.9, b = 0.4; stopwords and light stemming on.
    fn default() -> Self {
        Bm25Params { k1: 0.9, b: 0.4, analyzer: Analyzer::default() }
    }
}

/// An inverted index: term → postings `(doc number, term frequency)`,
/// doc numbers ascending. Serializable (e.g. with [`Bm25Index::save`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bm25Index {
    params: Bm25Params,
    ids: Vec<String>,
    doc_len: Vec<u32>,
    avg_len: f32,
    terms: HashMap<String, u32>,
    postings: Vec<Vec<(u32, u32)>>,
}

impl Bm25Index {
    /// Indexes `(id, text)` pairs with the default parameters.
    pub fn new(docs: &[(String, String)]) -> Self {
        Self::with_params(docs, Bm25Params::default())
    }

    /// Indexes corpus documents by [`Doc::passage_text`] (title + text).
    pub fn from_docs(docs: &[Doc], params: Bm25Params) -> Self {
        let pairs: Vec<(String, String)> = docs.iter().map(|d| (d.id.clone(), d.passage_text())).collect();
        Self::with_params(&pairs, params)
    }

    /// Indexes `(id, text)` pairs. Ids are not checked for uniqueness.
    pub fn with_params(docs: &[(String, String)], params: Bm25Params) -> Self {
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut ids = Vec::with_capacity(docs.len());
        let mut doc_len = Vec::with_capacity(docs.len());
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut total: u64 = 0;
        for (n, (id, text)) in docs.iter().enumerate() {
            counts.clear();
            let toks = params.analyzer.tokens(text);
            for t in &toks {
                let tid = match terms.get(t.as_str()) {
                    Some(&tid) => tid,
                    None => {
                        let tid = postings.len() as u32;
                        terms.insert(t.clone(), tid);
                        postings.push(Vec::new());
                        tid
                    }
                };
                *counts.entry(tid).or_insert(0) += 1;
            }
            for (&tid, &tf) in &counts {
                postings[tid as usize].push((n as u32, tf));
            }
            ids.push(id.clone());
            doc_len.push(toks.len() as u32);
            total += toks.len() as u64;
        }
        let avg_len = if docs.is_empty() { 1.0 } else { (total as f64 / docs.len() as f64).max(1e-6) as f32 };
        for p in &mut postings {
            p.shrink_to_fit();
        }
        Bm25Index { params, ids, doc_len, avg_len, terms, postings }
    }

    pub fn params(&self) -> &Bm25Params {
        &self.params
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of distinct terms.
    pub fn vocab_size(&self) -> usize {
        self.terms.len()
    }

    /// `ln(1 + (N − df + 0.5) / (df + 0.5))`; 0 for unknown terms.
    pub fn idf(&self, term: &str) -> f32 {
        match self.terms.get(term) {
            Some(&t) => self.idf_of(self.postings[t as usize].len()),
            None => 0.0,
        }
    }

    fn idf_of(&self, df: usize) -> f32 {
        let n = self.ids.len() as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln() as f32
    }

    /// The `k` best documents for `query`, best first, as `(id, score)`.
    /// Only documents sharing at least one term with the query are returned;
    /// ties are broken by indexing order. An empty (or all-stopword) query, or
    /// `k == 0`, returns nothing.
    pub fn search(&self, query: &str, k: usize) -> Vec<(String, f32)> {
        if k == 0 || self.ids.is_empty() {
            return Vec::new();
        }
        let mut qterms: Vec<(u32, u32)> = Vec::new();
        for t in self.params.analyzer.tokens(query) {
            if let Some(&tid) = self.terms.get(&t) {
                match qterms.iter_mut().find(|(x, _)| *x == tid) {
                    Some((_, c)) => *c += 1,
                    None => qterms.push((tid, 1)),
                }
            }
        }
        if qterms.is_empty() {
            return Vec::new();
        }
        let (k1, b) = (self.params.k1, self.params.b);
        let mut acc = vec![0f32; self.ids.len()];
        let mut touched: Vec<u32> = Vec::new();
        for &(tid, qtf) in &qterms {
            let plist = &self.postings[tid as usize];
            let w = qtf as f32 * self.idf_of(plist.len());
            for &(d, tf) in plist {
                let slot = &mut acc[d as usize];
                if *slot == 0.0 {
                    touched.push(d);
                }
                let tf = tf as f32;
                let norm = k1 * (1.0 - b + b * self.doc_len[d as usize] as f32 / self.avg_len);
                // idf > 0 and tf > 0, so a touched slot is always > 0
                *slot += w * tf / (tf + norm);
            }
        }
        let cmp = |a: &u32, b: &u32| acc[*b as usize].total_cmp(&acc[*a as usize]).then(a.cmp(b));
        if touched.len() > k {
            touched.select_nth_unstable_by(k - 1, cmp);
            touched.truncate(k);
        }
        touched.sort_unstable_by(cmp);
        touched.into_iter().map(|d| (self.ids[d as usize].clone(), acc[d as usize])).collect()
    }

    /// Runs every query (top `k` each) into a [`Run`] for [`crate::eval::evaluate`].
    pub fn run(&self, queries: &[Query], k: usize) -> Run {
        queries.iter().map(|q| (q.id.clone(), self.search(&q.text, k))).collect()
    }

    /// Saves the index with bincode.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::io::write_atomic_with(path, |w| {
            bincode::serialize_into(w, self).map_err(|e| format_err!("{}: writing BM25 index: {e}", path.display()))
        })
    }

    /// Loads an index written by [`Bm25Index::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        bincode::deserialize_from(std::io::BufReader::new(f)).map_err(|e| format_err!("{}: not a valid BM25 index: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    fn sample() -> Bm25Index {
        Bm25Index::new(&docs(&[
            ("A00", "Cholera"),
            ("A01.0", "Typhoid fever"),
            ("N39.0", "Urinary tract infection, site not specified"),
            ("R31.9", "Hematuria, unspecified"),
            ("R51", "Dor de cabeca"),
            ("K35", "Acute appendicitis with fever and pain"),
            ("N20.0", "Calculus of kidney"),
        ]))
    }

    #[test]
    fn analyzer_folds_splits_and_stems() {
        let a = Analyzer::default();
        assert_eq!(a.tokens("Infecciones del TRACTO urinário"), ["infeccion", "tracto", "urinario"]);
        assert_eq!(a.tokens("l'infection des voies"), ["infection", "voie"]);
        assert_eq!(a.tokens("Diseases; disease"), ["diseas", "diseas"]);
        assert_eq!(a.tokens("Hb 11.5 g/dl"), ["hb", "11", "5", "g", "dl"]);
        assert_eq!(a.tokens("crisis virus"), ["crisis", "virus"]);
        assert_eq!(a.tokens("Straße ÆSOP"), ["strass", "aesop"]);
        assert!(a.tokens("the of and, la de").is_empty());
        let raw = Analyzer { stopwords: false, stem: false };
        assert_eq!(raw.tokens("The diseases"), ["the", "diseases"]);
    }

    #[test]
    fn exact_match_ranks_first() {
        let idx = sample();
        let r = idx.search("urinary tract infection", 3);
        assert_eq!(r[0].0, "N39.0");
        assert_eq!(idx.search("Typhoid fever", 1)[0].0, "A01.0");
        assert_eq!(idx.search("hematuria", 5).len(), 1);
        // scores are sorted
        let r = idx.search("fever", 10);
        assert_eq!(r.len(), 2);
        assert!(r[0].1 >= r[1].1);
    }

    #[test]
    fn accent_insensitive() {
        let idx = sample();
        assert_eq!(idx.search("cabeça", 1)[0].0, "R51");
        assert_eq!(idx.search("HEMATÚRIA", 1)[0].0, "R31.9");
    }

    #[test]
    fn idf_favors_rare_terms() {
        let idx = Bm25Index::new(&docs(&[
            ("common1", "pain chest"),
            ("common2", "pain back"),
            ("common3", "pain leg"),
            ("rare", "pain migraine"),
            ("x", "pain"),
        ]));
        assert!(idx.idf("migrain") > idx.idf("pain"));
        // the doc matching the rare term wins over docs matching only "pain"
        let r = idx.search("pain migraine", 5);
        assert_eq!(r[0].0, "rare");
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn empty_query_and_k_zero() {
        let idx = sample();
        assert!(idx.search("", 10).is_empty());
        assert!(idx.search("  ,;  ", 10).is_empty());
        assert!(idx.search("the of", 10).is_empty());
        assert!(idx.search("zzzunknown", 10).is_empty());
        assert!(idx.search("cholera", 0).is_empty());
        assert!(Bm25Index::new(&[]).search("cholera", 3).is_empty());
    }

    #[test]
    fn save_load_round_trip() {
        let idx = sample();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bm25.bin");
        idx.save(&p).unwrap();
        let back = Bm25Index::load(&p).unwrap();
        assert_eq!(back.search("kidney calculus", 3), idx.search("kidney calculus", 3));
        std::fs::write(&p, b"garbage").unwrap();
        assert!(Bm25Index::load(&p).is_err());
    }

    #[test]
    fn query_over_100k_docs_is_fast() {
        let words = [
            "fever",
            "pain",
            "fracture",
            "infection",
            "kidney",
            "acute",
            "chronic",
            "left",
            "right",
            "femur",
            "tibia",
            "diabetes",
            "type",
            "unspecified",
            "complication",
            "initial",
            "encounter",
        ];
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let corpus: Vec<(String, String)> = (0..100_000)
            .map(|i| {
                let n = 3 + next() % 8;
                let text: Vec<String> = (0..n).map(|_| format!("{}{}", words[next() % words.len()], next() % 50)).collect();
                (format!("d{i}"), text.join(" "))
            })
            .collect();
        let idx = Bm25Index::new(&corpus);
        let t = std::time::Instant::now();
        for _ in 0..10 {
            let r = idx.search("acute3 fever7 pain12 left1 femur9 fracture4 initial0 encounter2", 10);
            assert_eq!(r.len(), 10);
        }
        let per_query = t.elapsed() / 10;
        // generous bound for a shared, unoptimised test build
        assert!(per_query.as_millis() < 100, "{per_query:?}");
    }
}
