//! The cost of one change with `--state FILE`: a `BatchUpdateFirmware` of three devices
//! while the state holds 10,000 or 100,000 devices and 1,000 tasks, and what a reader
//! waits meanwhile; then changes per second on a fresh state and after 10,000 tasks.
//!
//! `cargo bench -p iotexplorer-emulator --bench state` prints the figures. Pass `sizes` or
//! `rate` after `--` to run only one part. The state lives in the system's temporary
//! directory, so every change pays that disk's flush.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use iotexplorer_emulator::{
    CredentialFixture, DeviceFixture, Emulator, Fixture, ProductFixture, ProgressSettings,
    RunningEmulator,
};
use serde_json::{Value, json};
use tc3_sign::{Credentials, SignableRequest, SigningParams};
use tokio::net::TcpStream;

const PRODUCT: &str = "LOADTEST01";
const SETUP_TASKS: usize = 1_000;
const MEASURED_CHANGES: usize = 100;

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

struct Connection {
    host: String,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(host: &str) -> Self {
        let stream = TcpStream::connect(host).await.unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self {
            host: host.to_owned(),
            sender,
        }
    }

    async fn call(&mut self, action: &str, body: &Value) -> Value {
        let request = signed(&self.host, action, &body.to_string());
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let reply: Value = serde_json::from_slice(&bytes).unwrap();
        let response = reply["Response"].clone();
        assert!(response.get("Error").is_none(), "{action}: {response}");
        response
    }
}

fn fixture(devices: usize) -> Fixture {
    let mut product: ProductFixture = serde_json::from_value(json!({
        "product_id": PRODUCT,
        "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
    }))
    .unwrap();
    product.devices = (0..devices)
        .map(|n| {
            serde_json::from_value::<DeviceFixture>(
                json!({"name": device(n), "firmware_version": "1.0.0"}),
            )
            .unwrap()
        })
        .collect();
    let mut fixture = Fixture::demo();
    fixture.products = vec![product];
    fixture.credentials = vec![CredentialFixture::new(
        iotexplorer_emulator::DEMO_SECRET_ID,
        iotexplorer_emulator::DEMO_SECRET_KEY,
    )];
    fixture
}

fn device(n: usize) -> String {
    format!("d{n:06}")
}

fn batch(names: &[String]) -> Value {
    json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0", "DeviceNames": names,
           "TimeoutInterval": 300, "OverrideMode": 1})
}

fn state_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "emulator-state-bench-{label}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(devices: usize, path: &std::path::Path) -> RunningEmulator {
    Emulator::builder()
        .fixture(fixture(devices))
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(3_600_000))
        .state_file(path)
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

fn size_of_state(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// One change at `devices` devices and 1,000 tasks, and reads meanwhile.
async fn change_cost(devices: usize) {
    let dir = state_dir(&devices.to_string());
    let path = dir.join("state.json");
    let running = start(devices, &path).await;
    let host = running.addr().to_string();
    let mut writer = Connection::open(&host).await;
    let per_task = devices / SETUP_TASKS;
    let setup = Instant::now();
    let mut last_task = 0;
    for task in 0..SETUP_TASKS {
        let names: Vec<String> = (0..per_task).map(|n| device(task * per_task + n)).collect();
        last_task = writer.call("BatchUpdateFirmware", &batch(&names)).await["TaskId"]
            .as_u64()
            .unwrap();
    }
    let setup = setup.elapsed();

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let host = host.clone();
        tokio::spawn(async move {
            let mut connection = Connection::open(&host).await;
            let mut waits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                connection
                    .call(
                        "DescribeFirmwareTask",
                        &json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0", "TaskId": last_task}),
                    )
                    .await;
                waits.push(began.elapsed());
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            waits
        })
    };
    let mut costs = Vec::new();
    for change in 0..MEASURED_CHANGES {
        let names: Vec<String> = (0..3)
            .map(|n| device((change * 7 + n * 3) % devices))
            .collect();
        let began = Instant::now();
        writer.call("BatchUpdateFirmware", &batch(&names)).await;
        costs.push(began.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let mut waits = reader.await.unwrap();
    costs.sort();
    waits.sort();
    println!(
        "{devices} devices, {SETUP_TASKS} tasks of {per_task} ({:.1} MB on disk, set up in {:.1} s):",
        size_of_state(&dir) as f64 / 1e6,
        setup.as_secs_f64()
    );
    println!(
        "  one change (BatchUpdateFirmware of 3 devices): median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        percentile(&costs, 0.5),
        percentile(&costs, 0.9),
        percentile(&costs, 1.0)
    );
    println!(
        "  a read meanwhile (DescribeFirmwareTask, {} reads): median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        waits.len(),
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        percentile(&waits, 1.0)
    );
    let began = Instant::now();
    running.shutdown().await;
    println!(
        "  shutdown, which writes the whole state once: {:.0} ms",
        began.elapsed().as_secs_f64() * 1000.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Changes per second for `count` changes of three devices each.
async fn changes_per_second(connection: &mut Connection, devices: usize, count: usize) -> f64 {
    let began = Instant::now();
    for change in 0..count {
        let names: Vec<String> = (0..3).map(|n| device((change * 3 + n) % devices)).collect();
        connection.call("BatchUpdateFirmware", &batch(&names)).await;
    }
    count as f64 / began.elapsed().as_secs_f64()
}

/// Changes per second on a fresh state and after 10,000 tasks (1,000 devices).
async fn rate() {
    const DEVICES: usize = 1_000;
    const TASKS: usize = 10_000;
    const SAMPLE: usize = 200;
    let dir = state_dir("rate");
    let path = dir.join("state.json");
    let running = start(DEVICES, &path).await;
    let mut connection = Connection::open(&running.addr().to_string()).await;
    let fresh = changes_per_second(&mut connection, DEVICES, SAMPLE).await;
    let filling = changes_per_second(&mut connection, DEVICES, TASKS - SAMPLE).await;
    let after = changes_per_second(&mut connection, DEVICES, SAMPLE).await;
    println!(
        "changes per second, one connection, {DEVICES} devices: {fresh:.0} on a fresh state, \
         {filling:.0} on the way to {TASKS} tasks, {after:.0} after {TASKS} tasks ({:.1} MB on disk)",
        size_of_state(&dir) as f64 / 1e6
    );
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let runs = |part: &str| wanted.is_empty() || wanted.iter().any(|w| w == part);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if runs("sizes") {
        runtime.block_on(change_cost(10_000));
        runtime.block_on(change_cost(100_000));
    }
    if runs("rate") {
        runtime.block_on(rate());
    }
}
