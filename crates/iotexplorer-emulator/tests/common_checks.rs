//! Every check before an action runs answers with Tencent's exact code, over real HTTP.

mod support;

use iotexplorer_emulator::{CredentialFixture, Emulator, Fixture, RunningEmulator};
use serde_json::json;
use support::{Client, http_text, send_raw};
use tc3_sign::Credentials;

async fn start() -> RunningEmulator {
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new("AKIDTEMPORARY", "temporary-key").with_token("session-token"),
    );
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .max_body_bytes(4096)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

const LIST: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;

#[tokio::test]
async fn signed_post_and_get_succeed() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    reply.assert_envelope();
    assert_eq!(reply.ok()["TotalCount"], 2);

    let reply = client
        .get("ListFirmwares", "PageNum=1&PageSize=1&ProductID=ABCDE12345")
        .await;
    let response = reply.ok();
    assert_eq!(response["Firmwares"].as_array().map(Vec::len), Some(1));
    assert_eq!(emulator.arrivals(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn temporary_credentials_and_unsigned_payloads_are_accepted() {
    let emulator = start().await;
    let mut client = Client::new(
        emulator.addr(),
        Credentials::new("AKIDTEMPORARY", "temporary-key").with_token("session-token"),
    );
    client
        .post_raw_body("ListFirmwares", LIST.as_bytes())
        .await
        .ok();

    client.credentials = Credentials::new("AKIDTEMPORARY", "temporary-key").with_token("wrong");
    let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    assert_eq!(reply.code().as_deref(), Some("AuthFailure.TokenFailure"));

    client.credentials = Credentials::new("AKIDTEMPORARY", "temporary-key");
    let reply = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    assert_eq!(reply.code().as_deref(), Some("AuthFailure.TokenFailure"));

    let mut unsigned = Client::demo(emulator.addr());
    unsigned.unsigned = true;
    unsigned
        .post_raw_body("ListFirmwares", LIST.as_bytes())
        .await
        .ok();
    emulator.shutdown().await;
}

async fn code_of(client: &Client, action: &str, body: &str) -> String {
    let reply = client.post_raw_body(action, body.as_bytes()).await;
    reply.assert_envelope();
    reply.code().unwrap_or_default()
}

#[tokio::test]
async fn authorization_problems_get_auth_failure_codes() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let addr = emulator.addr();

    // No Authorization header at all.
    let mut headers = client.headers("POST", "ListFirmwares", "", LIST.as_bytes());
    headers.retain(|(name, _)| name != "Authorization");
    let reply = send_raw(addr, &http_text("POST", "/", &headers, LIST.as_bytes()))
        .await
        .expect("answer");
    assert_eq!(
        reply.code().as_deref(),
        Some("AuthFailure.InvalidAuthorization")
    );

    // A malformed one.
    let mut headers = client.headers("POST", "ListFirmwares", "", LIST.as_bytes());
    for (name, value) in &mut headers {
        if name == "Authorization" {
            *value = "TC3-HMAC-SHA256 garbage".to_owned();
        }
    }
    let reply = send_raw(addr, &http_text("POST", "/", &headers, LIST.as_bytes()))
        .await
        .expect("answer");
    assert_eq!(
        reply.code().as_deref(),
        Some("AuthFailure.InvalidAuthorization")
    );

    let unknown = Client::new(addr, Credentials::new("AKIDUNKNOWN", "whatever"));
    assert_eq!(
        code_of(&unknown, "ListFirmwares", LIST).await,
        "AuthFailure.SecretIdNotFound"
    );

    let wrong_key = Client::new(
        addr,
        Credentials::new(iotexplorer_emulator::DEMO_SECRET_ID, "not-the-key"),
    );
    assert_eq!(
        code_of(&wrong_key, "ListFirmwares", LIST).await,
        "AuthFailure.SignatureFailure"
    );

    let mut late = Client::demo(addr);
    late.clock_offset = -301;
    assert_eq!(
        code_of(&late, "ListFirmwares", LIST).await,
        "AuthFailure.SignatureExpire"
    );
    late.clock_offset = -290;
    assert_eq!(code_of(&late, "ListFirmwares", LIST).await, "");

    // The body changed after signing.
    let mut bytes = client.post_bytes("ListFirmwares", LIST.as_bytes());
    let last = bytes.len() - 3;
    bytes[last] = b'9';
    let reply = send_raw(addr, &bytes).await.expect("answer");
    assert_eq!(
        reply.code().as_deref(),
        Some("AuthFailure.SignatureFailure")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn action_version_and_region_are_checked() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    assert_eq!(code_of(&client, "NoSuchThing", "{}").await, "InvalidAction");

    let mut old = client.clone();
    old.version = "2017-03-12".to_owned();
    assert_eq!(code_of(&old, "ListFirmwares", LIST).await, "NoSuchVersion");

    let mut nowhere = client.clone();
    nowhere.region = None;
    assert_eq!(
        code_of(&nowhere, "ListFirmwares", LIST).await,
        "MissingParameter"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn bodies_and_members_are_checked() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let big = format!(r#"{{"ProductID":"{}"}}"#, "x".repeat(5000));
    assert_eq!(
        code_of(&client, "ListFirmwares", &big).await,
        "RequestSizeLimitExceeded"
    );
    assert_eq!(
        code_of(&client, "ListFirmwares", "{not json").await,
        "InvalidParameter"
    );
    assert_eq!(
        code_of(
            &client,
            "ListFirmwares",
            r#"{"PageNum":1,"PageSize":10,"Bogus":1}"#
        )
        .await,
        "UnknownParameter"
    );
    assert_eq!(
        code_of(
            &client,
            "BatchUpdateFirmware",
            r#"{"ProductID":"ABCDE12345"}"#
        )
        .await,
        "MissingParameter"
    );
    assert_eq!(
        code_of(
            &client,
            "BatchUpdateFirmware",
            r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001"],"TimeoutInterval":60}"#
        )
        .await,
        "InvalidParameterValue"
    );
    // GET: a number that is not one is the wrong type.
    let reply = client.get("ListFirmwares", "PageNum=one&PageSize=10").await;
    assert_eq!(reply.code().as_deref(), Some("InvalidParameter"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn actions_not_modelled_are_unsupported() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // An action of the spec without required members that the emulator does not model.
    let action = iotexplorer_model::actions()
        .iter()
        .find(|meta| {
            meta.input.iter().all(|m| !m.required) && !["ListFirmwares"].contains(&meta.name)
        })
        .map(|meta| meta.name)
        .expect("such an action");
    let reply = client.post(action, &json!({})).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("UnsupportedOperation"),
        "{action}"
    );
    assert!(
        reply.response()["Error"]["Message"]
            .as_str()
            .is_some_and(|m| m.contains("emulator"))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_is_per_action_and_secret_id() {
    let emulator = Emulator::builder()
        .rate_limit(3)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(code_of(&client, "ListFirmwares", LIST).await);
    }
    let limited = codes
        .iter()
        .filter(|c| *c == "RequestLimitExceeded")
        .count();
    // A second boundary may fall between the requests; at least one is refused.
    assert!(limited >= 1, "{codes:?}");
    assert!(
        codes.iter().filter(|c| c.is_empty()).count() >= 3,
        "{codes:?}"
    );
    let other = code_of(
        &client,
        "DescribeFirmware",
        r#"{"ProductID":"ABCDE12345","FirmwareVersion":"1.0.0"}"#,
    )
    .await;
    assert_eq!(other, "");
    emulator.shutdown().await;
}

#[tokio::test]
async fn legacy_v1_signatures_are_verified() {
    use tc3_sign::v1::{V1Algorithm, sign, string_to_sign};
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let timestamp = support::now().to_string();
    let mut params = vec![
        ("Action", "ListFirmwares"),
        ("Nonce", "12345"),
        ("PageNum", "1"),
        ("PageSize", "10"),
        ("Region", "ap-guangzhou"),
        ("SecretId", iotexplorer_emulator::DEMO_SECRET_ID),
        ("Timestamp", timestamp.as_str()),
        ("Version", "2019-04-23"),
    ];
    params.sort();
    let text = string_to_sign("GET", &host, "/", &params);
    let key = tc3_sign::SecretKey::new(iotexplorer_emulator::DEMO_SECRET_KEY);
    let signature = sign(&key, V1Algorithm::HmacSha1, &text).expect("sign");
    let mut query: String = params.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    let mut encoded = String::new();
    tc3_sign::query::percent_encode_into(&mut encoded, &signature);
    query.push_str(&format!("Signature={encoded}"));
    let headers = vec![("Host".to_owned(), host)];
    let reply = send_raw(
        emulator.addr(),
        &http_text("GET", &format!("/?{query}"), &headers, b""),
    )
    .await
    .expect("answer");
    assert_eq!(reply.ok()["TotalCount"], 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn legacy_v1_posts_carry_their_parameters_in_a_form_body() {
    use tc3_sign::v1::{V1Algorithm, sign, string_to_sign};
    let emulator = start().await;
    let host = emulator.addr().to_string();
    let timestamp = support::now().to_string();
    let mut params = vec![
        ("Action", "ListFirmwares"),
        ("Nonce", "2345"),
        ("PageNum", "1"),
        ("PageSize", "10"),
        ("Region", "ap-guangzhou"),
        ("SecretId", iotexplorer_emulator::DEMO_SECRET_ID),
        ("Timestamp", timestamp.as_str()),
        ("Version", "2019-04-23"),
    ];
    params.sort();
    let text = string_to_sign("POST", &host, "/", &params);
    let key = tc3_sign::SecretKey::new(iotexplorer_emulator::DEMO_SECRET_KEY);
    let signature = sign(&key, V1Algorithm::HmacSha1, &text).expect("sign");
    let mut body: String = params.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    let mut encoded = String::new();
    tc3_sign::query::percent_encode_into(&mut encoded, &signature);
    body.push_str(&format!("Signature={encoded}"));
    let request = |content_type: &str| {
        let headers = vec![
            ("Host".to_owned(), host.clone()),
            ("Content-Type".to_owned(), content_type.to_owned()),
        ];
        http_text("POST", "/", &headers, body.as_bytes())
    };
    let form = request("application/x-www-form-urlencoded; charset=utf-8");
    let reply = send_raw(emulator.addr(), &form).await.expect("answer");
    assert_eq!(reply.ok()["TotalCount"], 2);
    // Anything but a form is TC3, which needs an Authorization header.
    let json = request("application/json");
    let reply = send_raw(emulator.addr(), &json).await.expect("answer");
    assert_eq!(
        reply.code().as_deref(),
        Some("AuthFailure.InvalidAuthorization")
    );
    emulator.shutdown().await;
}
