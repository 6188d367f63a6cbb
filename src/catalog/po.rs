//! French, Portuguese, Italian and current Spanish names: gnuhealth's gettext `.po` files.
use std::path::Path;

use super::{clean_text, normalize_code};
use crate::{Error, Result};

const PO_CONTEXT_PREFIX: &str = "model:gnuhealth.pathology,name:";

/// Decode one gettext quoted string (`"..."` with C escapes).
fn po_unquote(s: &str, label: &Path, line: usize) -> Result<String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| s.len() >= 2)
        .ok_or_else(|| Error::parse(label, line, format!("expected a quoted string, got {s:?}")))?;
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some(o) => return Err(Error::parse(label, line, format!("unknown escape \\{o}"))),
            None => return Err(Error::parse(label, line, "dangling backslash")),
        }
    }
    Ok(out)
}

/// Parse a gettext `.po` file and return `(normalised code, translation)` for every entry with
/// context `model:gnuhealth.pathology,name:<code>` and a non-empty, non-fuzzy `msgstr` that
/// differs from the (English) `msgid` (an identical one is an untranslated copy, e.g. 536 in pt_BR).
pub fn parse_po(text: &str, label: &Path) -> Result<Vec<(String, String)>> {
    #[derive(PartialEq, Clone, Copy)]
    enum Field {
        None,
        Ctxt,
        Id,
        Str,
    }
    #[derive(Default)]
    struct Entry {
        ctxt: Option<String>,
        msgid: String,
        msgstr: String,
        fuzzy: bool,
    }
    let mut out = Vec::new();
    let mut cur = Entry::default();
    let mut field = Field::None;
    let flush = |e: &mut Entry, out: &mut Vec<(String, String)>| {
        let e = std::mem::take(e);
        if e.fuzzy {
            return;
        }
        if let Some(code) = e.ctxt.as_deref().and_then(|c| c.strip_prefix(PO_CONTEXT_PREFIX)).and_then(normalize_code) {
            let t = clean_text(&e.msgstr);
            if !t.is_empty() && t != clean_text(&e.msgid) {
                out.push((code, t));
            }
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        if let Some(c) = l.strip_prefix('#') {
            // A comment starts a new entry once the previous one has its msgstr.
            if field == Field::Str {
                flush(&mut cur, &mut out);
                field = Field::None;
            }
            if let Some(flags) = c.strip_prefix(',') {
                if flags.split(',').any(|f| f.trim() == "fuzzy") {
                    cur.fuzzy = true;
                }
            }
            continue;
        }
        let (kw, rest) = match l.find(|c: char| c.is_whitespace()) {
            Some(p) if !l.starts_with('"') => (&l[..p], &l[p..]),
            _ => ("", l),
        };
        match kw {
            "msgctxt" => {
                if field == Field::Str {
                    flush(&mut cur, &mut out);
                }
                cur.ctxt = Some(po_unquote(rest, label, line)?);
                field = Field::Ctxt;
            }
            "msgid" => {
                if field == Field::Str {
                    flush(&mut cur, &mut out);
                }
                cur.msgid = po_unquote(rest, label, line)?;
                field = Field::Id;
            }
            "msgstr" => {
                if field != Field::Id {
                    return Err(Error::parse(label, line, "msgstr without a preceding msgid"));
                }
                cur.msgstr = po_unquote(rest, label, line)?;
                field = Field::Str;
            }
            "" => {
                let s = po_unquote(rest, label, line)?;
                match field {
                    Field::Ctxt => cur.ctxt.get_or_insert_with(String::new).push_str(&s),
                    Field::Id => cur.msgid.push_str(&s),
                    Field::Str => cur.msgstr.push_str(&s),
                    Field::None => return Err(Error::parse(label, line, "continuation string outside an entry")),
                }
            }
            // msgid_plural / msgstr[n]: not used by gnuhealth pathology names; ignore.
            k if k.starts_with("msgstr[") || k == "msgid_plural" => {}
            k => return Err(Error::parse(label, line, format!("unexpected keyword {k:?}"))),
        }
    }
    if field == Field::Str {
        flush(&mut cur, &mut out);
    }
    Ok(out)
}

/// gnuhealth's `pt_BR.po` has ~2,600 names whose Latin-1 letters went through Windows-1250 at
/// some point ("malformaçőes congęnitas", "năo"): map the cp1250 letters that sit where
/// Portuguese's Latin-1 letters were back to them. None of these letters is Portuguese.
pub fn repair_portuguese(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ă' => 'ã',
            'Ă' => 'Ã',
            'ę' => 'ê',
            'Ę' => 'Ê',
            'ő' => 'õ',
            'Ő' => 'Õ',
            'ŕ' => 'à',
            'Ŕ' => 'À',
            'Ş' => 'ª',
            'ş' => 'º',
            c => c,
        })
        .collect()
}
