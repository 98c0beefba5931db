//! Signing a request: from its parts to the `Authorization` header, keeping every
//! intermediate stage so a mismatch can be traced to the stage that differs.

use std::fmt;
use std::ops::Range;

use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::canonical::{self, CanonicalInput, trim_blanks};
use crate::date::UtcDate;
use crate::error::{SigningError, SigningErrorKind as K};
use crate::key::{SCOPE_TERMINATOR, SigningKey};
use crate::secret::{Credentials, SessionToken};

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

/// The canonical request and string to sign of one request: what both sides compute
/// before the MAC. Both live in one buffer (one allocation on the signing path); the
/// ranges say where each part is.
pub(crate) struct Prepared {
    pub(crate) text: String,
    pub(crate) canonical_request: Range<usize>,
    pub(crate) signed_headers: Range<usize>,
    pub(crate) string_to_sign: Range<usize>,
    pub(crate) scope: Range<usize>,
    pub(crate) hashed_canonical_request: Range<usize>,
}

impl Prepared {
    pub(crate) fn string_to_sign(&self) -> &str {
        &self.text[self.string_to_sign.clone()]
    }
}

/// Builds the canonical request and the string to sign, leaving `spare` bytes of room in
/// the buffer for what the caller appends (the `Authorization` value).
pub(crate) fn prepare(
    input: &CanonicalInput<'_, '_>,
    timestamp: i64,
    date: UtcDate,
    service: &str,
    spare: usize,
) -> Result<Prepared, SigningError> {
    let header_bytes: usize = input
        .headers
        .iter()
        .map(|(n, v)| 2 * n.len() + v.len() + 3)
        .sum();
    let canonical_len =
        input.method.len() + input.path.len() + input.query.len() + header_bytes + 70;
    let string_to_sign_len = ALGORITHM.len() + service.len() + 110;
    let mut text = String::with_capacity(canonical_len + string_to_sign_len + spare);
    let signed_headers = input.write(&mut text)?;
    let canonical_request = 0..text.len();
    let hashed = hex64(&Sha256::digest(text.as_bytes()).into());

    let sts_start = text.len();
    text.push_str(ALGORITHM);
    text.push('\n');
    push_decimal(&mut text, timestamp);
    text.push('\n');
    let scope_start = text.len();
    text.push_str(date.as_str());
    text.push('/');
    text.push_str(service);
    text.push('/');
    text.push_str(SCOPE_TERMINATOR);
    let scope = scope_start..text.len();
    text.push('\n');
    let hashed_start = text.len();
    text.push_str(hex_str(&hashed));
    Ok(Prepared {
        hashed_canonical_request: hashed_start..text.len(),
        string_to_sign: sts_start..text.len(),
        canonical_request,
        signed_headers,
        scope,
        text,
    })
}

fn push_decimal(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut magnitude = value.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        // A remainder below 10 always fits in a byte.
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// Lower-case hexadecimal SHA-256 of a payload, or of `UNSIGNED-PAYLOAD`.
pub(crate) fn payload_hash(payload: Payload<'_>) -> Result<[u8; 64], SigningError> {
    match payload {
        Payload::Bytes(bytes) => Ok(hex64(&Sha256::digest(bytes).into())),
        Payload::Unsigned => Ok(hex64(&Sha256::digest(UNSIGNED_PAYLOAD).into())),
        Payload::Precomputed(text) => {
            let bytes = text.as_bytes();
            if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
                return Err(SigningError::new(K::InvalidPayloadHash));
            }
            let mut out = [0u8; 64];
            for (slot, byte) in out.iter_mut().zip(bytes) {
                *slot = byte.to_ascii_lowercase();
            }
            Ok(out)
        }
    }
}

/// The two lower-case hexadecimal digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0x0f]];
        byte += 1;
    }
    table
};

pub(crate) fn hex64(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
    }
    out
}

pub(crate) fn hex_str(hex: &[u8; 64]) -> &str {
    // Hexadecimal digits are ASCII.
    std::str::from_utf8(hex).unwrap_or_default()
}

