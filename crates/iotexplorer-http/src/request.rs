//! Turning a call into a signed HTTP request: encoding the parameters once, then, for
//! each attempt, signing and setting the headers of design notes §3.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, PROXY_AUTHORIZATION};
use http::{Method, Request};
use http_body_util::Full;
use tc3_sign::query::{Param, to_query_string};
use tc3_sign::{CONTENT_TYPE_FORM, CONTENT_TYPE_JSON};

use crate::config::{HttpMethod, Language, SignedHeaderSet};
use crate::endpoint::ResolvedEndpoint;
use crate::error::Error;
use crate::params::Ordered;
use crate::signing::{Attempt, SignerCache};

/// The value of `X-TC-RequestClient`.
pub const REQUEST_CLIENT: &str = concat!("SDK_RUST_", env!("CARGO_PKG_VERSION"));

/// One action to call, whatever its service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) service: &'a str,
    pub(crate) version: &'a str,
    pub(crate) action: &'a str,
    pub(crate) read_only: bool,
}

/// The parameters, encoded once for every attempt.
pub(crate) enum Encoded {
    Json(Bytes),
    Query(String),
}

/// Everything about the wire format that is fixed when the client is built.
#[derive(Debug)]
pub(crate) struct WireSettings {
    pub(crate) endpoint: ResolvedEndpoint,
    pub(crate) method: HttpMethod,
    pub(crate) unsigned_payload: bool,
    pub(crate) signed_headers: SignedHeaderSet,
    pub(crate) region: Option<String>,
    pub(crate) language: Option<Language>,
    /// For plain-http requests forwarded by a proxy that wants a login.
    pub(crate) proxy_authorization: Option<HeaderValue>,
    /// The signer for this endpoint, kept per credentials and UTC day.
    pub(crate) signers: SignerCache,
}

/// Encodes the parameters as a JSON body (POST) or a query string (GET).
pub(crate) fn encode(
    method: HttpMethod,
    call: &Call<'_>,
    params: &impl serde::Serialize,
) -> Result<Encoded, Error> {
    let failed = |err: serde_json::Error| {
        Error::Config(format!("{}: cannot encode the request: {err}", call.action))
    };
    let text = serde_json::to_vec(params).map_err(failed)?;
    match method {
        HttpMethod::Post => Ok(Encoded::Json(Bytes::from(text))),
        HttpMethod::Get => {
            // Through JSON text rather than a `Value`, whose maps would sort members.
            let Ordered(Param::Object(members)) = serde_json::from_slice(&text).map_err(failed)?
            else {
                return Err(Error::Config(format!(
                    "{}: parameters must be a JSON object",
                    call.action
                )));
            };
            Ok(Encoded::Query(to_query_string(&members)))
        }
    }
}

/// The signed request of one attempt at `timestamp`.
pub(crate) fn build_request(
    wire: &WireSettings,
    call: &Call<'_>,
    encoded: &Encoded,
    credentials: &tc3_sign::Credentials,
    timestamp: i64,
) -> Result<Request<Full<Bytes>>, Error> {
    let (method, content_type, query, body) = match encoded {
        Encoded::Json(body) => (Method::POST, CONTENT_TYPE_JSON, "", body.clone()),
        Encoded::Query(query) => (Method::GET, CONTENT_TYPE_FORM, query.as_str(), Bytes::new()),
    };
    let payload = if wire.unsigned_payload {
        tc3_sign::Payload::Unsigned
    } else {
        tc3_sign::Payload::Bytes(&body)
    };
    let attempt = Attempt {
        service: call.service,
        method: if method == Method::POST {
            "POST"
        } else {
            "GET"
        },
        // The header is sent below with exactly this value.
        signed_action: wire.signed_headers.signs_action().then_some(call.action),
        host: &wire.endpoint.host_header,
        path: &wire.endpoint.path,
        content_type,
        query,
        payload,
        timestamp,
    };
    let signed = wire
        .signers
        .sign(credentials, &attempt)
        .map_err(|source| Error::Signing {
            action: call.action.to_owned(),
            source,
        })?;

    let mut builder = Request::builder()
        .method(method)
        .uri(wire.endpoint.uri(query)?);
    let header_error =
        |name: &str| Error::Config(format!("{}: invalid {name} header", call.action));
    let Some(headers) = builder.headers_mut() else {
        return Err(header_error("request"));
    };
    let mut put = |name: HeaderName, value: &str, sensitive: bool| -> Result<(), Error> {
        let mut value = HeaderValue::from_str(value).map_err(|_| header_error(name.as_str()))?;
        // Kept out of any header dump hyper or a caller might make.
        value.set_sensitive(sensitive);
        headers.insert(name, value);
        Ok(())
    };
    put(HOST, &wire.endpoint.host_header, false)?;
    put(CONTENT_TYPE, content_type, false)?;
    for (name, value) in signed.headers() {
        let sensitive = name == "Authorization" || name == "X-TC-Token";
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| header_error(name))?;
        put(name, &value, sensitive)?;
    }
    put(HeaderName::from_static("x-tc-action"), call.action, false)?;
    put(HeaderName::from_static("x-tc-version"), call.version, false)?;
    if let Some(region) = &wire.region {
        put(HeaderName::from_static("x-tc-region"), region, false)?;
    }
    if let Some(language) = wire.language {
        put(
            HeaderName::from_static("x-tc-language"),
            language.as_str(),
            false,
        )?;
    }
    put(
        HeaderName::from_static("x-tc-requestclient"),
        REQUEST_CLIENT,
        false,
    )?;
    if let Some(value) = &wire.proxy_authorization {
        let mut value = value.clone();
        value.set_sensitive(true);
        headers.insert(PROXY_AUTHORIZATION, value);
    }
    builder
        .body(Full::new(body))
        .map_err(|_| header_error("request"))
}

/// A signed request as it would be sent, with its secrets masked: for dry runs and
/// diagnostics. Built by [`Client::preview_json`](crate::Client::preview_json).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestPreview {
    /// `POST` or `GET`.
    pub method: String,
    /// The full URL, query string included.
    pub url: String,
    /// Every header, in a stable order; the signature in `Authorization` and the value of
    /// `X-TC-Token` are masked.
    pub headers: Vec<(String, String)>,
    /// The body (empty for GET).
    pub body: String,
}

const MASK: &str = "** redacted **";

impl RequestPreview {
    pub(crate) fn of(request: &Request<Full<Bytes>>, body: &[u8]) -> Self {
        let mut headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                let text = value.to_str().unwrap_or_default();
                let shown = if value.is_sensitive() {
                    match text.find("Signature=") {
                        Some(at) if *name == http::header::AUTHORIZATION => {
                            format!("{}{MASK}", &text[..at + "Signature=".len()])
                        }
                        _ => MASK.to_owned(),
                    }
                } else {
                    text.to_owned()
                };
                (name.as_str().to_owned(), shown)
            })
            .collect();
        headers.sort();
        Self {
            method: request.method().as_str().to_owned(),
            url: request.uri().to_string(),
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }
}

/// The body bytes of an encoded call.
pub(crate) fn body_of(encoded: &Encoded) -> &[u8] {
    match encoded {
        Encoded::Json(body) => body,
        Encoded::Query(_) => b"",
    }
}
