//! The engine in process against the emulator: lost answers are reconciled, refused
//! calls resent, and each batch ends with exactly one task.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use iotexplorer_emulator::{Emulator, FaultKind, FaultRule, Fixture, ProgressSettings};
use iotexplorer_http::Client;
use iotexplorer_rollout::{
    BatchState, Event, Outcome, Plan, Record, Report, Rollout, RolloutSpec, RolloutState, Settings,
    WaveCheckTiming, parse_waves,
};
use serde_json::json;

const SECRET_ID: &str = "AKIDENGINETEST";
const SECRET_KEY: &str = "engine-test-key";

fn fixture(count: usize) -> Fixture {
    let devices: Vec<_> = (0..count)
        .map(|n| json!({"name": format!("dev{n:03}"), "firmware_version": "1.0.0"}))
        .collect();
    Fixture::from_json(
        &json!({
            "credentials": [{"secret_id": SECRET_ID, "secret_key": SECRET_KEY}],
            "products": [{"product_id": "ENGINE0001",
                          "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
                          "devices": devices}],
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_are_reconciled_and_nothing_is_submitted_twice() {
    let emulator = Emulator::builder()
        .fixture(fixture(30))
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(10))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    // Two answers lost after the task was made, two gateway errors before it was.
    emulator.faults().push(
        FaultRule::new(FaultKind::DropAfter)
            .for_action("BatchUpdateFirmware")
            .times(2),
    );
    emulator.faults().push(
        FaultRule::new(FaultKind::BadGateway)
            .for_action("BatchUpdateFirmware")
            .times(2),
    );
    let client = Client::builder()
        .endpoint_url(emulator.url())
        .region("ap-guangzhou")
        .static_credentials(SECRET_ID, SECRET_KEY)
        .build()
        .unwrap();
    let devices: Vec<String> = (0..30).map(|n| format!("dev{n:03}")).collect();
    let waves = parse_waves("20%,100%").unwrap();
    let plan = Plan::build(&devices, &waves, 4).unwrap();
    let batches = plan.batch_count();
    let spec = RolloutSpec {
        product_id: "ENGINE0001".to_owned(),
        firmware_version: "2.0.0".to_owned(),
        fw_type: Some("mcu".to_owned()),
        task_options: serde_json::Map::new(),
        waves,
        batch_size: 4,
        max_failure_rate: 0.0,
        wave_timeout_secs: 30,
        cancel_on_abort: false,
        pause_after_wave: false,
        plan,
    };
    let dir = tempfile::Builder::new()
        .prefix("rollout-engine-")
        .tempdir()
        .unwrap();
    let journal = dir.path().join("engine.journal");
    let settings = Settings {
        reconcile_delay: Duration::from_millis(50),
        wave_check: WaveCheckTiming {
            first_poll: Duration::from_millis(20),
            max_poll: Duration::from_millis(200),
        },
        ..Settings::default()
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    let observer = move |event: &Event| {
        let _ = sender.send(event.clone());
    };
    let mut rollout =
        Rollout::create(&journal, spec, &client, settings, Box::new(observer)).unwrap();
    assert_eq!(rollout.run().await.unwrap(), Outcome::Finished);

    let state = rollout.state().clone();
    drop(rollout);
    let events: Vec<Event> = receiver.try_iter().collect();
    let reconciled = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Submitted {
                    record: Record::Submitted {
                        reconciled: true,
                        ..
                    },
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        reconciled, 2,
        "both lost answers were found by their marker"
    );
    let uncertain = events
        .iter()
        .filter(|e| matches!(e, Event::Recorded(Record::Unknown { .. })))
        .count();
    assert_eq!(uncertain, 4);

    let tasks: BTreeSet<u64> = state
        .batches
        .values()
        .map(|b| match b {
            BatchState::Submitted { task_id } => *task_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tasks.len(), batches, "one task per batch");
    // The service made exactly those tasks: IDs are consecutive from 1000001.
    let report = Report::of(&state);
    assert_eq!(report.state, RolloutState::Finished);
    assert!(report.devices.iter().all(|d| d.result == "succeeded"));
    let highest = *tasks.iter().max().unwrap();
    assert_eq!(
        highest,
        1_000_000 + batches as u64,
        "no extra task was created"
    );

    // Resuming changes nothing.
    let client = Client::builder()
        .endpoint_url(emulator.url())
        .region("ap-guangzhou")
        .static_credentials(SECRET_ID, SECRET_KEY)
        .build()
        .unwrap();
    let before = std::fs::read(&journal).unwrap();
    let arrivals = emulator.arrivals();
    let mut again = Rollout::resume(
        &journal,
        &client,
        Settings::default(),
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    assert_eq!(again.run().await.unwrap(), Outcome::Finished);
    assert_eq!(std::fs::read(&journal).unwrap(), before);
    assert_eq!(emulator.arrivals(), arrivals);
    emulator.shutdown().await;
}
