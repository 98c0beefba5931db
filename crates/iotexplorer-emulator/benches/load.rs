//! Load figures: verified requests per second with rate limiting off, and resident memory
//! for 100,000 devices and 1,000 tasks.
//!
//! `cargo bench -p iotexplorer-emulator` prints both. Clients run in the same process and
//! sign every request, so they share the cores with the server: the figure is a floor.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use iotexplorer_emulator::{CredentialFixture, DeviceFixture, Emulator, Fixture, ProductFixture};
use tc3_sign::{Credentials, SignableRequest, SigningParams};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 8;
const DURATION: Duration = Duration::from_secs(3);

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn signed(host: &str, action: &str, body: &str) -> Request<Full<Bytes>> {
    let credentials = Credentials::new(
        iotexplorer_emulator::DEMO_SECRET_ID,
        iotexplorer_emulator::DEMO_SECRET_KEY,
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let output = tc3_sign::sign(
        &SignableRequest::post_json(host, body.as_bytes()),
        &SigningParams::new(&credentials, "iotexplorer", now),
    )
    .unwrap();
    let mut builder = Request::post("/")
        .header("Host", host)
        .header("Content-Type", "application/json")
        .header("X-TC-Action", action)
        .header("X-TC-Version", "2019-04-23")
        .header("X-TC-Region", "ap-guangzhou");
    for (name, value) in output.headers() {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn throughput() {
    let running = Emulator::builder()
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let host = running.addr().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + DURATION;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let host = host.clone();
        let done = Arc::clone(&done);
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&host).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            while Instant::now() < deadline {
                let request = signed(&host, "ListFirmwares", r#"{"PageNum":1,"PageSize":10}"#);
                sender.ready().await.unwrap();
                let response = sender.send_request(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert!(!body.windows(7).any(|w| w == b"\"Error\""));
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let count = done.load(Ordering::Relaxed);
    println!(
        "verified requests per second ({CONNECTIONS} keep-alive connections, rate limit off): {:.0}",
        count as f64 / DURATION.as_secs_f64()
    );
    running.shutdown().await;
}

async fn memory() {
    let before = rss_kib();
    let devices: Vec<DeviceFixture> = (0..100_000)
        .map(|n| {
            serde_json::from_value(
                serde_json::json!({"name": format!("d{n:06}"), "firmware_version": "1.0.0"}),
            )
            .unwrap()
        })
        .collect();
    let product: ProductFixture = serde_json::from_value(serde_json::json!({
        "product_id": "LOADTEST01",
        "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
    }))
    .unwrap();
    let mut product = product;
    product.devices = devices;
    let mut fixture = Fixture::demo();
    fixture.products = vec![product];
    fixture.credentials = vec![CredentialFixture::new(
        iotexplorer_emulator::DEMO_SECRET_ID,
        iotexplorer_emulator::DEMO_SECRET_KEY,
    )];
    let running = Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let host = running.addr().to_string();
    let stream = TcpStream::connect(&host).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    for task in 0..1_000 {
        let names: Vec<String> = (0..100)
            .map(|n| format!("d{:06}", task * 100 + n))
            .collect();
        let body = serde_json::json!({"ProductID": "LOADTEST01", "FirmwareVersion": "2.0.0",
            "DeviceNames": names, "TimeoutInterval": 300})
        .to_string();
        sender.ready().await.unwrap();
        let response = sender
            .send_request(signed(&host, "BatchUpdateFirmware", &body))
            .await
            .unwrap_or_else(|e| panic!("task {task}: {e:?}"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.windows(8).any(|w| w == b"\"TaskId\""), "{body:?}");
    }
    let after = rss_kib();
    println!(
        "resident memory for 100,000 devices and 1,000 tasks of 100 devices: {} KiB ({} KiB before)",
        after.saturating_sub(before),
        before
    );
    running.shutdown().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(throughput());
    runtime.block_on(memory());
}
