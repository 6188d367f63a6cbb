//! The offline generator: catalogue descriptions → clinical-style mentions, no service needed.
//!
//! For each query language (in [`OfflineOptions::langs`] order, default all six, 3,300 pairs
//! each = 19,800):
//! 1. **Curated** mentions of very common conditions ([`lexicon::curated`], e.g. `HTA`, `MPOC`,
//!    `mal di schiena`), template `curated`.
//! 2. **Source texts**, shuffled with the seed:
//!    - en/es/fr/pt: the catalogue description in that language (Spanish `"a / b"` → one wording,
//!      70% the first, WHO/gnuhealth one);
//!    - it: the 427 native Italian descriptions first, then Spanish descriptions translated by
//!      [`lexicon::transfer_from_es`] (template `transfer:es>it`);
//!    - ca: Spanish descriptions translated to Catalan (template `transfer:es>ca`).
//!
//!    Transfers with lexical coverage ≥ 0.85 are used before those ≥
//!    [`OfflineOptions::min_transfer_coverage`] (default 0.6); lower ones are not used.
//!    Seventh-character injury extensions are kept with probability
//!    [`OfflineOptions::injury_extension_rate`] (default 0.03), external causes (V–Y) with 0.15,
//!    "Other …" residual codes with 0.5: they are near-duplicates or rarely written as mentions.
//! 3. **Clinical rewriting** of the source (each step random; applied steps are listed in
//!    `template`): drop qualifiers (`unspecified`, `no especificado`, `sans précision`, …),
//!    one abbreviation or lay wording (`DM2`, `HTA`, `IAM`, `EPOC`, `BPCO`, `MPOC`, `AVC`,
//!    `heart attack`, `azúcar alta`, …), laterality (`izq`, `dcha`, `dx`/`sx`, `G`/`D`, `esq.`),
//!    severity synonyms, word order (English `A, B` → `B A` and `A of B` → `B A`; telegraphic
//!    style without articles/prepositions in Romance languages), lowercase (75%), stripped
//!    accents (20%, not en), one keyboard typo (12%).
//! 4. **Positive passage** language ([`positive_lang_weights`]): mostly the query language where
//!    the catalogue has it, otherwise cross-lingual (e.g. es → en 50%, ca → es 50% / en 40%,
//!    it → it 50% when native, else es/en/fr/pt). The positive text is the catalogue
//!    description in that language, as indexed.
//! 5. **Hard negatives**: [`Hierarchy::hard_negatives`] in the positive language.
//!
//! Deduplication on `(lang, normalised query)`; evaluation queries ([`Exclusion`]) are skipped
//! (and counted) or, with `strict`, an error. If a language runs short of sources, a second and
//! third pass over them with stronger rewriting is made; any remaining shortfall is reported.
use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::lexicon::{self, transfer_from_es};
use super::{normalize_query, overlap_error, Exclusion, ExclusionReport, Hierarchy, SynthPair};
use crate::catalog::{Catalog, CatalogEntry};
use crate::Result;

/// Options of [`generate_offline`]; `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct OfflineOptions {
    pub seed: u64,
    /// Target pairs per query language.
    pub pairs_per_lang: usize,
    /// Query languages, a subset of [`crate::catalog::LANGS`].
    pub langs: Vec<String>,
    /// Hard negatives per pair.
    pub hard_negatives: usize,
    /// Probability of keeping a seventh-character (level 7) code as a source.
    pub injury_extension_rate: f64,
    /// Minimum lexical coverage of an es→ca/it transfer to use it.
    pub min_transfer_coverage: f32,
    /// Evaluation queries never to emit.
    pub exclude: Exclusion,
    /// Error instead of dropping when a generated query equals an evaluation query.
    pub strict: bool,
}

impl Default for OfflineOptions {
    fn default() -> Self {
        OfflineOptions {
            seed: 42,
            pairs_per_lang: super::DEFAULT_PAIRS_PER_LANG,
            langs: crate::catalog::LANGS.iter().map(|s| s.to_string()).collect(),
            hard_negatives: super::DEFAULT_HARD_NEGATIVES,
            injury_extension_rate: 0.03,
            min_transfer_coverage: 0.6,
            exclude: Exclusion::default(),
            strict: false,
        }
    }
}

