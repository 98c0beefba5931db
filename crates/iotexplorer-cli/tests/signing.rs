//! What the signature covers and what `iotexplorer sign` shows: the client signs
//! `X-TC-Action` unless told otherwise, and the debugger never prints a usable signature
//! unless asked to.

mod support;

use serde_json::Value;
use support::{Outcome, TestEmulator, run_binary};

const VECTOR_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const VECTOR_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3Cozxxxx";
const VECTOR_BODY: &str = r#"{"Filters":[{"Name":"zone","Values":["ap-guangzhou-1"]}],"Limit":1}"#;
/// Tencent's signature of the body above for `DescribeInstances`, `x-tc-action` signed.
const VECTOR_SIGNATURE: &str = "fb562f0e44f0c7f0afa9eff2998c6fc41e053d0efa3741b068332b545afdb587";

fn sign(extra: &[&str]) -> Outcome {
    let args = [
        "sign",
        "--action",
        "DescribeInstances",
        "--host",
        "cvm.tencentcloudapi.com",
        "--service",
        "cvm",
        "--timestamp",
        "1551113065",
        "--content-type",
        "application/json; charset=utf-8",
        "--body",
        VECTOR_BODY,
    ];
    run_binary(
        &[&args[..], extra].concat(),
        &[
            ("TENCENTCLOUD_SECRET_ID", VECTOR_ID),
            ("TENCENTCLOUD_SECRET_KEY", VECTOR_KEY),
        ],
        "",
    )
}

#[test]
fn the_signature_debugger_shows_no_usable_signature_unless_asked() {
    let outcome = sign(&["--signed-headers", "content-type;host;x-tc-action"]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.contains("x-tc-action:describeinstances"),
        "{}",
        outcome.stdout
    );
    for output in [&outcome.stdout, &outcome.stderr] {
        assert!(!output.contains(VECTOR_SIGNATURE), "{output}");
        assert!(!output.contains(VECTOR_KEY));
    }

    let revealed = sign(&[
        "--signed-headers",
        "content-type;host;x-tc-action",
        "--reveal-authorization",
    ]);
    assert_eq!(revealed.code, 0, "{revealed:?}");
    assert!(
        revealed.stdout.contains(&format!(
            "SignedHeaders=content-type;host;x-tc-action, Signature={VECTOR_SIGNATURE}"
        )),
        "{}",
        revealed.stdout
    );
}

#[test]
fn the_debugger_signs_the_action_by_default_as_the_client_does() {
    let outcome = sign(&[]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("content-type;host;x-tc-action\n7dcfa478"),
        "{}",
        outcome.stdout
    );
    assert!(!outcome.stdout.contains(VECTOR_SIGNATURE));
}

#[test]
fn the_older_list_hides_its_signature_too() {
    // Tencent's example signed over content-type;host.
    let published_key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    let published_signature = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
    let args = [
        "sign",
        "--signed-headers",
        "content-type;host",
        "--action",
        "DescribeInstances",
        "--host",
        "cvm.tencentcloudapi.com",
        "--service",
        "cvm",
        "--timestamp",
        "1551113065",
        "--content-type",
        "application/json; charset=utf-8",
        "--body",
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
    ];
    let env = [
        ("TENCENTCLOUD_SECRET_ID", VECTOR_ID),
        ("TENCENTCLOUD_SECRET_KEY", published_key),
    ];
    let outcome = run_binary(&args, &env, "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"),
        "{}",
        outcome.stdout
    );
    assert!(!outcome.stdout.contains(published_signature));
    let revealed = run_binary(&[&args[..], &["--reveal-authorization"]].concat(), &env, "");
    assert!(revealed.stdout.contains(published_signature));
}

const UPGRADE: &[&str] = &[
    "BatchUpdateFirmware",
    "--ProductID",
    "ABCDE12345",
    "--FirmwareVersion",
    "2.0.0",
    "--DeviceNames",
    r#"["dev001"]"#,
    "--OverrideMode",
    "1",
];

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[test]
fn calls_sign_the_action_unless_told_otherwise_and_the_emulator_takes_both() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let globals: Vec<&str> = globals.iter().map(String::as_str).collect();
    for (flag, list) in [
        (&[][..], "content-type;host;x-tc-action"),
        (
            &["--signed-headers", "content-type;host"][..],
            "content-type;host",
        ),
    ] {
        let dry = run_binary(
            &[&globals[..], flag, &["--dry-run"], UPGRADE].concat(),
            &[],
            "",
        );
        assert_eq!(dry.code, 0, "{dry:?}");
        let authorization = json(&dry.stdout)["Headers"]["authorization"]
            .as_str()
            .expect("authorization")
            .to_owned();
        assert!(
            authorization.contains(&format!("SignedHeaders={list}, Signature=** redacted **")),
            "{authorization}"
        );
        for method in ["POST", "GET"] {
            let outcome = run_binary(
                &[&globals[..], flag, &["--method", method], UPGRADE].concat(),
                &[],
                "",
            );
            assert_eq!(outcome.code, 0, "{list} {method}: {outcome:?}");
            assert!(json(&outcome.stdout)["TaskId"].as_u64().is_some());
        }
    }
    assert_eq!(emulator.arrivals(), 4);
}
