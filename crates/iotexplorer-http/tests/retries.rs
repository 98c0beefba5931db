//! Which failures are retried, counted by arrivals at a real server on 127.0.0.1.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use iotexplorer_http::{Error, RetryPolicy, TimeoutPhase};
use support::{
    Reply, SilentServer, TestServer, api_error, builder, describe, fast_retries, task_created,
    upgrade,
};
use tokio::time::Instant;

/// Fails `failures` times with `failure`, then succeeds.
async fn flaky(failures: usize, failure: Reply) -> TestServer {
    TestServer::start(move |index, _| {
        if index < failures {
            failure.clone()
        } else {
            task_created()
        }
    })
    .await
}

#[tokio::test]
async fn throttling_is_retried_for_every_action() {
    for code in [
        "RequestLimitExceeded",
        "RequestLimitExceeded.UinLimitExceeded",
    ] {
        let server = flaky(2, api_error(code, "slow down")).await;
        let client = builder(&server).build().unwrap();
        let response = client.send(&upgrade()).await.unwrap();
        assert_eq!(response.task_id, Some(1000696));
        assert_eq!(server.count(), 3, "{code}");
    }
}

#[tokio::test]
async fn throttling_gives_up_after_the_last_attempt() {
    let server = TestServer::always(api_error("RequestLimitExceeded", "slow down")).await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(error.code().unwrap().is_throttling());
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn a_reset_after_sending_a_write_is_never_resent() {
    let server = flaky(1, Reply::Drop).await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Ambiguous { timed_out: false, action, .. } if action == "BatchUpdateFirmware"),
        "{error:?}"
    );
    assert!(error.is_ambiguous());
    assert!(!error.was_not_sent());
    assert_eq!(
        server.count(),
        1,
        "BatchUpdateFirmware must arrive exactly once"
    );
}

#[tokio::test]
async fn a_reset_after_sending_a_read_is_retried() {
    let server = flaky(2, Reply::Drop).await;
    let client = builder(&server).build().unwrap();
    client.send(&describe()).await.unwrap();
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_only_for_reads() {
    let bad_gateway = Reply::Status(502, "text/html", Bytes::from_static(b"<html>502</html>"));
    let server = TestServer::always(bad_gateway.clone()).await;
    let client = builder(&server).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    // A gateway's 502 does not say whether the write ran.
    let answer = std::error::Error::source(&error).and_then(|s| s.downcast_ref::<Error>());
    assert!(
        error.is_ambiguous() && matches!(answer, Some(Error::HttpStatus { status: 502, .. })),
        "{error:?}"
    );
    assert_eq!(server.count(), 1);

    let server = flaky(2, bad_gateway).await;
    let client = builder(&server).build().unwrap();
    client.send(&describe()).await.unwrap();
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn internal_errors_are_retried_only_for_reads() {
    let server = TestServer::always(api_error("InternalError", "oops")).await;
    let client = builder(&server).build().unwrap();
    client.send(&upgrade()).await.unwrap_err();
    assert_eq!(server.count(), 1);

    let server = flaky(3, api_error("InternalError.DbError", "oops")).await;
    let client = builder(&server).build().unwrap();
    client.send(&describe()).await.unwrap();
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn other_api_errors_are_never_retried() {
    let server = TestServer::always(api_error("ResourceNotFound.FirmwareNotExist", "no")).await;
    let client = builder(&server).build().unwrap();
    client.send(&describe()).await.unwrap_err();
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_request_timeout_is_ambiguous_for_a_write_and_retried_for_a_read() {
    let slow = Reply::Delay(Duration::from_secs(5), Box::new(task_created()));
    let server = TestServer::always(slow).await;
    let client = builder(&server)
        .request_timeout(Duration::from_millis(200))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();

    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Ambiguous {
                timed_out: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_timeout());
    assert_eq!(server.count(), 1);

    let error = client.send(&describe()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Request,
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.count(), 1 + 3);
}

#[tokio::test]
async fn connect_failures_are_retried_even_for_writes() {
    // Find a free port, leave it closed, and open a server there only after a while.
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = probe.local_addr().unwrap();
    drop(probe);
    let client = iotexplorer_http::Client::builder()
        .endpoint_url(format!("http://{addr}"))
        .static_credentials(support::SECRET_ID, support::SECRET_KEY)
        .proxy(iotexplorer_http::Proxy::none())
        .rate_limit(None)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(100)
                .with_base_delay(Duration::from_millis(40))
                .with_max_delay(Duration::from_millis(40)),
        )
        .build()
        .unwrap();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        TestServer::start_on(addr, |_, _| task_created()).await
    });
    let response = client.send(&upgrade()).await.unwrap();
    assert_eq!(response.task_id, Some(1000696));
    let server = late.await.unwrap();
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let client = iotexplorer_http::Client::builder()
        .endpoint_url(format!("http://{addr}"))
        .static_credentials("AKIDx", "k")
        .proxy(iotexplorer_http::Proxy::none())
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.was_not_sent());
}

