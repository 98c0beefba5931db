//! Task timing over real HTTP: `DelayTime`, `StartTime`, `RateLimit` and `EndTime` of
//! `BatchUpdateFirmware`, and the task statuses `DescribeFirmwareTask(s)` answer over a
//! task's life.
//!
//! The emulator runs at `STEP_MS` real milliseconds per stage of 30 emulated seconds, so
//! a request's seconds show up here as milliseconds: 30 s is one stage. The checks are lower
//! bounds on when things happen (a busy machine only makes them later) and generous upper
//! bounds.

mod support;

use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings, RunningEmulator};
use iotexplorer_model::{FirmwareTaskStatus, FirmwareUpdateStatus};
use serde_json::{Value, json};
use support::{Client, now};

/// Real milliseconds per stage of 30 emulated seconds.
const STEP_MS: u64 = 50;
/// Emulated seconds per stage (the default).
const SECONDS_PER_STEP: i64 = 30;
/// The longest any test here waits for something to happen.
const PATIENCE: Duration = Duration::from_secs(10);

async fn start() -> RunningEmulator {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(STEP_MS))
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

/// Milliseconds that `seconds` of emulated time take.
fn real_ms(seconds: i64) -> u128 {
    u128::try_from(seconds).expect("positive") * u128::from(STEP_MS)
        / u128::try_from(SECONDS_PER_STEP).expect("positive")
}

fn batch(devices: &[&str], timing: Value) -> Value {
    let mut body = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
                          "DeviceNames": devices, "TimeoutInterval": 300});
    if let (Some(body), Value::Object(timing)) = (body.as_object_mut(), timing) {
        body.extend(timing);
    }
    body
}

async fn create(client: &Client, devices: &[&str], timing: Value) -> u64 {
    client
        .post("BatchUpdateFirmware", &batch(devices, timing))
        .await
        .ok()["TaskId"]
        .as_u64()
        .expect("a TaskId")
}

/// The task status `DescribeFirmwareTask` answers (see the README's "Task timing and
/// status").
async fn task_status(client: &Client, id: u64) -> FirmwareTaskStatus {
    let task = client
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "TaskId": id}),
        )
        .await
        .ok();
    task["Status"]
        .as_i64()
        .map(FirmwareTaskStatus::from_code)
        .expect("a task Status")
}

/// The status `DescribeFirmwareTasks` lists for task `id`, which must agree with
/// `DescribeFirmwareTask`'s; also found by filtering on that status.
async fn listed_status(client: &Client, id: u64) -> FirmwareTaskStatus {
    let listed = client
        .post(
            "DescribeFirmwareTasks",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0,
                    "Limit": 100}),
        )
        .await
        .ok();
    let status = listed["TaskInfos"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|task| task["TaskId"] == id))
        .and_then(|task| task["Status"].as_i64())
        .map(FirmwareTaskStatus::from_code)
        .expect("the task is listed with a Status");
    let filtered = client
        .post(
            "DescribeFirmwareTasks",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0,
                    "Limit": 100, "Filters": [{"Key": "Status", "Value": status.to_string()}]}),
        )
        .await
        .ok();
    let found = filtered["TaskInfos"]
        .as_array()
        .is_some_and(|tasks| tasks.iter().any(|task| task["TaskId"] == id));
    // Unless the task moved on between the two calls.
    assert!(
        found || task_status(client, id).await != status,
        "filtering on Status {status} finds task {id}: {filtered}"
    );
    status
}

/// The status of a device row; `None` unless it has a whole-number `Status`.
fn device_status(device: &Value) -> Option<FirmwareUpdateStatus> {
    device["Status"]
        .as_i64()
        .map(FirmwareUpdateStatus::from_code)
}

