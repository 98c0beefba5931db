//! The service's device behaviour over real HTTP: offline devices, the user's
//! confirmation, every reported state, done on the old version, late failures; each off
//! by default and turned on in the fixture or by a flag.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, Fixture, RunningEmulator};
use iotexplorer_model::{DeviceOnlineStatus, FirmwareTaskStatus, FirmwareUpdateStatus};
use serde_json::{Value, json};
use support::Client;

const PRODUCT: &str = "ABCDE12345";

/// A fixture of the demo's credentials and product, with `devices` devices on `1.0.0`,
/// `progress` as given and `extra` merged into the first device.
fn fixture(devices: usize, progress: Value, first_device: Value) -> Fixture {
    let mut list: Vec<Value> = (1..=devices)
        .map(|n| json!({"name": format!("dev{n:03}"), "firmware_version": "1.0.0"}))
        .collect();
    if let (Some(Value::Object(first)), Value::Object(extra)) = (list.first_mut(), first_device) {
        first.extend(extra);
    }
    let mut text = json!({
        "credentials": [{"secret_id": iotexplorer_emulator::DEMO_SECRET_ID,
                         "secret_key": iotexplorer_emulator::DEMO_SECRET_KEY}],
        "products": [{"product_id": PRODUCT,
                      "firmwares": [{"version": "1.0.0"}, {"version": "2.0.0"}],
                      "devices": list}],
    });
    text["progress"] = progress;
    Fixture::from_json(&text.to_string()).expect("a valid fixture")
}

async fn start(fixture: Fixture, seed: u64) -> RunningEmulator {
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .seed(seed)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

async fn create(client: &Client, body: Value) -> u64 {
    let mut request = json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0",
                             "TimeoutInterval": 300});
    if let (Some(request), Some(body)) = (request.as_object_mut(), body.as_object()) {
        request.extend(body.clone());
    }
    client.post("BatchUpdateFirmware", &request).await.ok()["TaskId"]
        .as_u64()
        .expect("a TaskId")
}

/// `DescribeFirmwareUpdateStatus` of `device`: its latest task.
async fn update_status(client: &Client, device: &str) -> Value {
    client
        .post(
            "DescribeFirmwareUpdateStatus",
            &json!({"ProductId": PRODUCT, "DeviceName": device}),
        )
        .await
        .ok()
}

/// Every row of task `id` in `DescribeFirmwareTaskDevices`, page by page.
async fn task_devices(client: &Client, id: u64) -> Vec<Value> {
    let mut rows = Vec::new();
    loop {
        let page = client
            .post(
                "DescribeFirmwareTaskDevices",
                &json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0",
                        "Offset": rows.len(), "Limit": 100,
                        "Filters": [{"Key": "TaskId", "Value": id.to_string()}]}),
            )
            .await
            .ok();
        let devices = page["Devices"].as_array().cloned().unwrap_or_default();
        let total = page["Total"].as_u64().unwrap_or(0) as usize;
        let empty = devices.is_empty();
        rows.extend(devices);
        if empty || rows.len() >= total {
            return rows;
        }
    }
}

async fn task_status(client: &Client, id: u64) -> FirmwareTaskStatus {
    client
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0", "TaskId": id}),
        )
        .await
        .ok()["Status"]
        .as_i64()
        .map(FirmwareTaskStatus::from_code)
        .expect("a Status")
}

/// The version `DescribeDeviceFirmWare` reports for `device`.
async fn reported_version(client: &Client, device: &str) -> String {
    let answer = client
        .post(
            "DescribeDeviceFirmWare",
            &json!({"ProductId": PRODUCT, "DeviceName": device}),
        )
        .await
        .ok();
    let data: Value =
        serde_json::from_str(answer["Data"].as_str().unwrap_or_default()).unwrap_or_default();
    data["FwVer"].as_str().unwrap_or_default().to_owned()
}

