//! A device with a long task history: its version, whether it is updating and the rows of
//! its tasks stay right after hundreds of tasks, with the version decided by a task far
//! back in the history, and again after a restart from `--state`, which builds the
//! emulator's indexes from the saved tasks.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings, RunningEmulator};
use iotexplorer_model::{ALREADY_CURRENT_MESSAGE, FirmwareUpdateStatus};
use serde_json::{Value, json};
use support::Client;

const PRODUCT: &str = "ABCDE12345";
/// Tasks that fail at once because the device already runs their version.
const REPEATS: usize = 300;

async fn start(state: &std::path::Path, step_ms: u64) -> RunningEmulator {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(step_ms))
        .state_file(state)
        // Small, so the log is folded into the snapshot many times on the way.
        .state_log_limit(8 * 1024)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

fn update(version: &str, device: &str, override_mode: u64) -> Value {
    json!({"ProductID": PRODUCT, "FirmwareVersion": version, "DeviceNames": [device],
           "OverrideMode": override_mode, "TimeoutInterval": 300})
}

async fn reported_version(client: &Client, device: &str) -> String {
    let reply = client
        .post(
            "DescribeDeviceFirmWare",
            &json!({"ProductId": PRODUCT, "DeviceName": device}),
        )
        .await
        .ok();
    let data: Value = serde_json::from_str(reply["Data"].as_str().expect("Data")).expect("JSON");
    data["FwVer"].as_str().expect("FwVer").to_owned()
}

async fn listed_on(client: &Client, version: &str) -> Vec<String> {
    let reply = client
        .post(
            "GetDeviceList",
            &json!({"ProductId": PRODUCT, "FirmwareVersion": version, "Offset": 0, "Limit": 100}),
        )
        .await
        .ok();
    reply["Devices"]
        .as_array()
        .expect("Devices")
        .iter()
        .filter_map(|d| d["DeviceName"].as_str().map(str::to_owned))
        .collect()
}

async fn update_status(client: &Client, device: &str) -> Value {
    client
        .post(
            "DescribeFirmwareUpdateStatus",
            &json!({"ProductId": PRODUCT, "DeviceName": device}),
        )
        .await
        .ok()
}

async fn task_count(client: &Client, version: &str) -> u64 {
    client
        .post(
            "DescribeFirmwareTasks",
            &json!({"ProductID": PRODUCT, "FirmwareVersion": version, "Offset": 0, "Limit": 1}),
        )
        .await
        .ok()["Total"]
        .as_u64()
        .expect("Total")
}

