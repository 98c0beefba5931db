//! Who sent the request: TC3-HMAC-SHA256 (with `X-TC-Token` and `UNSIGNED-PAYLOAD`), or
//! legacy v1 when the request carries no `Authorization` but a `Signature` parameter (in
//! the query of a GET, or in the form body of a POST).
//!
//! A TC3 signature over the `Host` as sent is accepted, and so is one over that host
//! without its port: the official Node.js SDK sends `Host: name:port` but signs `name`
//! alone, so on any port but the default it could not be served otherwise.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use iotexplorer_model::{ApiError, ErrorCode};
use tc3_sign::{
    AuthFailure, CONTENT_TYPE_FORM, CONTENT_TYPE_JSON, CheckedHead, Credentials,
    ParsedAuthorization, ReceivedRequest, SigningKey, UtcDate, VerifyPolicy,
};

use crate::actions::shown;
use crate::fixture::CredentialFixture;
use crate::request::{Headers, Incoming, decode_pairs};

/// The service name in the credential scope.
pub(crate) const SERVICE: &str = "iotexplorer";

/// The `Content-Type` of multipart bodies, which only TC3 may sign.
pub(crate) const CONTENT_TYPE_MULTIPART: &str = "multipart/form-data";

/// Common parameters of legacy v1 requests, which are not action members.
pub(crate) const V1_COMMON: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "Language",
    "RequestClient",
];

/// A request whose signature checked out, with its common parameters (borrowed from the
/// headers of a TC3 request).
pub(crate) struct Signed<'a> {
    pub(crate) secret_id: String,
    /// The account of the SecretId; `None` for the default account.
    pub(crate) account: Option<String>,
    pub(crate) action: Option<Cow<'a, str>>,
    pub(crate) version: Option<Cow<'a, str>>,
    pub(crate) region: Option<Cow<'a, str>>,
    /// All parameters of a v1 request; `None` for TC3.
    pub(crate) v1_params: Option<Vec<(String, String)>>,
}

/// The credentials requests may be signed with, and the signing keys derived from them.
pub(crate) struct Signers {
    known: HashMap<String, Known>,
    /// The signing keys of recent UTC dates, per SecretId: deriving one costs four HMACs,
    /// and a client signs every request of a day with the same.
    kept: Mutex<HashMap<String, Vec<Arc<SigningKey>>>>,
}

/// One SecretId's credentials, as the fixture gives them and as tc3-sign takes them.
struct Known {
    fixture: CredentialFixture,
    /// Built once, so that a request borrows them rather than copying the secret.
    credentials: Credentials,
}

/// The most SecretIds whose keys are kept; past it, every kept key is let go. Only known
/// SecretIds reach key derivation, so this bounds a fixture with many credentials only.
const MAX_KEPT_SECRET_IDS: usize = 1024;
/// Keys kept per SecretId: today's and yesterday's, as requests signed just before
/// midnight UTC still arrive after it.
const KEYS_PER_SECRET_ID: usize = 2;

