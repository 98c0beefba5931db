//! What checking a `BatchUpdateFirmware` costs: 80,000 distinct device names (a valid
//! request) and 200,000 copies of one name (a refused one), built as a typed request (the
//! builder's copy of the names included), checked once built (`validate`, which walks the
//! typed value), checked the way typed requests were before (rendered to a
//! `serde_json::Value`, then checked as JSON), and as raw JSON the way a server receives
//! it; then the small request of `examples/sequential_calls.rs`, per check (read from JSON,
//! so walked; from its builder, whose mark spares the walk before a send). Prints
//! milliseconds per check (the median over the runs that fit in a short budget) and, for
//! refusals, the size of the error text.

#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use iotexplorer_model::{
    Action, BatchUpdateFirmwareRequest, OverrideMode, Validate, check_request_json,
};
use serde_json::{Value, json};

/// Keep running a case until this much time has gone by (at least one run).
const BUDGET: Duration = Duration::from_secs(2);
/// Never more runs than this.
const MAX_RUNS: usize = 50;

fn distinct_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("device-{index:06}"))
        .collect()
}

fn copies_of_one_name(count: usize) -> Vec<String> {
    vec!["device-000000".to_owned(); count]
}

fn body(names: &[String]) -> Value {
    json!({
        "ProductID": "ABCDE12345",
        "FirmwareVersion": "2.0.0",
        "DeviceNames": names,
        "TimeoutInterval": 300,
    })
}

/// Runs `check` within the budget; prints the median time and what the check reported.
fn measure(label: &str, mut check: impl FnMut() -> Result<(), String>) {
    let mut times = Vec::new();
    let mut outcome = Ok(());
    let start = Instant::now();
    while times.is_empty() || (start.elapsed() < BUDGET && times.len() < MAX_RUNS) {
        let run = Instant::now();
        outcome = black_box(check());
        times.push(run.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let verdict = match &outcome {
        Ok(()) => "accepted".to_owned(),
        Err(text) => format!("refused, error text {} bytes", text.len()),
    };
    println!(
        "{label:<48} {:>10.2} ms  ({} run{}, {verdict})",
        median.as_secs_f64() * 1e3,
        times.len(),
        if times.len() == 1 { "" } else { "s" },
    );
}

fn typed(names: &[String]) -> Result<(), String> {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .set_device_names(Some(names.to_vec()))
        .timeout_interval(300)
        .build()
        .map(drop)
        .map_err(|errors| errors.to_string())
}

/// A typed request, read from JSON, so that it may break rules.
fn built(body: &Value) -> BatchUpdateFirmwareRequest {
    serde_json::from_value(body.clone()).expect("a BatchUpdateFirmware request")
}

/// The check of a typed request: a walk of the typed value.
fn walked(request: &BatchUpdateFirmwareRequest) -> Result<(), String> {
    request.validate().map_err(|errors| errors.to_string())
}

/// The check of a typed request as it was done before the walk: rendered to a `Value`,
/// then checked as JSON.
fn through_value(request: &BatchUpdateFirmwareRequest) -> Result<(), String> {
    let body = serde_json::to_value(request).map_err(|err| err.to_string())?;
    BatchUpdateFirmwareRequest::meta()
        .check_json(&body)
        .map_err(|errors| errors.to_string())
}

/// Runs `check` `REPEATS` times per run, within the budget; prints the median time of one
/// check in microseconds.
fn measure_small(label: &str, mut check: impl FnMut() -> Result<(), String>) {
    const REPEATS: u32 = 10_000;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.is_empty() || (start.elapsed() < BUDGET && times.len() < MAX_RUNS) {
        let run = Instant::now();
        for _ in 0..REPEATS {
            if black_box(check()).is_err() {
                println!("{label}: refused");
                return;
            }
        }
        times.push(run.elapsed() / REPEATS);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{label:<48} {:>10.3} us  ({} runs of {REPEATS})",
        median.as_secs_f64() * 1e6,
        times.len(),
    );
}

fn raw(body: &Value) -> Result<(), String> {
    check_request_json("BatchUpdateFirmware", body).map_err(|problems| problems.to_string())
}

fn main() {
    let distinct = distinct_names(80_000);
    let copies = copies_of_one_name(200_000);
    let distinct_body = body(&distinct);
    let copies_body = body(&copies);
    let distinct_request = built(&distinct_body);
    let copies_request = built(&copies_body);
    measure("typed build, 80,000 distinct names", || typed(&distinct));
    measure("typed validate, 80,000 distinct names", || {
        walked(&distinct_request)
    });
    measure("typed through Value, 80,000 distinct names", || {
        through_value(&distinct_request)
    });
    measure("raw JSON, 80,000 distinct names", || raw(&distinct_body));
    measure("typed build, 200,000 copies of one name", || typed(&copies));
    measure("typed validate, 200,000 copies of one name", || {
        walked(&copies_request)
    });
    measure("typed through Value, 200,000 copies of one name", || {
        through_value(&copies_request)
    });
    measure("raw JSON, 200,000 copies of one name", || raw(&copies_body));

    let small_built = BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .device_names("dev001")
        .device_names("dev002")
        .override_mode(OverrideMode::Override)
        .build()
        .expect("a valid request");
    let small = built(&serde_json::to_value(&small_built).expect("a request renders"));
    measure_small("typed validate, the sequential_calls request", || {
        walked(&small)
    });
    measure_small("typed through Value, the sequential_calls request", || {
        through_value(&small)
    });
    measure_small("typed validate, the same from its builder", || {
        walked(&small_built)
    });
}
