//! The user's own documents: reading `.txt`, `.md`, `.csv`, `.json`, `.jsonl` files (or pasted text)
//! into titled passages, an HNSW index over their embeddings, and one self-checking file to export,
//! import and persist them. Nothing here touches the network; the browser keeps the bytes in IndexedDB.
//!
//! Chunking: text is split into sentences (and list items / lines), packed greedily into passages of
//! at most [`ChunkOptions::max_words`] words; each passage after the first starts with the last
//! sentences of the previous one, about [`ChunkOptions::overlap_words`] words, so that a fact cut at a
//! boundary is whole in one of them. A sentence longer than a passage is cut by words, with the same
//! overlap. Every passage keeps a title: the document's title plus, for Markdown, the heading path
//! ("Guide › Dosage"); CSV rows and JSON records are one passage each (chunked the same way when long),
//! titled by their `title`/`name` field when they have one.
//!
//! The embedded text of a passage is `"{title}. {text}"` ([`DocPassage::embed_text`]).
pub mod chunk;
pub mod file;
pub mod index;
pub mod parse;

use serde::{Deserialize, Serialize};

pub use chunk::chunk;
pub use file::{DocsHeader, FILE, FORMAT_VERSION};
pub use index::{DocHit, DocIndex, Document};
pub use parse::{extension, parse_csv, parse_file, parse_markdown, parse_text};

/// Largest file accepted (bytes). Larger files are refused with a message saying so.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// File types read by [`parse_file`].
pub const SUPPORTED: [&str; 5] = ["txt", "md", "csv", "json", "jsonl"];

