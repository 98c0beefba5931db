//! Signing a request: from its parts to the `Authorization` header, keeping every
//! intermediate stage so a mismatch can be traced to the stage that differs.

use std::fmt;
use std::ops::Range;

use hmac::Mac;

use crate::canonical::{self, CanonicalInput, CheckedHost, HeaderSet, trim_blanks};
use crate::date::UtcDate;
use crate::digits::hex64;
use crate::error::{SigningError, SigningErrorKind as K};
use crate::key::SigningKey;
use crate::prepared::{Parts, Prepared, payload_hash, prepare};
use crate::secret::{Credentials, SessionToken, is_secret_id};

/// The algorithm name that starts every TC3 `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The `X-TC-Content-SHA256` value that marks a payload left out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The content type of a POST with a JSON body.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// The content type of a GET whose parameters are in the query string.
pub const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

/// What the signature covers of the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The body itself (empty for GET).
    Bytes(&'a [u8]),
    /// The lower- or upper-case hexadecimal SHA-256 of the body, computed elsewhere.
    Precomputed(&'a str),
    /// The body is not signed: the request carries `X-TC-Content-SHA256: UNSIGNED-PAYLOAD`
    /// and the hash of that literal text stands for the body.
    Unsigned,
}

/// Which headers the signature covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedHeaders {
    /// `content-type;host`, as every official SDK signs.
    #[default]
    ContentTypeAndHost,
    /// `content-type`, `host` and every header added with [`SignableRequest::with_header`],
    /// sorted by name (for example `content-type;host;x-tc-action`).
    AllGiven,
}

/// Settings that change how a request is signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SigningSettings {
    /// Which headers the signature covers.
    pub signed_headers: SignedHeaders,
}

impl SigningSettings {
    /// The settings with `signed_headers` replaced.
    #[must_use]
    pub fn with_signed_headers(mut self, signed_headers: SignedHeaders) -> Self {
        self.signed_headers = signed_headers;
        self
    }
}

/// The parts of an HTTP request that the signature covers, as borrowed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignableRequest<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    query: &'a str,
    content_type: &'a str,
    payload: Payload<'a>,
    extra_headers: Vec<(&'a str, &'a str)>,
}

impl<'a> SignableRequest<'a> {
    /// A request to `host` (as sent in the `Host` header, port included when not the
    /// default) on path `/` with an empty query string.
    pub fn new(
        method: &'a str,
        host: &'a str,
        content_type: &'a str,
        payload: Payload<'a>,
    ) -> Self {
        Self {
            method,
            host,
            path: "/",
            query: "",
            content_type,
            payload,
            extra_headers: Vec::new(),
        }
    }

    /// A POST whose body is JSON (`Content-Type: application/json`).
    pub fn post_json(host: &'a str, body: &'a [u8]) -> Self {
        Self::new("POST", host, CONTENT_TYPE_JSON, Payload::Bytes(body))
    }

    /// A GET whose parameters are the query string, exactly as it will be sent
    /// (see [`crate::query`] to build one).
    pub fn get(host: &'a str, query: &'a str) -> Self {
        Self::new("GET", host, CONTENT_TYPE_FORM, Payload::Bytes(b"")).with_query(query)
    }

    /// Sets the path (the canonical URI); API 3.0 always uses `/`.
    #[must_use]
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }

    /// Sets the query string, percent-encoded and in the order it is sent.
    #[must_use]
    pub fn with_query(mut self, query: &'a str) -> Self {
        self.query = query;
        self
    }

    /// Adds a header that is signed under [`SignedHeaders::AllGiven`].
    #[must_use]
    pub fn with_header(mut self, name: &'a str, value: &'a str) -> Self {
        self.extra_headers.push((name, value));
        self
    }

    /// `content-type`, `host` and the extra headers, sorted by name, each name once.
    fn all_headers_sorted(&self) -> Result<Vec<(&'a str, &'a str)>, SigningError> {
        let mut headers = Vec::with_capacity(2 + self.extra_headers.len());
        headers.push(("content-type", self.content_type));
        headers.push(("host", self.host));
        headers.extend_from_slice(&self.extra_headers);
        headers.sort_by(|a, b| compare_names(a.0, b.0));
        if let Some(pair) = headers
            .windows(2)
            .find(|pair| trim_blanks(pair[0].0).eq_ignore_ascii_case(trim_blanks(pair[1].0)))
        {
            let name = trim_blanks(pair[0].0).to_ascii_lowercase();
            return Err(SigningError::new(K::DuplicateHeader(name)));
        }
        Ok(headers)
    }
}

fn compare_names(a: &str, b: &str) -> std::cmp::Ordering {
    let a = trim_blanks(a).bytes().map(|b| b.to_ascii_lowercase());
    let b = trim_blanks(b).bytes().map(|b| b.to_ascii_lowercase());
    a.cmp(b)
}

