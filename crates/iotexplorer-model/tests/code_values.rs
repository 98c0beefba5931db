//! The generated code-valued types (statuses and modes) and the service's constants read
//! from the spec: unknown values are kept, numbers sent as strings are accepted, and the
//! values are stated once for validation and help.

use std::collections::HashSet;

use iotexplorer_model::{
    Action, BatchUpdateFirmwareRequest, CALLS_PER_SECOND, Constraint,
    DescribeFirmwareTaskDevicesRequest, DescribeFirmwareTaskRequest,
    DescribeFirmwareUpdateStatusRequest, FirmwareTaskStatus, FirmwareTaskType,
    FirmwareUpdateStatus, OverrideMode, UpdateOtaTaskStatusRequest, UpgradeMethod, UpgradeMode,
    WireCode, actions, decode_response, find_action, find_structure, from_value_lenient,
};
use proptest::prelude::*;
use serde_json::{Value, json};

#[test]
fn documented_update_statuses_have_their_variants() {
    let expected = [
        (0, FirmwareUpdateStatus::Offline),
        (1, FirmwareUpdateStatus::Pending),
        (2, FirmwareUpdateStatus::MessageSent),
        (3, FirmwareUpdateStatus::Downloading),
        (4, FirmwareUpdateStatus::Burning),
        (5, FirmwareUpdateStatus::Failed),
        (6, FirmwareUpdateStatus::Done),
        (7, FirmwareUpdateStatus::Processing),
        (8, FirmwareUpdateStatus::AwaitingConfirmation),
        (10, FirmwareUpdateStatus::TimedOut),
        (20, FirmwareUpdateStatus::Downloaded),
    ];
    for (code, status) in expected {
        assert_eq!(FirmwareUpdateStatus::from(code), status);
        assert_eq!(status.code(), code);
        assert_ne!(status.name(), "Unknown");
        assert!(!status.doc().is_empty());
    }
    let terminal: Vec<i64> = (-1..=30)
        .filter(|code| FirmwareUpdateStatus::from(*code).is_terminal())
        .collect();
    assert_eq!(terminal, [5, 6, 10]);
    assert_eq!(FirmwareUpdateStatus::meta().values.len(), expected.len());

    assert_eq!(FirmwareTaskStatus::Waiting.code(), 0);
    assert_eq!(FirmwareTaskStatus::Running.code(), 1);
    assert_eq!(FirmwareTaskStatus::Finished.code(), 5);
    assert_eq!(FirmwareTaskStatus::Cancelled.code(), 6);
    // A task's end: the statuses it keeps once reached.
    let ended: Vec<i64> = (-1..=30)
        .filter(|code| FirmwareTaskStatus::from(*code).is_terminal())
        .collect();
    assert_eq!(ended, [5, 6]);
    assert_eq!(UpgradeMethod::Silent.code(), 0);
    assert_eq!(UpgradeMethod::UserConfirmed.code(), 1);
    assert_eq!(OverrideMode::KeepExisting.code(), 0);
    assert_eq!(OverrideMode::Override.code(), 1);
    assert_eq!(FirmwareTaskType::Static.code(), 1);
    assert_eq!(FirmwareTaskType::Dynamic.code(), 7);
    assert_eq!(UpgradeMode::OriginalVersion.as_str(), "originalVersion");
    assert_eq!(UpgradeMode::FileName.as_str(), "filename");
    assert_eq!(UpgradeMode::DeviceNames.as_str(), "devicenames");
}

#[test]
fn an_unknown_variant_equals_and_hashes_like_the_known_one() {
    assert_eq!(FirmwareUpdateStatus::Unknown(6), FirmwareUpdateStatus::Done);
    // Predicates look at the wire value, so an unknown variant of a known code agrees too.
    assert!(FirmwareUpdateStatus::Unknown(6).is_terminal());
    let set: HashSet<FirmwareUpdateStatus> =
        [FirmwareUpdateStatus::Unknown(6), FirmwareUpdateStatus::Done]
            .into_iter()
            .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(
        UpgradeMode::Unknown("filename".to_owned()),
        UpgradeMode::FileName
    );
    assert_eq!(FirmwareUpdateStatus::Done.to_string(), "6");
    assert_eq!(UpgradeMode::FileName.to_string(), "filename");
}

