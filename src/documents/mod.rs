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
use std::collections::HashSet;

use instant_distance::{Builder, HnswMap, Search};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::container::{self, FileKind};
use crate::retrieve::index::Vector;
use crate::{format_err, Error, Result};

/// Largest file accepted (bytes). Larger files are refused with a message saying so.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// File types read by [`parse_file`].
pub const SUPPORTED: [&str; 5] = ["txt", "md", "csv", "json", "jsonl"];
pub const FORMAT_VERSION: u32 = 1;
/// The `.mbdocs` file (see [`crate::io::container`]).
pub const FILE: FileKind = FileKind { magic: b"MBDX", version: FORMAT_VERSION, name: "documents file", fix: "add the documents again" };

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

/// Lower-case extension of a file name, without the dot.
pub fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

fn stem(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.').map(|(s, _)| s).filter(|s| !s.is_empty()).unwrap_or(base)
}

/// Split a file's text into passages, by its extension. `name` is only used for the type, the title
/// and messages. Pasted text: pass a name ending in `.txt`.
pub fn parse_file(name: &str, content: &str, opts: ChunkOptions) -> Result<Vec<DocPassage>> {
    if content.len() > MAX_FILE_BYTES {
        return Err(format_err!(
            "{name}: file too large ({:.1} MB; the limit is {} MB): split it into smaller files",
            content.len() as f64 / 1e6,
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let ext = extension(name);
    let title = stem(name).to_string();
    let passages = match ext.as_str() {
        "txt" | "text" => parse_text(&title, content, opts),
        "md" | "markdown" => parse_markdown(&title, content, opts),
        "csv" => parse_csv(name, &title, content, opts)?,
        "json" => {
            let v: serde_json::Value = serde_json::from_str(content).map_err(|e| format_err!("{name}: not valid JSON: {e}"))?;
            let mut out = Vec::new();
            json_records(&title, &v, opts, &mut out);
            out
        }
        "jsonl" | "ndjson" => {
            let mut out = Vec::new();
            for (i, line) in content.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format_err!("{name}:{}: not valid JSON: {e}", i + 1))?;
                json_records(&title, &v, opts, &mut out);
            }
            out
        }
        other => {
            return Err(format_err!(
                "{name}: unsupported file type {} (supported: {})",
                if other.is_empty() { "(no extension)".to_string() } else { format!(".{other}") },
                SUPPORTED.map(|s| format!(".{s}")).join(", ")
            ))
        }
    };
    if passages.is_empty() {
        return Err(format_err!("{name}: no text found"));
    }
    Ok(passages)
}

/// Plain text: the first line is the title when it looks like one (short, no final period).
pub fn parse_text(file_title: &str, content: &str, opts: ChunkOptions) -> Vec<DocPassage> {
    let content = content.trim_start_matches('\u{feff}');
    let mut lines = content.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next().unwrap_or("").trim();
    let (title, body) = if !first.is_empty()
        && first.chars().count() <= 100
        && !first.ends_with(['.', ':', ',', ';'])
        && lines.clone().any(|l| !l.trim().is_empty())
    {
        (first.to_string(), lines.collect::<Vec<_>>().join("\n"))
    } else {
        (file_title.to_string(), content.to_string())
    };
    chunk(&title, &body, opts)
}

/// Markdown: sections under headings, each chunked with the heading path as title.
pub fn parse_markdown(file_title: &str, content: &str, opts: ChunkOptions) -> Vec<DocPassage> {
    let mut out = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut doc_title = file_title.to_string();
    let mut in_code = false;
    let flush = |path: &[(usize, String)], doc_title: &str, body: &mut String, out: &mut Vec<DocPassage>| {
        let mut parts = vec![doc_title.to_string()];
        parts.extend(path.iter().map(|(_, h)| h.clone()).filter(|h| h != doc_title));
        out.extend(chunk(&parts.join(" › "), body, opts));
        body.clear();
    };
    for line in content.trim_start_matches('\u{feff}').lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        let level = t.chars().take_while(|&c| c == '#').count();
        if !in_code && (1..=6).contains(&level) && t[level..].starts_with(' ') {
            flush(&path, &doc_title, &mut body, &mut out);
            let heading = strip_inline_md(t[level..].trim().trim_end_matches('#').trim());
            if level == 1 && out.is_empty() && path.is_empty() {
                doc_title = heading.clone();
            }
            path.retain(|(l, _)| *l < level);
            path.push((level, heading));
            continue;
        }
        let mut l = t.trim_end();
        // List markers and quotes carry no meaning for retrieval.
        for m in ["- ", "* ", "+ ", "> "] {
            if let Some(rest) = l.strip_prefix(m) {
                l = rest;
            }
        }
        body.push_str(&strip_inline_md(l));
        body.push('\n');
    }
    flush(&path, &doc_title, &mut body, &mut out);
    out
}

