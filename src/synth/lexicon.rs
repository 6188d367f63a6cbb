//! Hand-written language resources for the offline generator (written for MedBridge, not copied
//! from any dataset). All the data lives in tab-separated files under `lexicon/` (each with a `#`
//! header naming its columns), compiled in with `include_str!` and parsed once (on first use) into
//! `'static` tables; a malformed line panics naming the file and line, and a unit test parses
//! every file.
//!
//! - [`transfer_table`]: a Spanish → Catalan / Italian clinical phrase lexicon (688 entries, data
//!   file `lexicon/transfer.tsv`) and [`suffix_rules`] (`lexicon/suffix_rules.tsv`; morphology:
//!   `-ción → -ció / -zione`, `-dad → -tat / -tà`, `-oso → -ós / -oso`, `-ico → -ic / -ico`, `-itis → -itis / -ite` …), used by
//!   [`transfer_from_es`] to turn Spanish catalogue descriptions into Catalan and Italian text.
//!   The catalogue has no Catalan and only 427 Italian descriptions; this is how the offline
//!   generator writes ca/it queries. Each transfer reports its lexical coverage (share of words
//!   that a lexicon entry or a rule accounted for); the generator prefers high-coverage
//!   descriptions and marks the pairs `transfer:es>ca` / `transfer:es>it`.
//! - Per-language clinical tables: abbreviations and lay wording ([`abbrev_table`],
//!   `lexicon/abbreviations.tsv`), laterality and severity rephrasings ([`laterality_table`],
//!   [`severity_table`]; `lexicon/laterality.tsv`, `lexicon/severity.tsv`), qualifiers that
//!   clinicians never write ([`qualifiers`], `lexicon/qualifiers.tsv`), function words dropped in
//!   telegraphic style ([`telegraphic_words`], `lexicon/telegraphic.tsv`), and a few curated
//!   mentions of very common conditions ([`curated`], `lexicon/curated.tsv`).
//! - Marker words/characters for the cheap language check ([`marker_words`], [`marker_chars`];
//!   `lexicon/markers.tsv`).
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::catalog::LANGS;
use crate::retrieve::bm25::fold;

/// The Spanish → Catalan / Italian phrase lexicon, `es<TAB>ca<TAB>it` per line (see the file's header);
/// multi-word entries take precedence (longest match). Matching is on accent-folded lowercase
/// Spanish, so the unaccented CIE wording matches too. Parsed once by [`transfer_table`].
pub const TRANSFER_TSV: &str = include_str!("lexicon/transfer.tsv");

/// Suffix rules `es<TAB>ca<TAB>it` for words the lexicon does not know (longest suffix first;
/// `-` = no rule for that language). The stem must keep at least 3 characters. Parsed once by
/// [`suffix_rules`].
pub const SUFFIX_RULES_TSV: &str = include_str!("lexicon/suffix_rules.tsv");

/// Abbreviations and lay wording, `lang<TAB>term<TAB>alternatives` (alternatives separated by
/// `|`). Parsed once by [`abbrev_table`].
pub const ABBREVIATIONS_TSV: &str = include_str!("lexicon/abbreviations.tsv");

/// Laterality rephrasings, `lang<TAB>word<TAB>alternatives` (`|`-separated). Parsed once by
/// [`laterality_table`].
pub const LATERALITY_TSV: &str = include_str!("lexicon/laterality.tsv");

/// Severity rephrasings, `lang<TAB>word<TAB>alternatives` (`|`-separated). Parsed once by
/// [`severity_table`].
pub const SEVERITY_TSV: &str = include_str!("lexicon/severity.tsv");

/// Qualifiers clinicians do not write, `lang<TAB>qualifier` (longest first within a language).
/// Parsed once by [`qualifiers`].
pub const QUALIFIERS_TSV: &str = include_str!("lexicon/qualifiers.tsv");

