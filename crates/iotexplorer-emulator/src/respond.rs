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

/// The start of every success envelope, before the response's members.
const ENVELOPE_START: &[u8] = b"{\"Response\":";

/// `{"Response": {...response, "RequestId": request_id}}`, written in one pass.
///
/// The response is written as itself, then its closing brace is replaced by the
/// `RequestId`: the bytes `serde(flatten)` writes, without its map-by-map detour, which
/// costs more than the rest of the answer. A response that is not written as a JSON
/// object (no type of the model is) goes through `flatten` itself.
pub(crate) fn success_body<R: Serialize>(
    response: &R,
    request_id: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(ENVELOPE_START);
    let is_object = serde_json::to_writer(&mut body, response).is_ok()
        && body.get(ENVELOPE_START.len()) == Some(&b'{')
        && body.last() == Some(&b'}');
    if !is_object {
        return flattened_success_body(response, request_id);
    }
    body.pop();
    if body.len() > ENVELOPE_START.len() + 1 {
        // There were members before it.
        body.push(b',');
    }
    body.extend_from_slice(b"\"RequestId\":");
    serde_json::to_writer(&mut body, request_id).map_err(|error| unwritten(&error))?;
    body.extend_from_slice(b"}}");
    Ok(body)
}

fn unwritten(error: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::InternalError,
        format!("the answer could not be written: {error}"),
    )
}

/// [`success_body`] through `serde(flatten)`.
fn flattened_success_body<R: Serialize>(
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
    .map_err(|error| unwritten(&error))
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use iotexplorer_model::{
        BatchUpdateFirmwareResponse, DescribeFirmwareResponse, DescribeFirmwareTasksResponse,
        FirmwareTaskInfo,
    };

    use super::*;

    /// The envelope as `serde(flatten)` writes it, byte for byte.
    fn same_as_flattened<R: Serialize>(response: &R) {
        for request_id in ["", "5c0a-\"quoted\"-\u{e9}"] {
            assert_eq!(
                success_body(response, request_id).map_err(|e| e.message),
                flattened_success_body(response, request_id).map_err(|e| e.message),
            );
        }
    }

    #[test]
    fn an_envelope_is_the_flattened_one() {
        same_as_flattened(&BatchUpdateFirmwareResponse::default());
        let mut created = BatchUpdateFirmwareResponse::default();
        created.task_id = Some(7);
        same_as_flattened(&created);
        let mut firmware = DescribeFirmwareResponse::default();
        firmware.version = Some("2.0.0".to_owned());
        firmware.description = Some("\"new\" \u{1f600}\n".to_owned());
        firmware.createtime = Some(1_700_000_000);
        same_as_flattened(&firmware);
        let mut tasks = DescribeFirmwareTasksResponse::default();
        tasks.task_infos = Some(vec![FirmwareTaskInfo::default(), {
            let mut info = FirmwareTaskInfo::default();
            info.task_id = Some(3);
            info
        }]);
        tasks.total = Some(2);
        same_as_flattened(&tasks);
        // Not an object: written as `flatten` writes it, or refuses it.
        same_as_flattened(&BTreeMap::from([("A", 1)]));
        same_as_flattened(&BTreeMap::<String, u8>::new());
        same_as_flattened(&3_u8);
        same_as_flattened(&"text");
        same_as_flattened(&vec![1, 2]);
    }
}
