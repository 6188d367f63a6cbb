//! Unit tests of the synthetic-data generators on a tiny catalogue built here.
use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::offline::{reorder_en, strip_accents, telegraphic, typo};
use super::*;
use crate::catalog::{Catalog, CatalogEntry};
use crate::retrieve::bm25::fold;

/// (code, parent, [en, es, fr, pt, it]) — empty string = no description.
const TINY: &[(&str, &str, [&str; 5])] = &[
    (
        "E11",
        "",
        [
            "Type 2 diabetes mellitus",
            "Diabetes mellitus tipo 2 / Diabetes mellitus no insulinodependiente",
            "Diabète sucré de type 2",
            "Diabetes mellitus não-insulino-dependente",
            "",
        ],
    ),
    (
        "E11.2",
        "E11",
        [
            "Type 2 diabetes mellitus with kidney complications",
            "Diabetes mellitus tipo 2 con complicaciones renales",
            "Diabète sucré de type 2 avec complications rénales",
            "Diabetes mellitus não-insulino-dependente com complicações renais",
            "",
        ],
    ),
    (
        "E11.21",
        "E11.2",
        [
            "Type 2 diabetes mellitus with diabetic nephropathy",
            "Diabetes mellitus tipo 2 con nefropatía diabética",
            "Diabète sucré de type 2 avec néphropathie diabétique",
            "Diabetes mellitus não-insulino-dependente com nefropatia diabética",
            "",
        ],
    ),
    (
        "E11.22",
        "E11.2",
        [
            "Type 2 diabetes mellitus with diabetic chronic kidney disease",
            "Diabetes mellitus tipo 2 con enfermedad renal crónica diabética",
            "Diabète sucré de type 2 avec maladie rénale chronique",
            "Diabetes mellitus com doença renal crônica",
            "",
        ],
    ),
    (
        "E11.3",
        "E11",
        [
            "Type 2 diabetes mellitus with ophthalmic complications",
            "Diabetes mellitus tipo 2 con complicaciones oftálmicas",
            "Diabète sucré de type 2 avec complications oculaires",
            "Diabetes mellitus com complicações oftálmicas",
            "",
        ],
    ),
    (
        "E11.31",
        "E11.3",
        [
            "Type 2 diabetes mellitus with unspecified diabetic retinopathy",
            "Diabetes mellitus tipo 2 con retinopatía diabética no especificada",
            "Diabète sucré de type 2 avec rétinopathie diabétique, sans précision",
            "Diabetes mellitus com retinopatia diabética não especificada",
            "",
        ],
    ),
    (
        "E11.36",
        "E11.3",
        [
            "Type 2 diabetes mellitus with diabetic cataract",
            "Diabetes mellitus tipo 2 con catarata diabética",
            "Diabète sucré de type 2 avec cataracte diabétique",
            "Diabetes mellitus com catarata diabética",
            "",
        ],
    ),
    (
        "E11.9",
        "E11",
        [
            "Type 2 diabetes mellitus without complications",
            "Diabetes mellitus tipo 2 sin complicaciones",
            "Diabète sucré de type 2, sans complication",
            "Diabetes mellitus não-insulino-dependente sem complicações",
            "Diabete mellito tipo 2 senza complicanze",
        ],
    ),
    (
        "I10",
        "",
        [
            "Essential (primary) hypertension",
            "Hipertensión esencial (primaria)",
            "Hypertension essentielle (primitive)",
            "Hipertensão essencial (primária)",
            "Ipertensione essenziale",
        ],
    ),
    ("I50", "", ["Heart failure", "Insuficiencia cardíaca", "Insuffisance cardiaque", "Insuficiência cardíaca", "Insufficienza cardiaca"]),
    (
        "I50.1",
        "I50",
        [
            "Left ventricular failure, unspecified",
            "Insuficiencia ventricular izquierda",
            "Insuffisance ventriculaire gauche",
            "Insuficiência ventricular esquerda",
            "",
        ],
    ),
    (
        "I50.2",
        "I50",
        [
            "Systolic (congestive) heart failure",
            "Insuficiencia cardíaca sistólica",
            "Insuffisance cardiaque systolique",
            "Insuficiência cardíaca sistólica",
            "",
        ],
    ),
    (
        "I50.21",
        "I50.2",
        [
            "Acute systolic (congestive) heart failure",
            "Insuficiencia cardíaca sistólica aguda",
            "Insuffisance cardiaque systolique aiguë",
            "Insuficiência cardíaca sistólica aguda",
            "",
        ],
    ),
    (
        "I50.22",
        "I50.2",
        [
            "Chronic systolic (congestive) heart failure",
            "Insuficiencia cardíaca sistólica crónica",
            "Insuffisance cardiaque systolique chronique",
            "Insuficiência cardíaca sistólica crônica",
            "",
        ],
    ),
    (
        "I50.3",
        "I50",
        [
            "Diastolic (congestive) heart failure",
            "Insuficiencia cardíaca diastólica",
            "Insuffisance cardiaque diastolique",
            "Insuficiência cardíaca diastólica",
            "",
        ],
    ),
    (
        "I50.31",
        "I50.3",
        [
            "Acute diastolic (congestive) heart failure",
            "Insuficiencia cardíaca diastólica aguda",
            "Insuffisance cardiaque diastolique aiguë",
            "Insuficiência cardíaca diastólica aguda",
            "",
        ],
    ),
    (
        "I50.32",
        "I50.3",
        [
            "Chronic diastolic (congestive) heart failure",
            "Insuficiencia cardíaca diastólica crónica",
            "Insuffisance cardiaque diastolique chronique",
            "Insuficiência cardíaca diastólica crônica",
            "",
        ],
    ),
    (
        "I50.9",
        "I50",
        [
            "Heart failure, unspecified",
            "Insuficiencia cardíaca, no especificada",
            "Insuffisance cardiaque, sans précision",
            "Insuficiência cardíaca não especificada",
            "Insufficienza cardiaca, non specificata",
        ],
    ),
    (
        "J44",
        "",
        [
            "Other chronic obstructive pulmonary disease",
            "Otras enfermedades pulmonares obstructivas crónicas",
            "Autres maladies pulmonaires obstructives chroniques",
            "Outras doenças pulmonares obstrutivas crônicas",
            "",
        ],
    ),
    (
        "J44.0",
        "J44",
        [
            "Chronic obstructive pulmonary disease with acute lower respiratory infection",
            "Enfermedad pulmonar obstructiva crónica con infección respiratoria aguda",
            "Maladie pulmonaire obstructive chronique avec infection aiguë des voies respiratoires inférieures",
            "Doença pulmonar obstrutiva crônica com infecção respiratória aguda",
            "",
        ],
    ),
    (
        "J44.1",
        "J44",
        [
            "Chronic obstructive pulmonary disease with (acute) exacerbation",
            "Enfermedad pulmonar obstructiva crónica con exacerbación aguda",
            "Maladie pulmonaire obstructive chronique avec épisodes aigus",
            "Doença pulmonar obstrutiva crônica com exacerbação aguda",
            "",
        ],
    ),
    (
        "J44.9",
        "J44",
        [
            "Chronic obstructive pulmonary disease, unspecified",
            "Enfermedad pulmonar obstructiva crónica, no especificada",
            "Maladie pulmonaire obstructive chronique, sans précision",
            "Doença pulmonar obstrutiva crônica não especificada",
            "Broncopneumopatia cronica ostruttiva, non specificata",
        ],
    ),
    ("S72", "", ["Fracture of femur", "Fractura del fémur", "Fracture du fémur", "Fratura do fêmur", "Frattura del femore"]),
    (
        "S72.0",
        "S72",
        ["Fracture of head and neck of femur", "Fractura del cuello del fémur", "Fracture du col du fémur", "Fratura do colo do fêmur", ""],
    ),
    ("S72.00", "S72.0", ["Fracture of unspecified part of neck of femur", "", "", "", ""]),
    ("S72.001", "S72.00", ["Fracture of unspecified part of neck of right femur", "", "", "", ""]),
    ("S72.001A", "S72.001", ["Fracture of unspecified part of neck of right femur, initial encounter for closed fracture", "", "", "", ""]),
    ("S72.002", "S72.00", ["Fracture of unspecified part of neck of left femur", "", "", "", ""]),
    ("S72.1", "S72", ["Pertrochanteric fracture", "Fractura pertrocantérea", "Fracture du trochanter", "Fratura pertrocantérica", ""]),
    (
        "S72.3",
        "S72",
        [
            "Fracture of shaft of femur",
            "Fractura de la diáfisis del fémur",
            "Fracture de la diaphyse fémorale",
            "Fratura da diáfise do fêmur",
            "",
        ],
    ),
    ("R51", "", ["Headache", "Cefalea", "Céphalée", "Cefaléia", "Cefalea"]),
    ("R51.9", "R51", ["Headache, unspecified", "Cefalea, no especificada", "Céphalée, sans précision", "Cefaléia não especificada", ""]),
];

