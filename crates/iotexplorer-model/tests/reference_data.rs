//! Checks against Tencent's published data: every example decodes and re-encodes without
//! losing a member, and the generated metadata agrees with api.json and errors.json.
//!
//! Skipped (with a note) when `IOTEXPLORER_REFERENCE_DIR` is not set.

mod support;

use std::path::Path;

use iotexplorer_model::{
    ActionStatus, DecodeError, ErrorCode, MemberMeta, decode_response_value, find_action,
    find_structure, from_value_lenient,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use support::reference::reference_dir;

fn load(dir: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).expect("read reference file");
    serde_json::from_str(&text).expect("parse reference file")
}

/// Decodes `value` leniently as `T` and encodes it again.
fn reencode<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = from_value_lenient(value.clone()).map_err(|err| err.to_string())?;
    serde_json::to_value(&typed).map_err(|err| err.to_string())
}

macro_rules! dispatch {
    ($($name:ident => $request:ty, $response:ty;)*) => {
        fn reencode_response(action: &str, response: &Value) -> Result<Value, String> {
            match action {
                $(stringify!($name) => reencode::<$response>(response),)*
                other => Err(format!("no response type for {other}")),
            }
        }

        fn reencode_request(action: &str, request: &Value) -> Result<Value, String> {
            match action {
                $(stringify!($name) => reencode::<$request>(request),)*
                other => Err(format!("no request type for {other}")),
            }
        }
    };
}

iotexplorer_model::for_each_action!(dispatch);

