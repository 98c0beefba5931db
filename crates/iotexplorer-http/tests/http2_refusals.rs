//! An HTTP/2 server may refuse a stream before processing it: with `RST_STREAM`
//! `REFUSED_STREAM`, or with a `GOAWAY` whose last stream is below it (RFC 9113, 8.7).
//! Such a request did not run, so even a write is sent again; a stream the server took
//! before closing keeps its unknown outcome.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use h2::Reason;
use iotexplorer_http::Error;
use support::raw_h2::{RawH2Server, TASK_CREATED, answer};
use support::{TestCa, builder_at, upgrade};

/// What the server does with a connection, by its index (from 0).
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Sends `GOAWAY` with last stream 0 before reading any request, then closes.
    GoAwayAtOnce,
    /// Takes the first request, then sends `GOAWAY` naming it and closes unanswered.
    TakeThenGoAway,
    /// Refuses the first request with `RST_STREAM` `REFUSED_STREAM`, answers the rest.
    RefuseFirstStream,
    /// Answers every request with a created task.
    Answer,
}

struct RefusingServer {
    server: RawH2Server,
    /// Requests the server took (stream heads read), refused or not.
    taken: Arc<AtomicUsize>,
    /// Requests answered with a created task.
    answered: Arc<AtomicUsize>,
}

impl RefusingServer {
    async fn start(ca: &TestCa, plans: &'static [Plan]) -> Self {
        let taken = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let server = {
            let (taken, answered) = (taken.clone(), answered.clone());
            RawH2Server::start(ca, move |index, tls| {
                let plan = plans.get(index).copied().unwrap_or(Plan::Answer);
                let (taken, answered) = (taken.clone(), answered.clone());
                async move {
                    let Ok(connection) = h2::server::handshake(tls).await else {
                        return;
                    };
                    serve(connection, plan, &taken, &answered).await;
                }
            })
            .await
        };
        Self {
            server,
            taken,
            answered,
        }
    }

    fn taken(&self) -> usize {
        self.taken.load(Ordering::SeqCst)
    }

    fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    fn connections(&self) -> usize {
        self.server.connections()
    }
}

async fn serve<T>(
    mut connection: h2::server::Connection<T, Bytes>,
    plan: Plan,
    taken: &AtomicUsize,
    answered: &AtomicUsize,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Plan::GoAwayAtOnce = plan {
        // No stream has been read yet: the GOAWAY names stream 0 as the last processed.
        connection.abrupt_shutdown(Reason::NO_ERROR);
        while let Some(Ok(_)) = connection.accept().await {}
        return;
    }
    let mut first = true;
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        taken.fetch_add(1, Ordering::SeqCst);
        match plan {
            Plan::TakeThenGoAway => {
                connection.abrupt_shutdown(Reason::NO_ERROR);
                // Keeps the stream open, unanswered, until the connection is gone.
                let _held = (request, respond);
                while let Some(Ok(_)) = connection.accept().await {}
                return;
            }
            Plan::RefuseFirstStream if first => {
                first = false;
                respond.send_reset(Reason::REFUSED_STREAM);
            }
            _ => {
                answer(request, respond, TASK_CREATED).await;
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

fn client(server: &RefusingServer, ca: &TestCa) -> iotexplorer_http::Client {
    builder_at(&server.server.url)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_write_refused_by_goaway_before_it_was_read_is_sent_again_on_a_new_connection() {
    let ca = TestCa::new();
    let server = RefusingServer::start(&ca, &[Plan::GoAwayAtOnce]).await;
    let created = client(&server, &ca).send(&upgrade()).await.unwrap();
    assert_eq!(created.task_id, Some(1000696));
    assert_eq!(server.answered(), 1);
    assert_eq!(server.taken(), 1, "the refused stream was never taken");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_write_refused_with_refused_stream_is_sent_again() {
    let ca = TestCa::new();
    let server = RefusingServer::start(&ca, &[Plan::RefuseFirstStream]).await;
    let created = client(&server, &ca).send(&upgrade()).await.unwrap();
    assert_eq!(created.task_id, Some(1000696));
    assert_eq!(server.taken(), 2);
    assert_eq!(server.answered(), 1);
    // A refused stream leaves its connection usable.
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_write_whose_stream_the_goaway_covers_stays_of_unknown_outcome() {
    let ca = TestCa::new();
    let server = RefusingServer::start(&ca, &[Plan::TakeThenGoAway]).await;
    let error = client(&server, &ca).send(&upgrade()).await.unwrap_err();
    assert!(error.is_ambiguous(), "{error:?}");
    assert_eq!(server.taken(), 1);
    assert_eq!(server.answered(), 0);
}

#[tokio::test]
async fn refusals_that_never_end_stop_at_the_retry_policy() {
    let ca = TestCa::new();
    static ALWAYS: [Plan; 4] = [Plan::GoAwayAtOnce; 4];
    let server = RefusingServer::start(&ca, &ALWAYS).await;
    let error = client(&server, &ca).send(&upgrade()).await.unwrap_err();
    assert!(matches!(error, Error::Unprocessed { .. }), "{error:?}");
    assert!(error.was_not_sent(), "{error:?}");
    assert!(error.to_string().contains("BatchUpdateFirmware"), "{error}");
    assert_eq!(server.taken(), 0);
    // The support client makes four attempts, each on a connection of its own.
    assert_eq!(server.connections(), 4);
}