/// What [`generate_offline`] produced.
#[derive(Clone, Debug, Default)]
pub struct OfflineOutput {
    pub pairs: Vec<SynthPair>,
    /// Generated queries dropped because they equal an evaluation query.
    pub excluded: ExclusionReport,
    /// Generated queries dropped as duplicates of an earlier `(lang, query)`.
    pub duplicates: usize,
    /// Languages that got fewer than `pairs_per_lang` pairs → how many are missing.
    pub shortfall: BTreeMap<String, usize>,
    /// Mean lexical coverage of the es→ca / es→it transfers used, per language.
    pub transfer_coverage: BTreeMap<String, f32>,
}

/// A source text for queries in one language.
struct Source {
    entry: usize,
    text: String,
    /// Language the text is written in (after transfer: the query language).
    template: &'static str,
    coverage: Option<f32>,
}

/// Generate offline pairs; deterministic for given catalogue and options.
pub fn generate_offline(catalog: &Catalog, opts: &OfflineOptions) -> Result<OfflineOutput> {
    let h = Hierarchy::new(catalog);
    let mut out = OfflineOutput::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for lang in &opts.langs {
        let lang = lang.as_str();
        let mut rng = StdRng::seed_from_u64(opts.seed ^ lang_salt(lang));
        let mut made = 0usize;
        let mut cov_sum = 0f64;
        let mut cov_n = 0usize;
        let mut push = |q: String, entry: &CatalogEntry, template: String, rng: &mut StdRng, out: &mut OfflineOutput| -> bool {
            let key = (lang.to_string(), normalize_query(&q));
            if key.1.is_empty() {
                return false;
            }
            if opts.exclude.contains(&q) {
                out.excluded.dropped += 1;
                if out.excluded.examples.len() < 10 {
                    out.excluded.examples.push(q);
                }
                return false;
            }
            if !seen.insert(key) {
                out.duplicates += 1;
                return false;
            }
            let plang = choose_positive_lang(entry, lang, rng);
            let positive_text = entry.descriptions[plang].clone();
            let hard_negatives = h.hard_negatives(&entry.code, plang, opts.hard_negatives, rng);
            out.pairs.push(SynthPair {
                lang: lang.to_string(),
                query: q,
                positive_code: entry.code.clone(),
                positive_text,
                positive_lang: plang.to_string(),
                hard_negatives,
                generator: "offline".into(),
                seed: opts.seed,
                template,
            });
            true
        };
        for &(code, l, m) in lexicon::curated() {
            if l != lang || made >= opts.pairs_per_lang {
                continue;
            }
            if let Some(e) = catalog.get(code).filter(|e| !e.descriptions.is_empty()) {
                if push(m.to_string(), e, "curated".into(), &mut rng, &mut out) {
                    made += 1;
                }
            }
        }
        let sources = sources_for(catalog, lang, opts, &mut rng);
        'passes: for pass in 0..3 {
            for s in &sources {
                if made >= opts.pairs_per_lang {
                    break 'passes;
                }
                let entry = &catalog.entries[s.entry];
                let Some((q, ops)) = make_query(&s.text, lang, pass, &mut rng) else { continue };
                let mut template = s.template.to_string();
                for o in ops {
                    if !template.is_empty() {
                        template.push('+');
                    }
                    template.push_str(o);
                }
                if template.is_empty() {
                    template.push_str("verbatim");
                }
                if push(q, entry, template, &mut rng, &mut out) {
                    made += 1;
                    if let Some(c) = s.coverage {
                        cov_sum += c as f64;
                        cov_n += 1;
                    }
                }
            }
        }
        if made < opts.pairs_per_lang {
            out.shortfall.insert(lang.to_string(), opts.pairs_per_lang - made);
        }
        if cov_n > 0 {
            out.transfer_coverage.insert(lang.to_string(), (cov_sum / cov_n as f64) as f32);
        }
    }
    if opts.strict && out.excluded.dropped > 0 {
        return Err(overlap_error(&out.excluded));
    }
    Ok(out)
}