/// The device rows of task `id` of `version`.
async fn rows_of(client: &Client, version: &str, id: u64) -> Vec<Value> {
    client
        .post(
            "DescribeFirmwareTaskDevices",
            &json!({"ProductID": PRODUCT, "FirmwareVersion": version, "Offset": 0,
                    "Limit": 100, "Filters": [{"Key": "TaskId", "Value": id.to_string()}]}),
        )
        .await
        .ok()["Devices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn create(client: &Client, body: &Value) -> u64 {
    client.post("BatchUpdateFirmware", body).await.ok()["TaskId"]
        .as_u64()
        .expect("a TaskId")
}

/// Waits until device `device`'s latest task reports `status`.
async fn wait_for_status(client: &Client, device: &str, status: FirmwareUpdateStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if update_status(client, device).await["Status"] == status.code() {
            return;
        }
        assert!(Instant::now() < deadline, "{device} never reached {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What must hold of dev001 whether the emulator ran all along or restarted: it runs
/// 2.0.0, decided by its first task, is in no running task, and every task is listed.
async fn assert_history(client: &Client, first: u64, cancelled: u64) {
    assert_eq!(reported_version(client, "dev001").await, "2.0.0");
    assert!(
        listed_on(client, "2.0.0")
            .await
            .contains(&"dev001".to_owned())
    );
    assert!(
        !listed_on(client, "1.0.0")
            .await
            .contains(&"dev001".to_owned())
    );
    // REPEATS + the first + the one that replaced the 1.0.0 task.
    assert_eq!(task_count(client, "2.0.0").await, REPEATS as u64 + 2);
    assert_eq!(task_count(client, "1.0.0").await, 1);

    let first_rows = rows_of(client, "2.0.0", first).await;
    assert_eq!(first_rows.len(), 1, "{first_rows:?}");
    assert_eq!(first_rows[0]["Status"], FirmwareUpdateStatus::Done.code());
    assert_eq!(first_rows[0]["OriVersion"], "1.0.0");
    // A TaskId filter names a task by the text of its ID, and only within the version.
    for (version, named, total) in [
        ("2.0.0", first.to_string(), 1),
        ("2.0.0", format!("0{first}"), 0),
        ("2.0.0", format!("+{first}"), 0),
        ("1.0.0", first.to_string(), 0),
    ] {
        for action in ["DescribeFirmwareTasks", "DescribeFirmwareTaskDevices"] {
            let reply = client
                .post(
                    action,
                    &json!({"ProductID": PRODUCT, "FirmwareVersion": version, "Offset": 0,
                            "Limit": 10, "Filters": [{"Key": "TaskId", "Value": named}]}),
                )
                .await
                .ok();
            assert_eq!(reply["Total"], total, "{action} {version} {named}");
        }
    }
    let stopped = rows_of(client, "1.0.0", cancelled).await;
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["Status"], FirmwareUpdateStatus::Failed.code());
    assert_eq!(stopped[0]["OriVersion"], "2.0.0");
    let latest = update_status(client, "dev001").await;
    assert_eq!(
        (latest["Status"].clone(), latest["OriVersion"].clone()),
        (json!(FirmwareUpdateStatus::Failed), json!("2.0.0"))
    );
}

#[tokio::test]
async fn a_long_history_answers_like_a_short_one() {
    let dir = support::temp_dir("history");
    let state: PathBuf = dir.path().join("state.json");

    let emulator = start(&state, 1).await;
    let client = Client::demo(emulator.addr());
    let first = create(&client, &update("2.0.0", "dev001", 0)).await;
    wait_for_status(&client, "dev001", FirmwareUpdateStatus::Done).await;

    // Each fails at once (`ALREADY_CURRENT_MESSAGE`), so the device is never busy: a
    // task that keeps existing ones is accepted every time, and the version stays the one
    // the first task installed.
    for n in 0..REPEATS {
        let id = create(&client, &update("2.0.0", "dev001", 0)).await;
        let row = rows_of(&client, "2.0.0", id).await;
        assert_eq!(row.len(), 1);
        assert_eq!(
            (row[0]["Status"].clone(), row[0]["ErrMsg"].clone()),
            (
                json!(FirmwareUpdateStatus::Failed),
                json!(ALREADY_CURRENT_MESSAGE)
            ),
            "task {n}"
        );
        if n % 100 == 0 {
            assert_eq!(reported_version(&client, "dev001").await, "2.0.0");
        }
    }

    // A slow task back to 1.0.0: the device is updating, the version is still the one
    // decided hundreds of tasks back.
    emulator.set_progress(ProgressSettings::default().with_step_ms(600_000));
    let cancelled = create(&client, &update("1.0.0", "dev001", 0)).await;
    assert_eq!(reported_version(&client, "dev001").await, "2.0.0");
    let busy = client
        .post("BatchUpdateFirmware", &update("2.0.0", "dev001", 0))
        .await;
    assert_eq!(
        busy.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );
    // Replacing it stops the slow task where it is; the new one fails at once.
    create(&client, &update("2.0.0", "dev001", 1)).await;
    assert_history(&client, first, cancelled).await;
    // Not updating any more: a task that keeps existing ones is accepted.
    let accepted = create(&client, &update("2.0.0", "dev001", 0)).await;
    assert!(accepted > cancelled);
    emulator.shutdown().await;

    // From the files: the indexes are built from the saved tasks.
    let emulator = start(&state, 1).await;
    let client = Client::demo(emulator.addr());
    // One more task (the one accepted above) than `assert_history` counts.
    let rows = rows_of(&client, "2.0.0", accepted).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(task_count(&client, "2.0.0").await, REPEATS as u64 + 3);
    assert_eq!(reported_version(&client, "dev001").await, "2.0.0");
    let latest = update_status(&client, "dev001").await;
    assert_eq!(latest["Status"], FirmwareUpdateStatus::Failed.code());
    let again = create(&client, &update("2.0.0", "dev001", 0)).await;
    assert!(again > accepted);
    emulator.shutdown().await;
}
