//! The engine in process against the emulator: lost answers are reconciled, refused
//! calls resent, and each batch ends with exactly one task.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use iotexplorer_emulator::{Emulator, FaultKind, FaultRule, Fixture, ProgressSettings};
use iotexplorer_http::Client;
use iotexplorer_rollout::{
    BatchState, Event, Journal, JournalState, Outcome, Record, Report, Rollout, RolloutSpec,
    RolloutState, Settings, WaveCheckTiming, WaveSpec, parse_waves,
};
use serde_json::json;

const SECRET_ID: &str = "AKIDENGINETEST";
const SECRET_KEY: &str = "engine-test-key";

fn fixture(count: usize) -> Fixture {
    let devices: Vec<_> = (0..count)
        .map(|n| json!({"name": format!("dev{n:03}"), "firmware_version": "1.0.0"}))
        .collect();
    fixture_of(&devices)
}

/// The engine tests' account and product, with `devices` as the fixture writes them.
fn fixture_of(devices: &[serde_json::Value]) -> Fixture {
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
    let spec = engine_spec(&devices, waves, 4);
    let batches = spec.plan.batch_count();
    let dir = tempfile::Builder::new()
        .prefix("rollout-engine-")
        .tempdir()
        .unwrap();
    let journal = dir.path().join("engine.journal");
    let settings = quick(Duration::from_millis(400));
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

/// An emulator of four devices that update in a few milliseconds, without a rate limit.
async fn fast_emulator() -> iotexplorer_emulator::RunningEmulator {
    Emulator::builder()
        .fixture(fixture(4))
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(5))
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

/// The first `BatchUpdateFirmware` is answered by nothing and takes effect `ms` later;
/// the second is refused with `code`.
fn land_late_then_refuse(emulator: &iotexplorer_emulator::RunningEmulator, ms: u64, code: &str) {
    emulator.faults().push(
        FaultRule::new(FaultKind::LandLate { ms })
            .for_action("BatchUpdateFirmware")
            .times(1),
    );
    emulator.faults().push(
        FaultRule::new(FaultKind::Error {
            code: code.into(),
            message: None,
        })
        .for_action("BatchUpdateFirmware")
        .times(1),
    );
}

/// A client of `emulator` with the fixture's credentials.
fn client_of(emulator: &iotexplorer_emulator::RunningEmulator) -> Client {
    Client::builder()
        .endpoint_url(emulator.url())
        .region("ap-guangzhou")
        .static_credentials(SECRET_ID, SECRET_KEY)
        .build()
        .unwrap()
}

/// How many tasks the service holds for the product's 2.0.0.
async fn service_tasks(client: &Client) -> u64 {
    let request = iotexplorer_model::DescribeFirmwareTasksRequest::builder()
        .product_id("ENGINE0001")
        .firmware_version("2.0.0")
        .offset(0)
        .limit(100)
        .build()
        .unwrap();
    let page = client.describe_firmware_tasks(&request).await.unwrap();
    page.total.unwrap()
}

/// The engine tests' rollout of `devices`: module `mcu`, no failure tolerated, 30 s gates.
fn engine_spec(devices: &[String], waves: Vec<WaveSpec>, batch_size: usize) -> RolloutSpec {
    let mut spec = RolloutSpec::new("ENGINE0001", "2.0.0", devices, waves, batch_size).unwrap();
    spec.fw_type = Some("mcu".to_owned());
    spec.max_failure_rate = 0.0;
    spec.wave_timeout_secs = 30;
    spec
}

/// A one-wave rollout of the four devices of [`fast_emulator`] in two batches, and where
/// its journal goes: in a scratch directory named with `prefix`, removed when dropped.
fn small_rollout(prefix: &str) -> (tempfile::TempDir, RolloutSpec, std::path::PathBuf) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let names: Vec<String> = (0..4).map(|n| format!("dev{n:03}")).collect();
    let waves = parse_waves("100%").unwrap();
    let spec = engine_spec(&names, waves, 2);
    let journal = dir.path().join("rollout.journal");
    (dir, spec, journal)
}

