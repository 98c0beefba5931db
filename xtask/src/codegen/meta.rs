//! Rust source for the metadata tables a generic front end reads.

use super::naming::upper_snake_case;
use super::{Context, Side};
use crate::spec::{ConstraintSpec, MemberShape};

/// The static holding an action's metadata.
pub(crate) fn action_static(action: &str) -> String {
    format!("{}_ACTION", upper_snake_case(action))
}

/// The static holding a structure's metadata.
pub(crate) fn structure_static(name: &str) -> String {
    format!("{}_STRUCTURE", upper_snake_case(name))
}

/// The metadata static of one action.
///
/// Laid out by hand with indentation: rustfmt leaves items holding long string literals
/// exactly as they are written.
pub(crate) fn action(context: &Context<'_>, action: &str) -> Result<String, String> {
    let shape = context.action(action)?;
    let overlay = context.action_overlay(action);
    let status = if shape.status == "deprecated" {
        "Deprecated"
    } else {
        "Online"
    };
    let errors: Vec<String> = shape
        .errors
        .iter()
        .map(|code| format!("{code:?}"))
        .collect();
    let together: Vec<String> = overlay
        .map(|extra| {
            extra
                .together
                .iter()
                .map(|group| format!("&{group:?}"))
                .collect()
        })
        .unwrap_or_default();
    let ordered: Vec<String> = overlay
        .map(|extra| {
            let pairs = extra.ordered.iter();
            pairs
                .map(|pair| format!("OrderedPair::new({:?}, {:?})", pair.earlier, pair.later))
                .collect()
        })
        .unwrap_or_default();
    let members = |side: Side, list: &[MemberShape]| -> String {
        list.iter()
            .map(|member| member_literal(context, action, side, member))
            .collect()
    };
    let lines = [
        format!(
            "pub(crate) static {}: ActionMeta = ActionMeta {{",
            action_static(action)
        ),
        format!("    name: {action:?},"),
        format!("    status: ActionStatus::{status},"),
        format!("    read_only: {},", context.read_only(action)),
        format!("    title_zh: {:?},", context.action_title_zh(action)),
        format!("    doc: {:?},", context.action_doc(action).unwrap_or("")),
        format!("    errors: &[{}],", errors.join(", ")),
        format!(
            "    input: &[\n{}    ],",
            members(Side::Input, &shape.input)
        ),
        format!(
            "    output: &[\n{}    ],",
            members(Side::Output, &shape.output)
        ),
        format!("    together: &[{}],", together.join(", ")),
        format!("    ordered: &[{}],", ordered.join(", ")),
        format!(
            "    calls_per_second: {},",
            context.calls_per_second(action)?
        ),
        "};\n\n".to_owned(),
    ];
    Ok(lines.join("\n"))
}

/// The metadata static of one structure.
pub(crate) fn structure(context: &Context<'_>, name: &str) -> Result<String, String> {
    let shape = context.structure(name)?;
    let usage = match shape.usage.as_str() {
        "in" => "Input",
        "out" => "Output",
        _ => "Both",
    };
    let members: String = shape
        .members
        .iter()
        .map(|member| member_literal(context, name, Side::Structure, member))
        .collect();
    Ok(format!(
        "pub(crate) static {}: StructureMeta = StructureMeta {{\n    name: {name:?},\n    \
         usage: StructureUsage::{usage},\n    members: &[\n{members}    ],\n}};\n\n",
        structure_static(name)
    ))
}

