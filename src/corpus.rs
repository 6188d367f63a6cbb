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

/// The longest line the JSONL and TSV readers accept (16 MiB): far above any real record (a long
/// clinical case is tens of KiB), low enough that a file without newlines (a binary, a whole
/// JSON array on one line) is refused after reading this much, not held whole in memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Streams the lines of a text file with 1-based line numbers, at most [`MAX_LINE_BYTES`] per line
/// (the rest of an over-long line is never read), as `&str`: invalid UTF-8 and over-long lines are
/// `path:line:` errors. A UTF-8 byte-order mark at the start is dropped; `\r\n` endings are
/// accepted (the `\r` stays, callers trim).
pub struct LineReader<R> {
    path: std::path::PathBuf,
    reader: R,
    buf: Vec<u8>,
    line_no: usize,
    max: usize,
}

impl LineReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Self::new(path, BufReader::with_capacity(64 << 10, file)))
    }
}

impl<R: BufRead> LineReader<R> {
    pub fn new(path: &Path, reader: R) -> Self {
        LineReader { path: path.to_path_buf(), reader, buf: Vec::new(), line_no: 0, max: MAX_LINE_BYTES }
    }

    /// The same reader with another line limit (tests).
    pub fn with_max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Lines read so far (the number of the last one returned).
    pub fn lines_read(&self) -> usize {
        self.line_no
    }

    /// The next line without its `\n`, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        self.buf.clear();
        let mut any = false;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(&self.path, e)),
            };
            if avail.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            if self.buf.len() + take > self.max {
                return Err(Error::parse(
                    &self.path,
                    self.line_no + 1,
                    format!(
                        "the line is longer than {} MiB, the limit for one record (is this a JSONL/TSV file with one record per line?)",
                        self.max >> 20
                    ),
                ));
            }
            self.buf.extend_from_slice(&avail[..take]);
            self.reader.consume(if done { take + 1 } else { take });
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line_no += 1;
        let mut line = match std::str::from_utf8(&self.buf) {
            Ok(s) => s,
            Err(e) => {
                return Err(Error::parse(
                    &self.path,
                    self.line_no,
                    format!("invalid UTF-8 at byte {} of the line (the file must be UTF-8 text)", e.valid_up_to() + 1),
                ))
            }
        };
        if self.line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        Ok(Some((self.line_no, line)))
    }
}

/// Reads a JSONL file into `(line number, value)` pairs (line numbers 1-based).
///
/// Blank lines are skipped. Any I/O, UTF-8 or JSON error is reported as `path:line: msg`, as is
/// a line over [`MAX_LINE_BYTES`] (read no further than the limit).
pub fn read_lines_jsonl<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<(usize, T)>> {
    let path = path.as_ref();
    let mut lines = LineReader::open(path)?;
    let mut out = Vec::new();
    while let Some((line_no, line)) = lines.next_line()? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value = serde_json::from_str::<T>(line).map_err(|e| Error::parse(path, line_no, format!("invalid JSON record: {e}")))?;
        out.push((line_no, value));
    }
    Ok(out)
}

/// The error for a file with no records: empty, or only blank lines.
fn no_records(path: &Path, lines: usize, what: &str) -> Error {
    if lines == 0 {
        Error::parse(path, 1, format!("the file is empty: no {what}"))
    } else {
        Error::parse(path, 1, format!("no {what}: all {lines} lines are blank"))
    }
}

/// A BEIR record (`_id`, optional `title`, `text`) read field by field, so a wrong or missing
/// field is named in the error.
struct Record {
    id: String,
    title: Option<String>,
    text: Option<String>,
}

