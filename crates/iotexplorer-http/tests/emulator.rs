//! Against the project's emulator on 127.0.0.1, which checks signatures and rate limits
//! as the service does.

#![allow(clippy::unwrap_used, missing_docs)]

use iotexplorer_emulator::{
    DEMO_PRODUCT_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, FaultKind, FaultRule, Fixture,
    RunningEmulator,
};
use iotexplorer_http::{
    Client, ClientBuilder, Error, HttpMethod, Proxy, RateLimit, SignedHeaderSet,
};
use iotexplorer_model::{BatchUpdateFirmwareRequest, DescribeFirmwareTaskRequest, OverrideMode};

async fn emulator(rate_limit: u32) -> RunningEmulator {
    Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(rate_limit)
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

fn client_for(emulator: &RunningEmulator) -> ClientBuilder {
    Client::builder()
        .endpoint_url(emulator.url())
        .static_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)
        .region("ap-guangzhou")
        .proxy(Proxy::none())
}

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id(DEMO_PRODUCT_ID)
        .firmware_version("2.0.0")
        .device_names("dev001")
        .device_names("dev002")
        // The emulator remembers earlier tasks: replace them rather than be refused.
        .override_mode(OverrideMode::Override)
        .build()
        .unwrap()
}

fn describe(task_id: u64) -> DescribeFirmwareTaskRequest {
    DescribeFirmwareTaskRequest::builder()
        .product_id(DEMO_PRODUCT_ID)
        .firmware_version("2.0.0")
        .task_id(task_id)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_task_is_created_and_described_with_post_and_get() {
    let emulator = emulator(20).await;
    for method in [HttpMethod::Post, HttpMethod::Get] {
        let client = client_for(&emulator).method(method).build().unwrap();
        let created = client.send(&upgrade()).await.unwrap();
        let task_id = created.task_id.unwrap();
        let described = client.send(&describe(task_id)).await.unwrap();
        assert_eq!(described.task_id, Some(task_id));
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_emulator_accepts_either_signed_header_list_for_post_and_get() {
    let emulator = emulator(20).await;
    for set in [
        SignedHeaderSet::ContentTypeHostAction,
        SignedHeaderSet::ContentTypeAndHost,
    ] {
        for method in [HttpMethod::Post, HttpMethod::Get] {
            let client = client_for(&emulator)
                .method(method)
                .signed_headers(set)
                .build()
                .unwrap();
            let created = client.send(&upgrade()).await.unwrap();
            let task_id = created.task_id.unwrap();
            let described = client.send(&describe(task_id)).await.unwrap();
            assert_eq!(described.task_id, Some(task_id), "{set:?} {method:?}");
        }
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_generated_typed_methods_call_the_service() {
    let emulator = emulator(20).await;
    let client = client_for(&emulator).build().unwrap();
    let created = client.batch_update_firmware(&upgrade()).await.unwrap();
    let task_id = created.task_id.expect("a task id");
    let described = client
        .describe_firmware_task(&describe(task_id))
        .await
        .unwrap();
    assert_eq!(described.task_id, Some(task_id));
    assert_eq!(emulator.arrivals(), 2);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_signature_check() {
    let emulator = emulator(20).await;
    let client = Client::builder()
        .endpoint_url(emulator.url())
        .static_credentials(DEMO_SECRET_ID, "not-the-key")
        .proxy(Proxy::none())
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(error.code().unwrap().is_auth(), "{error}");
    assert!(error.request_id().is_some());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_write_that_may_have_run_arrives_exactly_once() {
    let emulator = emulator(20).await;
    emulator
        .faults()
        .push(FaultRule::new(FaultKind::DropAfter).for_action("BatchUpdateFirmware"));
    let client = client_for(&emulator).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
    assert_eq!(emulator.arrivals(), 1);
    emulator.shutdown().await;
}

/// The emulator closes connections left idle for 15 ms; the calls come 0 to 30 ms apart,
/// so a kept connection is often closed around the time the next call wants it. The
/// client takes another; no write is sent twice.
#[tokio::test]
async fn connections_closed_while_kept_never_send_a_write_twice() {
    let emulator = Emulator::builder()
        .fixture(Fixture::demo())
        .rate_limit(0)
        .idle_timeout(std::time::Duration::from_millis(15))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = client_for(&emulator).build().unwrap();
    let calls = 40u64;
    let (mut created, mut ambiguous) = (0u64, 0u64);
    for call in 0..calls {
        // Gaps of 0 to 30 ms, in 2 ms steps, in a scrambled order.
        let gap = (call * 7) % 16 * 2;
        tokio::time::sleep(std::time::Duration::from_millis(gap)).await;
        match client.send(&upgrade()).await {
            Ok(answer) => {
                assert!(answer.task_id.is_some());
                created += 1;
            }
            // The connection closed after the request was written: it may have run.
            Err(Error::Ambiguous { .. }) => ambiguous += 1,
            Err(error) => panic!("call {call}: {error:?}"),
        }
    }
    // Each arrival is one call's: every answered one, and some of those that may have run.
    let arrivals = emulator.arrivals();
    assert!(
        arrivals >= created && arrivals <= created + ambiguous,
        "{calls} calls, {created} answered, {ambiguous} ambiguous, {arrivals} arrived"
    );
    // Closed connections are nearly always noticed before they are used again.
    assert!(created >= calls - 5, "{created} of {calls} answered");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_read_that_failed_after_sending_is_retried() {
    let emulator = emulator(20).await;
    let client = client_for(&emulator).build().unwrap();
    let task_id = client.send(&upgrade()).await.unwrap().task_id.unwrap();
    emulator.faults().push(
        FaultRule::new(FaultKind::DropAfter)
            .for_action("DescribeFirmwareTask")
            .times(2),
    );
    client.send(&describe(task_id)).await.unwrap();
    assert_eq!(emulator.arrivals(), 1 + 3);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_calls_stay_under_the_service_limit() {
    let emulator = emulator(20).await;
    let client = client_for(&emulator)
        .rate_limit(Some(RateLimit::default()))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // The emulator counts by whole seconds; a call landing on the far side of a second
    // boundary through loopback jitter may rarely be refused once and retried.
    let arrivals = emulator.arrivals();
    assert!((100..105).contains(&arrivals), "{arrivals} arrivals");
    emulator.shutdown().await;
}
