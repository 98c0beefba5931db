//! The client-side limit keeps a busy caller under the service's 20 calls per second.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iotexplorer_http::{RateLimit, RetryPolicy};
use iotexplorer_model::BatchUpdateFirmwareRequest;
use support::{TestServer, api_error, builder, task_created};
use tokio::time::Instant;

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .build()
        .unwrap()
}

/// A server that refuses with `RequestLimitExceeded` when more than `max` calls arrive
/// within `window` (a little shorter than the client's, for jitter on loopback).
async fn throttling_server(max: usize, window: Duration) -> TestServer {
    let recent = Arc::new(Mutex::new(VecDeque::<Instant>::new()));
    TestServer::start(move |_, arrival| {
        let mut recent = recent.lock().unwrap();
        while recent
            .front()
            .is_some_and(|first| arrival.at.duration_since(*first) >= window)
        {
            recent.pop_front();
        }
        if recent.len() >= max {
            api_error("RequestLimitExceeded", "too many")
        } else {
            recent.push_back(arrival.at);
            task_created()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_calls_stay_under_twenty_per_second() {
    let server = throttling_server(20, Duration::from_millis(800)).await;
    let client = builder(&server)
        .rate_limit(Some(RateLimit::default()))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        if let Err(error) = task.await.unwrap() {
            assert!(error.code().is_some_and(|c| c.is_throttling()), "{error}");
            refused += 1;
        }
    }
    assert_eq!(refused, 0, "no call may be throttled");
    assert_eq!(server.count(), 100);
    // 100 calls at 20 per second: four whole windows after the first burst.
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[tokio::test]
async fn clones_share_one_limit_per_action() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .rate_limit(Some(RateLimit::new(5, Duration::from_millis(500))))
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..15)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // 15 calls at 5 per half second: the last starts two windows after the first.
    assert!(started.elapsed() >= Duration::from_millis(1000));
    let arrivals = server.arrivals();
    let mut times: Vec<Instant> = arrivals.iter().map(|a| a.at).collect();
    times.sort();
    for pair in times.windows(6) {
        // Arrival times carry loopback jitter; the client's spacing is exact.
        assert!(pair[5] - pair[0] >= Duration::from_millis(350));
    }
}

#[tokio::test]
async fn without_a_limit_calls_go_at_once() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).rate_limit(None).build().unwrap();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.count(), 30);
}

#[tokio::test]
async fn clones_under_another_retry_policy_share_the_limiter() {
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .rate_limit(Some(RateLimit::new(1, Duration::from_millis(600))))
        .build()
        .unwrap();
    let patient = client.with_retry_policy(RetryPolicy::persistent(Duration::from_secs(5)));
    let started = Instant::now();
    client.send(&upgrade()).await.unwrap();
    // The clone's call waits for the window the first call opened.
    patient.send(&upgrade()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(600));
    let arrivals = server.arrivals();
    assert!(arrivals[1].at.duration_since(arrivals[0].at) >= Duration::from_millis(550));
}

#[tokio::test]
async fn a_limit_of_any_size_or_window_is_kept_without_a_panic() {
    let server = TestServer::always(task_created()).await;
    // "As good as no limit": every call goes at once, and nothing is made ready for
    // calls that never come.
    let unbounded = builder(&server)
        .rate_limit(Some(RateLimit::per_second(u32::MAX)))
        .build()
        .unwrap();
    for _ in 0..3 {
        unbounded.send(&upgrade()).await.unwrap();
    }
    // "Once, ever": the second call waits out its deadline, unsent.
    let once = builder(&server)
        .rate_limit(Some(RateLimit::new(1, Duration::MAX)))
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    once.send(&upgrade()).await.unwrap();
    let refused = tokio::time::timeout(Duration::from_secs(10), once.send(&upgrade()))
        .await
        .expect("the call ends by its deadline")
        .unwrap_err();
    assert!(refused.is_timeout() && refused.was_not_sent(), "{refused}");
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn calls_that_give_up_waiting_give_their_turns_back() {
    // Calls that time out waiting for their turn must not keep it: at a steady overload,
    // every later call would find the turns taken up to past its own deadline, and none
    // would ever be sent.
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .rate_limit(Some(RateLimit::per_second(2)))
        .retry_policy(RetryPolicy::none())
        .call_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let burst: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await })
        })
        .collect();
    let mut sent = 0;
    for call in burst {
        if call.await.unwrap().is_ok() {
            sent += 1;
        }
    }
    assert_eq!(sent, 1, "one turn in the first 400 ms at 2 per second");
    // The next turn (half a second after the first) is free again.
    let next = client.send(&upgrade()).await;
    assert!(next.is_ok(), "{next:?}");
    assert_eq!(server.count(), 2);
}
