//! `cargo xtask import-tencent PATH`: refreshes the structural part of the spec from
//! Tencent's api.json and errors.json.
//!
//! Only structure is taken over: names, types, required and nullable flags, status and the
//! documented error codes. Prose, examples and the hand-maintained overlay are left alone.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::ensure::{Mode, ensure_file};
use crate::spec::{
    self, ActionShape, MemberShape, Overlay, StructuralSpec, StructureShape, read_json,
    to_pretty_json,
};

/// The command that rewrites the structural spec, named in error messages.
pub(crate) const IMPORT_COMMAND: &str = "cargo xtask import-tencent PATH";

/// Imports `reference_dir` into the spec directory `spec_dir`.
///
/// Returns whether the structural file changed and any warnings about overlay entries that
/// no longer match the imported structure.
pub(crate) fn import(reference_dir: &Path, spec_dir: &Path) -> Result<(bool, Vec<String>), String> {
    let api: Value = read_json(&reference_dir.join("api.json"))?;
    let errors: Value = read_json(&reference_dir.join("errors.json"))?;
    let structural = convert(&api, &errors)?;
    let text = to_pretty_json(&structural)?;
    let changed = ensure_file(
        &spec_dir.join(spec::STRUCTURAL_FILE),
        &text,
        Mode::Write,
        IMPORT_COMMAND,
    )?;
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
    }
    warnings
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
