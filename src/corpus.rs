//! BEIR-format I/O: `corpus.jsonl`, `queries.jsonl` and `qrels/*.tsv`.
//!
//! Every error names the file and the (1-based) line it comes from, so a broken
//! data set can be fixed without guessing. Conventions:
//!
//! * JSONL files: one JSON object per line; blank lines (only whitespace) are
//!   skipped but still counted, so line numbers match what an editor shows.
//!   A UTF-8 byte-order mark at the start of the file is ignored.
//! * `_id` may be a JSON string or a JSON number (`{"_id": 42}` becomes `"42"`);
//!   empty ids and duplicate ids are errors (the message names both lines).
//! * Unknown fields (e.g. BEIR's `metadata`) are ignored.
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::{Error, Result};

/// A corpus document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Doc {
    pub id: String,
    /// `None` when the record has no title, a `null` one or an empty/blank one.
    pub title: Option<String>,
    pub text: String,
}

impl Doc {
    /// The text to index or embed: `"{title}. {text}"` when a title exists,
    /// just the title when the text is empty, otherwise the text.
    pub fn passage_text(&self) -> String {
        match &self.title {
            Some(t) if self.text.trim().is_empty() => t.clone(),
            Some(t) => format!("{t}. {}", self.text),
            None => self.text.clone(),
        }
    }
}

/// A query.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Query {
    pub id: String,
    pub text: String,
}

/// Relevance judgements: query id → (doc id → relevance grade).
/// A grade `> 0` means relevant; `0` (or negative) entries are kept but count as
/// judged non-relevant.
pub type Qrels = BTreeMap<String, BTreeMap<String, i32>>;

/// Reads a JSONL file into `(line number, value)` pairs (line numbers 1-based).
///
/// Blank lines are skipped. Any I/O, UTF-8 or JSON error is reported as
/// `path:line: msg`.
pub fn read_lines_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<(usize, T)>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                Error::parse(path, line_no + 1, "invalid UTF-8")
            } else {
                Error::io(path, e)
            }
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut line = buf.as_str();
        if line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value = serde_json::from_str::<T>(line).map_err(|e| Error::parse(path, line_no, format!("invalid JSON record: {e}")))?;
        out.push((line_no, value));
    }
    Ok(out)
}

/// `_id` as written in the file: a string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Str(String),
    Num(serde_json::Number),
}

impl RawId {
    fn into_string(self) -> String {
        match self {
            RawId::Str(s) => s,
            RawId::Num(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(rename = "_id")]
    id: RawId,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// Checks the id and records it; errors name both lines for a duplicate.
fn check_id(path: &Path, line: usize, id: &str, seen: &mut HashMap<String, usize>) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::parse(path, line, "empty \"_id\""));
    }
    if let Some(first) = seen.insert(id.to_string(), line) {
        return Err(Error::parse(path, line, format!("duplicate \"_id\" {id:?} (first defined at line {first})")));
    }
    Ok(())
}

/// Reads a BEIR `corpus.jsonl`: `{"_id": .., "title": .., "text": ..}` per line.
///
/// `title` is optional; `text` may be missing or empty only if a non-empty
/// title is present.
pub fn read_corpus(path: impl AsRef<Path>) -> Result<Vec<Doc>> {
    let path = path.as_ref();
    let records: Vec<(usize, RawRecord)> = read_lines_jsonl(path)?;
    let mut seen = HashMap::with_capacity(records.len());
    let mut docs = Vec::with_capacity(records.len());
    for (line, r) in records {
        let id = r.id.into_string();
        check_id(path, line, &id, &mut seen)?;
        let title = r.title.filter(|t| !t.trim().is_empty());
        let text = r.text.unwrap_or_default();
        if text.trim().is_empty() && title.is_none() {
            return Err(Error::parse(path, line, format!("document {id:?} has neither text nor title")));
        }
        docs.push(Doc { id, title, text });
    }
    Ok(docs)
}

/// Reads a BEIR `queries.jsonl`: `{"_id": .., "text": ..}` per line.
/// Empty or missing text is an error; ids must be unique.
pub fn read_queries(path: impl AsRef<Path>) -> Result<Vec<Query>> {
    let path = path.as_ref();
    let records: Vec<(usize, RawRecord)> = read_lines_jsonl(path)?;
    let mut seen = HashMap::with_capacity(records.len());
    let mut queries = Vec::with_capacity(records.len());
    for (line, r) in records {
        let id = r.id.into_string();
        check_id(path, line, &id, &mut seen)?;
        let text = r.text.unwrap_or_default();
        if text.trim().is_empty() {
            return Err(Error::parse(path, line, format!("query {id:?} has empty text")));
        }
        queries.push(Query { id, text });
    }
    Ok(queries)
}

