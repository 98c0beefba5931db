//! Which `Content-Type` goes with which method and signature, as Tencent's API 3.0
//! documents it, over real HTTP with requests signed here so the test controls every
//! header: POST `application/json` and `multipart/form-data` with TC3, POST
//! `application/x-www-form-urlencoded` with legacy v1, GET (TC3) with the form type only.

mod support;

use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture, RunningEmulator};
use support::{Reply, http_text, send_raw};
use tc3_sign::{Credentials, Payload, SignableRequest, SigningParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start() -> RunningEmulator {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

const LIST_JSON: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;
const LIST_QUERY: &str = "PageNum=1&PageSize=10&ProductID=ABCDE12345";

/// A TC3 request for `ListFirmwares`, signed over `signed_type` and sent with `sent_type`
/// (no `Content-Type` header when `None`).
fn tc3(
    host: &str,
    method: &str,
    signed_type: &str,
    sent_type: Option<&str>,
    query: &str,
    body: &[u8],
) -> Vec<u8> {
    let credentials = Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY);
    let signable =
        SignableRequest::new(method, host, signed_type, Payload::Bytes(body)).with_query(query);
    let signed = tc3_sign::sign(
        &signable,
        &SigningParams::new(&credentials, "iotexplorer", support::now()),
    )
    .expect("sign");
    let mut headers = vec![("Host".to_owned(), host.to_owned())];
    if let Some(sent) = sent_type {
        headers.push(("Content-Type".to_owned(), sent.to_owned()));
    }
    for (name, value) in [
        ("X-TC-Action", "ListFirmwares"),
        ("X-TC-Version", support::VERSION),
        ("X-TC-Region", "ap-guangzhou"),
    ] {
        headers.push((name.to_owned(), value.to_owned()));
    }
    for (name, value) in signed.headers() {
        headers.push((name.to_owned(), value));
    }
    let target = if query.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{query}")
    };
    http_text(method, &target, &headers, body)
}

/// A legacy v1 `ListFirmwares` form body, signed with HmacSHA256 for POST to `host`.
fn v1_form(host: &str) -> String {
    use tc3_sign::v1::{V1Algorithm, sign, string_to_sign};
    let timestamp = support::now().to_string();
    let mut params = vec![
        ("Action", "ListFirmwares"),
        ("Nonce", "4711"),
        ("PageNum", "1"),
        ("PageSize", "10"),
        ("ProductID", "ABCDE12345"),
        ("Region", "ap-guangzhou"),
        ("SecretId", DEMO_SECRET_ID),
        ("SignatureMethod", "HmacSHA256"),
        ("Timestamp", timestamp.as_str()),
        ("Version", support::VERSION),
    ];
    params.sort();
    let text = string_to_sign("POST", host, "/", &params);
    let key = tc3_sign::SecretKey::new(DEMO_SECRET_KEY);
    let signature = sign(&key, V1Algorithm::HmacSha256, &text).expect("sign");
    let mut body: String = params.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    body.push_str("Signature=");
    tc3_sign::query::percent_encode_into(&mut body, &signature);
    body
}

async fn send(emulator: &RunningEmulator, bytes: &[u8]) -> Reply {
    let reply = send_raw(emulator.addr(), bytes).await.expect("an answer");
    reply.assert_envelope();
    reply
}

/// `reply` is the refusal `code` and its message names `says`; `context` names the case.
fn assert_refused(reply: &Reply, code: &str, says: &str, context: &str) {
    assert_eq!(reply.code().as_deref(), Some(code), "{context}: {reply:?}");
    assert!(message(reply).contains(says), "{context}: {reply:?}");
}

