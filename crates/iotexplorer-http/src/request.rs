//! Turning a call into a signed HTTP request: encoding the parameters once, then, for
//! each attempt, signing and setting the headers of design notes §3.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, PROXY_AUTHORIZATION};
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
    /// The headers every request of the client carries, checked once when it is built:
    /// `Host`, `Content-Type`, `X-TC-Region`, `X-TC-Language`, `X-TC-RequestClient` and,
    /// for plain-http requests forwarded by a proxy that wants a login,
    /// `Proxy-Authorization`.
    pub(crate) fixed_headers: HeaderMap,
    /// The signer for this endpoint, kept per credentials and UTC day.
    pub(crate) signers: SignerCache,
}

/// The settings that make up [`WireSettings::fixed_headers`].
pub(crate) struct FixedHeaders<'a> {
    pub(crate) host: &'a str,
    pub(crate) method: HttpMethod,
    pub(crate) region: Option<&'a str>,
    pub(crate) language: Option<Language>,
    /// `X-TC-RequestClient`: [`REQUEST_CLIENT`], and the program's name when it gave one.
    pub(crate) request_client: &'a str,
    pub(crate) proxy_authorization: Option<HeaderValue>,
}

impl FixedHeaders<'_> {
    /// The headers, each value checked.
    pub(crate) fn build(self) -> Result<HeaderMap, Error> {
        let invalid = |name: &str| Error::Config(format!("invalid {name} header"));
        let value = |name: &HeaderName, text: &str| {
            HeaderValue::from_str(text).map_err(|_| invalid(name.as_str()))
        };
        let mut headers = HeaderMap::with_capacity(12);
        headers.insert(HOST, value(&HOST, self.host)?);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(match self.method {
                HttpMethod::Post => CONTENT_TYPE_JSON,
                HttpMethod::Get => CONTENT_TYPE_FORM,
            }),
        );
        if let Some(region) = self.region {
            let name = HeaderName::from_static("x-tc-region");
            let region = value(&name, region)?;
            headers.insert(name, region);
        }
        if let Some(language) = self.language {
            headers.insert(
                HeaderName::from_static("x-tc-language"),
                HeaderValue::from_static(language.as_str()),
            );
        }
        let name = HeaderName::from_static("x-tc-requestclient");
        let client = value(&name, self.request_client)?;
        headers.insert(name, client);
        if let Some(mut login) = self.proxy_authorization {
            // Kept out of any header dump hyper or a caller might make.
            login.set_sensitive(true);
            headers.insert(PROXY_AUTHORIZATION, login);
        }
        Ok(headers)
    }
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

    let header_error =
        |name: &str| Error::Config(format!("{}: invalid {name} header", call.action));
    let mut headers = wire.fixed_headers.clone();
    for (name, value) in signed.headers() {
        let sensitive = name == "Authorization" || name == "X-TC-Token";
        let name = signed_header_name(name).map_err(|_| header_error(name))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| header_error(name.as_str()))?;
        // Kept out of any header dump hyper or a caller might make.
        value.set_sensitive(sensitive);
        headers.insert(name, value);
    }
    let mut put = |name: &'static str, value: &str| -> Result<(), Error> {
        let value = HeaderValue::from_str(value).map_err(|_| header_error(name))?;
        headers.insert(HeaderName::from_static(name), value);
        Ok(())
    };
    put("x-tc-action", call.action)?;
    put("x-tc-version", call.version)?;
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = method;
    *request.uri_mut() = wire.endpoint.uri(query)?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The header named `name` (one of those `tc3_sign` asks for), without parsing the
/// names it always uses.
fn signed_header_name(name: &str) -> Result<HeaderName, http::header::InvalidHeaderName> {
    Ok(match name {
        "Authorization" => http::header::AUTHORIZATION,
        "X-TC-Timestamp" => HeaderName::from_static("x-tc-timestamp"),
        "X-TC-Token" => HeaderName::from_static("x-tc-token"),
        "X-TC-Content-SHA256" => HeaderName::from_static("x-tc-content-sha256"),
        other => HeaderName::from_bytes(other.as_bytes())?,
    })
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