/// Reads BEIR qrels: a header line (`query-id corpus-id score`) then one
/// judgement per line.
///
/// * Fields are separated by tabs; a line without tabs is split on whitespace.
/// * The 4-column TREC form `qid iter docid score` is accepted too.
/// * The first non-blank line is taken as the header when its score column is
///   not an integer (so header-less files also load).
/// * Blank lines are skipped. A malformed line, a non-integer score, or the same
///   (query, doc) pair judged twice with different grades is an error with its
///   line number; an exact repeat is ignored.
pub fn read_qrels(path: impl AsRef<Path>) -> Result<Qrels> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::parse(path, line, "invalid UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut qrels = Qrels::new();
    let mut first_line_seen = false;
    // (qid, docid) -> line where first judged
    let mut where_: HashMap<(String, String), usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> =
            if line.contains('\t') { line.split('\t').map(str::trim).collect() } else { line.split_whitespace().collect() };
        let is_first = !first_line_seen;
        first_line_seen = true;
        let (qid, docid, score) = match fields.as_slice() {
            [q, d, s] => (*q, *d, *s),
            [q, _iter, d, s] => (*q, *d, *s),
            _ => return Err(Error::parse(path, line_no, format!("expected 3 fields (query-id corpus-id score), found {}", fields.len()))),
        };
        let score: i32 = match score.parse() {
            Ok(s) => s,
            Err(_) if is_first => continue, // header
            Err(_) => return Err(Error::parse(path, line_no, format!("score {score:?} is not an integer"))),
        };
        if qid.is_empty() || docid.is_empty() {
            return Err(Error::parse(path, line_no, "empty query-id or corpus-id"));
        }
        let slot = qrels.entry(qid.to_string()).or_default();
        match slot.get(docid) {
            Some(&old) if old != score => {
                let first = where_[&(qid.to_string(), docid.to_string())];
                return Err(Error::parse(path, line_no, format!("({qid}, {docid}) judged {score} but {old} at line {first}")));
            }
            Some(_) => {}
            None => {
                slot.insert(docid.to_string(), score);
                where_.insert((qid.to_string(), docid.to_string()), line_no);
            }
        }
    }
    Ok(qrels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn corpus_reads_ids_titles_and_skips_blank_lines() {
        let f = tmp(concat!(
            "{\"_id\": \"d1\", \"title\": \"Cholera\", \"text\": \"due to vibrio\"}\n",
            "\n",
            "{\"_id\": 7, \"text\": \"numeric id\", \"metadata\": {}}\n",
            "{\"_id\": \"d3\", \"title\": \"Only title\", \"text\": \"\"}\n",
        ));
        let docs = read_corpus(f.path()).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].passage_text(), "Cholera. due to vibrio");
        assert_eq!(docs[1].id, "7");
        assert_eq!(docs[1].title, None);
        assert_eq!(docs[1].passage_text(), "numeric id");
        assert_eq!(docs[2].passage_text(), "Only title");
    }

    #[test]
    fn corpus_errors_name_file_and_line() {
        let f = tmp("{\"_id\": \"a\", \"text\": \"x\"}\n\n{\"_id\": \"a\", \"text\": \"y\"}\n");
        let e = read_corpus(f.path()).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("line 1") && e.contains("duplicate"), "{e}");
        assert!(e.contains(&f.path().display().to_string()), "{e}");

        let f = tmp("{\"_id\": \"a\", \"text\": \"x\"}\n{\"_id\": \"b\", \"text\": \"\"}\n");
        let e = read_corpus(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");

        let f = tmp("{\"_id\": \"a\", \"text\": \"x\"}\n{not json\n");
        let e = read_corpus(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("invalid JSON"), "{e}");

        let f = tmp("{\"text\": \"no id\"}\n");
        assert!(read_corpus(f.path()).unwrap_err().to_string().contains(":1:"));

        let e = read_corpus("/nonexistent/corpus.jsonl").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/corpus.jsonl"), "{e}");
    }

    #[test]
    fn queries_reject_empty_text() {
        let f = tmp("{\"_id\": \"q1\", \"text\": \"hematuria\"}\n{\"_id\": \"q2\", \"text\": \"  \"}\n");
        let e = read_queries(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("q2"), "{e}");
        let f = tmp("\u{feff}{\"_id\": \"q1\", \"text\": \"hematuria\"}\n");
        assert_eq!(read_queries(f.path()).unwrap(), vec![Query { id: "q1".into(), text: "hematuria".into() }]);
    }

    #[test]
    fn qrels_header_tabs_and_whitespace() {
        let f = tmp("query-id\tcorpus-id\tscore\nq1\tA00\t1\n\nq1 A01 0\nq2\tB\t2\nq2\tB\t2\n");
        let q = read_qrels(f.path()).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q["q1"]["A00"], 1);
        assert_eq!(q["q1"]["A01"], 0);
        assert_eq!(q["q2"]["B"], 2);
        // TREC 4-column, no header
        let f = tmp("q1 0 A00 1\n");
        assert_eq!(read_qrels(f.path()).unwrap()["q1"]["A00"], 1);
    }

    #[test]
    fn qrels_malformed_lines_report_line_numbers() {
        let f = tmp("query-id\tcorpus-id\tscore\nq1\tA00\t1\nq1\tA01\n");
        let e = read_qrels(f.path()).unwrap_err().to_string();
        assert!(e.contains(":3:"), "{e}");
        let f = tmp("query-id\tcorpus-id\tscore\nq1\tA00\tyes\n");
        let e = read_qrels(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("integer"), "{e}");
        let f = tmp("query-id\tcorpus-id\tscore\nq1\tA00\t1\nq1\tA00\t2\n");
        let e = read_qrels(f.path()).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("line 2"), "{e}");
    }
}
