//! Credentials and the secret values inside them.
//!
//! Secrets never print: `Debug` shows a placeholder, and the memory holding them is wiped
//! when they are dropped. Clones share one copy of each secret (wiped when the last clone
//! goes), so that handing credentials to every call neither copies the secrets around
//! memory nor allocates.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::scan::all_bytes;

const REDACTED: &str = "** redacted **";

/// A SecretKey: the half of a credential pair that must never be shown.
#[derive(Clone)]
pub struct SecretKey(Arc<Zeroizing<String>>);

impl SecretKey {
    /// Wraps a secret key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(key.into())))
    }

    /// The key itself. Call this only to feed it to a MAC.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretKey").field(&REDACTED).finish()
    }
}

/// The session token that comes with temporary credentials (sent as `X-TC-Token`).
#[derive(Clone)]
pub struct SessionToken(Arc<Zeroizing<String>>);

impl SessionToken {
    /// Wraps a session token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(token.into())))
    }

    /// The token itself, for the `X-TC-Token` header.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionToken").field(&REDACTED).finish()
    }
}

/// A SecretId, SecretKey and, for temporary credentials, a session token.
///
/// ```
/// use tc3_sign::Credentials;
///
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret").with_token("token");
/// let shown = format!("{credentials:?}");
/// assert!(shown.contains("AKIDEXAMPLE"));
/// assert!(!shown.contains("secret\"") && !shown.contains("\"token\""));
/// ```
#[derive(Clone)]
pub struct Credentials {
    secret_id: Arc<str>,
    secret_key: SecretKey,
    token: Option<SessionToken>,
    /// Whether the SecretId and SecretKey can sign: found once here, as credentials do
    /// not change, rather than on every signature.
    can_sign: bool,
}

impl Credentials {
    /// Long-term credentials: a SecretId and its SecretKey.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        let secret_id: Arc<str> = secret_id.into().into();
        let secret_key = SecretKey::new(secret_key);
        let can_sign = is_secret_id(&secret_id) && !secret_key.expose_secret().is_empty();
        Self {
            secret_id,
            secret_key,
            token: None,
            can_sign,
        }
    }

    /// Adds the session token of temporary credentials.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SessionToken::new(token));
        self
    }

    /// The SecretId (not a secret: it is sent in every `Authorization` header).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The SecretKey.
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// The session token, for temporary credentials.
    pub fn token(&self) -> Option<&SessionToken> {
        self.token.as_ref()
    }

    /// Whether the SecretId is valid and the SecretKey is not empty.
    pub(crate) fn can_sign(&self) -> bool {
        self.can_sign
    }
}

/// A SecretId that can stand in a credential scope: visible ASCII but the scope's
/// separators `/` and `,`.
pub(crate) fn is_secret_id(id: &str) -> bool {
    // Branch-free so that it vectorises.
    !id.is_empty()
        && all_bytes(id.as_bytes(), |b| {
            (b.wrapping_sub(b'!') < 0x5e) & (b != b'/') & (b != b',')
        })
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[test]
    fn clones_share_one_copy_of_each_secret() {
        let original = Credentials::new("AKIDEXAMPLE", "secret").with_token("token");
        let clone = original.clone();
        assert_eq!(
            clone.secret_key().expose_secret().as_ptr(),
            original.secret_key().expose_secret().as_ptr()
        );
        let token = |c: &Credentials| c.token().map(|t| t.expose_secret().as_ptr());
        assert!(token(&clone).is_some());
        assert_eq!(token(&clone), token(&original));
        assert_eq!(clone.secret_id().as_ptr(), original.secret_id().as_ptr());
        drop(original);
        // The copy left holds the secrets whole.
        assert_eq!(clone.secret_key().expose_secret(), "secret");
        assert_eq!(clone.token().map(|t| t.expose_secret()), Some("token"));
        assert_eq!(clone.secret_id(), "AKIDEXAMPLE");
    }
}