/// Whether `number` and the text `text` denote the same number.
fn same_number(number: &serde_json::Number, text: &str) -> bool {
    match (number.as_f64(), text.trim().parse::<f64>()) {
        (Some(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Checks that everything in `original` survives in `reencoded`, allowing the lenient
/// coercions (numbers sent as strings and back) and dropping `null`s.
fn covers(original: &Value, reencoded: Option<&Value>, path: &str) -> Result<(), String> {
    let lost = || Err(format!("{path}: {original} became {reencoded:?}"));
    match (original, reencoded) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (Value::Object(fields), Some(Value::Object(other))) => fields
            .iter()
            .try_for_each(|(key, value)| covers(value, other.get(key), &format!("{path}.{key}"))),
        (Value::Array(items), Some(Value::Array(other))) if items.len() == other.len() => items
            .iter()
            .zip(other)
            .enumerate()
            .try_for_each(|(index, (a, b))| covers(a, Some(b), &format!("{path}[{index}]"))),
        (Value::String(a), Some(Value::String(b))) if a == b => Ok(()),
        (Value::String(text), Some(Value::Number(number)))
        | (Value::Number(number), Some(Value::String(text)))
            if same_number(number, text) =>
        {
            Ok(())
        }
        (Value::Number(a), Some(Value::Number(b))) if a.as_f64() == b.as_f64() => Ok(()),
        (Value::Bool(a), Some(Value::Bool(b))) if a == b => Ok(()),
        (Value::Bool(a), Some(Value::String(b))) if a.to_string() == *b => Ok(()),
        _ => lost(),
    }
}

/// `(action, example)` for every example.
fn examples(dir: &Path) -> Vec<(String, Value)> {
    let examples = load(dir, "examples.json");
    let actions = examples["actions"].as_object().expect("examples by action");
    actions
        .iter()
        .flat_map(|(action, list)| {
            list.as_array()
                .expect("list of examples")
                .iter()
                .map(move |example| (action.clone(), example.clone()))
        })
        .collect()
}

#[test]
fn every_example_output_decodes_and_reencodes_without_loss() {
    let Some(dir) = reference_dir() else { return };
    let mut checked = 0;
    let mut api_errors = 0;
    let mut failures = Vec::new();
    for (action, example) in examples(&dir) {
        let output = example["output"].as_str().expect("output text");
        let envelope: Value = serde_json::from_str(output).expect("output is JSON");
        let result = match decode_response_value(output.as_bytes()) {
            Ok(response) => reencode_response(&action, &response)
                .and_then(|again| covers(&envelope["Response"], Some(&again), &action)),
            Err(DecodeError::Api(error)) => {
                api_errors += 1;
                covers(&envelope, Some(&error.to_envelope()), &action)
            }
            Err(other) => Err(format!("{action}: {other}")),
        };
        if let Err(problem) = result {
            failures.push(problem);
        }
        checked += 1;
    }
    assert_eq!(checked, 335);
    assert!(api_errors > 0, "the examples include error responses");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_post_example_input_decodes_as_its_request() {
    let Some(dir) = reference_dir() else { return };
    let mut posts = 0;
    let mut failures = Vec::new();
    for (action, example) in examples(&dir) {
        let input = example["input"].as_str().expect("input text");
        if !input.starts_with("POST") {
            continue;
        }
        let body = input.split_once("\n\n").map_or("", |(_, body)| body);
        let request: Value = serde_json::from_str(body).expect("POST body is JSON");
        if let Err(problem) = reencode_request(&action, &request)
            .and_then(|again| covers(&request, Some(&again), &action))
        {
            failures.push(problem);
        }
        posts += 1;
    }
    assert_eq!(posts, 283);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Compares generated member metadata with api.json's members.
fn same_members(meta: &[MemberMeta], members: &Value, side: &str, owner: &str) {
    let members = members.as_array().expect("member list");
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    let meta_names: Vec<&str> = meta.iter().map(|m| m.name).collect();
    assert_eq!(meta_names, names, "{owner} {side} member names");
    for (generated, member) in meta.iter().zip(members) {
        let context = format!("{owner}.{}", generated.name);
        assert_eq!(generated.list, member["type"] == "list", "{context} list");
        assert_eq!(
            generated.value_type.as_str(),
            member["member"].as_str().expect("member"),
            "{context} type"
        );
        let scalar_matches = match member["type"].as_str().expect("type") {
            "string" => matches!(
                generated.value_type.as_str(),
                "string" | "date" | "datetime_iso"
            ),
            "int" => matches!(generated.value_type.as_str(), "int64" | "uint64"),
            "float" => generated.value_type.as_str() == "float",
            "bool" => generated.value_type.as_str() == "bool",
            "list" | "object" => true,
            other => panic!("{context}: unexpected wire type {other}"),
        };
        assert!(scalar_matches, "{context} wire type");
        assert_eq!(
            generated.required,
            member["required"].as_bool().unwrap_or(false),
            "{context} required"
        );
        assert_eq!(
            generated.nullable,
            member["value_allowed_null"].as_bool().unwrap_or(false),
            "{context} nullable"
        );
    }
}

#[test]
fn metadata_agrees_with_api_json() {
    let Some(dir) = reference_dir() else { return };
    let api = load(&dir, "api.json");
    let actions = api["actions"].as_object().expect("actions");
    let objects = &api["objects"];
    assert_eq!(iotexplorer_model::actions().len(), actions.len());
    for (name, action) in actions {
        let meta = find_action(name).unwrap_or_else(|| panic!("{name} is missing"));
        let deprecated = action["status"] == "deprecated";
        assert_eq!(
            meta.status == ActionStatus::Deprecated,
            deprecated,
            "{name} status"
        );
        let input = action["input"].as_str().expect("input name");
        let output = action["output"].as_str().expect("output name");
        same_members(meta.input, &objects[input]["members"], "input", name);
        same_members(meta.output, &objects[output]["members"], "output", name);
    }
    let mut structures = 0;
    for (name, object) in objects.as_object().expect("objects") {
        if object.get("usage").is_some() {
            let meta =
                find_structure(name).unwrap_or_else(|| panic!("structure {name} is missing"));
            same_members(meta.members, &object["members"], "structure", name);
            structures += 1;
        }
    }
    assert_eq!(iotexplorer_model::structures().len(), structures);
}

#[test]
fn error_codes_and_documented_errors_agree_with_errors_json() {
    let Some(dir) = reference_dir() else { return };
    let errors = load(&dir, "errors.json");
    let codes = errors["codes"].as_object().expect("codes");
    assert_eq!(codes.len(), 271);
    for code in codes.keys() {
        let parsed = ErrorCode::from(code.as_str());
        assert!(
            !matches!(parsed, ErrorCode::Unknown(_)),
            "{code} is not a known variant"
        );
        assert_eq!(parsed.as_str(), code);
    }
    for action in iotexplorer_model::actions() {
        let documented: Vec<&str> = errors["action_errors"][action.name]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(action.errors, documented.as_slice(), "{}", action.name);
    }
}

#[test]
fn coverage_check_notices_lost_and_changed_members() {
    use serde_json::json;
    assert!(covers(&json!({"A": 1}), Some(&json!({})), "x").is_err());
    assert!(covers(&json!({"A": 1}), Some(&json!({"A": 2})), "x").is_err());
    assert!(covers(&json!({"A": [1, 2]}), Some(&json!({"A": [1]})), "x").is_err());
    assert!(covers(&json!({"A": "1", "B": null}), Some(&json!({"A": 1})), "x").is_ok());
}
