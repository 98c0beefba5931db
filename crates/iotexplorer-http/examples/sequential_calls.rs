//! Sequential calls of one action over keep-alive, for `scripts/bench-vs-python-sdk.sh`:
//! prints the calls per second and where the time of a call goes.
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
async fn run<A: Action>(client: &Client, request: &A, seconds: f64) -> Result<(u64, Duration), Error> {
    // Warm up the connection and the signer.
    for _ in 0..20 {
        client.send(request).await?;
    }
    let run_for = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < run_for {
        client.send(request).await?;
        calls += 1;
    }
    Ok((calls, started.elapsed()))
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
    let outcome = runtime.block_on(async {
        let client = Client::builder()
            .endpoint_url(url.as_str())
            .region("ap-guangzhou")
            .static_credentials(SECRET_ID, SECRET_KEY)
            .proxy(iotexplorer_http::Proxy::none())
            .rate_limit(None)
            .retry_policy(RetryPolicy::none())
            .build()?;
        match action.as_str() {
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
                    .override_mode(1u64)
                    .build()
                    .map_err(|err| Error::Config(err.to_string()))?;
                run(&client, &request, seconds).await
            }
            other => Err(Error::Config(format!("unknown action {other}"))),
        }
    });
    match outcome {
        Ok((calls, took)) => {
            println!("{:.1}", calls as f64 / took.as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{action}: {err}");
            ExitCode::FAILURE
        }
    }
}
