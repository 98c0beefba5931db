//! A seed replays a run: the same requests give the same RequestIds, device fates and
//! injected faults.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use iotexplorer_emulator::{Emulator, FaultKind, FaultRule, ProgressSettings};
use iotexplorer_model::FirmwareUpdateStatus;
use serde_json::{Value, json};
use support::Client;

/// What a run shows from outside.
#[derive(Debug, PartialEq)]
struct Run {
    request_ids: Vec<String>,
    fault_codes: Vec<Option<String>>,
    device_outcomes: Vec<(String, Value, Value)>,
}

/// Starts an emulator with `seed` and sends it a fixed sequence of requests, one after
/// another.
async fn run(seed: u64) -> Run {
    let emulator = Emulator::builder()
        .rate_limit(0)
        .seed(seed)
        .progress(
            ProgressSettings::default()
                .with_step_ms(5)
                .with_failure_rate(0.5)
                .with_timeout_rate(0.2),
        )
        .start("127.0.0.1:0")
        .await
        .expect("start");
    assert_eq!(emulator.seed(), seed);
    emulator.faults().push(
        FaultRule::new(FaultKind::Error {
            code: iotexplorer_model::ErrorCode::InternalError,
            message: None,
        })
        .for_action("ListFirmwares")
        .with_probability(0.5),
    );
    let client = Client::demo(emulator.addr());
    let mut request_ids = Vec::new();
    let mut fault_codes = Vec::new();
    let mut record = |reply: &support::Reply| {
        reply.assert_envelope();
        request_ids.push(
            reply.response()["RequestId"]
                .as_str()
                .expect("a RequestId")
                .to_owned(),
        );
    };
    for _ in 0..16 {
        let reply = client
            .post("ListFirmwares", &json!({"PageNum": 1, "PageSize": 10}))
            .await;
        record(&reply);
        fault_codes.push(reply.code());
    }
    let devices: Vec<String> = (1..=10).map(|n| format!("dev{n:03}")).collect();
    let reply = client
        .post(
            "BatchUpdateFirmware",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
                    "DeviceNames": devices, "TimeoutInterval": 120, "MaxRetryNum": 1}),
        )
        .await;
    record(&reply);
    let task_id = reply.ok()["TaskId"].as_u64().expect("a TaskId");
    // Every device ends well within this: a few 5 ms stages, or 120 s emulated (4 stages)
    // for a stalled one.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reply = client
        .post(
            "DescribeFirmwareTaskDevices",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Limit": 100,
                    "Filters": [{"Key": "TaskId", "Value": task_id.to_string()}]}),
        )
        .await;
    record(&reply);
    let mut device_outcomes: Vec<(String, Value, Value)> = reply.ok()["Devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| {
            (
                d["DeviceName"].as_str().expect("a name").to_owned(),
                d["Status"].clone(),
                d["RetryNum"].clone(),
            )
        })
        .collect();
    device_outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    emulator.shutdown().await;
    Run {
        request_ids,
        fault_codes,
        device_outcomes,
    }
}

#[tokio::test]
async fn the_same_seed_replays_request_ids_faults_and_device_fates() {
    let first = run(20_261_201).await;
    let second = run(20_261_201).await;
    assert_eq!(first, second);
    // The run must exercise the chances, or equality would prove nothing.
    let statuses: Vec<&Value> = first.device_outcomes.iter().map(|d| &d.1).collect();
    assert_eq!(statuses.len(), 10, "{first:?}");
    let ended = |status: &&Value| {
        status
            .as_i64()
            .is_some_and(|code| FirmwareUpdateStatus::from_code(code).is_terminal())
    };
    assert!(statuses.iter().all(ended), "{first:?}");
    assert!(statuses.windows(2).any(|w| w[0] != w[1]), "{first:?}");
    assert!(first.fault_codes.iter().any(Option::is_some), "{first:?}");
    assert!(first.fault_codes.iter().any(Option::is_none), "{first:?}");
}

#[tokio::test]
async fn another_seed_gives_other_request_ids() {
    let first = run(1).await;
    let second = run(2).await;
    assert_ne!(first.request_ids, second.request_ids);
    for id in first.request_ids.iter().chain(&second.request_ids) {
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.as_bytes()[14], b'4', "{id}");
    }
}

#[tokio::test]
async fn the_fixture_can_name_the_seed_and_the_builder_wins() {
    let mut fixture = iotexplorer_emulator::Fixture::demo();
    fixture.seed = Some(99);
    let from_fixture = Emulator::builder()
        .fixture(fixture.clone())
        .start("127.0.0.1:0")
        .await
        .expect("start");
    assert_eq!(from_fixture.seed(), 99);
    from_fixture.shutdown().await;
    let overridden = Emulator::builder()
        .fixture(fixture)
        .seed(5)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    assert_eq!(overridden.seed(), 5);
    overridden.shutdown().await;
}

/// The binary's first two stdout lines with `args`.
fn first_two_lines(args: &[&str]) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    let mut second = String::new();
    let read = stdout
        .read_line(&mut first)
        .and_then(|_| stdout.read_line(&mut second));
    let _ = child.kill();
    let _ = child.wait();
    read.expect("two lines");
    (first, second)
}

#[test]
fn the_binary_prints_the_seed_it_uses_after_the_address() {
    let (first, second) = first_two_lines(&["--seed", "4242"]);
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    assert_eq!(second, "seed 4242 (replay with --seed 4242)\n");

    let (first, second) = first_two_lines(&[]);
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    let seed = second
        .strip_prefix("seed ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{second}"));
    assert_eq!(
        second,
        format!("seed {seed} (replay with --seed {seed})\n"),
        "{second}"
    );
    seed.parse::<u64>().expect("a number");
}
