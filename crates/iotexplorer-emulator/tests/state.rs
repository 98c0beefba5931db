//! `--state FILE` keeps exactly what it acknowledged: a change the disk refused answers
//! `InternalError` and leaves nothing behind, in memory or on disk; a TaskId is never
//! handed out twice, across restarts and `kill -9` included.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iotexplorer_emulator::{
    DeviceListFixture, Emulator, EmulatorBuilder, Fixture, ProgressSettings, RunningEmulator,
};
use iotexplorer_model::FirmwareTaskStatus;
use serde_json::{Value, json};
use support::{Client, Reply, temp_dir};

fn builder(state: &Path) -> EmulatorBuilder {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .progress(ProgressSettings::default().with_step_ms(3_600_000))
        .state_file(state)
}

async fn start(state: &Path) -> RunningEmulator {
    builder(state).start("127.0.0.1:0").await.expect("start")
}

fn batch(devices: &[&str]) -> Value {
    json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "DeviceNames": devices,
           "TimeoutInterval": 300, "OverrideMode": 1})
}

/// Every task the emulator knows, by ID.
async fn task_ids(client: &Client) -> BTreeSet<u64> {
    let reply = client
        .post(
            "DescribeFirmwareTasks",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "Offset": 0, "Limit": 1_000_000}),
        )
        .await
        .ok();
    let ids: BTreeSet<u64> = reply["TaskInfos"]
        .as_array()
        .expect("TaskInfos")
        .iter()
        .map(|task| task["TaskId"].as_u64().expect("a TaskId"))
        .collect();
    assert_eq!(reply["Total"].as_u64(), Some(ids.len() as u64), "{reply}");
    ids
}

/// The TaskId of a success, `Err(code)` of an error.
fn outcome(reply: &Reply) -> Result<u64, String> {
    match reply.code() {
        Some(code) => Err(code),
        None => Ok(reply.ok()["TaskId"].as_u64().expect("a TaskId")),
    }
}

/// The TaskId of a new task updating `devices`, which the test expects to be created.
async fn create_task(client: &Client, devices: &[&str]) -> u64 {
    outcome(&client.post("BatchUpdateFirmware", &batch(devices)).await).expect("a task")
}

async fn firmware_versions(client: &Client) -> Vec<String> {
    let listed = client
        .post(
            "ListFirmwares",
            &json!({"PageNum": 1, "PageSize": 100, "ProductID": "ABCDE12345"}),
        )
        .await
        .ok();
    listed["Firmwares"]
        .as_array()
        .expect("Firmwares")
        .iter()
        .map(|f| f["Version"].as_str().expect("Version").to_owned())
        .collect()
}

async fn task_status(client: &Client, id: u64) -> FirmwareTaskStatus {
    client
        .post(
            "DescribeFirmwareTask",
            &json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", "TaskId": id}),
        )
        .await
        .ok()["Status"]
        .as_i64()
        .map(FirmwareTaskStatus::from_code)
        .expect("Status")
}

