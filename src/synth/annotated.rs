//! The annotated generator: real mentions coded by people → pairs (generator `"annotated"`), for a
//! user who has them, e.g. CodiEsp train as BEIR `queries.jsonl` + `qrels.tsv`.
//! (`medbridge synth --generator annotated`; it replaced `scripts/annotated-pairs.py` and makes the
//! same choices.)
//!
//! Each mention (query, in file order) becomes one pair:
//! - `query`: its text, trimmed; `lang`: [`AnnotatedOptions::lang`];
//! - positive: its first gold code (qrels grade > 0; codes in sorted order, which is file order in
//!   CodiEsp) with that code's catalogue description in [`AnnotatedOptions::passage_lang`], as indexed;
//! - hard negatives: up to [`AnnotatedOptions::hard_negatives`] siblings of the code in the hierarchy,
//!   described in the passage language, picked as the offline generator picks its siblings
//!   ([`Hierarchy::hard_negatives_of`] with `"sibling"` only; shuffled with the seed). `medbridge train
//!   cross` mines more with the bi-encoder.
//!
//! Dropped and counted: mentions equal to an evaluation query ([`Exclusion`], as the other generators;
//! an error with `strict`), mentions without a gold code, gold codes missing from the catalogue (named
//! in [`AnnotatedOutput::summary`]) and gold codes without a description in the passage language.
//! Mentions are not deduplicated (BEIR query files have one query per text already).
use std::path::Path;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{overlap_error, Exclusion, ExclusionReport, Hierarchy, SynthPair};
use crate::catalog::{Catalog, LANGS};
use crate::corpus::{read_qrels, read_queries, Qrels, Query};
use crate::{format_err, Result};

/// Options of [`generate_annotated`].
#[derive(Clone, Debug)]
pub struct AnnotatedOptions {
    /// Language of the mentions (one of [`LANGS`]).
    pub lang: String,
    /// Language of the code descriptions used as positive and negative passages.
    pub passage_lang: String,
    /// Hard negatives per pair (siblings only).
    pub hard_negatives: usize,
    pub seed: u64,
    /// Evaluation queries whose mentions are dropped.
    pub exclude: Exclusion,
    /// Error instead of dropping a mention that equals an evaluation query.
    pub strict: bool,
}

impl AnnotatedOptions {
    /// Mentions in `lang`, English passages, three negatives, seed 42, no exclusion.
    pub fn new(lang: &str) -> Self {
        AnnotatedOptions {
            lang: lang.to_string(),
            passage_lang: "en".into(),
            hard_negatives: super::DEFAULT_HARD_NEGATIVES,
            seed: 42,
            exclude: Exclusion::default(),
            strict: false,
        }
    }
}

/// What [`generate_annotated`] produced and dropped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnnotatedOutput {
    pub pairs: Vec<SynthPair>,
    /// Mentions read.
    pub queries: usize,
    /// Mentions equal to an evaluation query.
    pub excluded: ExclusionReport,
    /// Mentions without a gold code (no qrels line with a grade > 0).
    pub no_gold: usize,
    /// Mentions whose gold code is not in the catalogue.
    pub not_in_catalog: usize,
    /// Up to 10 of those codes, distinct, in the order met.
    pub missing_codes: Vec<String>,
    /// Mentions whose gold code has no description in the passage language.
    pub not_described: usize,
}

impl AnnotatedOutput {
    /// One line saying what was dropped and why.
    pub fn summary(&self, passage_lang: &str) -> String {
        let mut s = format!(
            "{} mentions → {} pairs; dropped {} equal to evaluation queries, {} without a gold code, {} whose gold code is not in the catalogue",
            self.queries,
            self.pairs.len(),
            self.excluded.dropped,
            self.no_gold,
            self.not_in_catalog
        );
        if !self.missing_codes.is_empty() {
            s += &format!(" (e.g. {})", self.missing_codes.join(", "));
        }
        s += &format!(", {} whose gold code has no {passage_lang} description", self.not_described);
        s
    }
}

/// Read BEIR queries and qrels (errors name file and line) and call [`generate_annotated`].
pub fn generate_annotated_files(catalog: &Catalog, queries: &Path, qrels: &Path, opts: &AnnotatedOptions) -> Result<AnnotatedOutput> {
    let q = read_queries(queries)?;
    let r = read_qrels(qrels)?;
    generate_annotated(catalog, &q, &r, opts)
}

