//! Sequential calls of one action over keep-alive, for `scripts/bench-vs-python-sdk.sh`:
//! prints the calls per second, then the processor time this process spent per call, in
//! microseconds (from `/proc/self/stat`, where there is one).
//!
//! ```text
//! sequential_calls URL ACTION SECONDS
//! ```
//!
//! `ACTION` is `DescribeFirmware` or `BatchUpdateFirmware`, with the emulator's demo
//! product and credentials; rate limiting is off, so the loop runs as fast as the client
//! and the server allow.

#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use iotexplorer_http::{Client, Error, RetryPolicy};
use iotexplorer_model::{Action, BatchUpdateFirmwareRequest, DescribeFirmwareRequest};

const SECRET_ID: &str = "AKIDEMULATOREXAMPLE";
const SECRET_KEY: &str = "emulator-demo-secret-key-not-for-production";
const PRODUCT: &str = "ABCDE12345";

/// Calls `request` until `seconds` have passed; the number of calls and the time taken.
async fn run<A: Action>(client: &Client, request: &A, seconds: f64) -> Result<Measured, Error> {
    // Warm up the connection and the signer.
    for _ in 0..20 {
        client.send(request).await?;
    }
    let run_for = Duration::from_secs_f64(seconds);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < run_for {
        client.send(request).await?;
        calls += 1;
    }
    let took = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    Ok(Measured { calls, took, cpu })
}

struct Measured {
    calls: u64,
    took: Duration,
    cpu: Option<Duration>,
}

/// The processor time (user and system) of this process so far, on Linux.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports these in USER_HZ, 100 per second on every common platform.
    Some(Duration::from_millis(ticks * 10))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, action, seconds] = args.as_slice() else {
        eprintln!("usage: sequential_calls URL DescribeFirmware|BatchUpdateFirmware SECONDS");
        return ExitCode::from(2);
    };
    let Ok(seconds) = seconds.parse::<f64>() else {
        eprintln!("SECONDS must be a number");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // The calls run as a task of the runtime rather than as the future `block_on` drives:
    // each time that future is woken, the runtime first polls its I/O driver without
    // waiting, one more system call per call; a woken task is simply run.
    let (url, chosen) = (url.clone(), action.clone());
    let calls = async move {
        let client = Client::builder()
            .endpoint_url(url.as_str())
            .region("ap-guangzhou")
            .static_credentials(SECRET_ID, SECRET_KEY)
            .proxy(iotexplorer_http::Proxy::none())
            .rate_limit(None)
            .retry_policy(RetryPolicy::none())
            .build()?;
        match chosen.as_str() {
            "DescribeFirmware" => {
                let request = DescribeFirmwareRequest::builder()
                    .product_id(PRODUCT)
                    .firmware_version("2.0.0")
                    .build()
                    .map_err(|err| Error::Config(err.to_string()))?;
                run(&client, &request, seconds).await
            }
            "BatchUpdateFirmware" => {
                // Replaces the devices' task each time, so that every call creates one.
                let request = BatchUpdateFirmwareRequest::builder()
                    .product_id(PRODUCT)
                    .firmware_version("2.0.0")
                    .device_names("dev001")
                    .device_names("dev002")
                    .override_mode(iotexplorer_model::OverrideMode::Override)
                    .build()
                    .map_err(|err| Error::Config(err.to_string()))?;
                run(&client, &request, seconds).await
            }
            other => Err(Error::Config(format!("unknown action {other}"))),
        }
    };
    let outcome = match runtime.block_on(runtime.spawn(calls)) {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("{action}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match outcome {
        Ok(Measured { calls, took, cpu }) => {
            let per_call = cpu.map_or_else(
                || "-".to_owned(),
                |cpu| format!("{:.1}", cpu.as_secs_f64() * 1e6 / calls as f64),
            );
            println!("{:.1} {per_call}", calls as f64 / took.as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{action}: {err}");
            ExitCode::FAILURE
        }
    }
}