/// The states `device` goes through, in order and each once, polled until it ends or
/// `limit` passes.
async fn states_of(client: &Client, device: &str, limit: Duration) -> Vec<FirmwareUpdateStatus> {
    let deadline = Instant::now() + limit;
    let mut seen: Vec<FirmwareUpdateStatus> = Vec::new();
    loop {
        let status = update_status(client, device).await["Status"]
            .as_i64()
            .map(FirmwareUpdateStatus::from_code)
            .expect("a Status");
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if status.is_terminal() || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_device_goes_through_every_documented_state_in_order() {
    // dev001 is offline for two stages, then its user takes two stages to confirm.
    let emulator = start(
        fixture(
            3,
            json!({"step_ms": 250, "detailed_stages": true, "confirm_after_steps": 2}),
            json!({"offline": {"for_steps": 2}}),
        ),
        1,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let id = create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1}),
    )
    .await;
    let listed = client
        .post(
            "GetDeviceList",
            &json!({"ProductId": PRODUCT, "DeviceName": "dev001"}),
        )
        .await
        .ok();
    assert_eq!(
        listed["Devices"][0]["Status"],
        DeviceOnlineStatus::Offline.code(),
        "offline in the list: {listed}"
    );
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Running);

    let states = states_of(&client, "dev001", Duration::from_secs(15)).await;
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Offline,
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::MessageSent,
            FirmwareUpdateStatus::AwaitingConfirmation,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::Downloaded,
            FirmwareUpdateStatus::Burning,
            FirmwareUpdateStatus::Processing,
            FirmwareUpdateStatus::Done
        ]
    );
    let rows = task_devices(&client, id).await;
    assert_eq!(
        (rows[0]["Status"].as_i64(), rows[0]["Percent"].as_u64()),
        (Some(FirmwareUpdateStatus::Done.code()), Some(100))
    );
    assert_eq!(reported_version(&client, "dev001").await, "2.0.0");
    let listed = client
        .post(
            "GetDeviceList",
            &json!({"ProductId": PRODUCT, "DeviceName": "dev001"}),
        )
        .await
        .ok();
    assert_eq!(
        listed["Devices"][0]["Status"],
        DeviceOnlineStatus::Online.code(),
        "online again: {listed}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn by_default_a_user_confirmed_task_runs_as_it_always_did() {
    let emulator = start(fixture(2, json!({"step_ms": 40}), json!({})), 1).await;
    let client = Client::demo(emulator.addr());
    create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1}),
    )
    .await;
    let states = states_of(&client, "dev001", Duration::from_secs(10)).await;
    let plain = [
        FirmwareUpdateStatus::Pending,
        FirmwareUpdateStatus::Downloading,
        FirmwareUpdateStatus::Burning,
        FirmwareUpdateStatus::Done,
    ];
    assert!(
        states.iter().all(|s| plain.contains(s))
            && states.last() == Some(&FirmwareUpdateStatus::Done),
        "{states:?}"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_late_failure_comes_after_the_download_and_burning() {
    let emulator = start(
        fixture(
            2,
            json!({"step_ms": 200, "detailed_stages": true, "late_failure_rate": 1.0}),
            json!({}),
        ),
        3,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let id = create(&client, json!({"DeviceNames": ["dev001", "dev002"]})).await;
    let states = states_of(&client, "dev001", Duration::from_secs(10)).await;
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::MessageSent,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::Downloaded,
            FirmwareUpdateStatus::Burning,
            FirmwareUpdateStatus::Failed
        ]
    );
    // Both devices end so; the task finishes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for row in task_devices(&client, id).await {
        assert_eq!(row["Status"], FirmwareUpdateStatus::Failed.code(), "{row}");
        assert_eq!(row["ErrMsg"], "burning failed", "{row}");
        assert_eq!(row["Percent"], 100, "{row}");
    }
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Finished);
    assert_eq!(reported_version(&client, "dev001").await, "1.0.0");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_device_reports_done_on_a_mismatched_module_and_keeps_its_version() {
    let emulator = start(
        fixture(4, json!({"step_ms": 20, "mismatch_rate": 1.0}), json!({})),
        4,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let id = create(&client, json!({"FirmwareOriVersion": "1.0.0"})).await;
    let states = states_of(&client, "dev001", Duration::from_secs(10)).await;
    assert_eq!(
        states.last(),
        Some(&FirmwareUpdateStatus::Done),
        "{states:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rows = task_devices(&client, id).await;
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|row| row["Status"] == FirmwareUpdateStatus::Done.code()),
        "{rows:?}"
    );
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Finished);
    let status = update_status(&client, "dev002").await;
    assert_eq!(
        (status["Status"].as_i64(), status["DstVersion"].as_str()),
        (Some(FirmwareUpdateStatus::Done.code()), Some("2.0.0"))
    );
    // ...yet every device still runs, and reports, the old version.
    for device in ["dev001", "dev002", "dev003", "dev004"] {
        assert_eq!(reported_version(&client, device).await, "1.0.0", "{device}");
    }
    let listed = client
        .post(
            "GetDeviceList",
            &json!({"ProductId": PRODUCT, "FirmwareVersion": "1.0.0"}),
        )
        .await
        .ok();
    assert_eq!(listed["Total"], 4, "{listed}");
    // So a task by the old version picks them all again.
    let again = create(&client, json!({"FirmwareOriVersion": "1.0.0"})).await;
    assert_eq!(task_devices(&client, again).await.len(), 4);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_user_who_never_confirms_keeps_the_device_waiting_and_the_task_running() {
    let emulator = start(
        fixture(
            3,
            json!({"step_ms": 20, "never_confirm_rate": 1.0}),
            json!({}),
        ),
        5,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let confirmed = create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1}),
    )
    .await;
    // A silent task is not asked about.
    let silent = create(
        &client,
        json!({"DeviceNames": ["dev002"], "UpgradeMethod": 0}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        update_status(&client, "dev001").await["Status"],
        FirmwareUpdateStatus::AwaitingConfirmation.code()
    );
    assert_eq!(
        update_status(&client, "dev002").await["Status"],
        FirmwareUpdateStatus::Done.code()
    );
    assert_eq!(
        task_status(&client, confirmed).await,
        FirmwareTaskStatus::Running
    );
    assert_eq!(
        task_status(&client, silent).await,
        FirmwareTaskStatus::Finished
    );
    // Still updating: a new task needs OverrideMode.
    let reply = client
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": PRODUCT, "FirmwareVersion": "2.0.0", "DeviceNames": ["dev001"]}),
        )
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );
    // Cancelling ends the wait.
    client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": PRODUCT, "TaskId": confirmed,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await
        .ok();
    let rows = task_devices(&client, confirmed).await;
    assert_eq!(
        (rows[0]["Status"].as_i64(), rows[0]["ErrMsg"].as_str()),
        (
            Some(FirmwareUpdateStatus::Failed.code()),
            Some("task cancelled")
        )
    );
    assert_eq!(reported_version(&client, "dev001").await, "1.0.0");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_user_confirms_after_the_delay_then_the_update_goes_on() {
    let emulator = start(
        fixture(
            2,
            json!({"step_ms": 100, "confirm_after_steps": 4}),
            json!({}),
        ),
        6,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let began = Instant::now();
    create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1}),
    )
    .await;
    let mut waited = None;
    let mut states: Vec<FirmwareUpdateStatus> = Vec::new();
    while began.elapsed() < Duration::from_secs(10) {
        let status = update_status(&client, "dev001").await["Status"]
            .as_i64()
            .map(FirmwareUpdateStatus::from_code)
            .expect("a Status");
        if states.last() != Some(&status) {
            states.push(status);
            if status == FirmwareUpdateStatus::Downloading {
                waited = Some(began.elapsed());
            }
        }
        if status == FirmwareUpdateStatus::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::AwaitingConfirmation,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::Burning,
            FirmwareUpdateStatus::Done
        ]
    );
    // One stage pending and four waiting: the download starts after 500 ms, not before.
    let waited = waited.expect("downloading was seen");
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    emulator.shutdown().await;
}