fn message(reply: &Reply) -> String {
    reply.response()["Error"]["Message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn json_posts_are_served_with_or_without_parameters_after_the_type() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
    ] {
        let request = tc3(
            &host,
            "POST",
            content_type,
            Some(content_type),
            "",
            LIST_JSON.as_bytes(),
        );
        let reply = send(&emulator, &request).await;
        assert_eq!(reply.ok()["TotalCount"], 2, "{content_type}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_tc3_post_of_another_type_is_refused_even_with_a_json_body() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    for content_type in ["text/plain", "application/xml", "application/jsonx", "json"] {
        let request = tc3(
            &host,
            "POST",
            content_type,
            Some(content_type),
            "",
            LIST_JSON.as_bytes(),
        );
        let reply = send(&emulator, &request).await;
        assert_refused(&reply, "InvalidParameter", "Content-Type", content_type);
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_request_without_content_type_is_refused_for_it() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let post = tc3(
        &host,
        "POST",
        "application/json",
        None,
        "",
        LIST_JSON.as_bytes(),
    );
    let get = tc3(
        &host,
        "GET",
        "application/x-www-form-urlencoded",
        None,
        LIST_QUERY,
        b"",
    );
    for request in [post, get] {
        let reply = send(&emulator, &request).await;
        assert_refused(&reply, "InvalidParameter", "Content-Type", "");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_form_body_signed_with_tc3_is_refused_and_one_signed_with_v1_is_served() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let form = "application/x-www-form-urlencoded";
    let body = format!(
        "Action=ListFirmwares&Version={}&{LIST_QUERY}",
        support::VERSION
    );
    let request = tc3(&host, "POST", form, Some(form), "", body.as_bytes());
    let reply = send(&emulator, &request).await;
    assert_refused(&reply, "AuthFailure.InvalidAuthorization", "v1", "");

    // The same type with a legacy v1 signature in the body is what the service takes.
    let headers = vec![
        ("Host".to_owned(), host.clone()),
        ("Content-Type".to_owned(), format!("{form}; charset=utf-8")),
    ];
    let v1 = http_text("POST", "/", &headers, v1_form(&host).as_bytes());
    assert_eq!(send(&emulator, &v1).await.ok()["TotalCount"], 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn multipart_is_tc3_only_and_no_modelled_action_takes_it() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let boundary = "3f2a9c";
    let multipart = format!("multipart/form-data; boundary={boundary}");
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"PageNum\"\r\n\r\n1\r\n--{boundary}--\r\n"
    );
    let request = tc3(
        &host,
        "POST",
        &multipart,
        Some(&multipart),
        "",
        body.as_bytes(),
    );
    let reply = send(&emulator, &request).await;
    assert_refused(&reply, "InvalidParameter", "multipart/form-data", "");

    // A v1 signature cannot come in a multipart body: without Authorization it is refused.
    let headers = vec![
        ("Host".to_owned(), host.clone()),
        ("Content-Type".to_owned(), multipart.clone()),
    ];
    let v1 = http_text("POST", "/", &headers, v1_form(&host).as_bytes());
    let reply = send(&emulator, &v1).await;
    assert_refused(&reply, "AuthFailure.InvalidAuthorization", "", "");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_tc3_get_takes_the_form_type_only() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let form = "application/x-www-form-urlencoded";
    let request = tc3(&host, "GET", form, Some(form), LIST_QUERY, b"");
    assert_eq!(send(&emulator, &request).await.ok()["TotalCount"], 2);
    for content_type in [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let request = tc3(
            &host,
            "GET",
            content_type,
            Some(content_type),
            LIST_QUERY,
            b"",
        );
        let reply = send(&emulator, &request).await;
        assert_refused(&reply, "InvalidParameter", "Content-Type", content_type);
    }
    emulator.shutdown().await;
}

/// The type is in the head, so a refused type is answered before a byte of the body is
/// read, and the connection is closed: a client cannot make the emulator hold a body it
/// will refuse.
#[tokio::test]
async fn a_wrong_type_is_answered_before_the_body_arrives() {
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let body = vec![b' '; 2048];
    let request = tc3(&host, "POST", "text/plain", Some("text/plain"), "", &body);
    // Everything but the body.
    let head_end = request.len() - body.len();
    let mut stream = tokio::net::TcpStream::connect(emulator.addr())
        .await
        .expect("connect");
    stream
        .write_all(&request[..head_end])
        .await
        .expect("write the head");
    let mut received = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut received),
    )
    .await
    .expect("answered without the body")
    .expect("read");
    let text = String::from_utf8_lossy(&received).to_ascii_lowercase();
    assert!(text.contains("connection: close"), "{text}");
    assert!(text.contains("\"invalidparameter\""), "{text}");
    emulator.shutdown().await;
}
