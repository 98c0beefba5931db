//! The typed client decodes answers with the model's lenient rules, against a real server
//! on 127.0.0.1 that sends every numeric output member of the firmware family as a string
//! (Tencent's backends do: `"TaskId":"1000696"`).

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use iotexplorer_http::{Client, Error};
use iotexplorer_model::{
    Action, BatchUpdateFirmwareRequest, CheckFirmwareUpdateRequest, DescribeDeviceFirmwaresRequest,
    DescribeFirmwareRequest, DescribeFirmwareTaskDevicesRequest, DescribeFirmwareTaskRequest,
    DescribeFirmwareTasksRequest, DescribeFirmwareUpdateStatusRequest, ListFirmwaresRequest,
    ListOtaModulesRequest, MemberMeta, ValueType, find_action, find_structure,
};
use iotexplorer_model::{ActionMeta, Constraint};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use support::{TestServer, builder, ok};

/// Structures of the catalogue nest a few levels only.
const MAX_DEPTH: usize = 6;

/// A `Response` object holding every member in `members`, each with its own value: integers
/// floats and booleans as JSON scalars, or as strings when `numbers_as_text`. Lists hold
/// two items.
fn answer(members: &[MemberMeta], next: &mut u64, numbers_as_text: bool, depth: usize) -> Value {
    let mut fields = Map::new();
    for member in members {
        let mut one = || -> Value {
            *next += 1;
            let number = *next;
            match member.value_type {
                ValueType::Int64 | ValueType::UInt64 if numbers_as_text => {
                    Value::from(number.to_string())
                }
                ValueType::Int64 | ValueType::UInt64 => Value::from(number),
                ValueType::Float if numbers_as_text => Value::from(format!("{number}.5")),
                ValueType::Float => Value::from(number as f64 + 0.5),
                ValueType::Bool if numbers_as_text => {
                    Value::from(number.is_multiple_of(2).to_string())
                }
                ValueType::Bool => Value::from(number.is_multiple_of(2)),
                ValueType::Object(name) => match find_structure(name) {
                    Some(structure) if depth < MAX_DEPTH => {
                        answer(structure.members, next, numbers_as_text, depth + 1)
                    }
                    _ => Value::Object(Map::new()),
                },
                _ => Value::from(format!("{}-{number}", member.name)),
            }
        };
        let value = if member.list {
            Value::Array(vec![one(), one()])
        } else {
            one()
        };
        fields.insert(member.name.to_owned(), value);
    }
    Value::Object(fields)
}

/// The answer to `action`, numbers as strings or as numbers.
fn answer_for(action: &str, numbers_as_text: bool) -> Value {
    let meta = find_action(action).unwrap();
    answer(meta.output, &mut 0, numbers_as_text, 0)
}

/// Counts the members of `value` that are JSON numbers, nested ones included.
fn numbers_in(value: &Value) -> usize {
    match value {
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(numbers_in).sum(),
        Value::Object(fields) => fields.values().map(numbers_in).sum(),
        _ => 0,
    }
}

/// A server that answers every action with all of its numbers as strings.
async fn stringly_server() -> TestServer {
    TestServer::start(|_, arrival| {
        let action = arrival.header("x-tc-action").unwrap_or_default().to_owned();
        ok(answer_for(&action, true))
    })
    .await
}

/// Calls `A` through the typed client and checks that every member came back as the
/// number it was sent as text.
async fn assert_typed_numbers<A: Action>(client: &Client, request: &A) -> A::Response {
    let response = client
        .send(request)
        .await
        .unwrap_or_else(|err| panic!("{}: {err:?}", A::NAME));
    let expected = answer_for(A::NAME, false);
    assert!(numbers_in(&expected) > 0, "{}: no numeric member", A::NAME);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        expected,
        "{}",
        A::NAME
    );
    response
}