/// Telegraphic-style function words, `lang<TAB>words` (`|`-separated, one line per language).
/// Parsed once by [`telegraphic_words`].
pub const TELEGRAPHIC_TSV: &str = include_str!("lexicon/telegraphic.tsv");

/// Curated mentions, `code<TAB>lang<TAB>mention`. Parsed once by [`curated`].
pub const CURATED_TSV: &str = include_str!("lexicon/curated.tsv");

/// Language markers, `words<TAB>lang<TAB>w|w…` and `chars<TAB>lang<TAB>chars` (`-` = none).
/// Parsed once by [`marker_words`] and [`marker_chars`].
pub const MARKERS_TSV: &str = include_str!("lexicon/markers.tsv");

/// Rows of an `N`-column data file (`#` comments and blank lines skipped, fields trimmed, none
/// empty), with their 1-based line numbers. `name` and `columns` are only for the error, which
/// names the file and line.
fn parse_tsv<const N: usize>(
    name: &str,
    text: &'static str,
    columns: &str,
) -> std::result::Result<Vec<(usize, [&'static str; N])>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&'static str> = line.split('\t').map(str::trim).collect();
        match <[&'static str; N]>::try_from(f) {
            Ok(row) if row.iter().all(|s| !s.is_empty()) => out.push((i + 1, row)),
            _ => return Err(format!("{name}:{}: expected {columns}, found {line:?}", i + 1)),
        }
    }
    Ok(out)
}

/// Panic with a data file's parse error (the data is compiled in, so this is a bug caught by the
/// unit tests).
fn or_panic<T>(r: std::result::Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The rows of [`TRANSFER_TSV`], in file order. The data is compiled in, so a malformed line is
/// a bug caught by the unit tests; it panics naming the line.
pub fn transfer_table() -> &'static [(&'static str, &'static str, &'static str)] {
    static ROWS: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let rows = or_panic(parse_tsv::<3>("src/synth/lexicon/transfer.tsv", TRANSFER_TSV, "es<TAB>ca<TAB>it"));
        rows.into_iter().map(|(_, [es, ca, it])| (es, ca, it)).collect()
    })
}

/// The rows of [`SUFFIX_RULES_TSV`], in file order (the order they are tried in).
pub fn suffix_rules() -> &'static [(&'static str, &'static str, &'static str)] {
    static ROWS: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let rows = or_panic(parse_tsv::<3>("src/synth/lexicon/suffix_rules.tsv", SUFFIX_RULES_TSV, "es<TAB>ca<TAB>it"));
        rows.into_iter().map(|(_, [es, ca, it])| (es, ca, it)).collect()
    })
}

/// Result of [`transfer_from_es`].
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub text: String,
    /// Share of words (digits excluded) that the lexicon or a suffix rule accounted for.
    pub coverage: f32,
    /// Words left as in Spanish.
    pub unknown: Vec<String>,
}

fn transfer_map() -> &'static HashMap<String, (&'static str, &'static str)> {
    static MAP: OnceLock<HashMap<String, (&'static str, &'static str)>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for &(es, ca, it) in transfer_table() {
            m.insert(fold(es), (ca, it));
        }
        m
    })
}

/// Longest multi-word key of [`transfer_table`] considered, in words.
const MAX_PHRASE: usize = 6;

