//! Reading a CSV file someone kept in a spreadsheet, for the imports that take one (the ledger, the bulk
//! declaration of tenants): UTF-8 with or without a byte-order mark, comma or tab separated, headers in
//! Chinese or English, and every bad cell reported by line and column, never by its value.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The byte-order mark that makes spreadsheet programs read the file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// A row the import refused, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Rejection {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The column's English name.
    pub column: String,
    pub reason: String,
}

pub fn reject(line: u64, column: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        line,
        column: column.into(),
        reason: reason.into(),
    }
}

/// What makes a spreadsheet read a cell as a formula (or, for a tab or carriage return, hides one).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell as exported: one that begins with a formula trigger gets a leading `'`, so that a property
/// named `=HYPERLINK(..)` is shown as text, never run. Numeric columns are written as plain numbers and
/// never guarded: the export formats them from numbers itself, and a number such as a basement's floor
/// `-1` is not a formula.
pub fn guard_formula(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_TRIGGERS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A cell as imported: the export's `'` guard removed again. A `'` before anything but a formula trigger
/// is the cell's own text and stays. Applied to every column, so a number some tool guarded reads too.
fn unguard_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_TRIGGERS) => rest,
        _ => cell,
    }
}

/// A file's columns: the English key and a Chinese name. A key may be listed more than once, under each
/// name a spreadsheet may give it; a header reads `中文(english)`, the English key or a Chinese name.
pub type Columns = &'static [(&'static str, &'static str)];

/// One data line of an imported file, by column key.
pub struct Line {
    pub number: u64,
    fields: HashMap<&'static str, String>,
}

impl Line {
    /// The cell of a column, trimmed and without the export's formula guard; empty when there is none.
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).map(|s| unguard_formula(s).trim()).unwrap_or("")
    }
}

/// Finds each column's position from the header: `中文(english)`, the English key or a Chinese name.
fn column_positions(header: &csv::StringRecord, columns: Columns) -> HashMap<&'static str, usize> {
    let mut positions = HashMap::new();
    for (index, title) in header.iter().enumerate() {
        let title = title.trim().trim_start_matches('\u{feff}').trim();
        let inner = title
            .rsplit_once(['(', '（'])
            .map(|(_, rest)| rest.trim_end_matches([')', '）']).trim())
            .unwrap_or(title);
        if let Some((key, _)) = columns
            .iter()
            .find(|(en, zh)| *en == inner || *en == title || *zh == title)
        {
            positions.entry(*key).or_insert(index);
        }
    }
    positions
}

/// Parses the file into lines, or rejects it whole when `required` columns are missing or a row cannot be
/// read. The separator is a tab when the header holds one, else a comma.
pub fn read_lines(bytes: &[u8], columns: Columns, required: &[&str]) -> Result<Vec<Line>, Vec<Rejection>> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| vec![reject(1, "header", format!("unreadable header: {e}"))])?
        .clone();
    let positions = column_positions(&header, columns);
    let missing: Vec<Rejection> = required
        .iter()
        .filter(|c| !positions.contains_key(*c))
        .map(|c| reject(1, c, "the header lacks this column"))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut lines = Vec::new();
    let mut rejections = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let number = record.position().map(|p| p.line()).unwrap_or(0);
                let mut fields = HashMap::new();
                for (key, index) in &positions {
                    if let Some(value) = record.get(*index) {
                        fields.insert(*key, value.to_owned());
                    }
                }
                lines.push(Line { number, fields });
            }
            Err(e) => {
                let number = e.position().map(|p| p.line()).unwrap_or(0);
                rejections.push(reject(number, "row", format!("unreadable row: {e}")));
            }
        }
    }
    if rejections.is_empty() {
        Ok(lines)
    } else {
        Err(rejections)
    }
}

/// The rejections of a request type's `validator` rules (or of a 422 the API would answer), by column:
/// `field_columns` maps each field (`part.field`, or the field alone when `part` is empty) to its column.
/// The messages name what is expected, never the value.
pub fn rule_rejections(
    line: u64,
    part: &str,
    checked: Result<(), ApiError>,
    field_columns: &[(&str, &'static str)],
) -> Vec<Rejection> {
    let Err(ApiError::Validation(fields)) = checked else {
        return Vec::new();
    };
    fields
        .into_iter()
        .map(|f| {
            let key = if part.is_empty() {
                f.field.clone()
            } else {
                format!("{part}.{}", f.field)
            };
            let column = field_columns
                .iter()
                .find(|(field, _)| *field == key)
                .map(|(_, column)| *column)
                .unwrap_or("row");
            reject(line, column, f.message)
        })
        .collect()
}

/// Adds `found` to `rejected`, leaving out a column already rejected on the line (a cell missing or not of
/// its type is not named twice).
pub fn add_new_columns(rejected: &mut Vec<Rejection>, found: Vec<Rejection>) {
    for rejection in found {
        if !rejected
            .iter()
            .any(|r| r.line == rejection.line && r.column == rejection.column)
        {
            rejected.push(rejection);
        }
    }
}

/// Reads one cell as a typed value; a cell that does not parse is rejected with what was expected.
pub fn typed<T: std::str::FromStr>(
    line: &Line,
    key: &'static str,
    expected: &str,
    rejected: &mut Vec<Rejection>,
) -> Option<T> {
    let parsed = line.get(key).parse().ok();
    if parsed.is_none() {
        rejected.push(reject(line.number, key, expected.to_owned()));
    }
    parsed
}

/// The reason for a cell that names none of `all`.
pub fn allowed<T: std::fmt::Display>(all: &[T]) -> String {
    let names: Vec<String> = all.iter().map(ToString::to_string).collect();
    format!("must be one of: {}", names.join(", "))
}

/// Whether an import's work is kept, as every import decides it: never on a dry run, and with rejected lines
/// only when `partial` asks for the good ones alone. Sorts the rejections by line for the report.
pub fn settle(rejected: &mut [Rejection], dry_run: bool, partial: bool) -> bool {
    rejected.sort_by_key(|r| r.line);
    !dry_run && (partial || rejected.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_guarded_and_unguarded() {
        for text in ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx"] {
            let guarded = guard_formula(text);
            assert_eq!(guarded, format!("'{text}"));
            assert_eq!(unguard_formula(&guarded), text);
        }
        for text in ["陈氏出租楼", "'quoted", "a=b", "", "1"] {
            assert_eq!(guard_formula(text), text);
            assert_eq!(unguard_formula(text), text);
        }
    }
}
