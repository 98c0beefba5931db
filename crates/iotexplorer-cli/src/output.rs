//! Rendering a response as `json`, `text` or `table`, in tccli's layouts, so that scripts
//! written against tccli's output (`awk`, `cut`, `jq`) read ours the same way.
//!
//! - `json`: indented by four spaces, as tccli prints it.
//! - `text`: a line per object, its scalar members tab-separated in sorted key order; an
//!   object inside another starts with its member name in upper case; members of a list of
//!   objects take the columns of every scalar key of the list, empty where absent.
//! - `table`: sections with the action as title, a header of sorted scalar keys, nested
//!   members as indented sections, at most 80 columns (the terminal's width on a
//!   terminal): a wider table is turned into key/value rows as tccli does.
//!
//! Scalars print as Python's `str()` does (`True`, `None`, `1.0`), as tccli prints them.
//!
//! Unlike tccli, nothing the service wrote reaches the terminal as a control character:
//! `json` escapes DEL and C1 characters as JSON escapes (JSON itself escapes the rest,
//! and the document reads back the same), and `text` and `table` write the control
//! characters of names and values out (`\u{1b}`, `\r`) but for tabs and line breaks,
//! which they print as tccli does.

use std::fmt::Write as _;
use std::io;

use serde_json::Value;

/// How to print a successful response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Format {
    /// Indented JSON, the `Response` object without its wrapper.
    #[default]
    Json,
    /// tccli's text layout: tab-separated scalars, a line per object.
    Text,
    /// tccli's tables.
    Table,
}

impl Format {
    pub(crate) fn from_flag(flag: Option<&str>) -> Self {
        flag.and_then(Self::from_name).unwrap_or(Self::Json)
    }

    /// A format named in a profile's configuration, where anything may be written.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "json" => Some(Self::Json),
            "text" => Some(Self::Text),
            "table" => Some(Self::Table),
            _ => None,
        }
    }
}

/// Renders a response (or what `--filter` made of it). `width` is the table's limit.
pub(crate) fn render(value: &Value, format: Format, width: usize) -> String {
    match format {
        // tccli prints nothing at all for a filter that selects nothing.
        Format::Json if value.is_null() => String::new(),
        Format::Json => tccli_json(value),
        Format::Text => {
            let mut out = String::new();
            text::value(&mut out, &printable_value(value), None, None);
            out
        }
        Format::Table => table::render(&printable_value(value), width),
    }
}

/// `value` with the control characters of its strings and member names written out, but
/// for tabs and line breaks, which tccli's layouts print as they are and terminals do not
/// act on beyond moving on.
fn printable_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(printable_in_layout(text)),
        Value::Array(items) => Value::Array(items.iter().map(printable_value).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(name, member)| (printable_in_layout(name), printable_value(member)))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