/// Who signs, for which service and at what time.
#[derive(Debug, Clone)]
pub struct SigningParams<'a> {
    credentials: &'a Credentials,
    cached_key: Option<&'a SigningKey>,
    service: &'a str,
    timestamp: i64,
    settings: SigningSettings,
}

impl<'a> SigningParams<'a> {
    /// Signs as `credentials` for `service` (e.g. `iotexplorer`) at `timestamp`
    /// (Unix seconds: the value of `X-TC-Timestamp`).
    pub fn new(credentials: &'a Credentials, service: &'a str, timestamp: i64) -> Self {
        Self {
            credentials,
            cached_key: None,
            service,
            timestamp,
            settings: SigningSettings::default(),
        }
    }

    /// Uses a key derived earlier from the same credentials instead of deriving it again.
    /// Signing fails if the key is for another date or service.
    #[must_use]
    pub fn with_signing_key(mut self, key: &'a SigningKey) -> Self {
        self.cached_key = Some(key);
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_settings(mut self, settings: SigningSettings) -> Self {
        self.settings = settings;
        self
    }
}

/// Every check of the request and credentials, for the common case of valid input in a
/// few scans; only a refusal goes through the checks one by one to name the first
/// problem, out of the way of the signing path. Returns the checked host.
fn check_request<'a>(
    request: &SignableRequest<'a>,
    params: &SigningParams<'_>,
) -> Result<CheckedHost<'a>, SigningError> {
    let host = CheckedHost::new(request.host);
    let valid = params.credentials.can_sign()
        & canonical::is_method(request.method)
        & canonical::is_path(request.path)
        & canonical::is_query(request.query);
    match host {
        Some(host) if valid => Ok(host),
        _ => Err(first_problem(request, params)),
    }
}

#[cold]
#[inline(never)]
fn first_problem(request: &SignableRequest<'_>, params: &SigningParams<'_>) -> SigningError {
    // The quick checks fail exactly when one of these does (a test holds them to it), so
    // this names the problem; the fallback only keeps a refusal a refusal.
    checks_one_by_one(request, params)
        .err()
        .unwrap_or_else(|| SigningError::new(K::InvalidHost(request.host.to_owned())))
}

