//! The one error type of the client: what went wrong, for which action, and whether the
//! service may have run the request.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use iotexplorer_model::{ErrorCode, ValidationErrors};

use crate::credentials::CredentialsError;

/// A boxed underlying cause.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which deadline ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Opening the connection (TCP, proxy tunnel and TLS handshake): nothing was sent.
    Connect,
    /// The request, from sending to the last byte of the answer.
    Request,
    /// Waiting, before sending, for the client's rate limit or for credentials: the
    /// call's deadline ran out with nothing sent.
    Waiting,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Request => "request",
            Self::Waiting => "waiting (rate limit or credentials)",
        })
    }
}

/// Everything a call can fail with.
///
/// Every variant that concerns a call names its action; variants that follow an answer
/// carry the service's RequestId when it could be read. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error (HTTP 200 with `Response.Error`).
    #[error(
        "{action}: {}: {}{}",
        printable(code.as_str()),
        printable(message),
        rid(request_id.as_deref())
    )]
    Api {
        /// The action called.
        action: String,
        /// The error code, matchable even when this crate has never seen it.
        code: ErrorCode,
        /// The service's message.
        message: String,
        /// The request ID, when the service sent one.
        request_id: Option<String>,
    },
    /// The request breaks a documented rule; nothing was sent.
    #[error("{action}: invalid request: {errors}")]
    Validation {
        /// The action called.
        action: String,
        /// Every broken rule.
        errors: ValidationErrors,
    },
    /// The action is not in the catalogue; nothing was sent.
    #[error("unknown action `{action}`")]
    UnknownAction {
        /// The name given.
        action: String,
    },
    /// No usable credentials; nothing was sent.
    #[error("{action}: {source}")]
    Credentials {
        /// The action called.
        action: String,
        /// Why no credentials could be had.
        source: CredentialsError,
    },
    /// The request could not be signed (for example a malformed SecretId); nothing was sent.
    #[error("{action}: cannot sign the request: {source}")]
    Signing {
        /// The action called.
        action: String,
        /// What the signer refused.
        source: tc3_sign::SigningError,
    },
    /// A deadline ran out: the call's (see [`ClientBuilder::call_timeout`]) or an
    /// attempt's. For [`TimeoutPhase::Request`] this is only returned for read-only
    /// actions; other actions get [`Error::Ambiguous`], since they may have run.
    ///
    /// [`ClientBuilder::call_timeout`]: crate::ClientBuilder::call_timeout
    #[error("{action}: {phase} timeout after {attempts} attempt(s)")]
    Timeout {
        /// The action called.
        action: String,
        /// Which deadline.
        phase: TimeoutPhase,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The connection could not be opened (DNS, TCP, proxy, TLS): the request was never sent.
    #[error("{action}: cannot connect: {message}")]
    Connect {
        /// The action called.
        action: String,
        /// What failed, without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The server refused the request before processing it: an HTTP/2 server reset its
    /// stream with `REFUSED_STREAM`, or was closing the connection (`GOAWAY`) and left
    /// the stream out. It did not run, so it may be sent again whatever the action; the
    /// client's retries do so, on a new connection after a `GOAWAY`.
    #[error("{action}: the server refused the request before processing it: {message}")]
    Unprocessed {
        /// The action called.
        action: String,
        /// What the server said.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The connection broke after the request of a read-only action was sent, before its
    /// answer was read (reset, closed). The request may have run, which for a read does no
    /// harm: it may be sent again. An action that is not read-only gets
    /// [`Error::Ambiguous`] instead.
    #[error("{action}: the connection failed after the request was sent: {message}")]
    Transport {
        /// The action called.
        action: String,
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The request of an action that is not read-only may have been processed: the
    /// connection broke or a deadline ran out after it was sent, or the answer could not
    /// be read (not HTTP 200, such as a gateway's HTML 502; not JSON; truncated; too
    /// large). Such a call is never resent: look for its effect before sending it again.
    ///
    /// For an unreadable answer, `source` is the [`Error`] a read-only action would have
    /// got ([`Error::HttpStatus`], [`Error::Decode`] or [`Error::ResponseTooLarge`]), with
    /// the status and an excerpt of the body.
    #[error("{action}: outcome unknown, the request may have been processed: {message}")]
    Ambiguous {
        /// The action called.
        action: String,
        /// Whether a deadline ran out (otherwise the connection broke or the answer could
        /// not be read).
        timed_out: bool,
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The answer was not HTTP 200 (a gateway error, an HTML page from a proxy, …), for a
    /// read-only action (for others, the source of an [`Error::Ambiguous`]).
    #[error("{action}: HTTP {status}{}: {excerpt}", rid(request_id.as_deref()))]
    HttpStatus {
        /// The action called.
        action: String,
        /// The status code.
        status: u16,
        /// The beginning of the body, bounded and made printable.
        excerpt: String,
        /// The request ID, when the body still carried one.
        request_id: Option<String>,
    },
    /// The answer was HTTP 200 but not a response of the expected shape. For an action
    /// that is not read-only, an answer that is not a response envelope at all (not JSON,
    /// truncated) is the source of an [`Error::Ambiguous`] instead; this error then means
    /// the service answered success with members this crate cannot read, even with the
    /// model's lenient rules (numbers sent as strings, `null` for absent values, unknown
    /// members are all accepted): **the request ran** (a write took effect, a task was
    /// created) and must not be resent. `request_id` and `excerpt` keep what is needed to
    /// find its result, for example with a describe call. The message leaves the excerpt
    /// out (see [`Error::unreadable_excerpt`]): the credential providers pass messages on,
    /// and their answers hold secrets.
    #[error(
        "{action}: malformed response{}: {}",
        rid(request_id.as_deref()),
        printable(reason)
    )]
    Decode {
        /// The action called.
        action: String,
        /// What is wrong.
        reason: String,
        /// The request ID, when it could still be read.
        request_id: Option<String>,
        /// The beginning of the body, bounded and made printable.
        excerpt: String,
    },
    /// The answer was larger than the configured maximum (for an action that is not
    /// read-only, the source of an [`Error::Ambiguous`]).
    #[error("{action}: response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The action called.
        action: String,
        /// The configured maximum.
        limit: usize,
    },
    /// The client's configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn rid(request_id: Option<&str>) -> String {
    request_id.map_or_else(String::new, |id| format!(" (RequestId {})", printable(id)))
}

impl Error {
    /// The beginning of an answer that could not be read (bounded, made printable), of a
    /// [`Error::Decode`] or of the one that caused an [`Error::Ambiguous`]. It is not in
    /// their messages: show it where the answer cannot hold a secret.
    pub fn unreadable_excerpt(&self) -> Option<&str> {
        match self {
            Self::Decode { excerpt, .. } => Some(excerpt),
            Self::Ambiguous {
                source: Some(source),
                ..
            } => source
                .downcast_ref::<Error>()
                .and_then(Error::unreadable_excerpt),
            _ => None,
        }
    }

    /// The service's RequestId, when the answer carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { request_id, .. }
            | Self::HttpStatus { request_id, .. }
            | Self::Decode { request_id, .. } => request_id.as_deref(),
            Self::Ambiguous {
                source: Some(source),
                ..
            } => source
                .downcast_ref::<Error>()
                .and_then(|answer| answer.request_id()),
            _ => None,
        }
    }

    /// The API error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The action the failed call was for, when the error concerns a call.
    pub fn action(&self) -> Option<&str> {
        match self {
            Self::Api { action, .. }
            | Self::Validation { action, .. }
            | Self::UnknownAction { action }
            | Self::Credentials { action, .. }
            | Self::Signing { action, .. }
            | Self::Timeout { action, .. }
            | Self::Connect { action, .. }
            | Self::Unprocessed { action, .. }
            | Self::Ambiguous { action, .. }
            | Self::Transport { action, .. }
            | Self::HttpStatus { action, .. }
            | Self::Decode { action, .. }
            | Self::ResponseTooLarge { action, .. } => Some(action),
            Self::Config(_) => None,
        }
    }

    /// Whether the request certainly did not run: it was refused before or at the door
    /// (validation, credentials, connection, throttling), or its HTTP/2 server refused it
    /// before processing it ([`Error::Unprocessed`]: sent, perhaps, but not run).
    pub fn was_not_sent(&self) -> bool {
        match self {
            Self::Validation { .. }
            | Self::UnknownAction { .. }
            | Self::Credentials { .. }
            | Self::Signing { .. }
            | Self::Connect { .. }
            | Self::Unprocessed { .. }
            | Self::Config(_) => true,
            Self::Timeout { phase, .. } => *phase != TimeoutPhase::Request,
            Self::Api { code, .. } => code.is_throttling(),
            _ => false,
        }
    }

    /// Whether the outcome is unknown: the service may have run the request.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Self::Ambiguous { .. })
    }

    /// Whether a deadline ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Ambiguous {
                    timed_out: true,
                    ..
                }
        )
    }

    /// Whether sending the same request again later is safe and may succeed, for an action
    /// that is (`read_only = true`) or is not read-only. This is the rule the client's own
    /// retries follow.
    pub fn is_retryable(&self, read_only: bool) -> bool {
        crate::retry::is_retryable(self, read_only)
    }
}

