//! Submission makespan of a 10,000-device rollout in batches of 100 against the emulator
//! at its default 20 requests/s, against the ideal (calls / 20 s), and the number of
//! requests the emulator refused for the rate.
//!
//! `cargo bench -p iotexplorer-rollout`

#![allow(clippy::print_stdout, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings};
use iotexplorer_http::Client;
use iotexplorer_rollout::{Event, Rollout, RolloutSpec, Settings, parse_waves};
use serde_json::json;

const DEVICES: usize = 10_000;
const BATCH: usize = 100;
const SECRET_ID: &str = "AKIDROLLOUTBENCH";
const SECRET_KEY: &str = "rollout-bench-secret-key";

#[derive(Default)]
struct Timeline {
    first_wave: Option<Instant>,
    last_submitted: Option<Instant>,
    submitted: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let names: Vec<String> = (0..DEVICES).map(|n| format!("dev{n:05}")).collect();
    let fixture = Fixture::from_json(
        &json!({
            "credentials": [{"secret_id": SECRET_ID, "secret_key": SECRET_KEY}],
            "products": [{
                "product_id": "BENCH00001",
                "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
                "devices": names.iter().map(|n| json!({"name": n, "firmware_version": "1.0.0"})).collect::<Vec<_>>(),
            }],
        })
        .to_string(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // The emulator's default rate limit: 20 requests per action per second.
        let emulator = Emulator::builder()
            .fixture(fixture)
            .progress(ProgressSettings::default().with_step_ms(60_000))
            .start("127.0.0.1:0")
            .await?;
        // The client's default pacing: 20 calls per action per second.
        let client = Client::builder()
            .endpoint_url(emulator.url())
            .region("ap-guangzhou")
            .static_credentials(SECRET_ID, SECRET_KEY)
            .build()?;
        let waves = parse_waves("100%")?;
        let mut spec = RolloutSpec::new("BENCH00001", "2.0.0", &names, waves, BATCH)?;
        spec.max_failure_rate = 1.0;
        spec.wave_timeout_secs = 0;
        let calls = spec.plan.batch_count();
        let dir = std::env::temp_dir().join(format!("iotexplorer-rollout-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let journal = dir.join("bench.journal");
        let _ = std::fs::remove_file(&journal);

        let timeline = Arc::new(Mutex::new(Timeline::default()));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let done_tx = Mutex::new(Some(done_tx));
        let seen = Arc::clone(&timeline);
        let observer = move |event: &Event| {
            let Ok(mut timeline) = seen.lock() else { return };
            match event {
                Event::WaveStarted { .. } => timeline.first_wave = Some(Instant::now()),
                Event::Submitted { .. } => {
                    timeline.submitted += 1;
                    timeline.last_submitted = Some(Instant::now());
                    if timeline.submitted == calls
                        && let Ok(mut sender) = done_tx.lock()
                        && let Some(sender) = sender.take()
                    {
                        let _ = sender.send(());
                    }
                }
                _ => {}
            }
        };
        let mut rollout = Rollout::create(
            &journal,
            spec,
            &client,
            Settings::default(),
            Box::new(observer),
        )?;
        let arrivals_before = emulator.arrivals();
        // Only the submission phase is measured: the run is dropped once every call is in.
        tokio::select! {
            result = rollout.run() => { result?; }
            _ = done_rx => {}
        }
        let arrivals = emulator.arrivals() - arrivals_before;
        let (makespan, submitted) = {
            let timeline = timeline.lock().map_err(|_| "poisoned")?;
            let makespan = match (timeline.first_wave, timeline.last_submitted) {
                (Some(first), Some(last)) => last.duration_since(first),
                _ => Duration::ZERO,
            };
            (makespan, timeline.submitted)
        };
        let ideal = calls as f64 / 20.0;
        let refusals = arrivals.saturating_sub(calls as u64);
        println!("rollout submission: {DEVICES} devices, batch size {BATCH}, {calls} calls, emulator at 20 requests/s");
        println!("  submitted calls:            {submitted}");
        println!("  makespan:                   {:.3} s", makespan.as_secs_f64());
        println!("  ideal (calls / 20 s):       {ideal:.3} s");
        println!(
            "  makespan / ideal:           {:.3} (target <= 1.10)",
            makespan.as_secs_f64() / ideal
        );
        println!("  requests that arrived:      {arrivals}");
        println!("  RequestLimitExceeded refusals: {refusals} (target 0)");
        drop(rollout);
        emulator.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
