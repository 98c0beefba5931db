//! How a run ends when it does not succeed, and the exit code of each outcome.

use serde_json::{Value, json};

/// Exit code of an API error answered by the service.
pub(crate) const EXIT_API: u8 = 1;
/// Exit code of a usage or validation error: nothing was sent.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code of a network, credential or transport error.
pub(crate) const EXIT_TRANSPORT: u8 = 3;

/// A run that did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// Bad flags or a request that breaks the action's rules; nothing was sent.
    Usage(String),
    /// The service answered with an error.
    Api {
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// No answer: credentials, network, TLS, timeout, a response that is not the API's.
    /// When the request may have been processed, the message says so.
    Transport(String),
    /// A rollout stopped of its own accord, with no error from the service: it found a
    /// state it cannot explain (a batch with two tasks), or left a batch of unknown
    /// outcome to a resume. Exits as an aborted rollout does.
    Stopped(String),
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::Api { .. } | Self::Stopped(_) => EXIT_API,
            Self::Transport(_) => EXIT_TRANSPORT,
        }
    }

    /// What goes to stderr: the error envelope for API errors, a line otherwise.
    pub(crate) fn render(&self) -> String {
        match self {
            Self::Api {
                code,
                message,
                request_id,
            } => {
                let envelope = json!({
                    "Error": {"Code": code, "Message": message},
                    "RequestId": request_id.as_deref().map_or(Value::Null, Value::from),
                });
                crate::output::printable_json(&envelope)
            }
            Self::Usage(message) => format!("usage error: {message}\n"),
            Self::Transport(message) | Self::Stopped(message) => format!("error: {message}\n"),
        }
    }
}
