//! Verifying a signed request, as the server does.

use std::borrow::Borrow;
use std::ops::Range;

use hmac::Mac;

use crate::authorization::ParsedAuthorization;
use crate::canonical::{CanonicalInput, HeaderSet};
use crate::date::UtcDate;
use crate::error::{AuthFailure, SigningError, VerifyError};
use crate::key::{SCOPE_TERMINATOR, SigningKey, credential_scope};
use crate::prepared::{
    Prepared, STRING_TO_SIGN_FIXED, append_string_to_sign, payload_hash, prepare,
};
use crate::secret::Credentials;
use crate::sign::{Payload, UNSIGNED_PAYLOAD};

/// A received request as the verifier needs it: HTTP-library neutral, all borrowed.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// The method as received, e.g. `POST`.
    pub method: &'a str,
    /// The path as received, e.g. `/`.
    pub path: &'a str,
    /// The query string as received (without `?`), percent-encoding untouched.
    pub query: &'a str,
    /// Every header as received; names are matched without regard to case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body as received.
    pub body: &'a [u8],
}

impl<'a> ReceivedRequest<'a> {
    /// The single value of header `name`; `Err` when it appears more than once.
    fn header(&self, name: &str) -> Result<Option<&'a str>, VerifyError> {
        let mut found = None;
        for (candidate, value) in self.headers {
            if names_match(candidate, name) {
                if found.is_some() {
                    return Err(VerifyError::new(
                        AuthFailure::InvalidAuthorization,
                        format!("header {name} appears more than once"),
                    ));
                }
                found = Some(*value);
            }
        }
        Ok(found)
    }
}

/// Whether the received header name `candidate`, trimmed, is `name` but for ASCII case.
/// Trimming only shortens a name, so most candidates are settled by their length without
/// being trimmed; received names rarely carry blanks at all.
fn names_match(candidate: &str, name: &str) -> bool {
    match candidate.len().cmp(&name.len()) {
        std::cmp::Ordering::Less => false,
        // Equal but for case, the two have the same blanks at their ends, if any; with
        // any, the trimmed candidate is shorter than `name`.
        std::cmp::Ordering::Equal => {
            candidate.eq_ignore_ascii_case(name) && candidate.trim().len() == candidate.len()
        }
        // A name that begins and ends in a visible ASCII character has no blanks to trim
        // (any other character, blank or not, starts and ends in another byte), so it stays
        // longer than `name`; only the rest are trimmed, which is slow.
        std::cmp::Ordering::Greater => {
            let visible = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_graphic);
            let bytes = candidate.as_bytes();
            if visible(bytes.first()) && visible(bytes.last()) {
                return false;
            }
            candidate.trim().eq_ignore_ascii_case(name)
        }
    }
}

/// What the server expects of every request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct VerifyPolicy<'a> {
    /// The service this server is, e.g. `iotexplorer`.
    pub service: &'a str,
    /// The server's clock, in Unix seconds.
    pub now: i64,
    /// How far `X-TC-Timestamp` may be from `now`, in seconds (Tencent uses 300).
    pub max_skew: u64,
}

impl<'a> VerifyPolicy<'a> {
    /// Tencent's default: 300 seconds of skew.
    pub fn new(service: &'a str, now: i64) -> Self {
        Self {
            service,
            now,
            max_skew: 300,
        }
    }

