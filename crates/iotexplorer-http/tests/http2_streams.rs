//! HTTP/2 servers that limit, reset or close streams: a request left waiting unsent is
//! not one of unknown outcome, a reset after the server took the request is, and a
//! connection that closed while kept does not fail the next call.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::Reason;
use iotexplorer_http::{Client, Error, RetryPolicy};
use support::raw_h2::{RawH2Server, RawTls, TASK_CREATED, answer};
use support::{TestCa, builder_at, describe, upgrade};
use tokio::sync::Notify;

/// A client of `server` whose attempts end within `attempt` and calls within `call`.
fn client_timed(server: &RawH2Server, ca: &TestCa, attempt: Duration, call: Duration) -> Client {
    builder_at(&server.url)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .request_timeout(attempt)
        .call_timeout(call)
        .build()
        .unwrap()
}

/// A client of `server` whose attempts end within 400 ms and calls within 2 s.
fn client(server: &RawH2Server, ca: &TestCa) -> Client {
    client_timed(
        server,
        ca,
        Duration::from_millis(400),
        Duration::from_secs(2),
    )
}

async fn handshake(tls: RawTls) -> h2::server::Connection<RawTls, Bytes> {
    h2::server::handshake(tls).await.unwrap()
}

/// Answers every request, each after `delay`.
async fn answer_after(mut connection: h2::server::Connection<RawTls, Bytes>, delay: Duration) {
    while let Some(Ok((request, respond))) = connection.accept().await {
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            answer(request, respond, TASK_CREATED).await;
        });
    }
}

/// A server that allows one stream at a time, sends its SETTINGS `settings_delay` after
/// the TLS handshake and answers each request `answer_delay` after it arrived.
async fn one_stream_at_a_time(
    ca: &TestCa,
    settings_delay: Duration,
    answer_delay: Duration,
) -> RawH2Server {
    RawH2Server::start(ca, move |_, tls| async move {
        tokio::time::sleep(settings_delay).await;
        let connection = h2::server::Builder::new()
            .max_concurrent_streams(1)
            .handshake::<_, Bytes>(tls)
            .await
            .unwrap();
        answer_after(connection, answer_delay).await;
    })
    .await
}

#[tokio::test]
async fn writes_beyond_the_servers_stream_limit_are_not_left_waiting_unsent() {
    let ca = TestCa::new();
    let server = one_stream_at_a_time(&ca, Duration::ZERO, Duration::from_millis(150)).await;
    let client = client(&server, &ca);
    // The connection the next calls find shared, its server's settings read.
    client.send(&upgrade()).await.unwrap();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await })
        })
        .collect();
    for call in calls {
        // Queued behind the others' streams, the last of them would wait unsent until
        // their attempts timed out, each then of unknown outcome.
        let created = call.await.unwrap().unwrap();
        assert_eq!(created.task_id, Some(1000696));
    }
}

/// Sends the answer's head and part of its body, then resets the stream with `reason`.
async fn reset_mid_answer(tls: RawTls, reason: Reason) {
    let mut connection = handshake(tls).await;
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        drop(request);
        let head = http::Response::builder().body(()).unwrap();
        let mut stream = respond.send_response(head, false).unwrap();
        stream
            .send_data(Bytes::from_static(b"{\"Response\":{"), false)
            .unwrap();
        stream.send_reset(reason);
    }
}

#[tokio::test]
async fn a_stream_reset_after_the_server_took_it_leaves_a_write_of_unknown_outcome() {
    for reason in [Reason::CANCEL, Reason::INTERNAL_ERROR] {
        let ca = TestCa::new();
        let server = RawH2Server::start(&ca, move |index, tls| async move {
            if index == 0 {
                reset_mid_answer(tls, reason).await;
            } else {
                answer_after(handshake(tls).await, Duration::ZERO).await;
            }
        })
        .await;
        let error = client(&server, &ca).send(&upgrade()).await.unwrap_err();
        assert!(
            error.is_ambiguous() && !error.is_timeout(),
            "{reason:?}: {error:?}"
        );
        // A read is sent again, here on a connection that answers.
        client(&server, &ca).send(&describe()).await.unwrap();
    }
}

