//! Rust source for the code-valued types (the overlay's `enums`): one `#[non_exhaustive]`
//! enum per type that keeps unknown wire values, and the model's `EnumMeta` table
//! describing it.

use std::collections::BTreeSet;

use super::naming::{snake_case, upper_snake_case};
use crate::spec::{EnumCode, EnumOverlay};

/// The static holding an enum's metadata.
pub(crate) fn enum_static(name: &str) -> String {
    format!("{}_ENUM", upper_snake_case(name))
}

/// Whether the enum's values are text rather than numbers.
pub(crate) fn is_text(spec: &EnumOverlay) -> bool {
    spec.values
        .iter()
        .any(|value| matches!(value.value, EnumCode::Text(_)))
}

/// Checks what the generated code relies on: a non-empty list of values of one kind, with
/// distinct codes, distinct variant names and none named `Unknown`.
pub(crate) fn check(name: &str, spec: &EnumOverlay) -> Result<(), String> {
    if spec.values.is_empty() {
        return Err(format!("enum {name} has no values"));
    }
    let text = is_text(spec);
    let mut codes = BTreeSet::new();
    let mut variants = BTreeSet::new();
    for value in &spec.values {
        if matches!(value.value, EnumCode::Text(_)) != text {
            return Err(format!("enum {name} mixes numbers and text"));
        }
        let code = match &value.value {
            EnumCode::Number(number) => number.to_string(),
            EnumCode::Text(text) => text.clone(),
        };
        if !codes.insert(code.clone()) {
            return Err(format!("enum {name} lists the value {code} twice"));
        }
        let valid_name = value
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && value.name.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid_name || value.name == "Unknown" {
            return Err(format!(
                "enum {name}: `{}` is not a usable variant name",
                value.name
            ));
        }
        if !variants.insert(value.name.clone()) {
            return Err(format!(
                "enum {name} names the variant {} twice",
                value.name
            ));
        }
    }
    Ok(())
}

fn doc_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "///\n".to_owned()
            } else {
                format!("/// {line}\n")
            }
        })
        .collect()
}

