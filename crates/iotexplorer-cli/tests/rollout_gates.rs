//! Gates, aborts, pauses, dry runs, status and usage errors of `iotexplorer rollout`,
//! each against an emulator in the test process with the real binary.

mod rollout_common;

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStringExt as _;
use std::process::Output;

use iotexplorer_emulator::ProgressSettings;
use iotexplorer_model::{
    Action, BatchUpdateFirmwareRequest, DescribeFirmwareTaskRequest, FirmwareTaskStatus,
};
use rollout_common::{Lab, PRODUCT, device_names, journal_tasks, planned_batches};
use serde_json::Value;

fn run(lab: &Lab, args: &[&str]) -> Output {
    lab.command().args(args).output().expect("run")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn start_args<'a>(devices: &'a str, journal: &'a str) -> Vec<&'a str> {
    vec![
        "rollout",
        "--ProductID",
        PRODUCT,
        "--FirmwareVersion",
        "2.0.0",
        "--FwType",
        "mcu",
        "--devices",
        devices,
        "--journal",
        journal,
        "--batch-size",
        "5",
        "--wave-timeout",
        "30",
    ]
}

#[test]
fn a_wave_over_the_failure_threshold_stops_the_rollout() {
    let lab = Lab::start(
        "abort",
        40,
        ProgressSettings::default()
            .with_step_ms(20)
            .with_failure_rate(1.0),
    );
    let names = device_names(40);
    let (devices, journal_text, journal) = lab.rollout_paths(&names, "abort.journal");
    let mut args = start_args(&devices, &journal_text);
    args.extend([
        "--waves",
        "25%,100%",
        "--max-failure-rate",
        "0.2",
        "--MaxRetryNum",
        "0",
    ]);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("aborted"),
        "{}",
        text(&output.stdout)
    );

    let records = lab.journal_records(&journal);
    assert!(records.iter().any(|r| r["record"] == "aborted"));
    let gate = records
        .iter()
        .find(|r| r["record"] == "gate")
        .expect("gate");
    assert_eq!(gate["wave"], 1);
    assert_eq!(gate["passed"], false);
    // Only the first wave's batches were ever submitted …
    let planned = planned_batches(&records);
    let first_wave: BTreeSet<&String> = planned.keys().filter(|b| b.starts_with("1-")).collect();
    let submitted = journal_tasks(&records);
    assert_eq!(submitted.keys().collect::<BTreeSet<_>>(), first_wave);
    // … and the service never saw a device of the second.
    let on_service = lab.service_tasks();
    assert_eq!(on_service.len(), first_wave.len());
    let wave_one: BTreeSet<&String> = names[..10].iter().collect();
    for (_, devices) in on_service.values() {
        for device in devices {
            assert!(
                wave_one.contains(device),
                "{device} belongs to a later wave"
            );
        }
    }

    // Resuming an aborted rollout sends and writes nothing, and still exits 1.
    let before = std::fs::read(&journal).expect("journal");
    let arrivals = lab.emulator().arrivals();
    let output = run(&lab, &["rollout", "resume", &journal_text]);
    assert_eq!(code(&output), 1);
    assert_eq!(std::fs::read(&journal).expect("journal"), before);
    assert_eq!(lab.emulator().arrivals(), arrivals);
}