/// `owner` is the action, or for `Side::Structure` the structure, the member belongs to.
fn member_literal(context: &Context<'_>, owner: &str, side: Side, member: &MemberShape) -> String {
    let value_type = match member.member.as_str() {
        "string" => "ValueType::String".to_owned(),
        "date" => "ValueType::Date".to_owned(),
        "datetime_iso" => "ValueType::DateTimeIso".to_owned(),
        "int64" => "ValueType::Int64".to_owned(),
        "uint64" => "ValueType::UInt64".to_owned(),
        "float" => "ValueType::Float".to_owned(),
        "bool" => "ValueType::Bool".to_owned(),
        object => format!("ValueType::Object({object:?})"),
    };
    let mut literal = format!("        MemberMeta::new({:?}, {value_type})", member.name);
    let flags = [
        (member.wire_type == "list", ".list()"),
        (member.required, ".required()"),
        (member.nullable, ".nullable()"),
        (member.disabled, ".disabled()"),
    ];
    for (set, call) in flags {
        if set {
            literal.push_str(call);
        }
    }
    let extra = context.member_overlay(owner, side, &member.name);
    if let Some(doc) = extra.and_then(|extra| extra.doc.as_deref()) {
        literal.push_str(&format!(".doc({doc:?})"));
    }
    if let Some(name) = context.member_name_zh(owner, side, &member.name) {
        literal.push_str(&format!(".zh({name:?})"));
    }
    let mut constraints: Vec<String> = extra
        .map(|extra| extra.constraints.iter().map(constraint_literal).collect())
        .unwrap_or_default();
    let attached = context.member_enum(owner, side, &member.name);
    if let Some((name, spec)) = attached {
        literal.push_str(&format!(".enum_type(&{})", super::enums::enum_static(name)));
        if spec.closed {
            // The enum's values are the rule, so the list is stated once.
            constraints.push(super::enums::one_of_literal(spec));
        }
    }
    if let Some(value) = extra.and_then(|extra| extra.default) {
        literal.push_str(&format!(".default_is({value})"));
    }
    if let Some(max) = extra.and_then(|extra| extra.page_max) {
        literal.push_str(&format!(".page_max({max})"));
    }
    if !constraints.is_empty() {
        literal.push_str(&format!(".constraints(&[{}])", constraints.join(", ")));
    }
    literal.push_str(",\n");
    literal
}

fn constraint_literal(constraint: &ConstraintSpec) -> String {
    match constraint {
        ConstraintSpec::Range { min, max } => {
            format!("Constraint::Range {{ min: {min:?}, max: {max:?} }}")
        }
        ConstraintSpec::OneOf { values } => format!("Constraint::OneOf(&{values:?})"),
        ConstraintSpec::OneOfText { values } => format!("Constraint::OneOfText(&{values:?})"),
        ConstraintSpec::Length { min, max } => {
            format!("Constraint::Length {{ min: {min:?}, max: {max:?} }}")
        }
        ConstraintSpec::HexDigits => "Constraint::HexDigits".to_owned(),
        ConstraintSpec::JsonText => "Constraint::JsonText".to_owned(),
        ConstraintSpec::NonEmpty => "Constraint::NonEmpty".to_owned(),
        ConstraintSpec::ItemCount { min, max } => {
            format!("Constraint::ItemCount {{ min: {min:?}, max: {max:?} }}")
        }
        ConstraintSpec::UniqueItems => "Constraint::UniqueItems".to_owned(),
        ConstraintSpec::NonEmptyItems => "Constraint::NonEmptyItems".to_owned(),
    }
}

/// Human-readable text of a constraint, for rustdoc.
pub(crate) fn constraint_text(constraint: &ConstraintSpec) -> String {
    fn bounds(
        min: Option<impl std::fmt::Display>,
        max: Option<impl std::fmt::Display>,
        unit: &str,
    ) -> String {
        match (min, max) {
            (Some(min), Some(max)) if min.to_string() == max.to_string() => {
                format!("exactly {min}{unit}")
            }
            (Some(min), Some(max)) => format!("between {min} and {max}{unit}"),
            (Some(min), None) => format!("at least {min}{unit}"),
            (None, Some(max)) => format!("at most {max}{unit}"),
            (None, None) => "any".to_owned(),
        }
    }
    match constraint {
        ConstraintSpec::Range { min, max } => bounds(*min, *max, ""),
        ConstraintSpec::OneOf { values } => {
            format!(
                "one of {}",
                values
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        ConstraintSpec::OneOfText { values } => {
            format!(
                "one of {}",
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        ConstraintSpec::Length { min, max } => bounds(*min, *max, " characters"),
        ConstraintSpec::HexDigits => "hexadecimal digits only".to_owned(),
        ConstraintSpec::JsonText => "valid JSON text".to_owned(),
        ConstraintSpec::NonEmpty => "not empty".to_owned(),
        ConstraintSpec::ItemCount { min, max } => bounds(*min, *max, " items"),
        ConstraintSpec::UniqueItems => "no duplicate items".to_owned(),
        ConstraintSpec::NonEmptyItems => "no empty items".to_owned(),
    }
}
