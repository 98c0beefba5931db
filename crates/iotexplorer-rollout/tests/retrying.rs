//! Retrying has one owner: the client's policy, which the rollout sets
//! ([`Settings::retry`]). A server that throttles a call N times counts the attempts: N + 1
//! when the policy allows that many, and never more than the policy's bound, for a read and
//! for `BatchUpdateFirmware` alike. Before, the rollout's own rounds multiplied the
//! client's: a policy of 3 attempts made 33.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use iotexplorer_http::{Client, RetryPolicy};
use iotexplorer_model::FirmwareUpdateStatus;
use iotexplorer_rollout::{
    BatchState, Event, Outcome, Record, Rollout, RolloutError, RolloutSpec, Settings,
    WaveCheckTiming, parse_waves,
};
use serde_json::{Value, json};

const SECRET_ID: &str = "AKIDRETRYTEST";
const SECRET_KEY: &str = "retry-test-key";
const BATCH: &str = "BatchUpdateFirmware";
const DEVICES: &str = "DescribeFirmwareTaskDevices";

/// How the server answers: the `Response` object for the `n`th call (from 0) of an action.
type Script = dyn Fn(&str, u64) -> Value + Send + Sync;

/// A server on 127.0.0.1 that answers by script and counts the calls of each action.
struct Server {
    url: String,
    calls: Arc<Mutex<HashMap<String, u64>>>,
}

impl Server {
    async fn start(script: impl Fn(&str, u64) -> Value + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(HashMap::new()));
        let script: Arc<Script> = Arc::new(script);
        let counted = Arc::clone(&calls);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (calls, script) = (Arc::clone(&counted), Arc::clone(&script));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let action = request
                            .headers()
                            .get("x-tc-action")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let n = {
                            let mut calls = calls.lock().unwrap();
                            let count = calls.entry(action.clone()).or_insert(0);
                            *count += 1;
                            *count - 1
                        };
                        let mut response = script(&action, n);
                        response["RequestId"] = json!(format!("{action}-{n}"));
                        let body = json!({ "Response": response }).to_string();
                        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, calls }
    }

    fn calls(&self, action: &str) -> u64 {
        self.calls.lock().unwrap().get(action).copied().unwrap_or(0)
    }

    /// A client built with the default policy: the rollout's replaces it.
    fn client(&self) -> Client {
        Client::builder()
            .endpoint_url(&self.url)
            .region("ap-guangzhou")
            .static_credentials(SECRET_ID, SECRET_KEY)
            .build()
            .unwrap()
    }
}

fn throttled() -> Value {
    json!({"Error": {"Code": "RequestLimitExceeded", "Message": "too many requests"}})
}

/// One device that updates at once.
fn updated() -> Value {
    json!({"Total": 1, "Devices": [
        {"DeviceName": "dev000", "Status": FirmwareUpdateStatus::Done, "TaskId": 7}
    ]})
}

fn spec() -> RolloutSpec {
    let devices = vec!["dev000".to_owned()];
    let waves = parse_waves("100%").unwrap();
    let mut spec = RolloutSpec::new("RETRY00001", "2.0.0", &devices, waves, 1).unwrap();
    spec.max_failure_rate = 0.0;
    spec.wave_timeout_secs = 10;
    spec
}