impl Signers {
    pub(crate) fn new(fixtures: impl IntoIterator<Item = CredentialFixture>) -> Self {
        let known = fixtures
            .into_iter()
            .map(|fixture| {
                let known = Known {
                    credentials: fixture.to_credentials(),
                    fixture,
                };
                (known.fixture.secret_id.clone(), known)
            })
            .collect();
        Self {
            known,
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn fixture(&self, secret_id: &str) -> Option<&CredentialFixture> {
        self.known.get(secret_id).map(|known| &known.fixture)
    }

    fn credentials(&self, secret_id: &str) -> Option<&Credentials> {
        self.known.get(secret_id).map(|known| &known.credentials)
    }

    /// The signing key of `credentials` for `date` and `service`: a kept one, or one
    /// derived now and kept.
    fn signing_key(
        &self,
        credentials: &Credentials,
        date: UtcDate,
        service: &str,
    ) -> Result<Arc<SigningKey>, tc3_sign::SigningError> {
        let id = credentials.secret_id();
        let found = self.kept().get(id).and_then(|keys| {
            keys.iter()
                .find(|key| key.is_for(date, service))
                .map(Arc::clone)
        });
        if let Some(key) = found {
            return Ok(key);
        }
        // Derived without the lock held: two requests may both derive it, and both keys
        // are the same.
        let key = Arc::new(SigningKey::derive(credentials.secret_key(), date, service)?);
        let mut kept = self.kept();
        if kept.len() >= MAX_KEPT_SECRET_IDS && !kept.contains_key(id) {
            kept.clear();
        }
        let keys = kept.entry(id.to_owned()).or_default();
        keys.retain(|other| !other.is_for(date, service));
        if keys.len() >= KEYS_PER_SECRET_ID {
            keys.remove(0);
        }
        keys.push(Arc::clone(&key));
        Ok(key)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Arc<SigningKey>>>> {
        // Kept keys are only a shortcut; a map left by a panic is still a valid one.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many keys are kept, for all SecretIds together.
    #[cfg(test)]
    fn kept_keys(&self) -> usize {
        self.kept().values().map(Vec::len).sum()
    }
}

impl std::fmt::Debug for Signers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signers")
            .field("secret_ids", &self.known.len())
            .finish_non_exhaustive()
    }
}

/// A TC3 head that passed [`precheck_tc3`], as tc3-sign keeps it: only the signature over
/// the body is left to check.
pub(crate) type Tc3Head<'r, 's> = CheckedHead<'r, &'s Credentials>;

/// Verifies the signature; `Err` carries the exact `AuthFailure.*` code.
///
/// `head` is what [`precheck_tc3`] kept of the same request's head, if anything: the body
/// is then checked against it rather than the head read again. A request it does not
/// verify goes through the whole check, so it is answered exactly as without it.
pub(crate) fn authenticate<'r>(
    request: &'r Incoming,
    signers: &Signers,
    max_skew: u64,
    now: i64,
    head: Option<Tc3Head<'_, '_>>,
) -> Result<Signed<'r>, ApiError> {
    let policy = VerifyPolicy::new(SERVICE, now).with_max_skew(max_skew);
    let keys = |credentials: &Credentials, date, service: &str| {
        signers.signing_key(credentials, date, service)
    };
    // A kept head is a TC3 request whose head passed every check but the signature
    // (which no check of the head depends on the body for), so the whole check would
    // come to the same MAC, and to the same refusal when the signature does not match:
    // that one is kept, so that only the signature over the host without its port is
    // left to try, as the official Node.js SDK signs.
    let mut mismatch = None;
    match head.map(|head| head.verify_body(&request.body, &policy, keys)) {
        Some(Ok(verified)) => return Ok(tc3_signed(request, signers, verified)),
        Some(Err(error)) if error.failure() == AuthFailure::SignatureFailure => {
            mismatch = Some(error);
        }
        _ => {}
    }
    if let Some(params) = v1_params(request) {
        return verify_v1(request, params, signers, &policy, V1Key::Secret);
    }
    check_tc3_head(request)?;
    let headers = header_pairs(&request.headers);
    let received = received(request, &headers);
    let lookup = |id: &str| signers.credentials(id);
    let whole = match mismatch {
        Some(mismatch) => Err(mismatch),
        None => tc3_sign::verify_with_key(&received, &policy, lookup, keys),
    };
    let verified = match whole {
        Err(mismatch) if mismatch.failure() == AuthFailure::SignatureFailure => {
            verify_without_port(&received, &policy, lookup, keys).ok_or(mismatch)
        }
        first => first,
    }
    .map_err(|error| refused(&error))?;
    Ok(tc3_signed(request, signers, verified))
}

/// A verified TC3 request with its common parameters, from its headers.
fn tc3_signed<'r>(
    request: &'r Incoming,
    signers: &Signers,
    verified: tc3_sign::Verified,
) -> Signed<'r> {
    let header = |name: &str| request.header(name).map(Cow::Borrowed);
    Signed {
        account: account_of(signers, &verified.secret_id),
        secret_id: verified.secret_id,
        action: header("x-tc-action"),
        version: header("x-tc-version"),
        region: header("x-tc-region"),
        v1_params: None,
    }
}

/// The answer to a request tc3-sign refused.
fn refused(error: &tc3_sign::VerifyError) -> ApiError {
    ApiError::new(ErrorCode::from(error.code()), error.detail())
}