#[test]
fn numbers_sent_as_strings_or_floats_are_accepted_and_others_refused() {
    let decode = |value: Value| serde_json::from_value::<FirmwareUpdateStatus>(value);
    assert_eq!(decode(json!("5")).ok(), Some(FirmwareUpdateStatus::Failed));
    assert_eq!(
        decode(json!(" 20 ")).ok(),
        Some(FirmwareUpdateStatus::Downloaded)
    );
    assert_eq!(decode(json!(6.0)).ok(), Some(FirmwareUpdateStatus::Done));
    assert_eq!(decode(json!("6.0")).ok(), Some(FirmwareUpdateStatus::Done));
    assert!(decode(json!(1.5)).is_err());
    assert!(decode(json!("one")).is_err());
    assert!(decode(json!(true)).is_err());
    assert!(decode(json!(u64::MAX)).is_err());
    assert_eq!(
        serde_json::from_value::<UpgradeMode>(json!(7)).ok(),
        Some(UpgradeMode::Unknown("7".to_owned()))
    );
}

#[test]
fn a_typed_response_decodes_statuses_from_the_wire() {
    let body = br#"{"Response": {"Total": "3", "Devices": [
        {"DeviceName": "a", "Status": "5", "TaskId": "12"},
        {"DeviceName": "b", "Status": 99},
        {"DeviceName": "c", "Status": 10.0}
    ], "RequestId": "r-1"}}"#;
    let response =
        decode_response::<DescribeFirmwareTaskDevicesRequest>(body).expect("lenient decode");
    let devices = response.devices.expect("devices");
    let statuses: Vec<Option<FirmwareUpdateStatus>> =
        devices.iter().map(|device| device.status).collect();
    assert_eq!(
        statuses,
        [
            Some(FirmwareUpdateStatus::Failed),
            Some(FirmwareUpdateStatus::Unknown(99)),
            Some(FirmwareUpdateStatus::TimedOut),
        ]
    );
    // The unknown value goes back out exactly as it came in.
    let again = serde_json::to_value(&devices[1]).expect("encode");
    assert_eq!(again["Status"], json!(99));

    let body = br#"{"Response": {"Status": "8", "Percent": 0, "RequestId": "r-2"}}"#;
    let status = decode_response::<DescribeFirmwareUpdateStatusRequest>(body).expect("decode");
    assert_eq!(
        status.status,
        Some(FirmwareUpdateStatus::AwaitingConfirmation)
    );

    let task = json!({"Status": "6", "Type": "7", "UpgradeMethod": 1, "OverrideMode": "0",
                      "UpgradeMode": "filename", "TaskId": 5});
    let task: <DescribeFirmwareTaskRequest as Action>::Response =
        from_value_lenient(task).expect("lenient decode");
    assert_eq!(task.status, Some(FirmwareTaskStatus::Cancelled));
    assert_eq!(task.r#type, Some(FirmwareTaskType::Dynamic));
    assert_eq!(task.upgrade_method, Some(UpgradeMethod::UserConfirmed));
    assert_eq!(task.override_mode, Some(OverrideMode::KeepExisting));
    assert_eq!(task.upgrade_mode, Some(UpgradeMode::FileName));
}

#[test]
fn typed_requests_carry_the_codes_and_closed_enums_validate_as_before() {
    let request = BatchUpdateFirmwareRequest::builder()
        .product_id("P")
        .firmware_version("2.0.0")
        .upgrade_method(UpgradeMethod::UserConfirmed)
        .override_mode(OverrideMode::Override)
        .r#type(FirmwareTaskType::Dynamic)
        .build()
        .expect("valid");
    assert_eq!(
        serde_json::to_value(&request).expect("encode"),
        json!({"ProductID": "P", "FirmwareVersion": "2.0.0", "UpgradeMethod": 1, "Type": 7,
               "OverrideMode": 1})
    );
    let refused = BatchUpdateFirmwareRequest::builder()
        .product_id("P")
        .firmware_version("2.0.0")
        .upgrade_method(UpgradeMethod::Unknown(2))
        .build()
        .expect_err("2 is not a documented method");
    assert_eq!(refused.violations()[0].field(), "UpgradeMethod");
    assert_eq!(refused.violations()[0].rule(), "one of 0, 1");

    // The task status is not closed: a status the spec does not list is still sent.
    let cancel = UpdateOtaTaskStatusRequest::builder()
        .product_id("P")
        .task_id(7)
        .status(FirmwareTaskStatus::Cancelled)
        .build()
        .expect("valid");
    assert_eq!(cancel.status(), Some(FirmwareTaskStatus::Cancelled));
    assert!(
        UpdateOtaTaskStatusRequest::builder()
            .product_id("P")
            .task_id(7)
            .status(FirmwareTaskStatus::Unknown(3))
            .build()
            .is_ok()
    );
}