/// Translate a Spanish description into Catalan (`"ca"`) or Italian (`"it"`) with [`transfer_table`]
/// (greedy longest phrase match, accent-insensitive, not across punctuation) and
/// [`suffix_rules`] for the remaining words, then orthography (ca: `ñ→ny`, `á→à`, open `è/ò` in
/// `-ic` words, elision `de a… → d'a…`, `el/la a… → l'a…`; it: no acute accents, initial `h`
/// dropped, `qu(e|i)→ch`, `ct/pt→tt`, `x→ss`, `ñ→gn`). The first letter's case is kept.
pub fn transfer_from_es(text: &str, target: &str) -> Transfer {
    let ca = target == "ca";
    let map = transfer_map();
    // tokens: (is_word, text)
    let mut toks: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let w = c.is_alphanumeric();
        match toks.last_mut() {
            Some((lw, s)) if *lw == w => s.push(c),
            _ => toks.push((w, c.to_string())),
        }
    }
    let mut out = String::new();
    let (mut known, mut total) = (0usize, 0usize);
    let mut unknown = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !toks[i].0 {
            out.push_str(&toks[i].1);
            i += 1;
            continue;
        }
        // try phrases of n words starting at i, separated by single spaces only
        let mut matched = None;
        let mut words = vec![i];
        let mut j = i;
        while words.len() < MAX_PHRASE && j + 2 < toks.len() && toks[j + 1].1 == " " && toks[j + 2].0 {
            j += 2;
            words.push(j);
        }
        for n in (1..=words.len()).rev() {
            let key = words[..n].iter().map(|&k| fold(&toks[k].1)).collect::<Vec<_>>().join(" ");
            if let Some(&(c, t)) = map.get(&key) {
                matched = Some((n, if ca { c } else { t }));
                break;
            }
        }
        let is_number = toks[i].1.chars().all(|c| c.is_ascii_digit());
        if let Some((n, tr)) = matched {
            out.push_str(tr);
            known += n;
            total += n;
            i = words[n - 1] + 1;
        } else {
            let w = toks[i].1.to_lowercase();
            if !is_number {
                total += 1;
            }
            match apply_suffix(&w, ca) {
                Some(t) => {
                    known += 1;
                    out.push_str(&t);
                }
                None => {
                    if !is_number && w.chars().count() > 2 {
                        unknown.push(w.clone());
                    } else if !is_number {
                        known += 1;
                    }
                    out.push_str(&orthography(&w, ca, false));
                }
            }
            i += 1;
        }
    }
    let mut s = if ca { ca_elision(&out) } else { out };
    // keep the case of the first letter
    if text.chars().next().is_some_and(|c| c.is_uppercase()) {
        s = capitalize(&s);
    }
    let coverage = if total == 0 { 1.0 } else { known as f32 / total as f32 };
    Transfer { text: s, coverage, unknown }
}

fn apply_suffix(w: &str, ca: bool) -> Option<String> {
    for &(es, c, it) in suffix_rules() {
        let to = if ca { c } else { it };
        if to == "-" {
            continue;
        }
        if let Some(stem) = w.strip_suffix(es) {
            if stem.chars().count() < 3 {
                continue;
            }
            let word = format!("{stem}{to}");
            let ic = to.starts_with("ic") || to.starts_with("iq");
            return Some(orthography(&word, ca, ic));
        }
    }
    None
}

fn orthography(w: &str, ca: bool, open_vowels: bool) -> String {
    if ca {
        let mut s = w.replace('ñ', "ny").replace('á', "à");
        if open_vowels {
            s = s.replace('é', "è").replace('ó', "ò");
        }
        s
    } else {
        let mut s: String = w
            .chars()
            .map(|c| match c {
                'á' => 'a',
                'é' => 'e',
                'í' => 'i',
                'ó' => 'o',
                'ú' => 'u',
                c => c,
            })
            .collect();
        // restore a final stressed vowel written by a rule (-tà)
        if w.ends_with('à') {
            s.pop();
            s.push('à');
        }
        let mut s = s.replace("que", "che").replace("qui", "chi").replace("ct", "tt").replace("pt", "tt").replace("bs", "s");
        // x: "ex" + consonant → "es" (extracción → estrazione), otherwise "ss" (tóxico → tossico)
        let cs: Vec<char> = s.chars().collect();
        let mut t = String::with_capacity(s.len() + 4);
        for (k, &c) in cs.iter().enumerate() {
            if c == 'x' {
                let next_vowel = cs.get(k + 1).is_some_and(|n| "aeiou".contains(*n));
                t.push_str(if next_vowel { "ss" } else { "s" });
            } else {
                t.push(c);
            }
        }
        s = t.replace('ñ', "gn");
        if let Some(rest) = s.strip_prefix('h') {
            if rest.starts_with(|c: char| "aeiou".contains(c)) {
                s = rest.to_string();
            }
        }
        s
    }
}

