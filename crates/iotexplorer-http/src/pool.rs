//! Connections kept open between calls. An HTTP/1.1 connection carries one exchange at a
//! time and comes back once its answer is read; an HTTP/2 connection (when TLS negotiates
//! it) is shared by the exchanges with its origin, as many at once as its server allows
//! streams (beyond that, an exchange opens a connection of its own), from when its first
//! answer was read, and with it the server's limit.
//!
//! A connection is taken from the pool only while it is open and was last handed out or
//! given back less than [`IDLE_TIMEOUT`] ago. The rest are dropped, which closes them:
//! when the pool is next looked at, and by a task that runs while connections are kept
//! and wakes when the oldest of them expires (it stays one or two idle timeouts past the
//! last return of a connection that is out when it looks), so that a client left idle
//! closes its connections itself instead of waiting for the server (or a proxy that never
//! does).
//! That task runs on the runtime of the call that started it; a client shared between
//! runtimes has one such task at a time, and none while started outside a runtime.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
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
    Http2(Http2Sender),
}

/// How requests are sent on an HTTP/2 connection, and the count of its streams.
#[derive(Clone, Debug)]
pub(crate) struct Http2Sender {
    pub(crate) sender: http2::SendRequest<Full<Bytes>>,
    pub(crate) streams: Arc<Streams>,
}

impl Http2Sender {
    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The streams of one HTTP/2 connection: how many its server lets the client keep open
/// at once (its `SETTINGS_MAX_CONCURRENT_STREAMS`, which it may change at any time), and
/// how many exchanges hold one.
pub(crate) struct Streams {
    /// Asks the connection how many streams its server allows now.
    allowed: Box<dyn Fn() -> usize + Send + Sync>,
    open: AtomicUsize,
}

impl fmt::Debug for Streams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streams")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Streams {
    pub(crate) fn new(allowed: impl Fn() -> usize + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            allowed: Box::new(allowed),
            open: AtomicUsize::new(0),
        })
    }

    /// A stream for one exchange, if the server allows one more.
    fn try_open(self: &Arc<Self>) -> Option<Stream> {
        let allowed = (self.allowed)();
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < allowed).then_some(open + 1)
            })
            .ok()
            .map(|_| Stream(Arc::clone(self)))
    }

    /// A stream for the exchange that opened the connection, which has no other.
    pub(crate) fn open(self: &Arc<Self>) -> Stream {
        self.open.fetch_add(1, Ordering::AcqRel);
        Stream(Arc::clone(self))
    }
}

/// One exchange's hold on a stream of an HTTP/2 connection, let go when dropped.
#[derive(Debug)]
pub(crate) struct Stream(Arc<Streams>);

impl Drop for Stream {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection handed to one exchange.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) sender: Sender,
    /// Requests on it go in absolute form to a forwarding proxy.
    pub(crate) forwarding: bool,
    /// It carried an exchange before: a request it returns unsent may go on a new one.
    pub(crate) reused: bool,
    /// The stream the exchange holds on an HTTP/2 connection: never read, it is let go
    /// when the lease is dropped, once the answer was read or given up.
    pub(crate) _stream: Option<Stream>,
}

/// The idle connections of one client and its clones.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    idle: Mutex<Idle>,
}

#[derive(Debug, Default)]
struct Idle {
    http1: Vec<Kept<http1::SendRequest<Full<Bytes>>>>,
    http2: Vec<Kept<Http2Sender>>,
    /// A task closing expired connections runs: see [`close_expired`].
    closer_running: bool,
    /// A connection was kept since the closing task last looked (or since it started,
    /// which only a kept connection does).
    kept_since_look: bool,
    /// How many such tasks were started.
    #[cfg(test)]
    closers_started: usize,
}

impl Idle {
    /// Drops the connections that expired or closed.
    fn prune(&mut self, now: Instant) {
        self.http1
            .retain(|kept| kept.fresh(now) && kept.sender.is_ready());
        self.http2
            .retain(|kept| kept.fresh(now) && !kept.sender.is_closed());
    }

