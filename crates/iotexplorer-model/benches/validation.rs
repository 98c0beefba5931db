//! What checking a large `BatchUpdateFirmware` costs: 80,000 distinct device names (a valid
//! request) and 200,000 copies of one name (a refused one), both as a typed request and as
//! raw JSON the way a server receives it. Prints milliseconds per check (the median over
//! the runs that fit in a short budget) and, for refusals, the size of the error text.

#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use iotexplorer_model::{BatchUpdateFirmwareRequest, check_request_json};
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

fn raw(body: &Value) -> Result<(), String> {
    check_request_json("BatchUpdateFirmware", body).map_err(|problems| problems.to_string())
}

fn main() {
    let distinct = distinct_names(80_000);
    let copies = copies_of_one_name(200_000);
    let distinct_body = body(&distinct);
    let copies_body = body(&copies);
    measure("typed, 80,000 distinct names", || typed(&distinct));
    measure("raw JSON, 80,000 distinct names", || raw(&distinct_body));
    measure("typed, 200,000 copies of one name", || typed(&copies));
    measure("raw JSON, 200,000 copies of one name", || raw(&copies_body));
}