/// The enum, its impls and its metadata static.
pub(crate) fn source(name: &str, spec: &EnumOverlay) -> String {
    let text = is_text(spec);
    let meta = enum_static(name);
    let mut out = String::new();
    let doc = spec.doc.as_deref().unwrap_or("A code-valued member.");
    out.push_str(&doc_lines(doc));
    out.push_str(&doc_lines(&format!(
        "\nA value this version does not list is kept as [`{name}::Unknown`] and written back \
         unchanged, so a newer service never makes a response undecodable."
    )));
    if text {
        out.push_str("#[derive(Clone, Debug)]\n");
    } else {
        out.push_str("#[derive(Clone, Copy, Debug)]\n");
    }
    out.push_str(&format!("#[non_exhaustive]\npub enum {name} {{\n"));
    for value in &spec.values {
        let code = match &value.value {
            EnumCode::Number(number) => number.to_string(),
            EnumCode::Text(text) => format!("\"{text}\""),
        };
        out.push_str(&doc_lines(&format!("`{code}`: {}", value.doc)));
        out.push_str(&format!("{},\n", value.name));
    }
    let unknown = if text { "String" } else { "i64" };
    out.push_str(&format!(
        "/// A value not listed in the spec, kept as it was received.\nUnknown({unknown}),\n}}\n\n"
    ));

    out.push_str(&format!("impl {name} {{\n"));
    if text {
        let arms: String = spec
            .values
            .iter()
            .map(|value| match &value.value {
                EnumCode::Text(code) => format!("Self::{} => {code:?},\n", value.name),
                EnumCode::Number(_) => String::new(),
            })
            .collect();
        out.push_str(&format!(
            "/// The wire text.\npub fn as_str(&self) -> &str {{\nmatch self {{\n{arms}\
             Self::Unknown(text) => text,\n}}\n}}\n\n"
        ));
        let arms: String = spec
            .values
            .iter()
            .map(|value| match &value.value {
                EnumCode::Text(code) => format!("{code:?} => Self::{},\n", value.name),
                EnumCode::Number(_) => String::new(),
            })
            .collect();
        out.push_str(&format!(
            "/// The variant for this wire text; [`Self::Unknown`] when it is not listed.\n\
             pub fn from_wire(text: &str) -> Self {{\nmatch text {{\n{arms}\
             other => Self::Unknown(other.to_owned()),\n}}\n}}\n\n"
        ));
    } else {
        let arms: String = spec
            .values
            .iter()
            .map(|value| match &value.value {
                EnumCode::Number(code) => format!("Self::{} => {code},\n", value.name),
                EnumCode::Text(_) => String::new(),
            })
            .collect();
        out.push_str(&format!(
            "/// The wire number.\npub const fn code(&self) -> i64 {{\nmatch self {{\n{arms}\
             Self::Unknown(code) => *code,\n}}\n}}\n\n"
        ));
        let arms: String = spec
            .values
            .iter()
            .map(|value| match &value.value {
                EnumCode::Number(code) => format!("{code} => Self::{},\n", value.name),
                EnumCode::Text(_) => String::new(),
            })
            .collect();
        out.push_str(&format!(
            "/// The variant for this wire number; [`Self::Unknown`] when it is not listed.\n\
             pub const fn from_code(code: i64) -> Self {{\nmatch code {{\n{arms}\
             other => Self::Unknown(other),\n}}\n}}\n\n"
        ));
    }
    let names: String = spec
        .values
        .iter()
        .map(|value| format!("Self::{0} => {0:?},\n", value.name))
        .collect();
    out.push_str(&format!(
        "/// The variant's name, e.g. `{}`; `Unknown` for a value not listed.\n\
         pub fn name(&self) -> &'static str {{\nmatch self {{\n{names}Self::Unknown(_) => \"Unknown\",\n}}\n}}\n\n",
        spec.values[0].name
    ));
    let docs: String = spec
        .values
        .iter()
        .map(|value| format!("Self::{} => {:?},\n", value.name, value.doc))
        .collect();
    out.push_str(&format!(
        "/// English description of the value; empty for a value not listed.\n\
         pub fn doc(&self) -> &'static str {{\nmatch self {{\n{docs}Self::Unknown(_) => \"\",\n}}\n}}\n\n"
    ));
    out.push_str(&format!(
        "/// The documented values of this type.\npub fn meta() -> &'static EnumMeta {{\n&{meta}\n}}\n"
    ));
    let flags: BTreeSet<&String> = spec
        .values
        .iter()
        .flat_map(|value| value.flags.keys())
        .collect();
    for flag in flags {
        let flagged: Vec<_> = spec
            .values
            .iter()
            .filter(|value| value.flags.get(flag).copied().unwrap_or(false))
            .collect();
        let set: Vec<String> = flagged
            .iter()
            .map(|value| format!("Self::{}", value.name))
            .collect();
        // Matched on the wire value, so `Unknown(code)` of a listed code agrees with its
        // variant, as equality does.
        let codes: Vec<String> = flagged
            .iter()
            .map(|value| match &value.value {
                EnumCode::Number(number) => number.to_string(),
                EnumCode::Text(text) => format!("{text:?}"),
            })
            .collect();
        let words = flag.replace('_', " ");
        let subject = if text { "self.as_str()" } else { "self.code()" };
        let body = if codes.is_empty() {
            "false".to_owned()
        } else {
            format!("matches!({subject}, {})", codes.join(" | "))
        };
        out.push_str(&format!(
            "\n/// Whether the value is {words}: {}. Other values, unknown ones included, are not.\n\
             pub fn is_{}(&self) -> bool {{\n{body}\n}}\n",
            set.iter()
                .map(|variant| format!("[`{variant}`]"))
                .collect::<Vec<_>>()
                .join(", ")
                .replace("Self::", &format!("{name}::")),
            snake_case(flag),
        ));
    }
    out.push_str("}\n\n");

    if text {
        out.push_str(&format!(
            "impl PartialEq for {name} {{\nfn eq(&self, other: &Self) -> bool {{\n\
             self.as_str() == other.as_str()\n}}\n}}\n\nimpl Eq for {name} {{}}\n\n\
             impl std::hash::Hash for {name} {{\nfn hash<H: std::hash::Hasher>(&self, state: &mut H) {{\n\
             self.as_str().hash(state);\n}}\n}}\n\n\
             impl From<&str> for {name} {{\nfn from(text: &str) -> Self {{\nSelf::from_wire(text)\n}}\n}}\n\n\
             impl From<String> for {name} {{\nfn from(text: String) -> Self {{\nSelf::from_wire(&text)\n}}\n}}\n\n\
             impl From<{name}> for String {{\nfn from(value: {name}) -> Self {{\nvalue.as_str().to_owned()\n}}\n}}\n\n\
             impl std::fmt::Display for {name} {{\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n\
             f.write_str(self.as_str())\n}}\n}}\n\n\
             impl Serialize for {name} {{\nfn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n\
             serializer.serialize_str(self.as_str())\n}}\n}}\n\n\
             impl<'de> Deserialize<'de> for {name} {{\nfn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
             crate::code_value::deserialize_text(deserializer).map(|text| Self::from_wire(&text))\n}}\n}}\n\n"
        ));
    } else {
        out.push_str(&format!(
            "impl PartialEq for {name} {{\nfn eq(&self, other: &Self) -> bool {{\n\
             self.code() == other.code()\n}}\n}}\n\nimpl Eq for {name} {{}}\n\n\
             impl std::hash::Hash for {name} {{\nfn hash<H: std::hash::Hasher>(&self, state: &mut H) {{\n\
             self.code().hash(state);\n}}\n}}\n\n\
             impl From<i64> for {name} {{\nfn from(code: i64) -> Self {{\nSelf::from_code(code)\n}}\n}}\n\n\
             impl From<{name}> for i64 {{\nfn from(value: {name}) -> Self {{\nvalue.code()\n}}\n}}\n\n\
             impl std::fmt::Display for {name} {{\n\
             /// Writes the wire number, the form the service and the spec use.\n\
             fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n\
             write!(f, \"{{}}\", self.code())\n}}\n}}\n\n\
             impl Serialize for {name} {{\nfn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n\
             serializer.serialize_i64(self.code())\n}}\n}}\n\n\
             impl<'de> Deserialize<'de> for {name} {{\nfn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n\
             crate::code_value::deserialize_code(deserializer).map(Self::from_code)\n}}\n}}\n\n"
        ));
    }

    let values: String = spec
        .values
        .iter()
        .map(|value| {
            let code = match &value.value {
                EnumCode::Number(number) => format!("WireCode::Number({number})"),
                EnumCode::Text(text) => format!("WireCode::Text({text:?})"),
            };
            format!(
                "        EnumValueMeta::new({code}, {:?}, {:?}),\n",
                value.name, value.doc
            )
        })
        .collect();
    out.push_str(&format!(
        "pub(crate) static {meta}: EnumMeta = EnumMeta {{\n    name: {name:?},\n    doc: {doc:?},\n    \
         closed: {},\n    values: &[\n{values}    ],\n}};\n\n",
        spec.closed
    ));
    out
}

/// The `one_of` rule a closed enum imposes on request members, as a constraint literal.
pub(crate) fn one_of_literal(spec: &EnumOverlay) -> String {
    if is_text(spec) {
        let values: Vec<String> = spec
            .values
            .iter()
            .filter_map(|value| match &value.value {
                EnumCode::Text(text) => Some(format!("{text:?}")),
                EnumCode::Number(_) => None,
            })
            .collect();
        format!("Constraint::OneOfText(&[{}])", values.join(", "))
    } else {
        let values: Vec<String> = spec
            .values
            .iter()
            .filter_map(|value| match &value.value {
                EnumCode::Number(number) => Some(number.to_string()),
                EnumCode::Text(_) => None,
            })
            .collect();
        format!("Constraint::OneOf(&[{}])", values.join(", "))
    }
}

/// The `one_of` rule in words, for rustdoc.
pub(crate) fn one_of_text(spec: &EnumOverlay) -> String {
    let values: Vec<String> = spec
        .values
        .iter()
        .map(|value| match &value.value {
            EnumCode::Number(number) => number.to_string(),
            EnumCode::Text(text) => format!("`{text}`"),
        })
        .collect();
    format!("one of {}", values.join(", "))
}