    /// When the connection kept longest expires, if any is kept.
    fn next_expiry(&self) -> Option<Instant> {
        let http1 = self.http1.iter().map(|kept| kept.since);
        let http2 = self.http2.iter().map(|kept| kept.since);
        http1.chain(http2).min().map(|since| since + IDLE_TIMEOUT)
    }
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
        idle.prune(now);
        // The most recently returned connection: the likeliest to be open still.
        if let Some(index) = idle.http1.iter().rposition(|kept| kept.origin == *origin) {
            let kept = idle.http1.swap_remove(index);
            return Some(Lease {
                sender: Sender::Http1(kept.sender),
                forwarding: kept.forwarding,
                reused: true,
                _stream: None,
            });
        }
        let kept = idle.http2.iter_mut().find(|kept| kept.origin == *origin)?;
        // Beyond the streams its server allows, h2 would hold the request, unsent, until
        // another stream ends: a write whose attempt timed out there would be of unknown
        // outcome though it never left. A new connection takes it instead, as Go's
        // net/http does by default.
        let stream = kept.sender.streams.try_open()?;
        kept.since = now;
        Some(Lease {
            sender: Sender::Http2(kept.sender.clone()),
            forwarding: kept.forwarding,
            reused: true,
            _stream: Some(stream),
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

    /// Stops sharing the HTTP/2 connection to `origin` whose streams are `streams`: its
    /// server is closing it. Calls that hold it already keep it for their exchanges; a
    /// newer connection kept meanwhile stays.
    pub(crate) fn forget_http2(&self, origin: &Origin, streams: &Arc<Streams>) {
        self.idle()
            .http2
            .retain(|kept| kept.origin != *origin || !Arc::ptr_eq(&kept.sender.streams, streams));
    }

    fn keep(self: &Arc<Self>, origin: Origin, sender: Sender, forwarding: bool) {
        let since = Instant::now();
        let mut idle = self.idle();
        let kept = match sender {
            Sender::Http1(sender) => {
                let kept = idle.http1.iter().filter(|k| k.origin == origin).count();
                let keep = sender.is_ready() && kept < MAX_IDLE_PER_ORIGIN;
                if keep {
                    idle.http1.push(Kept {
                        origin,
                        sender,
                        forwarding,
                        since,
                    });
                }
                keep
            }
            // One shared connection per origin is enough: calls that found none, or found
            // it at its server's limit of streams, keep theirs only until their exchanges
            // end.
            Sender::Http2(sender) => {
                idle.http2
                    .retain(|kept| kept.origin != origin || !kept.sender.is_closed());
                let keep = !idle.http2.iter().any(|k| k.origin == origin) && !sender.is_closed();
                if keep {
                    idle.http2.push(Kept {
                        origin,
                        sender,
                        forwarding,
                        since,
                    });
                }
                keep
            }
        };
        if kept {
            idle.kept_since_look = true;
        }
        let start_closing = kept && !idle.closer_running;
        if start_closing {
            idle.closer_running = true;
            #[cfg(test)]
            {
                idle.closers_started += 1;
            }
        }
        // Unlocked first: a task the runtime refuses (it is shutting down) is dropped at
        // once, and its drop takes the lock.
        drop(idle);
        if start_closing {
            self.start_closing();
        }
    }

    /// Starts the task that closes kept connections as they expire, on the runtime at
    /// hand; with none, connections are only dropped when the pool is next looked at.
    fn start_closing(self: &Arc<Self>) {
        let task = ClosingTask {
            pool: Arc::downgrade(self),
            finished: false,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(close_expired(task))),
            // Dropped unfinished, the task state clears the mark.
            Err(_) => drop(task),
        }
    }
}

/// Closes kept connections as they expire, until the pool is gone or none was kept since
/// it last looked and none is kept now; the next connection kept starts it again. A look
/// that finds none kept while some came back since the look before (a connection out for
/// the next call of a busy client) looks again an idle timeout later, so that such a client
/// keeps one task instead of starting one per call. Holding the pool only weakly, it never
/// keeps a dropped client's connections open.
/// It is handed its state made already, so that dropped before its first poll it still
/// clears the pool's mark.
async fn close_expired(mut task: ClosingTask) {
    while let Some(next) = task.prune() {
        tokio::time::sleep_until(next).await;
    }
}

/// The state of the task that closes expired connections.
struct ClosingTask {
    pool: Weak<Pool>,
    /// It cleared the pool's mark itself as it finished.
    finished: bool,
}

impl ClosingTask {
    /// Drops what expired; when to look again, or `None` once nothing is kept nor was
    /// since the last look (the mark is cleared under the same lock, so a connection kept
    /// after that starts a new task) or the pool is gone.
    fn prune(&mut self) -> Option<Instant> {
        let pool = self.pool.upgrade()?;
        let mut idle = pool.idle();
        let now = Instant::now();
        idle.prune(now);
        let kept_since = std::mem::take(&mut idle.kept_since_look);
        match idle.next_expiry() {
            Some(next) => Some(next),
            None if kept_since => Some(now + IDLE_TIMEOUT),
            None => {
                idle.closer_running = false;
                self.finished = true;
                None
            }
        }
    }
}

impl Drop for ClosingTask {
    // Dropped before it finished (its runtime shut down, maybe before it ever ran), it
    // lets the next connection kept start another.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(pool) = self.pool.upgrade() {
            pool.idle().closer_running = false;
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
        // Connected before any is kept: once one is, the closing task's timer is pending,
        // and paused time would leap to it while a connect waited on real I/O.
        let mut senders = Vec::new();
        for _ in 0..MAX_IDLE_PER_ORIGIN + 3 {
            senders.push(ready_sender(&listener).await);
        }
        for sender in senders {
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

    /// Whether the peer of `stream` closed it, looking until `within` of real time passed;
    /// `false` while it stays open.
    async fn closed_by_peer(stream: &TcpStream, within: Duration) -> bool {
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match stream.try_read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => panic!("the client wrote on an idle connection"),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return true,
            }
            if started.elapsed() >= within {
                return false;
            }
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_connection_is_closed_when_it_expires_though_the_pool_is_left_alone() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let pool = Arc::new(Pool::default());
        let sender = ready_sender(&listener).await;
        let (server_side, _) = listener.accept().await.unwrap();
        pool.check_in(origin.clone(), Sender::Http1(sender), false);

        tokio::time::advance(IDLE_TIMEOUT - Duration::from_millis(1)).await;
        let short = Duration::from_millis(50);
        assert!(
            !closed_by_peer(&server_side, short).await,
            "closed before it expired"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        let long = Duration::from_secs(5);
        assert!(closed_by_peer(&server_side, long).await, "still open");
        assert!(pool.idle().http1.is_empty());
        // With nothing left to close, the task ended and let the next keep start another.
        assert!(!pool.idle().closer_running);

        let sender = ready_sender(&listener).await;
        let (server_side, _) = listener.accept().await.unwrap();
        pool.check_in(origin, Sender::Http1(sender), false);
        assert!(pool.idle().closer_running);
        tokio::time::advance(IDLE_TIMEOUT).await;
        assert!(
            closed_by_peer(&server_side, long).await,
            "the second is still open"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn calls_one_after_another_keep_one_closing_task_instead_of_starting_one_each() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let pool = Arc::new(Pool::default());
        let mut sender = Some(ready_sender(&listener).await);
        let (_server_side, _) = listener.accept().await.unwrap();
        // As a sequential caller does: the connection comes back after each call and is
        // taken out again for the next, while the closing task's looks find it out.
        for call in 0..200u32 {
            pool.check_in(origin.clone(), Sender::Http1(sender.take().unwrap()), false);
            let Some(Lease {
                sender: Sender::Http1(taken),
                ..
            }) = pool.checkout(&origin)
            else {
                panic!("call {call}: the connection was not kept");
            };
            sender = Some(taken);
            tokio::task::yield_now().await;
            if call % 50 == 49 {
                // Past an idle timeout, with the connection out at the look.
                tokio::time::advance(IDLE_TIMEOUT).await;
                tokio::task::yield_now().await;
            }
        }
        assert_eq!(pool.idle().closers_started, 1);
        assert!(pool.idle().closer_running);
        // Left alone with nothing kept, the task ends after one more idle timeout.
        tokio::time::advance(IDLE_TIMEOUT).await;
        let started = std::time::Instant::now();
        while pool.idle().closer_running && started.elapsed() < Duration::from_secs(5) {
            tokio::task::yield_now().await;
        }
        assert!(!pool.idle().closer_running);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_pool_closes_its_connections_and_its_task_ends() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let metrics = tokio::runtime::Handle::current().metrics();
        let tasks_before = metrics.num_alive_tasks();
        let pool = Arc::new(Pool::default());
        let sender = ready_sender(&listener).await;
        let (server_side, _) = listener.accept().await.unwrap();
        pool.check_in(origin, Sender::Http1(sender), false);
        // The connection's task and the closing task, which runs to its first wait
        // before the pool is dropped: asleep, it must not hold the pool.
        assert_eq!(metrics.num_alive_tasks(), tasks_before + 2);
        tokio::task::yield_now().await;

        drop(pool);
        let long = Duration::from_secs(5);
        assert!(closed_by_peer(&server_side, long).await, "still open");
        // The closing task wakes at the expiry it slept towards, finds no pool and ends.
        tokio::time::advance(IDLE_TIMEOUT).await;
        let started = std::time::Instant::now();
        while metrics.num_alive_tasks() > tasks_before && started.elapsed() < long {
            tokio::task::yield_now().await;
        }
        assert_eq!(metrics.num_alive_tasks(), tasks_before);
    }

    #[test]
    fn a_closing_task_ended_with_its_runtime_lets_the_next_runtime_start_one() {
        let pool = Arc::new(Pool::default());
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let keep_one = |pool: &Arc<Pool>| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let sender = ready_sender(&listener).await;
                pool.check_in(origin.clone(), Sender::Http1(sender), false);
            });
            assert!(pool.idle().closer_running);
            runtime
        };
        // Its closing task was never polled: the runtime's end drops it all the same.
        drop(keep_one(&pool));
        assert!(!pool.idle().closer_running);
        drop(keep_one(&pool));
        assert!(!pool.idle().closer_running);
    }

    #[test]
    fn a_connection_kept_outside_a_runtime_is_kept_without_a_closing_task() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (sender, _listener) = runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            (ready_sender(&listener).await, listener)
        });
        let pool = Arc::new(Pool::default());
        let origin = Origin::of(&Uri::from_static("http://127.0.0.1:9")).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let kept_by = Arc::clone(&pool);
        // On its own thread, so that a hang fails the test instead of stalling it.
        std::thread::spawn(move || {
            kept_by.check_in(origin, Sender::Http1(sender), false);
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(5))
            .expect("check_in returns");
        let idle = pool.idle();
        assert_eq!(idle.http1.len(), 1);
        assert!(!idle.closer_running);
    }
}
