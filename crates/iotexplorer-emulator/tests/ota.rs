//! OTA behaviour over real HTTP: tasks, targeting, progress, cancellation.

mod support;

use std::time::Duration;

use iotexplorer_emulator::{
    DeviceListFixture, Emulator, Fixture, ProgressSettings, RunningEmulator,
};
use iotexplorer_model::{ALREADY_CURRENT_MESSAGE, FirmwareTaskStatus, FirmwareUpdateStatus};
use serde_json::{Value, json};
use support::Client;

async fn start(step_ms: u64) -> RunningEmulator {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(step_ms))
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

fn batch(devices: &[&str]) -> Value {
    json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "DeviceNames": devices,
           "TimeoutInterval": 300})
}

async fn devices_of(client: &Client, task_id: u64) -> Vec<Value> {
    let reply = client
        .post(
            "DescribeFirmwareTaskDevices",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Limit": 100,
                    "Filters": [{"Key": "TaskId", "Value": task_id.to_string()}]}),
        )
        .await;
    reply.ok()["Devices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn task_id(reply: &Value) -> u64 {
    reply["TaskId"].as_u64().expect("a TaskId")
}

/// The TaskId of a new task updating `devices` to 2.0.0.
async fn create_task(client: &Client, devices: &[&str]) -> u64 {
    task_id(
        &client
            .post("BatchUpdateFirmware", &batch(devices))
            .await
            .ok(),
    )
}

/// `DescribeFirmwareTask` of task `id`, named under firmware `version`.
async fn describe_task(client: &Client, version: &str, id: u64) -> support::Reply {
    client
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": version, "TaskId": id}),
        )
        .await
}

#[tokio::test]
async fn task_ids_increase_and_errors_name_what_is_missing() {
    let emulator = start(10_000).await;
    let client = Client::demo(emulator.addr());
    let first = create_task(&client, &["dev001"]).await;
    let second = create_task(&client, &["dev002"]).await;
    assert!(second > first);

    let mut body = batch(&["dev003"]);
    body["ProductID"] = json!("NOPRODUCT1");
    let reply = client.post("BatchUpdateFirmware", &body).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("ResourceNotFound.StudioProductNotExist")
    );

    let mut body = batch(&["dev003"]);
    body["FirmwareVersion"] = json!("9.9.9");
    let reply = client.post("BatchUpdateFirmware", &body).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("ResourceNotFound.FirmwareNotExist")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_device_in_an_unfinished_task_is_updating_unless_overridden() {
    let emulator = start(10_000).await;
    let client = Client::demo(emulator.addr());
    let first = create_task(&client, &["dev001", "dev002"]).await;
    let reply = client
        .post("BatchUpdateFirmware", &batch(&["dev002"]))
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );

    let mut body = batch(&["dev002"]);
    body["OverrideMode"] = json!(1);
    let second = task_id(&client.post("BatchUpdateFirmware", &body).await.ok());
    let old = devices_of(&client, first).await;
    let replaced = old
        .iter()
        .find(|d| d["DeviceName"] == "dev002")
        .expect("dev002");
    assert_eq!(replaced["Status"], FirmwareUpdateStatus::Failed.code());
    let kept = old
        .iter()
        .find(|d| d["DeviceName"] == "dev001")
        .expect("dev001");
    assert_eq!(kept["Status"], FirmwareUpdateStatus::Pending.code());
    assert_eq!(devices_of(&client, second).await.len(), 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn devices_are_chosen_by_original_version_and_by_list_file() {
    let list = DeviceListFixture::new(
        "ABCDE12345",
        "some.txt",
        vec!["dev004".into(), "dev005".into()],
    );
    let emulator = Emulator::builder()
        .fixture(Fixture::demo().with_device_list(list.clone()))
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(10_000))
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());

    let by_file = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "FileName": "some.txt",
        "FileMd5": list.md5_hex(), "FileSize": list.size(), "TimeoutInterval": 300});
    let id = task_id(&client.post("BatchUpdateFirmware", &by_file).await.ok());
    let names: Vec<Value> = devices_of(&client, id)
        .await
        .iter()
        .map(|d| d["DeviceName"].clone())
        .collect();
    assert_eq!(names, [json!("dev004"), json!("dev005")]);
    let task = describe_task(&client, "2.0.0", id).await.ok();
    assert_eq!(task["UpgradeMode"], "filename");

    let mut wrong = by_file.clone();
    wrong["FileMd5"] = json!("00000000000000000000000000000000");
    let reply = client.post("BatchUpdateFirmware", &wrong).await;
    assert_eq!(reply.code().as_deref(), Some("InvalidParameterValue"));
    let mut wrong = by_file;
    wrong["FileSize"] = json!(list.size() + 1);
    let reply = client.post("BatchUpdateFirmware", &wrong).await;
    assert_eq!(reply.code().as_deref(), Some("InvalidParameterValue"));

    // The other eight devices still run 1.0.0 and are not updating.
    let mut by_version = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
        "FirmwareOriVersion": "1.0.0", "TimeoutInterval": 300});
    let reply = client.post("BatchUpdateFirmware", &by_version).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );
    by_version["OverrideMode"] = json!(1);
    let id = task_id(&client.post("BatchUpdateFirmware", &by_version).await.ok());
    assert_eq!(devices_of(&client, id).await.len(), 10);
    emulator.shutdown().await;
}

