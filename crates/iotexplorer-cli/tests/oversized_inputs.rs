//! A file or standard input larger than anything the command could mean (a wrong path,
//! `/dev/zero`) ends in a clear error naming it and the bound, and is never read whole.

mod support;

use std::path::{Path, PathBuf};

use iotexplorer_model::MAX_REQUEST_BODY_BYTES;
use support::{Outcome, run_binary, temp_dir};

/// A file of `bytes` zero bytes; sparse, so it costs no disk.
fn zeros(dir: &Path, name: &str, bytes: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|file| file.set_len(bytes))
        .expect("a sparse file");
    path
}

/// The paths to try: a file one byte over `limit`, and the endless `/dev/zero`.
fn oversized(dir: &Path, limit: u64) -> Vec<String> {
    let mut paths = vec![zeros(dir, "oversized", limit + 1).display().to_string()];
    if Path::new("/dev/zero").exists() {
        paths.push("/dev/zero".to_owned());
    }
    paths
}

fn assert_refused(outcome: &Outcome, code: u8, path: &str, limit: u64) {
    assert_eq!(outcome.code, code, "{path}: {outcome:?}");
    assert!(
        outcome.stderr.contains(path)
            && outcome.stderr.contains(&format!("more than {limit} bytes")),
        "{path}: {}",
        outcome.stderr
    );
}

#[test]
fn a_cli_input_json_file_larger_than_a_request_body_is_refused() {
    let dir = temp_dir("oversized-input");
    let limit = MAX_REQUEST_BODY_BYTES as u64;
    // The largest the service accepts is still read (and then found not to be JSON).
    let largest = zeros(dir.path(), "largest", limit);
    let outcome = run_binary(
        &[
            "BatchUpdateFirmware",
            "--cli-input-json",
            &format!("file://{}", largest.display()),
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(
        outcome.stderr.contains("not valid JSON"),
        "{}",
        outcome.stderr
    );
    for path in oversized(dir.path(), limit) {
        let outcome = run_binary(
            &[
                "BatchUpdateFirmware",
                "--cli-input-json",
                &format!("file://{path}"),
            ],
            &[],
            "",
        );
        assert_refused(&outcome, 2, &path, limit);
    }
}

#[test]
fn a_devices_file_larger_than_any_device_list_is_refused() {
    let dir = temp_dir("oversized-devices");
    let journal = dir.path().join("rollout.journal").display().to_string();
    for path in oversized(dir.path(), 64 * 1024 * 1024) {
        let outcome = run_binary(
            &[
                "rollout",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--FwType",
                "mcu",
                "--devices",
                &path,
                "--journal",
                &journal,
                "--dry-run",
            ],
            &[],
            "",
        );
        assert_refused(&outcome, 2, &path, 64 * 1024 * 1024);
    }
}

#[test]
fn a_tccli_profile_file_larger_than_tccli_writes_is_refused() {
    let home = temp_dir("oversized-tccli");
    let tccli = home.path().join(".tccli");
    std::fs::create_dir_all(&tccli).expect("~/.tccli");
    let credential = zeros(&tccli, "default.credential", 1024 * 1024 + 1);
    let outcome = run_binary(
        &[
            "--region",
            "ap-guangzhou",
            "DescribeFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
        ],
        &[("HOME", home.path().to_str().expect("UTF-8 home"))],
        "",
    );
    assert_ne!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stderr.contains(&credential.display().to_string())
            && outcome.stderr.contains("more than 1048576 bytes"),
        "{}",
        outcome.stderr
    );
}
