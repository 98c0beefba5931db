//! Injected faults, from the fixture and at run time.

mod support;

use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, FaultKind, FaultRule, Fixture, RunningEmulator};
use serde_json::json;
use support::{Client, send_raw};

async fn start(fixture: Fixture) -> RunningEmulator {
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

fn list() -> serde_json::Value {
    json!({"PageNum": 1, "PageSize": 10})
}

fn batch(device: &str) -> serde_json::Value {
    json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "DeviceNames": [device],
           "TimeoutInterval": 300})
}

#[tokio::test]
async fn a_throttling_burst_from_the_fixture_passes() {
    let mut fixture = Fixture::demo();
    fixture.faults = serde_json::from_value(json!([
        {"kind": "error", "code": "RequestLimitExceeded", "action": "ListFirmwares", "count": 2}
    ]))
    .expect("fault rules");
    let emulator = start(fixture).await;
    let client = Client::demo(emulator.addr());
    for _ in 0..2 {
        let reply = client.post("ListFirmwares", &list()).await;
        reply.assert_envelope();
        assert_eq!(reply.code().as_deref(), Some("RequestLimitExceeded"));
    }
    client.post("ListFirmwares", &list()).await.ok();
    assert!(emulator.faults().rules().is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_dropped_answer_still_creates_the_task() {
    let emulator = start(Fixture::demo()).await;
    let client = Client::demo(emulator.addr());
    emulator.faults().push(
        FaultRule::new(FaultKind::DropAfter)
            .for_action("BatchUpdateFirmware")
            .times(1),
    );
    let lost = send_raw(
        emulator.addr(),
        &client.post_bytes(
            "BatchUpdateFirmware",
            batch("dev001").to_string().as_bytes(),
        ),
    )
    .await;
    assert!(lost.is_none(), "{lost:?}");
    let tasks = client
        .post("DescribeFirmwareTasks", &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}))
        .await
        .ok();
    assert_eq!(tasks["Total"], 1);
    // The device is busy with the task nobody heard of.
    let reply = client.post("BatchUpdateFirmware", &batch("dev001")).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_request_that_lands_late_makes_its_task_after_the_close() {
    let emulator = start(Fixture::demo()).await;
    let client = Client::demo(emulator.addr());
    emulator.faults().push(
        FaultRule::new(FaultKind::LandLate { ms: 400 })
            .for_action("BatchUpdateFirmware")
            .times(1),
    );
    let tasks = || async {
        client
            .post("DescribeFirmwareTasks", &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}))
            .await
            .ok()["Total"]
            .clone()
    };
    let closed = Instant::now();
    let lost = send_raw(
        emulator.addr(),
        &client.post_bytes(
            "BatchUpdateFirmware",
            batch("dev001").to_string().as_bytes(),
        ),
    )
    .await;
    assert!(lost.is_none(), "{lost:?}");
    // Looked at before it lands, there is no task yet …
    if closed.elapsed() < Duration::from_millis(300) {
        assert_eq!(tasks().await, 0);
    }
    // … then it appears, once.
    let deadline = closed + Duration::from_secs(10);
    while tasks().await != 1 {
        assert!(Instant::now() < deadline, "the late task never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(tasks().await, 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_connection_dropped_before_processing_changes_nothing() {
    let emulator = start(Fixture::demo()).await;
    let client = Client::demo(emulator.addr());
    emulator
        .faults()
        .push(FaultRule::new(FaultKind::DropBefore).times(1));
    let lost = send_raw(
        emulator.addr(),
        &client.post_bytes(
            "BatchUpdateFirmware",
            batch("dev001").to_string().as_bytes(),
        ),
    )
    .await;
    assert!(lost.is_none());
    client
        .post("BatchUpdateFirmware", &batch("dev001"))
        .await
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn bad_gateway_truncation_and_delay() {
    let emulator = start(Fixture::demo()).await;
    let client = Client::demo(emulator.addr());
    emulator
        .faults()
        .set(vec![FaultRule::new(FaultKind::BadGateway).times(1)]);
    let reply = client.post("ListFirmwares", &list()).await;
    assert_eq!(reply.status, 502);
    assert!(String::from_utf8_lossy(&reply.body).contains("<html>"));

    emulator
        .faults()
        .push(FaultRule::new(FaultKind::TruncatedJson).times(1));
    let reply = client.post("ListFirmwares", &list()).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.body).is_err());

    emulator.faults().push(
        FaultRule::new(FaultKind::Delay { ms: 150 })
            .for_action("ListFirmwares")
            .times(1),
    );
    let started = Instant::now();
    client.post("ListFirmwares", &list()).await.ok();
    assert!(started.elapsed() >= Duration::from_millis(150));

    emulator
        .faults()
        .push(FaultRule::new(FaultKind::BadGateway).with_probability(0.0));
    client.post("ListFirmwares", &list()).await.ok();
    emulator.faults().clear();
    assert!(emulator.faults().rules().is_empty());
    emulator.shutdown().await;
}