fn json_kind(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Parses one line as a record; errors name the field.
fn parse_record(path: &Path, line_no: usize, line: &str) -> Result<Record> {
    use serde_json::Value;
    let err = |msg: String| Error::parse(path, line_no, msg);
    let v: Value = serde_json::from_str(line).map_err(|e| err(format!("invalid JSON record: {e}")))?;
    let Value::Object(mut m) = v else {
        return Err(err(format!("expected a JSON object {{\"_id\": …, \"text\": …}}, found {}", json_kind(&v))));
    };
    let id = match m.remove("_id") {
        None => return Err(err("field \"_id\" is missing".into())),
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(err(format!("field \"_id\" must be a string or a number, found {}", json_kind(&other)))),
    };
    let mut string_field = |name: &str| match m.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(err(format!("field {name:?} must be a string, found {}", json_kind(&other)))),
    };
    let title = string_field("title")?;
    let text = string_field("text")?;
    Ok(Record { id, title, text })
}

/// Reads the records of a corpus or queries file, checking ids (non-empty, unique; a duplicate
/// names both lines); `what` names the records in errors.
fn read_records(path: &Path, what: &str, mut each: impl FnMut(usize, Record) -> Result<()>) -> Result<()> {
    let mut lines = LineReader::open(path)?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    while let Some((line_no, line)) = lines.next_line()? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let r = parse_record(path, line_no, line)?;
        if r.id.trim().is_empty() {
            return Err(Error::parse(path, line_no, "field \"_id\" is empty"));
        }
        if let Some(&first) = seen.get(&r.id) {
            return Err(Error::parse(path, line_no, format!("field \"_id\": duplicate id {:?} (first defined at line {first})", r.id)));
        }
        seen.insert(r.id.clone(), line_no);
        each(line_no, r)?;
    }
    if seen.is_empty() {
        return Err(no_records(path, lines.lines_read(), what));
    }
    Ok(())
}

/// Reads a BEIR `corpus.jsonl`: `{"_id": .., "title": .., "text": ..}` per line.
///
/// `title` is optional; `text` may be missing or empty only if a non-empty
/// title is present. A file without documents (empty, or only blank lines) is an error.
pub fn read_corpus(path: impl AsRef<Path>) -> Result<Vec<Doc>> {
    let path = path.as_ref();
    let mut docs = Vec::new();
    read_records(path, "documents", |line, r| {
        let title = r.title.filter(|t| !t.trim().is_empty());
        let text = r.text.unwrap_or_default();
        if text.trim().is_empty() && title.is_none() {
            return Err(Error::parse(path, line, format!("fields \"text\" and \"title\" are both empty or missing (document {:?})", r.id)));
        }
        docs.push(Doc { id: r.id, title, text });
        Ok(())
    })?;
    Ok(docs)
}