    /// Replaces the allowed clock skew.
    #[must_use]
    pub fn with_max_skew(mut self, seconds: u64) -> Self {
        self.max_skew = seconds;
        self
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The SecretId that signed it.
    pub secret_id: String,
    /// Its `X-TC-Timestamp`.
    pub timestamp: i64,
    /// Whether it used temporary credentials (`X-TC-Token`).
    pub with_token: bool,
    /// Whether the body was left out of the signature (`UNSIGNED-PAYLOAD`).
    pub unsigned_payload: bool,
}

/// Verifies a TC3-HMAC-SHA256 signed request.
///
/// The checks run in this order, and the first that fails decides the error:
/// the `Authorization` header and `X-TC-Timestamp` are well formed
/// (`AuthFailure.InvalidAuthorization`); the timestamp is within `max_skew` of `now`
/// (`AuthFailure.SignatureExpire`); `lookup` knows the SecretId
/// (`AuthFailure.SecretIdNotFound`); the session token matches the one issued with the
/// credentials, or both are absent (`AuthFailure.TokenFailure`); the signature, recomputed
/// over the headers that `SignedHeaders` names and compared in constant time, matches
/// (`AuthFailure.SignatureFailure`).
///
/// ```
/// use tc3_sign::{sign, verify, Credentials, ReceivedRequest, SignableRequest, SigningParams, VerifyPolicy};
///
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret");
/// let body = br#"{"ProductID":"P"}"#;
/// let signed = sign(
///     &SignableRequest::post_json("127.0.0.1:9555", body),
///     &SigningParams::new(&credentials, "iotexplorer", 1_700_000_000),
/// )?;
/// let headers = [
///     ("Host", "127.0.0.1:9555"),
///     ("Content-Type", "application/json"),
///     ("Authorization", signed.authorization()),
///     ("X-TC-Timestamp", "1700000000"),
/// ];
/// let request = ReceivedRequest { method: "POST", path: "/", query: "", headers: &headers, body };
/// let lookup = |id: &str| (id == "AKIDEXAMPLE").then(|| credentials.clone());
/// let verified = verify(&request, &VerifyPolicy::new("iotexplorer", 1_700_000_100), lookup).unwrap();
/// assert_eq!(verified.secret_id, "AKIDEXAMPLE");
///
/// let late = verify(&request, &VerifyPolicy::new("iotexplorer", 1_700_000_301), |_| None);
/// assert_eq!(late.unwrap_err().code(), "AuthFailure.SignatureExpire");
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
pub fn verify<F>(
    request: &ReceivedRequest<'_>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Result<Verified, VerifyError>
where
    F: FnOnce(&str) -> Option<Credentials>,
{
    verify_with_key(request, policy, lookup, |credentials, date, service| {
        SigningKey::derive(credentials.secret_key(), date, service)
    })
}

/// [`verify`], with the signing key of the request's SecretId, UTC date and service
/// taken from `signing_key` instead of derived anew: a server that keeps the keys it
/// derived checks each signature with one HMAC instead of five.
///
/// `signing_key` is called only once every check before the MAC has passed, with the
/// credentials `lookup` found and the request's date and service; an `Err` from it is
/// answered as `AuthFailure.SignatureFailure`. The key it gives must be the one
/// [`SigningKey::derive`] gives for those, or signatures do not match.
///
/// ```
/// use std::sync::Arc;
/// use tc3_sign::{sign, verify_with_key, Credentials, ReceivedRequest, SignableRequest, SigningKey, SigningParams, VerifyPolicy};
///
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret");
/// let body = br#"{"ProductID":"P"}"#;
/// let signed = sign(
///     &SignableRequest::post_json("h", body),
///     &SigningParams::new(&credentials, "iotexplorer", 1_700_000_000),
/// )?;
/// let headers = [
///     ("Host", "h"),
///     ("Content-Type", "application/json"),
///     ("Authorization", signed.authorization()),
///     ("X-TC-Timestamp", "1700000000"),
/// ];
/// let request = ReceivedRequest { method: "POST", path: "/", query: "", headers: &headers, body };
/// let policy = VerifyPolicy::new("iotexplorer", 1_700_000_100);
/// let kept = Arc::new(SigningKey::derive(credentials.secret_key(), signed.date(), "iotexplorer")?);
/// let verified = verify_with_key(&request, &policy, |_| Some(&credentials), |_, date, service| {
///     assert!(kept.is_for(date, service));
///     Ok(Arc::clone(&kept))
/// });
/// assert_eq!(verified.unwrap().secret_id, "AKIDEXAMPLE");
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
pub fn verify_with_key<F, C, K, S>(
    request: &ReceivedRequest<'_>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
    signing_key: K,
) -> Result<Verified, VerifyError>
where
    F: FnOnce(&str) -> Option<C>,
    C: Borrow<Credentials>,
    K: FnOnce(&Credentials, UtcDate, &str) -> Result<S, SigningError>,
    S: Borrow<SigningKey>,
{
    let head = check_head_fields(request, policy, lookup)?;
    head.prepare_and_check_mac(request.body, policy.service, signing_key)
}

/// Every check of [`verify`] but the signature itself, for a server that has the head of
/// a request and not yet its body: a request refused here is refused by [`verify`] with
/// the same error whatever its body, so it can be answered before the body is read.
///
/// `Ok` means only the signature is left to check. Nothing is hashed and no key is
/// derived; the signed headers are checked to be signable, as [`verify`] does.
///
/// ```
/// use tc3_sign::{verify_head, Credentials, ReceivedRequest, VerifyPolicy};
///
/// let headers = [("Host", "h"), ("Content-Type", "application/json"), ("X-TC-Timestamp", "1")];
/// let head = ReceivedRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
/// let refused = verify_head(&head, &VerifyPolicy::new("iotexplorer", 1), |_| None::<Credentials>);
/// assert_eq!(refused.unwrap_err().code(), "AuthFailure.InvalidAuthorization");
/// ```
pub fn verify_head<F, C>(
    head: &ReceivedRequest<'_>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Result<(), VerifyError>
where
    F: FnOnce(&str) -> Option<C>,
    C: Borrow<Credentials>,
{
    check_head(head, policy, lookup).map(|_| ())
}

/// [`verify_head`], keeping what it found, so that the signature can be checked once the
/// body is in ([`CheckedHead::verify_body`]) without reading the head again.
///
/// It refuses exactly what [`verify_head`] refuses; and for a request it lets through,
/// `verify_body` answers exactly as [`verify_with_key`] does for the whole request.
///
/// ```
/// use tc3_sign::{check_head, sign, Credentials, ReceivedRequest, SignableRequest, SigningKey, SigningParams, VerifyPolicy};
///
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret");
/// let body = br#"{"ProductID":"P"}"#;
/// let signed = sign(
///     &SignableRequest::post_json("h", body),
///     &SigningParams::new(&credentials, "iotexplorer", 1_700_000_000),
/// )?;
/// let headers = [
///     ("Host", "h"),
///     ("Content-Type", "application/json"),
///     ("Authorization", signed.authorization()),
///     ("X-TC-Timestamp", "1700000000"),
/// ];
/// let head = ReceivedRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
/// let policy = VerifyPolicy::new("iotexplorer", 1_700_000_100);
/// let checked = check_head(&head, &policy, |_| Some(&credentials)).unwrap();
/// assert_eq!(checked.secret_id(), "AKIDEXAMPLE");
/// // The body arrives later; the clock has moved on.
/// let later = VerifyPolicy::new("iotexplorer", 1_700_000_101);
/// let derive = |c: &Credentials, date, service: &str| SigningKey::derive(c.secret_key(), date, service);
/// assert_eq!(checked.verify_body(body, &later, derive).unwrap().secret_id, "AKIDEXAMPLE");
/// let checked = check_head(&head, &policy, |_| Some(&credentials)).unwrap();
/// let tampered = checked.verify_body(b"{}", &later, derive);
/// assert_eq!(tampered.unwrap_err().code(), "AuthFailure.SignatureFailure");
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
pub fn check_head<'r, F, C>(
    head: &ReceivedRequest<'r>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Result<CheckedHead<'r, C>, VerifyError>
where
    F: FnOnce(&str) -> Option<C>,
    C: Borrow<Credentials>,
{
    let fields = check_head_fields(head, policy, lookup)?;
    // Written with a stand-in payload hash, which the body's replaces; nothing is hashed
    // yet. Room is left for the string to sign, which follows it in the same buffer.
    let input = fields.canonical_input(&HEAD_PAYLOAD_HASH);
    let capacity = input.method.len()
        + input.path.len()
        + input.query.len()
        + input.headers.max_len()
        + 5
        + HEAD_PAYLOAD_HASH.len()
        + STRING_TO_SIGN_FIXED
        + SCOPE_LEN_BEYOND_SERVICE
        + policy.service.len();
    let mut canonical = Vec::with_capacity(capacity);
    let signed_headers = input.write(&mut canonical).map_err(cannot_sign)?;
    Ok(CheckedHead {
        fields,
        canonical,
        signed_headers,
    })
}

/// The credential scope's length beside its service: the date, the slashes on either side
/// of the service and `tc3_request`.
const SCOPE_LEN_BEYOND_SERVICE: usize = 10 + 2 + SCOPE_TERMINATOR.len();

/// A stand-in payload hash for the head check, which has no body to hash: it takes the
/// place of the real one in the canonical request, which is then checked but never hashed.
const HEAD_PAYLOAD_HASH: [u8; 64] = [b'0'; 64];

fn invalid(detail: &'static str) -> VerifyError {
    VerifyError::new(AuthFailure::InvalidAuthorization, detail)
}

fn signature_failure(detail: &'static str) -> VerifyError {
    VerifyError::new(AuthFailure::SignatureFailure, detail)
}

fn cannot_sign(_: SigningError) -> VerifyError {
    invalid("a signed header has a name or value that cannot be signed")
}

/// A request head that passed every check of [`verify`] before the MAC
/// ([`check_head`]): what the MAC needs of the head, its canonical request written but
/// for the payload hash.
pub struct CheckedHead<'r, C> {
    fields: HeadFields<'r, C>,
    /// The canonical request, ending in a stand-in payload hash.
    canonical: Vec<u8>,
    /// Where its signed-header list is.
    signed_headers: Range<usize>,
}

impl<C> std::fmt::Debug for CheckedHead<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials and the signature stay out of it.
        f.debug_struct("CheckedHead")
            .field("secret_id", &self.fields.secret_id)
            .field("timestamp", &self.fields.timestamp)
            .field("unsigned_payload", &self.fields.unsigned_payload)
            .finish_non_exhaustive()
    }
}

