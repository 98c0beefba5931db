//! `cargo xtask import-tencent PATH`: refreshes the structural part of the spec from
//! Tencent's api.json and errors.json.
//!
//! Only structure is taken over: names, types, required and nullable flags, status and the
//! documented error codes; and, into a file of their own, the Chinese title of each action
//! and a short Chinese name for each member. Prose, examples and the hand-maintained overlay
//! are left alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::ensure::{Mode, ensure_file};
use crate::spec::{
    self, ActionNames, ActionShape, ChineseNames, MemberOverlay, MemberShape, Overlay,
    StructuralSpec, StructureShape, read_json, to_pretty_json,
};

/// The longest member description, in characters, still taken as a short name: anything
/// longer is prose, which stays out of the spec.
const SHORT_NAME_MAX_CHARS: usize = 24;

/// The command that rewrites the structural spec, named in error messages.
pub(crate) const IMPORT_COMMAND: &str = "cargo xtask import-tencent PATH";

/// Imports `reference_dir` into the spec directory `spec_dir`.
///
/// Returns whether the structural file or the names file changed and any warnings about
/// overlay entries that no longer match the imported structure.
pub(crate) fn import(reference_dir: &Path, spec_dir: &Path) -> Result<(bool, Vec<String>), String> {
    let api: Value = read_json(&reference_dir.join("api.json"))?;
    let errors: Value = read_json(&reference_dir.join("errors.json"))?;
    let structural = convert(&api, &errors)?;
    let text = to_pretty_json(&structural)?;
    let structure_changed = ensure_file(
        &spec_dir.join(spec::STRUCTURAL_FILE),
        &text,
        Mode::Write,
        IMPORT_COMMAND,
    )?;
    let names = to_pretty_json(&chinese_names(&api)?)?;
    let names_changed = ensure_file(
        &spec_dir.join(spec::NAMES_FILE),
        &names,
        Mode::Write,
        IMPORT_COMMAND,
    )?;
    let changed = structure_changed || names_changed;
    let overlay: Overlay = read_json(&spec_dir.join(spec::OVERLAY_FILE))?;
    Ok((changed, orphaned_overlay_entries(&structural, &overlay)))
}

/// Turns Tencent's documents into the structural spec.
pub(crate) fn convert(api: &Value, errors: &Value) -> Result<StructuralSpec, String> {
    let objects = field(api, "objects")?;
    let action_errors = field(errors, "action_errors")?;
    let mut actions = BTreeMap::new();
    for (name, action) in object(field(api, "actions")?, "actions")? {
        let input = text(action, "input")?;
        let output = text(action, "output")?;
        let documented = match action_errors.get(name) {
            Some(list) => strings(list, name)?,
            None => Vec::new(),
        };
        actions.insert(
            name.clone(),
            ActionShape {
                status: text(action, "status")?.to_owned(),
                errors: documented,
                input: members(field(objects, input)?)?,
                output: members(field(objects, output)?)?,
            },
        );
    }
    let mut structures = BTreeMap::new();
    for (name, shape) in object(objects, "objects")? {
        // Request and response objects carry `type`; shared structures carry `usage`.
        if let Some(usage) = shape.get("usage").and_then(Value::as_str) {
            structures.insert(
                name.clone(),
                StructureShape {
                    usage: usage.to_owned(),
                    members: members(shape)?,
                },
            );
        }
    }
    let metadata = field(api, "metadata")?;
    let mut error_codes: Vec<String> = object(field(errors, "codes")?, "codes")?
        .keys()
        .cloned()
        .collect();
    error_codes.sort();
    Ok(StructuralSpec {
        service: text(metadata, "serviceShortName")?.to_owned(),
        version: text(metadata, "apiVersion")?.to_owned(),
        actions,
        structures,
        error_codes,
    })
}

/// Takes the Chinese title of every action and a short name for every member out of
/// Tencent's api.json.
pub(crate) fn chinese_names(api: &Value) -> Result<ChineseNames, String> {
    let objects = field(api, "objects")?;
    let mut names = ChineseNames::default();
    for (name, action) in object(field(api, "actions")?, "actions")? {
        let title = action
            .get("name")
            .and_then(Value::as_str)
            .map(|title| collapse_spaces(title.trim()))
            .unwrap_or_default();
        let input = member_names(field(objects, text(action, "input")?)?)?;
        let output = member_names(field(objects, text(action, "output")?)?)?;
        if !title.is_empty() || !input.is_empty() || !output.is_empty() {
            names.actions.insert(
                name.clone(),
                ActionNames {
                    title,
                    input,
                    output,
                },
            );
        }
    }
    for (name, shape) in object(objects, "objects")? {
        if shape.get("usage").is_some() {
            let members = member_names(shape)?;
            if !members.is_empty() {
                names.structures.insert(name.clone(), members);
            }
        }
    }
    Ok(names)
}