#[tokio::test]
async fn a_failed_write_answers_internal_error_and_keeps_nothing() {
    let dir = temp_dir("write");
    let state = dir.path().join("state.json");
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    let mut acknowledged = BTreeSet::new();
    acknowledged.insert(create_task(&client, &["dev001"]).await);

    // A full disk refuses the next three writes, then has room again.
    emulator.storage_faults().fail_writes(3);
    let mut failures = 0;
    for _ in 0..6 {
        match outcome(
            &client
                .post("BatchUpdateFirmware", &batch(&["dev002"]))
                .await,
        ) {
            Ok(id) => assert!(acknowledged.insert(id), "TaskId {id} handed out twice"),
            Err(code) => {
                assert_eq!(code, "InternalError");
                failures += 1;
            }
        }
    }
    assert_eq!(failures, 3);
    assert_eq!(
        task_ids(&client).await,
        acknowledged,
        "memory keeps what failed"
    );

    // The same for the other changes: nothing of a refused one stays.
    emulator.storage_faults().fail_writes(1);
    let upload = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0",
                        "FirmwareName": "fw", "Md5sum": "0123456789abcdef0123456789abcdef", "FileSize": 1024,
                        "FwType": "mcu"});
    let reply = client.post("UploadFirmware", &upload).await;
    assert_eq!(reply.code().as_deref(), Some("InternalError"));
    assert!(
        !firmware_versions(&client)
            .await
            .contains(&"3.0.0".to_owned())
    );
    let running = *acknowledged.last().expect("a task");
    emulator.storage_faults().fail_writes(1);
    let cancel = json!({"ProductId": "ABCDE12345", "TaskId": running,
                        "Status": FirmwareTaskStatus::Cancelled});
    let reply = client.post("UpdateOtaTaskStatus", &cancel).await;
    assert_eq!(reply.code().as_deref(), Some("InternalError"));
    assert_eq!(
        task_status(&client, running).await,
        FirmwareTaskStatus::Running,
        "the cancel stayed"
    );

    // Without a clean shutdown, as after a crash.
    drop(emulator);
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(task_ids(&client).await, acknowledged, "after a restart");
    assert_eq!(
        task_status(&client, running).await,
        FirmwareTaskStatus::Running
    );
    assert!(
        !firmware_versions(&client)
            .await
            .contains(&"3.0.0".to_owned())
    );
    let next = create_task(&client, &["dev003"]).await;
    assert!(
        !acknowledged.contains(&next),
        "TaskId {next} reused after a restart"
    );
    assert!(next > *acknowledged.last().expect("a task"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_failed_flush_answers_internal_error_and_keeps_nothing() {
    let dir = temp_dir("sync");
    let state = dir.path().join("state.json");
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    let first = create_task(&client, &["dev001"]).await;
    emulator.storage_faults().fail_syncs(1);
    let reply = client
        .post("BatchUpdateFirmware", &batch(&["dev002"]))
        .await;
    assert_eq!(reply.code().as_deref(), Some("InternalError"));
    assert_eq!(task_ids(&client).await, BTreeSet::from([first]));
    let second = create_task(&client, &["dev003"]).await;
    drop(emulator);

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(task_ids(&client).await, BTreeSet::from([first, second]));
    let third = create_task(&client, &["dev004"]).await;
    assert!(third > second);
    // The last word before a crash is a failed flush: its record must not come back.
    emulator.storage_faults().fail_syncs(1);
    let reply = client
        .post("BatchUpdateFirmware", &batch(&["dev005"]))
        .await;
    assert_eq!(reply.code().as_deref(), Some("InternalError"));
    drop(emulator);

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(
        task_ids(&client).await,
        BTreeSet::from([first, second, third])
    );
    emulator.shutdown().await;
}

/// A small tmpfs, mounted for the test and unmounted on drop.
struct Mounted(tempfile::TempDir);

impl Mounted {
    /// `None` when this machine does not let the test mount (not root, no tmpfs).
    fn tmpfs(size: &str) -> Option<Self> {
        let dir = temp_dir("tmpfs");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(Self(dir))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

#[tokio::test]
#[allow(clippy::print_stdout, reason = "a skipped test says so")]
async fn a_really_full_disk_loses_and_reuses_nothing() {
    let Some(disk) = Mounted::tmpfs("64k") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let filler = disk.0.path().join("filler");
    std::fs::write(&filler, vec![0u8; 16 * 1024]).expect("filler");
    let state = disk.0.path().join("state.json");
    // Folds as often as possible, so they meet the full disk too.
    let start = |state: PathBuf| async move {
        builder(&state)
            .state_log_limit(1)
            .start("127.0.0.1:0")
            .await
            .expect("start")
    };
    let emulator = start(state.clone()).await;
    let client = Client::demo(emulator.addr());
    let devices = ["dev001", "dev002", "dev003", "dev004", "dev005"];
    let mut acknowledged = BTreeSet::new();
    let mut failures = 0;
    for call in 0..400 {
        match outcome(
            &client
                .post("BatchUpdateFirmware", &batch(&devices[..1 + call % 5]))
                .await,
        ) {
            Ok(id) => assert!(acknowledged.insert(id), "TaskId {id} handed out twice"),
            Err(code) => {
                assert_eq!(code, "InternalError");
                failures += 1;
                if failures == 5 {
                    break;
                }
            }
        }
    }
    assert_eq!(failures, 5, "the disk never filled up");
    assert_eq!(task_ids(&client).await, acknowledged);
    drop(emulator);

    // Still full: it loads, and has every acknowledged task and no other.
    let emulator = start(state.clone()).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(task_ids(&client).await, acknowledged);
    drop(emulator);

    std::fs::remove_file(&filler).expect("make room");
    let emulator = start(state.clone()).await;
    let client = Client::demo(emulator.addr());
    let mut later = BTreeSet::new();
    for _ in 0..3 {
        let id = outcome(
            &client
                .post("BatchUpdateFirmware", &batch(&["dev006"]))
                .await,
        )
        .expect("room again");
        assert!(!acknowledged.contains(&id), "TaskId {id} reused");
        later.insert(id);
    }
    emulator.shutdown().await;
    let emulator = start(state.clone()).await;
    let client = Client::demo(emulator.addr());
    let mut everything = acknowledged;
    everything.extend(later);
    assert_eq!(task_ids(&client).await, everything);
    emulator.shutdown().await;
}

/// The real binary on `state`, and its address.
fn spawn_binary(state: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--step-ms",
            "3600000",
        ])
        .arg("--state")
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let Some(address) = line.trim_end().strip_prefix("listening on http://") else {
        let _ = child.kill();
        let output = child.wait_with_output().expect("output");
        panic!(
            "the emulator did not start: {line:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let address = address.parse().expect("an address");
    (child, address)
}

/// A number below `bound` that differs between calls and runs.
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one(NEXT.fetch_add(1, Ordering::SeqCst)) % bound
}

/// The TaskIds acknowledged so far over the restarts of one state file.
#[derive(Default)]
struct Acknowledged(Vec<u64>);

impl Acknowledged {
    /// Asserts that the server behind `client` still has every acknowledged task.
    async fn assert_kept(&self, client: &Client, at: &str) {
        let known = task_ids(client).await;
        let missing: Vec<_> = self.0.iter().filter(|id| !known.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "{at}: acknowledged, then lost: {missing:?}"
        );
    }

    /// Adds the TaskIds of one round, asserting that none was handed out before.
    fn add(&mut self, answered: Vec<u64>, at: &str) {
        for id in answered {
            assert!(!self.0.contains(&id), "{at}: TaskId {id} handed out twice");
            self.0.push(id);
        }
    }
}

/// Three streams of tasks against `client`, and what they get answers for.
struct Streams {
    handles: Vec<tokio::task::JoinHandle<()>>,
    answered: Arc<Mutex<Vec<u64>>>,
}

impl Streams {
    fn start(client: &Client) -> Self {
        let answered = Arc::new(Mutex::new(Vec::new()));
        let handles = (0..3)
            .map(|_| tokio::spawn(stream_of_tasks(client.clone(), Arc::clone(&answered))))
            .collect();
        Self { handles, answered }
    }

    /// Waits for the streams to stop (the server is gone); the TaskIds they got.
    async fn finish(self) -> Vec<u64> {
        for handle in self.handles {
            handle.await.expect("the stream");
        }
        self.answered.lock().expect("lock").clone()
    }
}

/// Sends `BatchUpdateFirmware` until the server is gone; the TaskIds it got answers for.
async fn stream_of_tasks(client: Client, acknowledged: Arc<Mutex<Vec<u64>>>) {
    let devices = [
        "dev001", "dev002", "dev003", "dev004", "dev005", "dev006", "dev007", "dev008",
    ];
    loop {
        let first = random_below(6) as usize;
        let body = batch(&devices[first..first + 3]).to_string();
        let bytes = client.post_bytes("BatchUpdateFirmware", body.as_bytes());
        // A refused connection or a closed one without an answer: the server is gone.
        let Ok(Some(reply)) =
            tokio::time::timeout(Duration::from_secs(5), try_send(client.addr, &bytes)).await
        else {
            return;
        };
        match outcome(&reply) {
            Ok(id) => acknowledged.lock().expect("lock").push(id),
            Err(code) => panic!("BatchUpdateFirmware failed with {code}"),
        }
    }
}

/// Like `send_raw`, but `None` also when nobody listens any more.
async fn try_send(addr: SocketAddr, bytes: &[u8]) -> Option<Reply> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(bytes).await.ok()?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.ok()?;
    let split = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Reply {
        status,
        head,
        body: received[split + 4..].to_vec(),
    })
}

#[tokio::test]
#[allow(clippy::print_stdout, reason = "how much the rounds covered")]
async fn kill_9_during_a_stream_of_tasks_loses_and_reuses_nothing() {
    const ROUNDS: usize = 10;
    let dir = temp_dir("kill");
    let state = dir.path().join("state.json");
    let mut acknowledged = Acknowledged::default();
    let mut killed_with_calls_in_flight = 0;
    for round in 0..=ROUNDS {
        let at = format!("round {round}");
        let (mut child, addr) = spawn_binary(&state);
        let client = Client::demo(addr);
        acknowledged.assert_kept(&client, &at).await;
        if round == ROUNDS {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        let streams = Streams::start(&client);
        tokio::time::sleep(Duration::from_millis(30 + random_below(270))).await;
        child.kill().expect("kill -9");
        let _ = child.wait();
        let answered = streams.finish().await;
        if !answered.is_empty() {
            killed_with_calls_in_flight += 1;
        }
        acknowledged.add(answered, &at);
    }
    assert!(
        killed_with_calls_in_flight >= ROUNDS / 2,
        "too few tasks to prove anything"
    );
    println!(
        "{} tasks acknowledged in {ROUNDS} rounds",
        acknowledged.0.len()
    );
}

fn log_of(state: &Path) -> PathBuf {
    let mut path = state.as_os_str().to_owned();
    path.push(".log");
    PathBuf::from(path)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

#[tokio::test]
async fn the_log_is_folded_into_the_state_file_and_stays_bounded() {
    let dir = temp_dir("fold");
    let state = dir.path().join("state.json");
    let log = log_of(&state);
    let emulator = builder(&state)
        .state_log_limit(1)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    let client = Client::demo(emulator.addr());
    let mut acknowledged = BTreeSet::new();
    let mut folds = 0;
    let mut previous = 0;
    let devices = ["dev001", "dev002", "dev003", "dev004"];
    for call in 0..60 {
        let id = outcome(
            &client
                .post("BatchUpdateFirmware", &batch(&devices[call % 4..]))
                .await,
        )
        .expect("a task");
        acknowledged.insert(id);
        // The log outgrows the snapshot only while a fold (of a sealed log) is running.
        let folding = sealed_log_of(&state).exists();
        let log_len = size(&log);
        assert!(
            log_len <= size(&state) || folding,
            "after change {call}: a log of {log_len} bytes next to a state file of {}",
            size(&state)
        );
        if log_len < previous {
            folds += 1;
        }
        previous = log_len;
    }
    assert!(folds >= 3, "only {folds} folds");
    drop(emulator);

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(task_ids(&client).await, acknowledged);
    let next = create_task(&client, &["dev005"]).await;
    assert_eq!(next, acknowledged.last().expect("a task") + 1);
    emulator.shutdown().await;
    assert_eq!(size(&log), 0, "shutdown folds the log");
}

/// Three tasks, an upload and a cancel in the log of a fresh state, without a fold.
async fn three_tasks_in_the_log(state: &Path) -> BTreeSet<u64> {
    let emulator = start(state).await;
    let client = Client::demo(emulator.addr());
    let mut ids = BTreeSet::new();
    for devices in [&["dev001"][..], &["dev002"], &["dev001", "dev003"]] {
        ids.insert(
            outcome(&client.post("BatchUpdateFirmware", &batch(devices)).await).expect("a task"),
        );
    }
    let upload = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "3.0.0",
                        "FirmwareName": "fw", "Md5sum": "0123456789abcdef0123456789abcdef",
                        "FileSize": 1024, "FwType": "mcu"});
    client.post("UploadFirmware", &upload).await.ok();
    let first = *ids.first().expect("a task");
    let cancel = json!({"ProductId": "ABCDE12345", "TaskId": first,
                        "Status": FirmwareTaskStatus::Cancelled});
    client.post("UpdateOtaTaskStatus", &cancel).await.ok();
    drop(emulator);
    assert_eq!(
        std::fs::read_to_string(log_of(state))
            .expect("the log")
            .lines()
            .count(),
        5
    );
    ids
}

async fn assert_three_tasks(client: &Client, ids: &BTreeSet<u64>) {
    assert_eq!(&task_ids(client).await, ids);
    let versions = firmware_versions(client).await;
    assert_eq!(
        versions.iter().filter(|v| *v == "3.0.0").count(),
        1,
        "{versions:?}"
    );
    assert_eq!(
        task_status(client, *ids.first().expect("a task")).await,
        FirmwareTaskStatus::Cancelled
    );
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_and_cut_off() {
    let dir = temp_dir("torn");
    let state = dir.path().join("state.json");
    let ids = three_tasks_in_the_log(&state).await;
    let log = log_of(&state);
    let text = std::fs::read_to_string(&log).expect("the log");
    // A crash near the end of writing a long record (the next one is shorter).
    let long = text.lines().nth(2).expect("a record of two devices");
    std::fs::write(&log, format!("{text}{}", &long[..long.len() - 2])).expect("tear");

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_three_tasks(&client, &ids).await;
    let fourth = create_task(&client, &["dev004"]).await;
    assert!(fourth > *ids.last().expect("a task"));
    drop(emulator);

    // The torn bytes are gone: the next record went where they were, and nothing follows.
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.ends_with('\n') && text.lines().count() == 6, "{text}");
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    let mut all = ids.clone();
    all.insert(fourth);
    assert_eq!(task_ids(&client).await, all);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_damaged_complete_record_is_refused_with_its_line() {
    let dir = temp_dir("damaged");
    let state = dir.path().join("state.json");
    three_tasks_in_the_log(&state).await;
    let log = log_of(&state);
    let text = std::fs::read_to_string(&log).expect("the log");
    let lines: Vec<&str> = text.lines().collect();

    let refusal = |lines: Vec<String>| {
        let log = log.clone();
        let state = state.clone();
        async move {
            std::fs::write(&log, lines.join("\n") + "\n").expect("write the log");
            builder(&state)
                .start("127.0.0.1:0")
                .await
                .expect_err("a damaged log is refused")
                .to_string()
        }
    };
    let mut damaged: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    damaged[1] = damaged[1].replacen("\"seq\"", "\"seq", 1);
    let error = refusal(damaged).await;
    assert!(error.contains("line 2"), "{error}");

    let mut damaged: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let last = damaged.len() - 1;
    damaged[last] = damaged[last][..damaged[last].len() - 3].to_owned();
    let error = refusal(damaged).await;
    assert!(error.contains("line 5"), "{error}");

    // A record left out is a gap, not a torn end.
    let mut gap: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    gap.remove(2);
    let error = refusal(gap).await;
    assert!(
        error.contains("line 3") && error.contains("missing"),
        "{error}"
    );

    // The same task twice would hand out its ID twice.
    let mut twice: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    twice.insert(2, twice[1].replacen("\"seq\":2", "\"seq\":3", 1));
    for (n, line) in twice.iter_mut().enumerate().skip(3) {
        *line = line.replacen(&format!("\"seq\":{n}"), &format!("\"seq\":{}", n + 1), 1);
    }
    let error = refusal(twice).await;
    assert!(
        error.contains("line 3") && error.contains("already"),
        "{error}"
    );
}

#[tokio::test]
async fn a_fold_cut_short_before_the_log_was_emptied_applies_nothing_twice() {
    let dir = temp_dir("fold-crash");
    let state = dir.path().join("state.json");
    let ids = three_tasks_in_the_log(&state).await;
    let log = log_of(&state);
    let records = std::fs::read(&log).expect("the log");
    // A clean shutdown folds the log into the state file and empties it...
    start(&state).await.shutdown().await;
    assert_eq!(size(&log), 0);
    // ...and a crash right after the rename would have left the log as it was.
    std::fs::write(&log, &records).expect("restore the log");
    std::fs::write(dir.path().join("state.json.tmp"), b"{\"half\":").expect("a leftover");

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_three_tasks(&client, &ids).await;
    let fourth = create_task(&client, &["dev004"]).await;
    assert_eq!(fourth, ids.last().expect("a task") + 1);
    drop(emulator);
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(task_ids(&client).await.len(), 4);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_state_file_of_the_earlier_format_loads() {
    let dir = temp_dir("earlier");
    let state = dir.path().join("state.json");
    let saved = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/state-before-log.json");
    std::fs::copy(&saved, &state).expect("copy");
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(
        task_ids(&client).await,
        BTreeSet::from([1_000_001, 1_000_002])
    );
    assert_eq!(
        task_status(&client, 1_000_001).await,
        FirmwareTaskStatus::Cancelled
    );
    assert!(
        firmware_versions(&client)
            .await
            .contains(&"3.0.0".to_owned())
    );
    let next = create_task(&client, &["dev004"]).await;
    assert_eq!(next, 1_000_003);
    drop(emulator);
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(
        task_ids(&client).await,
        BTreeSet::from([1_000_001, 1_000_002, 1_000_003])
    );
    emulator.shutdown().await;
}

/// A state file whose `next_task_id` lags behind its tasks (edited by hand, or damaged)
/// hands out no TaskId it already holds: the new task would replace an old one, and the
/// log would then refuse the next start.
#[tokio::test]
async fn a_state_file_whose_next_task_id_lags_reuses_no_task_id() {
    let dir = temp_dir("lagging");
    let state = dir.path().join("state.json");
    let saved = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/state-before-log.json");
    let mut saved: Value =
        serde_json::from_slice(&std::fs::read(saved).expect("read")).expect("JSON");
    saved["next_task_id"] = json!(1_000_001);
    std::fs::write(&state, saved.to_string()).expect("write");
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    let next = create_task(&client, &["dev004"]).await;
    assert_eq!(next, 1_000_003);
    assert_eq!(
        task_status(&client, 1_000_001).await,
        FirmwareTaskStatus::Cancelled,
        "the old task stays"
    );
    drop(emulator);
    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(
        task_ids(&client).await,
        BTreeSet::from([1_000_001, 1_000_002, 1_000_003])
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_log_without_its_state_file_is_refused() {
    let dir = temp_dir("orphan");
    let state = dir.path().join("state.json");
    three_tasks_in_the_log(&state).await;
    std::fs::remove_file(&state).expect("remove the state file");
    let error = builder(&state)
        .start("127.0.0.1:0")
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("missing"), "{error}");
}

#[tokio::test]
async fn a_device_list_is_kept_only_when_written() {
    let dir = temp_dir("lists");
    let state = dir.path().join("state.json");
    let emulator = start(&state).await;
    let kept = DeviceListFixture::new("ABCDE12345", "kept.txt", vec!["dev007".to_owned()]);
    emulator.add_device_list(kept.clone()).expect("kept");
    emulator.storage_faults().fail_writes(1);
    let lost = DeviceListFixture::new("ABCDE12345", "lost.txt", vec!["dev009".to_owned()]);
    assert!(emulator.add_device_list(lost.clone()).is_err());
    drop(emulator);

    let emulator = start(&state).await;
    let client = Client::demo(emulator.addr());
    let by_file = |list: &DeviceListFixture| {
        json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0",
               "FileName": list.file_name, "FileMd5": list.md5_hex(), "FileSize": list.size()})
    };
    client
        .post("BatchUpdateFirmware", &by_file(&kept))
        .await
        .ok();
    let reply = client.post("BatchUpdateFirmware", &by_file(&lost)).await;
    assert_eq!(reply.code().as_deref(), Some("InvalidParameterValue"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_second_emulator_on_the_same_state_file_is_refused_at_once() {
    let dir = temp_dir("shared");
    let state = dir.path().join("state.json");
    let first = start(&state).await;
    let client = Client::demo(first.addr());
    let created = create_task(&client, &["dev001"]).await;

    // In this process and in another one: both must refuse, naming the cause.
    let error = builder(&state)
        .start("127.0.0.1:0")
        .await
        .expect_err("a second emulator on one state file")
        .to_string();
    assert!(error.contains("in use"), "{error}");
    let output = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");

    // The refused starts changed nothing, and the file is free again once the first
    // emulator is gone.
    first.shutdown().await;
    let again = start(&state).await;
    assert_eq!(
        task_ids(&Client::demo(again.addr())).await,
        BTreeSet::from([created])
    );
}

fn sealed_log_of(state: &Path) -> PathBuf {
    let mut path = state.as_os_str().to_owned();
    path.push(".log.old");
    PathBuf::from(path)
}

/// Starts on `state`, checks the three tasks and that the next TaskId follows them, and
/// that a restart still has all four and no fold left to finish.
async fn three_tasks_and_one_more(state: &Path, ids: &BTreeSet<u64>, case: &str) {
    let emulator = start(state).await;
    let client = Client::demo(emulator.addr());
    assert_eq!(&task_ids(&client).await, ids, "{case}");
    assert!(
        !sealed_log_of(state).exists(),
        "{case}: the fold was finished at start"
    );
    let fourth = create_task(&client, &["dev004"]).await;
    assert_eq!(fourth, ids.last().expect("a task") + 1, "{case}");
    drop(emulator);
    let emulator = start(state).await;
    let client = Client::demo(emulator.addr());
    let mut all = ids.clone();
    all.insert(fourth);
    assert_eq!(task_ids(&client).await, all, "{case}");
    emulator.shutdown().await;
}

/// The files as a crash at each step of a background fold leaves them: the log sealed as
/// `FILE.log.old` (a second name of the log, or the log moved there and a new one begun),
/// the new snapshot written or not, the sealed log removed or not.
#[tokio::test]
async fn a_crash_at_any_step_of_a_background_fold_loses_and_repeats_nothing() {
    let dir = temp_dir("fold-steps");
    let pristine = dir.path().join("pristine");
    std::fs::create_dir_all(&pristine).expect("dir");
    let ids = three_tasks_in_the_log(&pristine.join("state.json")).await;
    let snapshot = std::fs::read(pristine.join("state.json")).expect("the snapshot");
    let records = std::fs::read(log_of(&pristine.join("state.json"))).expect("the log");
    let text = String::from_utf8(records.clone()).expect("text");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "three tasks, an upload and a cancel");
    let split = lines[..3].join("\n") + "\n";
    let rest = lines[3..].join("\n") + "\n";
    // The snapshot with all five records in it, as a finished fold writes it.
    let folded = {
        let state = pristine.join("folded.json");
        std::fs::write(&state, &snapshot).expect("copy");
        std::fs::write(log_of(&state), &records).expect("copy");
        start(&state).await.shutdown().await;
        std::fs::read(&state).expect("the folded snapshot")
    };

    // (case, snapshot, sealed log, log, a leftover temporary file)
    type Files<'a> = (
        &'a str,
        &'a [u8],
        Option<&'a [u8]>,
        &'a [u8],
        Option<&'a str>,
    );
    let cases: [Files<'_>; 6] = [
        (
            "the new log file made",
            &snapshot,
            None,
            &records,
            Some(".log.next"),
        ),
        (
            "the sealed name linked",
            &snapshot,
            Some(&records),
            &records,
            None,
        ),
        (
            "the log moved to the sealed name",
            &snapshot,
            Some(&records),
            b"",
            None,
        ),
        (
            "records after the sealed ones",
            &snapshot,
            Some(split.as_bytes()),
            rest.as_bytes(),
            None,
        ),
        (
            "the new snapshot half written",
            &snapshot,
            Some(split.as_bytes()),
            rest.as_bytes(),
            Some(".tmp"),
        ),
        (
            "the new snapshot in place",
            &folded,
            Some(&records),
            b"",
            None,
        ),
    ];
    for (n, (case, snapshot, sealed, log, leftover)) in cases.into_iter().enumerate() {
        let state = dir.path().join(format!("state-{n}.json"));
        std::fs::write(&state, snapshot).expect("snapshot");
        if let Some(sealed) = sealed {
            std::fs::write(sealed_log_of(&state), sealed).expect("sealed log");
        }
        std::fs::write(log_of(&state), log).expect("log");
        if let Some(suffix) = leftover {
            let mut path = state.as_os_str().to_owned();
            path.push(suffix);
            std::fs::write(PathBuf::from(path), b"{\"half\":").expect("a leftover");
        }
        three_tasks_and_one_more(&state, &ids, case).await;
    }
}

/// The environment variable that makes `fold_child` serve.
const FOLD_CHILD_STATE: &str = "EMULATOR_FOLD_CHILD_STATE";

/// Not a test: the emulator process of `kill_9_during_background_folds_loses_nothing`,
/// started as this test binary running only this function. It folds as often as it can.
#[tokio::test]
#[ignore = "run by kill_9_during_background_folds_loses_nothing"]
#[allow(clippy::print_stdout, reason = "the address, for the parent")]
async fn fold_child() {
    let Some(state) = std::env::var_os(FOLD_CHILD_STATE) else {
        return;
    };
    let emulator = builder(Path::new(&state))
        .state_log_limit(1)
        .start("127.0.0.1:0")
        .await
        .expect("start");
    println!("fold child listening on {}", emulator.addr());
    std::future::pending::<()>().await;
}

/// The child emulator on `state`, and its address.
fn spawn_fold_child(state: &Path) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "fold_child", "--ignored", "--nocapture"])
        .env(FOLD_CHILD_STATE, state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let address = child.stdout.take().and_then(|stdout| {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if let Some(address) = line.trim_end().strip_prefix("fold child listening on ") {
                return address.parse::<SocketAddr>().ok();
            }
        }
    });
    match address {
        Some(address) => (child, address),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child emulator did not start");
        }
    }
}

