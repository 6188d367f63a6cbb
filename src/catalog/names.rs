//! Every code under all of its names: the passages of a catalogue index when a code should be found
//! by more than its descriptions.
//!
//! - **Descriptions** in the index's language(s), as [`Catalog::passages`] gives them; a one-language
//!   index (the page's) adds the code's descriptions in the other languages as names.
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

use super::{normalize_code, Catalog, CatalogEntry, LANGS};
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
    /// In a one-language index, the code's descriptions in the other languages.
    pub other_languages: bool,
    pub inclusion_terms: bool,
    pub parent_context: bool,
    pub learned: Vec<LearnedName>,
}

impl NameOptions {
    /// Other languages' descriptions, inclusion terms and parent context on, no learned names.
    pub fn catalogue_names() -> Self {
        NameOptions { other_languages: true, inclusion_terms: true, parent_context: true, learned: Vec::new() }
    }
}

/// What [`Catalog::passages_named`] added, for the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameCounts {
    pub descriptions: usize,
    pub with_parent_context: usize,
    /// Other languages' descriptions (one-language index).
    pub other_languages: usize,
    pub inclusion_terms: usize,
    pub learned: usize,
    /// Learned names dropped: unknown code, a language not indexed, a duplicate of another name, or over the cap.
    pub learned_dropped: usize,
}

