//! One connection's life: served by hyper, watched for clients that hold it without using
//! it.
//!
//! A connection is *idle* while no request is open and nothing of the next one has
//! arrived: from its acceptance, and after each answer. It is closed when it stays idle
//! for the idle timeout, when the accept loop needs its slot for a waiting client, or
//! when a request head, once its first byte is in, is not complete within the header
//! timeout. While a request is open the handler's own body deadline applies.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What the watchdog knows of a connection.
///
/// The phase changes only while the connection is being polled (bytes are read, hyper
/// calls the service, the service's future ends), so [`watch`] reads it after each poll
/// of the connection instead of being woken for each change.
#[derive(Debug)]
pub(crate) struct Activity {
    phase: Mutex<Phase>,
}

#[derive(Debug, Clone, Copy)]
struct Phase {
    open_requests: usize,
    idle_since: Instant,
    head_started: Option<Instant>,
}

/// Why a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Idle,
    SlowHead,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase {
                open_requests: 0,
                idle_since: Instant::now(),
                head_started: None,
            }),
        })
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        // The phase is plain data, consistent after every statement.
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks a request as open until the returned guard is dropped.
    pub(crate) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        {
            let mut phase = self.phase();
            phase.open_requests += 1;
            phase.head_started = None;
        }
        RequestGuard {
            activity: Arc::clone(self),
        }
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if phase.open_requests == 0 && phase.head_started.is_none() {
            phase.head_started = Some(Instant::now());
        }
    }

    fn is_idle(&self) -> bool {
        let phase = self.phase();
        phase.open_requests == 0 && phase.head_started.is_none()
    }

    /// When the connection expires if nothing changes, and why; `None` while a request is
    /// open.
    fn deadline(
        &self,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<(Instant, Expiry)> {
        let phase = self.phase();
        if phase.open_requests > 0 {
            return None;
        }
        Some(match phase.head_started {
            Some(started) => (started + header_timeout, Expiry::SlowHead),
            None => (phase.idle_since + idle_timeout, Expiry::Idle),
        })
    }
}

/// Closes a request's span in [`Activity`], also when the handler is cancelled.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    activity: Arc<Activity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut phase = self.activity.phase();
        phase.open_requests = phase.open_requests.saturating_sub(1);
        if phase.open_requests == 0 {
            phase.idle_since = Instant::now();
            phase.head_started = None;
        }
    }
}

/// A stream that tells [`Activity`] when bytes arrive.
#[derive(Debug)]
pub(crate) struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    pub(crate) fn new(stream: TcpStream, activity: Arc<Activity>) -> Self {
        Self { stream, activity }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Drives `connection` until it ends, or drops it (closing the socket) when it expires
/// or, while idle, when `pressure` asks for its slot.
///
/// One timer serves the connection's whole life: it is moved when the deadline moves,
/// which is read after every poll of the connection (the only place the phase changes),
/// so a request costs no extra wake-up of the task and no timer of its own.
pub(crate) async fn watch<F>(
    connection: F,
    activity: &Activity,
    header_timeout: Duration,
    idle_timeout: Duration,
    pressure: &Notify,
) where
    F: Future,
{
    let mut connection = std::pin::pin!(connection);
    let mut pressed = std::pin::pin!(pressure.notified());
    let mut timer = std::pin::pin!(tokio::time::sleep_until(Instant::now() + idle_timeout));
    let mut armed_at: Option<Instant> = None;
    std::future::poll_fn(|cx| {
        if connection.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if let Some((at, _)) = activity.deadline(header_timeout, idle_timeout) {
            if armed_at != Some(at) {
                timer.as_mut().reset(at);
                armed_at = Some(at);
            }
            // The deadline was read just now, so a timer that has fired means it passed.
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        while pressed.as_mut().poll(cx).is_ready() {
            if activity.is_idle() {
                return Poll::Ready(());
            }
            // Listens again; polled at once by the loop, so no request for room is missed
            // from here on.
            pressed.set(pressure.notified());
        }
        Poll::Pending
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_phase() {
        let header = Duration::from_secs(2);
        let idle = Duration::from_secs(10);
        let activity = Activity::new();
        let kind = |activity: &Activity| activity.deadline(header, idle).map(|(_, kind)| kind);
        let at = |activity: &Activity| activity.deadline(header, idle).map(|(at, _)| at);
        let accepted = Instant::now();
        assert_eq!(kind(&activity), Some(Expiry::Idle));
        assert!(at(&activity).is_some_and(|at| at <= accepted + idle));
        assert!(activity.is_idle());

        activity.bytes_arrived();
        assert_eq!(kind(&activity), Some(Expiry::SlowHead));
        assert!(at(&activity).is_some_and(|at| at <= Instant::now() + header));
        assert!(!activity.is_idle());

        let guard = activity.begin_request();
        assert_eq!(kind(&activity), None);
        // Bytes of the body do not start a head.
        activity.bytes_arrived();
        assert_eq!(kind(&activity), None);
        let answered = Instant::now();
        drop(guard);
        assert_eq!(kind(&activity), Some(Expiry::Idle));
        assert!(at(&activity).is_some_and(|at| at >= answered + idle));
        assert!(activity.is_idle());
    }
}
