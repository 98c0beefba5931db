//! Connections kept open between calls. An HTTP/1.1 connection carries one exchange at a
//! time and comes back once its answer is read; an HTTP/2 connection (when TLS negotiates
//! it) is shared by every exchange with its origin.
//!
//! A connection is taken from the pool only while it is open and was last handed out or
//! given back less than [`IDLE_TIMEOUT`] ago; the rest are dropped, which closes them,
//! when the pool is next looked at (no timer runs for it: a connection left idle stays
//! open until then, or until the server closes it).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http::uri::{Authority, Scheme};
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use tokio::time::Instant;

/// Idle connections are not used after this, safely before the service's 60 s.
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// How long a connection whose answer was read may take to be ready for the next request
/// before it is closed instead of kept.
const READY_WAIT: Duration = Duration::from_secs(1);

/// Idle HTTP/1.1 connections kept per origin; one that comes back beyond this is closed.
const MAX_IDLE_PER_ORIGIN: usize = 64;

/// Where a connection leads: requests for one origin may share its connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl Origin {
    /// The origin of an absolute URI; `None` for a URI without scheme or host.
    pub(crate) fn of(uri: &Uri) -> Option<Self> {
        Some(Self {
            scheme: uri.scheme()?.clone(),
            authority: uri.authority()?.clone(),
        })
    }
}

/// How requests are sent on a connection.
#[derive(Debug)]
pub(crate) enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// A connection handed to one exchange.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) sender: Sender,
    /// Requests on it go in absolute form to a forwarding proxy.
    pub(crate) forwarding: bool,
    /// It carried an exchange before: a request it returns unsent may go on a new one.
    pub(crate) reused: bool,
}

/// The idle connections of one client and its clones.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<Idle>,
}

#[derive(Debug, Default)]
struct Idle {
    http1: Vec<Kept<http1::SendRequest<Full<Bytes>>>>,
    http2: Vec<Kept<http2::SendRequest<Full<Bytes>>>>,
}

#[derive(Debug)]
struct Kept<S> {
    origin: Origin,
    sender: S,
    forwarding: bool,
    /// When it was last handed out or came back.
    since: Instant,
}

impl<S> Kept<S> {
    fn fresh(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) < IDLE_TIMEOUT
    }
}

impl Pool {
    fn idle(&self) -> MutexGuard<'_, Idle> {
        // The lists are consistent after every statement; a panic elsewhere leaves them so.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An open connection to `origin`, if one is idle (HTTP/1.1) or shared (HTTP/2).
    pub(crate) fn checkout(&self, origin: &Origin) -> Option<Lease> {
        let now = Instant::now();
        let mut idle = self.idle();
        idle.http1
            .retain(|kept| kept.fresh(now) && kept.sender.is_ready());
        idle.http2
            .retain(|kept| kept.fresh(now) && !kept.sender.is_closed());
        // The most recently returned connection: the likeliest to be open still.
        if let Some(index) = idle.http1.iter().rposition(|kept| kept.origin == *origin) {
            let kept = idle.http1.swap_remove(index);
            return Some(Lease {
                sender: Sender::Http1(kept.sender),
                forwarding: kept.forwarding,
                reused: true,
            });
        }
        let kept = idle.http2.iter_mut().find(|kept| kept.origin == *origin)?;
        kept.since = now;
        Some(Lease {
            sender: Sender::Http2(kept.sender.clone()),
            forwarding: kept.forwarding,
            reused: true,
        })
    }

    /// Takes back a connection whose exchange is over, or shares a new HTTP/2 one (one
    /// already shared is left as it is). An HTTP/1.1 connection is kept once it is ready
    /// for a next request: on a runtime with several threads the answer's end can reach
    /// the caller just before the connection's task gets there, so one still open is
    /// waited for, up to [`READY_WAIT`], off the caller's path. One that closed, or is not
    /// ready by then, is dropped.
    pub(crate) fn check_in(self: &Arc<Self>, origin: Origin, sender: Sender, forwarding: bool) {
        match sender {
            Sender::Http1(mut sender) if !sender.is_ready() && !sender.is_closed() => {
                let pool = Arc::clone(self);
                tokio::spawn(async move {
                    if let Ok(Ok(())) = tokio::time::timeout(READY_WAIT, sender.ready()).await {
                        pool.keep(origin, Sender::Http1(sender), forwarding);
                    }
                });
            }
            sender => self.keep(origin, sender, forwarding),
        }
    }

    fn keep(&self, origin: Origin, sender: Sender, forwarding: bool) {
        let since = Instant::now();
        let mut idle = self.idle();
        match sender {
            Sender::Http1(sender) => {
                let kept = idle.http1.iter().filter(|k| k.origin == origin).count();
                if sender.is_ready() && kept < MAX_IDLE_PER_ORIGIN {
                    idle.http1.push(Kept {
                        origin,
                        sender,
                        forwarding,
                        since,
                    });
                }
            }
            // One shared connection per origin is enough: calls that found none and
            // connected at once keep theirs only until their exchanges end.
            Sender::Http2(sender) => {
                idle.http2
                    .retain(|kept| kept.origin != origin || !kept.sender.is_closed());
                if !idle.http2.iter().any(|k| k.origin == origin) && !sender.is_closed() {
                    idle.http2.push(Kept {
                        origin,
                        sender,
                        forwarding,
                        since,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use hyper_util::rt::TokioIo;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// An HTTP/1.1 connection to `listener`, ready for a request.
    async fn ready_sender(listener: &TcpListener) -> http1::SendRequest<Full<Bytes>> {
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        sender.ready().await.unwrap();
        sender
    }

    #[tokio::test(start_paused = true)]
    async fn kept_connections_are_capped_per_origin_and_expire() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let other = Origin::of(&Uri::from_static("https://127.0.0.1:9")).unwrap();
        let pool = Arc::new(Pool::default());
        for _ in 0..MAX_IDLE_PER_ORIGIN + 3 {
            let sender = ready_sender(&listener).await;
            pool.check_in(origin.clone(), Sender::Http1(sender), false);
        }
        assert_eq!(pool.idle().http1.len(), MAX_IDLE_PER_ORIGIN);
        assert!(
            pool.checkout(&other).is_none(),
            "another scheme is another origin"
        );

        let lease = pool.checkout(&origin).unwrap();
        assert!(lease.reused && !lease.forwarding);
        assert_eq!(pool.idle().http1.len(), MAX_IDLE_PER_ORIGIN - 1);
        pool.check_in(origin.clone(), lease.sender, false);

        tokio::time::advance(IDLE_TIMEOUT - Duration::from_millis(1)).await;
        let lease = pool.checkout(&origin).unwrap();
        pool.check_in(origin.clone(), lease.sender, false);
        tokio::time::advance(Duration::from_millis(1)).await;
        // The one just taken and given back is fresh; the rest expired.
        assert!(pool.checkout(&origin).is_some());
        assert!(pool.checkout(&origin).is_none());
        assert!(pool.idle().http1.is_empty());
    }
}
