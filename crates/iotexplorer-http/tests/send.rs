//! One call, end to end, against a real server on 127.0.0.1: what is sent, and every kind
//! of answer.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use iotexplorer_http::{Error, HttpMethod, Language, REQUEST_CLIENT, StaticCredentials};
use iotexplorer_model::{BatchUpdateFirmwareRequest, DescribeFirmwareTaskRequest};
use serde_json::json;
use support::{Reply, SECRET_KEY, TestServer, api_error, builder, ok, task_created};

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .device_names("dev001")
        .device_names("dev002")
        .build()
        .unwrap()
}

fn describe() -> DescribeFirmwareTaskRequest {
    DescribeFirmwareTaskRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .task_id(1000696u64)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_post_is_signed_and_carries_every_header() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .region("ap-guangzhou")
        .language(Language::EnUs)
        .build()
        .unwrap();
    let response = client.send(&upgrade()).await.unwrap();
    assert_eq!(response.task_id, Some(1000696));

    let arrivals = server.arrivals();
    assert_eq!(arrivals.len(), 1);
    let arrival = &arrivals[0];
    arrival.verify(SECRET_KEY).unwrap();
    assert_eq!(arrival.method, "POST");
    assert_eq!(arrival.path, "/");
    assert_eq!(arrival.header("content-type"), Some("application/json"));
    assert_eq!(
        arrival.header("host"),
        Some(format!("{}", server.addr).as_str())
    );
    assert_eq!(arrival.header("x-tc-action"), Some("BatchUpdateFirmware"));
    assert_eq!(arrival.header("x-tc-version"), Some("2019-04-23"));
    assert_eq!(arrival.header("x-tc-region"), Some("ap-guangzhou"));
    assert_eq!(arrival.header("x-tc-language"), Some("en-US"));
    assert_eq!(arrival.header("x-tc-requestclient"), Some(REQUEST_CLIENT));
    assert!(REQUEST_CLIENT.starts_with("SDK_RUST_"));
    assert_eq!(arrival.header("x-tc-token"), None);
    assert!(
        arrival
            .header("x-tc-timestamp")
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
    assert_eq!(
        arrival.body,
        Bytes::from_static(
            br#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001","dev002"]}"#
        )
    );
}

#[tokio::test]
async fn optional_headers_are_left_out_and_tokens_sent() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .credentials(StaticCredentials::new(support::SECRET_ID, SECRET_KEY).with_token("tok-1"))
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrival = &server.arrivals()[0];
    arrival.verify(SECRET_KEY).unwrap();
    assert_eq!(arrival.header("x-tc-region"), None);
    assert_eq!(arrival.header("x-tc-language"), None);
    assert_eq!(arrival.header("x-tc-token"), Some("tok-1"));
}

#[tokio::test]
async fn a_get_flattens_parameters_into_the_signed_query() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).method(HttpMethod::Get).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrival = &server.arrivals()[0];
    assert_eq!(arrival.method, "GET");
    assert_eq!(
        arrival.query,
        "ProductID=ABCDE12345&FirmwareVersion=2.0.0&DeviceNames.0=dev001&DeviceNames.1=dev002"
    );
    assert!(arrival.body.is_empty());
    assert_eq!(
        arrival.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    arrival.verify(SECRET_KEY).unwrap();
}

#[tokio::test]
async fn an_unsigned_payload_is_marked_and_still_verifies() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).unsigned_payload(true).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrival = &server.arrivals()[0];
    assert_eq!(
        arrival.header("x-tc-content-sha256"),
        Some("UNSIGNED-PAYLOAD")
    );
    arrival.verify(SECRET_KEY).unwrap();
}

