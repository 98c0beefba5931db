//! A request that breaks a rule many times gets a short refusal from the real binary.

mod support;

use support::{run_binary, temp_dir};

#[test]
fn a_huge_refused_request_lists_the_first_rules_and_counts_the_rest() {
    let dir = temp_dir("limits");
    let input = dir.path().join("input.json");
    let body = serde_json::json!({
        "ProductID": "ABCDE12345",
        "FirmwareVersion": "2.0.0",
        "DeviceNames": vec!["dev001"; 200_000],
    });
    std::fs::write(&input, body.to_string()).expect("write input");
    let input_arg = format!("file://{}", input.display());
    let outcome = run_binary(
        &["BatchUpdateFirmware", "--cli-input-json", &input_arg],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{} bytes of stderr", outcome.stderr.len());
    assert!(
        outcome.stderr.len() < 4096,
        "{} bytes of stderr",
        outcome.stderr.len()
    );
    assert!(
        outcome.stderr.contains("breaks 199999 rules"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("DeviceNames[1] = \"dev001\""),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("and 199979 more"),
        "{}",
        outcome.stderr
    );
}