/// kill -9 while a fold runs in the background (seen by its sealed log), at a random
/// moment of it, again and again on the same files: every start loads, and has every
/// task acknowledged before, and no TaskId comes twice.
#[tokio::test]
#[allow(clippy::print_stdout, reason = "how much the rounds covered")]
async fn kill_9_during_background_folds_loses_and_reuses_nothing() {
    const FILES: usize = 5;
    const KILLS: usize = 6;
    let mut killed_mid_fold = 0;
    let mut total = 0;
    for files in 0..FILES {
        let dir = temp_dir("fold-kill");
        let state = dir.path().join("state.json");
        let sealed = sealed_log_of(&state);
        let mut acknowledged = Acknowledged::default();
        for round in 0..=KILLS {
            let at = format!("files {files}, round {round}");
            let (mut child, addr) = spawn_fold_child(&state);
            let client = Client::demo(addr);
            acknowledged.assert_kept(&client, &at).await;
            if round == KILLS {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            let streams = Streams::start(&client);
            // Wait for a fold to begin (up to 5 s), then kill at a random point of it.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while !sealed.exists() && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            std::thread::sleep(Duration::from_micros(random_below(3_000)));
            child.kill().expect("kill -9");
            let _ = child.wait();
            if sealed.exists() {
                killed_mid_fold += 1;
            }
            acknowledged.add(streams.finish().await, &at);
        }
        total += acknowledged.0.len();
    }
    assert!(
        killed_mid_fold >= FILES * KILLS / 4,
        "only {killed_mid_fold} of {} kills came during a fold",
        FILES * KILLS
    );
    println!("{total} tasks acknowledged; {killed_mid_fold} kills during a fold");
}