/// A fixed per-language salt (FNV-1a of the code) so languages get independent streams.
pub(crate) fn lang_salt(lang: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lang.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Is this entry a usable source at all (level 7, external causes, "other" residual codes are
/// thinned out)? Decided with `rng`, so deterministic under the seed.
pub(crate) fn keep_entry(e: &CatalogEntry, injury_rate: f64, rng: &mut impl Rng) -> bool {
    if e.level == 7 && !rng.gen_bool(injury_rate.clamp(0.0, 1.0)) {
        return false;
    }
    if e.code.starts_with(['V', 'W', 'X', 'Y']) && !rng.gen_bool(0.15) {
        return false;
    }
    let first = e.descriptions.values().next().map(|d| fold_first_word(d)).unwrap_or_default();
    if ["other", "otros", "otras", "otro", "otra", "autres", "autre", "outras", "outros", "altri", "altre"].contains(&first.as_str())
        && !rng.gen_bool(0.5)
    {
        return false;
    }
    true
}

fn fold_first_word(s: &str) -> String {
    crate::retrieve::bm25::fold(s.split_whitespace().next().unwrap_or(""))
}

/// First wording of a Spanish `"gnuhealth / cie"` description 70% of the time, else the second.
fn pick_wording<'a>(text: &'a str, rng: &mut impl Rng) -> &'a str {
    match text.split_once(" / ") {
        Some((a, b)) => {
            if rng.gen_bool(0.7) {
                a
            } else {
                b
            }
        }
        None => text,
    }
}

fn sources_for(catalog: &Catalog, lang: &str, opts: &OfflineOptions, rng: &mut StdRng) -> Vec<Source> {
    let mut native = Vec::new();
    let mut high = Vec::new();
    let mut low = Vec::new();
    for (i, e) in catalog.entries.iter().enumerate() {
        if !keep_entry(e, opts.injury_extension_rate, rng) {
            continue;
        }
        if let Some(d) = e.descriptions.get(lang) {
            let text = if lang == "es" { pick_wording(d, rng).to_string() } else { d.replace(" | ", ", ") };
            native.push(Source { entry: i, text, template: "", coverage: None });
        } else if lang == "ca" || lang == "it" {
            let Some(es) = e.descriptions.get("es") else { continue };
            let t = transfer_from_es(es.split(" / ").next().unwrap_or(es), lang);
            let template = if lang == "ca" { "transfer:es>ca" } else { "transfer:es>it" };
            let s = Source { entry: i, text: t.text, template, coverage: Some(t.coverage) };
            if t.coverage >= 0.85 {
                high.push(s);
            } else if t.coverage >= opts.min_transfer_coverage {
                low.push(s);
            }
        }
    }
    native.shuffle(rng);
    high.shuffle(rng);
    low.shuffle(rng);
    native.into_iter().chain(high).chain(low).collect()
}

/// Weights of the positive passage's language for a query language (before availability).
pub fn positive_lang_weights(qlang: &str) -> &'static [(&'static str, f64)] {
    match qlang {
        "en" => &[("en", 0.8), ("es", 0.1), ("fr", 0.05), ("pt", 0.05)],
        "es" => &[("es", 0.5), ("en", 0.5)],
        "fr" => &[("fr", 0.55), ("en", 0.35), ("es", 0.1)],
        "pt" => &[("pt", 0.55), ("en", 0.35), ("es", 0.1)],
        "it" => &[("it", 0.5), ("es", 0.2), ("en", 0.2), ("fr", 0.05), ("pt", 0.05)],
        "ca" => &[("es", 0.5), ("en", 0.4), ("fr", 0.05), ("pt", 0.05)],
        _ => &[("en", 1.0)],
    }
}