fn printable_in_layout(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' && c != '\n' {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// A document for stderr, as [`json`] writes it, escaped as [`escape_controls`] does.
pub(crate) fn printable_json(value: &Value) -> String {
    escape_controls(json(value))
}

/// A JSON document with every DEL and C1 character escaped as JSON escapes it
/// (`\u009b`): JSON escapes C0 characters but not those, and either kind on a terminal
/// is an escape sequence's start. It stays valid JSON that reads back the same, for
/// scripts; a raw control character can only stand in a string.
fn escape_controls(text: String) -> String {
    if !text.contains(|c: char| c.is_control() && c != '\n') {
        return text;
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            let _ = write!(escaped, "\\u{:04x}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    escaped
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

/// Indented JSON for the tool's own documents (reports, previews, error envelopes).
pub(crate) fn json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

/// A response as tccli prints it: four spaces of indentation, non-ASCII as is (but for
/// the control characters [`escape_controls`] escapes).
pub(crate) fn tccli_json(value: &Value) -> String {
    use serde::Serialize as _;
    let mut bytes = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
    if value.serialize(&mut serializer).is_err() {
        return printable_json(value);
    }
    let mut text = String::from_utf8(bytes).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    escape_controls(text)
}

/// A scalar as Python's `str()` shows the value `json.loads` made of it.
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
        Value::Number(number) => number
            .as_f64()
            .map_or_else(|| number.to_string(), python_float),
        // Containers are not scalars; tccli never prints them through str().
        other => other.to_string(),
    }
}

/// Python's `repr()` of a float: the shortest digits that read back the same, in fixed
/// notation from 1e-4 to 1e16 (with at least one decimal), in scientific notation
/// (`1e+16`, `1.5e-05`) outside.
pub(crate) fn python_float(number: f64) -> String {
    if number.is_nan() {
        return "nan".to_owned();
    }
    if number.is_infinite() {
        return if number > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: "1.5e-7", "-1e16".
    let scientific = format!("{number:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let fixed = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if digits.len() > point {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            }
        };
        format!("{sign}{fixed}")
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{mantissa}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// tccli's text layout.
mod text {
    use super::*;

    pub(super) fn value(
        out: &mut String,
        item: &Value,
        identifier: Option<&str>,
        scalar_keys: Option<&[String]>,
    ) {
        match item {
            Value::Object(_) => object(out, item, identifier, scalar_keys),
            Value::Array(items) => list(out, items, identifier),
            scalar => {
                out.push_str(&python_str(scalar));
                out.push('\n');
            }
        }
    }

    fn list(out: &mut String, items: &[Value], identifier: Option<&str>) {
        if items.is_empty() {
            return;
        }
        if items.iter().any(Value::is_object) {
            let keys = all_scalar_keys(items);
            for item in items {
                value(out, item, identifier, Some(&keys));
            }
        } else if items.iter().any(Value::is_array) {
            let (scalars, others): (Vec<&Value>, Vec<&Value>) =
                items.iter().partition(|item| is_scalar(item));
            if !scalars.is_empty() {
                scalar_list(out, &scalars, identifier);
            }
            for other in others {
                value(out, other, identifier, None);
            }
        } else {
            let all: Vec<&Value> = items.iter().collect();
            scalar_list(out, &all, identifier);
        }
    }

    fn scalar_list(out: &mut String, items: &[&Value], identifier: Option<&str>) {
        match identifier {
            Some(identifier) => {
                for item in items {
                    let _ = writeln!(out, "{}\t{}", identifier.to_uppercase(), python_str(item));
                }
            }
            None => {
                let cells: Vec<String> = items.iter().map(|item| python_str(item)).collect();
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
        }
    }

    fn object(
        out: &mut String,
        item: &Value,
        identifier: Option<&str>,
        scalar_keys: Option<&[String]>,
    ) {
        let Some(members) = item.as_object() else {
            return;
        };
        let mut scalars = Vec::new();
        let mut nested: Vec<(&str, &Value)> = Vec::new();
        match scalar_keys {
            None => {
                let mut keys: Vec<&String> = members.keys().collect();
                keys.sort();
                for key in keys {
                    let member = &members[key.as_str()];
                    if is_scalar(member) {
                        scalars.push(python_str(member));
                    } else {
                        nested.push((key, member));
                    }
                }
            }
            Some(keys) => {
                for key in keys {
                    scalars.push(members.get(key).map(python_str).unwrap_or_default());
                }
                let mut rest: Vec<&String> =
                    members.keys().filter(|key| !keys.contains(key)).collect();
                rest.sort();
                nested.extend(
                    rest.into_iter()
                        .map(|key| (key.as_str(), &members[key.as_str()])),
                );
            }
        }
        if !scalars.is_empty() {
            if let Some(identifier) = identifier {
                scalars.insert(0, identifier.to_uppercase());
            }
            out.push_str(&scalars.join("\t"));
            out.push('\n');
        }
        for (key, member) in nested {
            value(out, member, Some(key), None);
        }
    }

    /// Every key with a scalar value in any object of the list, sorted.
    fn all_scalar_keys(items: &[Value]) -> Vec<String> {
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|members| {
                members
                    .iter()
                    .filter(|(_, member)| is_scalar(member))
                    .map(|(key, _)| key.clone())
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// tccli's tables.
mod table {
    use super::*;

    /// The title tccli gives the outermost section.
    const TITLE: &str = "action";

    #[derive(Default)]
    struct Section {
        title: String,
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
        indent: usize,
        max_widths: Vec<usize>,
    }

    impl Section {
        fn new(title: &str, indent: usize) -> Self {
            Self {
                title: title.to_owned(),
                indent,
                ..Self::default()
            }
        }

        fn widen(&mut self, cells: &[String]) {
            if self.max_widths.is_empty() {
                self.max_widths = cells.iter().map(|cell| cell.chars().count()).collect();
            } else {
                for (width, cell) in self.max_widths.iter_mut().zip(cells) {
                    *width = (*width).max(cell.chars().count());
                }
            }
        }

        fn add_header(&mut self, headers: Vec<String>) {
            self.widen(&headers);
            self.headers = headers;
        }

        fn add_row(&mut self, row: Vec<String>) {
            self.widen(&row);
            self.rows.push(row);
        }

        fn total_width(&self) -> usize {
            let columns: usize = self.max_widths.iter().map(|width| width + 4).sum();
            let total = columns + 2 + 2 * self.indent;
            total.max(self.title.chars().count() + 2 + 2 * self.indent)
        }

        /// Column widths scaled to fill `max_width`, as tccli computes them (Python's
        /// `round`, which rounds halves to even, then off-by-one corrections).
        fn column_widths(&self, max_width: usize) -> Vec<usize> {
            let unscaled: Vec<usize> = self.max_widths.iter().map(|width| width + 4).collect();
            let sum: usize = unscaled.iter().sum();
            if unscaled.is_empty() || sum == 0 {
                return unscaled;
            }
            let scale = max_width as f64 / sum as f64;
            let mut scaled: Vec<i64> = unscaled
                .iter()
                .map(|width| (scale * *width as f64).round_ties_even() as i64)
                .collect();
            let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
            while off_by != 0 {
                let order: Vec<usize> = if off_by < 0 {
                    (0..scaled.len()).rev().collect()
                } else {
                    (0..scaled.len()).collect()
                };
                for index in order {
                    if off_by > 0 {
                        scaled[index] -= 1;
                        off_by -= 1;
                    } else {
                        scaled[index] += 1;
                        off_by += 1;
                    }
                    if off_by == 0 {
                        break;
                    }
                }
            }
            scaled
                .into_iter()
                .map(|width| usize::try_from(width).unwrap_or(0))
                .collect()
        }
    }

    struct Builder {
        sections: Vec<Section>,
    }

    impl Builder {
        fn current(&mut self) -> &mut Section {
            if self.sections.is_empty() {
                self.sections.push(Section::default());
            }
            let last = self.sections.len() - 1;
            &mut self.sections[last]
        }

        fn build(&mut self, title: Option<&str>, current: &Value, indent: usize) -> bool {
            if current.is_null() {
                return false;
            }
            if let Some(title) = title {
                self.sections.push(Section::new(title, indent));
            }
            match current {
                Value::Array(items) if !items.is_empty() => {
                    if items[0].is_object() {
                        self.list_of_objects(items, indent, title);
                    } else {
                        for item in items {
                            match item {
                                Value::Array(inner) if inner.iter().all(is_scalar) => {
                                    let row = inner.iter().map(python_str).collect();
                                    self.current().add_row(row);
                                }
                                // Python iterates an object's keys here, all of them
                                // scalars: the keys become the row.
                                Value::Object(members) => {
                                    let row = members.keys().cloned().collect();
                                    self.current().add_row(row);
                                }
                                Value::Array(_) => {
                                    self.build(None, item, 0);
                                }
                                scalar => self.current().add_row(vec![python_str(scalar)]),
                            }
                        }
                    }
                }
                Value::Object(_) => self.object(current, indent),
                Value::Array(_) => self.current().add_row(vec!["[]".to_owned()]),
                scalar => self.current().add_row(vec![python_str(scalar)]),
            }
            true
        }

        fn object(&mut self, current: &Value, indent: usize) {
            let Some(members) = current.as_object() else {
                return;
            };
            let (headers, more) = group(members.iter());
            if headers.len() == 1 {
                let key = &headers[0];
                let row = vec![key.clone(), python_str(&members[key.as_str()])];
                self.current().add_row(row);
            } else if !headers.is_empty() {
                let row = headers
                    .iter()
                    .map(|key| python_str(&members[key.as_str()]))
                    .collect();
                self.current().add_header(headers);
                self.current().add_row(row);
            }
            for key in more {
                self.build(Some(&key), &members[key.as_str()], indent + 1);
            }
        }

        fn list_of_objects(&mut self, items: &[Value], indent: usize, title: Option<&str>) {
            let mut headers = Vec::new();
            let mut more = Vec::new();
            for item in items {
                if let Some(members) = item.as_object() {
                    let (h, m) = group(members.iter());
                    headers.extend(h);
                    more.extend(m);
                }
            }
            headers.sort();
            headers.dedup();
            more.sort();
            more.dedup();
            self.current().add_header(headers.clone());
            for (index, item) in items.iter().enumerate() {
                if index > 0 && !more.is_empty() {
                    self.sections
                        .push(Section::new(title.unwrap_or_default(), indent));
                    self.current().add_header(headers.clone());
                }
                // tccli's `element.get(header, '')` fails on an element that is not an
                // object; such elements get an empty row here.
                let members = item.as_object();
                let row = headers
                    .iter()
                    .map(|key| {
                        members
                            .and_then(|m| m.get(key))
                            .map(python_str)
                            .unwrap_or_default()
                    })
                    .collect();
                self.current().add_row(row);
                for key in &more {
                    if let Some(member) = members.and_then(|m| m.get(key)) {
                        self.build(Some(key), member, indent + 1);
                    }
                }
            }
        }
    }

    /// Scalar keys and the others, each sorted.
    fn group<'a>(
        members: impl Iterator<Item = (&'a String, &'a Value)>,
    ) -> (Vec<String>, Vec<String>) {
        let mut headers = Vec::new();
        let mut more = Vec::new();
        for (key, member) in members {
            if is_scalar(member) {
                headers.push(key.clone());
            } else {
                more.push(key.clone());
            }
        }
        headers.sort();
        more.sort();
        (headers, more)
    }

    pub(super) fn render(value: &Value, terminal_width: usize) -> String {
        let mut builder = Builder {
            sections: Vec::new(),
        };
        if !builder.build(Some(TITLE), value, 0) {
            return String::new();
        }
        let mut sections = builder.sections;
        let mut max_width = sections.iter().map(Section::total_width).max().unwrap_or(0);
        if max_width > terminal_width {
            // Too wide: every section of a single row becomes key/value rows.
            for section in &mut sections {
                if section.rows.len() == 1 && !section.headers.is_empty() {
                    let mut vertical = Section::new(&section.title, section.indent);
                    let row = section.rows[0].clone();
                    for (header, cell) in section.headers.iter().zip(row) {
                        vertical.add_row(vec![header.clone(), cell]);
                    }
                    *section = vertical;
                }
            }
            max_width = sections.iter().map(Section::total_width).max().unwrap_or(0);
        }
        let mut out = String::new();
        out.push_str(&"-".repeat(max_width));
        out.push('\n');
        for section in &sections {
            render_section(&mut out, section, max_width);
        }
        out
    }

    fn center(text: &str, length: usize, left: &str, right: &str) -> String {
        let text_length = text.chars().count() as i64;
        let length = length as i64;
        // As in Python, a negative count of spaces is none, yet still counted.
        let start = length.div_euclid(2) - text_length.div_euclid(2) - 1;
        let so_far = left.len() as i64 + start + text_length;
        let right_spaces = length - right.len() as i64 - so_far;
        format!(
            "{left}{}{text}{}{right}",
            " ".repeat(usize::try_from(start).unwrap_or(0)),
            " ".repeat(usize::try_from(right_spaces).unwrap_or(0))
        )
    }

    fn align_left(text: &str, length: usize, left: &str, right: &str) -> String {
        let text_length = text.chars().count();
        let computed = text_length + 2 + left.len() + right.len();
        let padding = if length >= computed { 2 } else { 0 };
        let so_far = left.len() + padding + text_length;
        let rest = length.saturating_sub(so_far + right.len());
        format!(
            "{left}{}{text}{}{right}",
            " ".repeat(padding),
            " ".repeat(rest)
        )
    }

    fn line_break(widths: &[usize]) -> String {
        let mut line = String::new();
        for (index, width) in widths.iter().enumerate() {
            if index == 0 {
                let _ = write!(line, "+{}+", "-".repeat(width.saturating_sub(2)));
            } else {
                let _ = write!(line, "{}+", "-".repeat(width.saturating_sub(1)));
            }
        }
        line
    }

    fn render_section(out: &mut String, section: &Section, max_width: usize) {
        let bars = "|".repeat(section.indent);
        let mut write = |line: &str| {
            let _ = writeln!(out, "{bars}{line}{bars}");
        };
        let max_width = max_width.saturating_sub(section.indent * 2);
        if !section.title.is_empty() {
            write(&center(&section.title, max_width, "|", "|"));
            if section.headers.is_empty() && section.rows.is_empty() {
                write(&format!("+{}+", "-".repeat(max_width.saturating_sub(2))));
            }
        }
        if !section.headers.is_empty() {
            let widths = section.column_widths(max_width);
            let mut line = String::new();
            for (index, (width, header)) in widths.iter().zip(&section.headers).enumerate() {
                let left = if index == 0 { "|" } else { "" };
                line.push_str(&center(header, *width, left, "|"));
            }
            write(&line_break(&widths));
            write(&line);
        }
        if !section.rows.is_empty() {
            let widths = section.column_widths(max_width);
            if widths.is_empty() {
                return;
            }
            write(&line_break(&widths));
            for row in &section.rows {
                let mut line = String::new();
                for (index, (width, cell)) in widths.iter().zip(row).enumerate() {
                    let left = if index == 0 { "|" } else { "" };
                    line.push_str(&align_left(cell, *width, left, "|"));
                }
                write(&line);
            }
            write(&line_break(&widths));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_python_does() {
        for (number, shown) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-2.25, "-2.25"),
            (123456789.125, "123456789.125"),
            (1e22, "1e+22"),
            (9999999999999998.0, "9999999999999998.0"),
        ] {
            assert_eq!(python_float(number), shown, "{number}");
        }
    }

    #[test]
    fn text_lines_follow_tcclis_layout() {
        let value = json!({"TaskId": 7, "Devices": [{"Name": "dev001", "Ok": true}, {"Name": "dev002", "Extra": null}], "RequestId": "r"});
        assert_eq!(
            render(&value, Format::Text, 80),
            "r\t7\nDEVICES\t\tdev001\tTrue\nDEVICES\tNone\tdev002\t\n"
        );
    }
}
