//! Who sent the request: TC3-HMAC-SHA256 (with `X-TC-Token` and `UNSIGNED-PAYLOAD`), or
//! legacy v1 when the request carries no `Authorization` but a `Signature` parameter (in
//! the query of a GET, or in the form body of a POST).
//!
//! A TC3 signature over the `Host` as sent is accepted, and so is one over that host
//! without its port: the official Node.js SDK sends `Host: name:port` but signs `name`
//! alone, so on any port but the default it could not be served otherwise.

use std::collections::HashMap;

use iotexplorer_model::{ApiError, ErrorCode};
use tc3_sign::{
    AuthFailure, CONTENT_TYPE_FORM, CONTENT_TYPE_JSON, ParsedAuthorization, ReceivedRequest,
    VerifyPolicy,
};

use crate::actions::shown;
use crate::fixture::CredentialFixture;
use crate::request::{Incoming, decode_pairs};

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

/// A request whose signature checked out, with its common parameters.
pub(crate) struct Signed {
    pub(crate) secret_id: String,
    /// The account of the SecretId; `None` for the default account.
    pub(crate) account: Option<String>,
    pub(crate) action: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) region: Option<String>,
    /// All parameters of a v1 request; `None` for TC3.
    pub(crate) v1_params: Option<Vec<(String, String)>>,
}

/// How much of a request [`verify`] checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Everything, the signature included.
    Whole,
    /// Everything before the signature: syntax, timestamp, SecretId, token. The signature
    /// of a request whose body is not in yet cannot be checked, so no MAC is computed.
    Head,
}

/// Verifies the signature; `Err` carries the exact `AuthFailure.*` code.
pub(crate) fn authenticate(
    request: &Incoming,
    credentials: &HashMap<String, CredentialFixture>,
    max_skew: u64,
    now: i64,
) -> Result<Signed, ApiError> {
    verify(request, credentials, max_skew, now, Depth::Whole)
}

fn verify(
    request: &Incoming,
    credentials: &HashMap<String, CredentialFixture>,
    max_skew: u64,
    now: i64,
    depth: Depth,
) -> Result<Signed, ApiError> {
    let lookup = |id: &str| {
        let found = credentials.get(id)?;
        Some(match depth {
            Depth::Whole => found.to_credentials(),
            // tc3-sign derives no TC3 key from an empty SecretKey: it answers
            // SignatureFailure after every other check without computing a MAC (a legacy
            // v1 request, whose head is the whole request, still costs one).
            Depth::Head => found.without_secret_key(),
        })
    };
    let policy = VerifyPolicy::new(SERVICE, now).with_max_skew(max_skew);
    let refused = |e: tc3_sign::VerifyError| ApiError::new(ErrorCode::from(e.code()), e.detail());

    if let Some(params) = v1_params(request) {
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let host = request.header("host").unwrap_or_default();
        let verified = tc3_sign::v1::verify(
            &request.method,
            host,
            &request.path,
            &pairs,
            &policy,
            lookup,
        )
        .map_err(refused)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        return Ok(Signed {
            account: account_of(credentials, &verified.secret_id),
            secret_id: verified.secret_id,
            action: param("Action"),
            version: param("Version"),
            region: param("Region"),
            v1_params: Some(params),
        });
    }

    // A missing or malformed Authorization is answered as such first, as before there
    // was a Content-Type check; the type comes next, before the timestamp and the key.
    let authorization = request.header("authorization");
    if authorization.is_some_and(|header| ParsedAuthorization::parse(header).is_ok()) {
        check_tc3_content_type(request)?;
    }
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let received = ReceivedRequest {
        method: &request.method,
        path: &request.path,
        query: &request.query,
        headers: &headers,
        body: &request.body,
    };
    let verified = match tc3_sign::verify(&received, &policy, lookup) {
        Err(mismatch)
            if mismatch.failure() == AuthFailure::SignatureFailure && depth == Depth::Whole =>
        {
            verify_without_port(&received, &policy, lookup).ok_or(mismatch)
        }
        first => first,
    }
    .map_err(refused)?;
    let header = |name: &str| request.header(name).map(str::to_owned);
    Ok(Signed {
        account: account_of(credentials, &verified.secret_id),
        secret_id: verified.secret_id,
        action: header("x-tc-action"),
        version: header("x-tc-version"),
        region: header("x-tc-region"),
        v1_params: None,
    })
}

/// The account `secret_id` belongs to; `None` for the default account.
fn account_of(credentials: &HashMap<String, CredentialFixture>, secret_id: &str) -> Option<String> {
    credentials.get(secret_id)?.account.clone()
}

/// The one alternative to the `Host` as sent: the same request verified with its `Host`
/// stripped of the port. `None` when the `Host` has no port or that fails too, so that a
/// refused request is answered with the error of the `Host` as sent.
fn verify_without_port<F>(
    received: &ReceivedRequest<'_>,
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Option<tc3_sign::Verified>
where
    F: FnOnce(&str) -> Option<tc3_sign::Credentials>,
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
    tc3_sign::verify(&received, policy, lookup).ok()
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
/// means the body decides: it is covered by the signature, or it may be a v1 form.
pub(crate) fn precheck(
    head: &Incoming,
    credentials: &HashMap<String, CredentialFixture>,
    max_skew: u64,
    now: i64,
) -> Result<(), ApiError> {
    if may_carry_v1_params(head) && head.method != "GET" {
        return Ok(());
    }
    match verify(head, credentials, max_skew, now, Depth::Head) {
        Ok(_) => Ok(()),
        // Only the signature depends on the body (unless the payload is unsigned), and
        // every other check comes before it.
        Err(error) if error.code == ErrorCode::AuthFailureSignatureFailure => Ok(()),
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
    if !may_carry_v1_params(request) {
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

    const NOW: i64 = 1_700_000_000;

    fn credentials() -> HashMap<String, CredentialFixture> {
        [
            CredentialFixture::new("AKIDLONG", "long-key"),
            CredentialFixture::new("AKIDTEMP", "temp-key").with_token("session"),
        ]
        .into_iter()
        .map(|c| (c.secret_id.clone(), c))
        .collect()
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
            headers,
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
            headers,
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
            let early = precheck(&head, &credentials(), 300, NOW);
            let late = authenticate(&full, &credentials(), 300, NOW);
            if let Err(early) = early {
                let late = late.err().map(|e| e.code);
                prop_assert_eq!(Some(early.code), late);
            }
        }
    }
}