#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    pub max_words: usize,
    pub overlap_words: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        // ~120 words ≈ 200 XLM-R tokens: well inside e5's 512, small enough to be specific.
        Self { max_words: 120, overlap_words: 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocPassage {
    pub title: String,
    pub text: String,
}

impl DocPassage {
    /// What the encoder embeds (as a `passage`).
    pub fn embed_text(&self) -> String {
        if self.title.is_empty() {
            self.text.clone()
        } else {
            format!("{}. {}", self.title, self.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::chunk::sentences;
    use super::*;
    use crate::Error;

    fn words(n: usize, tag: &str) -> String {
        (0..n).map(|i| format!("{tag}{i}")).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn chunks_respect_size_and_overlap_and_cover_everything() {
        // 30 sentences of 10 words (capitalised: a period before a lower-case word is not a sentence end).
        let text: String = (0..30).map(|s| format!("{}.", words(10, &format!("S{s}w")))).collect::<Vec<_>>().join(" ");
        let opts = ChunkOptions { max_words: 50, overlap_words: 20 };
        let ps = chunk("T", &text, opts);
        assert!(ps.len() >= 8, "{} passages", ps.len());
        for p in &ps {
            assert_eq!(p.title, "T");
            assert!(p.text.split_whitespace().count() <= 50, "{}", p.text);
        }
        // Consecutive passages share whole sentences (the overlap: 2 sentences of 10 words).
        assert!(ps[1].text.starts_with("S3w0 "), "{}", ps[1].text);
        for w in ps.windows(2) {
            let first_of_next = w[1].text.split(". ").next().unwrap();
            let last_of_prev = w[0].text.rsplit(". ").next().unwrap();
            assert!(w[0].text.contains(first_of_next) && w[1].text.contains(last_of_prev), "{:?} / {:?}", w[0].text, w[1].text);
        }
        // Every word appears somewhere.
        let all: HashSet<&str> = ps.iter().flat_map(|p| p.text.split_whitespace()).map(|w| w.trim_end_matches('.')).collect();
        for s in 0..30 {
            for i in 0..10 {
                assert!(all.contains(format!("S{s}w{i}").as_str()));
            }
        }
    }

    #[test]
    fn long_sentence_is_cut_by_words_with_overlap() {
        let text = words(260, "w");
        let ps = chunk("", &text, ChunkOptions { max_words: 100, overlap_words: 20 });
        assert_eq!(ps.len(), 3);
        assert!(ps[0].text.starts_with("w0 ") && ps[0].text.ends_with(" w99"));
        assert!(ps[1].text.starts_with("w80 "));
        assert!(ps[2].text.ends_with("w259"));
        assert!(chunk("x", "   \n ", ChunkOptions::default()).is_empty());
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        assert_eq!(sentences("Dr. Pérez vio al paciente. Tomó 5 mg. diarios."), vec!["Dr. Pérez vio al paciente.", "Tomó 5 mg. diarios."]);
    }

    #[test]
    fn text_title_from_first_line() {
        let ps = parse_file(
            "notes.txt",
            "Protocolo de dolor torácico\n\nAnte dolor opresivo, hacer ECG en 10 minutos.",
            ChunkOptions::default(),
        )
        .unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].title, "Protocolo de dolor torácico");
        assert_eq!(ps[0].embed_text(), "Protocolo de dolor torácico. Ante dolor opresivo, hacer ECG en 10 minutos.");
        let ps = parse_file("pasted.txt", "Just one sentence that is the whole text.", ChunkOptions::default()).unwrap();
        assert_eq!(ps[0].title, "pasted");
    }

    #[test]
    fn markdown_sections_keep_heading_path() {
        let md = "# Guía de asma\n\nIntro **breve** con [enlace](http://x.invalid/a).\n\n## Tratamiento\n\n- Salbutamol a demanda.\n\n```\ncode block ignored? no, kept as text\n```\n### Dosis\nDos inhalaciones.\n";
        let ps = parse_file("asma.md", md, ChunkOptions::default()).unwrap();
        let titles: Vec<&str> = ps.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, vec!["Guía de asma", "Guía de asma › Tratamiento", "Guía de asma › Tratamiento › Dosis"]);
        assert_eq!(ps[0].text, "Intro breve con enlace.");
        assert!(ps[1].text.starts_with("Salbutamol a demanda."));
        assert!(!ps.iter().any(|p| p.text.contains("http")));
    }

    #[test]
    fn csv_rows_become_records() {
        let csv = "name,dose,notes\n\"Ibuprofeno\",400 mg,\"cada 8 h, con comida\"\nParacetamol,1 g,\"dice \"\"máx 4 g\"\"\"\n\n";
        let ps = parse_file("meds.csv", csv, ChunkOptions::default()).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].title, "meds › Ibuprofeno");
        assert_eq!(ps[0].text, "dose: 400 mg; notes: cada 8 h, con comida");
        assert_eq!(ps[1].text, "dose: 1 g; notes: dice \"máx 4 g\"");
        let e = parse_file("bad.csv", "a,b\n\"open,1\n", ChunkOptions::default()).unwrap_err().to_string();
        assert!(e.contains("bad.csv:2") && e.contains("unterminated"), "{e}");
        let semi = parse_file("s.csv", "a;b\n1;2\n", ChunkOptions::default()).unwrap();
        assert_eq!(semi[0].text, "a: 1; b: 2");
    }

    #[test]
    fn json_and_jsonl_records() {
        let j = r#"[{"title":"Asthma","text":"Use a spacer."},{"drug":"x","doses":[1,2]},"plain string"]"#;
        let ps = parse_file("k.json", j, ChunkOptions::default()).unwrap();
        assert_eq!(ps.len(), 3);
        assert_eq!((ps[0].title.as_str(), ps[0].text.as_str()), ("k › Asthma", "Use a spacer."));
        assert_eq!(ps[1].text, "doses: 1, 2\ndrug: x".replace('\n', " "));
        assert_eq!(ps[2].text, "plain string");
        let l = "{\"_id\":\"1\",\"title\":\"A\",\"text\":\"alpha\"}\n\n{\"_id\":\"2\",\"text\":\"beta\"}\n";
        let ps = parse_file("c.jsonl", l, ChunkOptions::default()).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[1].title, "c");
        let e = parse_file("c.jsonl", "{\"text\":\"ok\"}\n{oops\n", ChunkOptions::default()).unwrap_err().to_string();
        assert!(e.starts_with("c.jsonl:2: not valid JSON"), "{e}");
    }

    #[test]
    fn refuses_unsupported_large_and_empty() {
        let e = parse_file("scan.pdf", "x", ChunkOptions::default()).unwrap_err().to_string();
        assert!(e.contains("scan.pdf: unsupported file type .pdf") && e.contains(".jsonl"), "{e}");
        let big = "a ".repeat(MAX_FILE_BYTES / 2 + 1);
        assert!(parse_file("big.txt", &big, ChunkOptions::default()).unwrap_err().to_string().contains("too large"));
        assert!(parse_file("e.txt", " \n ", ChunkOptions::default()).unwrap_err().to_string().contains("no text"));
        assert!(parse_file("noext", "x", ChunkOptions::default()).unwrap_err().to_string().contains("(no extension)"));
    }

    fn unit(dim: usize, hot: usize) -> Vec<f32> {
        let mut v = vec![0.0; dim];
        v[hot] = 1.0;
        v
    }

    fn doc(name: &str, n: usize, first_hot: usize) -> Document {
        let passages: Vec<DocPassage> = (0..n).map(|i| DocPassage { title: name.into(), text: format!("p{i}") }).collect();
        Document {
            id: Document::id_for(name, &passages),
            name: name.into(),
            added_ms: 1.0,
            vectors: (0..n).map(|i| unit(8, first_hot + i)).collect(),
            passages,
        }
    }

    #[test]
    fn index_add_search_remove_export_import() {
        let mut idx = DocIndex::new("m", 8);
        assert!(idx.search(&unit(8, 0), 3).unwrap().is_empty());
        idx.add(vec![doc("a.txt", 2, 0), doc("b.txt", 3, 2)]).unwrap();
        assert_eq!(idx.passages(), 5);
        let h = idx.search(&unit(8, 3), 2).unwrap();
        assert_eq!((h[0].doc_name.as_str(), h[0].passage, h[0].text.as_str()), ("b.txt", 1, "p1"));
        assert!((h[0].score - 1.0).abs() < 1e-6);
        // Same document again replaces, not duplicates.
        idx.add(vec![doc("a.txt", 2, 0)]).unwrap();
        assert_eq!(idx.documents().len(), 2);

        let bytes = idx.export(&[]).unwrap();
        let one = idx.export(&[idx.documents()[0].id.clone()]).unwrap();
        let mut other = DocIndex::new("m", 8);
        assert_eq!(other.read_export(&one, "one").unwrap().len(), 1);
        let docs = other.read_export(&bytes, "all.mbdocs").unwrap();
        other.add(docs).unwrap();
        assert_eq!(other.documents(), idx.documents());
        assert_eq!(other.search(&unit(8, 1), 1).unwrap(), idx.search(&unit(8, 1), 1).unwrap());

        let b_id = idx.documents().iter().find(|d| d.name == "b.txt").unwrap().id.clone();
        assert!(idx.remove(&b_id));
        assert!(!idx.remove(&b_id));
        assert!(idx.search(&unit(8, 3), 5).unwrap().iter().all(|h| h.doc_name == "a.txt"));

        // Damage, other model, wrong dimension.
        let mut bad = bytes.clone();
        bad[30] ^= 1;
        assert!(other.read_export(&bad, "x").unwrap_err().to_string().contains("damaged"));
        match DocIndex::new("other", 8).read_export(&bytes, "x").unwrap_err() {
            Error::ModelMismatch { built_with, loaded, .. } => {
                assert_eq!((built_with.as_str(), loaded.as_str()), ("m (8 dimensions)", "other (8 dimensions)"))
            }
            e => panic!("expected a model mismatch, got {e}"),
        }
        assert!(other
            .read_export(b"PK\x03\x04 nope nope nope nope nope nope nope nope", "z.zip")
            .unwrap_err()
            .to_string()
            .contains("z.zip: not a MedBridge"));
        let mut wrong = doc("c.txt", 1, 0);
        wrong.vectors[0].push(0.0);
        assert!(other.add(vec![wrong]).is_err());
    }
}