#[tokio::test]
async fn a_connect_timeout_is_its_own_error_and_retried() {
    // TCP connects, but the TLS handshake never gets an answer.
    let silent = SilentServer::start().await;
    let client = iotexplorer_http::Client::builder()
        .endpoint_url(format!("https://{}", silent.addr))
        .static_credentials("AKIDx", "k")
        .proxy(iotexplorer_http::Proxy::none())
        .connect_timeout(Duration::from_millis(150))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.was_not_sent());
    assert_eq!(silent.accepted(), 3);
}

#[tokio::test]
async fn a_request_deadline_spent_connecting_counts_as_never_sent() {
    let silent = SilentServer::start().await;
    let client = iotexplorer_http::Client::builder()
        .endpoint_url(format!("https://{}", silent.addr))
        .static_credentials("AKIDx", "k")
        .proxy(iotexplorer_http::Proxy::none())
        .connect_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_millis(150))
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Connect,
                attempts: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(silent.accepted(), 2);
}

#[tokio::test]
async fn the_total_deadline_stops_retries() {
    let server = TestServer::always(api_error("RequestLimitExceeded", "slow down")).await;
    let client = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(1000)
                .with_base_delay(Duration::from_millis(30))
                .with_max_delay(Duration::from_millis(30))
                .with_total_deadline(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    client.send(&upgrade()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(server.count() >= 2);
    assert!(server.count() < 1000);
}

/// Throttles every call until `for_how_long` after the first arrival, then creates a task.
async fn throttled_for(for_how_long: Duration) -> TestServer {
    let first = std::sync::Arc::new(std::sync::OnceLock::new());
    TestServer::start(move |_, arrival| {
        let began = *first.get_or_init(|| arrival.at);
        if arrival.at.duration_since(began) < for_how_long {
            api_error("RequestLimitExceeded", "slow down")
        } else {
            task_created()
        }
    })
    .await
}

#[tokio::test]
async fn a_persistent_clone_outlasts_the_call_timeout_and_shares_the_pool() {
    let server = throttled_for(Duration::from_millis(1500)).await;
    let client = builder(&server)
        .call_timeout(Duration::from_millis(800))
        .retry_policy(fast_retries(100))
        .build()
        .unwrap();
    let patient = client.with_retry_policy(
        RetryPolicy::persistent(Duration::from_secs(4))
            .with_base_delay(Duration::from_millis(5))
            .with_max_delay(Duration::from_millis(20)),
    );
    assert!(patient.retry_policy().outlasts_call_timeout());
    assert!(!client.retry_policy().outlasts_call_timeout());

    // The client's own policy gives up at its call deadline, still throttled.
    let started = Instant::now();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { code, .. } if code.is_throttling()),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(1200));

    // The persistent clone keeps going past it, and succeeds once the throttling ends.
    let response = patient.send(&upgrade()).await.unwrap();
    assert_eq!(response.task_id, Some(1000696));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // One pool for both: every attempt went over the one kept-alive connection.
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_persistent_policy_never_resends_a_write_that_may_have_run() {
    let server = flaky(
        3,
        Reply::Status(502, "text/html", Bytes::from_static(b"bad gateway")),
    )
    .await;
    let client = builder(&server).build().unwrap().with_retry_policy(
        RetryPolicy::persistent(Duration::from_secs(2)).with_base_delay(Duration::from_millis(5)),
    );
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Ambiguous { .. }), "{error:?}");
    assert_eq!(server.count(), 1);
    // A read is retried through the same failures.
    let server = flaky(
        3,
        Reply::Status(502, "text/html", Bytes::from_static(b"bad gateway")),
    )
    .await;
    let client = builder(&server).build().unwrap().with_retry_policy(
        RetryPolicy::persistent(Duration::from_secs(2)).with_base_delay(Duration::from_millis(5)),
    );
    client.send(&describe()).await.unwrap();
    assert_eq!(server.count(), 4);
}