impl<'r, C: Borrow<Credentials>> CheckedHead<'r, C> {
    /// The SecretId that signed the request.
    pub fn secret_id(&self) -> &'r str {
        self.fields.secret_id
    }

    /// Checks the signature over `body` under `policy`, with the key `signing_key` gives
    /// (as [`verify_with_key`] takes it): the answer [`verify_with_key`] gives for the
    /// whole request under `policy`, provided the head's `lookup` would find the same
    /// credentials again. The checks that depend on `policy` are made again, so a body
    /// that arrives after the timestamp expired is refused as such.
    pub fn verify_body<K, S>(
        self,
        body: &[u8],
        policy: &VerifyPolicy<'_>,
        signing_key: K,
    ) -> Result<Verified, VerifyError>
    where
        K: FnOnce(&Credentials, UtcDate, &str) -> Result<S, SigningError>,
        S: Borrow<SigningKey>,
    {
        let Self {
            fields,
            mut canonical,
            signed_headers,
        } = self;
        // In the order `verify` makes them; those before (syntax, SecretId, token) do
        // not depend on the policy.
        check_skew(fields.timestamp, policy)?;
        if fields.service != policy.service {
            return Err(signature_failure(
                "the credential scope names another service",
            ));
        }
        let payload_hash = fields.payload_hash(body)?;
        // The canonical request ends in its payload hash.
        let Some(start) = canonical.len().checked_sub(payload_hash.len()) else {
            return Err(signature_failure("the string to sign was not written"));
        };
        canonical.truncate(start);
        canonical.extend_from_slice(&payload_hash);
        let scope = credential_scope(fields.date, policy.service);
        let prepared = append_string_to_sign(canonical, signed_headers, fields.timestamp, &scope);
        fields.check_mac(&prepared, policy.service, signing_key)
    }
}