/// The checks of [`check_request`] one at a time, in the order their errors take
/// precedence.
fn checks_one_by_one(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<(), SigningError> {
    check_credentials(params.credentials)?;
    canonical::check_method(request.method)?;
    canonical::check_host(request.host)?;
    canonical::check_path(request.path)?;
    canonical::check_query(request.query)
}

pub(crate) fn check_credentials(credentials: &Credentials) -> Result<(), SigningError> {
    let id = credentials.secret_id();
    if id.is_empty() {
        return Err(SigningError::new(K::EmptySecretId));
    }
    if !is_secret_id(id) {
        return Err(SigningError::new(K::InvalidSecretId));
    }
    if credentials.secret_key().expose_secret().is_empty() {
        return Err(SigningError::new(K::EmptySecretKey));
    }
    Ok(())
}

/// Signs a request with TC3-HMAC-SHA256.
///
/// ```
/// use tc3_sign::{sign, Credentials, SignableRequest, SigningParams};
///
/// let credentials = Credentials::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE");
/// let body = br#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0"}"#;
/// let request = SignableRequest::post_json("iotexplorer.tencentcloudapi.com", body);
/// let signed = sign(&request, &SigningParams::new(&credentials, "iotexplorer", 1_700_000_000))?;
/// assert!(signed.authorization().starts_with(
///     "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/iotexplorer/tc3_request, \
///      SignedHeaders=content-type;host, Signature="));
/// assert_eq!(signed.credential_scope(), "2023-11-14/iotexplorer/tc3_request");
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
pub fn sign(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<SigningOutput, SigningError> {
    let host = check_request(request, params)?;
    let derived;
    let key = match params.cached_key {
        // The common case: a kept key for this service and UTC day, so no calendar work;
        // its service was checked when it was derived.
        Some(kept)
            if kept.service() == params.service && kept.date().contains(params.timestamp) =>
        {
            kept
        }
        kept => {
            derived = derive_key(params, kept)?;
            &derived
        }
    };
    let date = key.date();
    if trim_blanks(request.content_type).is_empty() {
        return Err(SigningError::new(K::EmptyContentType));
    }

    let payload_hash = payload_hash(request.payload)?;
    let sorted_headers;
    let headers = match params.settings.signed_headers {
        SignedHeaders::ContentTypeAndHost => HeaderSet::ContentTypeAndHost {
            content_type: request.content_type,
            host,
        },
        SignedHeaders::AllGiven => {
            sorted_headers = request.all_headers_sorted()?;
            HeaderSet::Listed(&sorted_headers)
        }
    };
    let input = CanonicalInput {
        method: request.method,
        path: request.path,
        query: request.query,
        headers,
        payload_hash: &payload_hash,
    };
    let id = params.credentials.secret_id();
    let authorization_len =
        AUTHORIZATION_FIXED + id.len() + key.credential_scope().len() + input.headers.max_len();
    let prepared = prepare(
        &input,
        params.timestamp,
        key.credential_scope(),
        authorization_len,
    )?;

    let mut mac = key.mac();
    mac.update(prepared.string_to_sign());
    let signature = hex64(&mac.finalize().into_bytes().into());

    let Prepared { mut text, parts } = prepared;
    text.extend_from_slice(AUTHORIZATION_START.as_bytes());
    text.extend_from_slice(id.as_bytes());
    text.push(b'/');
    text.extend_from_slice(key.credential_scope().as_bytes());
    match input.headers {
        // Known in advance, so written in one piece.
        HeaderSet::ContentTypeAndHost { .. } => {
            text.extend_from_slice(b", SignedHeaders=content-type;host, Signature=");
        }
        HeaderSet::Listed(_) => {
            text.extend_from_slice(b", SignedHeaders=");
            text.extend_from_within(parts.signed_headers());
            text.extend_from_slice(b", Signature=");
        }
    }
    text.extend_from_slice(&signature);

    Ok(SigningOutput::new(
        text,
        parts,
        params.timestamp,
        date,
        params.credentials.token().cloned(),
        request.payload == Payload::Unsigned,
    ))
}

/// The key for a request without a kept key, or the refusal of a kept key for another
/// service or UTC day. Out of line: deriving costs four HMACs, and keeping it apart keeps
/// the path of a kept key short.
#[inline(never)]
fn derive_key(
    params: &SigningParams<'_>,
    kept: Option<&SigningKey>,
) -> Result<SigningKey, SigningError> {
    canonical::check_service(params.service)?;
    let date = UtcDate::from_timestamp(params.timestamp)?;
    if let Some(kept) = kept {
        return Err(kept.mismatch(date, params.service));
    }
    SigningKey::derive(params.credentials.secret_key(), date, params.service)
}

/// The `Authorization` value up to the SecretId.
const AUTHORIZATION_START: &str = "TC3-HMAC-SHA256 Credential=";

/// Bytes of the `Authorization` value besides the SecretId, the credential scope and the
/// signed-header list: the algorithm, the field names and separators, the signature.
const AUTHORIZATION_FIXED: usize =
    ALGORITHM.len() + " Credential=/, SignedHeaders=, Signature=".len() + 64;

/// A signed request: the `Authorization` value, the headers to send, and each stage of
/// the computation for debugging a mismatch.
///
/// `Debug` leaves out the signature and the token.
pub struct SigningOutput {
    /// Every stage, one after another. Only `&str` input and ASCII are ever written into
    /// it, and lower-casing keeps UTF-8 intact, so every part is text; it is checked as
    /// such when read, so that signing does not pay for parts nobody reads.
    text: Vec<u8>,
    /// The stages; the `Authorization` value follows them, up to the end of `text`.
    parts: Parts,
    date: UtcDate,
    timestamp: i64,
    token: Option<SessionToken>,
    unsigned_payload: bool,
}

impl SigningOutput {
    pub(crate) fn new(
        text: Vec<u8>,
        parts: Parts,
        timestamp: i64,
        date: UtcDate,
        token: Option<SessionToken>,
        unsigned_payload: bool,
    ) -> Self {
        Self {
            text,
            parts,
            date,
            timestamp,
            token,
            unsigned_payload,
        }
    }

    fn authorization_range(&self) -> Range<usize> {
        self.parts.string_to_sign().end..self.text.len()
    }

    /// The signature: the last 64 digits of the `Authorization` value.
    fn signature_range(&self) -> Range<usize> {
        self.text.len() - 64..self.text.len()
    }

    fn part(&self, range: Range<usize>) -> &str {
        // Never fails (see `text`); an empty part would match no signature.
        std::str::from_utf8(&self.text[range]).unwrap_or_default()
    }

    /// The value of the `Authorization` header.
    pub fn authorization(&self) -> &str {
        self.part(self.authorization_range())
    }

    /// The `Authorization` value with the signature replaced, safe for logs.
    pub fn redacted_authorization(&self) -> String {
        let kept = self.authorization_range().start..self.signature_range().start;
        format!("{}** redacted **", self.part(kept))
    }

    /// The signature: lower-case hexadecimal HMAC-SHA256 of the string to sign.
    pub fn signature(&self) -> &str {
        self.part(self.signature_range())
    }

    /// Stage 1: the canonical request.
    pub fn canonical_request(&self) -> &str {
        self.part(self.parts.canonical_request())
    }

    /// The hash of the payload as it appears in the canonical request.
    pub fn payload_hash(&self) -> &str {
        self.canonical_request()
            .rsplit('\n')
            .next()
            .unwrap_or_default()
    }

    /// The signed-header list, e.g. `content-type;host`.
    pub fn signed_headers(&self) -> &str {
        self.part(self.parts.signed_headers())
    }

    /// Stage 2: lower-case hexadecimal SHA-256 of the canonical request.
    pub fn hashed_canonical_request(&self) -> &str {
        self.part(self.parts.hashed_canonical_request())
    }

    /// The credential scope: `Date/Service/tc3_request`.
    pub fn credential_scope(&self) -> &str {
        self.part(self.parts.scope())
    }

    /// Stage 3: the string to sign.
    pub fn string_to_sign(&self) -> &str {
        self.part(self.parts.string_to_sign())
    }

    /// The UTC date of the timestamp.
    pub fn date(&self) -> UtcDate {
        self.date
    }

    /// The timestamp the request was signed at (`X-TC-Timestamp`).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The headers the signature requires on the request besides `Content-Type` and
    /// `Host`: `Authorization`, `X-TC-Timestamp`, and when they apply `X-TC-Token` and
    /// `X-TC-Content-SHA256`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("Authorization", self.authorization().to_owned()),
            ("X-TC-Timestamp", self.timestamp.to_string()),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-TC-Token", token.expose_secret().to_owned()));
        }
        if self.unsigned_payload {
            headers.push(("X-TC-Content-SHA256", UNSIGNED_PAYLOAD.to_owned()));
        }
        headers
    }
}