#[tokio::test]
async fn devices_progress_to_completion_on_a_fast_clock() {
    let emulator = start(20).await;
    let client = Client::demo(emulator.addr());
    let id = create_task(&client, &["dev001", "dev002", "dev003"]).await;
    let status = client
        .post(
            "DescribeFirmwareUpdateStatus",
            &json!({"ProductId": "ABCDE12345", "DeviceName": "dev001"}),
        )
        .await
        .ok();
    assert_eq!(status["DstVersion"], "2.0.0");
    assert_eq!(status["OriVersion"], "1.0.0");

    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let devices = devices_of(&client, id).await;
        for device in &devices {
            seen.insert(device["Status"].as_i64().unwrap_or(-1));
        }
        if devices
            .iter()
            .all(|d| d["Status"] == FirmwareUpdateStatus::Done.code())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        seen.contains(&FirmwareUpdateStatus::Done.code()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&FirmwareUpdateStatus::Downloading.code()),
        "downloading was seen: {seen:?}"
    );
    let task = describe_task(&client, "2.0.0", id).await.ok();
    assert_eq!(
        task["Status"],
        FirmwareTaskStatus::Finished.code(),
        "every device ended"
    );
    let firmware = client
        .post(
            "DescribeDeviceFirmWare",
            &json!({"ProductId": "ABCDE12345", "DeviceName": "dev001"}),
        )
        .await
        .ok();
    let data: Value =
        serde_json::from_str(firmware["Data"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(data["FwVer"], "2.0.0");
    let tasks = client
        .post("DescribeFirmwareTasks", &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}))
        .await
        .ok();
    assert_eq!(tasks["Total"], 1);
    assert_eq!(tasks["TaskInfos"][0]["TaskId"], id);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_task_stops_its_devices() {
    let emulator = start(10_000).await;
    let client = Client::demo(emulator.addr());
    let id = create_task(&client, &["dev001", "dev002"]).await;
    client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": "ABCDE12345", "TaskId": id,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await
        .ok();
    let task = describe_task(&client, "2.0.0", id).await.ok();
    assert_eq!(task["Status"], FirmwareTaskStatus::Cancelled.code());
    for device in devices_of(&client, id).await {
        assert_eq!(device["Status"], FirmwareUpdateStatus::Failed.code());
        assert_eq!(device["ErrMsg"], "task cancelled");
    }
    // The devices are free again.
    client
        .post("BatchUpdateFirmware", &batch(&["dev001"]))
        .await
        .ok();
    let reply = client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": "ABCDE12345", "TaskId": 42,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("ResourceNotFound.FirmwareTaskNotExist")
    );
    emulator.shutdown().await;
}

/// Tencent: a task may be set to cancelled while it is "not in the all-succeeded state"
/// (UpdateOtaTaskStatus); one whose every device updated stays as it ended.
#[tokio::test]
async fn a_task_whose_every_device_updated_cannot_be_cancelled() {
    let emulator = start(10).await;
    let client = Client::demo(emulator.addr());
    let id = create_task(&client, &["dev001", "dev002"]).await;
    let mut status = Value::Null;
    for _ in 0..200 {
        status = describe_task(&client, "2.0.0", id).await.ok()["Status"].clone();
        if status == FirmwareTaskStatus::Finished.code() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        status,
        FirmwareTaskStatus::Finished.code(),
        "the task ended"
    );
    assert!(
        devices_of(&client, id)
            .await
            .iter()
            .all(|d| d["Status"] == FirmwareUpdateStatus::Done.code())
    );

    let reply = client
        .post(
            "UpdateOtaTaskStatus",
            &json!({"ProductId": "ABCDE12345", "TaskId": id,
                    "Status": FirmwareTaskStatus::Cancelled}),
        )
        .await;
    assert_eq!(reply.code().as_deref(), Some("InvalidParameterValue"));
    let task = describe_task(&client, "2.0.0", id).await.ok();
    assert_eq!(
        task["Status"],
        FirmwareTaskStatus::Finished.code(),
        "the task stays ended"
    );
    emulator.shutdown().await;
}

