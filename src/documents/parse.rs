//! Reading a user's file (`.txt`, `.md`, `.csv`, `.json`, `.jsonl`, or pasted text) into titled
//! passages; every format ends in [`super::chunk`].
use super::{chunk, ChunkOptions, DocPassage, MAX_FILE_BYTES, SUPPORTED};
use crate::{format_err, Result};

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
    let rows = crate::io::csv::read_records(content, sep).map_err(|u| format_err!("{name}:{}: unterminated quoted field", u.line))?;
    let mut rows = rows.into_iter().map(|r| r.fields).filter(|r| r.iter().any(|c| !c.trim().is_empty()));
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