fn ca_elision(s: &str) -> String {
    let vowel_start = |r: &str| r.starts_with(|c: char| "aeoàèéòóh".contains(c)) && !r.starts_with("hi") && !r.starts_with("hu");
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        // find next " de ", " el ", " la " or at start
        let mut best: Option<(usize, &str, &str)> = None;
        for (pat, rep) in [("de ", "d'"), ("el ", "l'"), ("la ", "l'")] {
            let mut from = 0;
            while let Some(p) = rest[from..].find(pat) {
                let at = from + p;
                let boundary = at == 0 || !rest[..at].chars().next_back().unwrap().is_alphanumeric();
                let after = &rest[at + pat.len()..];
                if boundary && vowel_start(after) {
                    if best.is_none_or(|(b, _, _)| at < b) {
                        best = Some((at, pat, rep));
                    }
                    break;
                }
                from = at + pat.len();
            }
        }
        match best {
            Some((at, pat, rep)) => {
                out.push_str(&rest[..at]);
                out.push_str(rep);
                rest = &rest[at + pat.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Per-language clinical tables (all matched on lowercase text at word boundaries)

/// A list of alternatives or words, parsed once and kept for the life of the program.
type Words = &'static [&'static str];

/// Rows grouped by language, each language's rows in file order.
type ByLang<T> = HashMap<&'static str, Vec<T>>;

/// `lang` must be one of [`LANGS`].
fn check_lang(name: &str, line: usize, lang: &'static str) -> std::result::Result<&'static str, String> {
    if LANGS.contains(&lang) {
        Ok(lang)
    } else {
        Err(format!("{name}:{line}: unknown language {lang:?} (expected one of {LANGS:?})"))
    }
}

/// A `|`-separated list (entries trimmed, none empty), leaked once into a `'static` slice.
fn split_list(name: &str, line: usize, field: &'static str) -> std::result::Result<Words, String> {
    let v: Vec<&'static str> = field.split('|').map(str::trim).collect();
    if v.iter().any(|s| s.is_empty()) {
        return Err(format!("{name}:{line}: empty entry in the |-separated list {field:?}"));
    }
    Ok(Box::leak(v.into_boxed_slice()))
}

/// A `lang<TAB>term<TAB>alternatives` file (abbreviations, laterality, severity).
fn load_phrase_table(name: &str, text: &'static str) -> std::result::Result<ByLang<(&'static str, Words)>, String> {
    let mut m: ByLang<(&'static str, Words)> = HashMap::new();
    for (line, [lang, term, alts]) in parse_tsv::<3>(name, text, "lang<TAB>term<TAB>alternatives (|-separated)")? {
        let lang = check_lang(name, line, lang)?;
        m.entry(lang).or_default().push((term, split_list(name, line, alts)?));
    }
    Ok(m)
}

/// A `lang<TAB>phrase` file, one phrase per line (qualifiers).
fn load_phrase_list(name: &str, text: &'static str) -> std::result::Result<ByLang<&'static str>, String> {
    let mut m: ByLang<&'static str> = HashMap::new();
    for (line, [lang, phrase]) in parse_tsv::<2>(name, text, "lang<TAB>phrase")? {
        m.entry(check_lang(name, line, lang)?).or_default().push(phrase);
    }
    Ok(m)
}

/// A `lang<TAB>words` file, the words `|`-separated, one line per language (telegraphic words).
fn load_word_lists(name: &str, text: &'static str) -> std::result::Result<HashMap<&'static str, Words>, String> {
    let mut m = HashMap::new();
    for (line, [lang, words]) in parse_tsv::<2>(name, text, "lang<TAB>words (|-separated)")? {
        if m.insert(check_lang(name, line, lang)?, split_list(name, line, words)?).is_some() {
            return Err(format!("{name}:{line}: a second line for {lang:?}"));
        }
    }
    Ok(m)
}

/// The `code<TAB>lang<TAB>mention` rows of [`CURATED_TSV`], in file order.
fn load_curated(name: &str, text: &'static str) -> std::result::Result<Vec<(&'static str, &'static str, &'static str)>, String> {
    let mut out = Vec::new();
    for (line, [code, lang, mention]) in parse_tsv::<3>(name, text, "code<TAB>lang<TAB>mention")? {
        out.push((code, check_lang(name, line, lang)?, mention));
    }
    Ok(out)
}

/// The two kinds of rows of [`MARKERS_TSV`], each in file order.
#[derive(Debug)]
struct Markers {
    words: Vec<(&'static str, Words)>,
    chars: Vec<(&'static str, &'static str)>,
}

fn load_markers(name: &str, text: &'static str) -> std::result::Result<Markers, String> {
    let mut m = Markers { words: Vec::new(), chars: Vec::new() };
    for (line, [kind, lang, value]) in parse_tsv::<3>(name, text, "kind<TAB>lang<TAB>value")? {
        let lang = check_lang(name, line, lang)?;
        match kind {
            "words" => m.words.push((lang, split_list(name, line, value)?)),
            "chars" => m.chars.push((lang, if value == "-" { "" } else { value })),
            _ => return Err(format!("{name}:{line}: unknown kind {kind:?} (expected words or chars)")),
        }
    }
    Ok(m)
}

/// `lang`'s rows of a table grouped by language (none for a language the table lacks).
fn rows_of<T>(m: &'static ByLang<T>, lang: &str) -> &'static [T] {
    m.get(lang).map(Vec::as_slice).unwrap_or(&[])
}

/// (phrase, alternatives): abbreviations and lay wording ([`ABBREVIATIONS_TSV`]). Longer phrases
/// first.
pub fn abbrev_table(lang: &str) -> &'static [(&'static str, &'static [&'static str])] {
    static T: OnceLock<ByLang<(&'static str, Words)>> = OnceLock::new();
    rows_of(T.get_or_init(|| or_panic(load_phrase_table("src/synth/lexicon/abbreviations.tsv", ABBREVIATIONS_TSV))), lang)
}

/// Laterality rephrasings: (word, alternatives) ([`LATERALITY_TSV`]).
pub fn laterality_table(lang: &str) -> &'static [(&'static str, &'static [&'static str])] {
    static T: OnceLock<ByLang<(&'static str, Words)>> = OnceLock::new();
    rows_of(T.get_or_init(|| or_panic(load_phrase_table("src/synth/lexicon/laterality.tsv", LATERALITY_TSV))), lang)
}

/// Severity rephrasings: (word, alternatives) ([`SEVERITY_TSV`]).
pub fn severity_table(lang: &str) -> &'static [(&'static str, &'static [&'static str])] {
    static T: OnceLock<ByLang<(&'static str, Words)>> = OnceLock::new();
    rows_of(T.get_or_init(|| or_panic(load_phrase_table("src/synth/lexicon/severity.tsv", SEVERITY_TSV))), lang)
}

/// Qualifiers clinicians do not write (dropped, longest first), per language ([`QUALIFIERS_TSV`]).
pub fn qualifiers(lang: &str) -> &'static [&'static str] {
    static T: OnceLock<ByLang<&'static str>> = OnceLock::new();
    rows_of(T.get_or_init(|| or_panic(load_phrase_list("src/synth/lexicon/qualifiers.tsv", QUALIFIERS_TSV))), lang)
}

/// Articles/prepositions removed in telegraphic clinical style ("fractura de la diáfisis del
/// fémur" → "fractura diáfisis fémur"; [`TELEGRAPHIC_TSV`]).
pub fn telegraphic_words(lang: &str) -> &'static [&'static str] {
    static T: OnceLock<HashMap<&'static str, Words>> = OnceLock::new();
    let m = T.get_or_init(|| or_panic(load_word_lists("src/synth/lexicon/telegraphic.tsv", TELEGRAPHIC_TSV)));
    m.get(lang).copied().unwrap_or(&[])
}

/// Curated mentions of very common conditions: (code, lang, mention), in file order
/// ([`CURATED_TSV`]). Codes missing from the catalogue are skipped by the generator.
pub fn curated() -> &'static [(&'static str, &'static str, &'static str)] {
    static T: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    T.get_or_init(|| or_panic(load_curated("src/synth/lexicon/curated.tsv", CURATED_TSV)))
}

