//! Calls through the real binary against the emulator: output, exit codes, dry runs,
//! GET and POST, and secrets kept out of every output.

mod support;

use iotexplorer_emulator::DEMO_SECRET_KEY;
use serde_json::Value;
use support::{Outcome, TestEmulator, run_binary, temp_dir};

fn call(emulator: &TestEmulator, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let globals = emulator.globals();
    let mut all: Vec<&str> = globals.iter().map(String::as_str).collect();
    all.extend_from_slice(args);
    run_binary(&all, env, "")
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

const UPGRADE: &[&str] = &[
    "BatchUpdateFirmware",
    "--ProductID",
    "ABCDE12345",
    "--FirmwareVersion",
    "2.0.0",
    "--DeviceNames",
    r#"["dev001","dev002"]"#,
];

#[test]
fn a_successful_call_prints_the_response_and_exits_0() {
    let emulator = TestEmulator::start();
    let outcome = call(&emulator, UPGRADE, &[]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let response = json(&outcome.stdout);
    assert!(response["TaskId"].as_u64().is_some(), "{response}");
    assert!(
        response["RequestId"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(outcome.stderr.is_empty(), "{}", outcome.stderr);
}

#[test]
fn get_and_post_are_both_accepted() {
    let emulator = TestEmulator::start();
    for method in ["GET", "POST"] {
        let outcome = call(
            &emulator,
            &[
                "--method",
                method,
                "DescribeFirmware",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
            ],
            &[],
        );
        assert_eq!(outcome.code, 0, "{method}: {outcome:?}");
        assert_eq!(json(&outcome.stdout)["Version"], "2.0.0", "{method}");
    }
    assert_eq!(emulator.arrivals(), 2);
}

#[test]
fn an_api_error_prints_the_envelope_on_stderr_and_exits_1() {
    let emulator = TestEmulator::start();
    let outcome = call(
        &emulator,
        &[
            "BatchUpdateFirmware",
            "--ProductID",
            "NOSUCHPROD",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev001"]"#,
        ],
        &[],
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stdout.is_empty());
    let envelope = json(&outcome.stderr);
    assert_eq!(
        envelope["Error"]["Code"],
        "ResourceNotFound.StudioProductNotExist"
    );
    assert!(envelope["RequestId"].as_str().is_some());
}

#[test]
fn a_wrong_key_is_an_api_error_too() {
    let emulator = TestEmulator::start();
    let mut args: Vec<String> = emulator.globals();
    let key_at = args
        .iter()
        .position(|a| a == "--secretKey")
        .expect("key flag")
        + 1;
    args[key_at] = "not-the-key".to_owned();
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(UPGRADE);
    let outcome = run_binary(&all, &[], "");
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert_eq!(
        json(&outcome.stderr)["Error"]["Code"],
        "AuthFailure.SignatureFailure"
    );
}

#[test]
fn a_validation_error_sends_nothing() {
    let emulator = TestEmulator::start();
    let outcome = call(
        &emulator,
        &[
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--TimeoutInterval",
            "60",
        ],
        &[],
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(
        outcome.stderr.contains("TimeoutInterval = 60"),
        "{}",
        outcome.stderr
    );
    assert_eq!(emulator.arrivals(), 0);
}

#[test]
fn a_dry_run_shows_the_signed_request_and_sends_nothing() {
    let emulator = TestEmulator::start();
    let outcome = call(&emulator, &[&["--dry-run"], UPGRADE].concat(), &[]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let shown = json(&outcome.stdout);
    assert_eq!(shown["Method"], "POST");
    let headers = &shown["Headers"];
    assert_eq!(headers["x-tc-action"], "BatchUpdateFirmware");
    let authorization = headers["authorization"].as_str().expect("authorization");
    assert!(
        authorization.ends_with("Signature=** redacted **"),
        "{authorization}"
    );
    assert_eq!(
        json(shown["Body"].as_str().expect("body")),
        serde_json::json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "DeviceNames": ["dev001", "dev002"]})
    );
    assert_eq!(
        emulator.arrivals(),
        0,
        "a dry run must not reach the server"
    );
}

#[test]
fn cli_input_json_is_the_same_as_flags() {
    let emulator = TestEmulator::start();
    let input =
        r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001","dev002"]}"#;
    let dir = temp_dir("input");
    let file = dir.path().join("input.json");
    std::fs::write(&file, input).expect("input file");
    let file_arg = format!("file://{}", file.display());

    let body_of = |args: &[&str]| {
        let outcome = call(&emulator, &[&["--dry-run"], args].concat(), &[]);
        assert_eq!(outcome.code, 0, "{args:?}: {outcome:?}");
        json(&outcome.stdout)["Body"].clone()
    };
    let from_flags = body_of(UPGRADE);
    assert_eq!(
        body_of(&["BatchUpdateFirmware", "--cli-input-json", input]),
        from_flags
    );
    assert_eq!(
        body_of(&["BatchUpdateFirmware", "--cli-input-json", &file_arg]),
        from_flags
    );
    // A flag given too overrides the same member from the input.
    let overridden = body_of(&[
        "BatchUpdateFirmware",
        "--cli-input-json",
        input,
        "--FirmwareVersion",
        "3.0.0",
    ]);
    assert_eq!(
        json(overridden.as_str().expect("body"))["FirmwareVersion"],
        "3.0.0"
    );
}

#[test]
fn secrets_never_appear_in_any_output() {
    let emulator = TestEmulator::start();
    let url = emulator.url();
    // Credentials with a session token come from the environment, so the token is sent.
    let token_env = [
        (
            "TENCENTCLOUD_SECRET_ID",
            iotexplorer_emulator::DEMO_SECRET_ID,
        ),
        ("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY),
        ("TENCENTCLOUD_SESSION_TOKEN", "session-token-value"),
    ];
    let endpoint = ["--endpoint", url.as_str(), "--region", "ap-guangzhou"];
    for extra in [
        &["--debug"][..],
        &["--dry-run"],
        &["--output", "text"],
        &["--output", "table"],
    ] {
        let outcome = run_binary(&[&endpoint[..], extra, UPGRADE].concat(), &token_env, "");
        assert!(
            outcome.code == 0 || outcome.code == 1,
            "{extra:?}: {outcome:?}"
        );
        for output in [&outcome.stdout, &outcome.stderr] {
            assert!(
                !output.contains(DEMO_SECRET_KEY),
                "{extra:?} printed the key"
            );
            assert!(
                !output.contains("session-token-value"),
                "{extra:?} printed the token"
            );
            assert!(
                !output.contains("Signature=") || output.contains("Signature=** redacted **"),
                "{extra:?} printed a signature"
            );
        }
    }
}

#[test]
fn an_unreachable_endpoint_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let outcome = run_binary(
        &[
            &[
                "--endpoint",
                endpoint.as_str(),
                "--region",
                "ap-guangzhou",
                "--secretId",
                "AKID",
                "--secretKey",
                "key",
                "--timeout",
                "5",
            ],
            UPGRADE,
        ]
        .concat(),
        &[],
        "",
    );
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(outcome.stdout.is_empty());
}

#[test]
fn the_main_job_runs_against_the_embedded_emulator() {
    let outcome = run_binary(&[&["--emulator"], UPGRADE].concat(), &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let response = json(&outcome.stdout);
    assert!(response["TaskId"].as_u64().is_some(), "{response}");
}

#[test]
fn the_embedded_emulator_is_signed_for_with_its_demo_keys_whatever_the_environment_holds() {
    // Keys for the real service, in the variables and in a profile, are not the
    // emulator's: the main job still runs, and signs with the demo keys.
    let home = tempfile::tempdir().expect("home");
    let tccli = home.path().join(".tccli");
    std::fs::create_dir_all(&tccli).expect("profile folder");
    std::fs::write(
        tccli.join("default.credential"),
        r#"{"secretId": "AKIDPROFILEEXAMPLE", "secretKey": "profile-key"}"#,
    )
    .expect("profile");
    let home = home.path().to_str().expect("UTF-8 path");
    for env in [
        &[
            ("TENCENTCLOUD_SECRET_ID", "AKIDREALSERVICEEXAMPLE"),
            ("TENCENTCLOUD_SECRET_KEY", "real-service-key"),
        ][..],
        &[("HOME", home)][..],
    ] {
        let outcome = run_binary(&[&["--emulator", "--debug"], UPGRADE].concat(), env, "");
        assert_eq!(outcome.code, 0, "{env:?}: {outcome:?}");
        assert!(
            outcome.stderr.contains(&format!(
                "Credential={}/",
                iotexplorer_emulator::DEMO_SECRET_ID
            )),
            "{env:?}: {}",
            outcome.stderr
        );
    }
    // Keys given on the command line are the caller's choice: they are used, and the
    // emulator refuses the ones it does not know.
    let outcome = run_binary(
        &[
            &[
                "--emulator",
                "--secretId",
                "AKIDUNKNOWNEXAMPLE",
                "--secretKey",
                "k",
            ],
            UPGRADE,
        ]
        .concat(),
        &[],
        "",
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    let auth = iotexplorer_model::ErrorCode::AuthFailure;
    assert!(outcome.stderr.contains(auth.as_str()), "{outcome:?}");
}

#[test]
fn a_role_asked_for_with_the_embedded_emulator_is_refused_before_anything_starts() {
    // The emulator signs with its demo keys or those given outright; a role is the real
    // service's, and taking it quietly would sign with something else than was asked.
    for flags in [
        &["--use-cvm-role"][..],
        &[
            "--role-arn",
            "qcs::cam::uin/1:roleName/r",
            "--role-session-name",
            "s",
        ][..],
    ] {
        let outcome = run_binary(&[&["--emulator"], flags, UPGRADE].concat(), &[], "");
        assert_eq!(outcome.code, 2, "{flags:?}: {outcome:?}");
        assert!(outcome.stderr.contains("--emulator"), "{outcome:?}");
        assert!(outcome.stdout.is_empty());
    }
}

#[test]
fn a_proxy_variable_that_cannot_be_used_does_not_stop_the_embedded_emulator() {
    // Calls to a loopback host never go through a proxy from the environment.
    let outcome = run_binary(
        &[&["--emulator"], UPGRADE].concat(),
        &[("HTTPS_PROXY", "not a url")],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    // The same variable with the service's own host is refused, naming it.
    let outcome = run_binary(
        &[&["--region", "ap-guangzhou"], UPGRADE].concat(),
        &[
            ("HTTPS_PROXY", "not a url"),
            ("TENCENTCLOUD_SECRET_ID", "AKIDEXAMPLE"),
            ("TENCENTCLOUD_SECRET_KEY", "example-key"),
        ],
        "",
    );
    assert_ne!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stderr.contains("HTTPS_PROXY"), "{outcome:?}");
}

#[test]
fn credentials_come_from_the_environment() {
    let emulator = TestEmulator::start();
    let url = emulator.url();
    let home = temp_dir("home");
    let home = home.path().to_string_lossy().into_owned();
    let outcome = run_binary(
        &[
            &["--endpoint", url.as_str(), "--region", "ap-guangzhou"],
            UPGRADE,
        ]
        .concat(),
        &[
            (
                "TENCENTCLOUD_SECRET_ID",
                iotexplorer_emulator::DEMO_SECRET_ID,
            ),
            ("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY),
            ("HOME", &home),
        ],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
}

#[test]
fn a_filter_that_fails_on_a_writes_answer_says_the_call_succeeded() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    // Valid, so checked and let through before the call; it fails only on the answer.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args(globals.iter().map(String::as_str))
        .args(["--filter", "abs(RequestId)"])
        .args(UPGRADE)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert_eq!(emulator.arrivals(), 1);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("BatchUpdateFirmware succeeded"), "{stderr}");
    assert!(stderr.contains("do not send it again"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_after_a_write_says_the_call_succeeded() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args(
            globals
                .iter()
                .map(String::as_str)
                .chain(UPGRADE.iter().copied()),
        )
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(emulator.arrivals(), 1);
    assert!(
        stderr.contains("BatchUpdateFirmware succeeded") && stderr.contains("RequestId "),
        "{stderr}"
    );
    assert!(stderr.contains("do not send it again"), "{stderr}");
}