pub(crate) fn tiny_catalog() -> Catalog {
    let langs = ["en", "es", "fr", "pt", "it"];
    let mut entries: Vec<CatalogEntry> = TINY
        .iter()
        .map(|(code, parent, d)| CatalogEntry {
            code: code.to_string(),
            parent: (!parent.is_empty()).then(|| parent.to_string()),
            level: crate::catalog::code_level(code),
            descriptions: langs
                .iter()
                .zip(d.iter())
                .filter(|(_, t)| !t.is_empty())
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect::<BTreeMap<_, _>>(),
            inclusion_terms: Vec::new(),
        })
        .collect();
    entries.sort_by(|a, b| a.code.cmp(&b.code));
    Catalog { entries }
}

fn small_opts(seed: u64) -> OfflineOptions {
    OfflineOptions { seed, pairs_per_lang: 12, injury_extension_rate: 1.0, ..Default::default() }
}

#[test]
fn synth_offline_deterministic_under_seed() {
    let cat = tiny_catalog();
    let a = generate_offline(&cat, &small_opts(7)).unwrap();
    let b = generate_offline(&cat, &small_opts(7)).unwrap();
    assert_eq!(a.pairs, b.pairs);
    let c = generate_offline(&cat, &small_opts(8)).unwrap();
    assert_ne!(a.pairs, c.pairs);
    assert!(a.pairs.iter().all(|p| p.seed == 7 && p.generator == "offline"));
}

