//! Every code under all of its names: the passages of a catalogue index when a code should be found
//! by more than its descriptions.
//!
//! - **Descriptions** in the index's language(s), as [`Catalog::passages`] gives them.
//! - **Inclusion terms** (English, ICD-10-CM tabular list): "Oral thrush" for B37.0.
//! - **Parent context** for descriptions that are only a qualifier: a text that many codes share
//!   verbatim in one language ("lugar não especificado" under every external-cause category, "Other")
//!   says nothing alone; it is indexed as "`parent description`, `text`".
//! - **Learned names**: wordings people (or the synthetic generator) used for a code — e.g. the real
//!   mentions of CodiEsp train, as `medbridge synth --generator annotated` writes them, evaluation
//!   texts already excluded there. Capped per code and language so a frequent code does not crowd
//!   the index.
//!
//! Ids: a description keeps its id ([`passage_id`], or the plain code in a one-language index); every
//! other name is `id#n` ([`name_passage_id`]), which collapses to its code like a description does.
use std::collections::{HashMap, HashSet};

use super::{normalize_code, Catalog, LANGS};
use crate::retrieve::bm25::normalize_query;
use crate::retrieve::{name_passage_id, passage_id, split_passage_id};

/// A description shared verbatim by at least this many codes (with different parents) in one
/// language is a qualifier ("Other specified", "lugar não especificado"), not a name.
pub const QUALIFIER_MIN_CODES: usize = 10;
/// At most this many learned names per code and language (the first ones given).
pub const MAX_LEARNED_PER_CODE: usize = 16;

/// A wording of a code in a language, learned from data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LearnedName {
    pub code: String,
    pub lang: String,
    pub text: String,
}

/// Which names stand for a code besides its descriptions.
#[derive(Clone, Debug, Default)]
pub struct NameOptions {
    pub inclusion_terms: bool,
    pub parent_context: bool,
    pub learned: Vec<LearnedName>,
}

impl NameOptions {
    /// Inclusion terms and parent context on, no learned names.
    pub fn catalogue_names() -> Self {
        NameOptions { inclusion_terms: true, parent_context: true, learned: Vec::new() }
    }
}

/// What [`Catalog::passages_named`] added, for the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameCounts {
    pub descriptions: usize,
    pub with_parent_context: usize,
    pub inclusion_terms: usize,
    pub learned: usize,
    /// Learned names dropped: unknown code, a language not indexed, a duplicate of another name, or over the cap.
    pub learned_dropped: usize,
}

impl Catalog {
    /// Passages `(id, text)` of a catalogue index in `lang` (one of [`LANGS`] or `"all"`) with the
    /// names of `opts` (see the module docs), grouped by code in code order.
    pub fn passages_named(&self, lang: &str, opts: &NameOptions) -> (Vec<(String, String)>, NameCounts) {
        let all = lang == "all";
        let langs: Vec<&str> = if all { LANGS.to_vec() } else { LANGS.iter().copied().filter(|l| *l == lang).collect() };
        let id_of = |code: &str, l: &str| if all { passage_id(code, l) } else { code.to_string() };
        let name_id = |code: &str, l: &str, n: usize| if all { name_passage_id(code, l, n) } else { format!("{code}#{n}") };
        let qualifiers = if opts.parent_context { self.qualifier_texts() } else { HashSet::new() };

        let mut learned: HashMap<&str, Vec<&LearnedName>> = HashMap::new();
        let mut counts = NameCounts::default();
        for n in &opts.learned {
            match self.get(&n.code) {
                Some(e) if langs.contains(&n.lang.as_str()) => learned.entry(e.code.as_str()).or_default().push(n),
                _ => counts.learned_dropped += 1,
            }
        }

        let mut out = Vec::new();
        for e in &self.entries {
            let mut seen: HashSet<String> = HashSet::new();
            for &l in &langs {
                let mut n = 0;
                let mut push_name = |out: &mut Vec<(String, String)>, seen: &mut HashSet<String>, text: &str| -> bool {
                    if !seen.insert(normalize_query(text)) {
                        return false;
                    }
                    n += 1;
                    out.push((name_id(&e.code, l, n), text.to_string()));
                    true
                };
                if let Some(d) = e.descriptions.get(l) {
                    let parent = e.parent.as_deref().and_then(|p| self.get(p)).and_then(|p| p.descriptions.get(l));
                    let text = match parent {
                        Some(p) if qualifiers.contains(&(l, d.as_str())) => {
                            counts.with_parent_context += 1;
                            format!("{p}, {d}")
                        }
                        _ => d.clone(),
                    };
                    seen.insert(normalize_query(&text));
                    out.push((id_of(&e.code, l), text));
                    counts.descriptions += 1;
                }
                if l == "en" && opts.inclusion_terms {
                    for t in &e.inclusion_terms {
                        counts.inclusion_terms += push_name(&mut out, &mut seen, t) as usize;
                    }
                }
                let mut taken = 0;
                for name in learned.get(e.code.as_str()).into_iter().flatten().filter(|x| x.lang == l) {
                    if taken < MAX_LEARNED_PER_CODE && push_name(&mut out, &mut seen, &name.text) {
                        taken += 1;
                        counts.learned += 1;
                    } else {
                        counts.learned_dropped += 1;
                    }
                }
            }
        }
        (out, counts)
    }

