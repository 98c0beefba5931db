//! Killing a rollout at random points, many times over, and resuming it: every device is
//! submitted in exactly one task, and the journal and the service agree.

// The seed and the figures of a run go to stderr, so a failure can be replayed.
#![allow(clippy::print_stderr)]

mod rollout_common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use iotexplorer_emulator::{FaultKind, FaultRule, ProgressSettings};
use rollout_common::{Lab, device_names, journal_tasks, planned_batches};

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn killed_and_resumed_many_times_every_device_is_submitted_exactly_once() {
    let seed = std::env::var("ROLLOUT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
        });
    eprintln!("seed {seed} (set ROLLOUT_CRASH_SEED to replay)");
    let mut random = Lcg(seed);

    let count = 400;
    let lab = Lab::start(
        "crash",
        count,
        ProgressSettings::default()
            .with_step_ms(60)
            .with_failure_rate(0.05),
    );
    let faults = lab.emulator().faults();
    // Answers lost after the task was created, gateway errors before it was, throttling.
    faults.push(
        FaultRule::new(FaultKind::DropAfter)
            .for_action("BatchUpdateFirmware")
            .with_probability(0.15),
    );
    faults.push(
        FaultRule::new(FaultKind::BadGateway)
            .for_action("BatchUpdateFirmware")
            .with_probability(0.1),
    );
    faults.push(
        FaultRule::new(FaultKind::Error {
            code: iotexplorer_model::ErrorCode::RequestLimitExceeded,
            message: Some("too many requests".to_owned()),
        })
        .with_probability(0.05),
    );
    let names = device_names(count);
    let devices = lab.devices_file(&names);
    let journal = lab.path("rollout.journal");
    let start_args = |command: &mut std::process::Command| {
        command
            .args([
                "rollout",
                "--ProductID",
                rollout_common::PRODUCT,
                "--FirmwareVersion",
                "2.0.0",
                "--FwType",
                "mcu",
            ])
            .arg("--devices")
            .arg(&devices)
            .arg("--journal")
            .arg(&journal)
            .args([
                "--waves",
                "10%,40%,100%",
                "--batch-size",
                "5",
                "--max-failure-rate",
                "1",
            ])
            .args(["--wave-timeout", "30", "--MaxRetryNum", "1"]);
    };

    let mut kills = 0;
    let mut runs = 0;
    let mut finished = false;
    let started = Instant::now();
    while kills < 20 && runs < 60 {
        runs += 1;
        let mut command = lab.command();
        if journal.exists() {
            command.arg("rollout").arg("resume").arg(&journal);
        } else {
            start_args(&mut command);
        }
        let log = lab.path(&format!("run{runs}.log"));
        let mut child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn");
        let life = Duration::from_millis(random.between(20, 700));
        match wait_bounded(&mut child, life) {
            Some(status) => {
                assert!(
                    status.success(),
                    "run {runs} ended with {status} (seed {seed}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                finished = true;
                break;
            }
            None => {
                child.kill().expect("kill");
                let _ = child.wait();
                kills += 1;
            }
        }
    }
    assert!(
        kills >= 15,
        "only {kills} kills before it finished (seed {seed})"
    );

    // Now let it finish.
    if !finished {
        let mut child = lab
            .command()
            .arg("rollout")
            .arg("resume")
            .arg(&journal)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let status = wait_bounded(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the last resume did not finish (seed {seed})")
        });
        assert!(status.success(), "last resume: {status} (seed {seed})");
    }
    eprintln!(
        "{kills} kills over {runs} runs, {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Resuming a finished rollout changes nothing.
    let before = std::fs::read(&journal).expect("journal");
    let arrivals = lab.emulator().arrivals();
    let status = lab
        .command()
        .arg("rollout")
        .arg("resume")
        .arg(&journal)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(status.success());
    assert_eq!(std::fs::read(&journal).expect("journal"), before);
    assert_eq!(lab.emulator().arrivals(), arrivals, "nothing was sent");

    lab.emulator().faults().clear();
    let records = lab.journal_records(&journal);
    assert_eq!(
        records.last().map(|r| r["record"].clone()),
        Some("finished".into())
    );
    let reconciled = records
        .iter()
        .filter(|r| r["record"] == "submitted" && r["reconciled"] == true)
        .count();
    let unknown = records.iter().filter(|r| r["record"] == "unknown").count();
    eprintln!("{unknown} calls of unknown outcome, {reconciled} tasks found by reconciliation");
    let planned = planned_batches(&records);
    let rollout = records[0]["rollout"]
        .as_str()
        .expect("rollout id")
        .to_owned();
    let in_journal = journal_tasks(&records);
    assert_eq!(
        in_journal.keys().collect::<BTreeSet<_>>(),
        planned.keys().collect::<BTreeSet<_>>(),
        "every batch has its task in the journal"
    );

    let on_service = lab.service_tasks();
    // The service has exactly the journal's tasks …
    assert_eq!(
        on_service.keys().copied().collect::<BTreeSet<_>>(),
        in_journal.values().copied().collect::<BTreeSet<_>>(),
        "the journal and the service agree on the tasks (seed {seed})"
    );
    // … each carrying its batch's marker and devices …
    let mut task_of_device: BTreeMap<String, u64> = BTreeMap::new();
    for (batch, task) in &in_journal {
        let (marker, devices) = &on_service[task];
        let marker: serde_json::Value = serde_json::from_str(marker).expect("marker");
        assert_eq!(marker["rollout"], rollout.as_str());
        assert_eq!(marker["batch"], batch.as_str());
        let mut expected = planned[batch].clone();
        expected.sort();
        let mut got = devices.clone();
        got.sort();
        assert_eq!(got, expected, "batch {batch} (seed {seed})");
        for device in devices {
            let previous = task_of_device.insert(device.clone(), *task);
            assert!(previous.is_none(), "{device} is in two tasks (seed {seed})");
        }
    }
    // … and every device is in exactly one task.
    assert_eq!(task_of_device.len(), count);
}