/// The beginning of a body, at most `limit` characters of it, made [`printable`], so that
/// it can be shown in a message or a log line.
pub(crate) fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut kept: String = text.chars().take(limit).collect();
    if kept.len() < text.len() {
        kept.push('…');
    }
    printable(&kept).into_owned()
}

/// `text` with each control character (C0, DEL, C1) written out as Rust writes it
/// (`\u{1b}`, `\n`), everything else kept: the service's words (a RequestId, a message,
/// a body, a device's name) reach terminals in messages and displays, where an escape
/// sequence would act instead of being read.
///
/// ```
/// assert_eq!(iotexplorer_http::printable("ok"), "ok");
/// assert_eq!(iotexplorer_http::printable("固件\u{1b}[2J"), r"固件\u{1b}[2J");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.contains(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_printable() {
        let body = "<html>\r\n<body>bad gateway</body></html>".repeat(100);
        let shown = excerpt(body.as_bytes(), 20);
        assert_eq!(shown, r"<html>\r\n<body>bad ga…");
        assert!(!shown.contains('\n'));
        assert_eq!(excerpt(b"\xff\xfeok", 10), "\u{fffd}\u{fffd}ok");
        assert_eq!(excerpt(b"\x1b[2J\xc2\x9b", 10), r"\u{1b}[2J\u{9b}");
    }

    #[test]
    fn request_ids_show_in_messages() {
        let error = Error::Api {
            action: "BatchUpdateFirmware".into(),
            code: ErrorCode::from("FailedOperation.Something"),
            message: "no".into(),
            request_id: Some("r-1".into()),
        };
        assert_eq!(
            error.to_string(),
            "BatchUpdateFirmware: FailedOperation.Something: no (RequestId r-1)"
        );
        assert_eq!(error.request_id(), Some("r-1"));
    }
}