/// The language of the positive passage: sampled from [`positive_lang_weights`]; when the entry
/// has no description in it, the query language, then en, es, fr, pt, it.
pub(crate) fn choose_positive_lang(e: &CatalogEntry, qlang: &str, rng: &mut impl Rng) -> &'static str {
    let w = positive_lang_weights(qlang);
    let total: f64 = w.iter().map(|x| x.1).sum();
    let mut r = rng.gen_range(0.0..total);
    let mut pick = w[0].0;
    for &(l, p) in w {
        if r < p {
            pick = l;
            break;
        }
        r -= p;
    }
    if e.descriptions.contains_key(pick) {
        return pick;
    }
    for l in [qlang, "en", "es", "fr", "pt", "it"] {
        if e.descriptions.contains_key(l) {
            return crate::catalog::LANGS.iter().find(|x| **x == l).copied().unwrap_or("en");
        }
    }
    "en"
}

// ---------------------------------------------------------------------------------------------
// Rewriting

/// Turn a description into a clinical-style mention. `pass` > 0 rewrites more aggressively
/// (used when a language runs out of sources). Returns the query and the steps applied, or
/// `None` if the result is too short/long.
pub fn make_query(src: &str, lang: &str, pass: usize, rng: &mut impl Rng) -> Option<(String, Vec<&'static str>)> {
    let boost = pass as f64 * 0.25;
    let p = |x: f64| (x + boost).min(0.95);
    let mut ops = Vec::new();
    let src = if lang == "pt" { src.replace('ă', "ã").replace('ő', "õ") } else { src.to_string() };
    let keep_case = rng.gen_bool(0.25) && pass == 0;
    let mut q = src.to_lowercase();
    if keep_case {
        // keep for capitalisation at the end
    } else {
        ops.push("lower");
    }
    // qualifiers
    let mut dropped = false;
    for qual in lexicon::qualifiers(lang) {
        if let Some(r) = remove_phrase(&q, qual) {
            if rng.gen_bool(0.85) {
                q = r;
                dropped = true;
            }
        }
    }
    if dropped {
        ops.push("drop_qualifier");
    }
    // one abbreviation / lay wording
    let matches: Vec<_> = lexicon::abbrev_table(lang).iter().filter(|(k, _)| find_phrase(&q, k).is_some()).collect();
    if !matches.is_empty() && rng.gen_bool(p(0.6)) {
        let (k, alts) = matches[0];
        let alt = alts[rng.gen_range(0..alts.len())];
        q = replace_phrase(&q, k, alt).unwrap_or(q);
        ops.push("abbrev");
    }
    // laterality
    let mut lat = false;
    for (k, alts) in lexicon::laterality_table(lang) {
        if find_phrase(&q, k).is_some() && rng.gen_bool(p(0.5)) {
            let alt = alts[rng.gen_range(0..alts.len())];
            q = replace_phrase(&q, k, alt).unwrap_or(q);
            lat = true;
        }
    }
    if lat {
        ops.push("laterality");
    }
    // severity
    for (k, alts) in lexicon::severity_table(lang) {
        if find_phrase(&q, k).is_some() && rng.gen_bool(0.3) {
            let alt = alts[rng.gen_range(0..alts.len())];
            q = replace_phrase(&q, k, alt).unwrap_or(q);
            ops.push("severity");
            break;
        }
    }
    // word order
    if rng.gen_bool(p(0.4)) {
        let r = if lang == "en" { reorder_en(&q) } else { telegraphic(&q, lang) };
        if let Some(r) = r {
            q = r;
            ops.push(if lang == "en" { "reorder" } else { "telegraphic" });
        }
    }
    q = cleanup(&q);
    if lang != "en" && rng.gen_bool(p(0.2)) {
        let s = strip_accents(&q);
        if s != q {
            q = s;
            ops.push("no_accents");
        }
    }
    if rng.gen_bool(p(0.12) - boost * 0.5) {
        let t = typo(&q, rng);
        if t != q {
            q = t;
            ops.push("typo");
        }
    }
    if keep_case {
        q = lexicon::capitalize(&q);
    }
    let n = q.chars().count();
    if !(2..=120).contains(&n) || !q.chars().any(|c| c.is_alphabetic()) {
        return None;
    }
    Some((q, ops))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '·'
}

/// Byte offset of `needle` in `hay` at word boundaries.
pub(crate) fn find_phrase(hay: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = hay[from..].find(needle) {
        let at = from + p;
        let end = at + needle.len();
        let before_ok = !needle.starts_with(is_word_char) || hay[..at].chars().next_back().is_none_or(|c| !is_word_char(c));
        let after_ok = !needle.ends_with(is_word_char) || hay[end..].chars().next().is_none_or(|c| !is_word_char(c));
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + needle.chars().next().map_or(1, |c| c.len_utf8());
    }
    None
}

