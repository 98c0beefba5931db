//! What the client's signature covers: `X-TC-Action` by default, so that a signature made
//! for one action cannot be replayed for another; checked by real servers on 127.0.0.1,
//! one of them the project's emulator.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use iotexplorer_emulator::{DEMO_PRODUCT_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture};
use iotexplorer_http::{Client, ClientBuilder, HttpMethod, Proxy, SignedHeaderSet};
use iotexplorer_model::{BatchUpdateFirmwareRequest, OverrideMode};
use serde_json::Value;
use support::{Arrival, TestServer, task_created};
use tokio::net::TcpStream;

fn recorder_client(server: &TestServer) -> ClientBuilder {
    Client::builder()
        .endpoint_url(server.url())
        .static_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)
        .region("ap-guangzhou")
        .proxy(Proxy::none())
        .rate_limit(None)
}

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id(DEMO_PRODUCT_ID)
        .firmware_version("2.0.0")
        .device_names("dev001")
        .override_mode(OverrideMode::Override)
        .build()
        .unwrap()
}

/// The body of [`upgrade`], for sending under another action's name.
fn upgrade_params() -> Value {
    serde_json::to_value(upgrade()).unwrap()
}

fn signed_headers(arrival: &Arrival) -> String {
    let authorization = arrival.header("authorization").unwrap();
    let start = authorization.find("SignedHeaders=").unwrap() + "SignedHeaders=".len();
    let rest = &authorization[start..];
    rest[..rest.find(',').unwrap()].to_owned()
}

/// Sends `arrival` again, byte for byte, to `addr`, with `X-TC-Action` set to `action`;
/// returns the `Response` object of the answer.
async fn replay(addr: std::net::SocketAddr, arrival: &Arrival, action: &str) -> Value {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let target = if arrival.query.is_empty() {
        arrival.path.clone()
    } else {
        format!("{}?{}", arrival.path, arrival.query)
    };
    let mut request = http::Request::builder()
        .method(arrival.method.as_str())
        .uri(target);
    for (name, value) in &arrival.headers {
        if name == "content-length" {
            continue;
        }
        let value = if name == "x-tc-action" { action } else { value };
        request = request.header(name.as_str(), value);
    }
    let request = request.body(Full::new(arrival.body.clone())).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let body: Bytes = response.into_body().collect().await.unwrap().to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    answer["Response"].clone()
}

#[tokio::test]
async fn the_client_signs_the_action_by_default_for_post_and_get() {
    for method in [HttpMethod::Post, HttpMethod::Get] {
        let server = TestServer::always(task_created()).await;
        let client = support::builder(&server).method(method).build().unwrap();
        client.batch_update_firmware(&upgrade()).await.unwrap();
        let arrival = &server.arrivals()[0];
        assert_eq!(
            signed_headers(arrival),
            "content-type;host;x-tc-action",
            "{method:?}"
        );
        arrival.verify(support::SECRET_KEY).unwrap();
    }
}

#[tokio::test]
async fn a_signature_made_for_one_action_is_refused_for_another() {
    let emulator = Emulator::builder()
        .fixture(Fixture::demo())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let emulator_addr: std::net::SocketAddr = emulator
        .url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let recorder = TestServer::always(task_created()).await;
    let client = recorder_client(&recorder).build().unwrap();

    // The control: a recorded BatchUpdateFirmware, replayed as it was, creates a task.
    client.batch_update_firmware(&upgrade()).await.unwrap();
    let write = recorder.arrivals()[0].clone();
    let answer = replay(emulator_addr, &write, "BatchUpdateFirmware").await;
    assert!(answer["TaskId"].as_u64().is_some(), "{answer}");

    // A read signed with the same body must not pass for the write.
    client
        .send_json_unchecked("DescribeFirmwareTasks", true, &upgrade_params())
        .await
        .unwrap();
    let read = recorder.arrivals()[1].clone();
    let answer = replay(emulator_addr, &read, "BatchUpdateFirmware").await;
    assert_eq!(
        answer["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{answer}"
    );

    // What the older list allows, and why it is no longer the default.
    let older = recorder_client(&recorder)
        .signed_headers(SignedHeaderSet::ContentTypeAndHost)
        .build()
        .unwrap();
    older
        .send_json_unchecked("DescribeFirmwareTasks", true, &upgrade_params())
        .await
        .unwrap();
    let read = recorder.arrivals()[2].clone();
    assert_eq!(signed_headers(&read), "content-type;host");
    let answer = replay(emulator_addr, &read, "BatchUpdateFirmware").await;
    assert!(answer["TaskId"].as_u64().is_some(), "{answer}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_older_list_is_a_setting_and_still_verifies() {
    for method in [HttpMethod::Post, HttpMethod::Get] {
        let server = TestServer::always(task_created()).await;
        let client = support::builder(&server)
            .method(method)
            .signed_headers(SignedHeaderSet::ContentTypeAndHost)
            .build()
            .unwrap();
        client.batch_update_firmware(&upgrade()).await.unwrap();
        let arrival = &server.arrivals()[0];
        assert_eq!(signed_headers(arrival), "content-type;host", "{method:?}");
        arrival.verify(support::SECRET_KEY).unwrap();
    }
    for set in [
        SignedHeaderSet::ContentTypeHostAction,
        SignedHeaderSet::ContentTypeAndHost,
    ] {
        assert_eq!(set.as_str().parse::<SignedHeaderSet>().unwrap(), set);
    }
    assert!("host;content-type".parse::<SignedHeaderSet>().is_err());
    assert_eq!(
        SignedHeaderSet::default(),
        SignedHeaderSet::ContentTypeHostAction
    );
}