/// The names of the devices offline at the start of a task for all 200 devices, with
/// `offline_rate` 0.3, under `seed`; and how many come online and finish.
async fn offline_draw(
    seed: u64,
    never_online_rate: f64,
) -> (BTreeSet<String>, RunningEmulator, Client, u64) {
    let emulator = start(
        fixture(
            200,
            json!({"step_ms": 20, "offline_rate": 0.3, "online_after_steps": 10,
                   "never_online_rate": never_online_rate}),
            json!({}),
        ),
        seed,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let id = create(&client, json!({"FirmwareOriVersion": "1.0.0"})).await;
    let rows = task_devices(&client, id).await;
    assert_eq!(rows.len(), 200);
    // Counted at once: with a delay drawn below the time this took, a device that comes
    // online is no longer offline, so the exact count takes never_online_rate 1.
    let offline = rows
        .iter()
        .filter(|row| row["Status"] == FirmwareUpdateStatus::Offline.code())
        .filter_map(|row| row["DeviceName"].as_str().map(str::to_owned))
        .collect();
    (offline, emulator, client, id)
}

#[tokio::test]
async fn the_offline_share_is_honoured_and_a_seed_replays_it() {
    let (first, emulator, client, id) = offline_draw(11, 1.0).await;
    // 30 % of 200 is 60; six standard deviations (about 6.5 each) either side.
    assert!((21..=99).contains(&first.len()), "{} offline", first.len());
    // Those that never come online keep the task running; the others finish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = task_devices(&client, id).await;
    let still: BTreeSet<String> = rows
        .iter()
        .filter(|row| row["Status"] == FirmwareUpdateStatus::Offline.code())
        .filter_map(|row| row["DeviceName"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(still, first);
    assert!(
        rows.iter()
            .all(|row| row["Status"] == FirmwareUpdateStatus::Offline.code()
                || row["Status"] == FirmwareUpdateStatus::Done.code()),
        "{rows:?}"
    );
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Running);
    emulator.shutdown().await;

    let (again, emulator, ..) = offline_draw(11, 1.0).await;
    assert_eq!(again, first, "the same seed draws the same devices");
    emulator.shutdown().await;
    let (other, emulator, ..) = offline_draw(12, 1.0).await;
    assert_ne!(other, first, "another seed draws others");
    emulator.shutdown().await;
}

#[tokio::test]
async fn offline_devices_come_online_after_their_delay_and_finish() {
    let (offline, emulator, client, id) = offline_draw(13, 0.0).await;
    assert!(!offline.is_empty());
    // Ten stages of delay at most, then four: 280 ms.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if task_status(&client, id).await == FirmwareTaskStatus::Finished {
            break;
        }
        assert!(Instant::now() < deadline, "the task never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = task_devices(&client, id).await;
    assert!(
        rows.iter()
            .all(|row| row["Status"] == FirmwareUpdateStatus::Done.code()),
        "{rows:?}"
    );
    for name in offline.iter().take(5) {
        assert_eq!(reported_version(&client, name).await, "2.0.0", "{name}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_device_offline_for_ever_in_the_fixture_stays_so_until_cancelled() {
    let emulator = start(
        fixture(2, json!({"step_ms": 20}), json!({"offline": "never"})),
        7,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let id = create(&client, json!({"DeviceNames": ["dev001", "dev002"]})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        update_status(&client, "dev001").await["Status"],
        FirmwareUpdateStatus::Offline.code()
    );
    assert_eq!(
        update_status(&client, "dev002").await["Status"],
        FirmwareUpdateStatus::Done.code()
    );
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Running);
    client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": PRODUCT, "TaskId": id,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await
        .ok();
    assert_eq!(
        update_status(&client, "dev001").await["Status"],
        FirmwareUpdateStatus::Failed.code()
    );
    assert_eq!(
        task_status(&client, id).await,
        FirmwareTaskStatus::Cancelled
    );
    emulator.shutdown().await;
}

#[test]
fn a_fixture_with_a_behaviour_that_cannot_work_is_refused() {
    let refused = |progress: Value, device: Value| {
        let text = json!({"credentials": [], "products": [{"product_id": PRODUCT,
            "devices": [device]}], "progress": progress});
        Fixture::from_json(&text.to_string())
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default()
    };
    let device = json!({"name": "d", "firmware_version": "1"});
    assert!(refused(json!({"offline_rate": 1.5}), device.clone()).contains("offline_rate"));
    assert!(
        refused(json!({"confirm_after_steps": -2}), device.clone()).contains("confirm_after_steps")
    );
    let bad_device = json!({"name": "d", "firmware_version": "1", "offline": {"for_steps": -1}});
    assert!(refused(json!({}), bad_device).contains("device d"));
    let unknown = json!({"name": "d", "firmware_version": "1", "offline": "sometimes"});
    assert!(refused(json!({}), unknown).contains("unknown variant"));
    assert_eq!(refused(json!({"mismatch_rate": 1}), device), "");
}

/// Starts the binary with `args`; the child and its address.
fn spawn(args: &[&str]) -> (std::process::Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let address = support::listening_address(&mut child);
    (child, address)
}

#[tokio::test]
async fn the_flags_turn_the_behaviours_on() {
    let (mut child, address) = spawn(&[
        "--step-ms",
        "200",
        "--seed",
        "9",
        "--detailed-stages",
        "--mismatch-rate",
        "1",
        "--confirm-after-steps",
        "1",
    ]);
    let client = Client::demo(address);
    create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1}),
    )
    .await;
    let states = states_of(&client, "dev001", Duration::from_secs(10)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::MessageSent,
            FirmwareUpdateStatus::AwaitingConfirmation,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::Downloaded,
            FirmwareUpdateStatus::Burning,
            FirmwareUpdateStatus::Processing,
            FirmwareUpdateStatus::Done
        ]
    );

    let (mut child, address) = spawn(&[
        "--offline-rate",
        "1",
        "--never-online-rate",
        "1",
        "--late-failure-rate",
        "0.5",
        "--never-confirm-rate",
        "0",
        "--online-after-steps",
        "3",
    ]);
    let client = Client::demo(address);
    create(&client, json!({"DeviceNames": ["dev001"]})).await;
    let status = update_status(&client, "dev001").await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status["Status"], FirmwareUpdateStatus::Offline.code());
}