#[test]
fn synth_offline_all_six_languages_and_crosslingual() {
    let cat = tiny_catalog();
    let out = generate_offline(&cat, &small_opts(1)).unwrap();
    let c = counts(&out.pairs);
    for l in crate::catalog::LANGS {
        let n = c.get(&(l.to_string(), "offline".to_string())).copied().unwrap_or(0);
        assert!(n > 0, "no pairs for {l}: {c:?}");
        assert!(n <= 12);
    }
    for p in &out.pairs {
        // positive text is the catalogue description in the positive language, as indexed
        let e = cat.get(&p.positive_code).unwrap();
        assert_eq!(e.descriptions.get(&p.positive_lang), Some(&p.positive_text), "{p:?}");
        assert_ne!(p.positive_lang, "ca");
        if p.lang == "ca" {
            assert!(p.template.starts_with("transfer:es>ca") || p.template == "curated", "{p:?}");
        }
        assert!(!p.query.trim().is_empty() && p.query.chars().count() <= 120);
    }
    // Catalan text really is Catalan-ish: the transfer turned "Insuficiencia" into "insuficiència"
    let spanish_only = ["enfermedad", "enfermedades", "izquierda", "izquierdo", "diabetes", "con", "sin", "los", "las", "y", "otras"];
    for p in out.pairs.iter().filter(|p| p.lang == "ca") {
        let f = fold(&p.query);
        assert!(!f.split(|c: char| !c.is_alphanumeric()).any(|w| spanish_only.contains(&w)), "Spanish left in {p:?}");
    }
    // cross-lingual pairs exist for every language
    for l in crate::catalog::LANGS {
        assert!(out.pairs.iter().any(|p| p.lang == l && p.positive_lang != l), "no cross-lingual pair for {l}");
    }
    // no duplicate (lang, normalised query)
    let mut seen = HashSet::new();
    assert!(out.pairs.iter().all(|p| seen.insert((p.lang.clone(), normalize_query(&p.query)))));
    assert!(format_counts(&out.pairs).contains("ca"));
}

