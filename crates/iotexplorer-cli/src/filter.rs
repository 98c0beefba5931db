//! `--filter`: a JMESPath expression applied to the response before it is printed, as
//! tccli applies it (`--filter TaskId --output text` prints the bare task ID).
//!
//! The expression is compiled before anything is sent, so a mistake in it costs no call.

use serde_json::Value;

use crate::failure::Failure;

/// A compiled `--filter` expression.
pub(crate) struct Filter {
    expression: jmespath::Expression<'static>,
}

impl Filter {
    /// Compiles `text`; a malformed expression is a usage error.
    pub(crate) fn compile(text: &str) -> Result<Self, Failure> {
        jmespath::compile(text)
            .map(|expression| Self { expression })
            .map_err(|err| Failure::Usage(format!("--filter {text:?}: {err}")))
    }

    /// The expression's result on `value`.
    pub(crate) fn apply(&self, value: &Value) -> Result<Value, Failure> {
        search(&self.expression, value).map_err(|err| Failure::Usage(format!("--filter: {err}")))
    }
}

/// Evaluates `expression` on `value` (also used by `--waiter`).
pub(crate) fn search(
    expression: &jmespath::Expression<'_>,
    value: &Value,
) -> Result<Value, String> {
    let result = expression.search(value).map_err(|err| err.to_string())?;
    serde_json::to_value(&*result).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_filters_and_projects() {
        let response = json!({
            "TaskId": 1000696,
            "Devices": [
                {"DeviceName": "dev001", "Status": 5},
                {"DeviceName": "dev002", "Status": 3},
                {"DeviceName": "dev003", "Status": 5}
            ]
        });
        let apply = |text: &str| Filter::compile(text).and_then(|f| f.apply(&response));
        assert_eq!(apply("TaskId"), Ok(json!(1000696)));
        assert_eq!(
            apply("Devices[?Status==`5`].DeviceName"),
            Ok(json!(["dev001", "dev003"]))
        );
        assert_eq!(apply("length(Devices)"), Ok(json!(3)));
        assert_eq!(apply("Missing"), Ok(Value::Null));
        assert!(matches!(apply("Devices[?"), Err(Failure::Usage(_))));
    }
}