#[tokio::test]
async fn an_invalid_request_never_reaches_the_network() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).build().unwrap();
    let bad = serde_json::from_value::<BatchUpdateFirmwareRequest>(json!({
        "ProductID": "", "FirmwareVersion": "2.0.0", "TimeoutInterval": 5
    }))
    .unwrap();
    let error = client.send(&bad).await.unwrap_err();
    match &error {
        Error::Validation { action, errors } => {
            assert_eq!(action, "BatchUpdateFirmware");
            assert!(!errors.violations().is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.was_not_sent());

    let error = client
        .send_json(batch(), &json!({"ProductID": "X"}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error:?}");
    // An action outside the catalogue has no metadata to check against: it can only be
    // sent unchecked, by name.
    assert!(iotexplorer_model::find_action("NoSuchAction").is_none());
    assert_eq!(server.count(), 0);
}

/// The metadata of `BatchUpdateFirmware`, as a generic caller holds it.
fn batch() -> &'static iotexplorer_model::ActionMeta {
    <BatchUpdateFirmwareRequest as iotexplorer_model::Action>::meta()
}

#[tokio::test]
async fn send_json_returns_the_response_object() {
    let server = TestServer::always(ok(json!({"TaskId": "77", "Unknown": [1]}))).await;
    let client = builder(&server).build().unwrap();
    let response = client
        .send_json_unchecked("SomeFutureAction", false, &json!({"A": 1}))
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"TaskId": "77", "Unknown": [1], "RequestId": "req-ok"})
    );
    let arrival = &server.arrivals()[0];
    assert_eq!(arrival.header("x-tc-action"), Some("SomeFutureAction"));
    assert_eq!(arrival.body, Bytes::from_static(br#"{"A":1}"#));
    let checked = client
        .send_json(
            batch(),
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"}),
        )
        .await
        .unwrap();
    assert_eq!(checked["TaskId"], "77");
}

#[tokio::test]
async fn api_errors_keep_code_message_and_request_id() {
    let server = TestServer::always(api_error(
        "FailedOperation.SomethingNew",
        "a code this crate never saw",
    ))
    .await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    match &error {
        Error::Api {
            action,
            code,
            message,
            request_id,
        } => {
            assert_eq!(action, "BatchUpdateFirmware");
            assert_eq!(code.as_str(), "FailedOperation.SomethingNew");
            assert_eq!(message, "a code this crate never saw");
            assert_eq!(request_id.as_deref(), Some("req-err"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.request_id(), Some("req-err"));
    assert_eq!(
        error.code().map(|c| c.as_str()),
        Some("FailedOperation.SomethingNew")
    );
    assert_eq!(server.count(), 1, "not retried");
}

#[tokio::test]
async fn html_from_a_gateway_is_an_http_status_with_a_bounded_excerpt() {
    let page = format!(
        "<html><body>502 Bad Gateway{}</body></html>",
        " pad".repeat(2000)
    );
    let server = TestServer::always(Reply::Status(502, "text/html", Bytes::from(page))).await;
    let client = builder(&server).build().unwrap();
    // A read keeps this error; a write gets it as the source of `Error::Ambiguous`
    // (tests/ambiguous.rs).
    let error = client.send(&describe()).await.unwrap_err();
    match &error {
        Error::HttpStatus {
            status, excerpt, ..
        } => {
            assert_eq!(*status, 502);
            assert!(excerpt.starts_with("<html><body>502 Bad Gateway"));
            assert!(excerpt.chars().count() <= 513);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().len() < 700);
}

#[tokio::test]
async fn malformed_answers_are_decode_errors_with_the_request_id_when_readable() {
    let truncated = TestServer::always(Reply::Body(Bytes::from_static(
        br#"{"Response": {"TaskId": 1, "Reque"#,
    )))
    .await;
    let error = builder(&truncated)
        .build()
        .unwrap()
        .send(&describe())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Decode {
                request_id: None,
                ..
            }
        ),
        "{error:?}"
    );

    // A success the typed response cannot hold: the write ran, and this says so.
    let wrong_shape = TestServer::always(ok(json!({"TaskId": {"nested": true}}))).await;
    let error = builder(&wrong_shape)
        .build()
        .unwrap()
        .send(&upgrade())
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Decode { .. }), "{error:?}");
    assert_eq!(error.request_id(), Some("req-ok"));
}

#[tokio::test]
async fn oversized_answers_are_refused() {
    let big = format!(
        r#"{{"Response": {{"RequestId": "r", "Pad": "{}"}}}}"#,
        "x".repeat(10_000)
    );
    let server = TestServer::always(Reply::Body(Bytes::from(big))).await;
    let client = builder(&server).max_response_size(4096).build().unwrap();
    let error = client.send(&describe()).await.unwrap_err();
    assert!(
        matches!(error, Error::ResponseTooLarge { limit: 4096, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn connections_are_kept_alive_and_reused() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).build().unwrap();
    for _ in 0..5 {
        client
            .send(&describe())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(server.count(), 5);
    assert_eq!(server.connections(), 1);
}

/// Reads one request's head and body from `stream`; `false` once the client has gone.
fn read_request(stream: &mut std::io::BufReader<std::net::TcpStream>) -> bool {
    use std::io::{BufRead, Read};
    let mut length = 0;
    loop {
        let mut line = String::new();
        match stream.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).is_ok()
}

/// A server on its own thread that answers the first request of each connection, then,
/// after `pause`, closes it without saying so (no `Connection: close`). Counts the
/// requests it read.
fn answering_once_per_connection(pause: Duration) -> (String, Arc<AtomicUsize>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    std::thread::spawn(move || {
        let body = r#"{"Response":{"TaskId":1000696,"RequestId":"req-ok"}}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream);
            if read_request(&mut reader) {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = reader.get_mut().write_all(answer.as_bytes());
                std::thread::sleep(pause);
            }
        }
    });
    (url, requests)
}

/// A client that never retries a call: what happens to a request is the transport's doing.
fn client_of(url: &str) -> iotexplorer_http::Client {
    support::builder_at(url)
        .retry_policy(iotexplorer_http::RetryPolicy::none())
        .build()
        .unwrap()
}

/// The server closes each connection once it has answered on it. The close arrives while
/// the client's only thread is held, so nothing has read it when the next call takes the
/// kept connection: the write goes out on a closed connection. It may have run, so it is
/// not sent again; the next call opens a new connection.
#[tokio::test]
async fn a_write_on_a_connection_closed_unseen_is_ambiguous_and_not_resent() {
    let (url, requests) = answering_once_per_connection(Duration::from_millis(20));
    let client = client_of(&url);
    client.send(&upgrade()).await.unwrap();
    // Holds the runtime's only thread: the connection's task cannot see the close.
    std::thread::sleep(Duration::from_millis(150));
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
    client.send(&upgrade()).await.unwrap();
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}

/// The server closes each connection right after answering, so the close often reaches
/// the connection's task as the next call hands it its request: the request comes back
/// unsent and goes on a new connection. No write is sent twice, and one fails only when
/// it was written before the close arrived.
#[tokio::test]
async fn closes_racing_the_next_call_never_send_a_write_twice() {
    let (url, requests) = answering_once_per_connection(Duration::ZERO);
    let client = client_of(&url);
    let calls = 100;
    let mut answered = 0;
    for call in 0..calls {
        match client.send(&upgrade()).await {
            Ok(_) => answered += 1,
            // Now and then the request is written before the close arrives: it may have
            // run, and is not sent again.
            Err(Error::Ambiguous { .. }) => {}
            Err(error) => panic!("call {call}: {error:?}"),
        }
    }
    assert!(answered >= calls - 5, "{answered} of {calls} answered");
    assert_eq!(requests.load(Ordering::SeqCst), answered);
}

/// On a runtime with several threads the connection's task and the caller run apart; the
/// connections are kept all the same (now and then the end of an answer reaches the
/// caller before its connection is ready again, and one more is opened meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_calls_on_several_threads_share_few_connections() {
    let server = TestServer::always(task_created()).await;
    server.count_only();
    let client = builder(&server).build().unwrap();
    let calls = 300;
    for _ in 0..calls {
        client
            .send(&describe())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(server.count(), calls);
    assert!(
        server.connections() <= 3,
        "{} connections",
        server.connections()
    );
}

#[tokio::test]
async fn plain_http_elsewhere_than_loopback_needs_consent() {
    let refused = iotexplorer_http::Client::builder()
        .endpoint_url("http://emulator.invalid:9555")
        .static_credentials("AKID", "key")
        .build();
    assert!(matches!(refused, Err(Error::Config(_))));
    let allowed = iotexplorer_http::Client::builder()
        .endpoint_url("http://emulator.invalid:9555")
        .allow_insecure_http(true)
        .static_credentials("AKID", "key")
        .build();
    assert!(allowed.is_ok());
}

#[tokio::test]
async fn the_client_is_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    let server = TestServer::always(Reply::Delay(
        Duration::from_millis(20),
        Box::new(task_created()),
    ))
    .await;
    let client = builder(&server).build().unwrap();
    assert_send_sync(&client);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&describe()).await.map(|r| r.task_id) })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.count(), 8);
}

