//! Rendering a response as `json`, `text` or `table`.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

/// How to print a successful response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Format {
    /// Indented JSON, the `Response` object without its wrapper.
    #[default]
    Json,
    /// One `Path<TAB>Value` line per scalar, paths dotted as on the wire (`Devices.0.Name`).
    Text,
    /// Scalars in a two-column table, each list of objects in a table of its own.
    Table,
}

impl Format {
    pub(crate) fn from_flag(flag: Option<&str>) -> Self {
        match flag {
            Some("text") => Self::Text,
            Some("table") => Self::Table,
            _ => Self::Json,
        }
    }
}

pub(crate) fn render(value: &Value, format: Format) -> String {
    match format {
        Format::Json => json(value),
        Format::Text => {
            let mut out = String::new();
            text_lines(&mut out, "", value);
            out
        }
        Format::Table => tables(value),
    }
}

/// Writes `text` to an output stream; a stream that cannot take it is a transport failure.
pub(crate) fn write_out(
    out: &mut dyn io::Write,
    text: &str,
) -> Result<(), crate::failure::Failure> {
    out.write_all(text.as_bytes()).map_err(|err| {
        crate::failure::Failure::Transport(format!("cannot write the output: {err}"))
    })
}

pub(crate) fn json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text_lines(out: &mut String, path: &str, value: &Value) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                text_lines(out, &join(key), member);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                text_lines(out, &join(&index.to_string()), item);
            }
        }
        other => {
            let _ = writeln!(out, "{path}\t{}", scalar(other));
        }
    }
}

fn tables(value: &Value) -> String {
    let Some(members) = value.as_object() else {
        return json(value);
    };
    let mut out = String::new();
    let rows: Vec<Vec<String>> = members
        .iter()
        .filter(|(_, member)| !is_list_of_objects(member))
        .map(|(key, member)| {
            let shown = if member.is_object() || member.is_array() {
                member.to_string()
            } else {
                scalar(member)
            };
            vec![key.clone(), shown]
        })
        .collect();
    draw(&mut out, &["Member".to_owned(), "Value".to_owned()], &rows);
    for (key, member) in members {
        let Some(items) = member.as_array().filter(|_| is_list_of_objects(member)) else {
            continue;
        };
        let mut columns: Vec<String> = Vec::new();
        for item in items.iter().filter_map(Value::as_object) {
            for column in item.keys() {
                if !columns.contains(column) {
                    columns.push(column.clone());
                }
            }
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| {
                columns
                    .iter()
                    .map(|column| match item.get(column) {
                        Some(cell @ (Value::Object(_) | Value::Array(_))) => cell.to_string(),
                        Some(cell) => scalar(cell),
                        None => String::new(),
                    })
                    .collect()
            })
            .collect();
        let _ = writeln!(out, "\n{key} ({} items)", items.len());
        draw(&mut out, &columns, &rows);
    }
    out
}

fn is_list_of_objects(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|items| !items.is_empty() && items.iter().all(Value::is_object))
}

fn draw(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let line = |cells: &[String]| -> String {
        let mut text: String = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| {
                let pad = width - cell.chars().count();
                format!("| {cell}{} ", " ".repeat(pad))
            })
            .collect();
        text.push_str("|\n");
        text
    };
    out.push_str(&rule);
    out.push_str(&line(header));
    out.push_str(&rule);
    for row in rows {
        out.push_str(&line(row));
    }
    out.push_str(&rule);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_paths_follow_the_wire_names() {
        let value =
            json!({"TaskId": 7, "Devices": [{"Name": "dev001", "Ok": true}], "RequestId": "r"});
        assert_eq!(
            render(&value, Format::Text),
            "TaskId\t7\nDevices.0.Name\tdev001\nDevices.0.Ok\ttrue\nRequestId\tr\n"
        );
    }

    #[test]
    fn tables_hold_scalars_and_lists_of_objects() {
        let value =
            json!({"Total": 2, "Devices": [{"Name": "dev001"}, {"Name": "dev002", "Status": 3}]});
        let table = render(&value, Format::Table);
        assert!(table.contains("| Total  | 2     |"), "{table}");
        assert!(table.contains("Devices (2 items)"), "{table}");
        assert!(table.contains("| dev002 | 3      |"), "{table}");
    }
}
