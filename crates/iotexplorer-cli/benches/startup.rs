//! From process start to the last byte of output, for `iotexplorer search`,
//! `--generate-code`, `--generate-cli-skeleton` and a call (with `--filter`) against a local
//! emulator: the medians (and 90th percentiles) of many runs of the optimised binary, each
//! a fresh process, as a user at a shell sees it.
//!
//! `cargo bench -p iotexplorer-cli --bench startup`

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs per command; the first few warm the page cache and are left out.
const RUNS: usize = 101;
const WARM_UP: usize = 5;

fn main() {
    let binary = env!("CARGO_BIN_EXE_iotexplorer");
    // An emulator of its own, without rate limiting, for the calls.
    let mut emulator = Command::new(binary)
        .args(["emulator", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(emulator.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let call: Vec<&str> = vec![
        "--endpoint",
        &url,
        "--region",
        "ap-guangzhou",
        "--secretId",
        iotexplorer_emulator::DEMO_SECRET_ID,
        "--secretKey",
        iotexplorer_emulator::DEMO_SECRET_KEY,
        "DescribeFirmwareTasks",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
        "--Offset",
        "0",
        "--Limit",
        "10",
    ];
    let filtered: Vec<&str> = call
        .iter()
        .copied()
        .chain(["--filter", "{Total: Total, Ids: TaskInfos[].TaskId}"])
        .collect();
    let commands: &[(&str, &[&str])] = &[
        ("call, local emulator", &call),
        ("call, local emulator, --filter", &filtered),
        (
            "--generate-cli-skeleton",
            &["BatchUpdateFirmware", "--generate-cli-skeleton"],
        ),
        (
            "search firmware upgrade (English)",
            &["search", "batch", "upgrade", "firmware"],
        ),
        ("search 固件 升级 (Chinese)", &["search", "固件", "升级"]),
        (
            "search frimware updte (typos)",
            &["search", "frimware", "updte"],
        ),
        (
            "search --output json",
            &["search", "firmware", "--output", "json"],
        ),
        ("unknown action, did you mean", &["BatchUpdateFirmwar"]),
        (
            "--generate-code rust",
            &[
                "BatchUpdateFirmware",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--DeviceNames",
                r#"["dev001","dev002"]"#,
                "--generate-code",
                "rust",
            ],
        ),
        (
            "--generate-code python",
            &[
                "DescribeFirmwareTasks",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--Offset",
                "0",
                "--Limit",
                "10",
                "--Filters",
                r#"[{"Key":"Status","Value":"1"}]"#,
                "--generate-code",
                "python",
            ],
        ),
        (
            "--generate-code curl (signs)",
            &[
                "--region",
                "ap-guangzhou",
                "BatchUpdateFirmware",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--generate-code",
                "curl",
            ],
        ),
    ];
    println!(
        "{:<36} {:>10} {:>10} {:>10}",
        "command", "median", "p90", "max"
    );
    for (label, args) in commands {
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                let output = Command::new(binary)
                    .args(*args)
                    .env_clear()
                    .env("TENCENTCLOUD_SECRET_ID", "AKIDBENCHEXAMPLE")
                    .env("TENCENTCLOUD_SECRET_KEY", "bench-secret-key")
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let elapsed = started.elapsed();
                assert!(
                    !output.stdout.is_empty() || !output.stderr.is_empty(),
                    "{label}: no output"
                );
                elapsed
            })
            .skip(WARM_UP)
            .collect();
        times.sort();
        let at = |share: f64| {
            let index = ((times.len() - 1) as f64 * share).round() as usize;
            times[index]
        };
        println!(
            "{label:<36} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            at(0.5).as_secs_f64() * 1e3,
            at(0.9).as_secs_f64() * 1e3,
            at(1.0).as_secs_f64() * 1e3,
        );
    }
    let _ = emulator.kill();
    let _ = emulator.wait();
}
