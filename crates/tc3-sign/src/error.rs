//! Errors for signing and for verification.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

/// Why a request could not be signed. Nothing is ever signed from input that would make
/// the signature silently differ from what the server computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningError {
    kind: SigningErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SigningErrorKind {
    EmptySecretId,
    EmptySecretKey,
    InvalidSecretId,
    InvalidMethod(String),
    InvalidHost(String),
    InvalidPath(String),
    InvalidQuery {
        at: usize,
        reason: &'static str,
    },
    InvalidHeaderName(String),
    InvalidHeaderValue {
        name: String,
    },
    DuplicateHeader(String),
    EmptyContentType,
    InvalidService(String),
    InvalidPayloadHash,
    InvalidTimestamp(i64),
    KeyMismatch {
        key_scope: String,
        request_scope: String,
    },
}

impl SigningError {
    pub(crate) fn new(kind: SigningErrorKind) -> Self {
        Self { kind }
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> &SigningErrorKind {
        &self.kind
    }
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SigningErrorKind as K;
        match &self.kind {
            K::EmptySecretId => f.write_str("the SecretId is empty"),
            K::EmptySecretKey => f.write_str("the SecretKey is empty"),
            K::InvalidSecretId => f.write_str(
                "the SecretId holds a character that cannot appear in a credential \
                 (whitespace, control, '/', ',' or non-ASCII)",
            ),
            K::InvalidMethod(method) => write!(
                f,
                "invalid HTTP method {method:?}: expected upper-case ASCII letters such as POST"
            ),
            K::InvalidHost(host) => write!(
                f,
                "invalid host {host:?}: expected a DNS name or IP address with an optional port"
            ),
            K::InvalidPath(path) => write!(
                f,
                "invalid path {path:?}: expected an absolute path such as \"/\" without query or fragment"
            ),
            K::InvalidQuery { at, reason } => {
                write!(f, "invalid query string at byte {at}: {reason}")
            }
            K::InvalidHeaderName(name) => write!(f, "invalid header name {name:?}"),
            K::InvalidHeaderValue { name } => write!(
                f,
                "invalid value for header {name:?}: only visible ASCII and spaces can be signed"
            ),
            K::DuplicateHeader(name) => write!(f, "header {name:?} is given more than once"),
            K::EmptyContentType => f.write_str("the content type is empty"),
            K::InvalidService(service) => write!(
                f,
                "invalid service name {service:?}: expected lower-case ASCII letters, digits, '-' or '_'"
            ),
            K::InvalidPayloadHash => {
                f.write_str("the precomputed payload hash is not 64 hexadecimal digits")
            }
            K::InvalidTimestamp(timestamp) => write!(
                f,
                "timestamp {timestamp} is not a Unix time in seconds between 1970 and 9999"
            ),
            K::KeyMismatch {
                key_scope,
                request_scope,
            } => write!(
                f,
                "the cached signing key is for {key_scope}, but the request needs {request_scope}"
            ),
        }
    }
}

impl Error for SigningError {}

/// The five ways API 3.0 refuses a request's authentication, one per `AuthFailure.*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthFailure {
    /// `AuthFailure.InvalidAuthorization`: the `Authorization` header (or a header it
    /// depends on) is missing or malformed.
    InvalidAuthorization,
    /// `AuthFailure.SecretIdNotFound`: no key is known for the SecretId.
    SecretIdNotFound,
    /// `AuthFailure.SignatureExpire`: the timestamp is too far from the server's clock.
    SignatureExpire,
    /// `AuthFailure.SignatureFailure`: the signature does not match.
    SignatureFailure,
    /// `AuthFailure.TokenFailure`: the session token is missing, unexpected or wrong.
    TokenFailure,
}

impl AuthFailure {
    /// The error code exactly as Tencent Cloud returns it.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidAuthorization => "AuthFailure.InvalidAuthorization",
            Self::SecretIdNotFound => "AuthFailure.SecretIdNotFound",
            Self::SignatureExpire => "AuthFailure.SignatureExpire",
            Self::SignatureFailure => "AuthFailure.SignatureFailure",
            Self::TokenFailure => "AuthFailure.TokenFailure",
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A request that failed verification: which `AuthFailure` code applies, and why.
///
/// The detail never contains a key, a token or a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    failure: AuthFailure,
    detail: Cow<'static, str>,
}

impl VerifyError {
    pub(crate) fn new(failure: AuthFailure, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            failure,
            detail: detail.into(),
        }
    }

    /// Which of the `AuthFailure.*` codes this is.
    pub fn failure(&self) -> AuthFailure {
        self.failure
    }

    /// The error code exactly as Tencent Cloud returns it, e.g. `AuthFailure.SignatureFailure`.
    pub fn code(&self) -> &'static str {
        self.failure.code()
    }

    /// A human-readable reason, safe to send back to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.failure.code(), self.detail)
    }
}

impl Error for VerifyError {}
