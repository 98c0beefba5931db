//! TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0: signing for clients,
//! verification for servers, byte for byte as Tencent computes it.
//!
//! The crate is pure: no I/O, no clock (the timestamp is always an argument), no HTTP
//! library types. Each stage of the algorithm is exposed so that a signature mismatch can
//! be traced to the stage that differs:
//!
//! 1. the canonical request (method, path, query, signed headers, payload hash),
//! 2. its SHA-256,
//! 3. the string to sign (algorithm, timestamp, credential scope, hash of stage 1),
//! 4. the signature, an HMAC under a key derived from the SecretKey, the UTC date and the
//!    service ([`SigningKey`], which can be kept and reused for a whole UTC day).
//!
//! A client that sends many requests to one endpoint can sign them with a [`Signer`],
//! which checks and writes out once what they share and gives exactly the output of
//! [`sign`].
//!
//! ```
//! use tc3_sign::{sign, Credentials, SignableRequest, SigningParams};
//!
//! // Tencent's published example: DescribeInstances on cvm, 2019-02-25.
//! let body = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
//! let request = SignableRequest::new(
//!     "POST",
//!     "cvm.tencentcloudapi.com",
//!     "application/json; charset=utf-8",
//!     tc3_sign::Payload::Bytes(body),
//! );
//! let credentials = Credentials::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE");
//! let signed = sign(&request, &SigningParams::new(&credentials, "cvm", 1_551_113_065))?;
//!
//! assert_eq!(signed.hashed_canonical_request(), "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
//! assert_eq!(signed.signature(), "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
//! # Ok::<(), tc3_sign::SigningError>(())
//! ```
//!
//! Secrets ([`SecretKey`], [`SessionToken`], [`SigningKey`]) print as `** redacted **`
//! and are wiped from memory when dropped. Input that cannot be signed unambiguously
//! (line breaks in a header value, a badly encoded query string, an empty SecretId, …)
//! is a [`SigningError`], never a panic and never a silently different signature.
//!
//! With the `v1` feature, the `v1` module signs and verifies the legacy `HmacSHA1` and
//! `HmacSHA256` signatures.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

mod authorization;
#[cfg(feature = "v1")]
mod base64;
mod canonical;
mod date;
mod digits;
mod error;
mod key;
mod prepared;
pub mod query;
mod scan;
mod secret;
mod sign;
mod signer;
#[cfg(feature = "v1")]
pub mod v1;
mod verify;

pub use authorization::ParsedAuthorization;
pub use date::UtcDate;
pub use error::{AuthFailure, SigningError, VerifyError};
pub use key::SigningKey;
pub use secret::{Credentials, SecretKey, SessionToken};
pub use sign::{
    ALGORITHM, CONTENT_TYPE_FORM, CONTENT_TYPE_JSON, Payload, SignableRequest, SignedHeaders,
    SigningOutput, SigningParams, SigningSettings, UNSIGNED_PAYLOAD, sign,
};
pub use signer::Signer;
pub use verify::{
    CheckedHead, ReceivedRequest, Verified, VerifyPolicy, check_head, verify, verify_head,
    verify_with_key,
};