#[test]
fn an_abort_cancels_unfinished_tasks_when_asked() {
    // Half the devices stall until a long timeout, the others all fail quickly: the first
    // failure aborts (threshold 0) while stalled devices are still updating. Every device
    // that does not stall fails, so that both kinds are there whatever the emulator's
    // seed (with half of those failing too, one run in a few hundred had none); the
    // stalls last 90 stages (9 s), far beyond the 0.3 s a quick failure takes and any
    // gap between two looks at the wave.
    let mut progress = ProgressSettings::default()
        .with_step_ms(100)
        .with_failure_rate(1.0)
        .with_timeout_rate(0.5);
    progress.seconds_per_step = 10;
    let lab = Lab::start("cancel", 20, progress);
    let (devices, journal_text, journal) = lab.rollout_paths(&device_names(20), "cancel.journal");
    let mut args = start_args(&devices, &journal_text);
    args.extend([
        "--waves",
        "100%",
        "--max-failure-rate",
        "0",
        "--cancel-on-abort",
        "--MaxRetryNum",
        "0",
        "--TimeoutInterval",
        "900",
    ]);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let records = lab.journal_records(&journal);
    let cancelled: Vec<u64> = records
        .iter()
        .filter(|r| r["record"] == "cancelled")
        .flat_map(|r| r["task_ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_u64())
        .collect();
    assert!(!cancelled.is_empty(), "{}", text(&output.stderr));
    let client = lab.client();
    for task in cancelled {
        let request = DescribeFirmwareTaskRequest::builder()
            .product_id(PRODUCT)
            .firmware_version("2.0.0")
            .task_id(task)
            .build()
            .expect("request");
        let described = lab.runtime.block_on(client.send(&request)).expect("task");
        assert_eq!(
            described.status,
            Some(FirmwareTaskStatus::Cancelled),
            "task {task} is cancelled"
        );
    }
}

#[test]
fn a_dry_run_prints_the_plan_and_sends_nothing() {
    let lab = Lab::start("dry", 10, ProgressSettings::default());
    let (devices, journal_text, journal) = lab.rollout_paths(&device_names(10), "dry.journal");
    let mut args = start_args(&devices, &journal_text);
    args.extend(["--waves", "10%,50%,100%", "--dry-run", "--output", "json"]);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let preview: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(preview["devices"], 10);
    assert_eq!(preview["calls"], 3);
    let sizes: Vec<u64> = preview["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .filter_map(|w| w["devices"].as_u64())
        .collect();
    assert_eq!(sizes, [1, 4, 5]);
    assert!((preview["expected_submission_secs"].as_f64().unwrap_or(0.0) - 0.15).abs() < 1e-9);

    args.truncate(args.len() - 2);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 0);
    assert!(text(&output.stdout).contains("expected submission time"));
    assert_eq!(lab.emulator().arrivals(), 0, "a dry run sends nothing");
    assert!(!journal.exists(), "a dry run writes no journal");
}

#[test]
fn a_paused_rollout_waits_for_resume_and_status_reports_each_device() {
    let lab = Lab::start("pause", 12, ProgressSettings::default().with_step_ms(20));
    let (devices, journal_text, _) = lab.rollout_paths(&device_names(12), "pause.journal");
    let mut args = start_args(&devices, &journal_text);
    args.extend(["--waves", "4", "--pause-after-wave"]);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("paused"));
    assert!(text(&output.stderr).contains("paused after wave 1"));
    assert_eq!(lab.service_tasks().len(), 1, "only the first wave");

    let status = run(
        &lab,
        &["rollout", "status", &journal_text, "--output", "json"],
    );
    assert_eq!(code(&status), 0);
    let report: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(report["state"], "paused");
    let results: Vec<&str> = report["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["result"].as_str())
        .collect();
    assert_eq!(results.len(), 12);
    assert_eq!(results.iter().filter(|r| **r == "succeeded").count(), 4);
    assert_eq!(results.iter().filter(|r| **r == "not_submitted").count(), 8);

    let output = run(
        &lab,
        &["rollout", "resume", &journal_text, "--output", "json"],
    );
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["state"], "finished");
    assert_eq!(lab.service_tasks().len(), 3);

    let status = run(&lab, &["rollout", "status", &journal_text]);
    let table = text(&status.stdout);
    assert!(table.contains("finished"));
    assert!(table.contains("dev0011"), "{table}");
}

#[test]
fn all_devices_takes_those_not_yet_on_the_version() {
    let lab = Lab::start("all", 12, ProgressSettings::default().with_step_ms(20));
    let devices = lab.devices_file(&device_names(3));
    let first = lab.path("first.journal");
    let (devices, first_text) = (devices.display().to_string(), first.display().to_string());
    let mut args = start_args(&devices, &first_text);
    args.extend(["--waves", "100%"]);
    let output = run(&lab, &args);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));

    let second = lab.path("second.journal").display().to_string();
    let output = run(
        &lab,
        &[
            "rollout",
            "--ProductID",
            PRODUCT,
            "--FirmwareVersion",
            "2.0.0",
            "--all-devices",
            "--journal",
            &second,
            "--waves",
            "100%",
            "--output",
            "json",
        ],
    );
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["devices_total"], 9);
    let names: BTreeSet<&str> = report["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["device"].as_str())
        .collect();
    assert!(!names.contains("dev0000") && names.contains("dev0011"));
}