#[test]
fn member_metadata_names_the_enum_and_states_its_values_once() {
    let batch = find_action("BatchUpdateFirmware").expect("action");
    let method = batch.input_member("UpgradeMethod").expect("member");
    let values = method.enum_meta().expect("typed member");
    assert_eq!(values.name, "UpgradeMethod");
    assert!(values.closed);
    assert_eq!(
        values.values.iter().map(|v| v.code).collect::<Vec<_>>(),
        [WireCode::Number(0), WireCode::Number(1)]
    );
    assert_eq!(method.constraints, [Constraint::OneOf(&[0, 1])]);

    let devices = find_structure("DeviceUpdateStatus").expect("structure");
    let status = devices
        .members
        .iter()
        .find(|member| member.name == "Status")
        .expect("Status");
    assert_eq!(
        status.enum_meta().map(|meta| meta.name),
        Some("FirmwareUpdateStatus")
    );
    let task = find_action("DescribeFirmwareTask").expect("action");
    let mode = task
        .output
        .iter()
        .find(|member| member.name == "UpgradeMode")
        .and_then(|member| member.enum_meta())
        .expect("typed member");
    assert_eq!(
        mode.value_of_text("devicenames").map(|value| value.name),
        Some("DeviceNames")
    );
}

#[test]
fn the_call_rate_and_page_sizes_come_from_the_spec() {
    assert_eq!(CALLS_PER_SECOND, 20);
    assert!(
        actions()
            .iter()
            .all(|meta| meta.calls_per_second() == CALLS_PER_SECOND)
    );
    let pages = |name: &str| {
        let meta = find_action(name).expect("action");
        (meta.max_page_size(), meta.default_page_size())
    };
    assert_eq!(pages("DescribeFirmwareTasks"), (Some(100), Some(20)));
    assert_eq!(pages("DescribeFirmwareTaskDevices"), (Some(100), Some(20)));
    assert_eq!(pages("GetDeviceList"), (Some(100), Some(10)));
    assert_eq!(pages("DescribeFirmware"), (None, None));
    // The page maximum informs callers; it is not a rule that refuses larger pages.
    let body = json!({"ProductID": "P", "FirmwareVersion": "2.0.0", "Limit": 1_000_000});
    assert_eq!(
        iotexplorer_model::check_request_json("DescribeFirmwareTaskDevices", &body),
        Ok(())
    );
}

proptest! {
    #[test]
    fn any_number_is_kept_and_written_back(code in any::<i64>()) {
        let status: FirmwareUpdateStatus = serde_json::from_value(json!(code)).expect("decode");
        prop_assert_eq!(status.code(), code);
        prop_assert_eq!(serde_json::to_value(status).expect("encode"), json!(code));
        let from_text: FirmwareUpdateStatus =
            serde_json::from_value(json!(code.to_string())).expect("decode text");
        prop_assert_eq!(from_text.code(), code);
        let lenient: FirmwareTaskStatus =
            from_value_lenient(json!(code.to_string())).expect("lenient decode");
        prop_assert_eq!(lenient.code(), code);
        let bytes = serde_json::to_vec(&lenient).expect("encode");
        prop_assert_eq!(bytes, code.to_string().into_bytes());
    }

    #[test]
    fn any_text_is_kept_and_written_back(text in any::<String>()) {
        let mode: UpgradeMode = serde_json::from_value(json!(text)).expect("decode");
        prop_assert_eq!(mode.as_str(), text.as_str());
        prop_assert_eq!(serde_json::to_value(&mode).expect("encode"), json!(text));
        let lenient: UpgradeMode = from_value_lenient(json!(text)).expect("lenient decode");
        prop_assert_eq!(lenient, mode);
    }

    #[test]
    fn decoding_any_json_scalar_never_panics(value in prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]) {
        let _ = serde_json::from_value::<FirmwareUpdateStatus>(value.clone());
        let _ = from_value_lenient::<FirmwareUpdateStatus>(value.clone());
        let _ = serde_json::from_value::<UpgradeMode>(value);
    }
}
