//! Retrieval: vector indexes, BM25, their fusion and reranking — one core the CLI and the page share.
//!
//! - [`VectorIndex`]: what a first stage needs of an index — the f32 HNSW file ([`index::Index`],
//!   `.mbix`), the page's int8 index ([`quantized::QuantizedIndex`], inside `catalog.mbca`) and a
//!   PostgreSQL + pgvector collection (`pg::PgIndex`, native builds with the `pg` feature).
//! - [`search::Retriever`]: dense, BM25 and hybrid search over any [`VectorIndex`], collapsing an
//!   ICD-10 index's passages (`CODE@lang`) to codes.
//! - [`fusion`]: score fusion of dense and BM25 and of the reranker with the first stage; [`rerank`]: the cross-encoder.
pub mod bm25;
pub mod fusion;
pub mod index;
#[cfg(feature = "pg")]
pub mod pg;
pub mod quantized;
pub mod rerank;
pub mod search;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::Lang;
use crate::{format_err, Result};

/// A retrieval run: query id → ranked `(doc id, score)`, best first.
pub type Run = BTreeMap<String, Vec<(String, f32)>>;

/// A first-stage index of passage vectors (L2-normalised; score = cosine).
pub trait VectorIndex {
    /// Where the passages came from (decides how passages collapse to results).
    fn source(&self) -> &Source;
    fn dim(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The id of passage `i` (`CODE`, `CODE@lang` or a corpus document id).
    fn passage_id(&self, i: usize) -> &str;
    /// The text of passage `i` (what BM25 and the reranker read).
    fn passage_text(&self, i: usize) -> Cow<'_, str>;
    /// The `n` passages nearest to `query`: (passage, cosine), best first. `query` has [`dim`](Self::dim) values.
    /// Fails only where the vectors live elsewhere (a database).
    fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(usize, f32)>>;
}

/// Where an index's passages come from; stored in files as `icd10:<lang>`, `icd10:all` or a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The ICD-10 catalogue in one language (passage id = code) or in all (`None`: `CODE@lang`).
    Icd10(Option<Lang>),
    /// A BEIR corpus or any other document collection (passage id = document id).
    Corpus(String),
}

impl Source {
    pub fn parse(s: &str) -> Source {
        match s.strip_prefix("icd10:") {
            Some("all") => Source::Icd10(None),
            Some(l) => match l.parse() {
                Ok(l) => Source::Icd10(Some(l)),
                Err(_) => Source::Corpus(s.to_string()),
            },
            None => Source::Corpus(s.to_string()),
        }
    }

    pub fn is_icd10(&self) -> bool {
        matches!(self, Source::Icd10(_))
    }

    /// The id a passage counts as in results: an ICD-10 passage `CODE@lang` counts as `CODE`.
    pub fn result_id<'a>(&self, passage_id: &'a str) -> &'a str {
        match self {
            Source::Icd10(_) => split_passage_id(passage_id).0,
            Source::Corpus(_) => passage_id,
        }
    }

    /// The language of an ICD-10 passage: its id's suffix, else the index's language, else English.
    pub fn passage_lang<'a>(&self, passage_id: &'a str) -> &'a str {
        let base = passage_id.split_once('#').map_or(passage_id, |(b, _)| b);
        match (base.split_once('@'), self) {
            (Some((_, l)), _) => l,
            (None, Source::Icd10(Some(l))) => l.as_str(),
            _ => "en",
        }
    }

    /// Passages fetched per result wanted, as a first guess: an all-language catalogue holds up to
    /// five descriptions per code (en, es, fr, pt, it). Codes indexed under more names make the first
    /// stage fetch deeper until it has enough distinct results ([`search::Retriever`]).
    pub fn overfetch(&self) -> usize {
        match self {
            Source::Icd10(None) => 5,
            _ => 1,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Icd10(None) => write!(f, "icd10:all"),
            Source::Icd10(Some(l)) => write!(f, "icd10:{}", l.as_str()),
            Source::Corpus(s) => write!(f, "{s}"),
        }
    }
}

/// The passage id of a code's description in a language of an all-language catalogue index:
/// `CODE` for English, `CODE@lang` otherwise.
pub fn passage_id(code: &str, lang: &str) -> String {
    if lang == "en" {
        code.to_string()
    } else {
        format!("{code}@{lang}")
    }
}

