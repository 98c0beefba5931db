//! Where the SecretId, SecretKey and session token come from (design notes §5): the
//! environment, a profile file, a CVM instance role, STS `AssumeRole`, a TKE pod's OIDC
//! role, or a fixed value, and the default chain that tries them in the official SDKs'
//! order.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

mod cache;
mod chain;
mod cvm;
mod env;
mod profile;
mod sts;
mod tke;

pub use cache::CachedCredentials;
pub use chain::{DefaultCredentialsChain, DefaultCredentialsChainBuilder};
pub use cvm::{
    CvmRoleCredentials, CvmRoleCredentialsBuilder, DEFAULT_METADATA_ENDPOINT, DEFAULT_METADATA_URL,
    METADATA_ENDPOINT_VARIABLE,
};
pub use env::{EnvLookup, EnvironmentCredentials};
pub use profile::ProfileCredentials;
pub use sts::{StsAssumeRole, StsAssumeRoleBuilder};
pub use tke::{TKE_VARIABLES, TkeOidcRoleCredentials};

/// Credentials and, for temporary ones, when they stop working.
#[derive(Clone, Debug)]
pub struct ProvidedCredentials {
    credentials: tc3_sign::Credentials,
    expires_at: Option<SystemTime>,
}

impl ProvidedCredentials {
    /// Credentials that do not expire.
    pub fn new(credentials: tc3_sign::Credentials) -> Self {
        Self {
            credentials,
            expires_at: None,
        }
    }

    /// Credentials that stop working at `expires_at`.
    pub fn expiring(credentials: tc3_sign::Credentials, expires_at: SystemTime) -> Self {
        Self {
            credentials,
            expires_at: Some(expires_at),
        }
    }

    /// The credentials to sign with.
    pub fn credentials(&self) -> &tc3_sign::Credentials {
        &self.credentials
    }

    /// When they stop working, for temporary credentials.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

/// The future a provider returns.
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProvidedCredentials, CredentialsError>> + Send + 'a>>;

/// A source of credentials. The client asks before every attempt, so a provider of
/// temporary credentials should cache them (see [`CachedCredentials`]).
pub trait ProvideCredentials: fmt::Debug + Send + Sync {
    /// Current credentials.
    fn provide_credentials(&self) -> CredentialsFuture<'_>;
}

impl<P: ProvideCredentials + ?Sized> ProvideCredentials for Arc<P> {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        (**self).provide_credentials()
    }
}

impl<P: ProvideCredentials + ?Sized> ProvideCredentials for Box<P> {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        (**self).provide_credentials()
    }
}

/// Why no credentials could be had. Messages never contain a secret, and what a service
/// wrote in them (an STS refusal's message) has its control characters written out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("credentials from {provider}: {}", crate::error::printable(message))]
pub struct CredentialsError {
    provider: &'static str,
    kind: CredentialsErrorKind,
    message: String,
}

/// The broad reason of a [`CredentialsError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialsErrorKind {
    /// The source has nothing (no variable, no file, not on CVM); the chain moves on.
    NotFound,
    /// The source has something, but it is incomplete or malformed.
    Invalid,
    /// The source could not be reached or answered with an error.
    Unavailable,
}

impl CredentialsError {
    /// An error from `provider`.
    pub fn new(
        provider: &'static str,
        kind: CredentialsErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            provider,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(provider: &'static str, message: impl Into<String>) -> Self {
        Self::new(provider, CredentialsErrorKind::NotFound, message)
    }

    pub(crate) fn invalid(provider: &'static str, message: impl Into<String>) -> Self {
        Self::new(provider, CredentialsErrorKind::Invalid, message)
    }

    pub(crate) fn unavailable(provider: &'static str, message: impl Into<String>) -> Self {
        Self::new(provider, CredentialsErrorKind::Unavailable, message)
    }

    /// Which provider failed.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The broad reason.
    pub fn kind(&self) -> CredentialsErrorKind {
        self.kind
    }
}

/// Fixed credentials, given in code.
#[derive(Clone, Debug)]
pub struct StaticCredentials(ProvidedCredentials);

impl StaticCredentials {
    /// Long-term credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self(ProvidedCredentials::new(tc3_sign::Credentials::new(
            secret_id, secret_key,
        )))
    }

    /// Adds a session token (temporary credentials).
    #[must_use]
    pub fn with_token(self, token: impl Into<String>) -> Self {
        Self(ProvidedCredentials {
            credentials: self.0.credentials.with_token(token),
            expires_at: self.0.expires_at,
        })
    }
}