/// Reads a BEIR `queries.jsonl`: `{"_id": .., "text": ..}` per line.
/// Empty or missing text is an error; ids must be unique; a file without queries is an error.
pub fn read_queries(path: impl AsRef<Path>) -> Result<Vec<Query>> {
    let path = path.as_ref();
    let mut queries = Vec::new();
    read_records(path, "queries", |line, r| {
        let text = r.text.unwrap_or_default();
        if text.trim().is_empty() {
            return Err(Error::parse(path, line, format!("field \"text\" is empty or missing (query {:?})", r.id)));
        }
        queries.push(Query { id: r.id, text });
        Ok(())
    })?;
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
///   line number and field; an exact repeat is ignored. A file without judgements
///   (empty, blank, or only a header) is an error.
pub fn read_qrels(path: impl AsRef<Path>) -> Result<Qrels> {
    Ok(read_qrels_located(path)?.qrels)
}

/// Qrels with the line each judgement comes from, to name it when checking them against the
/// queries and documents they refer to ([`QrelsFile::check_refs`]).
#[derive(Debug, Clone)]
pub struct QrelsFile {
    pub path: std::path::PathBuf,
    pub qrels: Qrels,
    /// (query-id, corpus-id) → the line that first judged it.
    pub lines: HashMap<(String, String), usize>,
}

impl QrelsFile {
    /// The judgements in file order: (line, query-id, corpus-id).
    fn by_line(&self) -> Vec<(usize, &str, &str)> {
        let mut v: Vec<(usize, &str, &str)> = self.lines.iter().map(|((q, d), &l)| (l, q.as_str(), d.as_str())).collect();
        v.sort_unstable();
        v
    }

    /// The first line failing `bad` as an error naming `field` (and how many more fail).
    fn first_bad(&self, field: &str, hint: &str, pick: impl Fn(&(usize, &str, &str)) -> Option<String>) -> Result<()> {
        let bad: Vec<(usize, String)> = self.by_line().iter().filter_map(|r| pick(r).map(|m| (r.0, m))).collect();
        match bad.first() {
            None => Ok(()),
            Some((line, msg)) => {
                let more = if bad.len() > 1 { format!(" ({} more lines like it)", bad.len() - 1) } else { String::new() };
                Err(Error::parse(&self.path, *line, format!("field \"{field}\": {msg}{more}; {hint}")))
            }
        }
    }

    /// Every judged query must be one of `queries` (read from `queries_file`): otherwise the
    /// first offending line is an error naming its `query-id`.
    pub fn check_queries(&self, queries: &std::collections::HashSet<&str>, queries_file: &Path) -> Result<()> {
        self.first_bad("query-id", "are the queries and qrels from the same data set?", |(_, q, _)| {
            (!queries.contains(q)).then(|| format!("{q:?} is not a query of {}", queries_file.display()))
        })
    }

    /// Every judged document must satisfy `is_doc` (`docs_what` says where documents come from,
    /// e.g. "the index x.mbix"): otherwise the first offending line is an error naming its
    /// `corpus-id`.
    pub fn check_docs(&self, is_doc: impl Fn(&str) -> bool, docs_what: &str) -> Result<()> {
        self.first_bad("corpus-id", "was the index built from this data set's corpus?", |(_, _, d)| {
            (!is_doc(d)).then(|| format!("{d:?} is not a document of {docs_what}"))
        })
    }
}

/// [`read_qrels`], keeping the line of each judgement.
pub fn read_qrels_located(path: impl AsRef<Path>) -> Result<QrelsFile> {
    let path = path.as_ref();
    let mut lines = LineReader::open(path)?;
    let mut qrels = Qrels::new();
    let mut first_line_seen = false;
    let mut header = false;
    // (qid, docid) -> line where first judged
    let mut where_: HashMap<(String, String), usize> = HashMap::new();
    while let Some((line_no, raw)) = lines.next_line()? {
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
            _ => {
                let missing = match fields.len() {
                    1 => "fields \"corpus-id\" and \"score\" are missing: ",
                    2 => "field \"score\" is missing: ",
                    _ => "",
                };
                return Err(Error::parse(
                    path,
                    line_no,
                    format!("{missing}expected 3 fields (query-id, corpus-id, score) separated by tabs, found {}", fields.len()),
                ));
            }
        };
        let score: i32 = match score.parse() {
            Ok(s) => s,
            Err(_) if is_first => {
                header = true;
                continue;
            }
            Err(_) => return Err(Error::parse(path, line_no, format!("field \"score\": {score:?} is not an integer"))),
        };
        if qid.is_empty() {
            return Err(Error::parse(path, line_no, "field \"query-id\" is empty"));
        }
        if docid.is_empty() {
            return Err(Error::parse(path, line_no, "field \"corpus-id\" is empty"));
        }
        let slot = qrels.entry(qid.to_string()).or_default();
        match slot.get(docid) {
            Some(&old) if old != score => {
                let first = where_[&(qid.to_string(), docid.to_string())];
                return Err(Error::parse(
                    path,
                    line_no,
                    format!("field \"score\": ({qid}, {docid}) judged {score} here but {old} at line {first} (a duplicate judgement)"),
                ));
            }
            Some(_) => {}
            None => {
                slot.insert(docid.to_string(), score);
                where_.insert((qid.to_string(), docid.to_string()), line_no);
            }
        }
    }
    if qrels.is_empty() {
        return Err(if header {
            Error::parse(path, 1, "only a header line: no judgements (query-id, corpus-id, score)")
        } else {
            no_records(path, lines.lines_read(), "judgements")
        });
    }
    Ok(QrelsFile { path: path.to_path_buf(), qrels, lines: where_ })
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

    #[test]
    fn empty_blank_and_odd_files_are_clear_errors() {
        let e = read_corpus(tmp("").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("empty"), "{e}");
        let e = read_queries(tmp("  \n\t\n\n").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("all 3 lines are blank"), "{e}");
        let e = read_qrels(tmp("query-id\tcorpus-id\tscore\n").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("only a header"), "{e}");
        let e = read_qrels(tmp("").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("empty"), "{e}");

        let e = read_corpus(tmp("{\"_id\": \"a\", \"text\": 5}\n").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("field \"text\" must be a string"), "{e}");
        let e = read_corpus(tmp("{\"text\": \"x\"}\n").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("field \"_id\" is missing"), "{e}");
        let e = read_corpus(tmp("[1, 2]\n").path()).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("expected a JSON object"), "{e}");
        let e = read_queries(tmp("{\"_id\": \"q\", \"text\": \"a\"}\n{\"_id\": \"q\", \"text\": \"b\"}\n").path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("field \"_id\": duplicate id \"q\" (first defined at line 1)"), "{e}");
        let e = read_qrels(tmp("q1\tA\t1\nq1\tB\tx\n").path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("field \"score\""), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"{\"_id\": \"a\", \"text\": \"ok\"}\n{\"_id\": \"b\", \"text\": \"caf\xe9\"}\n").unwrap();
        let e = read_corpus(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("invalid UTF-8 at byte 26"), "{e}");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"q1\tA\t1\nq\xff\tB\t1\n").unwrap();
        let e = read_qrels(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("invalid UTF-8"), "{e}");
    }

    #[test]
    fn an_over_long_line_is_refused_without_reading_it_whole() {
        let long = format!("{{\"_id\": \"a\", \"text\": \"{}\"}}\n", "x".repeat(1000));
        let text = format!("{{\"_id\": \"z\", \"text\": \"short\"}}\n{long}");
        let mut r = LineReader::new(Path::new("c.jsonl"), std::io::BufReader::with_capacity(16, text.as_bytes())).with_max(100);
        assert_eq!(r.next_line().unwrap().unwrap().0, 1);
        let e = r.next_line().unwrap_err().to_string();
        assert!(e.starts_with("c.jsonl:2: the line is longer than"), "{e}");
        assert!(r.buf.len() <= 100, "held {} bytes", r.buf.len());
        // lines at the limit, CRLF endings and a last line without a newline are fine
        let mut r = LineReader::new(Path::new("c"), "abc\r\n\u{feff}x\nlast".as_bytes()).with_max(5);
        assert_eq!(r.next_line().unwrap(), Some((1, "abc\r")));
        assert_eq!(r.next_line().unwrap(), Some((2, "\u{feff}x")));
        assert_eq!(r.next_line().unwrap(), Some((3, "last")));
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn qrels_refs_are_checked_with_their_lines() {
        let f = tmp("query-id\tcorpus-id\tscore\nq1\tA\t1\nq9\tB\t1\nq8\tC\t1\n");
        let q = read_qrels_located(f.path()).unwrap();
        let e = q.check_queries(&["q1"].into_iter().collect(), Path::new("queries.jsonl")).unwrap_err().to_string();
        assert!(e.contains(":3: field \"query-id\": \"q9\" is not a query of queries.jsonl (1 more lines like it)"), "{e}");
        let e = q.check_docs(|d| d != "C", "the index x.mbix").unwrap_err().to_string();
        assert!(e.contains(":4: field \"corpus-id\": \"C\" is not a document of the index x.mbix"), "{e}");
        assert!(q.check_docs(|_| true, "").is_ok());
    }
}