impl fmt::Debug for SigningOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningOutput")
            .field("authorization", &self.redacted_authorization())
            .field("canonical_request", &self.canonical_request())
            .field("string_to_sign", &self.string_to_sign())
            .field("timestamp", &self.timestamp)
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, prop_oneof};

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn the_quick_checks_refuse_exactly_what_the_checks_one_by_one_refuse(
            // Each part is mostly valid, so that every check is often the only one
            // that fails.
            method in prop_oneof![3 => Just("POST".to_owned()), 1 => "[A-Za-z ]{0,5}"],
            host in prop_oneof![
                3 => "[A-Za-z0-9.:_-]{1,12}",
                1 => "[A-Za-z0-9.:_/ \u{e9}\\[\\]-]{0,12}",
            ],
            path in prop_oneof![3 => "/[a-z%]{0,4}", 1 => "[/a-z%?# ]{0,5}"],
            query in prop_oneof![3 => "[a-z0-9=&]{0,8}", 1 => "[a-z0-9=&%? ]{0,8}"],
            secret_id in prop_oneof![3 => "[A-Za-z0-9]{1,6}", 1 => "[ -~\u{e9}]{0,6}"],
            secret_key in prop_oneof![3 => Just("key"), 1 => Just("")],
        ) {
            let credentials = Credentials::new(secret_id, secret_key);
            let request = SignableRequest::new(&method, &host, CONTENT_TYPE_JSON, Payload::Bytes(b""))
                .with_path(&path)
                .with_query(&query);
            let params = SigningParams::new(&credentials, "iotexplorer", 1_700_000_000);
            let quick = check_request(&request, &params).map(|_| ()).map_err(|e| e.kind().clone());
            let one_by_one = checks_one_by_one(&request, &params).map_err(|e| e.kind().clone());
            proptest::prop_assert_eq!(quick, one_by_one);
        }
    }

    #[test]
    fn the_checks_accept_and_refuse_what_they_should() {
        let credentials = Credentials::new("AKID", "key");
        let params = SigningParams::new(&credentials, "iotexplorer", 1_700_000_000);
        let valid = SignableRequest::post_json("Example.COM:8080", b"");
        assert!(check_request(&valid, &params).is_ok());
        let refused = SignableRequest::post_json("exa mple.com", b"");
        let error = check_request(&refused, &params)
            .map(|_| ())
            .map_err(|e| e.kind().clone());
        assert_eq!(error, Err(K::InvalidHost("exa mple.com".into())));
        for (id, key, expected) in [
            ("", "key", K::EmptySecretId),
            ("AK/ID", "key", K::InvalidSecretId),
            ("AKID", "", K::EmptySecretKey),
        ] {
            let credentials = Credentials::new(id, key);
            let params = SigningParams::new(&credentials, "iotexplorer", 1_700_000_000);
            let error = check_request(&valid, &params)
                .map(|_| ())
                .map_err(|e| e.kind().clone());
            assert_eq!(error, Err(expected));
        }
    }
}
