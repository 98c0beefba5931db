//! One deadline for the whole call, retries and waits included, against real servers on
//! 127.0.0.1 that never answer.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use iotexplorer_http::{Error, RateLimit, RetryPolicy, TimeoutPhase};
use support::{Reply, SilentServer, TestServer, describe, task_created, upgrade};
use tokio::time::Instant;

/// A client of a server that accepts connections and never answers, with the default
/// retry policy (several attempts).
fn silent_client(silent: &SilentServer) -> iotexplorer_http::ClientBuilder {
    iotexplorer_http::Client::builder()
        .endpoint_url(format!("http://{}", silent.addr))
        .static_credentials(support::SECRET_ID, support::SECRET_KEY)
        .proxy(iotexplorer_http::Proxy::none())
        .rate_limit(None)
}

#[tokio::test]
async fn a_read_ends_at_the_deadline_of_the_whole_call() {
    let silent = SilentServer::start().await;
    let client = silent_client(&silent)
        .call_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.send(&describe()).await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Request,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_timeout());
}

#[tokio::test]
async fn a_write_ends_at_the_deadline_of_the_whole_call_as_ambiguous() {
    let silent = SilentServer::start().await;
    let client = silent_client(&silent)
        .call_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
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
    assert_eq!(silent.accepted(), 1, "a write is sent once");
}

#[tokio::test]
async fn attempts_have_their_own_timeout_within_the_call_deadline() {
    let silent = SilentServer::start().await;
    let client = silent_client(&silent)
        .request_timeout(Duration::from_millis(200))
        .call_timeout(Duration::from_secs(10))
        .retry_policy(support::fast_retries(3))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.send(&describe()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
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
}

#[tokio::test]
async fn no_backoff_outlasts_the_call_deadline() {
    let bad_gateway = Reply::Status(502, "text/html", Bytes::from_static(b"<html>502</html>"));
    let server = TestServer::always(bad_gateway).await;
    let client = support::builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_base_delay(Duration::from_secs(5))
                .with_max_delay(Duration::from_secs(5)),
        )
        .call_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.send(&describe()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{error:?}");
    // A backoff is drawn from zero to its bound of 5 s (full jitter): one that would end
    // past the deadline is not waited for, so every attempt started before the deadline,
    // and the failure at hand is returned rather than a timeout. (Most often the first
    // backoff is too long and there is one attempt; a short draw allows another.)
    let deadline = started + Duration::from_secs(1);
    let arrivals = server.arrivals();
    assert!(!arrivals.is_empty());
    assert!(arrivals.iter().all(|arrival| arrival.at < deadline));
    assert!(
        matches!(error, Error::HttpStatus { status: 502, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn waiting_for_the_rate_limit_counts_against_the_deadline() {
    let server = TestServer::always(task_created()).await;
    let client = support::builder(&server)
        .rate_limit(Some(RateLimit::new(1, Duration::from_secs(30))))
        .call_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let started = Instant::now();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{error:?}");
    assert!(error.is_timeout(), "{error:?}");
    assert!(error.was_not_sent(), "{error:?}");
    assert_eq!(server.count(), 1);
}