/// The request's headers as tc3-sign takes them.
pub(crate) fn header_pairs(headers: &Headers) -> Vec<(&str, &str)> {
    let mut pairs = Vec::with_capacity(headers.len());
    pairs.extend(headers.iter());
    pairs
}

fn received<'a>(request: &'a Incoming, headers: &'a [(&'a str, &'a str)]) -> ReceivedRequest<'a> {
    ReceivedRequest {
        method: &request.method,
        path: &request.path,
        query: &request.query,
        headers,
        body: &request.body,
    }
}

/// Which key a v1 request is checked with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum V1Key {
    /// The SecretKey: the whole check.
    Secret,
    /// None: every check before the signature, which then fails.
    Empty,
}

fn verify_v1(
    request: &Incoming,
    params: Vec<(String, String)>,
    signers: &Signers,
    policy: &VerifyPolicy<'_>,
    key: V1Key,
) -> Result<Signed<'static>, ApiError> {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let host = request.header("host").unwrap_or_default();
    let lookup = |id: &str| {
        let found = signers.fixture(id)?;
        Some(match key {
            V1Key::Secret => found.to_credentials(),
            // tc3-sign derives no key from an empty SecretKey: it answers
            // SignatureFailure after every other check.
            V1Key::Empty => found.without_secret_key(),
        })
    };
    let verified =
        tc3_sign::v1::verify(&request.method, host, &request.path, &pairs, policy, lookup)
            .map_err(|error| refused(&error))?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Cow::Owned(v.clone()))
    };
    Ok(Signed {
        account: account_of(signers, &verified.secret_id),
        secret_id: verified.secret_id,
        action: param("Action"),
        version: param("Version"),
        region: param("Region"),
        v1_params: Some(params),
    })
}

/// A missing or malformed Authorization is answered as such first, as before there was
/// a Content-Type check; the type comes next, before the timestamp and the key. The
/// Authorization is parsed here only when the type is wrong: otherwise tc3-sign parses it
/// anyway, and nothing here depends on it.
fn check_tc3_head(request: &Incoming) -> Result<(), ApiError> {
    let Err(wrong_type) = check_tc3_content_type(request) else {
        return Ok(());
    };
    let authorization = request.header("authorization");
    if authorization.is_some_and(|header| ParsedAuthorization::parse(header).is_ok()) {
        return Err(wrong_type);
    }
    Ok(())
}

/// The account `secret_id` belongs to; `None` for the default account.
fn account_of(signers: &Signers, secret_id: &str) -> Option<String> {
    signers.fixture(secret_id)?.account.clone()
}

/// The one alternative to the `Host` as sent: the same request verified with its `Host`
/// stripped of the port. `None` when the `Host` has no port or that fails too, so that a
/// refused request is answered with the error of the `Host` as sent.
fn verify_without_port<'s, F, K>(
    received: &ReceivedRequest<'_>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
    keys: K,
) -> Option<tc3_sign::Verified>
where
    F: FnOnce(&str) -> Option<&'s Credentials>,
    K: FnOnce(&Credentials, UtcDate, &str) -> Result<Arc<SigningKey>, tc3_sign::SigningError>,
{
    let is_host = |name: &str| name.trim().eq_ignore_ascii_case("host");
    let (_, sent) = received.headers.iter().find(|(name, _)| is_host(name))?;
    let bare = host_without_port(sent.trim())?;
    let headers: Vec<(&str, &str)> = received
        .headers
        .iter()
        .map(|&(name, value)| {
            if is_host(name) {
                (name, bare)
            } else {
                (name, value)
            }
        })
        .collect();
    let received = ReceivedRequest {
        headers: &headers,
        ..*received
    };
    tc3_sign::verify_with_key(&received, policy, lookup, keys).ok()
}

/// `host` without its `:port` (decimal digits only), or `None` when it carries no port.
/// An IPv6 address counts only in brackets, so that its own colons are never taken for a
/// port separator.
fn host_without_port(host: &str) -> Option<&str> {
    let (name, port) = host.rsplit_once(':')?;
    let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let is_whole_name = !name.contains(':') || (name.starts_with('[') && name.ends_with(']'));
    (is_port && is_whole_name && !name.is_empty()).then_some(name)
}