/// Pairs from coded mentions; see the module docs. Deterministic for given inputs and seed.
pub fn generate_annotated(catalog: &Catalog, queries: &[Query], qrels: &Qrels, opts: &AnnotatedOptions) -> Result<AnnotatedOutput> {
    for (flag, l) in [("mention", &opts.lang), ("passage", &opts.passage_lang)] {
        if !LANGS.contains(&l.as_str()) {
            return Err(format_err!("unknown {flag} language {l:?} (choose from {})", LANGS.join(",")));
        }
    }
    if catalog.counts().get(&opts.passage_lang).copied().unwrap_or(0) == 0 {
        return Err(format_err!("the catalogue has no {} descriptions to use as passages", opts.passage_lang));
    }
    let h = Hierarchy::new(catalog);
    let plang = opts.passage_lang.as_str();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut out = AnnotatedOutput { queries: queries.len(), ..Default::default() };
    for q in queries {
        let text = q.text.trim();
        if opts.exclude.contains(text) {
            out.excluded.dropped += 1;
            if out.excluded.examples.len() < 10 {
                out.excluded.examples.push(text.to_string());
            }
            continue;
        }
        let Some(code) = qrels.get(&q.id).and_then(|g| g.iter().find(|(_, &grade)| grade > 0)).map(|(c, _)| c) else {
            out.no_gold += 1;
            continue;
        };
        let Some(e) = catalog.get(code) else {
            out.not_in_catalog += 1;
            if out.missing_codes.len() < 10 && !out.missing_codes.contains(code) {
                out.missing_codes.push(code.clone());
            }
            continue;
        };
        let Some(desc) = e.descriptions.get(plang) else {
            out.not_described += 1;
            continue;
        };
        let hard_negatives = h.hard_negatives_of(&e.code, plang, opts.hard_negatives, &["sibling"], &mut rng);
        out.pairs.push(SynthPair {
            lang: opts.lang.clone(),
            query: text.to_string(),
            positive_code: e.code.clone(),
            positive_text: desc.clone(),
            positive_lang: plang.to_string(),
            hard_negatives,
            generator: "annotated".into(),
            seed: opts.seed,
            template: "annotated".into(),
        });
    }
    if opts.strict && out.excluded.dropped > 0 {
        return Err(overlap_error(&out.excluded));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write;

    use super::*;
    use crate::synth::tests::tiny_catalog;
    use crate::synth::HardNegative;

    fn queries(rows: &[(&str, &str)]) -> Vec<Query> {
        rows.iter().map(|(id, t)| Query { id: id.to_string(), text: t.to_string() }).collect()
    }

    fn qrels(rows: &[(&str, &str, i32)]) -> Qrels {
        let mut q = Qrels::new();
        for (qid, code, g) in rows {
            q.entry(qid.to_string()).or_default().insert(code.to_string(), *g);
        }
        q
    }

    fn tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    /// Four coded mentions, one of them an evaluation query, plus one without gold and one with
    /// a code the catalogue lacks.
    fn inputs() -> (Vec<Query>, Qrels) {
        let q = queries(&[
            ("m1", " insuficiencia cardíaca sistólica aguda "),
            ("m2", "ICC izquierda"),
            ("m3", "Dolor de cabeza."),
            ("m4", "cefalea"),
            ("m5", "HTA"),
            ("m6", "caída casual"),
        ]);
        let r = qrels(&[
            ("m1", "I50.21", 1),
            // two gold codes: the first in code order is the positive
            ("m2", "I50.9", 1),
            ("m2", "I50.1", 1),
            ("m3", "R51.9", 1),
            ("m4", "R51.9", 1),
            // judged, but not relevant
            ("m5", "I10", 0),
            ("m6", "W19.XXX", 1),
        ]);
        (q, r)
    }

    #[test]
    fn synth_annotated_pairs_negatives_and_drops() {
        let cat = tiny_catalog();
        let (q, r) = inputs();
        let mut opts = AnnotatedOptions::new("es");
        opts.exclude.add("dolor de cabeza"); // case, accents and punctuation do not matter
        let out = generate_annotated(&cat, &q, &r, &opts).unwrap();
        assert_eq!(out.queries, 6);
        assert_eq!(out.excluded.dropped, 1);
        assert_eq!(out.excluded.examples, vec!["Dolor de cabeza.".to_string()]);
        assert_eq!((out.no_gold, out.not_in_catalog, out.not_described), (1, 1, 0));
        assert_eq!(out.missing_codes, vec!["W19.XXX".to_string()]);
        let s = out.summary("en");
        assert!(s.contains("6 mentions → 3 pairs") && s.contains("1 whose gold code is not in the catalogue (e.g. W19.XXX)"), "{s}");

        assert_eq!(out.pairs.len(), 3);
        let p = &out.pairs[0];
        // the JSONL line has the schema of the other generators
        assert_eq!(
            serde_json::to_string(p).unwrap(),
            concat!(
                r#"{"lang":"es","query":"insuficiencia cardíaca sistólica aguda","positive_code":"I50.21","#,
                r#""positive_text":"Acute systolic (congestive) heart failure","positive_lang":"en","#,
                r#""hard_negatives":[{"code":"I50.22","text":"Chronic systolic (congestive) heart failure","relation":"sibling"}],"#,
                r#""generator":"annotated","seed":42,"template":"annotated"}"#
            )
        );
        // first gold code I50.1; its three siblings (never cousins such as I50.21), shuffled
        let p = &out.pairs[1];
        assert_eq!(
            (p.query.as_str(), p.positive_code.as_str(), p.positive_text.as_str()),
            ("ICC izquierda", "I50.1", "Left ventricular failure, unspecified")
        );
        let neg: BTreeSet<&str> = p.hard_negatives.iter().map(|n| n.code.as_str()).collect();
        assert_eq!(neg, BTreeSet::from(["I50.2", "I50.3", "I50.9"]));
        assert!(p.hard_negatives.iter().all(|n| n.relation == "sibling"));
        assert!(p.hard_negatives.contains(&HardNegative {
            code: "I50.9".into(),
            text: "Heart failure, unspecified".into(),
            relation: "sibling".into()
        }));
        // R51.9 has no sibling: no negatives rather than cousins or the category
        let p = &out.pairs[2];
        assert_eq!((p.query.as_str(), p.positive_code.as_str()), ("cefalea", "R51.9"));
        assert!(p.hard_negatives.is_empty());

        // fewer negatives on request; same seed, same output
        opts.hard_negatives = 2;
        let a = generate_annotated(&cat, &q, &r, &opts).unwrap();
        assert_eq!(a.pairs[1].hard_negatives.len(), 2);
        assert_eq!(a, generate_annotated(&cat, &q, &r, &opts).unwrap());
    }

    #[test]
    fn synth_annotated_passage_language_strict_and_bad_options() {
        let cat = tiny_catalog();
        let (q, r) = inputs();
        // Italian: none of the first gold codes (I50.21, I50.1, R51.9) has an Italian description
        let mut opts = AnnotatedOptions::new("es");
        opts.passage_lang = "it".into();
        let out = generate_annotated(&cat, &q, &r, &opts).unwrap();
        assert_eq!((out.not_described, out.no_gold, out.not_in_catalog), (4, 1, 1), "{out:?}");
        assert!(out.pairs.is_empty());
        // strict: an evaluation query among the mentions is an error naming it
        let mut opts = AnnotatedOptions::new("es");
        opts.exclude.add("cefalea");
        opts.strict = true;
        let e = generate_annotated(&cat, &q, &r, &opts).unwrap_err().to_string();
        assert!(e.contains("strict") && e.contains("cefalea"), "{e}");
        // unknown languages, and a passage language without descriptions, are refused
        assert!(generate_annotated(&cat, &q, &r, &AnnotatedOptions::new("de")).unwrap_err().to_string().contains("\"de\""));
        let mut opts = AnnotatedOptions::new("es");
        opts.passage_lang = "ca".into();
        assert!(generate_annotated(&cat, &q, &r, &opts).unwrap_err().to_string().contains("no ca descriptions"));
    }

    #[test]
    fn synth_annotated_files_and_their_errors() {
        let cat = tiny_catalog();
        let q = tmp("{\"_id\": \"m1\", \"text\": \"insuficiencia cardíaca sistólica aguda\"}\n\n{\"_id\": \"m2\", \"text\": \"ICC\"}\n");
        let r = tmp("query-id\tcorpus-id\tscore\nm1\tI50.21\t1\nm2\ti501\t1\n");
        let out = generate_annotated_files(&cat, q.path(), r.path(), &AnnotatedOptions::new("es")).unwrap();
        // codes are looked up in any form the catalogue accepts ("i501" → I50.1)
        let codes: Vec<&str> = out.pairs.iter().map(|p| p.positive_code.as_str()).collect();
        assert_eq!(codes, ["I50.21", "I50.1"]);

        let bad_q = tmp("{\"_id\": \"m1\", \"text\": \"ICC\"}\n{\"_id\": \"m2\", \"text\": \n");
        let e = generate_annotated_files(&cat, bad_q.path(), r.path(), &AnnotatedOptions::new("es")).unwrap_err().to_string();
        assert!(e.contains(&format!("{}:2:", bad_q.path().display())), "{e}");
        let bad_r = tmp("query-id\tcorpus-id\tscore\nm1\tI50.21\t1\nm2\tI50.1\n");
        let e = generate_annotated_files(&cat, q.path(), bad_r.path(), &AnnotatedOptions::new("es")).unwrap_err().to_string();
        assert!(e.contains(&format!("{}:3:", bad_r.path().display())), "{e}");
    }
}