#[tokio::test]
async fn a_write_whose_body_the_server_never_lets_in_ends_by_its_deadline() {
    let ca = TestCa::new();
    let server = RawH2Server::start(&ca, |_, tls| async move {
        let mut connection = h2::server::Builder::new()
            .initial_window_size(0)
            .handshake::<_, Bytes>(tls)
            .await
            .unwrap();
        let mut held = Vec::new();
        while let Some(Ok(stream)) = connection.accept().await {
            held.push(stream);
        }
    })
    .await;
    let started = tokio::time::Instant::now();
    let error = client(&server, &ca).send(&upgrade()).await.unwrap_err();
    // Its head was sent: the server may act on it.
    assert!(error.is_ambiguous() && error.is_timeout(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// How a server ends a connection once it answered its first request.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Closes it, without a word.
    Close,
    /// Sends `GOAWAY` and waits for the client to close it.
    GoAwayGracefully,
    /// Sends `GOAWAY` and closes it.
    GoAwayAndClose,
}

/// Answers the first request, then ends the connection as `ending` says and tells `ended`.
async fn answer_then_end(tls: RawTls, ending: Ending, ended: Arc<Notify>) {
    let mut connection = handshake(tls).await;
    let Some(Ok((request, respond))) = connection.accept().await else {
        return;
    };
    tokio::spawn(answer(request, respond, TASK_CREATED));
    // Drives the connection while the answer is read and sent; the client sends nothing
    // more until told the connection ended.
    let flush = Duration::from_millis(50);
    let more = tokio::time::timeout(flush, connection.accept()).await;
    assert!(matches!(more, Err(_) | Ok(None)), "a request came early");
    match ending {
        Ending::Close => {
            drop(connection);
            ended.notify_one();
            return;
        }
        Ending::GoAwayGracefully => connection.graceful_shutdown(),
        Ending::GoAwayAndClose => connection.abrupt_shutdown(Reason::NO_ERROR),
    }
    ended.notify_one();
    answer_after(connection, Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_ended_while_kept_is_not_used_again() {
    let endings = [
        Ending::Close,
        Ending::GoAwayGracefully,
        Ending::GoAwayAndClose,
    ];
    for ending in endings {
        let ca = TestCa::new();
        let ended = Arc::new(Notify::new());
        let told = ended.clone();
        let server = RawH2Server::start(&ca, move |_, tls| {
            answer_then_end(tls, ending, told.clone())
        })
        .await;
        // Made once: the write must not need a retry.
        let client = client(&server, &ca).with_retry_policy(RetryPolicy::none());
        client.send(&upgrade()).await.unwrap();
        // Bounded: a server task that failed its own check never tells.
        tokio::time::timeout(Duration::from_secs(5), ended.notified())
            .await
            .expect("the server ended the connection");
        // The client's side of the connection reads the end (a write sent before it did
        // is refused unprocessed after a GOAWAY, but after a plain close its outcome
        // stays unknown).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let created = client.send(&upgrade()).await;
        assert!(created.is_ok(), "{ending:?}: {created:?}");
        assert_eq!(server.connections(), 2);
    }
}

/// A client of `server` whose attempts end within 1 s, with no retries.
fn patient_client_without_retries(server: &RawH2Server, ca: &TestCa) -> Client {
    client_timed(server, ca, Duration::from_secs(1), Duration::from_secs(3))
        .with_retry_policy(RetryPolicy::none())
}

#[tokio::test]
async fn calls_after_a_goaway_go_on_a_new_connection_while_the_old_one_finishes() {
    // The first connection takes one request, says GOAWAY at once (gracefully: streams
    // it took go on), and answers that request only 400 ms later, so it stays open
    // meanwhile; later connections answer at once.
    let ca = TestCa::new();
    let server = RawH2Server::start(&ca, |index, tls| async move {
        let mut connection = handshake(tls).await;
        if index > 0 {
            return answer_after(connection, Duration::ZERO).await;
        }
        let Some(Ok((request, respond))) = connection.accept().await else {
            return;
        };
        connection.graceful_shutdown();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            answer(request, respond, TASK_CREATED).await;
        });
        // Drives the connection until that answer is sent and it closes.
        let _ = std::future::poll_fn(|cx| connection.poll_closed(cx)).await;
    })
    .await;
    let client = patient_client_without_retries(&server, &ca);
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.send(&upgrade()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first connection is still open (its first request unanswered), but said
    // GOAWAY: the next calls are not sent there, or are refused there unrun.
    let second = client.send(&upgrade()).await;
    assert!(
        second
            .as_ref()
            .is_ok_and(|created| created.task_id == Some(1000696))
            || second.as_ref().is_err_and(Error::was_not_sent),
        "{second:?}"
    );
    let third = client.send(&upgrade()).await;
    assert!(third.is_ok(), "{third:?}");
    let first = first.await.unwrap();
    assert!(first.is_ok(), "{first:?}");
}

#[tokio::test]
async fn a_new_connection_is_shared_only_once_its_servers_stream_limit_is_known() {
    // The server's SETTINGS (one stream at a time) come 200 ms after the TLS handshake.
    // Calls made meanwhile must not be sent on that connection beyond its limit, where
    // the server would refuse them (or, as the RFC allows too, reset them as a protocol
    // error, which would leave a write of unknown outcome).
    let ca = TestCa::new();
    let server =
        one_stream_at_a_time(&ca, Duration::from_millis(200), Duration::from_millis(100)).await;
    let client = patient_client_without_retries(&server, &ca);
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.send(&upgrade()).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let later: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await })
        })
        .collect();
    for call in std::iter::once(first).chain(later) {
        let created = call.await.unwrap();
        assert!(created.is_ok(), "{created:?}");
    }
    assert_eq!(server.connections(), 4);
}