#[test]
fn debug_shows_each_request_as_it_was_sent() {
    let lab = Lab::start("debug", 3, ProgressSettings::default().with_step_ms(20));
    let (devices, journal_text, _) = lab.rollout_paths(&device_names(3), "debug.journal");
    let mut args = vec!["--debug"];
    args.extend(start_args(&devices, &journal_text));
    args.extend(["--waves", "100%"]);
    let output = run(&lab, &args);
    let stderr = text(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    // Each request the client sent, as it sent it, the signature masked.
    let sent = stderr.matches("request:\n").count();
    let actions: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix("\"x-tc-action\": "))
        .collect();
    assert_eq!(sent, actions.len(), "{stderr}");
    assert_eq!(
        actions
            .iter()
            .filter(|action| action.contains(BatchUpdateFirmwareRequest::NAME))
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(sent as u64, lab.emulator().arrivals(), "{stderr}");
    assert!(stderr.contains("Signature=** redacted **"), "{stderr}");
    assert!(!stderr.contains(rollout_common::SECRET_KEY), "{stderr}");

    // Without `--debug`, no request is shown.
    let (devices, journal_text, _) = lab.rollout_paths(&device_names(3), "quiet.journal");
    let output = run(&lab, &start_args(&devices, &journal_text));
    assert!(!text(&output.stderr).contains("request:"));
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let lab = Lab::start("usage", 5, ProgressSettings::default());
    let devices = lab.devices_file(&device_names(5));
    let duplicated = lab.path("dup.txt");
    std::fs::write(&duplicated, "dev0001\ndev0002\ndev0001\n").expect("write");
    let existing = lab.path("existing.journal");
    std::fs::write(&existing, "").expect("write");
    let (devices, existing) = (
        devices.display().to_string(),
        existing.display().to_string(),
    );
    let duplicated = duplicated.display().to_string();
    let fresh = lab.path("fresh.journal").display().to_string();
    let cases: Vec<Vec<&str>> = vec![
        [start_args(&devices, &existing), vec![]].concat(),
        [start_args(&devices, &fresh), vec!["--waves", "50%,10%"]].concat(),
        [start_args(&devices, &fresh), vec!["--batch-size", "101"]].concat(),
        [start_args(&duplicated, &fresh), vec![]].concat(),
        [
            start_args(&devices, &fresh),
            vec!["--max-failure-rate", "2"],
        ]
        .concat(),
        [
            start_args(&devices, &fresh),
            vec!["--UpgradeMethod", "soon"],
        ]
        .concat(),
        [start_args(&devices, &fresh), vec!["--all-devices"]].concat(),
        vec!["rollout", "resume", "/nonexistent/journal"],
    ];
    for args in cases {
        let output = run(&lab, &args);
        assert_eq!(code(&output), 2, "{args:?}: {}", text(&output.stderr));
    }
    assert_eq!(lab.emulator().arrivals(), 0);
}

#[test]
fn an_unreachable_endpoint_exits_3() {
    let lab = Lab::start("unreachable", 5, ProgressSettings::default());
    let devices = lab.devices_file(&device_names(5));
    let journal = lab.path("down.journal").display().to_string();
    let devices = devices.display().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--region",
            "ap-guangzhou",
        ])
        .args([
            "--secretId",
            rollout_common::SECRET_ID,
            "--secretKey",
            rollout_common::SECRET_KEY,
        ])
        .args(["--timeout", "5"])
        .args(start_args(&devices, &journal))
        .output()
        .expect("run");
    assert_eq!(code(&output), 3, "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains(rollout_common::SECRET_KEY));
}