/// What the checks before the MAC found: everything the MAC and the answer need.
struct HeadFields<'r, C> {
    method: &'r str,
    path: &'r str,
    query: &'r str,
    secret_id: &'r str,
    service: &'r str,
    signature: [u8; 32],
    timestamp: i64,
    date: UtcDate,
    credentials: C,
    unsigned_payload: bool,
    /// The headers `SignedHeaders` names, in its order: (name as listed, value as sent).
    signed: Vec<(&'r str, &'r str)>,
}

impl<C: Borrow<Credentials>> HeadFields<'_, C> {
    fn canonical_input<'a>(&'a self, payload_hash: &'a [u8; 64]) -> CanonicalInput<'a, 'a> {
        CanonicalInput {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: HeaderSet::Listed(&self.signed),
            payload_hash,
        }
    }

    fn payload_hash(&self, body: &[u8]) -> Result<[u8; 64], VerifyError> {
        let payload = if self.unsigned_payload {
            Payload::Unsigned
        } else {
            Payload::Bytes(body)
        };
        payload_hash(payload).map_err(|_| signature_failure("the payload cannot be hashed"))
    }

    /// The string to sign over `body`, then the MAC, as `verify` ends.
    fn prepare_and_check_mac<K, S>(
        &self,
        body: &[u8],
        service: &str,
        signing_key: K,
    ) -> Result<Verified, VerifyError>
    where
        K: FnOnce(&Credentials, UtcDate, &str) -> Result<S, SigningError>,
        S: Borrow<SigningKey>,
    {
        let payload_hash = self.payload_hash(body)?;
        let scope = credential_scope(self.date, service);
        let prepared = prepare(
            &self.canonical_input(&payload_hash),
            self.timestamp,
            &scope,
            0,
        )
        .map_err(cannot_sign)?;
        self.check_mac(&prepared, service, signing_key)
    }

    /// The MAC of `prepared`'s string to sign, against the signature sent.
    fn check_mac<K, S>(
        &self,
        prepared: &Prepared,
        service: &str,
        signing_key: K,
    ) -> Result<Verified, VerifyError>
    where
        K: FnOnce(&Credentials, UtcDate, &str) -> Result<S, SigningError>,
        S: Borrow<SigningKey>,
    {
        let key = signing_key(self.credentials.borrow(), self.date, service)
            .map_err(|_| signature_failure("no signing key can be derived for this SecretId"))?;
        let mut mac = key.borrow().mac();
        mac.update(prepared.string_to_sign());
        mac.verify_slice(&self.signature)
            .map_err(|_| signature_failure("the signature does not match"))?;

        Ok(Verified {
            secret_id: self.secret_id.to_owned(),
            timestamp: self.timestamp,
            with_token: self.credentials.borrow().token().is_some(),
            unsigned_payload: self.unsigned_payload,
        })
    }
}

