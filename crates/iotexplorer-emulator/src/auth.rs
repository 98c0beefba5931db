//! Who sent the request: TC3-HMAC-SHA256 (with `X-TC-Token` and `UNSIGNED-PAYLOAD`), or
//! legacy v1 when the request carries no `Authorization` but a `Signature` parameter (in
//! the query of a GET, or in the form body of a POST).

use std::collections::HashMap;

use iotexplorer_model::ApiError;
use tc3_sign::{CONTENT_TYPE_FORM, ReceivedRequest, VerifyPolicy};

use crate::checks::error;
use crate::fixture::CredentialFixture;
use crate::request::{Incoming, decode_pairs};

/// The service name in the credential scope.
pub(crate) const SERVICE: &str = "iotexplorer";

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
    pub(crate) action: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) region: Option<String>,
    /// All parameters of a v1 request; `None` for TC3.
    pub(crate) v1_params: Option<Vec<(String, String)>>,
}

/// Verifies the signature; `Err` carries the exact `AuthFailure.*` code.
pub(crate) fn authenticate(
    request: &Incoming,
    credentials: &HashMap<String, CredentialFixture>,
    max_skew: u64,
    now: i64,
) -> Result<Signed, ApiError> {
    let lookup = |id: &str| credentials.get(id).map(CredentialFixture::to_credentials);
    let policy = VerifyPolicy::new(SERVICE, now).with_max_skew(max_skew);
    let refused = |e: tc3_sign::VerifyError| error(e.code(), e.detail());

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
            secret_id: verified.secret_id,
            action: param("Action"),
            version: param("Version"),
            region: param("Region"),
            v1_params: Some(params),
        });
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
    let verified = tc3_sign::verify(&received, &policy, lookup).map_err(refused)?;
    let header = |name: &str| request.header(name).map(str::to_owned);
    Ok(Signed {
        secret_id: verified.secret_id,
        action: header("x-tc-action"),
        version: header("x-tc-version"),
        region: header("x-tc-region"),
        v1_params: None,
    })
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
    match authenticate(head, credentials, max_skew, now) {
        Ok(_) => Ok(()),
        // Only the signature depends on the body (unless the payload is unsigned), and
        // every other check comes before it.
        Err(error) if error.code.as_str() == "AuthFailure.SignatureFailure" => Ok(()),
        Err(error) => Err(error),
    }
}

/// Whether the request may be legacy v1: no `Authorization`, and parameters in the query
/// (GET) or in a form body (POST, as v1 requires).
fn may_carry_v1_params(request: &Incoming) -> bool {
    if request.header("authorization").is_some() {
        return false;
    }
    request.method == "GET"
        || request.header("content-type").is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(CONTENT_TYPE_FORM))
        })
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