/// The passage id of a code's `n`-th other name in a language (an inclusion term, a learned
/// mention, the description with its parent's context): [`passage_id`] + `#n`, e.g. `B37.0#1`,
/// `R51@es#3`. Any index may hold them; they collapse to their code like descriptions do.
pub fn name_passage_id(code: &str, lang: &str, n: usize) -> String {
    format!("{}#{n}", passage_id(code, lang))
}

/// `CODE@lang#n` or `CODE@lang` → (`CODE`, `lang`); an id without a language is English
/// (`CODE`, `CODE#n` → (`CODE`, `en`)).
pub fn split_passage_id(id: &str) -> (&str, &str) {
    let base = id.split_once('#').map_or(id, |(b, _)| b);
    base.split_once('@').unwrap_or((base, "en"))
}

/// How a first-stage ranking is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Method {
    /// The measured best per situation ([`search::Retriever::resolve`]): dense on a catalogue index,
    /// hybrid on documents.
    #[default]
    Auto,
    /// Encoder + HNSW.
    Dense,
    /// Lexical, over the index's own texts.
    Bm25,
    /// Score fusion of dense and BM25: z(dense) + 0.7 · z(BM25), each standardised over its top 100.
    Hybrid,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Dense => "dense",
            Method::Bm25 => "bm25",
            Method::Hybrid => "hybrid",
        }
    }
}

/// How many of the catalogue's first-stage results the page reranks by default (when its bundle has
/// a reranker): the measured native configuration (README, "Evaluation report"), and what the CPU
/// path reranks in about a second here.
pub const DEFAULT_RERANK_TOP: usize = 10;

/// Whether a search reranks the catalogue's first results with the cross-encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerank {
    /// The top [`DEFAULT_RERANK_TOP`] when a reranker is loaded, else none.
    Auto,
    Off,
    /// The top N (2–100); an error when no reranker is loaded.
    Top(usize),
}

/// The page's search options (`MedBridge.search(query, options)`), checked field by field: `{k = 10 (1–100),
/// lang = "en", method = "auto" | "dense" | "hybrid" | "bm25", catalog = true, documents = true,
/// rerank = "auto": true (the top [`DEFAULT_RERANK_TOP`]) | false | N (0 = off)}`; a missing or null field takes its default,
/// any other field is refused by name.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub k: usize,
    pub lang: String,
    pub method: Method,
    pub catalog: bool,
    pub documents: bool,
    pub rerank: Rerank,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { k: 10, lang: "en".into(), method: Method::Auto, catalog: true, documents: true, rerank: Rerank::Auto }
    }
}

impl SearchOptions {
    /// From the options object as JSON (`null` or absent: the defaults).
    pub fn from_json(v: &serde_json::Value) -> Result<Self> {
        let mut o = SearchOptions::default();
        let fields = match v {
            serde_json::Value::Null => return Ok(o),
            serde_json::Value::Object(m) => m,
            other => return Err(format_err!("search options must be an object, not {}", json_kind(other))),
        };
        for (key, value) in fields.iter().filter(|(_, v)| !v.is_null()) {
            let wrong = |want: &str| format_err!("options.{key} must be {want}, not {}", json_kind(value));
            match key.as_str() {
                "k" => {
                    let k = value.as_f64().filter(|k| k.is_finite()).ok_or_else(|| wrong("a number from 1 to 100"))?;
                    o.k = k.round().clamp(1.0, 100.0) as usize;
                }
                "lang" => {
                    let l = value.as_str().ok_or_else(|| wrong("a language code such as \"es\""))?;
                    if l.is_empty() || l.len() > 16 {
                        return Err(format_err!("options.lang must be a language code such as \"es\", not {l:?}"));
                    }
                    o.lang = l.to_string();
                }
                "method" => {
                    let m = value.as_str().ok_or_else(|| wrong("\"auto\", \"dense\", \"hybrid\" or \"bm25\""))?;
                    o.method = m
                        .parse()
                        .map_err(|_| format_err!("options.method must be \"auto\", \"dense\", \"hybrid\" or \"bm25\", not {m:?}"))?;
                }
                "catalog" => o.catalog = value.as_bool().ok_or_else(|| wrong("true or false"))?,
                "documents" => o.documents = value.as_bool().ok_or_else(|| wrong("true or false"))?,
                "rerank" => {
                    o.rerank = match value {
                        serde_json::Value::Bool(true) => Rerank::Top(DEFAULT_RERANK_TOP),
                        serde_json::Value::Bool(false) => Rerank::Off,
                        serde_json::Value::String(a) if a == "auto" => Rerank::Auto,
                        v => match v.as_f64().filter(|n| n.is_finite() && *n >= 0.0) {
                            Some(n) if n.round() == 0.0 => Rerank::Off,
                            Some(n) => Rerank::Top(n.round().clamp(2.0, 100.0) as usize),
                            None => return Err(wrong("true, false, \"auto\" or a number of results from 0 to 100")),
                        },
                    }
                }
                _ => return Err(format_err!("unknown search option {key:?} (k, lang, method, catalog, documents, rerank)")),
            }
        }
        Ok(o)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl std::str::FromStr for Method {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Method::Auto),
            "dense" => Ok(Method::Dense),
            "bm25" => Ok(Method::Bm25),
            "hybrid" => Ok(Method::Hybrid),
            _ => Err(format_err!("unknown method {s:?}: use auto, dense, bm25 or hybrid")),
        }
    }
}

