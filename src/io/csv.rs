//! The one CSV reader: the catalogue's `cie` table and the user's `.csv` documents.
//!
//! RFC 4180 (quoted fields, `""` for a quote, newlines inside quotes) plus what hand-typed files
//! do: a quote after blanks still opens a quoted field (`a, "b, c"` is two fields) and the
//! separator is chosen by the caller (`,` or `;`). Written here rather than taken from the `csv`
//! crate because that crate silently accepts a quoted field that never closes
//! (BurntSushi/rust-csv#252), swallowing the rest of a user's file into one field, where we must
//! name the line instead.

/// One record and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRecord {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A quoted field opened on `line` never closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnterminatedQuote {
    pub line: usize,
}

/// Records of `text` (a leading byte-order mark is skipped; `\r` outside quotes is dropped).
/// Blank lines come back as records of one empty field: callers decide what an empty row means.
pub fn read_records(text: &str, sep: char) -> Result<Vec<CsvRecord>, UnterminatedQuote> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut start_line, mut quote_line) = (1, 1, 0);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
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
            c if c == sep => fields.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push(CsvRecord { line: start_line, fields: std::mem::take(&mut fields) });
                line += 1;
                start_line = line;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(UnterminatedQuote { line: quote_line });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(CsvRecord { line: start_line, fields });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str, sep: char) -> Vec<Vec<String>> {
        read_records(text, sep).unwrap().into_iter().map(|r| r.fields).collect()
    }

    #[test]
    fn quotes_escapes_newlines_and_lines() {
        let text = "\u{feff}code,description\r\nA00,\"Cólera, \"\"clásico\"\"\"\nA01, \"dos\nlíneas\"\nA02,x";
        let recs = read_records(text, ',').unwrap();
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 2, 3, 5]);
        assert_eq!(recs[1].fields, vec!["A00", "Cólera, \"clásico\""]);
        assert_eq!(recs[2].fields, vec!["A01", "dos\nlíneas"]);
        assert_eq!(recs[3].fields, vec!["A02", "x"]);
    }

    #[test]
    fn separator_blank_lines_and_literal_quotes() {
        assert_eq!(fields("a;b\n\n1;5\" tall\n", ';'), vec![vec!["a", "b"], vec![""], vec!["1", "5\" tall"]]);
    }

    #[test]
    fn an_unterminated_quote_names_its_line() {
        assert_eq!(read_records("a,b\n1,2\n3,\"open\n4\n", ','), Err(UnterminatedQuote { line: 3 }));
    }
}