fn replace_phrase(hay: &str, needle: &str, with: &str) -> Option<String> {
    let at = find_phrase(hay, needle)?;
    Some(format!("{}{}{}", &hay[..at], with, &hay[at + needle.len()..]))
}

/// Remove a qualifier; if what is left of its comma clause is at most two words (`"…, de
/// sitio no especificado"` → `"…, de sitio"`), the whole clause goes.
fn remove_phrase(hay: &str, needle: &str) -> Option<String> {
    let at = find_phrase(hay, needle)?;
    let (left, right) = (&hay[..at], &hay[at + needle.len()..]);
    let r = match left.rfind(',') {
        Some(cs) => {
            let ce = right.find(',').unwrap_or(right.len());
            let rest: Vec<&str> = left[cs + 1..].split_whitespace().chain(right[..ce].split_whitespace()).collect();
            let generic = |w: &&str| DANGLING.contains(w) || GENERIC.contains(w) || w.chars().count() <= 1;
            if rest.len() <= 2 && rest.iter().all(generic) {
                format!("{}{}", &left[..cs], &right[ce..])
            } else {
                format!("{left}{right}")
            }
        }
        None => format!("{left}{right}"),
    };
    // a conjunction left at the very end by the removal ("… internos e [não especificados]")
    let mut r = cleanup(&r);
    if right.trim().is_empty() {
        if let Some((head, last)) = r.rsplit_once(' ') {
            if ["e", "i", "o", "u", "y"].contains(&last) {
                r = head.to_string();
            }
        }
    }
    let c = cleanup(&r);
    if c.chars().filter(|c| c.is_alphabetic()).count() < 2 {
        None
    } else {
        Some(c)
    }
}

/// Collapse spaces, fix punctuation left behind by removals, trim dangling punctuation.
pub(crate) fn cleanup(s: &str) -> String {
    let mut t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for (a, b) in [(" ,", ","), (",,", ","), ("()", ""), ("( )", ""), ("[]", ""), (", :", ":"), (" :", ":")] {
        while t.contains(a) {
            t = t.replace(a, b);
        }
    }
    let mut t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    // dangling function words at the end (left by removals): "… internos e dos" → "… internos"
    loop {
        let trimmed = t.trim_end_matches(|c: char| c == ',' || c == ';' || c == ':' || c == '-' || c.is_whitespace());
        let (head, last) = trimmed.rsplit_once(' ').unwrap_or(("", trimmed));
        if !head.is_empty() && DANGLING.contains(&last) {
            t = head.to_string();
        } else {
            t = trimmed.to_string();
            break;
        }
    }
    t.trim_matches(|c: char| c == ',' || c == ';' || c == ':' || c == '-' || c.is_whitespace()).to_string()
}

/// Words that carry nothing once their qualifier is gone ("…, de sitio [no especificado]").
const GENERIC: &[&str] = &[
    "site",
    "sitio",
    "sede",
    "local",
    "lloc",
    "luogo",
    "lugar",
    "localización",
    "localisation",
    "localização",
    "localizzazione",
    "part",
    "parte",
    "partie",
    "grade",
    "degree",
    "grado",
    "degré",
    "grau",
    "type",
    "tipo",
    "tipus",
    "level",
    "nivel",
    "niveau",
    "nível",
    "livello",
    "nivell",
    "side",
    "lado",
    "côté",
    "costat",
    "lato",
];

/// Function words that never end a mention (single letters excluded: "hepatitis A").
const DANGLING: &[&str] = &[
    "and", "or", "of", "the", "with", "without", "in", "y", "de", "del", "la", "el", "los", "las", "do", "da", "dos", "das", "des", "du",
    "le", "les", "et", "ou", "di", "della", "dei", "delle", "dels", "en", "em", "al", "com", "con", "sin", "sem", "sans", "senza", "sense",
    "amb", "nos", "na", "no", "por", "per", "pour", "avec", "ni", "ed",
];