pub(crate) fn check_credentials(credentials: &Credentials) -> Result<(), SigningError> {
    let id = credentials.secret_id();
    if id.is_empty() {
        return Err(SigningError::new(K::EmptySecretId));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'/' && b != b',')
    {
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
    check_credentials(params.credentials)?;
    canonical::check_method(request.method)?;
    canonical::check_host(request.host)?;
    canonical::check_path(request.path)?;
    canonical::check_query(request.query)?;
    canonical::check_service(params.service)?;
    if trim_blanks(request.content_type).is_empty() {
        return Err(SigningError::new(K::EmptyContentType));
    }
    let date = match params.cached_key {
        // The common case: the cached key's date is the request's, no calendar needed.
        Some(key) if key.date().contains(params.timestamp) => key.date(),
        _ => UtcDate::from_timestamp(params.timestamp)?,
    };
    let derived;
    let key = match params.cached_key {
        Some(key) if key.is_for(date, params.service) => key,
        Some(key) => {
            return Err(SigningError::new(K::KeyMismatch {
                key_scope: format!("{}/{}", key.date(), key.service()),
                request_scope: format!("{date}/{}", params.service),
            }));
        }
        None => {
            derived = SigningKey::derive(params.credentials.secret_key(), date, params.service)?;
            &derived
        }
    };

    let payload_hash = payload_hash(request.payload)?;
    let default_headers = [
        ("content-type", request.content_type),
        ("host", request.host),
    ];
    let sorted_headers;
    let headers: &[(&str, &str)] = match params.settings.signed_headers {
        SignedHeaders::ContentTypeAndHost => &default_headers,
        SignedHeaders::AllGiven => {
            sorted_headers = request.all_headers_sorted()?;
            &sorted_headers
        }
    };
    let input = CanonicalInput {
        method: request.method,
        path: request.path,
        query: request.query,
        headers,
        payload_hash: hex_str(&payload_hash),
    };
    let id = params.credentials.secret_id();
    let authorization_len = ALGORITHM.len() + id.len() + params.service.len() + 140;
    let mut prepared = prepare(
        &input,
        params.timestamp,
        date,
        params.service,
        authorization_len + 2 * headers.len() * 16,
    )?;

    let mut mac = key.mac();
    mac.update(prepared.string_to_sign().as_bytes());
    let signature = hex64(&mac.finalize().into_bytes().into());

    let text = &mut prepared.text;
    let authorization_start = text.len();
    text.push_str(ALGORITHM);
    text.push_str(" Credential=");
    text.push_str(id);
    text.push('/');
    text.extend_from_within(prepared.scope.clone());
    text.push_str(", SignedHeaders=");
    text.extend_from_within(prepared.signed_headers.clone());
    text.push_str(", Signature=");
    let signature_start = text.len();
    text.push_str(hex_str(&signature));

    Ok(SigningOutput {
        authorization: authorization_start..text.len(),
        signature: signature_start..text.len(),
        prepared,
        date,
        timestamp: params.timestamp,
        token: params.credentials.token().cloned(),
        unsigned_payload: request.payload == Payload::Unsigned,
    })
}

/// A signed request: the `Authorization` value, the headers to send, and each stage of
/// the computation for debugging a mismatch.
///
/// `Debug` leaves out the signature and the token.
pub struct SigningOutput {
    authorization: Range<usize>,
    signature: Range<usize>,
    prepared: Prepared,
    date: UtcDate,
    timestamp: i64,
    token: Option<SessionToken>,
    unsigned_payload: bool,
}

impl SigningOutput {
    /// The value of the `Authorization` header.
    pub fn authorization(&self) -> &str {
        &self.prepared.text[self.authorization.clone()]
    }

    /// The `Authorization` value with the signature replaced, safe for logs.
    pub fn redacted_authorization(&self) -> String {
        let kept = self.authorization.start..self.signature.start;
        format!("{}** redacted **", &self.prepared.text[kept])
    }

    /// The signature: lower-case hexadecimal HMAC-SHA256 of the string to sign.
    pub fn signature(&self) -> &str {
        &self.prepared.text[self.signature.clone()]
    }

    /// Stage 1: the canonical request.
    pub fn canonical_request(&self) -> &str {
        &self.prepared.text[self.prepared.canonical_request.clone()]
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
        &self.prepared.text[self.prepared.signed_headers.clone()]
    }

    /// Stage 2: lower-case hexadecimal SHA-256 of the canonical request.
    pub fn hashed_canonical_request(&self) -> &str {
        &self.prepared.text[self.prepared.hashed_canonical_request.clone()]
    }

    /// The credential scope: `Date/Service/tc3_request`.
    pub fn credential_scope(&self) -> &str {
        &self.prepared.text[self.prepared.scope.clone()]
    }

    /// Stage 3: the string to sign.
    pub fn string_to_sign(&self) -> &str {
        self.prepared.string_to_sign()
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