#[tokio::test]
async fn the_typed_client_reads_numbers_sent_as_strings() {
    let server = stringly_server().await;
    let client = builder(&server).build().unwrap();

    // The write first: a created task must never look like a failure.
    let upgrade = upgrade();
    let created = client.batch_update_firmware(&upgrade).await.unwrap();
    assert_eq!(created.task_id, Some(1));
    assert_typed_numbers(&client, &upgrade).await;

    let task = DescribeFirmwareTaskRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .task_id(1000696u64)
        .build()
        .unwrap();
    let described = client.describe_firmware_task(&task).await.unwrap();
    assert_eq!(described.task_id, Some(1));
    assert!(described.status.is_some() && described.create_time.is_some());
    assert_typed_numbers(&client, &task).await;

    let tasks = DescribeFirmwareTasksRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .offset(0u64)
        .limit(10u64)
        .build()
        .unwrap();
    let listed = client.describe_firmware_tasks(&tasks).await.unwrap();
    assert!(listed.total.is_some());
    let infos = listed.task_infos.unwrap();
    assert_eq!(infos.len(), 2);
    assert!(
        infos
            .iter()
            .all(|info| info.task_id.is_some() && info.status.is_some())
    );
    assert_typed_numbers(&client, &tasks).await;

    let devices = DescribeFirmwareTaskDevicesRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .offset(0u64)
        .limit(10u64)
        .build()
        .unwrap();
    let progress = client
        .describe_firmware_task_devices(&devices)
        .await
        .unwrap();
    assert!(progress.total.is_some());
    let devices_listed = progress.devices.unwrap();
    assert!(
        devices_listed
            .iter()
            .all(|device| device.status.is_some() && device.percent.is_some())
    );
    assert_typed_numbers(&client, &devices).await;

    let status = DescribeFirmwareUpdateStatusRequest::builder()
        .product_id("ABCDE12345")
        .device_name("dev001")
        .build()
        .unwrap();
    let update = client
        .describe_firmware_update_status(&status)
        .await
        .unwrap();
    assert!(update.status.is_some() && update.percent.is_some());
    assert_typed_numbers(&client, &status).await;

    let firmware = DescribeFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .build()
        .unwrap();
    assert_typed_numbers(&client, &firmware).await;

    let firmwares = ListFirmwaresRequest::builder()
        .page_num(1u64)
        .page_size(10u64)
        .build()
        .unwrap();
    assert_typed_numbers(&client, &firmwares).await;

    let modules = ListOtaModulesRequest::builder()
        .page_num(1u64)
        .page_size(10u64)
        .build()
        .unwrap();
    assert_typed_numbers(&client, &modules).await;

    let device_firmwares = DescribeDeviceFirmwaresRequest::builder()
        .product_id("ABCDE12345")
        .device_name("dev001")
        .build()
        .unwrap();
    assert_typed_numbers(&client, &device_firmwares).await;

    let check = CheckFirmwareUpdateRequest::builder()
        .product_id("ABCDE12345")
        .device_name("dev001")
        .build()
        .unwrap();
    client.check_firmware_update(&check).await.unwrap();
}

#[tokio::test]
async fn nulls_and_unknown_members_are_read_on_the_typed_path() {
    let server = TestServer::always(ok(json!({
        "TaskId": "1000696", "Status": null, "Percent": null, "SomethingNew": {"Deep": [1, "x"]}
    })))
    .await;
    let client = builder(&server).build().unwrap();
    let upgrade = upgrade();
    let created = client.batch_update_firmware(&upgrade).await.unwrap();
    assert_eq!(created.task_id, Some(1000696));
    assert_eq!(created.request_id.as_deref(), Some("req-ok"));

    let status = DescribeFirmwareUpdateStatusRequest::builder()
        .product_id("ABCDE12345")
        .device_name("dev001")
        .build()
        .unwrap();
    let update = client
        .describe_firmware_update_status(&status)
        .await
        .unwrap();
    assert_eq!((update.status, update.percent), (None, None));
}

/// The write these tests send: a `BatchUpdateFirmware` of one device.
fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .device_names("dev001")
        .build()
        .unwrap()
}

