//! Tencent's official Python SDK (`tencentcloud-sdk-python-iotexplorer`, its typed
//! `IotexplorerClient`) against the emulator on a random port, unchanged: POST and GET,
//! with long-term and temporary credentials, reads, a write, and error answers read as
//! `TencentCloudSDKException`.
//!
//! The SDK is the one `.ci/run` installs into a venv, found through
//! `IOTEXPLORER_SDK_PYTHON`; the test is skipped, saying so, where it is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use iotexplorer_emulator::{
    CredentialFixture, DEMO_PRODUCT_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture,
    RunningEmulator,
};
use serde_json::{Value, json};

/// Runs the calls of a plan read from stdin with one `IotexplorerClient`, and prints one
/// JSON array with an outcome per call: `{"response": ..., "raw": ...}` or
/// `{"error": {...}, "raw": ...}`. `response` is the SDK's own model, serialized back;
/// `raw` is the `Response` object of the answer as it came over the wire, taken from the
/// SDK's debug log of each answer it reads, so a test can hold the SDK's reading against
/// what the emulator really sent.
const PROGRAM: &str = r#"
import json
import logging
import sys

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iotexplorer.v20190423 import iotexplorer_client, models


class Answers(logging.Handler):
    """Keeps the body of the last answer the SDK logged (status line, headers, blank, body)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.last = None

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("GetResponse: "):
            self.last = message.split("\n\n", 1)[1]


plan = json.load(sys.stdin)
answers = Answers()
log = logging.getLogger("tencentcloud_sdk_common")
log.setLevel(logging.DEBUG)
log.addHandler(answers)

http = HttpProfile(endpoint=plan["endpoint"], reqMethod=plan["method"], reqTimeout=10)
http.scheme = "http"
profile = ClientProfile(httpProfile=http)
if plan.get("sign_method"):
    profile.signMethod = plan["sign_method"]
cred = credential.Credential(plan["secret_id"], plan["secret_key"], plan.get("token"))
client = iotexplorer_client.IotexplorerClient(cred, "ap-guangzhou", profile)

outcomes = []
for call in plan["calls"]:
    answers.last = None
    request = getattr(models, call["action"] + "Request")()
    request.from_json_string(json.dumps(call["params"]))
    try:
        response = getattr(client, call["action"])(request)
        outcome = {"response": json.loads(response.to_json_string())}
    except TencentCloudSDKException as error:
        outcome = {
            "error": {
                "code": error.get_code(),
                "message": error.get_message(),
                "request_id": error.get_request_id(),
            }
        }
    outcome["raw"] = json.loads(answers.last)["Response"] if answers.last else None
    outcomes.append(outcome)
print(json.dumps(outcomes))
"#;

const TEMPORARY_ID: &str = "AKIDTEMPORARY";
const TEMPORARY_KEY: &str = "temporary-key";
const TEMPORARY_TOKEN: &str = "session-token";

/// A Python with the official SDK, or `None` after noting why the test is skipped.
#[allow(clippy::print_stderr)]
fn sdk_python() -> Option<PathBuf> {
    match std::env::var_os("IOTEXPLORER_SDK_PYTHON") {
        Some(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            eprintln!(
                "skipped: IOTEXPLORER_SDK_PYTHON names no Python with \
                 tencentcloud-sdk-python-iotexplorer (.ci/run installs one)"
            );
            None
        }
    }
}

async fn start() -> RunningEmulator {
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new(TEMPORARY_ID, TEMPORARY_KEY).with_token(TEMPORARY_TOKEN),
    );
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

/// The program, written once per test into its own temporary directory.
struct Program {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Program {
    fn write(test: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("iotexplorer-python-sdk-{test}-"))
            .tempdir()
            .expect("temp dir");
        let path = dir.path().join("calls.py");
        std::fs::write(&path, PROGRAM).expect("write the program");
        Self { _dir: dir, path }
    }
}

/// Who signs, and how.
struct Caller<'a> {
    method: &'a str,
    secret_id: &'a str,
    secret_key: &'a str,
    token: Option<&'a str>,
    sign_method: Option<&'a str>,
}

impl<'a> Caller<'a> {
    fn long_term(method: &'a str) -> Self {
        Self {
            method,
            secret_id: DEMO_SECRET_ID,
            secret_key: DEMO_SECRET_KEY,
            token: None,
            sign_method: None,
        }
    }

    fn temporary(method: &'a str) -> Self {
        Self {
            method,
            secret_id: TEMPORARY_ID,
            secret_key: TEMPORARY_KEY,
            token: Some(TEMPORARY_TOKEN),
            sign_method: None,
        }
    }
}

/// Runs `calls` (`(action, params)`) in one Python process and returns one outcome per
/// call, after checking that the program itself ran to its end.
async fn run(
    python: &Path,
    program: &Program,
    emulator: &RunningEmulator,
    caller: &Caller<'_>,
    calls: &[(&str, Value)],
) -> Vec<Value> {
    let plan = json!({
        "endpoint": format!("127.0.0.1:{}", emulator.addr().port()),
        "method": caller.method,
        "secret_id": caller.secret_id,
        "secret_key": caller.secret_key,
        "token": caller.token,
        "sign_method": caller.sign_method,
        "calls": calls
            .iter()
            .map(|(action, params)| json!({"action": action, "params": params}))
            .collect::<Vec<_>>(),
    });
    let mut command = Command::new(python);
    command
        .arg(&program.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The SDK would take a proxy from the environment; the emulator is reached directly.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    let output: Output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("run python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(plan.to_string().as_bytes())
            .expect("write the plan");
        child.wait_with_output().expect("wait for python")
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "the program failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcomes: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON on stdout ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(outcomes.len(), calls.len(), "{outcomes:?}");
    outcomes
}

/// The `response` of a success, after checking that the SDK's RequestId is the one sent.
fn success(outcome: &Value) -> &Value {
    let response = outcome
        .get("response")
        .unwrap_or_else(|| panic!("expected a success: {outcome}"));
    assert_request_id(&response["RequestId"], outcome);
    response
}

/// The `error` of a refusal, after checking its code and that the exception carries the
/// RequestId of the answer.
fn refusal<'a>(outcome: &'a Value, code: &str) -> &'a Value {
    let error = outcome
        .get("error")
        .unwrap_or_else(|| panic!("expected a TencentCloudSDKException: {outcome}"));
    assert_eq!(error["code"], code, "{outcome}");
    assert_eq!(
        error["message"], outcome["raw"]["Error"]["Message"],
        "{outcome}"
    );
    assert!(
        !error["message"].as_str().unwrap_or_default().is_empty(),
        "{outcome}"
    );
    assert_request_id(&error["request_id"], outcome);
    error
}

/// `id` is a UUID and the very RequestId of the answer on the wire.
fn assert_request_id(id: &Value, outcome: &Value) {
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("no RequestId: {outcome}"));
    assert_eq!(id.len(), 36, "{outcome}");
    assert_eq!(id.matches('-').count(), 4, "{outcome}");
    assert_eq!(outcome["raw"]["RequestId"], id, "{outcome}");
}

/// Every RequestId seen, checked to be distinct.
fn assert_distinct_request_ids(outcomes: &[Value]) {
    let mut ids: Vec<&str> = outcomes
        .iter()
        .filter_map(|outcome| outcome["raw"]["RequestId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "a RequestId came twice: {outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_reads_writes_and_reads_errors() {
    let Some(python) = sdk_python() else {
        return;
    };
    let emulator = start().await;
    let program = Program::write("calls");
    let callers = [
        Caller::long_term("POST"),
        Caller::long_term("GET"),
        Caller::temporary("POST"),
        Caller::temporary("GET"),
    ];
    let mut seen = Vec::new();
    for (index, caller) in callers.iter().enumerate() {
        // Two devices of their own per caller, so no task finds its devices busy.
        let devices = [
            format!("dev{:03}", 2 * index + 1),
            format!("dev{:03}", 2 * index + 2),
        ];
        let before = emulator.arrivals();
        let outcomes = run(
            &python,
            &program,
            &emulator,
            caller,
            &[
                (
                    "DescribeFirmware",
                    json!({"ProductID": DEMO_PRODUCT_ID, "FirmwareVersion": "2.0.0"}),
                ),
                (
                    "BatchUpdateFirmware",
                    json!({
                        "ProductID": DEMO_PRODUCT_ID,
                        "FirmwareVersion": "2.0.0",
                        "DeviceNames": devices,
                        "TaskUserDefine": "{\"from\":\"python\"}",
                    }),
                ),
                (
                    "DescribeFirmware",
                    json!({"ProductID": DEMO_PRODUCT_ID, "FirmwareVersion": "9.9.9"}),
                ),
                (
                    "BatchUpdateFirmware",
                    json!({
                        "ProductID": DEMO_PRODUCT_ID,
                        "FirmwareVersion": "2.0.0",
                        "DeviceNames": ["no-such-device"],
                    }),
                ),
            ],
        )
        .await;
        let what = format!("{} with {}", caller.method, caller.secret_id);
        assert_eq!(emulator.arrivals(), before + 4, "{what}");

        let firmware = success(&outcomes[0]);
        assert_eq!(firmware["Version"], "2.0.0", "{what}: {firmware}");
        assert_eq!(firmware["ProductId"], DEMO_PRODUCT_ID, "{what}: {firmware}");
        assert_eq!(firmware["FwType"], "mcu", "{what}: {firmware}");

        let created = success(&outcomes[1]);
        let task_id = created["TaskId"]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: no TaskId in {created}"));
        assert_eq!(outcomes[1]["raw"]["TaskId"], task_id, "{what}");

        let missing = refusal(&outcomes[2], "ResourceNotFound.FirmwareNotExist");
        assert!(
            missing["message"]
                .as_str()
                .is_some_and(|message| message.contains("9.9.9")),
            "{what}: {missing}"
        );
        // BatchUpdateFirmware documents InvalidParameterValue for this, not DeviceNotExist.
        let unknown = refusal(&outcomes[3], "InvalidParameterValue");
        assert!(
            unknown["message"]
                .as_str()
                .is_some_and(|message| message.contains("no-such-device")),
            "{what}: {unknown}"
        );

        // The task's devices, found by a filter the GET caller sends as `Filters.0.Key`.
        let listed = run(
            &python,
            &program,
            &emulator,
            caller,
            &[(
                "DescribeFirmwareTaskDevices",
                json!({
                    "ProductID": DEMO_PRODUCT_ID,
                    "FirmwareVersion": "2.0.0",
                    "Filters": [{"Key": "TaskId", "Value": task_id.to_string()}],
                    "Offset": 0,
                    "Limit": 10,
                }),
            )],
        )
        .await;
        let devices_of_task = success(&listed[0]);
        assert_eq!(devices_of_task["Total"], 2, "{what}: {devices_of_task}");
        let mut names: Vec<&str> = devices_of_task["Devices"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no Devices in {devices_of_task}"))
            .iter()
            .map(|device| {
                assert_eq!(device["TaskId"], task_id, "{what}: {device}");
                assert_eq!(device["DstVersion"], "2.0.0", "{what}: {device}");
                assert_eq!(device["OriVersion"], "1.0.0", "{what}: {device}");
                device["DeviceName"].as_str().unwrap_or_default()
            })
            .collect();
        names.sort_unstable();
        assert_eq!(names, [devices[0].as_str(), devices[1].as_str()], "{what}");
        seen.extend(outcomes);
        seen.extend(listed);
    }
    assert_distinct_request_ids(&seen);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_token_is_a_python_sdk_exception() {
    let Some(python) = sdk_python() else {
        return;
    };
    let emulator = start().await;
    let program = Program::write("refusals");
    let read = [(
        "DescribeFirmware",
        json!({"ProductID": DEMO_PRODUCT_ID, "FirmwareVersion": "2.0.0"}),
    )];
    for method in ["POST", "GET"] {
        let wrong_key = Caller {
            secret_key: "wrong-key",
            ..Caller::long_term(method)
        };
        let outcomes = run(&python, &program, &emulator, &wrong_key, &read).await;
        refusal(&outcomes[0], "AuthFailure.SignatureFailure");

        let wrong_token = Caller {
            token: Some("wrong-token"),
            ..Caller::temporary(method)
        };
        let outcomes = run(&python, &program, &emulator, &wrong_token, &read).await;
        refusal(&outcomes[0], "AuthFailure.TokenFailure");

        let unknown_id = Caller {
            secret_id: "AKIDNOBODY",
            ..Caller::long_term(method)
        };
        let outcomes = run(&python, &program, &emulator, &unknown_id, &read).await;
        refusal(&outcomes[0], "AuthFailure.SecretIdNotFound");
    }
    emulator.shutdown().await;
}

/// The SDK's older signatures (`HmacSHA1`, `HmacSHA256`: a form body or query with a
/// `Signature` member) are accepted too, and a wrong key is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_signs_with_its_legacy_methods_too() {
    let Some(python) = sdk_python() else {
        return;
    };
    let emulator = start().await;
    let program = Program::write("legacy");
    let read = [(
        "DescribeFirmware",
        json!({"ProductID": DEMO_PRODUCT_ID, "FirmwareVersion": "1.0.0"}),
    )];
    for sign_method in ["HmacSHA1", "HmacSHA256"] {
        for method in ["POST", "GET"] {
            let what = format!("{sign_method} over {method}");
            let caller = Caller {
                sign_method: Some(sign_method),
                ..Caller::temporary(method)
            };
            let outcomes = run(&python, &program, &emulator, &caller, &read).await;
            let firmware = success(&outcomes[0]);
            assert_eq!(firmware["Version"], "1.0.0", "{what}: {firmware}");

            let wrong_key = Caller {
                sign_method: Some(sign_method),
                secret_key: "wrong-key",
                ..Caller::long_term(method)
            };
            let outcomes = run(&python, &program, &emulator, &wrong_key, &read).await;
            refusal(&outcomes[0], "AuthFailure.SignatureFailure");
        }
    }
    emulator.shutdown().await;
}
