//! One process drives a journal at a time, and a journal is read strictly: real
//! `iotexplorer` processes racing on one journal against one emulator, a holder killed
//! with SIGKILL, and journals whose last line is torn or corrupted.

// The timings of a run go to stderr, for the notes.
#![allow(clippy::print_stderr)]

mod rollout_common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use iotexplorer_emulator::ProgressSettings;
use iotexplorer_rollout::{Journal, Record, RolloutSpec, new_rollout_id, parse_waves};
use rollout_common::{Lab, PRODUCT, device_names, journal_tasks};

/// Processes racing in each round.
const RACERS: usize = 4;
/// Devices of each round's rollout: six batches of five.
const ROUND_DEVICES: usize = 30;

/// A rollout of `devices` in one wave of batches of five, as `rollout` would plan it.
fn spec_for(devices: &[String]) -> RolloutSpec {
    let waves = parse_waves("100%").expect("waves");
    let mut spec = RolloutSpec::new(PRODUCT, "2.0.0", devices, waves, 5).expect("plan");
    spec.fw_type = Some("mcu".to_owned());
    spec.max_failure_rate = 1.0;
    spec.wave_timeout_secs = 30;
    spec
}

fn start_record(devices: &[String]) -> Record {
    Record::Start {
        rollout: new_rollout_id(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        spec: Box::new(spec_for(devices)),
    }
}

/// Writes the journal of a rollout of `devices` that has not sent anything yet.
fn unstarted_journal(path: &Path, devices: &[String]) {
    drop(Journal::create(path, &start_record(devices)).expect("journal"));
}

/// A process of the real binary, its stderr going to a file.
struct Racer {
    child: Child,
    started: Instant,
    log: PathBuf,
}

/// How a racer ended.
#[derive(Debug)]
struct Ended {
    pid: u32,
    code: Option<i32>,
    took: Duration,
    at: Instant,
    stderr: String,
}

fn spawn(mut command: std::process::Command, log: PathBuf) -> Racer {
    let started = Instant::now();
    let child = command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn");
    Racer {
        child,
        started,
        log,
    }
}

/// Waits for every racer, killing all of them if they take longer than `limit`.
fn wait_all(mut racers: Vec<Racer>, limit: Duration) -> Vec<Ended> {
    let deadline = Instant::now() + limit;
    let mut ended: Vec<Option<Ended>> = racers.iter().map(|_| None).collect();
    while ended.iter().any(Option::is_none) {
        if Instant::now() > deadline {
            for racer in &mut racers {
                let _ = racer.child.kill();
                let _ = racer.child.wait();
            }
            panic!("racers still running after {limit:?}");
        }
        for (racer, slot) in racers.iter_mut().zip(ended.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            if let Ok(Some(status)) = racer.child.try_wait() {
                *slot = Some(Ended {
                    pid: racer.child.id(),
                    code: status.code(),
                    took: racer.started.elapsed(),
                    at: Instant::now(),
                    stderr: std::fs::read_to_string(&racer.log).unwrap_or_default(),
                });
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ended.into_iter().flatten().collect()
}

/// Checks that exactly one racer drove the journal and every other one refused at once,
/// naming it; returns the one that drove.
fn one_drove_the_others_refused(round: usize, ended: &[Ended]) -> &Ended {
    let drivers: Vec<&Ended> = ended.iter().filter(|e| e.code == Some(0)).collect();
    assert_eq!(
        drivers.len(),
        1,
        "round {round}: exactly one process drives the journal: {ended:#?}"
    );
    let driver = drivers[0];
    for other in ended.iter().filter(|e| e.pid != driver.pid) {
        assert_eq!(other.code, Some(2), "round {round}: {other:#?}");
        assert!(
            other.stderr.contains("is in use by")
                && other.stderr.contains(&format!("process {}", driver.pid)),
            "round {round}: the refusal names the journal's process {}: {other:#?}",
            driver.pid
        );
        assert!(
            other.at < driver.at,
            "round {round}: {} refused at once, not after {} ended: {ended:#?}",
            other.pid,
            driver.pid
        );
    }
    driver
}

/// Every device of `names` is in exactly one task on the service, and the tasks are
/// those `journals` name.
fn each_device_in_one_task(lab: &Lab, names: &[String], journals: &[PathBuf]) {
    let on_service = lab.device_tasks();
    let doubled: Vec<(&String, &Vec<u64>)> = on_service
        .iter()
        .filter(|(_, tasks)| tasks.len() > 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "{} devices are in two tasks or more, e.g. {:?}",
        doubled.len(),
        doubled.first()
    );
    let expected: BTreeSet<&String> = names.iter().collect();
    assert_eq!(on_service.keys().collect::<BTreeSet<_>>(), expected);
    let mut in_journals = BTreeSet::new();
    for journal in journals {
        in_journals.extend(journal_tasks(&lab.journal_records(journal)).into_values());
    }
    let service_tasks: BTreeSet<u64> = on_service.values().flatten().copied().collect();
    assert_eq!(
        service_tasks, in_journals,
        "the journals hold the service's tasks"
    );
}

#[test]
fn racing_resumes_on_one_journal_one_drives_and_the_others_refuse_at_once() {
    let rounds = 10;
    let lab = Lab::start(
        "race-resume",
        rounds * ROUND_DEVICES,
        ProgressSettings::default().with_step_ms(60),
    );
    let names = device_names(rounds * ROUND_DEVICES);
    let started = Instant::now();
    let mut journals = Vec::new();
    for round in 0..rounds {
        let devices = &names[round * ROUND_DEVICES..(round + 1) * ROUND_DEVICES];
        let journal = lab.path(&format!("round{round}.journal"));
        unstarted_journal(&journal, devices);
        let racers: Vec<Racer> = (0..RACERS)
            .map(|n| {
                let mut command = lab.command();
                command.arg("rollout").arg("resume").arg(&journal);
                spawn(command, lab.path(&format!("round{round}-{n}.log")))
            })
            .collect();
        let ended = wait_all(racers, Duration::from_secs(15));
        let driver = one_drove_the_others_refused(round, &ended);
        let slowest_refusal = ended
            .iter()
            .filter(|e| e.pid != driver.pid)
            .map(|e| e.took)
            .max()
            .unwrap_or_default();
        eprintln!(
            "round {round}: driven in {:?}, slowest refusal {slowest_refusal:?}",
            driver.took
        );
        let records = lab.journal_records(&journal);
        assert_eq!(records.iter().filter(|r| r["record"] == "start").count(), 1);
        assert_eq!(
            records.iter().filter(|r| r["record"] == "finished").count(),
            1,
            "round {round}"
        );
        journals.push(journal);
    }
    eprintln!(
        "{rounds} rounds in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    each_device_in_one_task(&lab, &names, &journals);
}

#[test]
fn racing_new_rollouts_on_one_journal_path_one_starts() {
    let rounds = 5;
    let lab = Lab::start(
        "race-create",
        rounds * ROUND_DEVICES,
        ProgressSettings::default().with_step_ms(100),
    );
    let names = device_names(rounds * ROUND_DEVICES);
    let mut journals = Vec::new();
    for round in 0..rounds {
        let devices = lab.path(&format!("round{round}.devices"));
        std::fs::write(
            &devices,
            names[round * ROUND_DEVICES..(round + 1) * ROUND_DEVICES].join("\n"),
        )
        .expect("devices");
        let journal = lab.path(&format!("round{round}.journal"));
        let racers: Vec<Racer> = (0..RACERS)
            .map(|n| {
                let mut command = lab.command();
                command
                    .args([
                        "rollout",
                        "--ProductID",
                        PRODUCT,
                        "--FirmwareVersion",
                        "2.0.0",
                    ])
                    .args(["--FwType", "mcu", "--waves", "100%", "--batch-size", "5"])
                    .arg("--devices")
                    .arg(&devices)
                    .arg("--journal")
                    .arg(&journal);
                spawn(command, lab.path(&format!("round{round}-{n}.log")))
            })
            .collect();
        let ended = wait_all(racers, Duration::from_secs(15));
        one_drove_the_others_refused(round, &ended);
        let records = lab.journal_records(&journal);
        assert_eq!(
            records.iter().filter(|r| r["record"] == "start").count(),
            1,
            "round {round}: one rollout in the journal"
        );
        journals.push(journal);
    }
    // No file other than the journals, their logs and device lists is left behind.
    let mut left: Vec<String> = std::fs::read_dir(lab.dir.path())
        .expect("dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            !name.ends_with(".journal") && !name.ends_with(".log") && !name.ends_with(".devices")
        })
        .collect();
    left.sort();
    assert!(left.is_empty(), "left behind: {left:?}");
    each_device_in_one_task(&lab, &names, &journals);
}

/// Waits until `journal` holds a record of kind `kind`.
fn wait_for_record(lab: &Lab, journal: &Path, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lab
        .journal_records(journal)
        .iter()
        .any(|r| r["record"] == kind)
    {
        assert!(Instant::now() < deadline, "no {kind} record in the journal");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_journal_held_by_a_killed_process_is_free_again_and_status_reads_while_held() {
    let lab = Lab::start("killed", 60, ProgressSettings::default().with_step_ms(100));
    let names = device_names(60);
    let journal = lab.path("killed.journal");
    unstarted_journal(&journal, &names);

    // The first holder dies by SIGKILL in the middle of its submissions.
    let mut first = lab.command();
    first.arg("rollout").arg("resume").arg(&journal);
    let mut first = spawn(first, lab.path("first.log"));
    wait_for_record(&lab, &journal, "intent");
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();
    let killed = first.child.id();

    // The next one takes the journal over; a third one is refused, naming the new
    // holder and not the dead one.
    let mut second = lab.command();
    second.arg("rollout").arg("resume").arg(&journal);
    let second = spawn(second, lab.path("second.log"));
    let holder = second.child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&second.log).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "the second resume never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut third = lab.command();
    third.arg("rollout").arg("resume").arg(&journal);
    let third = third.output().expect("third");
    let said = String::from_utf8_lossy(&third.stderr).into_owned();
    assert_eq!(third.status.code(), Some(2), "{said}");
    assert!(said.contains(&format!("process {holder}")), "{said}");
    assert!(!said.contains(&format!("process {killed}")), "{said}");

    // Reading is allowed while the journal is held.
    let status: Output = lab
        .command()
        .args(["rollout", "status"])
        .arg(&journal)
        .output()
        .expect("status");
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let ended = wait_all(vec![second], Duration::from_secs(15));
    assert_eq!(ended[0].code, Some(0), "{}", ended[0].stderr);
    each_device_in_one_task(&lab, &names, &[journal]);
}

#[test]
fn a_corrupted_complete_last_line_is_refused_with_its_number() {
    let lab = Lab::start("corrupt", 5, ProgressSettings::default());
    let journal = lab.path("corrupt.journal");
    unstarted_journal(&journal, &device_names(5));
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    text.push_str("{\"record\":\"intent\",\"batch\":\n");
    std::fs::write(&journal, &text).expect("write");

    for command in ["resume", "status"] {
        let output = lab
            .command()
            .args(["rollout", command])
            .arg(&journal)
            .output()
            .expect("run");
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "{command}: {said}");
        assert!(
            said.contains("line 2: not a valid record"),
            "{command}: {said}"
        );
    }
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), text);
    assert_eq!(lab.emulator().arrivals(), 0, "nothing was sent");
}

#[test]
fn a_torn_last_line_is_cut_off_before_the_next_record() {
    let lab = Lab::start("torn", 10, ProgressSettings::default().with_step_ms(20));
    let journal = lab.path("torn.journal");
    unstarted_journal(&journal, &device_names(10));
    let mut text = std::fs::read_to_string(&journal).expect("journal");
    // A kill in the middle of writing an intent.
    text.push_str("{\"record\":\"intent\",\"batch\":\"1-1\",\"dev");
    std::fs::write(&journal, &text).expect("write");

    let output = lab
        .command()
        .args(["rollout", "resume"])
        .arg(&journal)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = std::fs::read_to_string(&journal).expect("journal");
    for (number, line) in after.lines().enumerate() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "line {}: {line}",
            number + 1
        );
    }
    assert!(after.ends_with("{\"record\":\"finished\"}\n"), "{after}");
    each_device_in_one_task(&lab, &device_names(10), &[journal]);
}
