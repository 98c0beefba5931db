//! Every member the emulator sends is one the model (and api.json) defines, with its type.

mod support;

use iotexplorer_emulator::{Emulator, ProgressSettings};
use iotexplorer_model::{FirmwareTaskStatus, MemberMeta, ValueType, find_action, find_structure};
use serde_json::{Value, json};
use support::Client;

fn check_members(context: &str, object: &Value, members: &[MemberMeta]) {
    let Some(fields) = object.as_object() else {
        panic!("{context}: not an object: {object}");
    };
    for (name, value) in fields {
        let member = members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{context}: `{name}` is not a member"));
        let items: Vec<&Value> = if member.list {
            value
                .as_array()
                .unwrap_or_else(|| panic!("{context}.{name}: not a list"))
                .iter()
                .collect()
        } else {
            vec![value]
        };
        for item in items {
            let fits = match member.value_type {
                ValueType::String | ValueType::Date | ValueType::DateTimeIso => item.is_string(),
                ValueType::Int64 => item.is_i64(),
                ValueType::UInt64 => item.is_u64(),
                ValueType::Float => item.is_number(),
                ValueType::Bool => item.is_boolean(),
                ValueType::Object(structure) => {
                    let meta = find_structure(structure).expect("structure");
                    check_members(&format!("{context}.{name}"), item, meta.members);
                    true
                }
                _ => true,
            };
            assert!(
                fits,
                "{context}.{name}: {item} is not {}",
                member.type_description()
            );
        }
    }
}

#[tokio::test]
async fn every_modelled_action_answers_with_the_models_members() {
    // Slow enough that the task is still under way when it is cancelled at the end.
    let emulator = Emulator::builder()
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(10_000))
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());
    let batch = client
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
            "DeviceNames": ["dev001", "dev002"], "TimeoutInterval": 300}),
        )
        .await
        .ok();
    let task = batch["TaskId"].clone();
    let calls = [
        ("BatchUpdateFirmware", batch.clone(), true),
        (
            "DescribeFirmwareTask",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "TaskId": task}),
            false,
        ),
        (
            "DescribeFirmwareTasks",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}),
            false,
        ),
        (
            "DescribeFirmwareTaskDevices",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 10}),
            false,
        ),
        (
            "DescribeFirmwareUpdateStatus",
            json!({"ProductId": "ABCDE12345", "DeviceName": "dev001"}),
            false,
        ),
        (
            "DescribeDeviceFirmWare",
            json!({"ProductId": "ABCDE12345", "DeviceName": "dev001"}),
            false,
        ),
        (
            "ListFirmwares",
            json!({"PageNum": 1, "PageSize": 10}),
            false,
        ),
        (
            "DescribeFirmware",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"}),
            false,
        ),
        (
            "UploadFirmware",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "4.0.0", "Md5sum": "0123456789abcdef0123456789abcdef", "FileSize": 10, "FirmwareName": "four"}),
            false,
        ),
        (
            "GetCOSURL",
            json!({"ProductID": "ABCDE12345", "FirmwareVersion": "4.0.0", "FileSize": 10}),
            false,
        ),
        (
            "GetDeviceList",
            json!({"ProductId": "ABCDE12345", "Offset": 0, "Limit": 5}),
            false,
        ),
        (
            "UpdateOtaTaskStatus",
            json!({"ProductId": "ABCDE12345", "TaskId": task,
                   "Status": FirmwareTaskStatus::Cancelled}),
            false,
        ),
    ];
    for (action, body, already_sent) in calls {
        let response = if already_sent {
            body
        } else {
            client.post(action, &body).await.ok()
        };
        let meta = find_action(action).expect("action");
        check_members(action, &response, meta.output);
    }
    emulator.shutdown().await;
}
