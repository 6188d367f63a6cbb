//! The English catalogue: ICD-10-CM's tabular XML (`simple-icd-10-cm`), its codes, their parents,
//! inclusion terms and the generated seventh-character extensions (rules in [`super`]'s docs).
use std::collections::HashSet;
use std::path::Path;

use super::{clean_text, normalize_code};
use crate::{format_err, Error, Result};

/// One ICD-10-CM code parsed from the tabular XML.
#[derive(Clone, Debug, PartialEq)]
pub struct CmCode {
    pub code: String,
    pub parent: Option<String>,
    pub description: String,
    /// `<inclusionTerm><note>` texts of the code's `<diag>` (none for seventh-character extensions).
    pub inclusion_terms: Vec<String>,
}

/// Parse the set of codes of the official ICD-10-CM code list (one code per line, first word,
/// dots removed; also contains chapters and blocks, which does not matter for membership tests).
pub fn parse_cm_code_list(text: &str) -> HashSet<String> {
    text.lines().filter_map(|l| l.split_whitespace().next()).map(|c| c.replace('.', "").to_ascii_uppercase()).collect()
}

/// Parse the ICD-10-CM tabular XML into categories and codes (document order), generating the
/// seventh-character extensions that are in `code_list` (see the module docs).
pub fn parse_cm_xml(xml: &str, code_list: &HashSet<String>, label: &Path) -> Result<Vec<CmCode>> {
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|e| Error::parse(label, e.pos().row as usize, format!("invalid ICD-10-CM XML: {e}")))?;
    let mut out = Vec::new();
    walk_cm(doc.root_element(), None, None, code_list, label, &doc, &mut out)?;
    if out.is_empty() {
        return Err(format_err!("{}: no <diag> codes found in the ICD-10-CM XML", label.display()));
    }
    Ok(out)
}

type SevenChr = Vec<(String, String)>;

fn child_text<'a>(node: roxmltree::Node<'a, 'a>, tag: &str) -> Option<&'a str> {
    node.children().find(|c| c.has_tag_name(tag)).and_then(|c| c.text())
}

fn seven_chr_def(node: roxmltree::Node) -> SevenChr {
    let mut def: SevenChr = Vec::new();
    for d in node.children().filter(|c| c.has_tag_name("sevenChrDef")) {
        for ext in d.children().filter(|c| c.is_element()) {
            if ext.has_tag_name("extension") {
                if let Some(ch) = ext.attribute("char") {
                    let text = ext.text().unwrap_or("").trim().to_string();
                    match def.iter_mut().find(|(c, _)| c == ch) {
                        Some(slot) => slot.1 = text,
                        None => def.push((ch.to_string(), text)),
                    }
                }
            } else if ext.has_tag_name("note") {
                // As simple_icd_10_cm: a note continues the previous extension's text.
                if let (Some(last), Some(t)) = (def.last_mut(), ext.text()) {
                    last.1 = format!("{}/{}", last.1, t.trim());
                }
            }
        }
    }
    def
}

fn walk_cm<'a>(
    node: roxmltree::Node<'a, 'a>,
    parent_code: Option<&str>,
    inherited: Option<&SevenChr>,
    code_list: &HashSet<String>,
    label: &Path,
    doc: &roxmltree::Document,
    out: &mut Vec<CmCode>,
) -> Result<()> {
    let own = seven_chr_def(node);
    let effective = if own.is_empty() { inherited } else { Some(&own) };
    let mut this_code: Option<String> = None;
    if node.has_tag_name("diag") {
        let line = || doc.text_pos_at(node.range().start).row as usize; // only on error: O(file)
        let name = child_text(node, "name").ok_or_else(|| Error::parse(label, line(), "<diag> without <name>"))?;
        let code =
            normalize_code(name).ok_or_else(|| Error::parse(label, line(), format!("<diag> name {name:?} is not an ICD-10 code")))?;
        let description = child_text(node, "desc").map(clean_text).unwrap_or_default();
        let inclusion_terms = node
            .children()
            .filter(|c| c.has_tag_name("inclusionTerm"))
            .flat_map(|t| t.children().filter(|n| n.has_tag_name("note")))
            .filter_map(|n| n.text().map(clean_text))
            .filter(|t| !t.is_empty())
            .collect();
        out.push(CmCode { code: code.clone(), parent: parent_code.map(str::to_string), description: description.clone(), inclusion_terms });
        let is_leaf = !node.children().any(|c| c.has_tag_name("diag"));
        if is_leaf {
            if let Some(def) = effective {
                let mut base = code.clone();
                if base.len() == 3 {
                    base.push('.');
                }
                while base.len() < 7 {
                    base.push('X');
                }
                for (ch, text) in def {
                    let ext = format!("{base}{ch}");
                    if code_list.contains(&ext.replace('.', "")) {
                        out.push(CmCode {
                            code: ext,
                            parent: Some(code.clone()),
                            description: format!("{description}, {text}"),
                            inclusion_terms: Vec::new(),
                        });
                    }
                }
            }
        }
        this_code = Some(code);
    }
    let pc = this_code.as_deref().or(if node.has_tag_name("diag") { None } else { parent_code });
    for c in node.children().filter(|c| c.has_tag_name("chapter") || c.has_tag_name("section") || c.has_tag_name("diag")) {
        walk_cm(c, pc, effective, code_list, label, doc, out)?;
    }
    Ok(())
}
