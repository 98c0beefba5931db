//! `BatchUpdateFirmware` in depth: wire form, round trips and every documented rule at its
//! boundaries.

use iotexplorer_model::{
    Action, BatchUpdateFirmwareRequest, BatchUpdateFirmwareRequestBuilder, ErrorCode,
    FirmwareTaskType, OverrideMode, UpgradeMethod, ValidationErrors, ViolationKind,
    check_request_json,
};
use proptest::prelude::*;
use serde_json::json;

fn minimal() -> BatchUpdateFirmwareRequestBuilder {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
}

/// The fields named by the violations, in order.
fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.violations().iter().map(|v| v.field()).collect()
}

#[test]
fn serialises_to_the_exact_wire_form() {
    let request = minimal()
        .upgrade_method(1)
        .r#type(7)
        .device_names("dev001")
        .device_names("dev002")
        .file_name("devices.csv")
        .file_md5("608afe29a06b19d3033c5f8787ec75fa")
        .file_size(120)
        .task_user_define(r#"{"key":"value"}"#)
        .start_time(1_791_206_400)
        .end_time(1_791_811_200)
        .build()
        .expect("valid request");
    assert_eq!(
        serde_json::to_value(&request).expect("serialise"),
        json!({
            "ProductID": "ABCDE12345",
            "FirmwareVersion": "2.0.0",
            "UpgradeMethod": 1,
            "FileName": "devices.csv",
            "FileMd5": "608afe29a06b19d3033c5f8787ec75fa",
            "FileSize": 120,
            "DeviceNames": ["dev001", "dev002"],
            "Type": 7,
            "TaskUserDefine": "{\"key\":\"value\"}",
            "EndTime": 1_791_811_200,
            "StartTime": 1_791_206_400,
        })
    );
    assert_eq!(
        serde_json::to_string(&minimal().build().expect("valid")).expect("serialise"),
        r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0"}"#
    );
}

#[test]
fn action_constants_describe_the_action() {
    assert_eq!(BatchUpdateFirmwareRequest::NAME, "BatchUpdateFirmware");
    assert_eq!(BatchUpdateFirmwareRequest::VERSION, "2019-04-23");
    assert_eq!(BatchUpdateFirmwareRequest::SERVICE, "iotexplorer");
    const { assert!(!BatchUpdateFirmwareRequest::READ_ONLY) };
    assert!(BatchUpdateFirmwareRequest::ERRORS.contains(&"FailedOperation.DeviceIsUpdating"));
    assert!(BatchUpdateFirmwareRequest::ERRORS.contains(&"InternalError.DBOpertaionError"));
    assert_eq!(
        BatchUpdateFirmwareRequest::meta().name,
        "BatchUpdateFirmware"
    );
}

#[test]
fn required_members_must_be_present_and_non_empty() {
    let errors = BatchUpdateFirmwareRequest::builder()
        .build()
        .expect_err("nothing set");
    assert_eq!(fields(&errors), ["ProductID", "FirmwareVersion"]);
    assert!(
        errors
            .violations()
            .iter()
            .all(|v| v.kind() == ViolationKind::MissingMember)
    );

    let errors = BatchUpdateFirmwareRequest::builder()
        .product_id("")
        .firmware_version("")
        .build()
        .expect_err("empty strings");
    assert_eq!(fields(&errors), ["ProductID", "FirmwareVersion"]);
    assert_eq!(errors.violations()[0].value(), Some("\"\""));
    assert_eq!(errors.violations()[0].rule(), "not empty");
}

#[test]
fn every_violation_is_reported_at_once_with_field_value_and_rule() {
    let errors = minimal()
        .timeout_interval(901)
        .upgrade_method(2)
        .r#type(3)
        .override_mode(5)
        .delay_time(-1)
        .file_md5("XYZ")
        .device_names("a")
        .device_names("")
        .device_names("a")
        .task_user_define("{not json")
        .start_time(20)
        .end_time(10)
        .build()
        .expect_err("many violations");
    let text = errors.to_string();
    for expected in [
        "TimeoutInterval = 901: breaks rule \"between 120 and 900\"",
        "UpgradeMethod = 2: breaks rule \"one of 0, 1\"",
        "Type = 3: breaks rule \"one of 1, 7\"",
        "OverrideMode = 5",
        "DelayTime = -1: breaks rule \"at least 0\"",
        "FileMd5 = \"XYZ\": breaks rule \"exactly 32 characters\"",
        "FileMd5 = \"XYZ\": breaks rule \"hexadecimal digits only\"",
        "FileName: breaks rule \"set together with FileName, FileMd5, FileSize\"",
        "FileSize: breaks rule",
        "DeviceNames[1] = \"\": breaks rule \"no empty items\"",
        "DeviceNames[2] = \"a\": breaks rule \"no duplicate items\"",
        "TaskUserDefine = \"{not json\": breaks rule \"valid JSON text\"",
        "EndTime = 10: breaks rule \"greater than StartTime (20)\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert_eq!(errors.violations().len(), 13, "{text}");
    assert_eq!(errors.error_code(), ErrorCode::MissingParameter);
}

#[test]
fn named_boundaries() {
    let timeout = |value: u64| minimal().timeout_interval(value).build().is_ok();
    assert!(!timeout(119));
    assert!(timeout(120));
    assert!(timeout(900));
    assert!(!timeout(901));
    let method = |value: i64| minimal().upgrade_method(value).build().is_ok();
    assert!(method(0) && method(1) && !method(2));
    let kind = |value: i64| minimal().r#type(value).build().is_ok();
    assert!(kind(1) && kind(7) && !kind(0) && !kind(2) && !kind(8));
    let md5 = |value: &str| {
        minimal()
            .file_name("f")
            .file_size(1)
            .file_md5(value)
            .build()
            .is_ok()
    };
    assert!(!md5(&"a".repeat(31)));
    assert!(md5(&"a".repeat(32)));
    assert!(!md5(&"a".repeat(33)));
    assert!(!md5(&format!("{}g", "a".repeat(31))));
    assert!(md5("608AFE29A06B19D3033C5F8787EC75FA"));
}

#[test]
fn raw_json_is_classified_for_a_server() {
    let unknown = json!({"ProductID": "P", "FirmwareVersion": "1", "Colour": "red"});
    let problems = check_request_json("BatchUpdateFirmware", &unknown).expect_err("unknown member");
    assert_eq!(problems.error_code(), ErrorCode::UnknownParameter);

    let wrong_type = json!({"ProductID": "P", "FirmwareVersion": "1", "TimeoutInterval": "300"});
    let problems =
        check_request_json("BatchUpdateFirmware", &wrong_type).expect_err("string for integer");
    assert_eq!(problems.error_code(), ErrorCode::InvalidParameter);

    let negative = json!({"ProductID": "P", "FirmwareVersion": "1", "RetryInterval": -1});
    let problems =
        check_request_json("BatchUpdateFirmware", &negative).expect_err("negative uint64");
    assert_eq!(problems.error_code(), ErrorCode::InvalidParameter);

    let bad_value = json!({"ProductID": "P", "FirmwareVersion": "1", "TimeoutInterval": 60});
    let problems = check_request_json("BatchUpdateFirmware", &bad_value).expect_err("out of range");
    assert_eq!(problems.error_code(), ErrorCode::InvalidParameterValue);

    let missing = json!({"ProductID": "P"});
    let problems = check_request_json("BatchUpdateFirmware", &missing).expect_err("missing member");
    assert_eq!(problems.error_code(), ErrorCode::MissingParameter);

    let problems =
        check_request_json("BatchUpdateFirmware", &json!([1])).expect_err("not an object");
    assert_eq!(problems.error_code(), ErrorCode::InvalidParameter);
    assert!(
        problems
            .to_string()
            .starts_with("1 invalid member: (request body) = [1]"),
        "{problems}"
    );

    let problems = check_request_json("NoSuchAction", &json!({})).expect_err("unknown action");
    assert_eq!(problems.error_code(), ErrorCode::InvalidAction);

    let nested = json!({"ProductID": "P", "FirmwareVersion": "1", "Filters": [{"Value": "x"}]});
    let problems = check_request_json("DescribeFirmwareTasks", &nested).expect_err("nested");
    let text = problems.to_string();
    assert!(
        text.contains("Filters[0].Key: breaks rule \"required\""),
        "{text}"
    );

    assert_eq!(
        check_request_json(
            "BatchUpdateFirmware",
            &json!({"ProductID": "P", "FirmwareVersion": "1"})
        ),
        Ok(())
    );
}

/// Any request the documentation allows.
fn valid_request() -> impl Strategy<Value = BatchUpdateFirmwareRequest> {
    let file = prop::option::of(("[a-z]{1,8}\\.csv", "[0-9a-fA-F]{32}", any::<u64>()));
    let names = prop::collection::btree_set("[a-z0-9_]{1,12}", 0..6);
    let user_define = prop::option::of(prop::collection::btree_map(
        "[a-z]{1,5}",
        "[a-z ]{0,5}",
        0..3,
    ));
    let times = prop_oneof![
        Just((0i64, 0i64)),
        (0i64..1_000_000, 1i64..1_000_000).prop_map(|(a, d)| (a, a + d))
    ];
    (
        (
            "[A-Z0-9]{1,10}",
            "[0-9]\\.[0-9]\\.[0-9]",
            prop::option::of("[0-9]\\.[0-9]"),
        ),
        (
            prop::option::of(0i64..=1),
            prop::option::of(120u64..=900),
            prop::option::of(prop_oneof![Just(1), Just(7)]),
        ),
        (
            prop::option::of(0i64..i64::MAX),
            prop::option::of(0i64..=1),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
        ),
        (
            file,
            names,
            user_define,
            prop::option::of(0i64..100_000),
            times,
        ),
    )
        .prop_map(|(ids, modes, numbers, rest)| {
            let (product, version, original) = ids;
            let (method, timeout, kind) = modes;
            let (delay, override_mode, retries, retry_interval) = numbers;
            let (file, names, user_define, rate, (start, end)) = rest;
            let (file_name, file_md5, file_size) = match file {
                Some((name, md5, size)) => (Some(name), Some(md5), Some(size)),
                None => (None, None, None),
            };
            let user_define =
                user_define.map(|map| serde_json::to_string(&map).expect("render JSON"));
            BatchUpdateFirmwareRequest::builder()
                .product_id(product)
                .firmware_version(version)
                .set_firmware_ori_version(original)
                .set_upgrade_method(method.map(UpgradeMethod::from))
                .set_timeout_interval(timeout)
                .set_type(kind.map(FirmwareTaskType::from))
                .set_delay_time(delay)
                .set_override_mode(override_mode.map(OverrideMode::from))
                .set_max_retry_num(retries)
                .set_retry_interval(retry_interval)
                .set_file_name(file_name)
                .set_file_md5(file_md5)
                .set_file_size(file_size)
                .set_device_names(Some(names.into_iter().collect()))
                .set_task_user_define(user_define)
                .set_rate_limit(rate)
                .set_start_time(Some(start))
                .set_end_time(Some(end))
                .build()
                .expect("the strategy only makes valid requests")
        })
}

proptest! {
    #[test]
    fn valid_requests_round_trip_through_json(request in valid_request()) {
        let text = serde_json::to_string(&request).expect("serialise");
        let back: BatchUpdateFirmwareRequest = serde_json::from_str(&text).expect("deserialise");
        prop_assert_eq!(&back, &request);
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        prop_assert_eq!(check_request_json("BatchUpdateFirmware", &value), Ok(()));
    }

    #[test]
    fn timeout_interval_is_accepted_exactly_from_120_to_900(value in prop_oneof![0u64..2000, Just(u64::MAX)]) {
        let accepted = minimal().timeout_interval(value).build().is_ok();
        prop_assert_eq!(accepted, (120..=900).contains(&value));
    }

    #[test]
    fn upgrade_and_override_modes_are_zero_or_one(method in -3i64..6, mode in -3i64..6) {
        prop_assert_eq!(minimal().upgrade_method(method).build().is_ok(), (0..=1).contains(&method));
        prop_assert_eq!(minimal().override_mode(mode).build().is_ok(), (0..=1).contains(&mode));
    }

    #[test]
    fn task_type_is_one_or_seven(kind in -20i64..20) {
        prop_assert_eq!(minimal().r#type(kind).build().is_ok(), kind == 1 || kind == 7);
    }

    #[test]
    fn file_md5_is_exactly_32_hex_digits(md5 in "[0-9a-fA-Fg-z]{28,36}") {
        let accepted = minimal().file_name("f").file_size(1).file_md5(md5.clone()).build().is_ok();
        prop_assert_eq!(accepted, md5.len() == 32 && md5.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn file_members_are_set_together_or_not_at_all(name: bool, md5: bool, size: bool) {
        let request = minimal()
            .set_file_name(name.then(|| "devices.csv".to_owned()))
            .set_file_md5(md5.then(|| "0".repeat(32)))
            .set_file_size(size.then_some(10))
            .build();
        let all_or_none = (name && md5 && size) || !(name || md5 || size);
        prop_assert_eq!(request.is_ok(), all_or_none);
        if let Err(errors) = request {
            let set = [name, md5, size].iter().filter(|s| **s).count();
            prop_assert_eq!(errors.violations().len(), 3 - set);
        }
    }

    #[test]
    fn non_negative_numbers(delay in -3i64..3, rate in -3i64..3, start in -3i64..3) {
        prop_assert_eq!(minimal().delay_time(delay).build().is_ok(), delay >= 0);
        prop_assert_eq!(minimal().rate_limit(rate).build().is_ok(), rate >= 0);
        prop_assert_eq!(minimal().start_time(start).build().is_ok(), start >= 0);
    }

    #[test]
    fn start_time_precedes_end_time_when_both_are_set(start in 0i64..50, end in 0i64..50) {
        let accepted = minimal().start_time(start).end_time(end).build().is_ok();
        prop_assert_eq!(accepted, start == 0 || end == 0 || start < end);
    }

    #[test]
    fn device_names_reject_empty_and_duplicate_names(names in prop::collection::vec("[ab]{0,1}", 0..6)) {
        let request = minimal().set_device_names(Some(names.clone())).build();
        let empty = names.iter().filter(|n| n.is_empty()).count();
        let duplicates = (0..names.len()).filter(|&i| names[..i].contains(&names[i])).count();
        match request {
            Ok(_) => prop_assert_eq!(empty + duplicates, 0),
            Err(errors) => prop_assert_eq!(errors.violations().len(), empty + duplicates),
        }
    }

    #[test]
    fn task_user_define_must_be_json_text(text in prop_oneof![
        Just("{\"key\":\"value\"}".to_owned()),
        Just("[1,2]".to_owned()),
        "[a-z{}:\"]{0,10}",
    ]) {
        let accepted = minimal().task_user_define(text.clone()).build().is_ok();
        prop_assert_eq!(accepted, serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }
}