// ---------------------------------------------------------------------------------------------
// Language markers for the cheap language check

fn markers() -> &'static Markers {
    static T: OnceLock<Markers> = OnceLock::new();
    T.get_or_init(|| or_panic(load_markers("src/synth/lexicon/markers.tsv", MARKERS_TSV)))
}

/// Function/common words characteristic of one language (lowercase; [`MARKERS_TSV`]). Words
/// shared by several of the six languages are deliberately left out.
pub fn marker_words() -> &'static [(&'static str, &'static [&'static str])] {
    &markers().words
}

/// Characters characteristic of one language ([`MARKERS_TSV`]; empty for none).
pub fn marker_chars() -> &'static [(&'static str, &'static str)] {
    &markers().chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synth_transfer_catalan_phrases_and_rules() {
        let t = transfer_from_es("Infarto agudo de miocardio", "ca");
        assert_eq!(t.text, "Infart agut de miocardi");
        assert_eq!(t.coverage, 1.0);
        let t = transfer_from_es("Insuficiencia cardíaca izquierda", "ca");
        assert_eq!(t.text, "Insuficiència cardíaca esquerra");
        let t = transfer_from_es("dolor de cabeza", "ca");
        assert_eq!(t.text, "mal de cap");
        // rules: -ción → -ció, -dad → -tat, -oso → -ós, -ico → -ic (open vowel)
        let t = transfer_from_es("Contaminación", "ca");
        assert_eq!(t.text, "Contaminació");
        assert_eq!(transfer_from_es("fragilidad", "ca").text, "fragilitat");
        assert_eq!(transfer_from_es("doloroso", "ca").text, "dolorós");
        assert_eq!(transfer_from_es("anémico", "ca").text, "anèmic");
        // elision and the unaccented CIE wording
        assert_eq!(transfer_from_es("Efecto de alcohol", "ca").text, "Efecte d'alcohol");
        assert_eq!(transfer_from_es("Sindrome nefrotico", "ca").text, "Síndrome nefrotic");
    }

    #[test]
    fn synth_lexicon_data_files_parse_and_are_well_formed() {
        let t = transfer_table();
        assert!(t.len() >= 680, "{}", t.len());
        // one entry per folded key: a repeat would silently shadow the earlier one in the map
        let mut seen: HashMap<String, &str> = HashMap::new();
        for &(es, ca, it) in t {
            assert!(!es.is_empty() && !ca.is_empty() && !it.is_empty());
            assert!(es.split_whitespace().count() <= MAX_PHRASE, "{es:?} is longer than MAX_PHRASE words");
            if let Some(first) = seen.insert(fold(es), es) {
                panic!("transfer.tsv: {es:?} folds to the same key as {first:?}");
            }
        }
        assert_eq!(transfer_map().len(), t.len());
        let r = suffix_rules();
        assert!(r.len() >= 80, "{}", r.len());
        for (i, &(es, ca, it)) in r.iter().enumerate() {
            assert!(!es.is_empty() && es != "-" && !ca.is_empty() && !it.is_empty());
            // first match wins: an earlier rule that ends this one would make it unreachable
            if let Some(&(e, _, _)) = r[..i].iter().find(|(e, _, _)| es.ends_with(e)) {
                panic!("suffix_rules.tsv: {es:?} comes after {e:?}, which always matches first");
            }
        }
        // a malformed line is reported with its line number
        let e = parse_tsv::<3>("x.tsv", "# c\na\tb\tc\n\nd\te\n", "es<TAB>ca<TAB>it").unwrap_err();
        assert!(e.starts_with("x.tsv:4:"), "{e}");
    }

    #[test]
    fn synth_lexicon_clinical_tables_parse_and_cover_every_language() {
        let pairs = [("abbreviations.tsv", ABBREVIATIONS_TSV), ("laterality.tsv", LATERALITY_TSV), ("severity.tsv", SEVERITY_TSV)];
        for (name, text) in pairs {
            let m = load_phrase_table(name, text).unwrap_or_else(|e| panic!("{e}"));
            for l in LANGS {
                assert!(m.get(l).is_some_and(|v| !v.is_empty()), "{name}: no rows for {l}");
            }
        }
        let q = load_phrase_list("qualifiers.tsv", QUALIFIERS_TSV).unwrap_or_else(|e| panic!("{e}"));
        let t = load_word_lists("telegraphic.tsv", TELEGRAPHIC_TSV).unwrap_or_else(|e| panic!("{e}"));
        let c = load_curated("curated.tsv", CURATED_TSV).unwrap_or_else(|e| panic!("{e}"));
        let mk = load_markers("markers.tsv", MARKERS_TSV).unwrap_or_else(|e| panic!("{e}"));
        for l in LANGS {
            assert!(q.get(l).is_some_and(|v| !v.is_empty()), "qualifiers.tsv: no rows for {l}");
            assert!(t.contains_key(l), "telegraphic.tsv: no line for {l}");
            assert!(c.iter().any(|&(_, cl, _)| cl == l), "curated.tsv: no rows for {l}");
            assert_eq!(mk.words.iter().filter(|(ml, _)| *ml == l).count(), 1, "markers.tsv: words for {l}");
            assert_eq!(mk.chars.iter().filter(|(ml, _)| *ml == l).count(), 1, "markers.tsv: chars for {l}");
        }
        // the public accessors see the same tables
        assert_eq!(abbrev_table("es"), load_phrase_table("a", ABBREVIATIONS_TSV).unwrap()["es"].as_slice());
        assert_eq!(curated().len(), c.len());
        assert_eq!(marker_chars().iter().find(|(l, _)| *l == "en"), Some(&("en", "")));
        assert!(abbrev_table("xx").is_empty() && telegraphic_words("").is_empty());
        // errors name the file and line
        let e = load_phrase_table("x.tsv", "# c\nen\tterm\ta||b\n").unwrap_err();
        assert!(e.starts_with("x.tsv:2:"), "{e}");
        let e = load_phrase_list("x.tsv", "\nxx\tterm\n").unwrap_err();
        assert!(e.starts_with("x.tsv:2:"), "{e}");
        let e = load_word_lists("x.tsv", "en\ta|b\nen\tc\n").unwrap_err();
        assert!(e.starts_with("x.tsv:2:"), "{e}");
        let e = load_markers("x.tsv", "letters\ten\tx\n").unwrap_err();
        assert!(e.starts_with("x.tsv:1:"), "{e}");
        let e = load_curated("x.tsv", "I10\ten\n").unwrap_err();
        assert!(e.starts_with("x.tsv:1:"), "{e}");
    }

    #[test]
    fn synth_transfer_italian_phrases_and_rules() {
        assert_eq!(transfer_from_es("Infarto agudo de miocardio", "it").text, "Infarto miocardico acuto");
        assert_eq!(transfer_from_es("Hepatitis aguda", "it").text, "Epatite acuta");
        assert_eq!(transfer_from_es("Contaminación", "it").text, "Contaminazione");
        assert_eq!(transfer_from_es("bronquitis obstructiva", "it").text, "bronchite ostruttiva");
        assert_eq!(transfer_from_es("séptico", "it").text, "settico");
        let t = transfer_from_es("Vibrio cholerae", "it");
        assert!(t.coverage < 1.0 && t.unknown.contains(&"cholerae".to_string()), "{t:?}");
    }
}