impl From<tc3_sign::Credentials> for StaticCredentials {
    fn from(credentials: tc3_sign::Credentials) -> Self {
        Self(ProvidedCredentials::new(credentials))
    }
}

impl ProvideCredentials for StaticCredentials {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let provided = self.0.clone();
        Box::pin(async move { Ok(provided) })
    }
}

/// The file at `path` as UTF-8 text, or an error of kind
/// [`std::io::ErrorKind::FileTooLarge`] when it holds more than `limit` bytes: a variable
/// naming `/dev/zero` or a log must not fill memory. A regular file is refused by its
/// length, unread; anything else is read no further than `limit + 1` bytes, and its size
/// is judged before its text, so a cut inside a character still counts as too large.
pub(crate) fn read_bounded(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read as _};
    let too_large = || Error::new(ErrorKind::FileTooLarge, format!("more than {limit} bytes"));
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_file() && metadata.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The error for a credentials file [`read_bounded`] failed on, described by `what`: one
/// too large is invalid (waiting will not mend it), any other failure unavailable.
pub(crate) fn unreadable_file(
    provider: &'static str,
    what: &str,
    err: &std::io::Error,
) -> CredentialsError {
    let message = format!("cannot read {what}: {err}");
    if err.kind() == std::io::ErrorKind::FileTooLarge {
        CredentialsError::invalid(provider, message)
    } else {
        CredentialsError::unavailable(provider, message)
    }
}

/// Why an answer holding credentials could not be read, without serde_json's own message:
/// that quotes the value it stumbled on, which may be a key or a token.
pub(crate) fn unreadable(what: &str, err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let why = match err.classify() {
        Category::Syntax => "not JSON",
        Category::Data => "not the expected members and types",
        Category::Eof | Category::Io => "cut short",
    };
    // A value decoded from a parsed tree has no position.
    if err.line() == 0 {
        format!("unreadable {what}: {why}")
    } else {
        format!(
            "unreadable {what}: {why} (line {}, column {})",
            err.line(),
            err.column()
        )
    }
}

/// Builds credentials from the three values every source has, refusing empty ones.
pub(crate) fn from_parts(
    provider: &'static str,
    secret_id: Option<String>,
    secret_key: Option<String>,
    token: Option<String>,
) -> Result<tc3_sign::Credentials, CredentialsError> {
    let secret_id = secret_id.map(|id| id.trim().to_owned()).unwrap_or_default();
    let secret_key = secret_key
        .map(|key| key.trim().to_owned())
        .unwrap_or_default();
    match (secret_id.is_empty(), secret_key.is_empty()) {
        (true, true) => {
            return Err(CredentialsError::not_found(
                provider,
                "no SecretId and no SecretKey",
            ));
        }
        (true, false) => {
            return Err(CredentialsError::invalid(
                provider,
                "a SecretKey without a SecretId",
            ));
        }
        (false, true) => {
            return Err(CredentialsError::invalid(
                provider,
                "a SecretId without a SecretKey",
            ));
        }
        (false, false) => {}
    }
    let credentials = tc3_sign::Credentials::new(secret_id, secret_key);
    Ok(match token.map(|token| token.trim().to_owned()) {
        Some(token) if !token.is_empty() => credentials.with_token(token),
        _ => credentials,
    })
}
