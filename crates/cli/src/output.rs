//! How answers are printed: a plain-text table (or `field  value` lines for
//! one object) for people, the API's JSON document for scripts (`--json`),
//! and a spinner on stderr for long waits when stderr is a terminal.

use std::io::IsTerminal as _;
use std::time::Duration;

use serde_json::Value;

/// A table: a header row and rows of cells, columns padded to their widest
/// cell, separated by two spaces.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_uppercase()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, or `empty` (and a newline) when it has no rows.
    pub fn render_or(&self, empty: &str) -> String {
        if self.is_empty() {
            format!("{empty}\n")
        } else {
            self.render()
        }
    }

    /// The table as text, one line per row, with a trailing newline.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(width - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The `items` of a list answer as a table: one row per item, the `fields`
/// as columns under `header`; `empty` when there are none.
pub fn item_table(v: &Value, header: &[&str], fields: &[&str], empty: &str) -> String {
    let mut t = Table::new(header);
    for item in items(v) {
        t.row(fields.iter().map(|f| cell(item, f)).collect());
    }
    t.render_or(empty)
}

/// `name  value` lines for the fields of one object, names padded.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

/// A JSON field as text: strings without quotes, `null` and absent as `-`.
pub fn cell(v: &Value, name: &str) -> String {
    text(v.get(name).unwrap_or(&Value::Null))
}

/// A JSON value as text: strings without quotes, `null` as `-`.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `items` array of a page or list answer.
pub fn items(v: &Value) -> &[Value] {
    v.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Prints `value` as one JSON document.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A spinner on stderr while something slow happens; nothing when stderr
/// is not a terminal. Cleared when dropped.
pub struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    /// Starts a spinner with `message`.
    pub fn start(message: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    /// Changes the message.
    pub fn set_message(&self, message: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.to_owned());
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let mut t = Table::new(&["id", "name"]);
        t.row(vec!["1".into(), "Alpha".into()]);
        t.row(vec!["200".into(), "B".into()]);
        assert_eq!(t.render(), "ID   NAME\n1    Alpha\n200  B\n");
    }

    #[test]
    fn fields_line_up() {
        assert_eq!(
            fields(&[("user", "x".into()), ("id", "y".into())]),
            "user  x\nid    y\n"
        );
    }
}
