//! The `{"Response": {...}}` envelope every answer arrives in.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{Action, ErrorCode};

/// An error the service answered with: `{"Response": {"Error": {"Code", "Message"},
/// "RequestId"}}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The error code.
    pub code: ErrorCode,
    /// The service's message.
    pub message: String,
    /// The request ID, when the service sent one.
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            request_id: None,
        }
    }

    /// The same error carrying `request_id`.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The error in its wire envelope, as a server sends it.
    pub fn to_envelope(&self) -> Value {
        let mut response = json!({"Error": {"Code": self.code.as_str(), "Message": self.message}});
        if let (Some(id), Some(fields)) = (&self.request_id, response.as_object_mut()) {
            fields.insert("RequestId".to_owned(), Value::from(id.as_str()));
        }
        json!({ "Response": response })
    }
}

/// Why a response body did not decode into the expected response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The service answered with an error.
    #[error("the service returned {0}")]
    Api(ApiError),
    /// The body is not a response envelope of the expected shape.
    #[error("malformed response: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
        /// The request ID, when it could still be read.
        request_id: Option<String>,
    },
}

impl DecodeError {
    /// The request ID, when the body carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(error) => error.request_id.as_deref(),
            Self::Malformed { request_id, .. } => request_id.as_deref(),
        }
    }
}

/// Decodes a response body for action `A`: the typed response (read by
/// [`read_success`](crate::read_success)), the service's error, or a description of what
/// is malformed (a member given twice, `Response` or one inside it, is malformed too: no
/// one can say which of the two the service meant). Never panics, whatever the bytes.
///
/// ```
/// use iotexplorer_model::{BatchUpdateFirmwareRequest, DecodeError, decode_response};
///
/// let ok = br#"{"Response": {"TaskId": "1000696", "RequestId": "r-1"}}"#;
/// let response = decode_response::<BatchUpdateFirmwareRequest>(ok)?;
/// assert_eq!(response.task_id, Some(1000696));
///
/// let refused = br#"{"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}, "RequestId": "r-2"}}"#;
/// match decode_response::<BatchUpdateFirmwareRequest>(refused) {
///     Err(DecodeError::Api(error)) => assert!(error.code.is_throttling()),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), DecodeError>(())
/// ```
pub fn decode_response<A: Action>(body: &[u8]) -> Result<A::Response, DecodeError> {
    // A success is read in one pass; anything else is read again, as what it is.
    let misfit = match crate::read_success::<A::Response>(body) {
        Ok(success) => return Ok(success.response),
        Err(misfit) => misfit,
    };
    let response = decode_response_value(body)?;
    Err(DecodeError::Malformed {
        reason: format!("unexpected members: {misfit}"),
        request_id: request_id_of(&response),
    })
}

/// Decodes a response body without knowing its action: the inner `Response` object, or the
/// service's error. Useful for generic front ends. Values are kept as sent (a number sent
/// as a string stays a string); a member given twice, at any depth, makes the body
/// malformed, as it does for [`decode_response`].
pub fn decode_response_value(body: &[u8]) -> Result<Value, DecodeError> {
    let malformed = |reason: &str, request_id: Option<String>| DecodeError::Malformed {
        reason: reason.to_owned(),
        request_id,
    };
    // A member given twice, at any depth, is refused (the typed path refuses a member it
    // knows given twice): no one can say which of the two the service meant.
    let envelope = crate::unambiguous::from_slice(body).map_err(|err| {
        let kind = if err.is_data() {
            "ambiguous"
        } else {
            "not JSON"
        };
        malformed(&format!("{kind}: {err}"), None)
    })?;
    let Value::Object(mut outer) = envelope else {
        return Err(malformed("not a JSON object", None));
    };
    let Some(Value::Object(mut members)) = outer.remove("Response") else {
        return Err(malformed("no `Response` object", None));
    };
    // `null` stands for an absent value (design §4): a success may carry `"Error": null`.
    if members.get("Error").is_some_and(Value::is_null) {
        members.remove("Error");
    }
    let response = Value::Object(members);
    let request_id = request_id_of(&response);
    match response.get("Error") {
        None => Ok(response),
        Some(error) => {
            let code = error.get("Code").and_then(Value::as_str);
            let message = error
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match code {
                Some(code) => Err(DecodeError::Api(ApiError {
                    code: ErrorCode::from(code),
                    message: message.to_owned(),
                    request_id,
                })),
                None => Err(malformed("`Error` without a `Code` string", request_id)),
            }
        }
    }
}

fn request_id_of(response: &Value) -> Option<String> {
    response
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Wraps a response in its wire envelope, as a server sends it.
pub fn encode_response<R: Serialize>(response: &R) -> Result<Value, serde_json::Error> {
    Ok(json!({ "Response": serde_json::to_value(response)? }))
}
