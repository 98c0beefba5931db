//! The model as a whole: every action's types and metadata, the response envelope, error
//! codes, and generic request checking.

use iotexplorer_model::{
    Action, ApiError, DecodeError, DescribeFirmwareTaskRequest, ErrorCode, FirmwareTaskType,
    MemberMeta, ValueType, ViolationKind, check_request_json, decode_response,
    decode_response_value, find_action, find_structure,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// `(name, read_only, errors, meta name)` of every action, through its `Action` impl.
fn action_impls() -> Vec<(&'static str, bool, &'static [&'static str], &'static str)> {
    macro_rules! collect {
        ($($name:ident => $request:ty, $response:ty;)*) => {
            vec![$((
                <$request as Action>::NAME,
                <$request as Action>::READ_ONLY,
                <$request as Action>::ERRORS,
                <$request as Action>::meta().name,
            )),*]
        };
    }
    iotexplorer_model::for_each_action!(collect)
}

/// Decodes a request body as the typed request of `action`, validates it and encodes it again.
fn typed_round_trip(action: &str, body: &Value) -> Result<Value, String> {
    fn round_trip<R: Action + serde::de::DeserializeOwned>(body: &Value) -> Result<Value, String> {
        let request: R = serde_json::from_value(body.clone()).map_err(|err| err.to_string())?;
        request.validate().map_err(|err| err.to_string())?;
        serde_json::to_value(&request).map_err(|err| err.to_string())
    }
    macro_rules! dispatch {
        ($($name:ident => $request:ty, $response:ty;)*) => {
            match action {
                $(stringify!($name) => round_trip::<$request>(body),)*
                other => Err(format!("no action {other}")),
            }
        };
    }
    iotexplorer_model::for_each_action!(dispatch)
}

/// Decodes `body` as the response of every action; must never panic.
fn decode_as_every_response(body: &[u8]) {
    macro_rules! decode_all {
        ($($name:ident => $request:ty, $response:ty;)*) => {
            $(let _ = decode_response::<$request>(body);)*
        };
    }
    iotexplorer_model::for_each_action!(decode_all);
}

#[test]
fn there_are_268_actions_sorted_and_reachable_by_name() {
    let actions = iotexplorer_model::actions();
    assert_eq!(actions.len(), 268);
    assert!(actions.windows(2).all(|pair| pair[0].name < pair[1].name));
    for action in actions {
        assert_eq!(
            find_action(action.name).map(|found| found.name),
            Some(action.name)
        );
        assert_eq!(
            action.output.last().map(|m| m.name),
            Some("RequestId"),
            "{}",
            action.name
        );
    }
    assert!(find_action("batchupdatefirmware").is_none());
    assert!(find_structure("SearchKeyword").is_some());
}

/// The checks take a member's place in its list by its name: no list names one twice.
#[test]
fn no_member_list_names_a_member_twice() {
    let lists = iotexplorer_model::actions()
        .iter()
        .flat_map(|action| [(action.name, action.input), (action.name, action.output)])
        .chain(
            iotexplorer_model::structures()
                .iter()
                .map(|structure| (structure.name, structure.members)),
        );
    let mut checked = 0;
    for (owner, members) in lists {
        let mut names: Vec<&str> = members.iter().map(|member| member.name).collect();
        names.sort_unstable();
        let twice = names.windows(2).find(|pair| pair[0] == pair[1]);
        assert!(twice.is_none(), "{owner} names {twice:?} twice");
        checked += 1;
    }
    assert!(checked > 2 * 268, "{checked} lists");
}

#[test]
fn action_impls_agree_with_metadata() {
    let impls = action_impls();
    assert_eq!(impls.len(), 268);
    for (name, read_only, errors, meta_name) in impls {
        let meta = find_action(name).expect("metadata for every impl");
        assert_eq!(meta_name, name);
        assert_eq!(meta.read_only, read_only, "{name}");
        assert_eq!(meta.errors, errors, "{name}");
    }
}

#[test]
fn read_only_follows_the_verb_unless_overridden() {
    for action in iotexplorer_model::actions() {
        // The overlay marks the `Search*` queries read-only too.
        let by_verb = ["Describe", "List", "Get", "Check", "Search"]
            .iter()
            .any(|verb| {
                action
                    .name
                    .strip_prefix(verb)
                    .is_some_and(|rest| rest.starts_with(char::is_uppercase))
            });
        assert_eq!(action.read_only, by_verb, "{}", action.name);
    }
    const { assert!(DescribeFirmwareTaskRequest::READ_ONLY) };
}

#[test]
fn firmware_actions_are_documented_in_english() {
    let family = [
        "BatchUpdateFirmware",
        "CheckFirmwareUpdate",
        "CreateOtaModule",
        "DeleteOtaModule",
        "DescribeDeviceFirmWare",
        "DescribeDeviceFirmwares",
        "DescribeFirmware",
        "DescribeFirmwareTask",
        "DescribeFirmwareTaskDevices",
        "DescribeFirmwareTasks",
        "DescribeFirmwareUpdateStatus",
        "GetCOSURL",
        "ListFirmwares",
        "ListOtaModules",
        "ListProductOtaModules",
        "PublishFirmwareUpdateMessage",
        "UpdateFirmware",
        "UpdateOtaModule",
        "UpdateOtaTaskStatus",
        "UploadFirmware",
    ];
    for name in family {
        let action = find_action(name).expect("firmware action exists");
        assert!(!action.doc.is_empty(), "{name} has no doc");
        for member in action.input {
            assert!(!member.doc.is_empty(), "{name}.{} has no doc", member.name);
            assert!(
                member.doc.is_ascii(),
                "{name}.{} doc is not English",
                member.name
            );
        }
    }
}

#[test]
fn metadata_describes_members_for_a_front_end() {
    let action = find_action("BatchUpdateFirmware").expect("exists");
    let timeout = action.input_member("TimeoutInterval").expect("member");
    assert_eq!(timeout.value_type, ValueType::UInt64);
    assert_eq!(timeout.type_description(), "uint64");
    assert_eq!(timeout.constraint_description(), "between 120 and 900");
    let names = action.input_member("DeviceNames").expect("member");
    assert_eq!(names.type_description(), "list of string");
    assert!(action.input_member("ProductID").is_some_and(|m| m.required));
    let filters = find_action("DescribeFirmwareTasks").and_then(|a| a.input_member("Filters"));
    assert_eq!(
        filters.map(MemberMeta::type_description).as_deref(),
        Some("list of SearchKeyword")
    );
    assert!(
        action
            .error_codes()
            .any(|code| code == ErrorCode::InvalidParameterValue)
    );
}

/// A value meeting the member's type and rules, for building minimal valid requests.
fn sample(member: &MemberMeta) -> Value {
    use iotexplorer_model::Constraint;
    let one = match member.value_type {
        ValueType::Object(name) => {
            let structure = find_structure(name).expect("structure exists");
            let fields = structure
                .members
                .iter()
                .filter(|m| m.required)
                .map(|m| (m.name.to_owned(), sample(m)));
            Value::Object(fields.collect())
        }
        ValueType::Float => json!(1.5),
        ValueType::Int64 | ValueType::UInt64 => {
            let chosen = member.constraints.iter().find_map(|c| match c {
                Constraint::OneOf(values) => values.first().copied(),
                Constraint::Range { min, .. } => min.map(|m| m.max(1)),
                _ => None,
            });
            json!(chosen.unwrap_or(1))
        }
        ValueType::Bool => json!(true),
        _ => {
            let length = member.constraints.iter().find_map(|c| match c {
                Constraint::Length { min, .. } => *min,
                _ => None,
            });
            if member.constraints.contains(&Constraint::JsonText) {
                json!("{}")
            } else {
                json!("0".repeat(usize::try_from(length.unwrap_or(1)).expect("small")))
            }
        }
    };
    if member.list { json!([one]) } else { one }
}

#[test]
fn every_action_accepts_its_required_members_and_rejects_empty_required_strings() {
    for action in iotexplorer_model::actions() {
        let required: Vec<&MemberMeta> = action.input.iter().filter(|m| m.required).collect();
        let body: serde_json::Map<String, Value> = required
            .iter()
            .map(|m| (m.name.to_owned(), sample(m)))
            .collect();
        assert_eq!(
            check_request_json(action.name, &Value::Object(body.clone())),
            Ok(()),
            "{}",
            action.name
        );
        // The typed request agrees with the dynamic check and keeps the wire form.
        let again = typed_round_trip(action.name, &Value::Object(body.clone()));
        assert_eq!(again, Ok(Value::Object(body.clone())), "{}", action.name);
        for member in required
            .iter()
            .filter(|m| m.value_type == ValueType::String && !m.list)
        {
            let mut emptied = body.clone();
            emptied.insert(member.name.to_owned(), json!(""));
            let problems = check_request_json(action.name, &Value::Object(emptied))
                .expect_err("empty required string");
            assert_eq!(
                problems.error_code(),
                ErrorCode::InvalidParameterValue,
                "{}.{}",
                action.name,
                member.name
            );
        }
        if let Some(member) = required.first() {
            let mut missing = body.clone();
            missing.remove(member.name);
            let problems =
                check_request_json(action.name, &Value::Object(missing)).expect_err("missing");
            assert_eq!(
                problems.error_code(),
                ErrorCode::MissingParameter,
                "{}",
                action.name
            );
        }
    }
}

#[test]
fn firmware_family_rules() {
    let reject = |action: &str, body: Value, field: &str| {
        let problems = check_request_json(action, &body).expect_err("must be rejected");
        let iotexplorer_model::RequestProblems::Invalid(errors) = problems else {
            panic!("{problems}")
        };
        assert!(
            errors.violations().iter().any(|v| v.field() == field),
            "{action}: {errors}"
        );
    };
    reject(
        "DescribeFirmwareTasks",
        json!({"ProductID": "P", "FirmwareVersion": "1", "Offset": 0, "Limit": 0}),
        "Limit",
    );
    reject(
        "DescribeFirmwareTaskDevices",
        json!({"ProductID": "P", "FirmwareVersion": "1", "FwType": ""}),
        "FwType",
    );
    reject(
        "DescribeFirmwareTask",
        json!({"ProductID": "P", "FirmwareVersion": "1", "TaskId": 0}),
        "TaskId",
    );
    reject(
        "ListFirmwares",
        json!({"PageNum": 0, "PageSize": 10}),
        "PageNum",
    );
    reject(
        "UpdateOtaTaskStatus",
        json!({"ProductId": "P", "TaskId": 1, "Status": -1}),
        "Status",
    );
    reject(
        "UpdateFirmware",
        json!({"ProductID": "P", "DeviceName": "d", "FirmwareVersion": "2", "FirmwareOriVersion": "1", "UpgradeMethod": 2}),
        "UpgradeMethod",
    );
    reject(
        "UploadFirmware",
        json!({"ProductID": "P", "FirmwareVersion": "1", "Md5sum": "hfshfspodkoiwuidoiwjcuie", "FileSize": 1}),
        "Md5sum",
    );
    reject(
        "UploadFirmware",
        json!({"ProductID": "P", "FirmwareVersion": "1", "Md5sum": "0".repeat(32), "FileSize": 1, "FirmwareUserDefined": "{"}),
        "FirmwareUserDefined",
    );
    let valid = json!({"ProductID": "P", "FirmwareVersion": "1", "Md5sum": "608afe29a06b19d3033c5f8787ec75fa", "FileSize": 1024, "FwType": "mcu"});
    assert_eq!(check_request_json("UploadFirmware", &valid), Ok(()));
}

#[test]
fn responses_decode_leniently() {
    let body = br#"{"Response": {"TaskId": "42", "Status": null, "Type": 7.0, "Surprise": [1], "RequestId": "r-1"}}"#;
    let response = decode_response::<DescribeFirmwareTaskRequest>(body).expect("lenient decode");
    assert_eq!(response.task_id, Some(42));
    assert_eq!(response.status, None);
    assert_eq!(response.r#type, Some(FirmwareTaskType::Dynamic));
    assert_eq!(response.request_id.as_deref(), Some("r-1"));
}

#[test]
fn the_envelope_separates_api_errors_from_malformed_bodies() {
    let error = br#"{"Response": {"Error": {"Code": "ResourceNotFound.FirmwareNotExist", "Message": "no"}, "RequestId": "r-9"}}"#;
    match decode_response::<DescribeFirmwareTaskRequest>(error) {
        Err(DecodeError::Api(api)) => {
            assert_eq!(api.code, ErrorCode::ResourceNotFoundFirmwareNotExist);
            assert_eq!(api.message, "no");
            assert_eq!(api.request_id.as_deref(), Some("r-9"));
            let again = api.to_envelope();
            assert_eq!(again, serde_json::from_slice::<Value>(error).expect("JSON"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let wrong = br#"{"Response": {"TaskId": "not a number", "RequestId": "r-3"}}"#;
    let malformed = decode_response::<DescribeFirmwareTaskRequest>(wrong).expect_err("bad TaskId");
    assert!(matches!(malformed, DecodeError::Malformed { .. }));
    assert_eq!(malformed.request_id(), Some("r-3"));
    for body in [
        &b"<html>proxy</html>"[..],
        b"{\"Response\": 1}",
        b"[]",
        b"{\"Respon",
        b"{\"Response\": {\"Error\": {}}}",
    ] {
        let result = decode_response_value(body);
        assert!(
            matches!(result, Err(DecodeError::Malformed { .. })),
            "{result:?}"
        );
    }
    let built = ApiError::new("InternalError", "boom")
        .with_request_id("r-5")
        .to_envelope();
    assert_eq!(
        built,
        json!({"Response": {"Error": {"Code": "InternalError", "Message": "boom"}, "RequestId": "r-5"}})
    );
}

#[test]
fn error_codes_parse_print_and_classify() {
    assert!(ErrorCode::KNOWN.len() > 271);
    for common in [
        "AuthFailure.SignatureExpire",
        "AuthFailure.SecretIdNotFound",
        "InvalidAction",
        "MissingParameter",
        "UnknownParameter",
        "NoSuchVersion",
        "RequestSizeLimitExceeded",
        "RequestLimitExceeded.IPLimitExceeded",
        "ServiceUnavailable",
        "UnsupportedRegion",
    ] {
        assert!(ErrorCode::KNOWN.contains(&common), "{common}");
    }
    for code in ErrorCode::KNOWN {
        let parsed: ErrorCode = code
            .parse()
            .unwrap_or_else(|never: std::convert::Infallible| match never {});
        assert!(!matches!(parsed, ErrorCode::Unknown(_)), "{code}");
        assert_eq!(parsed.as_str(), *code);
        assert_eq!(parsed.to_string(), *code);
    }
    let unseen = ErrorCode::from("FailedOperation.SomethingNew");
    assert!(
        matches!(&unseen, ErrorCode::Unknown(raw) if raw.as_str() == "FailedOperation.SomethingNew")
    );
    assert_eq!(unseen.as_str(), "FailedOperation.SomethingNew");
    assert_eq!(
        serde_json::to_value(&unseen).expect("serialise"),
        json!("FailedOperation.SomethingNew")
    );

    assert!(ErrorCode::RequestLimitExceeded.is_throttling());
    assert!(ErrorCode::RequestLimitExceededUinLimitExceeded.is_throttling());
    assert!(ErrorCode::from("RequestLimitExceeded.Brand.New").is_throttling());
    assert!(!ErrorCode::LimitExceeded.is_throttling());
    assert!(ErrorCode::AuthFailureSignatureExpire.is_auth());
    assert!(!ErrorCode::UnauthorizedOperation.is_auth());

    assert!(ErrorCode::RequestLimitExceeded.is_retryable_for(false));
    assert!(ErrorCode::InternalError.is_retryable_for(true));
    assert!(!ErrorCode::InternalError.is_retryable_for(false));
    assert!(!ErrorCode::from("InternalError.DBOpertaionError").is_retryable_for(false));
    assert!(!ErrorCode::InvalidParameterValue.is_retryable_for(true));
    assert!(!ErrorCode::AuthFailureSignatureFailure.is_retryable_for(true));
}

#[test]
fn violation_kinds_map_to_api_codes() {
    assert_eq!(
        ViolationKind::UnknownMember.error_code(),
        ErrorCode::UnknownParameter
    );
    assert_eq!(
        ViolationKind::MissingMember.error_code(),
        ErrorCode::MissingParameter
    );
    assert_eq!(
        ViolationKind::WrongType.error_code(),
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        ViolationKind::InvalidValue.error_code(),
        ErrorCode::InvalidParameterValue
    );
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9 .]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("RequestId".to_owned()),
                    Just("TaskId".to_owned()),
                    Just("Error".to_owned()),
                    "[A-Z][a-z]{0,6}"
                ],
                inner,
                0..4,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        decode_as_every_response(&bytes);
    }

    #[test]
    fn decoding_arbitrary_envelopes_never_panics(inner in any_json()) {
        let body = serde_json::to_vec(&json!({"Response": inner})).expect("render");
        decode_as_every_response(&body);
        let _ = decode_response_value(&body);
    }

    #[test]
    fn checking_arbitrary_json_never_panics(body in any_json(), index in 0usize..268) {
        let action = iotexplorer_model::actions()[index];
        let _ = check_request_json(action.name, &body);
    }
}

/// Architecture invariant: the model does no I/O and knows nothing of HTTP.
#[test]
fn the_model_does_no_io_and_knows_no_http() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut pending = vec![src];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            for forbidden in [
                "std::fs",
                "std::net",
                "std::io",
                "std::process",
                "hyper",
                "tokio",
                "tc3_sign",
            ] {
                assert!(
                    !text.contains(forbidden),
                    "{} mentions {forbidden}",
                    path.display()
                );
            }
            files += 1;
        }
    }
    assert!(files > 10);
}