fn quick(resend_after: Duration) -> Settings {
    let mut settings = Settings::default();
    settings.reconcile_delay = Duration::from_millis(50);
    settings.resend_after = resend_after;
    settings.wave_check =
        WaveCheckTiming::new(Duration::from_millis(20), Duration::from_millis(200));
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_lands_late_is_found_and_never_sent_again() {
    // The first call's answer is lost and its task is made 600 ms later, after the
    // first look found nothing; the devices finish at once, so nothing on the service
    // would refuse a second call for them.
    let emulator = fast_emulator().await;
    emulator.faults().push(
        FaultRule::new(FaultKind::LandLate { ms: 600 })
            .for_action("BatchUpdateFirmware")
            .times(1),
    );
    let client = client_of(&emulator);
    let (_dir, spec, journal) = small_rollout("rollout-late-");
    let (sender, receiver) = std::sync::mpsc::channel();
    let observer = move |event: &Event| {
        let _ = sender.send(event.clone());
    };
    let mut rollout = Rollout::create(
        &journal,
        spec,
        &client,
        quick(Duration::from_millis(2500)),
        Box::new(observer),
    )
    .unwrap();
    assert_eq!(rollout.run().await.unwrap(), Outcome::Finished);
    assert!(
        receiver
            .try_iter()
            .any(|event| matches!(event, Event::AwaitingTask { .. })),
        "the wait is told"
    );
    // Counted once the late call has surely landed.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(service_tasks(&client).await, 2, "one task per batch");
    let submitted = rollout
        .state()
        .batches
        .values()
        .filter(|b| matches!(b, BatchState::Submitted { .. }))
        .count();
    assert_eq!(submitted, 2);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_after_an_unknown_outcome_leaves_the_batch_to_be_looked_up() {
    // The first call lands later than this run waits for it; the call sent again is
    // refused. The first may still make a task, so the journal keeps the batch of
    // unknown outcome, and the resume looks it up instead of sending.
    let emulator = fast_emulator().await;
    land_late_then_refuse(&emulator, 3000, "AuthFailure.SignatureExpire");
    let client = client_of(&emulator);
    let (_dir, spec, journal) = small_rollout("rollout-refused-");
    let mut settings = quick(Duration::from_millis(200));
    settings.concurrency = 1;
    let (sender, receiver) = std::sync::mpsc::channel();
    let observer = move |event: &Event| {
        if let Some(line) = iotexplorer_rollout::line_of(event) {
            let _ = sender.send(line);
        }
    };
    let mut rollout =
        Rollout::create(&journal, spec, &client, settings, Box::new(observer)).unwrap();
    assert!(rollout.run().await.is_err(), "the refusal stops the run");
    assert_eq!(
        rollout.state().batches.get("1-1"),
        Some(&BatchState::Uncertain)
    );
    drop(rollout);
    // The refusal is told as it is, and so is the doubt it leaves.
    let lines: Vec<String> = receiver.try_iter().collect();
    let refused = lines
        .iter()
        .position(|l| l.starts_with("batch 1-1: refused: AuthFailure.SignatureExpire"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(
        lines.get(refused + 1).is_some_and(|line| line.starts_with(
            "batch 1-1: an earlier call of unknown outcome may still have made its task"
        )),
        "{lines:#?}"
    );
    // And `rollout status` says why the batch is uncertain.
    let report =
        Report::of(&JournalState::replay(&Journal::read(&journal).unwrap(), &journal).unwrap());
    let device = report
        .devices
        .iter()
        .find(|device| device.batch == "1-1")
        .unwrap();
    assert_eq!(device.result, "uncertain");
    assert!(
        device.message.contains("AuthFailure.SignatureExpire")
            && device.message.contains("unknown outcome"),
        "{device:?}"
    );
    // The first call has landed by now.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    assert_eq!(service_tasks(&client).await, 1);
    let mut resumed = Rollout::resume(
        &journal,
        &client,
        settings,
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    assert_eq!(resumed.run().await.unwrap(), Outcome::Finished);
    assert_eq!(service_tasks(&client).await, 2, "one task per batch");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dated_by_a_wrong_clock_is_waited_for_from_now() {
    // Intents dated 1970 (a clock before the epoch) and an hour ahead (a clock since set
    // back): the first would be sent again at once, the second waited for an hour.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for at_ms in [0, now_ms + 3_600_000] {
        let emulator = fast_emulator().await;
        let client = client_of(&emulator);
        let (_dir, spec, journal) = small_rollout("rollout-clock-");
        let devices = spec.plan.batches().next().unwrap().devices.clone();
        let rollout = Rollout::create(
            &journal,
            spec,
            &client,
            quick(Duration::from_millis(600)),
            Box::new(iotexplorer_rollout::Silent),
        )
        .unwrap();
        let marker = rollout.state().rollout.clone();
        drop(rollout);
        // The run ended during its first call.
        let (mut held, _) = Journal::open(&journal).unwrap();
        held.append(&Record::Intent {
            batch: "1-1".to_owned(),
            devices,
            marker,
            at_ms,
        })
        .unwrap();
        drop(held);
        let started = std::time::Instant::now();
        let mut resumed = Rollout::resume(
            &journal,
            &client,
            quick(Duration::from_millis(600)),
            Box::new(iotexplorer_rollout::Silent),
        )
        .unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(30), resumed.run())
            .await
            .expect("the resume ends");
        assert!(outcome.is_ok(), "{at_ms}: {outcome:?}");
        let took = started.elapsed();
        // Sent again only once the call could no longer land, counted from the resume …
        assert!(took >= Duration::from_millis(600), "{at_ms}: {took:?}");
        // … and not an hour later.
        assert!(took < Duration::from_secs(20), "{at_ms}: {took:?}");
        assert_eq!(service_tasks(&client).await, 2, "{at_ms}");
        emulator.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_left_is_sent_again_at_once_on_resume() {
    let emulator = fast_emulator().await;
    // Nothing listens there: no call can leave.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = Client::builder()
        .endpoint_url(format!("http://{closed}"))
        .region("ap-guangzhou")
        .static_credentials(SECRET_ID, SECRET_KEY)
        .call_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (_dir, spec, journal) = small_rollout("rollout-unsent-");
    let mut settings = quick(Duration::from_secs(30));
    settings.concurrency = 1;
    let mut rollout = Rollout::create(
        &journal,
        spec,
        &unreachable,
        settings,
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    assert!(rollout.run().await.is_err());
    assert_eq!(
        rollout.state().batches.get("1-1"),
        Some(&BatchState::Planned),
        "a call that never left leaves the batch as it was"
    );
    drop(rollout);
    let started = std::time::Instant::now();
    let mut resumed = Rollout::resume(
        &journal,
        &client_of(&emulator),
        settings,
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    assert_eq!(resumed.run().await.unwrap(), Outcome::Finished);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "waited {:?} as for a call of unknown outcome",
        started.elapsed()
    );
    assert_eq!(service_tasks(&client_of(&emulator)).await, 2);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_ends_the_waits_of_the_others() {
    // Batch 1-1's call lands a minute late, so it waits; batch 1-2 is refused for good.
    let emulator = fast_emulator().await;
    land_late_then_refuse(&emulator, 60_000, "InvalidParameterValue");
    let (_dir, spec, journal) = small_rollout("rollout-stop-");
    let mut settings = quick(Duration::from_secs(30));
    settings.concurrency = 2;
    let mut rollout = Rollout::create(
        &journal,
        spec,
        &client_of(&emulator),
        settings,
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(60), rollout.run())
        .await
        .expect("the run ends");
    assert!(
        matches!(&result, Err(iotexplorer_rollout::RolloutError::Call { .. })),
        "the refusal is what is told: {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} for a batch after another failed",
        started.elapsed()
    );
    drop(rollout);
    let intents = Journal::read(&journal)
        .unwrap()
        .iter()
        .filter(|r| matches!(r, Record::Intent { .. }))
        .count();
    assert_eq!(intents, 2, "nothing sent again");
    emulator.shutdown().await;
}

/// What an aborted one-wave rollout of `dev000` (online) and `dev001` (`offline` as the
/// fixture says) with `--cancel-on-abort` left: the abort's reason, the one task still
/// unsettled when the one-second gate timed out, and the journal. `fault` is done to the
/// first `UpdateOtaTaskStatus`.
async fn aborted_with_cancel(
    offline: serde_json::Value,
    fault: FaultKind,
) -> (String, u64, Vec<Record>) {
    let fixture = fixture_of(&[
        json!({"name": "dev000", "firmware_version": "1.0.0"}),
        json!({"name": "dev001", "firmware_version": "1.0.0", "offline": offline}),
    ]);
    let emulator = Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(100))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    emulator.faults().push(
        FaultRule::new(fault)
            .for_action("UpdateOtaTaskStatus")
            .times(1),
    );
    let dir = tempfile::Builder::new()
        .prefix("rollout-cancel-")
        .tempdir()
        .unwrap();
    let names = ["dev000".to_owned(), "dev001".to_owned()];
    let mut spec = engine_spec(&names, parse_waves("100%").unwrap(), 1);
    spec.wave_timeout_secs = 1;
    spec.cancel_on_abort = true;
    let journal = dir.path().join("rollout.journal");
    let client = client_of(&emulator);
    let mut rollout = Rollout::create(
        &journal,
        spec,
        &client,
        quick(Duration::from_secs(30)),
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), rollout.run())
        .await
        .expect("the run ends")
        .unwrap();
    let Outcome::Aborted { reason, .. } = outcome else {
        panic!("the gate times out: {outcome:?}");
    };
    let records = Journal::read(&journal).unwrap();
    let unsettled: Vec<u64> = records
        .iter()
        .filter_map(|r| match r {
            Record::Verdict(verdict) => Some(verdict.unsettled_tasks.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let [task] = unsettled[..] else {
        panic!("one task is unsettled when the gate times out: {unsettled:?}");
    };
    emulator.shutdown().await;
    (reason, task, records)
}

/// The tasks the journal records as cancelled.
fn cancelled_tasks(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Cancelled { task_ids, .. } => Some(task_ids.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_finished_before_its_cancel_is_told_as_finished_not_as_a_failure() {
    // dev001 is offline for 20 stages of 100 ms, so the one-second gate times out with its
    // task unsettled; the cancel is held 3.5 s, by which time the device came online and
    // updated, and the service refuses to cancel a task whose every device updated.
    let (reason, task, records) =
        aborted_with_cancel(json!({"for_steps": 20}), FaultKind::Delay { ms: 3_500 }).await;
    assert!(!reason.contains("could not cancel"), "{reason}");
    assert!(
        reason.contains(&format!(
            "task {task} finished before it could be cancelled"
        )),
        "{reason}"
    );
    assert!(
        cancelled_tasks(&records).is_empty(),
        "a finished task is not recorded as cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_whose_answer_was_lost_is_found_to_have_cancelled() {
    // dev001 never comes online; the cancel is made but its answer is lost, so its outcome
    // is unknown until the task is looked up.
    let (reason, task, records) = aborted_with_cancel(json!("never"), FaultKind::DropAfter).await;
    assert!(!reason.contains("could not cancel"), "{reason}");
    assert_eq!(cancelled_tasks(&records), [task]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_refused_for_a_running_task_is_a_failure_that_names_its_status() {
    let (reason, task, records) = aborted_with_cancel(
        json!("never"),
        FaultKind::Error {
            code: iotexplorer_model::ErrorCode::FailedOperation,
            message: None,
        },
    )
    .await;
    assert!(
        reason.contains(&format!("could not cancel task {task}: ")),
        "{reason}"
    );
    assert!(reason.contains("its status is 1 (Running)"), "{reason}");
    assert!(cancelled_tasks(&records).is_empty());
}
