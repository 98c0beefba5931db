//! Answers: Tencent's envelope, always HTTP 200, always a fresh RequestId; and the few
//! transport-level answers (a proxy's 502, a body that never came).

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use iotexplorer_model::{ApiError, ErrorCode};
use serde::Serialize;

/// The HTML a misbehaving proxy sends with a 502.
const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// `{"Response": {...response, "RequestId": request_id}}`, written in one pass.
pub(crate) fn success_body<R: Serialize>(
    response: &R,
    request_id: &str,
) -> Result<Vec<u8>, ApiError> {
    #[derive(Serialize)]
    struct Envelope<'a, R> {
        #[serde(rename = "Response")]
        response: Members<'a, R>,
    }
    #[derive(Serialize)]
    struct Members<'a, R> {
        // The typed response leaves its own `RequestId` unset, so it is not written twice.
        #[serde(flatten)]
        members: &'a R,
        #[serde(rename = "RequestId")]
        request_id: &'a str,
    }
    serde_json::to_vec(&Envelope {
        response: Members {
            members: response,
            request_id,
        },
    })
    .map_err(|error| {
        ApiError::new(
            ErrorCode::InternalError,
            format!("the answer could not be written: {error}"),
        )
    })
}

/// The error envelope.
pub(crate) fn error_body(error: ApiError, request_id: &str) -> Vec<u8> {
    error
        .with_request_id(request_id)
        .to_envelope()
        .to_string()
        .into_bytes()
}

/// An HTTP 200 JSON answer.
pub(crate) fn json_response(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An HTTP 502 with an HTML page.
pub(crate) fn bad_gateway() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(BAD_GATEWAY_HTML.as_bytes())));
    *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// `response`, marked as the last one on its connection.
pub(crate) fn closing(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// An HTTP 408 for a body that did not arrive within `timeout`; the connection closes.
pub(crate) fn request_timeout(timeout: std::time::Duration) -> Response<Full<Bytes>> {
    let text = format!(
        "the request body did not arrive within {} ms\n",
        timeout.as_millis()
    );
    let mut response = closing(Response::new(Full::new(Bytes::from(text))));
    *response.status_mut() = hyper::StatusCode::REQUEST_TIMEOUT;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