/// A journal's path, in a directory of its own that is removed when this is dropped.
struct JournalPath {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl std::ops::Deref for JournalPath {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

fn journal(name: &str) -> JournalPath {
    let dir = tempfile::Builder::new()
        .prefix(&format!("rollout-retrying-{name}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join("journal");
    JournalPath { _dir: dir, path }
}

/// A quick policy of `attempts` attempts.
fn settings(attempts: u32) -> Settings {
    let mut settings = Settings::default();
    settings.retry = RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5));
    settings.reconcile_delay = Duration::from_millis(10);
    settings.resend_after = Duration::from_millis(100);
    settings.wave_check = WaveCheckTiming::new(Duration::from_millis(5), Duration::from_millis(20));
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_throttled_n_times_is_sent_n_plus_one_times() {
    for throttles in [1, 4] {
        let server = Server::start(move |action, n| match action {
            BATCH if n < throttles => throttled(),
            BATCH => json!({"TaskId": 7}),
            _ => updated(),
        })
        .await;
        let path = journal(&format!("write-{throttles}"));
        let mut rollout = Rollout::create(
            &path,
            spec(),
            &server.client(),
            settings(6),
            Box::new(iotexplorer_rollout::Silent),
        )
        .unwrap();
        assert_eq!(rollout.run().await.unwrap(), Outcome::Finished);
        assert_eq!(server.calls(BATCH), throttles + 1);
        assert_eq!(
            server.calls("DescribeFirmwareTasks"),
            0,
            "nothing to reconcile"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_throttled_throughout_stops_at_the_policy_bound() {
    let server = Server::start(|action, _| match action {
        BATCH => throttled(),
        _ => updated(),
    })
    .await;
    let path = journal("write-forever");
    let mut rollout = Rollout::create(
        &path,
        spec(),
        &server.client(),
        settings(3),
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    match rollout.run().await {
        Err(RolloutError::Call { batch, source }) => {
            assert_eq!(batch.as_deref(), Some("1-1"));
            assert!(
                source.code().is_some_and(|code| code.is_throttling()),
                "{source}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.calls(BATCH), 3, "the policy's 3 attempts, no more");
    // Refused for the rate, so not run: recorded as refused, to be sent again on resume.
    assert!(matches!(
        rollout.state().batches.get("1-1"),
        Some(BatchState::Refused { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_throttled_n_times_is_sent_n_plus_one_times_and_never_past_the_bound() {
    let server = Server::start(|action, n| match action {
        BATCH => json!({"TaskId": 7}),
        _ if n < 3 => throttled(),
        _ => updated(),
    })
    .await;
    let path = journal("read");
    let mut rollout = Rollout::create(
        &path,
        spec(),
        &server.client(),
        settings(5),
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    assert_eq!(rollout.run().await.unwrap(), Outcome::Finished);
    assert_eq!(server.calls(DEVICES), 4);

    let server = Server::start(|action, _| match action {
        BATCH => json!({"TaskId": 7}),
        _ => throttled(),
    })
    .await;
    let path = journal("read-forever");
    let mut rollout = Rollout::create(
        &path,
        spec(),
        &server.client(),
        settings(4),
        Box::new(iotexplorer_rollout::Silent),
    )
    .unwrap();
    match rollout.run().await {
        Err(RolloutError::Call {
            batch: None,
            source,
        }) => {
            assert!(
                source.code().is_some_and(|code| code.is_throttling()),
                "{source}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.calls(DEVICES), 4, "the policy's 4 attempts, no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_a_task_id_is_told_as_an_unknown_outcome() {
    // Before, the journal had its `unknown` record but observers heard nothing of it.
    let server = Server::start(|action, _| match action {
        BATCH => json!({}),
        _ => updated(),
    })
    .await;
    let (sender, receiver) = std::sync::mpsc::channel();
    let observer = move |event: &Event| {
        let _ = sender.send(event.clone());
    };
    let path = journal("no-task");
    let mut rollout = Rollout::create(
        &path,
        spec(),
        &server.client(),
        settings(3),
        Box::new(observer),
    )
    .unwrap();
    let result = rollout.run().await;
    assert!(
        matches!(result, Err(RolloutError::Inconsistent(ref message)) if message.contains("no TaskId")),
        "{result:?}"
    );
    assert_eq!(
        server.calls(BATCH),
        1,
        "a write that may have run is not resent"
    );
    let told: Vec<Record> = receiver
        .try_iter()
        .filter_map(|event| match event {
            Event::Recorded(record @ Record::Unknown { .. }) => Some(record),
            _ => None,
        })
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        rollout.state().batches.get("1-1"),
        Some(&BatchState::Uncertain)
    );
    let journal = std::fs::read_to_string(&*path).unwrap();
    assert!(journal.contains("\"record\":\"unknown\""), "{journal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answered_by_a_transient_server_failure_is_looked_up_before_it_is_resent() {
    // The model's rule: a transient server failure may follow partial processing, so
    // the batch's task is searched for before the call goes again. Before, only
    // `InternalError*` counted; `ServiceUnavailable` was taken as a refusal.
    for code in ["ServiceUnavailable", "InternalError.DBOpertaionError"] {
        let server = Server::start(move |action, n| match action {
            BATCH if n == 0 => json!({"Error": {"Code": code, "Message": "try later"}}),
            BATCH => json!({"TaskId": 7}),
            "DescribeFirmwareTasks" => json!({"Total": 0, "TaskInfos": []}),
            _ => updated(),
        })
        .await;
        let path = journal(&format!("transient-{code}"));
        let mut rollout = Rollout::create(
            &path,
            spec(),
            &server.client(),
            settings(3),
            Box::new(iotexplorer_rollout::Silent),
        )
        .unwrap();
        assert_eq!(rollout.run().await.unwrap(), Outcome::Finished, "{code}");
        // Looked up until the first call could no longer land, then sent again.
        assert!(server.calls("DescribeFirmwareTasks") >= 1, "{code}");
        assert_eq!(server.calls(BATCH), 2, "{code}");
    }
}
