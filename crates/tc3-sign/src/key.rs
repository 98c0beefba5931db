//! The derived signing key: `kSigning` of the TC3 algorithm.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::canonical::check_service;
use crate::date::UtcDate;
use crate::error::{SigningError, SigningErrorKind};
use crate::secret::SecretKey;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The terminator of every TC3 credential scope.
pub(crate) const SCOPE_TERMINATOR: &str = "tc3_request";

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn keyed_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// `Date/Service/tc3_request`.
pub(crate) fn credential_scope(date: UtcDate, service: &str) -> String {
    [date.as_str(), service, SCOPE_TERMINATOR].join("/")
}

/// `kSigning`: the key derived from a SecretKey for one UTC date and one service.
///
/// Deriving it costs four HMACs; a caller that signs many requests can keep one per
/// (date, service) and reuse it until the UTC date changes. Signing with a kept key gives
/// exactly the same signature as signing with the SecretKey.
///
/// ```
/// use tc3_sign::{SecretKey, SigningKey, UtcDate};
///
/// let date = UtcDate::from_timestamp(1_551_113_065)?;
/// let key = SigningKey::derive(&SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"), date, "cvm")?;
/// assert_eq!(key.date().as_str(), "2019-02-25");
/// assert!(format!("{key:?}").contains("redacted"));
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    date: UtcDate,
    service: String,
    /// `Date/Service/tc3_request`, written once here rather than on every signature.
    scope: String,
    /// The HMAC state keyed with `kSigning` (its inner and outer padded blocks already
    /// hashed), cloned for each signature: RFC 2104 allows keeping it for a reused key.
    /// Wiped on drop, as `kSigning` itself would be.
    mac: HmacSha256,
}

impl SigningKey {
    /// Derives `kSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request")`.
    pub fn derive(secret: &SecretKey, date: UtcDate, service: &str) -> Result<Self, SigningError> {
        if secret.expose_secret().is_empty() {
            return Err(SigningError::new(SigningErrorKind::EmptySecretKey));
        }
        check_service(service)?;
        let mut prefixed = Zeroizing::new(String::with_capacity(secret.expose_secret().len() + 3));
        prefixed.push_str("TC3");
        prefixed.push_str(secret.expose_secret());
        let k_date = Zeroizing::new(hmac_sha256(prefixed.as_bytes(), date.as_str().as_bytes()));
        let k_service = Zeroizing::new(hmac_sha256(&*k_date, service.as_bytes()));
        let k_signing = Zeroizing::new(hmac_sha256(&*k_service, SCOPE_TERMINATOR.as_bytes()));
        Ok(Self {
            date,
            service: service.to_owned(),
            scope: credential_scope(date, service),
            mac: keyed_mac(&*k_signing),
        })
    }

    /// The UTC date this key signs for.
    pub fn date(&self) -> UtcDate {
        self.date
    }

    /// The service this key signs for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether this key is the one for `date` and `service`.
    pub fn is_for(&self, date: UtcDate, service: &str) -> bool {
        self.date == date && self.service == service
    }

    /// The credential scope this key signs under: `Date/Service/tc3_request`.
    pub fn credential_scope(&self) -> &str {
        &self.scope
    }

    /// The refusal to sign a request for `date` and `service` with this key.
    pub(crate) fn mismatch(&self, date: UtcDate, service: &str) -> SigningError {
        SigningError::new(SigningErrorKind::KeyMismatch {
            key_scope: format!("{}/{}", self.date, self.service),
            request_scope: format!("{date}/{service}"),
        })
    }

    /// A MAC keyed with `kSigning`, ready to take the string to sign.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("date", &self.date)
            .field("service", &self.service)
            .field("key", &"** redacted **")
            .finish()
    }
}
