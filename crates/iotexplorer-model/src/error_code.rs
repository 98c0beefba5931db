//! Parsing, printing and classifying [`ErrorCode`]s.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ErrorCode;

/// A code this crate does not know, kept exactly as received.
///
/// Opaque on purpose: a known code can never end up here, so matching on the known variants
/// stays reliable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownCode(String);

impl UnknownCode {
    pub(crate) fn new(code: &str) -> Self {
        Self(code.to_owned())
    }

    /// The code as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ErrorCode {
    /// Whether the request was refused for exceeding a rate limit (any
    /// `RequestLimitExceeded*` code). Such a request was not run, so resending it later is
    /// always safe.
    pub fn is_throttling(&self) -> bool {
        is_in_family(self.as_str(), Self::RequestLimitExceeded.as_str())
    }

    /// Whether the credentials or the signature were refused (any `AuthFailure*` code).
    pub fn is_auth(&self) -> bool {
        is_in_family(self.as_str(), Self::AuthFailure.as_str())
    }

    /// Whether the same request may be sent again after this error.
    ///
    /// Throttled requests were not run, so they may always be resent. Transient server
    /// failures (`InternalError*`, `ServiceUnavailable`, `ResourceUnavailable*`) may have
    /// run, so they are resent only when the action is read-only. Errors about the request
    /// itself would recur and are never retried.
    pub fn is_retryable_for(&self, read_only: bool) -> bool {
        if self.is_throttling() {
            return true;
        }
        let code = self.as_str();
        let transient = is_in_family(code, Self::InternalError.as_str())
            || is_in_family(code, Self::ServiceUnavailable.as_str())
            || is_in_family(code, Self::ResourceUnavailable.as_str());
        read_only && transient
    }
}

/// `code` is `family` itself or one of its dotted sub-codes.
fn is_in_family(code: &str, family: &str) -> bool {
    code.strip_prefix(family)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        Self::from_wire(code)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        Self::from_wire(&code)
    }
}

impl FromStr for ErrorCode {
    type Err = Infallible;

    fn from_str(code: &str) -> Result<Self, Infallible> {
        Ok(Self::from_wire(code))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from_wire(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_need_a_dot_boundary() {
        assert!(is_in_family("RequestLimitExceeded", "RequestLimitExceeded"));
        assert!(is_in_family(
            "RequestLimitExceeded.UinLimitExceeded",
            "RequestLimitExceeded"
        ));
        assert!(!is_in_family(
            "RequestLimitExceededSoon",
            "RequestLimitExceeded"
        ));
    }
}