#[test]
fn synth_hard_negatives_are_siblings_or_cousins_never_positive() {
    let cat = tiny_catalog();
    let h = Hierarchy::new(&cat);
    let out = generate_offline(&cat, &small_opts(3)).unwrap();
    let mut n_neg = 0;
    for p in &out.pairs {
        let pos = cat.get(&p.positive_code).unwrap();
        for n in &p.hard_negatives {
            n_neg += 1;
            assert_ne!(n.code, p.positive_code);
            assert!(!h.is_ancestor_or_self(&n.code, &p.positive_code) && !h.is_ancestor_or_self(&p.positive_code, &n.code));
            let ne = cat.get(&n.code).unwrap();
            assert_eq!(ne.descriptions.get(&p.positive_lang), Some(&n.text), "negative in the positive's language");
            match n.relation.as_str() {
                "sibling" => assert_eq!(ne.parent, pos.parent),
                "cousin" => {
                    let gp = |e: &CatalogEntry| e.parent.as_deref().and_then(|x| cat.get(x)).and_then(|x| x.parent.clone());
                    assert_eq!(gp(ne), gp(pos));
                    assert!(gp(pos).is_some());
                }
                "category" => assert_eq!(category(&n.code), category(&p.positive_code)),
                r => panic!("unknown relation {r}"),
            }
        }
        assert!(p.hard_negatives.len() <= 3);
    }
    assert!(n_neg > 0);
    // I50.21: siblings I50.22 first, then cousins I50.31/I50.32
    let mut rng = StdRng::seed_from_u64(0);
    let negs = h.hard_negatives("I50.21", "en", 3, &mut rng);
    assert_eq!(negs[0].code, "I50.22");
    assert_eq!(negs[0].relation, "sibling");
    assert!(negs[1..].iter().all(|n| n.relation == "cousin" && n.code.starts_with("I50.3")), "{negs:?}");
    // level-7 codes are not negatives of shorter codes
    let negs = h.hard_negatives("S72.002", "en", 5, &mut rng);
    assert!(negs.iter().all(|n| n.code != "S72.001A"), "{negs:?}");
}