/// [`upgrade`] as the JSON path takes it.
fn upgrade_as_json() -> (&'static ActionMeta, Value) {
    let body = serde_json::to_value(upgrade()).unwrap();
    (BatchUpdateFirmwareRequest::meta(), body)
}

#[tokio::test]
async fn a_write_whose_success_cannot_be_read_says_it_ran() {
    // Not a number even leniently: the service created the task, but its ID is unreadable.
    let server = TestServer::always(ok(json!({"TaskId": "task-1000696"}))).await;
    let client = builder(&server).build().unwrap();
    let upgrade = upgrade();
    let error = client.batch_update_firmware(&upgrade).await.unwrap_err();
    let Error::Decode { excerpt, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(excerpt.contains(r#""TaskId":"task-1000696""#), "{excerpt}");
    // The service answered success: the request ran, and its ID is kept to trace it.
    assert_eq!(error.request_id(), Some("req-ok"));
    assert!(!error.was_not_sent());
    assert!(!error.is_retryable(false));
    // Sent once, never again.
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn sts_answers_with_numbers_as_strings_are_read() {
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 7200;
    let sts = TestServer::always(ok(json!({
        "Credentials": {"TmpSecretId": "AKIDtmpSts", "TmpSecretKey": support::SECRET_KEY, "Token": "sts-token"},
        "ExpiredTime": expires.to_string(),
        "Expiration": null
    })))
    .await;
    let role = iotexplorer_http::credentials::StsAssumeRole::builder(
        iotexplorer_http::StaticCredentials::new(support::SECRET_ID, support::SECRET_KEY),
        "qcs::cam::uin/1:roleName/ota",
        "rollout",
    )
    .endpoint_url(sts.url())
    .proxy(iotexplorer_http::Proxy::none())
    .build()
    .unwrap();
    let server = TestServer::always(support::task_created()).await;
    let client = builder(&server).credentials(role).build().unwrap();
    let upgrade = upgrade();
    client.batch_update_firmware(&upgrade).await.unwrap();
    client.batch_update_firmware(&upgrade).await.unwrap();
    assert_eq!(
        sts.count(),
        1,
        "the expiry was read, so the credentials are cached"
    );
    assert_eq!(server.arrivals()[0].header("x-tc-token"), Some("sts-token"));
}

/// The actions of the firmware family, from the model's metadata: every action whose name
/// says Firmware or Ota, so that a new one is covered as soon as the spec has it.
fn firmware_family() -> Vec<&'static ActionMeta> {
    iotexplorer_model::actions()
        .iter()
        .copied()
        .filter(|action| action.name.contains("Firmware") || action.name.contains("Ota"))
        .collect()
}

/// A value meeting the member's type and rules, for building minimal valid requests.
fn sample(member: &MemberMeta) -> Value {
    let one = match member.value_type {
        ValueType::Object(name) => {
            let structure = find_structure(name).unwrap();
            Value::Object(
                structure
                    .members
                    .iter()
                    .filter(|m| m.required)
                    .map(|m| (m.name.to_owned(), sample(m)))
                    .collect(),
            )
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
                json!("0".repeat(usize::try_from(length.unwrap_or(1)).unwrap()))
            }
        }
    };
    if member.list { json!([one]) } else { one }
}

/// Calls `A` through the typed client with its required members only, and returns its
/// typed response written back as JSON.
async fn typed_call<A: Action + DeserializeOwned>(client: &Client) -> Value {
    let meta = A::meta();
    let body: Map<String, Value> = meta
        .input
        .iter()
        .filter(|member| member.required)
        .map(|member| (member.name.to_owned(), sample(member)))
        .collect();
    let request: A = serde_json::from_value(Value::Object(body)).unwrap();
    let response = client
        .send(&request)
        .await
        .unwrap_or_else(|err| panic!("{}: {err:?}", A::NAME));
    serde_json::to_value(&response).unwrap()
}

/// The typed call of the action named `name`.
async fn typed_call_by_name(client: &Client, name: &str) -> Value {
    macro_rules! dispatch {
        ($($action:ident => $request:ty, $response:ty;)*) => {
            match name {
                $(stringify!($action) => typed_call::<$request>(client).await,)*
                other => panic!("no action {other}"),
            }
        };
    }
    iotexplorer_model::for_each_action!(dispatch)
}

#[tokio::test]
async fn every_firmware_family_action_reads_every_number_sent_as_a_string() {
    let server = stringly_server().await;
    let client = builder(&server).build().unwrap();
    let family = firmware_family();
    assert!(family.len() >= 15, "{} actions", family.len());
    let mut numbers = 0;
    for action in &family {
        let read = typed_call_by_name(&client, action.name).await;
        // Every member came back, each as the number it was sent as text.
        let expected = answer_for(action.name, false);
        assert_eq!(read, expected, "{}", action.name);
        numbers += numbers_in(&expected);
    }
    assert_eq!(server.count(), family.len());
    assert!(numbers >= 50, "only {numbers} numeric members checked");
}

#[tokio::test]
async fn an_error_member_that_is_null_is_absent_on_the_typed_and_the_json_path() {
    // `null` for an optional value, here `Error` in a success: the task was created.
    let server = TestServer::always(support::Reply::Body(bytes::Bytes::from_static(
        br#"{"Response":{"TaskId":7,"Error":null,"RequestId":"r1"}}"#,
    )))
    .await;
    let client = builder(&server).build().unwrap();
    let upgrade = upgrade();
    let created = client.batch_update_firmware(&upgrade).await.unwrap();
    assert_eq!(created.task_id, Some(7));
    assert_eq!(created.request_id.as_deref(), Some("r1"));
    let (meta, body) = upgrade_as_json();
    let response = client.send_json(meta, &body).await.unwrap();
    assert_eq!(response, json!({"TaskId": 7, "RequestId": "r1"}));
    assert_eq!(server.count(), 2, "each call sent once");
}

#[tokio::test]
async fn a_member_given_twice_is_read_alike_on_the_typed_and_the_json_path() {
    // Which `TaskId` did the service mean? Neither path picks one: the write's outcome is
    // unknown on both, and it is not sent again.
    let server = TestServer::always(support::Reply::Body(bytes::Bytes::from_static(
        br#"{"Response":{"TaskId":7,"TaskId":8,"RequestId":"r1"}}"#,
    )))
    .await;
    let client = builder(&server).build().unwrap();
    let upgrade = upgrade();
    let typed = client.batch_update_firmware(&upgrade).await.unwrap_err();
    let (meta, body) = upgrade_as_json();
    let untyped = client.send_json(meta, &body).await.unwrap_err();
    for error in [&typed, &untyped] {
        assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
        assert!(
            error.to_string().contains("`TaskId` is given twice"),
            "{error}"
        );
    }
    assert_eq!(server.count(), 2, "each call sent once");
}

#[tokio::test]
async fn an_unknown_member_given_twice_is_skipped_by_the_typed_path_only() {
    // The typed path skips what it does not know; the JSON path shows every member, so it
    // cannot pick one of the two.
    let server = TestServer::always(support::Reply::Body(bytes::Bytes::from_static(
        br#"{"Response":{"TaskId":7,"Extra":1,"Extra":2,"RequestId":"r1"}}"#,
    )))
    .await;
    let client = builder(&server).build().unwrap();
    let created = client.batch_update_firmware(&upgrade()).await.unwrap();
    assert_eq!(created.task_id, Some(7));
    let (meta, body) = upgrade_as_json();
    let untyped = client.send_json(meta, &body).await.unwrap_err();
    assert!(matches!(untyped, Error::Ambiguous { .. }), "{untyped:?}");
    assert!(
        untyped.to_string().contains("`Extra` is given twice"),
        "{untyped}"
    );
    assert_eq!(server.count(), 2, "each call sent once");
}
