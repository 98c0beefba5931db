//! The member flags of an action (`--Member VALUE`) and `--cli-input-json`, read into
//! the request's JSON body, each value according to the member's type in the model.

use iotexplorer_model::{MAX_REQUEST_BODY_BYTES, MemberMeta, ValueType};
use serde_json::{Map, Value};

use crate::bounded_read;
use crate::settings::RequestInput;

/// A flag value that cannot be read as its member's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue(pub(crate) String);

/// The request body: `--cli-input-json` first, then every member flag on top of it.
pub(crate) fn request_body(input: &RequestInput) -> Result<Value, BadValue> {
    let mut body = match &input.cli_input_json {
        Some(text) => cli_input_json(text)?,
        None => Map::new(),
    };
    for (member, text) in &input.members {
        body.insert(member.name.to_owned(), member_value(member, text)?);
    }
    Ok(Value::Object(body))
}

/// Reads `--cli-input-json`: JSON text, or `file://PATH` holding it.
pub(crate) fn cli_input_json(input: &str) -> Result<Map<String, Value>, BadValue> {
    let text = match input.strip_prefix("file://") {
        // The input is a request body, so what the service would refuse is not read.
        Some(path) => bounded_read::read_file(path, MAX_REQUEST_BODY_BYTES as u64)
            .map_err(|err| BadValue(format!("--cli-input-json: cannot read {path}: {err}")))?,
        None => input.to_owned(),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(members)) => Ok(members),
        Ok(_) => Err(BadValue(
            "--cli-input-json must be a JSON object".to_owned(),
        )),
        Err(err) => Err(BadValue(format!(
            "--cli-input-json is not valid JSON: {err}"
        ))),
    }
}

/// Reads one flag value: lists and structures as JSON text, scalars as plain text.
pub(crate) fn member_value(member: &MemberMeta, text: &str) -> Result<Value, BadValue> {
    let bad = |expected: &str| BadValue(format!("--{} {text:?}: expected {expected}", member.name));
    if member.list {
        return match serde_json::from_str(text) {
            Ok(list @ Value::Array(_)) => Ok(list),
            _ => Err(bad(&format!(
                "a JSON list of {}, e.g. [\"a\",\"b\"]",
                member.value_type
            ))),
        };
    }
    scalar_value(member.value_type, text, &format!("--{}", member.name))
}

/// Reads the plain text given to `flag` as a value of `value_type`: numbers and booleans
/// (any case) from their text, a structure from JSON text, anything else as the text.
pub(crate) fn scalar_value(
    value_type: ValueType,
    text: &str,
    flag: &str,
) -> Result<Value, BadValue> {
    let bad = |expected: &str| BadValue(format!("{flag} {text:?}: expected {expected}"));
    match value_type {
        ValueType::Int64 => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| bad("an integer")),
        ValueType::UInt64 => text
            .trim()
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| bad("a non-negative integer")),
        ValueType::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| bad("a number")),
        ValueType::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(bad("true or false")),
        },
        ValueType::Object(name) => match serde_json::from_str(text) {
            Ok(object @ Value::Object(_)) => Ok(object),
            _ => Err(bad(&format!("a JSON object ({name})"))),
        },
        _ => Ok(Value::from(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotexplorer_model::find_action;

    fn member(action: &str, name: &str) -> &'static MemberMeta {
        find_action(action)
            .and_then(|meta| meta.input_member(name))
            .expect("member exists")
    }

    #[test]
    fn reads_each_type_from_text() {
        let names = member("BatchUpdateFirmware", "DeviceNames");
        assert_eq!(
            member_value(names, r#"["dev001","dev002"]"#),
            Ok(serde_json::json!(["dev001", "dev002"]))
        );
        assert!(member_value(names, "dev001").is_err());
        let timeout = member("BatchUpdateFirmware", "TimeoutInterval");
        assert_eq!(member_value(timeout, "300"), Ok(Value::from(300)));
        assert!(member_value(timeout, "-1").is_err());
        assert!(member_value(timeout, "3x").is_err());
        let delay = member("BatchUpdateFirmware", "DelayTime");
        assert_eq!(member_value(delay, "-5"), Ok(Value::from(-5)));
        let product = member("BatchUpdateFirmware", "ProductID");
        assert_eq!(member_value(product, "300"), Ok(Value::from("300")));
    }

    #[test]
    fn cli_input_json_must_be_an_object() {
        assert!(cli_input_json(r#"{"ProductID":"P"}"#).is_ok());
        assert!(cli_input_json("[1]").is_err());
        assert!(cli_input_json("{").is_err());
        assert!(cli_input_json("file:///nonexistent/iotexplorer-input.json").is_err());
    }
}