/// `[text](url)` → text; drops emphasis and code markers.
fn strip_inline_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' => {}
            '!' if chars.peek() == Some(&'[') => {}
            ']' if chars.peek() == Some(&'(') => {
                // Skip the URL.
                for d in chars.by_ref() {
                    if d == ')' {
                        break;
                    }
                }
            }
            '[' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 4180-ish CSV (quotes, doubled quotes, commas or semicolons). The first row is the header;
/// each further row is one record "header: value; …".
pub fn parse_csv(name: &str, file_title: &str, content: &str, opts: ChunkOptions) -> Result<Vec<DocPassage>> {
    let content = content.trim_start_matches('\u{feff}');
    let first_line = content.lines().next().unwrap_or("");
    let sep = if first_line.matches(';').count() > first_line.matches(',').count() { ';' } else { ',' };
    let rows = csv_rows(content, sep).map_err(|line| format_err!("{name}:{line}: unterminated quoted field"))?;
    let mut rows = rows.into_iter().filter(|r| r.iter().any(|c| !c.trim().is_empty()));
    let Some(header) = rows.next() else { return Ok(Vec::new()) };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let title_col = header
        .iter()
        .position(|h| matches!(h.to_lowercase().as_str(), "title" | "name" | "nombre" | "titulo" | "título" | "nom" | "titre"));
    let mut out = Vec::new();
    for row in rows {
        let title = match title_col.and_then(|i| row.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            Some(t) => format!("{file_title} › {t}"),
            None => file_title.to_string(),
        };
        let text = row
            .iter()
            .enumerate()
            .filter(|(i, v)| Some(*i) != title_col && !v.trim().is_empty())
            .map(|(i, v)| match header.get(i).filter(|h| !h.is_empty()) {
                Some(h) => format!("{h}: {}", v.trim()),
                None => v.trim().to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        out.extend(chunk(&title, &text, opts));
    }
    Ok(out)
}

/// Rows of fields; Err(line number) for an unterminated quote.
fn csv_rows(s: &str, sep: char) -> std::result::Result<Vec<Vec<String>>, usize> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut quote_line = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
                quote_line = line;
            }
            c if c == sep => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(quote_line);
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

const TEXT_KEYS: [&str; 8] = ["text", "body", "content", "abstract", "description", "contenido", "texto", "descripcion"];
const TITLE_KEYS: [&str; 6] = ["title", "name", "titulo", "título", "nombre", "titre"];

/// A JSON value → passages: arrays are lists of records; an object with a text field is one record
/// (titled by its title field); another object is a record of "key: value" lines; strings are text.
fn json_records(file_title: &str, v: &serde_json::Value, opts: ChunkOptions, out: &mut Vec<DocPassage>) {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            for it in items {
                json_records(file_title, it, opts, out);
            }
        }
        Value::String(s) => out.extend(chunk(file_title, s, opts)),
        Value::Object(map) => {
            let find = |keys: &[&str]| {
                map.iter()
                    .find(|(k, v)| keys.contains(&k.to_lowercase().as_str()) && v.is_string())
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            };
            let title = find(&TITLE_KEYS);
            let text = find(&TEXT_KEYS);
            let full_title = match &title {
                Some((_, t)) if !t.trim().is_empty() => format!("{file_title} › {}", t.trim()),
                _ => file_title.to_string(),
            };
            let body = match text {
                Some((_, t)) => t,
                None => map
                    .iter()
                    .filter(|(k, _)| Some(k.as_str()) != title.as_ref().map(|t| t.0.as_str()))
                    .filter_map(|(k, v)| {
                        let s = flatten_json(v);
                        (!s.is_empty()).then(|| format!("{k}: {s}"))
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            out.extend(chunk(&full_title, &body, opts));
        }
        Value::Null => {}
        other => out.extend(chunk(file_title, &other.to_string(), opts)),
    }
}

fn flatten_json(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.trim().to_string(),
        Value::Array(a) => a.iter().map(flatten_json).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k}: {}", flatten_json(v))).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Sentences (and lines, which in notes and lists are units of their own).
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let words: Vec<&str> = para.split_whitespace().collect();
        let mut cur: Vec<&str> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            cur.push(w);
            let ends = w.ends_with(['.', '!', '?', ';', '。']) && !is_abbreviation(w);
            let next_starts =
                words.get(i + 1).is_none_or(|n| n.chars().next().is_some_and(|c| c.is_uppercase() || c.is_numeric() || !c.is_alphabetic()));
            if ends && next_starts {
                out.push(cur.join(" "));
                cur.clear();
            }
        }
        if !cur.is_empty() {
            out.push(cur.join(" "));
        }
    }
    out
}

