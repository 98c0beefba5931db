//! Hostile input ends in an answer, and the server keeps answering afterwards.

mod support;

use iotexplorer_emulator::{Emulator, RunningEmulator};
use support::{Client, http_text, send_raw};

async fn start() -> RunningEmulator {
    Emulator::builder()
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

const LIST: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;

#[tokio::test]
async fn a_query_key_nested_thousands_deep_gets_invalid_parameter() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // 4,000 dot-separated parts: about 8 KB, well inside any header limit.
    let key = vec!["a"; 4000].join(".");
    let reply = client
        .get("ListFirmwares", &format!("PageNum=1&PageSize=10&{key}=1"))
        .await;
    reply.assert_envelope();
    assert_eq!(
        reply.code().as_deref(),
        Some("InvalidParameter"),
        "{reply:?}"
    );
    let message = reply.response()["Error"]["Message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("nest"), "{message}");
    assert!(
        message.len() < 400,
        "the answer must not echo the whole key"
    );

    // The same under a member the action defines, typed by the model.
    let key = format!("Filters.0.{}", vec!["Key"; 4000].join("."));
    let reply = client
        .get(
            "DescribeFirmwareTaskDevices",
            &format!("ProductID=ABCDE12345&{key}=x"),
        )
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("InvalidParameter"),
        "{reply:?}"
    );

    // The server still answers a valid request.
    let reply = client
        .get("ListFirmwares", "PageNum=1&PageSize=1&ProductID=ABCDE12345")
        .await;
    assert_eq!(reply.ok()["TotalCount"], 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_query_key_as_deep_as_real_structures_is_still_accepted() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let reply = client
        .get(
            "DescribeFirmwareTaskDevices",
            "ProductID=ABCDE12345&FirmwareVersion=2.0.0&Filters.0.Key=TaskId&Filters.0.Value=1000001&Offset=0&Limit=10",
        )
        .await;
    reply.assert_envelope();
    assert_ne!(
        reply.code().as_deref(),
        Some("InvalidParameter"),
        "{reply:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_json_body_nested_thousands_deep_gets_invalid_parameter() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    for depth in [100, 127, 129, 100_000] {
        let body = format!(
            r#"{{"PageNum":1,"PageSize":10,"ProductID":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let reply = client.post_raw_body("ListFirmwares", body.as_bytes()).await;
        reply.assert_envelope();
        assert_eq!(
            reply.code().as_deref(),
            Some("InvalidParameter"),
            "depth {depth}: {reply:?}"
        );
    }
    let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    assert_eq!(reply.ok()["TotalCount"], 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_head_over_the_read_buffer_gets_414_or_431_and_one_under_it_an_answer() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let names = |count: usize| {
        (0..count)
            .map(|n| format!("DeviceNames.{n}=device{n:05}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    // About 50 KB of query: 2,000 device names.
    let reply = client
        .get(
            "BatchUpdateFirmware",
            &format!("ProductID=ABCDE12345&FirmwareVersion=2.0.0&{}", names(2000)),
        )
        .await;
    reply.assert_envelope();
    // About 70 KB.
    let reply = client
        .get(
            "BatchUpdateFirmware",
            &format!("ProductID=ABCDE12345&FirmwareVersion=2.0.0&{}", names(2800)),
        )
        .await;
    assert_eq!(reply.status, 414, "{}", reply.head);
    // About 150 KB of headers.
    let mut headers = client.headers("POST", "ListFirmwares", "", LIST.as_bytes());
    headers.push(("X-Padding".to_owned(), "p".repeat(150_000)));
    let reply = send_raw(
        emulator.addr(),
        &http_text("POST", "/", &headers, LIST.as_bytes()),
    )
    .await
    .expect("an answer");
    assert_eq!(reply.status, 431, "{}", reply.head);
    let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    assert_eq!(reply.ok()["TotalCount"], 2);
    emulator.shutdown().await;
}