#[test]
fn synth_exclusion_drops_or_refuses() {
    let cat = tiny_catalog();
    let first = generate_offline(&cat, &small_opts(5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queries.jsonl");
    let picked: Vec<&SynthPair> = first.pairs.iter().filter(|p| p.lang == "es").take(3).collect();
    let mut text = String::new();
    for (i, p) in picked.iter().enumerate() {
        // evaluation files differ in case/accents/spacing: still an overlap
        text += &serde_json::json!({"_id": i.to_string(), "text": format!("  {}  ", strip_accents(&p.query).to_uppercase())}).to_string();
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let excl = Exclusion::load(std::slice::from_ref(&path)).unwrap();
    assert_eq!(excl.len(), 3);
    let opts = OfflineOptions { exclude: excl.clone(), ..small_opts(5) };
    let out = generate_offline(&cat, &opts).unwrap();
    assert!(out.excluded.dropped >= 3, "{:?}", out.excluded);
    assert!(out.pairs.iter().all(|p| !excl.contains(&p.query)));
    let strict = OfflineOptions { strict: true, ..opts };
    let err = generate_offline(&cat, &strict).unwrap_err().to_string();
    assert!(err.contains("evaluation queries"), "{err}");
    // post-hoc filter on any list of pairs
    let mut pairs = first.pairs.clone();
    let rep = apply_exclusion(&mut pairs, &excl, false).unwrap();
    // language-agnostic: the same text in another language is an overlap too
    let expected = first.pairs.iter().filter(|p| excl.contains(&p.query)).count();
    assert!(expected >= 3);
    assert_eq!(rep.dropped, expected);
    assert_eq!(pairs.len(), first.pairs.len() - expected);
    assert!(apply_exclusion(&mut first.pairs.clone(), &excl, true).is_err());
    // a line without text/query is an error naming file:line
    std::fs::write(&path, "{\"text\":\"a\"}\n{\"_id\":\"2\"}\n").unwrap();
    let err = Exclusion::load(std::slice::from_ref(&path)).unwrap_err().to_string();
    assert!(err.contains("queries.jsonl:2"), "{err}");
}

#[test]
fn synth_transforms_do_what_they_say() {
    assert_eq!(strip_accents("Insuficiència cardíaca, fèmur"), "Insuficiencia cardiaca, femur");
    assert_eq!(telegraphic("fractura de la diáfisis del fémur", "es").as_deref(), Some("fractura diáfisis fémur"));
    assert_eq!(telegraphic("infecció d'orina", "ca").as_deref(), Some("infecció orina"));
    assert_eq!(reorder_en("fracture of left femur").as_deref(), Some("left femur fracture"));
    assert_eq!(reorder_en("asthma, mild intermittent").as_deref(), Some("mild intermittent asthma"));
    assert_eq!(reorder_en("fracture, initial encounter"), None);
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..50 {
        let q = "insuficiencia cardiaca congestiva";
        let t = typo(q, &mut rng);
        assert_ne!(t, q);
        let (a, b): (Vec<&str>, Vec<&str>) = (q.split(' ').collect(), t.split(' ').collect());
        assert_eq!(a.len(), b.len());
        let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        assert_eq!(changed.len(), 1, "{t}");
        let (x, y) = (a[changed[0]].chars().count() as i64, b[changed[0]].chars().count() as i64);
        assert!((x - y).abs() <= 1);
    }
    assert_eq!(typo("dm2 hta", &mut rng), "dm2 hta", "no word long enough");
    // a qualifier's leftover clause and dangling function words go with it
    for s in 0..10 {
        let mut rng = StdRng::seed_from_u64(s);
        let (q, ops) = super::offline::make_query("Corrosión del tobillo y del pie, grado no especificado", "es", 0, &mut rng).unwrap();
        if ops.contains(&"drop_qualifier") {
            assert!(!fold(&q).contains("grado"), "{q}");
        }
        let (q, ops) =
            super::offline::make_query("Queimadura de outros órgãos internos e dos não especificados", "pt", 0, &mut rng).unwrap();
        if ops.contains(&"drop_qualifier") {
            assert!(!q.ends_with(" dos") && !q.ends_with(" e"), "{q}");
        }
    }
    assert_eq!(super::offline::cleanup("hepatitis a"), "hepatitis a");
    // ... but a clause with content stays ("avec complications" is what makes E11.8)
    for s in 0..10 {
        let mut rng = StdRng::seed_from_u64(s);
        let (q, _) = super::offline::make_query("Diabète sucré de type 2, avec complications non précisées", "fr", 0, &mut rng).unwrap();
        assert!(fold(&q).contains("complication"), "{q}");
    }
    assert_eq!(lexicon::transfer_from_es("extracción", "it").text, "estrazione");
    assert_eq!(lexicon::transfer_from_es("tóxico", "it").text, "tossico");
    // rewriting: qualifier dropped, abbreviations appear somewhere over many draws
    let mut seen_abbrev = false;
    for s in 0..40 {
        let mut rng = StdRng::seed_from_u64(s);
        let (q, ops) = super::offline::make_query("Enfermedad pulmonar obstructiva crónica, no especificada", "es", 0, &mut rng).unwrap();
        assert!(!fold(&q).contains("no especificada") || !ops.contains(&"drop_qualifier"));
        seen_abbrev |= q.contains("EPOC");
    }
    assert!(seen_abbrev);
}

#[test]
fn synth_jsonl_roundtrip_and_errors_name_line() {
    let cat = tiny_catalog();
    let out = generate_offline(&cat, &small_opts(2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/pairs.jsonl");
    write_jsonl(&path, &out.pairs).unwrap();
    assert_eq!(read_jsonl(&path).unwrap(), out.pairs);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap().to_string();
    text = format!("{first}\n{}\n", first.replace("\"offline\"", "\"magic\""));
    std::fs::write(&path, text).unwrap();
    let err = read_jsonl(&path).unwrap_err().to_string();
    assert!(err.contains("pairs.jsonl:2") && err.contains("generator"), "{err}");
    std::fs::write(&path, format!("{first}\n{}\n", first.replace("\"offline\"", "\"annotated\""))).unwrap();
    assert_eq!(read_jsonl(&path).unwrap()[1].generator, "annotated");
    std::fs::write(&path, format!("{first}\n{{\"lang\": \n")).unwrap();
    assert!(read_jsonl(&path).unwrap_err().to_string().contains("pairs.jsonl:2"));
}

#[test]
fn synth_counts_dedup_and_language_check() {
    let mk = |lang: &str, q: &str, g: &str| SynthPair {
        lang: lang.into(),
        query: q.into(),
        positive_code: "I10".into(),
        positive_text: "x".into(),
        positive_lang: "en".into(),
        hard_negatives: vec![],
        generator: g.into(),
        seed: 0,
        template: String::new(),
    };
    let mut v = vec![mk("es", "HTA", "offline"), mk("es", " hta ", "llm"), mk("ca", "HTA", "offline"), mk("en", "htn", "llm")];
    let c = counts(&v);
    assert_eq!(c[&("es".to_string(), "offline".to_string())], 1);
    assert_eq!(c[&("es".to_string(), "llm".to_string())], 1);
    assert_eq!(dedup(&mut v), 1);
    assert_eq!(v.len(), 3);
    assert!(plausible_language("dolor torácico del lado izquierdo", "es"));
    assert!(!plausible_language("dolor torácico del lado izquierdo", "en"));
    assert!(!plausible_language("chest pain on the left side with fever", "es"));
    assert!(plausible_language("HTA", "ca"));
    assert!(plausible_language("insuficiència cardíaca esquerra", "ca"));
    assert!(!plausible_language("insuficiencia cardíaca izquierda con fiebre", "ca"));
    assert!(plausible_language("scompenso cardiaco sinistro", "it"));
}

/// The offline generator on the real catalogue that `scripts/setup.sh` builds (CI runs set-up
/// first), excluding the evaluation queries in `../shared/data` as the training recipe does:
/// default size, every language present, no evaluation query, clean Portuguese. Prints counts and
/// samples per language (`-- --nocapture`). `MEDBRIDGE_SYNTH_CATALOG` points at another catalogue.
#[test]
fn synth_real_catalog_check() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path =
        std::env::var("MEDBRIDGE_SYNTH_CATALOG").map(std::path::PathBuf::from).unwrap_or_else(|_| root.join("models/icd10/catalog.jsonl"));
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh (it builds the catalogue)", path.display());
    let shared = std::env::var_os("MEDBRIDGE_SHARED").map(std::path::PathBuf::from).unwrap_or_else(|| root.join("../shared"));
    let data = shared.join("data");
    let excl: Vec<std::path::PathBuf> =
        ["codiesp/dev", "codiesp/train", "casimedicos/en", "casimedicos/es", "casimedicos/fr", "casimedicos/it"]
            .iter()
            .map(|d| data.join(d).join("queries.jsonl"))
            .collect();
    assert!(excl.iter().all(|p| p.is_file()), "the evaluation queries are missing under {}", data.display());
    let cat = Catalog::load_jsonl(std::path::Path::new(&path)).unwrap();
    let excl: Vec<std::path::PathBuf> =
        std::env::var("MEDBRIDGE_SYNTH_EXCLUDE").map(|s| s.split(',').map(std::path::PathBuf::from).collect()).unwrap_or_default();
    let opts = OfflineOptions { exclude: Exclusion::load(&excl).unwrap(), ..Default::default() };
    let t0 = std::time::Instant::now();
    let out = generate_offline(&cat, &opts).unwrap();
    println!("generated {} pairs in {:.1}s", out.pairs.len(), t0.elapsed().as_secs_f64());
    println!("{}", format_counts(&out.pairs));
    println!(
        "excluded: {:?}\nduplicates: {}\nshortfall: {:?}\ntransfer coverage: {:?}",
        out.excluded, out.duplicates, out.shortfall, out.transfer_coverage
    );
    let mut by_pl: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut templ: BTreeMap<String, usize> = BTreeMap::new();
    for p in &out.pairs {
        *by_pl.entry((p.lang.clone(), p.positive_lang.clone())).or_default() += 1;
        for t in p.template.split('+') {
            *templ.entry(t.to_string()).or_default() += 1;
        }
    }
    println!("(query lang, positive lang): {by_pl:?}\ntemplate steps: {templ:?}");
    let negs: usize = out.pairs.iter().map(|p| p.hard_negatives.len()).sum();
    println!("hard negatives per pair: {:.2}", negs as f64 / out.pairs.len() as f64);
    for l in crate::catalog::LANGS {
        println!("--- {l}");
        for p in out.pairs.iter().filter(|p| p.lang == l && p.template != "curated").step_by(611).take(5) {
            let n: Vec<String> = p.hard_negatives.iter().map(|n| format!("{} {}", n.code, n.relation)).collect();
            println!(
                "{:?} → {} [{}] {:?} | {} | neg: {}",
                p.query,
                p.positive_code,
                p.positive_lang,
                p.positive_text,
                p.template,
                n.join(", ")
            );
        }
    }
    assert!(out.pairs.len() >= 19_500);
    assert!(out.pairs.iter().all(|p| !opts.exclude.contains(&p.query)));
    for l in crate::catalog::LANGS {
        assert!(out.pairs.iter().filter(|p| p.lang == l).count() >= 3_000, "too few {l} pairs");
    }
    let damaged = out
        .pairs
        .iter()
        .filter(|p| p.lang == "pt" && (p.query.contains(['ă', 'ę', 'ő']) || p.positive_text.contains(['ă', 'ę', 'ő'])))
        .count();
    assert_eq!(damaged, 0, "Portuguese pairs with cp1250-damaged letters (rebuild the catalogue: medbridge catalog)");
}