/// The checks of [`verify`] in its order, up to the canonical request: what they found,
/// with nothing written or hashed.
fn check_head_fields<'r, F, C>(
    request: &ReceivedRequest<'r>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Result<HeadFields<'r, C>, VerifyError>
where
    F: FnOnce(&str) -> Option<C>,
    C: Borrow<Credentials>,
{
    let authorization = request
        .header("authorization")?
        .ok_or_else(|| invalid("the Authorization header is missing"))?;
    let parsed = ParsedAuthorization::parse(authorization)?;
    let timestamp: i64 = request
        .header("x-tc-timestamp")?
        .ok_or_else(|| invalid("the X-TC-Timestamp header is missing"))?
        .trim()
        .parse()
        .map_err(|_| invalid("X-TC-Timestamp must be an integer number of seconds"))?;
    if parsed.terminator() != SCOPE_TERMINATOR {
        return Err(invalid("the credential scope must end in tc3_request"));
    }
    let names: Vec<&str> = parsed.signed_headers().collect();
    for required in ["content-type", "host"] {
        if !names.iter().any(|name| name.eq_ignore_ascii_case(required)) {
            return Err(invalid("SignedHeaders must include content-type and host"));
        }
    }

    check_skew(timestamp, policy)?;

    let credentials = lookup(parsed.secret_id()).ok_or_else(|| {
        VerifyError::new(AuthFailure::SecretIdNotFound, "the SecretId is not known")
    })?;
    check_token(request.header("x-tc-token")?, credentials.borrow())?;

    let date = UtcDate::from_timestamp(timestamp)
        .map_err(|_| signature_failure("the timestamp has no valid UTC date"))?;
    if parsed.date() != date.as_str() {
        return Err(signature_failure(
            "the credential date is not the UTC date of X-TC-Timestamp",
        ));
    }
    if parsed.service() != policy.service {
        return Err(signature_failure(
            "the credential scope names another service",
        ));
    }

    let mut signed = Vec::with_capacity(names.len());
    for name in names {
        let value = request
            .header(name)?
            .ok_or_else(|| invalid("a header named in SignedHeaders is missing"))?;
        signed.push((name, value));
    }
    let unsigned_payload = request
        .header("x-tc-content-sha256")?
        .is_some_and(|value| value.trim() == UNSIGNED_PAYLOAD);
    Ok(HeadFields {
        method: request.method,
        path: request.path,
        query: request.query,
        secret_id: parsed.secret_id(),
        service: parsed.service(),
        signature: *parsed.signature(),
        timestamp,
        date,
        credentials,
        unsigned_payload,
        signed,
    })
}