#[test]
fn a_flag_that_cannot_work_is_refused_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0", "--offline-rate", "2"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("offline_rate"), "{stderr}");
}

#[test]
fn settings_at_their_defaults_are_written_as_before() {
    let written =
        serde_json::to_value(iotexplorer_emulator::ProgressSettings::default()).expect("serialise");
    assert_eq!(
        written,
        json!({"step_ms": 1000, "seconds_per_step": 30, "failure_rate": 0.0, "timeout_rate": 0.0})
    );
}

#[tokio::test]
async fn the_behaviours_drawn_survive_a_restart_from_the_state_file() {
    let dir = support::temp_dir("behaviour");
    let state = dir.path().join("state.json");
    let fixture = fixture(
        3,
        json!({"step_ms": 20, "mismatch_rate": 1.0}),
        json!({"offline": "never"}),
    );
    let started = |fixture: Fixture| {
        Emulator::builder()
            .fixture(fixture)
            .rate_limit(0)
            .seed(8)
            .state_file(&state)
            .start("127.0.0.1:0")
    };
    let emulator = started(fixture.clone()).await.expect("start");
    let client = Client::demo(emulator.addr());
    let id = create(&client, json!({"DeviceNames": ["dev001", "dev002"]})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    emulator.shutdown().await;

    let emulator = started(fixture).await.expect("restart");
    let client = Client::demo(emulator.addr());
    // dev001 still waits to come online, so the task runs; dev002 reported done and
    // still runs its old version.
    assert_eq!(
        update_status(&client, "dev001").await["Status"],
        FirmwareUpdateStatus::Offline.code()
    );
    assert_eq!(
        update_status(&client, "dev002").await["Status"],
        FirmwareUpdateStatus::Done.code()
    );
    assert_eq!(reported_version(&client, "dev002").await, "1.0.0");
    assert_eq!(task_status(&client, id).await, FirmwareTaskStatus::Running);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_stalled_device_times_out_counting_from_its_first_stage() {
    // Offline one stage, then pending, message sent, one stage for the user; the
    // TimeoutInterval of 120 s is four stages of 30 s from pending, not counting the
    // stage offline nor the one waiting for the user: timed out after seven stages.
    let emulator = start(
        fixture(
            2,
            json!({"step_ms": 150, "seconds_per_step": 30, "timeout_rate": 1.0,
                   "detailed_stages": true, "confirm_after_steps": 1}),
            json!({"offline": {"for_steps": 1}}),
        ),
        10,
    )
    .await;
    let client = Client::demo(emulator.addr());
    let began = Instant::now();
    let id = create(
        &client,
        json!({"DeviceNames": ["dev001"], "UpgradeMethod": 1, "TimeoutInterval": 120}),
    )
    .await;
    let states = states_of(&client, "dev001", Duration::from_secs(10)).await;
    let took = began.elapsed();
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Offline,
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::MessageSent,
            FirmwareUpdateStatus::AwaitingConfirmation,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::TimedOut
        ]
    );
    assert!(took >= Duration::from_millis(7 * 150), "{took:?}");
    let rows = task_devices(&client, id).await;
    assert_eq!(rows[0]["ErrMsg"], "update timed out");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_device_offline_from_the_start_shows_so_before_its_turn_and_never_goes_back() {
    // Offline for the task's first two stages; the task holds every device back four
    // stages (DelayTime 120 s at 30 s a stage). The device is offline, then online and
    // waiting its turn, then updates: its state never goes back to offline.
    let emulator = start(
        fixture(
            1,
            json!({"step_ms": 100, "seconds_per_step": 30}),
            json!({"offline": {"for_steps": 2}}),
        ),
        1,
    )
    .await;
    let client = Client::demo(emulator.addr());
    create(
        &client,
        json!({"DeviceNames": ["dev001"], "DelayTime": 120}),
    )
    .await;
    let states = states_of(&client, "dev001", Duration::from_secs(15)).await;
    assert_eq!(
        states,
        [
            FirmwareUpdateStatus::Offline,
            FirmwareUpdateStatus::Pending,
            FirmwareUpdateStatus::Downloading,
            FirmwareUpdateStatus::Burning,
            FirmwareUpdateStatus::Done
        ]
    );
    emulator.shutdown().await;
}

#[test]
fn a_huge_max_retry_num_is_answered_at_once() {
    // Every attempt fails; a retry count no device could ever live through must not make
    // the emulator count through it. The emulator runs on a thread of its own so that, were
    // it stuck, this test would fail at its deadline instead of hanging with it.
    let (started, addr) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let emulator = start(
                fixture(2, json!({"step_ms": 20, "failure_rate": 1.0}), json!({})),
                1,
            )
            .await;
            let _ = started.send(emulator.addr());
            std::future::pending::<()>().await;
        });
    });
    let addr = addr
        .recv_timeout(Duration::from_secs(10))
        .expect("the emulator started");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let answered = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            let client = Client::demo(addr);
            let id = create(
            &client,
            json!({"DeviceNames": ["dev001", "dev002"], "MaxRetryNum": 1_000_000_000_000_000_u64,
                   "RetryInterval": 0}),
        )
        .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            (
                task_devices(&client, id).await,
                task_status(&client, id).await,
            )
        })
        .await
    });
    let (rows, status) = answered.expect("answered within 10 s");
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|row| row["RetryNum"].as_u64() > Some(0)),
        "{rows:?}"
    );
    assert_eq!(status, FirmwareTaskStatus::Running);
}