fn is_abbreviation(w: &str) -> bool {
    let core = w.trim_end_matches('.').to_lowercase();
    matches!(
        core.as_str(),
        "dr" | "dra" | "sr" | "sra" | "p.ej" | "e.g" | "i.e" | "etc" | "vs" | "mg" | "ml" | "approx" | "aprox" | "núm" | "num" | "fig"
    ) || (core.chars().count() == 1 && core.chars().all(|c| c.is_alphabetic()))
}

/// Pack sentences into passages of ≤ `max_words` words with ~`overlap_words` of overlap.
pub fn chunk(title: &str, text: &str, opts: ChunkOptions) -> Vec<DocPassage> {
    let max = opts.max_words.max(8);
    let overlap = opts.overlap_words.min(max / 2);
    // Long sentences are cut into pieces of ≤ max words first (with overlap between the pieces).
    let mut units: Vec<Vec<&str>> = Vec::new();
    let sents = sentences(text);
    for s in &sents {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.len() <= max {
            units.push(words);
        } else {
            let step = max - overlap;
            let mut start = 0;
            loop {
                let end = (start + max).min(words.len());
                units.push(words[start..end].to_vec());
                if end == words.len() {
                    break;
                }
                start += step;
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i;
        let mut n = 0;
        while j < units.len() && (j == i || n + units[j].len() <= max) {
            n += units[j].len();
            j += 1;
        }
        let text: String = units[i..j].iter().map(|u| u.join(" ")).collect::<Vec<_>>().join(" ");
        out.push(DocPassage { title: title.trim().to_string(), text });
        if j >= units.len() {
            break;
        }
        // Next passage starts with the trailing sentences of this one (≤ overlap words), never at i.
        let mut k = j;
        let mut back = 0;
        while k > i + 1 && back + units[k - 1].len() <= overlap {
            back += units[k - 1].len();
            k -= 1;
        }
        i = k;
    }
    out
}

/// One added document: its passages and their vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// 12 hex digits of sha256 over the name and passages: the same file added twice has the same id.
    pub id: String,
    pub name: String,
    /// Milliseconds since the epoch (as the browser's `Date.now()`).
    pub added_ms: f64,
    pub passages: Vec<DocPassage>,
    pub vectors: Vec<Vec<f32>>,
}

impl Document {
    pub fn id_for(name: &str, passages: &[DocPassage]) -> String {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        for p in passages {
            h.update(b"\x00");
            h.update(p.title.as_bytes());
            h.update(b"\x01");
            h.update(p.text.as_bytes());
        }
        hex::encode(h.finalize())[..12].to_string()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocsHeader {
    pub format_version: u32,
    pub model_id: String,
    pub dim: usize,
    pub documents: usize,
    pub passages: usize,
}

/// A passage found by [`DocIndex::search`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocHit {
    pub doc_id: String,
    pub doc_name: String,
    pub passage: usize,
    pub title: String,
    pub text: String,
    pub score: f32,
}

/// The user's documents and an HNSW graph over all their passages (rebuilt on every change; it holds
/// at most a few thousand passages).
pub struct DocIndex {
    pub model_id: String,
    pub dim: usize,
    docs: Vec<Document>,
    graph: Option<HnswMap<Vector, (u32, u32)>>,
}

impl DocIndex {
    pub fn new(model_id: &str, dim: usize) -> Self {
        Self { model_id: model_id.into(), dim, docs: Vec::new(), graph: None }
    }

    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    pub fn passages(&self) -> usize {
        self.docs.iter().map(|d| d.passages.len()).sum()
    }

    /// Add (or replace, same id) documents and rebuild the graph. Checks dimensions.
    pub fn add(&mut self, docs: Vec<Document>) -> Result<()> {
        for d in &docs {
            if d.vectors.len() != d.passages.len() {
                return Err(format_err!("document {:?}: {} passages but {} vectors", d.name, d.passages.len(), d.vectors.len()));
            }
            if let Some(v) = d.vectors.iter().find(|v| v.len() != self.dim) {
                return Err(format_err!("document {:?}: vector of {} dimensions, the model has {}", d.name, v.len(), self.dim));
            }
        }
        let new: HashSet<String> = docs.iter().map(|d| d.id.clone()).collect();
        self.docs.retain(|d| !new.contains(&d.id));
        self.docs.extend(docs);
        self.rebuild();
        Ok(())
    }

    /// Remove a document by id; false when there is none.
    pub fn remove(&mut self, id: &str) -> bool {
        let n = self.docs.len();
        self.docs.retain(|d| d.id != id);
        let removed = self.docs.len() != n;
        if removed {
            self.rebuild();
        }
        removed
    }

    pub fn clear(&mut self) {
        self.docs.clear();
        self.graph = None;
    }

    fn rebuild(&mut self) {
        let mut points = Vec::new();
        let mut values = Vec::new();
        for (di, d) in self.docs.iter().enumerate() {
            for (pi, v) in d.vectors.iter().enumerate() {
                points.push(Vector(v.clone()));
                values.push((di as u32, pi as u32));
            }
        }
        self.graph = if points.is_empty() { None } else { Some(Builder::default().ef_search(100).seed(7).build(points, values)) };
    }

    /// The `k` passages nearest to a normalised query vector; score is cosine.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<DocHit>> {
        if query.len() != self.dim {
            return Err(format_err!("query vector has {} dimensions, the documents {}", query.len(), self.dim));
        }
        let Some(g) = &self.graph else { return Ok(Vec::new()) };
        let mut s = Search::default();
        Ok(g.search(&Vector(query.to_vec()), &mut s)
            .take(k)
            .map(|it| {
                let (di, pi) = *it.value;
                let d = &self.docs[di as usize];
                let p = &d.passages[pi as usize];
                DocHit {
                    doc_id: d.id.clone(),
                    doc_name: d.name.clone(),
                    passage: pi as usize,
                    title: p.title.clone(),
                    text: p.text.clone(),
                    score: 1.0 - it.distance,
                }
            })
            .collect())
    }

    /// The documents `ids` (all when empty) as one `.mbdocs` file: the crate's container
    /// ([`crate::io::container`], magic `MBDX`) with a [`DocsHeader`] and a bincode payload.
    pub fn export(&self, ids: &[String]) -> Result<Vec<u8>> {
        let docs: Vec<&Document> = self.docs.iter().filter(|d| ids.is_empty() || ids.contains(&d.id)).collect();
        let header = DocsHeader {
            format_version: FORMAT_VERSION,
            model_id: self.model_id.clone(),
            dim: self.dim,
            documents: docs.len(),
            passages: docs.iter().map(|d| d.passages.len()).sum(),
        };
        let payload = bincode::serialize(&docs).map_err(|e| format_err!("documents payload: {e}"))?;
        container::write(&FILE, &header, &payload)
    }

    /// Read an exported file (checks magic, version, checksum, model and dimension); `label` names it in errors.
    pub fn read_export(&self, bytes: &[u8], label: &str) -> Result<Vec<Document>> {
        let (header, payload): (DocsHeader, _) = container::read(&FILE, bytes, label)?;
        let loaded = format!("{} ({} dimensions)", self.model_id, self.dim);
        let built = format!("{} ({} dimensions)", header.model_id, header.dim);
        Error::check_model(label, &built, Some(&loaded), "add the documents again")?;
        let docs: Vec<Document> = bincode::deserialize(payload).map_err(|e| Error::damaged(label, format!("payload: {e}"), FILE.fix))?;
        if docs.len() != header.documents {
            return Err(Error::damaged(label, format!("holds {} documents, its header says {}", docs.len(), header.documents), FILE.fix));
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