impl<T: VectorIndex + ?Sized> VectorIndex for &T {
    fn source(&self) -> &Source {
        (**self).source()
    }
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn len(&self) -> usize {
        (**self).len()
    }
    fn passage_id(&self, i: usize) -> &str {
        (**self).passage_id(i)
    }
    fn passage_text(&self, i: usize) -> Cow<'_, str> {
        (**self).passage_text(i)
    }
    fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(usize, f32)>> {
        (**self).nearest(query, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn search_options_take_defaults_and_name_the_bad_field() {
        assert_eq!(SearchOptions::from_json(&serde_json::Value::Null).unwrap(), SearchOptions::default());
        let o =
            SearchOptions::from_json(&json!({"k": 250.4, "lang": "es", "method": "hybrid", "catalog": false, "documents": null})).unwrap();
        assert_eq!((o.k, o.lang.as_str(), o.method, o.catalog, o.documents), (100, "es", Method::Hybrid, false, true));
        assert_eq!(SearchOptions::from_json(&json!({"k": -3})).unwrap().k, 1);
        let rerank = |v| SearchOptions::from_json(&json!({ "rerank": v })).unwrap().rerank;
        assert_eq!(
            [rerank(json!(true)), rerank(json!(false)), rerank(json!(0)), rerank(json!(1)), rerank(json!(500)), rerank(json!("auto"))],
            [Rerank::Top(DEFAULT_RERANK_TOP), Rerank::Off, Rerank::Off, Rerank::Top(2), Rerank::Top(100), Rerank::Auto]
        );
        for (bad, field) in [
            (json!({"k": "ten"}), "options.k"),
            (json!({"lang": 3}), "options.lang"),
            (json!({"lang": ""}), "options.lang"),
            (json!({"method": "fuzzy"}), "options.method"),
            (json!({"catalog": "yes"}), "options.catalog"),
            (json!({"rerank": "yes"}), "options.rerank"),
            (json!({"rerank": -1}), "options.rerank"),
            (json!({"rerankk": true}), "\"rerankk\""),
            (json!([1, 2]), "an array"),
        ] {
            let e = SearchOptions::from_json(&bad).unwrap_err().to_string();
            assert!(e.contains(field), "{bad}: {e}");
        }
    }

    #[test]
    fn sources_round_trip_and_collapse_catalogue_passages() {
        for s in ["icd10:all", "icd10:es", "corpus.jsonl", "icd10:xx"] {
            assert_eq!(Source::parse(s).to_string(), s);
        }
        assert_eq!(Source::parse("icd10:xx"), Source::Corpus("icd10:xx".into()));
        let all = Source::parse("icd10:all");
        assert_eq!((all.result_id("A00.1@es"), all.passage_lang("A00.1@es"), all.overfetch()), ("A00.1", "es", 5));
        let es = Source::parse("icd10:es");
        assert_eq!((es.result_id("A00.1"), es.passage_lang("A00.1"), es.overfetch()), ("A00.1", "es", 1));
        let corpus = Source::parse("c.jsonl");
        assert_eq!(corpus.result_id("doc@1"), "doc@1");
        assert_eq!(split_passage_id(&passage_id("B37.0", "fr")), ("B37.0", "fr"));
        // other names of a code collapse to it and keep their language
        assert_eq!(split_passage_id(&name_passage_id("B37.0", "en", 1)), ("B37.0", "en"));
        assert_eq!(split_passage_id(&name_passage_id("R51", "es", 12)), ("R51", "es"));
        assert_eq!((all.result_id("R51@es#12"), all.passage_lang("R51@es#12"), all.passage_lang("B37.0#1")), ("R51", "es", "en"));
        assert_eq!((es.result_id("R51#2"), es.passage_lang("R51#2")), ("R51", "es"));
    }
}