/// English coder-order → clinician order: `"asthma, mild intermittent"` → `"mild intermittent
/// asthma"`, `"fracture of left femur"` → `"left femur fracture"`.
pub fn reorder_en(q: &str) -> Option<String> {
    const NO: [&str; 9] = ["with", "without", "due", "in", "not", "initial", "subsequent", "sequela", "and"];
    if let Some((head, tail)) = q.split_once(", ") {
        let hw = head.split_whitespace().count();
        let tw: Vec<&str> = tail.split_whitespace().collect();
        if !tail.contains(',') && hw <= 3 && !tw.is_empty() && tw.len() <= 3 && !NO.contains(&tw[0]) {
            return Some(format!("{tail} {head}"));
        }
        return None;
    }
    let parts: Vec<&str> = q.split(" of ").collect();
    if parts.len() == 2 {
        let (a, b) = (parts[0], parts[1]);
        let bw: Vec<&str> = b.split_whitespace().collect();
        if a.split_whitespace().count() <= 2 && !bw.is_empty() && bw.len() <= 3 && !bw.iter().any(|w| NO.contains(w)) {
            return Some(format!("{b} {a}"));
        }
    }
    None
}

/// Romance telegraphic style: drop articles and `de`-type prepositions and commas
/// (`"fractura de la diáfisis del fémur"` → `"fractura diáfisis fémur"`). `None` if nothing
/// changed or fewer than two words would remain.
pub fn telegraphic(q: &str, lang: &str) -> Option<String> {
    let drop = lexicon::telegraphic_words(lang);
    let mut words = Vec::new();
    for w in q.replace(',', " ").split_whitespace() {
        if drop.contains(&w) {
            continue;
        }
        let w = drop.iter().filter(|d| d.ends_with('\'')).find_map(|d| w.strip_prefix(d)).unwrap_or(w);
        words.push(w.to_string());
    }
    let r = words.join(" ");
    if words.len() < 2 || r == q {
        None
    } else {
        Some(r)
    }
}

/// Remove accents (combining marks after NFD), keeping case and all other characters.
pub fn strip_accents(s: &str) -> String {
    s.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

fn qwerty_neighbours(c: char) -> &'static str {
    match c {
        'q' => "wa",
        'w' => "qes",
        'e' => "wrd",
        'r' => "etf",
        't' => "ryg",
        'y' => "tuh",
        'u' => "yij",
        'i' => "uok",
        'o' => "ipl",
        'p' => "ol",
        'a' => "qsz",
        's' => "adwx",
        'd' => "sfec",
        'f' => "dgrv",
        'g' => "fhtb",
        'h' => "gjyn",
        'j' => "hkun",
        'k' => "jlim",
        'l' => "kop",
        'z' => "xas",
        'x' => "zcs",
        'c' => "xvd",
        'v' => "cbf",
        'b' => "vng",
        'n' => "bmh",
        'm' => "nj",
        _ => "",
    }
}

/// One keyboard typo in a word of at least 5 letters: swap two adjacent letters, drop one,
/// double one, or hit a QWERTY neighbour. Returns the input unchanged if no word qualifies.
pub fn typo(q: &str, rng: &mut impl Rng) -> String {
    let words: Vec<&str> = q.split(' ').collect();
    let cands: Vec<usize> = (0..words.len()).filter(|&i| words[i].chars().filter(|c| c.is_alphabetic()).count() >= 5).collect();
    let Some(&wi) = cands.choose(rng) else { return q.to_string() };
    let mut chars: Vec<char> = words[wi].chars().collect();
    let n = chars.len();
    let i = rng.gen_range(1..n - 1);
    match rng.gen_range(0..4) {
        0 => chars.swap(i, i + 1),
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ => {
            let nb = qwerty_neighbours(chars[i].to_ascii_lowercase());
            if nb.is_empty() {
                chars.swap(i, i + 1);
            } else {
                chars[i] = nb.chars().nth(rng.gen_range(0..nb.len())).unwrap();
            }
        }
    }
    let w: String = chars.into_iter().collect();
    let mut out: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    out[wi] = w;
    out.join(" ")
}