/// `AuthFailure.SignatureExpire` when `timestamp` is more than `max_skew` from `now`.
pub(crate) fn check_skew(timestamp: i64, policy: &VerifyPolicy<'_>) -> Result<(), VerifyError> {
    if timestamp.abs_diff(policy.now) > policy.max_skew {
        return Err(VerifyError::new(
            AuthFailure::SignatureExpire,
            format!(
                "the request timestamp {timestamp} is more than {} seconds from the server time {}",
                policy.max_skew, policy.now
            ),
        ));
    }
    Ok(())
}

/// `AuthFailure.TokenFailure` unless the sent token is the one issued with the
/// credentials, or both are absent.
pub(crate) fn check_token(
    sent: Option<&str>,
    credentials: &Credentials,
) -> Result<(), VerifyError> {
    let token_failure = |detail: &'static str| VerifyError::new(AuthFailure::TokenFailure, detail);
    match (
        sent.map(str::trim).filter(|t| !t.is_empty()),
        credentials.token(),
    ) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(token_failure("a token was sent with long-term credentials")),
        (None, Some(_)) => Err(token_failure("temporary credentials need X-TC-Token")),
        (Some(sent), Some(expected)) => {
            if constant_time_eq(sent.as_bytes(), expected.expose_secret().as_bytes()) {
                Ok(())
            } else {
                Err(token_failure("the token does not match the credentials"))
            }
        }
    }
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::names_match;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn a_name_matches_exactly_when_its_trimmed_form_does(
            candidate in "[ \t\u{a0}\u{2003}]{0,2}[a-zA-Z\u{e9}-]{0,6}[ \t\u{a0}\u{2003}]{0,2}",
            name in "[ \t\u{a0}]{0,1}[a-zA-Z\u{e9}-]{0,6}[ \t\u{a0}]{0,1}",
        ) {
            let trimmed = candidate.trim().eq_ignore_ascii_case(&name);
            prop_assert_eq!(names_match(&candidate, &name), trimmed);
            // The same name in another case, and with blanks added, is the same test.
            let upper = candidate.to_ascii_uppercase();
            prop_assert_eq!(names_match(&upper, &name), upper.trim().eq_ignore_ascii_case(&name));
        }
    }
}