/// Gives credentials at once the first time, then only after `later`.
#[derive(Debug)]
struct SlowAfterFirst {
    asked: std::sync::atomic::AtomicU32,
    later: Duration,
}

impl iotexplorer_http::ProvideCredentials for SlowAfterFirst {
    fn provide_credentials(&self) -> iotexplorer_http::credentials::CredentialsFuture<'_> {
        let first = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        Box::pin(async move {
            if !first {
                tokio::time::sleep(self.later).await;
            }
            Ok(iotexplorer_http::credentials::ProvidedCredentials::new(
                tc3_sign::Credentials::new(support::SECRET_ID, support::SECRET_KEY),
            ))
        })
    }
}

#[tokio::test]
async fn a_deadline_that_runs_out_before_a_retry_is_sent_reports_the_failure_at_hand() {
    // The first attempt is throttled; the retry cannot get under way before the call's
    // deadline. What the caller learns is the throttling, not a bare timeout.
    let server = TestServer::always(api_error("RequestLimitExceeded", "slow down")).await;
    let client = builder(&server)
        .credentials(SlowAfterFirst {
            asked: std::sync::atomic::AtomicU32::new(0),
            later: Duration::from_secs(5),
        })
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { code, .. } if code.is_throttling()),
        "{error:?}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_throttled_write_is_not_resent_with_too_little_time_left_to_be_answered() {
    // The refusal takes 1.5 s to come; a retry would have about 0.5 s of the 2 s left and
    // be cut off after it was sent, its outcome unknown. The refusal is the answer.
    let slow_refusals = || {
        TestServer::always(Reply::Delay(
            Duration::from_millis(1500),
            Box::new(api_error("RequestLimitExceeded", "slow down")),
        ))
    };
    let within_2_s = |server: &TestServer| {
        builder(server)
            .call_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let server = slow_refusals().await;
    let error = within_2_s(&server).send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { code, .. } if code.is_throttling()),
        "{error:?}"
    );
    assert_eq!(server.count(), 1, "BatchUpdateFirmware sent once");
    // A read is still retried however little time is left: it cannot take effect twice.
    let server = slow_refusals().await;
    let error = within_2_s(&server).send(&describe()).await.unwrap_err();
    assert!(matches!(&error, Error::Timeout { .. }), "{error:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_throttled_write_is_not_resent_when_the_rate_limiter_took_the_time_left() {
    // Refused at once; the client's own limit (one call a second) then holds the retry
    // until 1 s, leaving 0.2 s of the 1.2 s: too little for a write whose answer takes
    // 0.6 s. The refusal is the answer, not an outcome cut off after sending.
    let server = TestServer::start(|n, _| match n {
        0 => api_error("RequestLimitExceeded", "slow down"),
        _ => Reply::Delay(Duration::from_millis(600), Box::new(task_created())),
    })
    .await;
    let client = builder(&server)
        .rate_limit(Some(iotexplorer_http::RateLimit::per_second(1)))
        .call_timeout(Duration::from_millis(1200))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { code, .. } if code.is_throttling()),
        "{error:?}"
    );
    assert_eq!(server.count(), 1, "BatchUpdateFirmware sent once");
}