#[tokio::test]
async fn a_preview_is_signed_masked_and_never_sent() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .credentials(
            StaticCredentials::new(support::SECRET_ID, SECRET_KEY).with_token("tok-secret"),
        )
        .build()
        .unwrap();
    let params = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"});
    let preview = client.preview_json(batch(), &params).await.unwrap();
    assert_eq!(preview.method, "POST");
    assert_eq!(preview.url, format!("http://{}/", server.addr));
    // Compared as JSON: member order follows serde_json's map, which a dependent crate
    // may switch to insertion order.
    let body: serde_json::Value = serde_json::from_str(&preview.body).unwrap();
    assert_eq!(body, params);
    let header = |name: &str| {
        preview
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let authorization = header("authorization").unwrap();
    assert!(authorization.starts_with("TC3-HMAC-SHA256 Credential=AKIDtest0123456789/"));
    assert!(
        authorization.ends_with("Signature=** redacted **"),
        "{authorization}"
    );
    assert_eq!(header("x-tc-token").as_deref(), Some("** redacted **"));
    assert_eq!(
        header("x-tc-action").as_deref(),
        Some("BatchUpdateFirmware")
    );
    assert!(!format!("{preview:?}").contains("tok-secret"));
    assert_eq!(server.count(), 0);
    let invalid = client
        .preview_json(batch(), &json!({"ProductID": "X"}))
        .await;
    assert!(matches!(invalid, Err(Error::Validation { .. })));
}