/// The devices of task `id`, by name.
async fn devices_of(client: &Client, id: u64) -> Vec<(String, Value)> {
    let reply = client
        .post(
            "DescribeFirmwareTaskDevices",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Limit": 100,
                    "Filters": [{"Key": "TaskId", "Value": id.to_string()}]}),
        )
        .await
        .ok();
    let mut devices: Vec<(String, Value)> = reply["Devices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|device| {
            (
                device["DeviceName"].as_str().unwrap_or("").to_owned(),
                device,
            )
        })
        .collect();
    devices.sort_by(|a, b| a.0.cmp(&b.0));
    devices
}

/// Polls until the task has status `wanted`, or `PATIENCE` runs out.
async fn wait_for_status(client: &Client, id: u64, wanted: FirmwareTaskStatus) {
    let started = Instant::now();
    loop {
        let status = task_status(client, id).await;
        if status == wanted {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "task {id} never reached status {wanted}; it is {status}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// For each device of task `id`, how long after `since` it was first seen out of pending.
async fn times_leaving_pending(
    client: &Client,
    id: u64,
    names: &[&str],
    since: Instant,
) -> Vec<u128> {
    let mut left: Vec<Option<u128>> = vec![None; names.len()];
    while left.iter().any(Option::is_none) {
        assert!(
            since.elapsed() < PATIENCE,
            "devices stayed pending: {left:?}"
        );
        for (name, device) in devices_of(client, id).await {
            if device_status(&device) != Some(FirmwareUpdateStatus::Pending)
                && let Some(slot) = names.iter().position(|n| *n == name)
            {
                left[slot].get_or_insert(since.elapsed().as_millis());
            }
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    left.into_iter().flatten().collect()
}

#[tokio::test]
async fn delay_time_holds_the_task_back_and_it_waits_meanwhile() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // 300 s: ten stages before the first device is sent the update.
    let sent = Instant::now();
    let id = create(&client, &["dev001"], json!({"DelayTime": 300})).await;
    let status = task_status(&client, id).await;
    let listed = listed_status(&client, id).await;
    let [(_, device)] = <[_; 1]>::try_from(devices_of(&client, id).await).expect("one");
    // Read before the start, unless this machine stalled for half a second.
    if sent.elapsed().as_millis() < real_ms(299) {
        assert_eq!(
            (status, listed),
            (FirmwareTaskStatus::Waiting, FirmwareTaskStatus::Waiting)
        );
        assert_eq!(device_status(&device), Some(FirmwareUpdateStatus::Pending));
    }

    let left = times_leaving_pending(&client, id, &["dev001"], sent).await;
    // Pending one stage after its dispatch, as every device is.
    let earliest = real_ms(300) + u128::from(STEP_MS);
    assert!(
        left[0] >= earliest,
        "dev001 left pending after {} ms, before {earliest} ms",
        left[0]
    );
    wait_for_status(&client, id, FirmwareTaskStatus::Finished).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn start_time_wins_over_delay_time() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let sent = Instant::now();
    // StartTime 300 s ahead: ten stages, 500 ms. DelayTime alone would hold it 50 s.
    let id = create(
        &client,
        &["dev001"],
        json!({"StartTime": now() + 300, "DelayTime": 30_000}),
    )
    .await;
    let status = task_status(&client, id).await;
    if sent.elapsed().as_millis() < real_ms(299) {
        assert_eq!(status, FirmwareTaskStatus::Waiting);
    }
    let left = times_leaving_pending(&client, id, &["dev001"], sent).await;
    // The second StartTime counts in may have begun up to a second before creation.
    let earliest = real_ms(299);
    assert!(
        left[0] >= earliest,
        "left pending after {} ms, before {earliest} ms",
        left[0]
    );
    assert!(
        left[0] < PATIENCE.as_millis(),
        "DelayTime did not take over"
    );
    let task = client
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "TaskId": id}),
        )
        .await
        .ok();
    // Both are echoed as sent.
    assert_eq!(task["DelayTime"], 30_000);
    assert!(task["StartTime"].as_i64().is_some_and(|t| t > 0));
    emulator.shutdown().await;
}

#[tokio::test]
async fn rate_limit_spreads_the_dispatch_in_the_order_asked() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // One device a minute: two stages, 100 ms, between dispatches. Asked in an order that
    // is not the names' order.
    let order = ["dev004", "dev002", "dev003", "dev001"];
    let sent = Instant::now();
    let id = create(&client, &order, json!({"RateLimit": 1})).await;
    let left = times_leaving_pending(&client, id, &order, sent).await;
    for (rank, (name, left_ms)) in order.iter().zip(&left).enumerate() {
        let rank = i64::try_from(rank).expect("small");
        let earliest = real_ms(rank * 60) + u128::from(STEP_MS);
        assert!(
            *left_ms >= earliest,
            "{name} (rank {rank}) left pending after {left_ms} ms, before {earliest} ms: {left:?}"
        );
    }
    wait_for_status(&client, id, FirmwareTaskStatus::Finished).await;
    for (name, device) in devices_of(&client, id).await {
        assert_eq!(
            device_status(&device),
            Some(FirmwareUpdateStatus::Done),
            "{name}"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn end_time_times_out_the_stragglers_and_ends_the_task() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // One device a minute (dispatches 100 ms apart) and an EndTime 150 s (250 ms) ahead:
    // only the first finishes (after four stages, 200 ms); the second is burning, the third
    // downloading and the fourth not yet sent the update when it passes.
    let names = ["dev001", "dev002", "dev003", "dev004"];
    let sent = Instant::now();
    let id = create(
        &client,
        &names,
        json!({"RateLimit": 1, "EndTime": now() + 150}),
    )
    .await;
    let status = task_status(&client, id).await;
    if sent.elapsed().as_millis() < real_ms(149) {
        assert_eq!(status, FirmwareTaskStatus::Running);
    }
    wait_for_status(&client, id, FirmwareTaskStatus::Finished).await;
    let ended_ms = sent.elapsed().as_millis();
    // EndTime counts from the second the task was created in, at most one before.
    let earliest = real_ms(149);
    assert!(
        ended_ms >= earliest,
        "ended after {ended_ms} ms, before {earliest} ms"
    );
    assert_eq!(
        listed_status(&client, id).await,
        FirmwareTaskStatus::Finished
    );
    let devices = devices_of(&client, id).await;
    let statuses: Vec<Option<FirmwareUpdateStatus>> =
        devices.iter().map(|(_, d)| device_status(d)).collect();
    assert_eq!(
        statuses,
        [
            Some(FirmwareUpdateStatus::Done),
            Some(FirmwareUpdateStatus::TimedOut),
            Some(FirmwareUpdateStatus::TimedOut),
            Some(FirmwareUpdateStatus::TimedOut)
        ],
        "{devices:?}"
    );
    for (name, device) in &devices[1..] {
        assert_eq!(device["ErrMsg"], "the task reached its EndTime", "{name}");
    }
    // It stays so, and the devices are free for a new task.
    tokio::time::sleep(Duration::from_millis(STEP_MS * 6)).await;
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Finished);
    let again = create(&client, &names, json!({})).await;
    assert_eq!(
        task_status(&client, again).await,
        FirmwareTaskStatus::Running
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn timing_that_cannot_be_honoured_is_refused() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    let now = now();
    let refused = [
        ("negative DelayTime", json!({"DelayTime": -1})),
        ("negative RateLimit", json!({"RateLimit": -5})),
        ("negative StartTime", json!({"StartTime": -1})),
        ("negative EndTime", json!({"EndTime": -1})),
        ("StartTime in the past", json!({"StartTime": now - 3_600})),
        (
            "EndTime before StartTime",
            json!({"StartTime": now + 600, "EndTime": now + 300}),
        ),
        (
            "EndTime at StartTime",
            json!({"StartTime": now + 600, "EndTime": now + 600}),
        ),
        ("EndTime in the past", json!({"EndTime": now - 60})),
        (
            "EndTime before the delayed start",
            json!({"DelayTime": 600, "EndTime": now + 300}),
        ),
    ];
    for (what, timing) in refused {
        let reply = client
            .post("BatchUpdateFirmware", &batch(&["dev001"], timing))
            .await;
        assert_eq!(
            reply.code().as_deref(),
            Some("InvalidParameterValue"),
            "{what}: {}",
            reply.json()
        );
    }
    // None of them created a task or held a device.
    let id = create(
        &client,
        &["dev001"],
        json!({"StartTime": now + 600, "EndTime": now + 900, "RateLimit": 0, "DelayTime": 0}),
    )
    .await;
    assert_eq!(id, 1_000_001);
    emulator.shutdown().await;
}

#[tokio::test]
async fn task_statuses_over_a_life_and_a_cancel_before_the_start() {
    let emulator = start().await;
    let client = Client::demo(emulator.addr());
    // Waits ten stages (500 ms), then runs eight: each device is sent the update two stages
    // after the one before.
    let id = create(
        &client,
        &["dev001", "dev002", "dev003"],
        json!({"DelayTime": 300, "RateLimit": 1}),
    )
    .await;
    let mut seen = vec![task_status(&client, id).await];
    let started = Instant::now();
    while seen.last() != Some(&FirmwareTaskStatus::Finished) {
        assert!(started.elapsed() < PATIENCE, "statuses {seen:?}");
        let status = listed_status(&client, id).await;
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        seen,
        [
            FirmwareTaskStatus::Waiting,
            FirmwareTaskStatus::Running,
            FirmwareTaskStatus::Finished
        ]
    );

    // Cancelled while it waits: it never starts, and its devices fail at once.
    let waiting = create(&client, &["dev004"], json!({"DelayTime": 3_000})).await;
    assert_eq!(
        task_status(&client, waiting).await,
        FirmwareTaskStatus::Waiting
    );
    client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": "ABCDE12345", "TaskId": waiting,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await
        .ok();
    assert_eq!(
        task_status(&client, waiting).await,
        FirmwareTaskStatus::Cancelled
    );
    assert_eq!(
        listed_status(&client, waiting).await,
        FirmwareTaskStatus::Cancelled
    );
    let [(_, device)] = <[_; 1]>::try_from(devices_of(&client, waiting).await).expect("one");
    assert_eq!(device_status(&device), Some(FirmwareUpdateStatus::Failed));
    assert_eq!(device["ErrMsg"], "task cancelled");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_name_listed_twice_in_a_device_list_file_takes_one_turn() {
    let list = iotexplorer_emulator::DeviceListFixture::new(
        "ABCDE12345",
        "twice.txt",
        vec![
            "dev001".to_owned(),
            "dev001".to_owned(),
            "dev002".to_owned(),
        ],
    );
    let mut fixture = Fixture::demo();
    fixture.device_lists.push(list.clone());
    let emulator = Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(STEP_MS))
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());
    // One device a minute: dev001 is sent the update at once, dev002 two stages later.
    let sent = Instant::now();
    let id = client
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
                    "FileName": list.file_name, "FileMd5": list.md5_hex(),
                    "FileSize": list.size(), "TimeoutInterval": 300, "RateLimit": 1}),
        )
        .await
        .ok()["TaskId"]
        .as_u64()
        .expect("a TaskId");
    let left = times_leaving_pending(&client, id, &["dev001", "dev002"], sent).await;
    assert_eq!(devices_of(&client, id).await.len(), 2);
    // A second turn for the repeated name would hold dev002 pending until one stage
    // past 120 s.
    assert!(
        left[0] < left[1]
            && left[1] >= real_ms(60) + u128::from(STEP_MS)
            && left[1] < real_ms(120) + u128::from(STEP_MS),
        "dev001 first, dev002 a turn later: {left:?}"
    );
    emulator.shutdown().await;
}