/// What the head alone says of the sender, so a refused request is answered before its
/// body is read. `Err` is the answer [`authenticate`] gives for the whole request; `Ok`
/// means the body decides: it is covered by the signature, or it may be a v1 form. Keeps
/// what tc3-sign found of a TC3 head that passed every check but the signature, for
/// [`authenticate`] to check the body against. `received` is `head` as tc3-sign takes it
/// ([`header_pairs`]).
pub(crate) fn precheck_tc3<'r, 's>(
    head: &Incoming,
    received: &ReceivedRequest<'r>,
    signers: &'s Signers,
    max_skew: u64,
    now: i64,
) -> Result<Option<Tc3Head<'r, 's>>, ApiError> {
    let may_be_v1 = may_carry_v1_params(head);
    if may_be_v1 && head.method != "GET" {
        return Ok(None);
    }
    let policy = VerifyPolicy::new(SERVICE, now).with_max_skew(max_skew);
    let checked = if let Some(params) = v1_params_if(head, may_be_v1) {
        // A legacy v1 GET: the head is the whole request.
        verify_v1(head, params, signers, &policy, V1Key::Empty).map(|_| None)
    } else {
        check_tc3_head(head).and_then(|()| {
            tc3_sign::check_head(received, &policy, |id: &str| signers.credentials(id))
                .map(Some)
                .map_err(|error| refused(&error))
        })
    };
    match checked {
        Ok(kept) => Ok(kept),
        // Only the signature depends on the body (unless the payload is unsigned), and
        // every other check comes before it.
        Err(error) if error.code == ErrorCode::AuthFailureSignatureFailure => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether the request may be legacy v1: no `Authorization`, and parameters in the query
/// (GET) or in a form body (POST, as v1 requires).
fn may_carry_v1_params(request: &Incoming) -> bool {
    if request.header("authorization").is_some() {
        return false;
    }
    request.method == "GET" || media_type(request).is_some_and(is(CONTENT_TYPE_FORM))
}

/// The media type of the request's `Content-Type`, without its parameters (`; charset=…`);
/// `None` when the header is absent.
pub(crate) fn media_type(request: &Incoming) -> Option<&str> {
    request
        .header("content-type")
        .map(|value| value.split(';').next().unwrap_or_default().trim())
}

/// A test that a media type is `wanted`; media types compare without regard to case.
pub(crate) fn is(wanted: &str) -> impl Fn(&str) -> bool + '_ {
    move |kind| kind.eq_ignore_ascii_case(wanted)
}

/// Whether a request that is not legacy v1 (so TC3, or nothing) sends a `Content-Type`
/// that Tencent's API 3.0 allows with TC3-HMAC-SHA256: `application/json` or
/// `multipart/form-data` with POST, `application/x-www-form-urlencoded` with GET.
///
/// The service documents what each method and signature must send, not its answer
/// otherwise; the codes are the emulator's choice: a form POST is a v1 request that is
/// not signed as one, `AuthFailure.InvalidAuthorization`; any other type, or none, is a
/// request in the wrong format, `InvalidParameter`.
fn check_tc3_content_type(request: &Incoming) -> Result<(), ApiError> {
    let sent = media_type(request);
    let fits = if request.method == "GET" {
        sent.is_some_and(is(CONTENT_TYPE_FORM))
    } else {
        sent.is_some_and(|kind| is(CONTENT_TYPE_JSON)(kind) || is(CONTENT_TYPE_MULTIPART)(kind))
    };
    if fits {
        return Ok(());
    }
    if request.method != "GET" && sent.is_some_and(is(CONTENT_TYPE_FORM)) {
        return Err(ApiError::new(
            ErrorCode::AuthFailureInvalidAuthorization,
            format!(
                "a form body ({CONTENT_TYPE_FORM}) must be signed with signature v1 (HmacSHA1 or \
                 HmacSHA256, a Signature parameter in the body); TC3-HMAC-SHA256 requests \
                 send {CONTENT_TYPE_JSON}"
            ),
        ));
    }
    let allowed = if request.method == "GET" {
        format!("a GET sends {CONTENT_TYPE_FORM}")
    } else {
        format!(
            "a POST sends {CONTENT_TYPE_JSON} or {CONTENT_TYPE_MULTIPART} signed with \
             TC3-HMAC-SHA256, or {CONTENT_TYPE_FORM} signed with v1"
        )
    };
    let problem = match sent {
        None => "no Content-Type was sent".to_owned(),
        Some(kind) => format!("the Content-Type `{}` is not supported", shown(kind)),
    };
    Err(ApiError::new(
        ErrorCode::InvalidParameter,
        format!("{problem}: {allowed}"),
    ))
}

/// The parameters of a legacy v1 request, or `None` for a TC3 request.
fn v1_params(request: &Incoming) -> Option<Vec<(String, String)>> {
    v1_params_if(request, may_carry_v1_params(request))
}

/// [`v1_params`], told whether the request may carry them ([`may_carry_v1_params`]).
fn v1_params_if(request: &Incoming, may_be_v1: bool) -> Option<Vec<(String, String)>> {
    if !may_be_v1 {
        return None;
    }
    let text = if request.method == "GET" {
        request.query.clone()
    } else {
        String::from_utf8_lossy(&request.body).into_owned()
    };
    let pairs = decode_pairs(&text);
    pairs.iter().any(|(k, _)| k == "Signature").then_some(pairs)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tc3_sign::{Credentials, Payload, SignableRequest, SigningParams};

    use super::*;
    use crate::request::Headers;

    const NOW: i64 = 1_700_000_000;

    fn credentials() -> Signers {
        Signers::new([
            CredentialFixture::new("AKIDLONG", "long-key"),
            CredentialFixture::new("AKIDTEMP", "temp-key").with_token("session"),
        ])
    }

    /// A request signed for `signed_body`, carrying `sent_body`, then spoiled as told.
    #[allow(clippy::too_many_arguments)]
    fn request(
        method: &str,
        signer: (&str, &str, Option<&str>),
        skew: i64,
        unsigned: bool,
        content_type: &str,
        signed_body: &[u8],
        sent_body: &[u8],
        spoil: u8,
    ) -> Incoming {
        let (id, key, token) = signer;
        let mut credentials = Credentials::new(id, key);
        if let Some(token) = token {
            credentials = credentials.with_token(token);
        }
        let payload = if unsigned {
            Payload::Unsigned
        } else {
            Payload::Bytes(signed_body)
        };
        let query = if method == "GET" { "PageNum=1" } else { "" };
        let signable = SignableRequest::new(method, "h", content_type, payload).with_query(query);
        let signed = tc3_sign::sign(
            &signable,
            &SigningParams::new(&credentials, SERVICE, NOW + skew),
        )
        .expect("sign");
        let mut headers = vec![
            ("Host".to_owned(), "h".to_owned()),
            ("Content-Type".to_owned(), content_type.to_owned()),
        ];
        for (name, value) in signed.headers() {
            headers.push((name.to_owned(), value));
        }
        match spoil {
            // No Authorization: TC3 fails, or a v1 form decides.
            1 => headers.retain(|(name, _)| name != "Authorization"),
            2 => headers.push(("Authorization".to_owned(), "TC3-HMAC-SHA256 x".to_owned())),
            3 => headers.retain(|(name, _)| name != "X-TC-Timestamp"),
            _ => {}
        }
        Incoming {
            method: method.to_owned(),
            path: "/".to_owned(),
            query: query.to_owned(),
            headers: Headers::from_pairs(headers),
            body: bytes::Bytes::copy_from_slice(sent_body),
        }
    }

    /// A legacy v1 form body for `AKIDLONG`, signed for POST to `h`.
    fn v1_form(skew: i64) -> Vec<u8> {
        use tc3_sign::v1::{V1Algorithm, sign, string_to_sign};
        let timestamp = (NOW + skew).to_string();
        let params = [
            ("Action", "ListFirmwares"),
            ("Nonce", "1"),
            ("SecretId", "AKIDLONG"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", timestamp.as_str()),
        ];
        let text = string_to_sign("POST", "h", "/", &params);
        let key = tc3_sign::SecretKey::new("long-key");
        let signature = sign(&key, V1Algorithm::HmacSha256, &text).expect("sign");
        let mut body: String = params.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        body.push_str("Signature=");
        tc3_sign::query::percent_encode_into(&mut body, &signature);
        body.into_bytes()
    }

    /// A head of `method` with `content_type` (none when `None`).
    fn typed(method: &str, content_type: Option<&str>) -> Incoming {
        let mut headers = vec![("Host".to_owned(), "h".to_owned())];
        if let Some(content_type) = content_type {
            headers.push(("Content-Type".to_owned(), content_type.to_owned()));
        }
        Incoming {
            method: method.to_owned(),
            path: "/".to_owned(),
            query: String::new(),
            headers: Headers::from_pairs(headers),
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn each_method_takes_its_documented_types_only() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("POST", Some("application/json"), None),
            ("POST", Some(" Application/Json ; charset=utf-8"), None),
            ("POST", Some("multipart/form-data; boundary=x"), None),
            (
                "POST",
                Some("application/x-www-form-urlencoded"),
                Some("AuthFailure.InvalidAuthorization"),
            ),
            ("POST", Some("text/plain"), Some("InvalidParameter")),
            ("POST", Some(""), Some("InvalidParameter")),
            ("POST", None, Some("InvalidParameter")),
            ("GET", Some("application/x-www-form-urlencoded"), None),
            (
                "GET",
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                None,
            ),
            ("GET", Some("application/json"), Some("InvalidParameter")),
            ("GET", Some("multipart/form-data"), Some("InvalidParameter")),
            ("GET", None, Some("InvalidParameter")),
        ];
        for (method, content_type, refused) in cases {
            let answer = check_tc3_content_type(&typed(method, *content_type));
            assert_eq!(
                answer.as_ref().err().map(|e| e.code.as_str()),
                *refused,
                "{method} {content_type:?}"
            );
        }
    }

    /// A POST signed at `NOW + skew` by `signer`, as sent.
    fn signed_post(signer: (&str, &str, Option<&str>), skew: i64) -> Incoming {
        let body = b"{}";
        request(
            "POST",
            signer,
            skew,
            false,
            "application/json",
            body,
            body,
            0,
        )
    }

    /// `request` as its head arrives: the same head, no body yet.
    fn head_of(request: &Incoming) -> Incoming {
        Incoming {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: Headers::from_pairs(request.headers.iter()),
            body: bytes::Bytes::new(),
        }
    }

    /// `request` sent with `Host: host` instead of the host it was signed for.
    fn with_host(request: Incoming, host: &str) -> Incoming {
        let headers = Headers::from_pairs(
            request
                .headers
                .iter()
                .map(|(name, value)| (name, if name == "host" { host } else { value })),
        );
        Incoming { headers, ..request }
    }

    /// A request whose head was kept is checked against it: the head is kept, a body it
    /// was signed for verifies, another body is refused, and a Host with a port signed
    /// without it (as the official Node.js SDK signs) verifies after the mismatch.
    #[test]
    fn a_kept_head_verifies_the_body_it_was_signed_for_and_no_other() {
        let signers = credentials();
        let answer = |full: &Incoming| {
            let head = head_of(full);
            let pairs = header_pairs(&head.headers);
            let kept = precheck_tc3(&head, &received(&head, &pairs), &signers, 300, NOW)
                .expect("the head passes");
            assert!(kept.is_some(), "a TC3 head that passes is kept");
            authenticate(full, &signers, 300, NOW, kept)
                .map(|signed| signed.secret_id)
                .map_err(|error| error.code.as_str().to_owned())
        };
        let signer = ("AKIDLONG", "long-key", None);
        let forged = || {
            request(
                "POST",
                signer,
                0,
                false,
                "application/json",
                b"{}",
                b"{\"x\":1}",
                0,
            )
        };
        let refused = Err("AuthFailure.SignatureFailure".to_owned());
        assert_eq!(answer(&signed_post(signer, 0)), Ok("AKIDLONG".to_owned()));
        assert_eq!(answer(&forged()), refused);
        assert_eq!(
            answer(&with_host(signed_post(signer, 0), "h:8080")),
            Ok("AKIDLONG".to_owned())
        );
        assert_eq!(answer(&with_host(forged(), "h:8080")), refused);
    }

    /// Everything of an answer, to compare two.
    #[allow(clippy::type_complexity)]
    fn signed_parts(
        answer: Result<Signed<'_>, ApiError>,
    ) -> Result<
        (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            bool,
        ),
        (String, String),
    > {
        answer
            .map(|s| {
                let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
                (
                    s.secret_id,
                    s.account,
                    owned(s.action),
                    owned(s.version),
                    owned(s.region),
                    s.v1_params.is_some(),
                )
            })
            .map_err(|e| (e.code.as_str().to_owned(), e.message))
    }

    fn code(answer: Result<Signed<'_>, ApiError>) -> Result<(), String> {
        answer.map(|_| ()).map_err(|e| e.code.as_str().to_owned())
    }

    #[test]
    fn a_kept_key_serves_its_day_and_no_other() {
        let signers = credentials();
        let good = ("AKIDLONG", "long-key", None);
        for _ in 0..5 {
            assert_eq!(
                code(authenticate(
                    &signed_post(good, 0),
                    &signers,
                    300,
                    NOW,
                    None
                )),
                Ok(())
            );
        }
        assert_eq!(
            signers.kept_keys(),
            1,
            "one key derived for five requests of a day"
        );

        // A wrong SecretKey is still refused with the right one kept.
        let forged = signed_post(("AKIDLONG", "wrong-key", None), 0);
        assert_eq!(
            code(authenticate(&forged, &signers, 300, NOW, None)),
            Err("AuthFailure.SignatureFailure".to_owned())
        );

        // The next days get their own keys; the two latest are kept.
        for day in 1..=3 {
            let skew = day * 86_400;
            let request = signed_post(good, skew);
            assert_eq!(
                code(authenticate(&request, &signers, 300, NOW + skew, None)),
                Ok(())
            );
            // The same request replayed against yesterday's clock has the wrong date for
            // any kept key but its own, and its timestamp is too far off anyway.
            assert_eq!(
                code(authenticate(
                    &request,
                    &signers,
                    300,
                    NOW + skew - 86_400,
                    None
                )),
                Err("AuthFailure.SignatureExpire".to_owned())
            );
        }
        assert_eq!(signers.kept_keys(), KEYS_PER_SECRET_ID);
        // A request of the day before still verifies: its key is derived again.
        let yesterday = signed_post(good, 2 * 86_400);
        assert_eq!(
            code(authenticate(
                &yesterday,
                &signers,
                300,
                NOW + 2 * 86_400,
                None
            )),
            Ok(())
        );
    }

    #[test]
    fn a_request_signed_just_before_midnight_verifies_after_it() {
        let signers = credentials();
        let good = ("AKIDLONG", "long-key", None);
        // NOW is 22:13:20 UTC; two hours later is the next day.
        let before = signed_post(good, 6_000);
        let after = signed_post(good, 6_500);
        for _ in 0..3 {
            assert_eq!(
                code(authenticate(&before, &signers, 300, NOW + 6_300, None)),
                Ok(())
            );
            assert_eq!(
                code(authenticate(&after, &signers, 300, NOW + 6_300, None)),
                Ok(())
            );
        }
        assert_eq!(signers.kept_keys(), 2);
    }

    #[test]
    fn kept_keys_are_bounded_however_many_secret_ids_sign() {
        let count = MAX_KEPT_SECRET_IDS + 7;
        let signers = Signers::new(
            (0..count).map(|n| CredentialFixture::new(format!("AKID{n}"), format!("key-{n}"))),
        );
        for n in 0..count {
            let (id, key) = (format!("AKID{n}"), format!("key-{n}"));
            let request = signed_post((&id, &key, None), 0);
            assert_eq!(
                code(authenticate(&request, &signers, 300, NOW, None)),
                Ok(()),
                "{id}"
            );
            assert!(
                signers.kept_keys() <= MAX_KEPT_SECRET_IDS,
                "{}",
                signers.kept_keys()
            );
        }
        // An unknown SecretId never gets a key.
        let stranger = signed_post(("AKIDNONE", "any", None), 0);
        assert_eq!(
            code(authenticate(&stranger, &signers, 300, NOW, None)),
            Err("AuthFailure.SecretIdNotFound".to_owned())
        );
    }

    #[test]
    fn only_a_decimal_port_after_a_whole_name_is_taken_off() {
        let cases = [
            ("example.com:8080", Some("example.com")),
            ("127.0.0.1:1", Some("127.0.0.1")),
            ("[::1]:443", Some("[::1]")),
            ("example.com", None),
            ("example.com:", None),
            ("example.com:8o", None),
            (":80", None),
            ("[::1]", None),
            ("fe80::1", None),
            ("a:b:80", None),
        ];
        for (host, bare) in cases {
            assert_eq!(host_without_port(host), bare, "{host}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_content_type_is_answered_and_the_message_stays_short(
            method in prop_oneof![Just("POST"), Just("GET"), Just("PUT")],
            content_type in ".{0,300}",
        ) {
            if let Err(error) = check_tc3_content_type(&typed(method, Some(&content_type))) {
                prop_assert!(error.message.chars().count() < 400, "{}", error.message);
            }
        }

        #[test]
        fn a_port_taken_off_is_all_that_differs(host in "[a-z0-9.:\\[\\]-]{0,24}") {
            if let Some(bare) = host_without_port(&host) {
                let port = &host[bare.len() + 1..];
                prop_assert_eq!(format!("{bare}:{port}"), host.clone());
                prop_assert!(!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!bare.is_empty());
            }
        }

        #[test]
        fn what_the_head_refuses_the_whole_request_refuses_alike(
            method in prop_oneof![Just("POST"), Just("GET")],
            signer in prop_oneof![
                Just(("AKIDLONG", "long-key", None)),
                Just(("AKIDLONG", "wrong-key", None)),
                Just(("AKIDLONG", "long-key", Some("session"))),
                Just(("AKIDTEMP", "temp-key", Some("session"))),
                Just(("AKIDTEMP", "temp-key", Some("other"))),
                Just(("AKIDTEMP", "temp-key", None)),
                Just(("AKIDNONE", "any", None)),
            ],
            skew in prop_oneof![Just(0i64), Just(-299), Just(-301), Just(400)],
            unsigned in any::<bool>(),
            content_type in prop_oneof![
                Just("application/json"),
                Just("application/x-www-form-urlencoded"),
                Just("text/plain"),
            ],
            signed_body in prop_oneof![
                Just(b"{}".to_vec()),
                Just(b"Signature=abc&SecretId=AKIDLONG".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..24),
            ],
            tampered in any::<bool>(),
            spoil in 0u8..4,
            v1 in any::<bool>(),
        ) {
            let sent_body = if v1 && spoil == 1 {
                v1_form(skew)
            } else if tampered {
                b"{\"x\":1}".to_vec()
            } else {
                signed_body.clone()
            };
            let full = request(method, signer, skew, unsigned, content_type, &signed_body, &sent_body, spoil);
            let head = Incoming { body: bytes::Bytes::new(), ..request(method, signer, skew, unsigned, content_type, &signed_body, &sent_body, spoil) };
            let head_pairs = header_pairs(&head.headers);
            let early = precheck_tc3(&head, &received(&head, &head_pairs), &credentials(), 300, NOW)
                .map(|_| ());
            let late = authenticate(&full, &credentials(), 300, NOW, None);
            if let Err(early) = early {
                let late = late.as_ref().err().map(|e| e.code.clone());
                prop_assert_eq!(Some(early.code), late);
            }
            // With what the head check kept, and the body checked a little later, the whole
            // request is answered as it is without.
            let signers = credentials();
            let pairs = header_pairs(&head.headers);
            for later in [NOW, NOW + 1, NOW + 302] {
                let kept = precheck_tc3(&head, &received(&head, &pairs), &signers, 300, NOW);
                if let Ok(kept) = kept {
                    let with = authenticate(&full, &signers, 300, later, kept);
                    let without = authenticate(&full, &credentials(), 300, later, None);
                    prop_assert_eq!(signed_parts(with), signed_parts(without));
                }
            }
        }
    }
}