fn member_names(shape: &Value) -> Result<BTreeMap<String, String>, String> {
    let list = field(shape, "members")?
        .as_array()
        .ok_or_else(|| "`members` is not a list".to_owned())?;
    let mut names = BTreeMap::new();
    for member in list {
        let document = member.get("document").and_then(Value::as_str).unwrap_or("");
        if let Some(short) = short_name(document) {
            names.insert(text(member, "name")?.to_owned(), short);
        }
    }
    Ok(names)
}

/// The short name at the start of a member's Chinese description: the text before the
/// first clause break, without markup. `None` when that is still prose (too long) or holds
/// no Chinese, since then it names nothing a Chinese reader would search for.
pub(crate) fn short_name(document: &str) -> Option<String> {
    let plain = strip_markup(document);
    let first_clause = plain
        .trim_start()
        .split(['，', ',', '。', '；', ';', '：', ':', '（', '(', '\n'])
        .next()
        .unwrap_or("");
    // Two spaces in a row end a clause too (`通道ID  非NVR设备则不填`).
    let first_clause = first_clause.split("  ").next().unwrap_or("");
    let name = collapse_spaces(first_clause.trim());
    let has_chinese = name.chars().any(is_cjk);
    let length = name.chars().count();
    (has_chinese && length <= SHORT_NAME_MAX_CHARS).then_some(name)
}

/// Text without HTML tags and with the few entities Tencent's documents use decoded.
fn strip_markup(document: &str) -> String {
    let mut plain = String::with_capacity(document.len());
    let mut in_tag = false;
    for c in document.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                // A tag separates words the way a line break does.
                plain.push('\n');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    plain
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `c` is a CJK ideograph (the unified block and its first extension).
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

fn members(shape: &Value) -> Result<Vec<MemberShape>, String> {
    let list = field(shape, "members")?
        .as_array()
        .ok_or_else(|| "`members` is not a list".to_owned())?;
    list.iter()
        .map(|member| {
            Ok(MemberShape {
                name: text(member, "name")?.to_owned(),
                wire_type: text(member, "type")?.to_owned(),
                member: text(member, "member")?.to_owned(),
                required: flag(member, "required"),
                nullable: flag(member, "value_allowed_null"),
                disabled: flag(member, "disabled"),
            })
        })
        .collect()
}

/// Overlay entries naming an action or member the structure no longer has.
pub(crate) fn orphaned_overlay_entries(
    structural: &StructuralSpec,
    overlay: &Overlay,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, extra) in &overlay.actions {
        let Some(action) = structural.actions.get(name) else {
            warnings.push(format!("overlay describes unknown action {name}"));
            continue;
        };
        let sides = [
            ("input", &extra.input, &action.input),
            ("output", &extra.output, &action.output),
        ];
        for (side, documented, actual) in sides {
            for member in documented.keys() {
                if !actual.iter().any(|m| &m.name == member) {
                    warnings.push(format!(
                        "overlay describes unknown {side} member {name}.{member}"
                    ));
                }
            }
        }
        let grouped = extra.together.iter().flatten();
        let ordered = extra
            .ordered
            .iter()
            .flat_map(|pair| [&pair.earlier, &pair.later]);
        for member in grouped.chain(ordered) {
            if !action.input.iter().any(|m| &m.name == member) {
                warnings.push(format!("overlay rule names unknown member {name}.{member}"));
            }
        }
        let typed = extra.input.iter().chain(&extra.output);
        warnings.extend(unknown_enums(overlay, name, typed));
    }
    for (name, extra) in &overlay.structures {
        let Some(structure) = structural.structures.get(name) else {
            warnings.push(format!("overlay describes unknown structure {name}"));
            continue;
        };
        for member in extra.members.keys() {
            if !structure.members.iter().any(|m| &m.name == member) {
                warnings.push(format!(
                    "overlay describes unknown structure member {name}.{member}"
                ));
            }
        }
        warnings.extend(unknown_enums(overlay, name, extra.members.iter()));
    }
    warnings
}

/// Members of `owner` whose `enum` names no enum of the overlay.
fn unknown_enums<'a>(
    overlay: &'a Overlay,
    owner: &'a str,
    members: impl Iterator<Item = (&'a String, &'a MemberOverlay)> + 'a,
) -> impl Iterator<Item = String> + 'a {
    members.filter_map(move |(member, extra)| {
        let enum_name = extra.enum_type.as_deref()?;
        (!overlay.enums.contains_key(enum_name))
            .then(|| format!("overlay member {owner}.{member} names unknown enum {enum_name}"))
    })
}

fn field<'a>(value: &'a Value, key: &str) -> Result<&'a Value, String> {
    value
        .get(key)
        .ok_or_else(|| format!("missing field `{key}`"))
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    field(value, key)?
        .as_str()
        .ok_or_else(|| format!("field `{key}` is not a string"))
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("`{what}` is not an object"))
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|list| list.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| format!("error list of `{what}` is not a list of strings"))
}