#[tokio::test]
async fn a_request_client_name_follows_the_sdks_own() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .request_client("fleet-tool_1.2,batch;eu")
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrivals = server.arrivals();
    assert_eq!(
        arrivals[0].header("x-tc-requestclient"),
        Some(format!("{REQUEST_CLIENT}; fleet-tool_1.2,batch;eu").as_str())
    );

    // Only the characters and the length the official SDKs accept: nothing else can
    // reach a header, and nothing is sent.
    for refused in [
        "",
        "two words",
        "line\r\nX-Injected: 1",
        "é",
        &"a".repeat(129),
    ] {
        let error = builder(&server)
            .request_client(refused)
            .build()
            .expect_err(refused);
        assert!(matches!(error, Error::Config(_)), "{refused:?}: {error}");
        assert!(error.to_string().contains("request client"), "{error}");
    }
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn an_observer_sees_each_attempt_exactly_as_sent() {
    // Throttled once, after a pause that puts the retry in a later second.
    let server = TestServer::start(|index, _| {
        if index == 0 {
            Reply::Delay(
                Duration::from_millis(1100),
                Box::new(api_error("RequestLimitExceeded", "slow down")),
            )
        } else {
            task_created()
        }
    })
    .await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let client = builder(&server)
        .credentials(
            StaticCredentials::new(support::SECRET_ID, SECRET_KEY).with_token("tok-secret"),
        )
        .build()
        .unwrap()
        .with_request_observer(move |request| log.lock().unwrap().push(request.clone()));
    client.send(&upgrade()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let arrivals = server.arrivals();
    assert_eq!((seen.len(), arrivals.len()), (2, 2));
    assert_ne!(
        arrivals[0].header("x-tc-timestamp"),
        arrivals[1].header("x-tc-timestamp")
    );
    for (shown, sent) in seen.iter().zip(&arrivals) {
        assert_eq!(shown.method, sent.method);
        assert_eq!(shown.body.as_bytes(), &sent.body[..]);
        for (name, value) in &shown.headers {
            let received = sent
                .header(name)
                .unwrap_or_else(|| panic!("{name} not sent"));
            match name.as_str() {
                "authorization" => {
                    let (head, mask) = value.split_once("Signature=").unwrap();
                    assert_eq!(mask, "** redacted **");
                    assert!(received.starts_with(head), "{received}");
                    assert_eq!(received.len(), head.len() + "Signature=".len() + 64);
                }
                "x-tc-token" => {
                    assert_eq!((value.as_str(), received), ("** redacted **", "tok-secret"));
                }
                _ => assert_eq!(value, received, "{name}"),
            }
        }
        // Every header sent was shown (the transport adds only the length).
        for (name, _) in &sent.headers {
            assert!(
                name == "content-length" || shown.headers.iter().any(|(shown, _)| shown == name),
                "{name} sent but not shown"
            );
        }
        assert!(!format!("{shown:?}").contains("tok-secret"));
    }
}

/// Whether `text` holds a character a terminal may act on (ESC, BEL, C1's CSI, ...);
/// a line break between lines is layout.
fn holds_a_control_character(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[tokio::test]
async fn text_the_server_wrote_reaches_messages_with_its_control_characters_written_out() {
    let hostile = "r\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m";
    let envelope = json!({"Response": {
        "Error": {"Code": format!("X{hostile}"), "Message": format!("m{hostile}")},
        "RequestId": hostile,
    }});
    let body = Bytes::from(envelope.to_string());
    for reply in [
        Reply::Status(400, "application/json", body.clone()),
        Reply::Body(body),
        Reply::Body(Bytes::from(
            json!({"Response": {"TaskId": {"nested": hostile}, "RequestId": hostile}}).to_string(),
        )),
    ] {
        let server = TestServer::always(reply.clone()).await;
        let client = builder(&server).build().unwrap();
        for error in [
            client.send(&describe()).await.unwrap_err(),
            client.send(&upgrade()).await.unwrap_err(),
        ] {
            let shown = error.to_string();
            assert!(!holds_a_control_character(&shown), "{reply:?}: {shown:?}");
            assert!(shown.contains(r"\u{1b}]0;PWNED\u{7}"), "{reply:?}: {shown}");
        }
    }
}

#[tokio::test]
async fn a_read_whose_connection_breaks_after_sending_is_no_unknown_outcome() {
    let server = TestServer::always(Reply::Drop).await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&describe()).await.unwrap_err();
    // A read that may have run did no harm: the outcome of a write is what is unknown.
    assert!(!error.is_ambiguous(), "{error:?}");
    assert!(
        matches!(&error, Error::Transport { action, .. } if action == "DescribeFirmwareTask"),
        "{error:?}"
    );
    assert!(!error.to_string().contains("outcome unknown"), "{error}");
    assert!(!error.was_not_sent());
    assert!(error.is_retryable(true));
    assert_eq!(server.count(), 4, "retried as a read is");
}