#[test]
fn the_services_words_reach_the_terminal_escaped() {
    use iotexplorer_emulator::{FaultKind, FaultRule};
    // A refusal whose message would clear the screen and retitle the terminal.
    const HOSTILE: &str = "no\u{1b}[2J\u{1b}]0;owned\u{7}\r\u{1b}[1Aroom";
    let lab = Lab::start("escapes", 5, ProgressSettings::default());
    lab.emulator().faults().push(
        FaultRule::new(FaultKind::Error {
            code: iotexplorer_model::ErrorCode::FailedOperation,
            message: Some(HOSTILE.to_owned()),
        })
        .for_action("BatchUpdateFirmware"),
    );
    let devices = lab.devices_file(&device_names(5));
    let journal = lab.path("escapes.journal");
    let (devices, journal) = (devices.display().to_string(), journal.display().to_string());
    let started = run(&lab, &start_args(&devices, &journal));
    assert_eq!(code(&started), 1, "{}", text(&started.stderr));
    let status = run(&lab, &["rollout", "status", &journal]);
    for (what, bytes) in [
        ("stdout", &started.stdout),
        ("stderr", &started.stderr),
        ("status", &status.stdout),
    ] {
        let shown = text(bytes);
        assert!(
            !shown.contains(['\u{1b}', '\u{7}', '\r']),
            "{what} holds the service's control characters: {shown:?}"
        );
    }
    // The refusal is still told, its control characters written out.
    let told = format!("{}{}", text(&started.stdout), text(&started.stderr));
    assert!(told.contains(r"no\u{1b}[2J"), "{told}");
    assert!(
        text(&status.stdout).contains(r"no\u{1b}[2J"),
        "{}",
        text(&status.stdout)
    );
}

#[test]
fn the_waits_for_unknown_outcomes_are_read_strictly_and_a_short_resend_wait_is_warned_of() {
    let lab = Lab::start("waits", 5, ProgressSettings::default());
    let (devices, journal_text, journal) = lab.rollout_paths(&device_names(5), "waits.journal");
    let args = start_args(&devices, &journal_text);
    let dry_run = [args.clone(), vec!["--dry-run"]].concat();

    // A value that is no whole number of milliseconds is refused, not ignored.
    for (name, value) in [
        ("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS", "6min"),
        ("IOTEXPLORER_ROLLOUT_RECONCILE_MS", "-1"),
    ] {
        for args in [&args, &dry_run] {
            let output = lab
                .command()
                .env(name, value)
                .args(args)
                .output()
                .expect("run");
            assert_eq!(code(&output), 2, "{name}={value}: {}", text(&output.stderr));
            let stderr = text(&output.stderr);
            assert!(stderr.contains(name) && stderr.contains(value), "{stderr}");
        }
    }
    // Nor is one that is not UTF-8 taken as unset.
    let not_utf8 = std::ffi::OsString::from_vec(b"36\xff0000".to_vec());
    let output = lab
        .command()
        .env("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS", &not_utf8)
        .args(&dry_run)
        .output()
        .expect("run");
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(lab.emulator().arrivals(), 0);
    assert!(!journal.exists());

    // The lab's 1 s is far below the service's limit: said once, before anything is sent.
    let output = run(&lab, &dry_run);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS=1000") && stderr.contains("360000"),
        "{stderr}"
    );

    // At or above the default, or unset (or empty), nothing is said.
    for value in [Some("360000"), Some(" 900000 "), Some(""), None] {
        let mut command = lab.command();
        match value {
            Some(value) => command.env("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS", value),
            None => command.env_remove("IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS"),
        };
        let output = command.args(&dry_run).output().expect("run");
        assert_eq!(code(&output), 0, "{value:?}: {}", text(&output.stderr));
        assert!(
            !text(&output.stderr).contains("warning"),
            "{value:?}: {}",
            text(&output.stderr)
        );
    }
}