    /// Keep the passages of codes that are ids of `pool` (`(id, text)` of a BEIR corpus of codes, e.g.
    /// an evaluation's code pool) and, in an English or all-language index, add the pool's own text as
    /// the English description of a code the catalogue lacks. Returns (codes kept, codes added).
    pub fn restrict_to_pool(&self, passages: &mut Vec<(String, String)>, pool: &[(&str, String)], lang: &str) -> (usize, usize) {
        let want: HashSet<String> = pool.iter().filter_map(|(id, _)| normalize_code(id)).collect();
        passages.retain(|(id, _)| want.contains(split_passage_id(id).0));
        let mut added = 0;
        if lang == "all" || lang == "en" {
            for (id, text) in pool.iter().filter(|(id, _)| self.get(id).is_none()) {
                passages.push((id.to_string(), text.clone()));
                added += 1;
            }
        }
        let kept: HashSet<&str> = passages.iter().map(|(id, _)| split_passage_id(id).0).collect();
        (kept.len(), added)
    }

    /// `(lang, text)` of descriptions that are qualifiers: shared verbatim by at least
    /// [`QUALIFIER_MIN_CODES`] codes under different parents.
    fn qualifier_texts(&self) -> HashSet<(&'static str, &str)> {
        let mut parents: HashMap<(&'static str, &str), HashSet<Option<&str>>> = HashMap::new();
        for e in &self.entries {
            for l in LANGS {
                if let Some(d) = e.descriptions.get(l) {
                    parents.entry((l, d.as_str())).or_default().insert(e.parent.as_deref());
                }
            }
        }
        parents.into_iter().filter(|(_, p)| p.len() >= QUALIFIER_MIN_CODES).map(|(k, _)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::CatalogEntry;
    use crate::retrieve::Source;

    fn entry(code: &str, parent: Option<&str>, d: &[(&str, &str)], incl: &[&str]) -> CatalogEntry {
        CatalogEntry {
            code: code.into(),
            parent: parent.map(Into::into),
            level: code.replace('.', "").len() as u8,
            descriptions: d.iter().map(|(l, t)| (l.to_string(), t.to_string())).collect::<BTreeMap<_, _>>(),
            inclusion_terms: incl.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Twelve categories, each with a child whose Portuguese text is the shared qualifier.
    fn catalogue() -> Catalog {
        let mut entries = vec![
            entry("B37", None, &[("en", "Candidiasis"), ("es", "Candidiasis")], &[]),
            entry(
                "B37.0",
                Some("B37"),
                &[("en", "Candidal stomatitis"), ("es", "Estomatitis candidiásica")],
                &["Oral thrush", "oral thrush"],
            ),
            entry("R51", None, &[("en", "Headache"), ("es", "Cefalea")], &[]),
        ];
        for i in 0..12 {
            let cat = format!("W{i:02}");
            entries.push(entry(&cat, None, &[("pt", &format!("Queda número {i}"))], &[]));
            entries.push(entry(&format!("{cat}.9"), Some(&cat), &[("pt", "lugar não especificado")], &[]));
        }
        entries.sort_by(|a, b| a.code.cmp(&b.code));
        Catalog { entries }
    }

    #[test]
    fn every_name_collapses_to_its_code_and_keeps_its_language() {
        let learned = vec![
            LearnedName { code: "R51".into(), lang: "es".into(), text: "dolor de cabeza".into() },
            LearnedName { code: "R51".into(), lang: "es".into(), text: "Dolor de  cabeza".into() }, // same name again
            LearnedName { code: "R51".into(), lang: "es".into(), text: "cefalea".into() },          // = the description
            LearnedName { code: "X99".into(), lang: "es".into(), text: "no such code".into() },
            LearnedName { code: "r51".into(), lang: "fr".into(), text: "mal de tête".into() },
        ];
        let opts = NameOptions { learned, ..NameOptions::catalogue_names() };
        let cat = catalogue();
        let (passages, counts) = cat.passages_named("all", &opts);
        let get = |id: &str| passages.iter().find(|(i, _)| i == id).map(|(_, t)| t.as_str());
        assert_eq!(get("B37.0#1"), Some("Oral thrush"), "{passages:?}");
        assert!(!passages.iter().any(|(_, t)| t == "oral thrush"), "a duplicate name is indexed once");
        assert_eq!(get("R51@es#1"), Some("dolor de cabeza"));
        assert_eq!(get("R51@fr#1"), Some("mal de tête"), "a name counts where the code has no description in its language");
        assert_eq!(get("W03.9@pt"), Some("Queda número 3, lugar não especificado"));
        assert_eq!(get("W03@pt"), Some("Queda número 3"));
        assert_eq!(counts, NameCounts { descriptions: 30, with_parent_context: 12, inclusion_terms: 1, learned: 2, learned_dropped: 3 });
        let all = Source::parse("icd10:all");
        for (id, _) in &passages {
            assert!(cat.get(all.result_id(id)).is_some(), "{id} collapses to a catalogue code");
        }
        assert_eq!(passages.iter().map(|(i, _)| i).collect::<HashSet<_>>().len(), passages.len(), "ids are unique");
        assert_eq!(split_passage_id("R51@fr#1"), ("R51", "fr"));

        // One language: plain codes for descriptions, `code#n` for other names, only that language's.
        let (es, _) = cat.passages_named("es", &opts);
        assert_eq!(
            es.iter().filter(|(i, _)| i.starts_with("R51")).cloned().collect::<Vec<_>>(),
            [("R51".to_string(), "Cefalea".to_string()), ("R51#1".to_string(), "dolor de cabeza".to_string())]
        );
        // Names off: exactly the descriptions.
        assert_eq!(cat.passages_named("all", &NameOptions::default()).0, cat.passages("all"));
    }

    #[test]
    fn a_pool_keeps_its_codes_and_describes_the_ones_the_catalogue_lacks() {
        let cat = catalogue();
        let (mut passages, _) = cat.passages_named("all", &NameOptions::catalogue_names());
        let pool = [("B37.0", "Candidal stomatitis".to_string()), ("W19.XXX", "Unspecified fall".to_string())];
        assert_eq!(cat.restrict_to_pool(&mut passages, &pool, "all"), (2, 1));
        let ids: Vec<&str> = passages.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(ids, ["B37.0", "B37.0#1", "B37.0@es", "W19.XXX"]);
    }

    #[test]
    fn learned_names_are_capped_per_code() {
        let learned =
            (0..40).map(|i| LearnedName { code: "R51".into(), lang: "es".into(), text: format!("dolor de cabeza {i}") }).collect();
        let (passages, counts) = catalogue().passages_named("es", &NameOptions { learned, ..Default::default() });
        assert_eq!(passages.iter().filter(|(i, _)| i.starts_with("R51#")).count(), MAX_LEARNED_PER_CODE);
        assert_eq!((counts.learned, counts.learned_dropped), (MAX_LEARNED_PER_CODE, 40 - MAX_LEARNED_PER_CODE));
    }
}