impl Catalog {
    /// Passages `(id, text)` of a catalogue index in `lang` (one of [`LANGS`] or `"all"`) with the
    /// names of `opts` (see the module docs), grouped by code in code order.
    ///
    /// In a one-language index the codes are those described in that language, and every other name
    /// of such a code (its other languages' descriptions, inclusion terms, learned names in any
    /// language) is indexed as `CODE@lang#n`; a learned name of a code the language does not describe
    /// (an ICD-10-CM subcode under a WHO category, R51.9 under R51) goes to its nearest described ancestor.
    pub fn passages_named(&self, lang: &str, opts: &NameOptions) -> (Vec<(String, String)>, NameCounts) {
        let all = lang == "all";
        let langs: Vec<&str> = if all { LANGS.to_vec() } else { LANGS.iter().copied().filter(|l| *l == lang).collect() };
        let id_of = |code: &str, l: &str| if all { passage_id(code, l) } else { code.to_string() };
        let name_id = |code: &str, l: &str, n: usize| match (all, l == lang) {
            (true, _) => name_passage_id(code, l, n),
            (false, true) => format!("{code}#{n}"),
            (false, false) => format!("{code}@{l}#{n}"),
        };
        let qualifiers = if opts.parent_context { self.qualifier_texts() } else { HashSet::new() };
        // a description, with its parent's for a qualifier-only text
        let description = |e: &CatalogEntry, l: &str, counts: &mut NameCounts| -> Option<String> {
            let d = e.descriptions.get(l)?;
            let parent = e.parent.as_deref().and_then(|p| self.get(p)).and_then(|p| p.descriptions.get(l));
            Some(match parent {
                Some(p) if qualifiers.contains(&(l, d.as_str())) => {
                    counts.with_parent_context += 1;
                    format!("{p}, {d}")
                }
                _ => d.clone(),
            })
        };

        let mut counts = NameCounts::default();
        let mut learned: HashMap<&str, Vec<&LearnedName>> = HashMap::new();
        for n in &opts.learned {
            let target =
                if all { self.get(&n.code).filter(|_| LANGS.contains(&n.lang.as_str())) } else { self.nearest_described(&n.code, lang) };
            match target {
                Some(e) => learned.entry(e.code.as_str()).or_default().push(n),
                None => counts.learned_dropped += 1,
            }
        }

        let mut out = Vec::new();
        for e in &self.entries {
            if !all && !e.descriptions.contains_key(lang) {
                continue;
            }
            let mut seen: HashSet<String> = HashSet::new();
            // the index's descriptions first: they keep the plain ids
            for &l in &langs {
                if let Some(text) = description(e, l, &mut counts) {
                    seen.insert(normalize_query(&text));
                    out.push((id_of(&e.code, l), text));
                    counts.descriptions += 1;
                }
            }
            let mut numbered: HashMap<&'static str, usize> = HashMap::new();
            let mut push_name = |out: &mut Vec<(String, String)>, l: &'static str, text: String| -> bool {
                if !seen.insert(normalize_query(&text)) {
                    return false;
                }
                let n = numbered.entry(l).or_default();
                *n += 1;
                out.push((name_id(&e.code, l, *n), text));
                true
            };
            for l in LANGS {
                if !all && l != lang && opts.other_languages {
                    if let Some(text) = description(e, l, &mut counts) {
                        counts.other_languages += push_name(&mut out, l, text) as usize;
                    }
                }
                if l == "en" && opts.inclusion_terms {
                    for t in &e.inclusion_terms {
                        counts.inclusion_terms += push_name(&mut out, l, t.clone()) as usize;
                    }
                }
                let mut taken = 0;
                for name in learned.get(e.code.as_str()).into_iter().flatten().filter(|x| x.lang == l) {
                    if taken < MAX_LEARNED_PER_CODE && push_name(&mut out, l, name.text.clone()) {
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

    /// `code` or its nearest ancestor with a description in `lang`.
    fn nearest_described(&self, code: &str, lang: &str) -> Option<&CatalogEntry> {
        let mut cur = self.get(code);
        while let Some(e) = cur {
            if e.descriptions.contains_key(lang) {
                return Some(e);
            }
            cur = e.parent.as_deref().and_then(|p| self.get(p));
        }
        None
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
        assert_eq!(
            counts,
            NameCounts {
                descriptions: 30,
                with_parent_context: 12,
                other_languages: 0,
                inclusion_terms: 1,
                learned: 2,
                learned_dropped: 3
            }
        );
        let all = Source::parse("icd10:all");
        for (id, _) in &passages {
            assert!(cat.get(all.result_id(id)).is_some(), "{id} collapses to a catalogue code");
        }
        assert_eq!(passages.iter().map(|(i, _)| i).collect::<HashSet<_>>().len(), passages.len(), "ids are unique");
        assert_eq!(split_passage_id("R51@fr#1"), ("R51", "fr"));

        // One language: plain codes for descriptions, `code#n` for its other names, `code@lang#n` for
        // other languages' (descriptions and learned names alike).
        let (es, counts) = cat.passages_named("es", &opts);
        assert_eq!(
            es.iter().filter(|(i, _)| i.starts_with("R51")).cloned().collect::<Vec<_>>(),
            [("R51", "Cefalea"), ("R51@en#1", "Headache"), ("R51#1", "dolor de cabeza"), ("R51@fr#1", "mal de tête")]
                .map(|(i, t)| (i.to_string(), t.to_string()))
        );
        assert!(!es.iter().any(|(i, _)| i.starts_with('W')), "codes without a Spanish description stay out");
        assert_eq!((counts.descriptions, counts.other_languages, counts.inclusion_terms), (3, 2, 1), "B37 reads the same in both");
        // A learned name of a code the language does not describe goes to its nearest described ancestor.
        let sub = vec![LearnedName { code: "B37.09".into(), lang: "ca".into(), text: "fongs a la boca".into() }];
        let mut cat2 = cat.clone();
        cat2.entries.push(entry("B37.09", Some("B37.0"), &[("en", "Other candidal stomatitis")], &[]));
        cat2.entries.sort_by(|a, b| a.code.cmp(&b.code));
        let (es, _) = cat2.passages_named("es", &NameOptions { learned: sub, ..Default::default() });
        assert!(es.contains(&("B37.0@ca#1".to_string(), "fongs a la boca".to_string())), "{es:?}");
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
        assert_eq!(ids, ["B37.0", "B37.0@es", "B37.0#1", "W19.XXX"]);
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
