//! Behaviour that needs no server: usage, validation, skeletons, the signature debugger,
//! completions.

mod support;

use support::{run_binary, run_in_process, temp_dir};

const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const PUBLISHED_BODY: &str =
    r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
const PUBLISHED_SIGNATURE: &str =
    "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";

fn published_authorization(signature: &str) -> String {
    format!(
        "TC3-HMAC-SHA256 Credential={SECRET_ID}/2019-02-25/cvm/tc3_request, \
         SignedHeaders=content-type;host, Signature={signature}"
    )
}

fn sign_args(verify: &str) -> Vec<&str> {
    vec![
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
        PUBLISHED_BODY,
        "--verify",
        verify,
    ]
}

#[test]
fn a_validation_error_lists_every_rule_and_exits_2() {
    let outcome = run_binary(
        &[
            "BatchUpdateFirmware",
            "--ProductID",
            "",
            "--FirmwareVersion",
            "2.0.0",
            "--TimeoutInterval",
            "901",
            "--UpgradeMethod",
            "2",
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stdout.is_empty());
    for field in ["ProductID", "TimeoutInterval = 901", "UpgradeMethod = 2"] {
        assert!(
            outcome.stderr.contains(field),
            "{field} missing from {}",
            outcome.stderr
        );
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        vec!["NoSuchAction"],
        vec!["BatchUpdateFirmware", "--NoSuchMember", "x"],
        vec!["BatchUpdateFirmware", "--TimeoutInterval", "soon"],
        vec!["BatchUpdateFirmware", "--DeviceNames", "dev001"],
        vec!["BatchUpdateFirmware", "--cli-input-json", "[]"],
        vec!["--output", "xml", "BatchUpdateFirmware"],
    ] {
        let outcome = run_in_process(&args, &[], "");
        assert_eq!(outcome.code, 2, "{args:?}: {outcome:?}");
    }
}

#[test]
fn every_action_has_a_skeleton_with_every_input_member() {
    for meta in iotexplorer_model::actions() {
        let outcome = run_in_process(&[meta.name, "--generate-cli-skeleton"], &[], "");
        assert_eq!(outcome.code, 0, "{}: {outcome:?}", meta.name);
        let skeleton: serde_json::Value =
            serde_json::from_str(&outcome.stdout).expect("the skeleton is JSON");
        let object = skeleton.as_object().expect("the skeleton is an object");
        assert_eq!(object.len(), meta.input.len(), "{}", meta.name);
        for member in meta.input {
            assert!(
                object.contains_key(member.name),
                "{}: {}",
                meta.name,
                member.name
            );
        }
    }
}

#[test]
fn the_signature_debugger_matches_the_published_example() {
    let env = [
        ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
        ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
    ];
    let authorization = published_authorization(PUBLISHED_SIGNATURE);
    let outcome = run_binary(&sign_args(&authorization), &env, "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
    );
    assert!(outcome.stdout.contains("MATCH"));
    assert!(!outcome.stdout.contains(SECRET_KEY) && !outcome.stderr.contains(SECRET_KEY));
    assert!(
        !outcome.stdout.contains(&authorization),
        "the full header is printed only on request"
    );
}

#[test]
fn the_signature_debugger_names_the_stage_that_differs() {
    let env = [("TENCENTCLOUD_SECRET_ID", SECRET_ID)];
    let wrong_signature = published_authorization(&"0".repeat(64));
    let outcome = run_binary(
        &[&sign_args(&wrong_signature)[..], &["--secret-key-stdin"]].concat(),
        &env,
        &format!("{SECRET_KEY}\n"),
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        outcome.stdout.contains("MISMATCH in the signature"),
        "{}",
        outcome.stdout
    );

    let wrong_date =
        published_authorization(PUBLISHED_SIGNATURE).replace("2019-02-25", "2019-02-24");
    let outcome = run_binary(
        &[&sign_args(&wrong_date)[..], &["--secret-key-stdin"]].concat(),
        &env,
        SECRET_KEY,
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        outcome
            .stdout
            .contains("credential date: theirs 2019-02-24, ours 2019-02-25"),
        "{}",
        outcome.stdout
    );
    assert!(!outcome.stdout.contains(SECRET_KEY));
}

#[test]
fn the_signature_debugger_needs_credentials_from_the_environment_or_stdin() {
    let outcome = run_in_process(
        &sign_args(&published_authorization(PUBLISHED_SIGNATURE)),
        &[],
        "",
    );
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(outcome.stderr.contains("TENCENTCLOUD_SECRET_ID"));
}

#[test]
fn completions_cover_the_actions() {
    for shell in ["bash", "zsh", "fish"] {
        let outcome = run_in_process(&["completions", shell], &[], "");
        assert_eq!(outcome.code, 0, "{shell}");
        assert!(outcome.stdout.contains("BatchUpdateFirmware"), "{shell}");
        assert!(outcome.stdout.contains("ProductID"), "{shell}");
    }
}

#[test]
fn action_help_lists_members_with_types_and_rules() {
    let outcome = run_in_process(&["BatchUpdateFirmware", "--help"], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    for text in [
        "--ProductID",
        "required",
        "--TimeoutInterval",
        "between 120 and 900",
        "--DeviceNames",
    ] {
        assert!(outcome.stdout.contains(text), "{text} missing from help");
    }
}

#[test]
fn the_signature_debugger_reads_a_profile_file() {
    let home = temp_dir("sign-home");
    std::fs::create_dir_all(home.path().join(".tencentcloud")).expect("home");
    std::fs::write(
        home.path().join(".tencentcloud/credentials"),
        format!(
            "[default]\nsecret_id = AKIDother\nsecret_key = other\n\n\
             [ops]\nsecret_id = {SECRET_ID}\nsecret_key = {SECRET_KEY}\n"
        ),
    )
    .expect("profile file");
    let home_text = home.path().to_string_lossy().into_owned();
    let authorization = published_authorization(PUBLISHED_SIGNATURE);
    let outcome = run_in_process(
        &[&["--profile", "ops"], &sign_args(&authorization)[..]].concat(),
        &[("HOME", home_text.as_str())],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stdout.contains("MATCH"));
    assert!(!outcome.stdout.contains(SECRET_KEY));
}

#[test]
fn a_secret_key_on_standard_input_is_read_up_to_a_bound() {
    let env = [("TENCENTCLOUD_SECRET_ID", SECRET_ID)];
    let authorization = published_authorization(PUBLISHED_SIGNATURE);
    let args = [&sign_args(&authorization)[..], &["--secret-key-stdin"]].concat();
    let padded = format!("{SECRET_KEY}\n{}", "\n".repeat(4096 - SECRET_KEY.len() - 1));
    assert_eq!(padded.len(), 4096);
    let outcome = run_binary(&args, &env, &padded);
    assert_eq!(outcome.code, 0, "the largest input is read: {outcome:?}");
    assert!(outcome.stdout.contains("MATCH"), "{}", outcome.stdout);
    let outcome = run_binary(&args, &env, &format!("{padded}\n"));
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(
        outcome.stderr.contains("standard input")
            && outcome.stderr.contains("more than 4096 bytes"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains(SECRET_KEY));
}

#[test]
fn a_credentials_file_given_as_the_request_is_refused_without_showing_its_keys() {
    let dir = temp_dir("wrong-input");
    let file = dir.path().join("default.credential");
    std::fs::write(
        &file,
        r#"{"secretId": "AKIDSENTINEL", "secretKey": "SECRETSENTINEL123", "token": "TOKENSENTINEL456"}"#,
    )
    .expect("credential file");
    let outcome = run_binary(
        &[
            "BatchUpdateFirmware",
            "--cli-input-json",
            &format!("file://{}", file.display()),
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.contains("secretKey"), "{}", outcome.stderr);
    for secret in ["SECRETSENTINEL123", "TOKENSENTINEL456"] {
        assert!(!outcome.stderr.contains(secret), "{}", outcome.stderr);
        assert!(!outcome.stdout.contains(secret), "{}", outcome.stdout);
    }
}