/// `DescribeFirmwareTask` names a task by product, firmware version and ID; a task of
/// another version of the product is not the one asked for.
#[tokio::test]
async fn a_task_is_described_only_under_its_own_firmware_version() {
    let emulator = start(10_000).await;
    let client = Client::demo(emulator.addr());
    let id = create_task(&client, &["dev001"]).await;
    for version in ["1.0.0", "9.9.9"] {
        let reply = describe_task(&client, version, id).await;
        assert_eq!(
            reply.code().as_deref(),
            Some("ResourceNotFound.FirmwareTaskNotExist"),
            "version {version}"
        );
    }
    let task = describe_task(&client, "2.0.0", id).await.ok();
    assert_eq!(task["TaskId"], id);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_failure_rate_of_one_fails_every_device_after_its_retries() {
    let emulator = start(10).await;
    emulator.set_progress(
        ProgressSettings::default()
            .with_step_ms(10)
            .with_failure_rate(1.0),
    );
    let client = Client::demo(emulator.addr());
    let mut body = batch(&["dev001", "dev002"]);
    body["MaxRetryNum"] = json!(2);
    let id = task_id(&client.post("BatchUpdateFirmware", &body).await.ok());
    let mut devices = Vec::new();
    for _ in 0..200 {
        devices = devices_of(&client, id).await;
        if devices
            .iter()
            .all(|d| d["Status"] == FirmwareUpdateStatus::Failed.code())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for device in &devices {
        assert_eq!(
            device["Status"],
            FirmwareUpdateStatus::Failed.code(),
            "{device}"
        );
        assert_eq!(device["RetryNum"], 2, "{device}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn firmware_can_be_listed_described_and_uploaded() {
    let emulator = start(1000).await;
    let client = Client::demo(emulator.addr());
    client
        .post("UploadFirmware", &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0",
            "Md5sum": "0123456789abcdef0123456789abcdef", "FileSize": 1024, "FirmwareName": "three"}))
        .await
        .ok();
    let reply = client
        .post("UploadFirmware", &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0",
            "Md5sum": "0123456789abcdef0123456789abcdef", "FileSize": 1024, "FirmwareName": "three"}))
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("InvalidParameterValue.FirmwareAlreadyExist")
    );
    let described = client
        .post(
            "DescribeFirmware",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0"}),
        )
        .await
        .ok();
    assert_eq!(described["Name"], "three");
    assert_eq!(described["FwType"], "mcu");
    let listed = client
        .post(
            "ListFirmwares",
            &json!({"PageNum": 1, "PageSize": 10, "ProductID": "ABCDE12345"}),
        )
        .await
        .ok();
    assert_eq!(listed["TotalCount"], 3);
    let url = client
        .post(
            "GetCOSURL",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0", "FileSize": 1024}),
        )
        .await
        .ok();
    assert!(
        url["Url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://"))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart_with_a_state_file() {
    let dir = support::temp_dir("state");
    let path = dir.path().join("state.json");
    let start_with_state = || async {
        Emulator::builder()
            .rate_limit(0)
            .progress(ProgressSettings::default().with_step_ms(10_000))
            .state_file(&path)
            .start("127.0.0.1:0")
            .await
            .expect("start")
    };
    let emulator = start_with_state().await;
    let client = Client::demo(emulator.addr());
    let first = create_task(&client, &["dev001"]).await;
    emulator.shutdown().await;

    let emulator = start_with_state().await;
    let client = Client::demo(emulator.addr());
    assert_eq!(devices_of(&client, first).await.len(), 1);
    let reply = client
        .post("BatchUpdateFirmware", &batch(&["dev001"]))
        .await;
    assert_eq!(
        reply.code().as_deref(),
        Some("FailedOperation.DeviceIsUpdating")
    );
    let second = create_task(&client, &["dev002"]).await;
    assert_eq!(second, first + 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_device_already_on_the_version_needs_no_update() {
    let emulator = start(10).await;
    let client = Client::demo(emulator.addr());
    let first = create_task(&client, &["dev001"]).await;
    for _ in 0..200 {
        if devices_of(&client, first)
            .await
            .iter()
            .all(|d| d["Status"] == FirmwareUpdateStatus::Done.code())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let again = create_task(&client, &["dev001"]).await;
    let devices = devices_of(&client, again).await;
    assert_eq!(devices[0]["Status"], FirmwareUpdateStatus::Failed.code());
    assert_eq!(devices[0]["ErrMsg"], ALREADY_CURRENT_MESSAGE);
    assert_eq!(devices[0]["OriVersion"], "2.0.0");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_device_list_pages_and_shows_current_versions() {
    let emulator = start(10).await;
    let client = Client::demo(emulator.addr());
    let page = |offset: u64, extra: Value| {
        let mut body = json!({"ProductId": "ABCDE12345", "Offset": offset, "Limit": 4});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let first = client.post("GetDeviceList", &page(0, json!({}))).await.ok();
    assert_eq!(first["Total"], 10);
    let names: Vec<&str> = first["Devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["DeviceName"].as_str())
        .collect();
    assert_eq!(names, ["dev001", "dev002", "dev003", "dev004"]);
    assert_eq!(first["Devices"][0]["Version"], "1.0.0");
    let last = client.post("GetDeviceList", &page(8, json!({}))).await.ok();
    assert_eq!(last["Devices"].as_array().map(Vec::len), Some(2));

    // After an update the device reports the new version.
    client
        .post("BatchUpdateFirmware", &batch(&["dev002"]))
        .await
        .ok();
    let mut on_new = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        on_new = client
            .post(
                "GetDeviceList",
                &page(0, json!({"FirmwareVersion": "2.0.0"})),
            )
            .await
            .ok();
        if on_new["Total"] == 1 {
            break;
        }
    }
    assert_eq!(on_new["Total"], 1);
    assert_eq!(on_new["Devices"][0]["DeviceName"], "dev002");
    assert_eq!(on_new["Devices"][0]["Version"], "2.0.0");
    let named = client
        .post("GetDeviceList", &page(0, json!({"DeviceName": "dev01"})))
        .await
        .ok();
    assert_eq!(named["Total"], 1);
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_error_names_a_huge_value_by_its_beginning_only() {
    let emulator = start(10_000).await;
    let client = Client::demo(emulator.addr());
    let huge = format!("dev{}", "x".repeat(1_000_000));
    for (action, params) in [
        ("BatchUpdateFirmware", batch(&[huge.as_str()])),
        (
            "DescribeFirmwareUpdateStatus",
            json!({"ProductId": "ABCDE12345", "DeviceName": huge}),
        ),
    ] {
        let reply = client.post(action, &params).await;
        let raw = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(
            reply.code().is_some(),
            "{action}: {}",
            &raw[..raw.len().min(200)]
        );
        assert!(
            raw.len() < 2_000,
            "{action}: an answer of {} bytes",
            raw.len()
        );
        assert!(raw.contains("devxxxx"), "{action}: {raw}");
    }
}

#[tokio::test]
async fn a_stage_time_past_the_end_of_its_type_saturates_and_the_request_is_answered() {
    // A stage stands for u64::MAX emulated seconds: the devices' times cannot be written
    // as i64 Unix seconds, and once overflowed the addition that makes them.
    let fixture = Fixture::from_json(
        r#"{"credentials": [{"secret_id": "AKIDEMULATOREXAMPLE",
                             "secret_key": "emulator-demo-secret-key-not-for-production"}],
            "products": [{"product_id": "ABCDE12345",
                          "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
                          "devices": [{"name": "dev001", "firmware_version": "1.0.0"}]}],
            "progress": {"step_ms": 1, "seconds_per_step": 18446744073709551615}}"#,
    )
    .expect("fixture");
    let emulator = Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());
    let task = create_task(&client, &["dev001"]).await;
    // Stages of a millisecond: once past its first one, the device's time is as late as
    // the answer's type can say. Polled, since a busy machine may take a while.
    let saturated = i64::MAX as u64;
    let began = std::time::Instant::now();
    loop {
        let devices = devices_of(&client, task).await;
        assert_eq!(devices.len(), 1, "{devices:?}");
        if devices[0]["LastProcessTime"].as_u64() == Some(saturated) {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "never past its first stage: {devices:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emulator.shutdown().await;
}
