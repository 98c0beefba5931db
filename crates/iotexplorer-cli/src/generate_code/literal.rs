//! Values written as source text of each language, escaped so that any member value
//! (quotes, backslashes, line breaks, Chinese) reads back exactly.

use std::fmt::Write as _;

use serde_json::Value;

/// A string literal of Rust (Rust's own escaping).
pub(crate) fn rust_str(text: &str) -> String {
    format!("{text:?}")
}

/// A JSON string literal, which is also a valid string literal of Python and JavaScript.
pub(crate) fn json_str(text: &str) -> String {
    Value::from(text).to_string()
}

/// The keywords a language spells JSON's `true`, `false` and `null` with.
#[derive(Clone, Copy)]
pub(crate) struct Keywords {
    pub(crate) true_: &'static str,
    pub(crate) false_: &'static str,
    pub(crate) null: &'static str,
}

pub(crate) const PYTHON: Keywords = Keywords {
    true_: "True",
    false_: "False",
    null: "None",
};

pub(crate) const JAVASCRIPT: Keywords = Keywords {
    true_: "true",
    false_: "false",
    null: "null",
};

/// A JSON value as a Python or JavaScript literal, one member per line, nested lines
/// indented by `step` spaces more than `indent`.
pub(crate) fn data_literal(
    value: &Value,
    keywords: Keywords,
    indent: usize,
    step: usize,
) -> String {
    let mut out = String::new();
    write_data(&mut out, value, keywords, indent, step);
    out
}

fn write_data(out: &mut String, value: &Value, keywords: Keywords, indent: usize, step: usize) {
    let inner = " ".repeat(indent + step);
    let outer = " ".repeat(indent);
    match value {
        Value::Null => out.push_str(keywords.null),
        Value::Bool(true) => out.push_str(keywords.true_),
        Value::Bool(false) => out.push_str(keywords.false_),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => out.push_str(&json_str(text)),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push_str("[\n");
            for item in items {
                out.push_str(&inner);
                write_data(out, item, keywords, indent + step, step);
                out.push_str(",\n");
            }
            out.push_str(&outer);
            out.push(']');
        }
        Value::Object(members) if members.is_empty() => out.push_str("{}"),
        Value::Object(members) => {
            out.push_str("{\n");
            for (name, member) in members {
                let _ = write!(out, "{inner}{}: ", json_str(name));
                write_data(out, member, keywords, indent + step, step);
                out.push_str(",\n");
            }
            out.push_str(&outer);
            out.push('}');
        }
    }
}

/// A Go string literal holding `text`: raw (between backquotes) when it can be, else
/// interpreted with escapes.
pub(crate) fn go_str(text: &str) -> String {
    if !text.contains('`') && !text.contains('\r') {
        return format!("`{text}`");
    }
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Java string literal holding `text`, in ASCII: every other character as `\uXXXX`, so
/// the source compiles the same in any platform encoding.
pub(crate) fn java_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// A word for a POSIX shell, in single quotes.
pub(crate) fn shell_word(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_and_javascript_literals_spell_keywords_their_way() {
        let value = json!({"A": [true, null], "B": {"C": "x\"y\n"}, "D": [], "E": 1.5});
        assert_eq!(
            data_literal(&value, PYTHON, 0, 4),
            "{\n    \"A\": [\n        True,\n        None,\n    ],\n    \"B\": {\n        \
             \"C\": \"x\\\"y\\n\",\n    },\n    \"D\": [],\n    \"E\": 1.5,\n}"
        );
        assert!(data_literal(&value, JAVASCRIPT, 0, 2).contains("true,\n"));
    }

    #[test]
    fn go_and_java_strings_escape_what_they_must() {
        assert_eq!(go_str(r#"{"A":"b"}"#), r#"`{"A":"b"}`"#);
        assert_eq!(go_str("a`b\"c\\"), "\"a`b\\\"c\\\\\"");
        assert_eq!(java_str("固\"\\"), "\"\\u56fa\\\"\\\\\"");
        assert_eq!(java_str("😀"), "\"\\ud83d\\ude00\"");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
