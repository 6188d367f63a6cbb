//! The older Spanish catalogue: the `cie` package's CIE-10 table (`cie-10.csv`).
use std::path::Path;

use super::{clean_text, normalize_code};
use crate::io::csv::read_records;
use crate::{format_err, Error, Result};

/// Parse the `cie` CSV (header with at least `code` and `description` columns) into
/// `(normalised code, description)`; ranges/chapters are skipped.
pub fn parse_cie_csv(text: &str, label: &Path) -> Result<Vec<(String, String)>> {
    let records = read_records(text, ',').map_err(|u| Error::parse(label, u.line, "unterminated quoted CSV field"))?;
    let header = &records.first().ok_or_else(|| format_err!("{}: empty CSV", label.display()))?.fields;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| Error::parse(label, 1, format!("CSV header has no {name:?} column: {header:?}")))
    };
    let (ci, di) = (col("code")?, col("description")?);
    let mut out = Vec::new();
    for record in &records[1..] {
        let (line, rec) = (record.line, &record.fields);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let (Some(code), Some(desc)) = (rec.get(ci), rec.get(di)) else {
            return Err(Error::parse(label, line, format!("expected at least {} fields, got {}", ci.max(di) + 1, rec.len())));
        };
        let desc = clean_text(desc);
        if let Some(code) = normalize_code(code) {
            if !desc.is_empty() {
                out.push((code, desc));
            }
        }
    }
    Ok(out)
}
