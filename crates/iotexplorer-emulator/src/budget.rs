//! The shared budget of request-body bytes, so many slow or large uploads together cannot
//! take the process's memory.
//!
//! A request reserves room before it reads its body: the declared `Content-Length` at
//! once, or chunk by chunk for a chunked body. It waits for room while others hold it
//! (first come, first served), up to the body deadline, and gives the room back when its
//! answer is built.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The largest budget the semaphore behind it can count.
pub(crate) const MAX_BUDGET_BYTES: usize = Semaphore::MAX_PERMITS;

/// Bytes of request bodies that requests in flight may hold together.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    room: Arc<Semaphore>,
    held: AtomicUsize,
    peak: AtomicUsize,
    received: AtomicUsize,
}

/// The deadline passed before there was room.
#[derive(Debug)]
pub(crate) struct NoRoom;

impl Budget {
    /// A budget of `bytes`; at most [`MAX_BUDGET_BYTES`].
    pub(crate) fn new(bytes: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                room: Arc::new(Semaphore::new(bytes.min(MAX_BUDGET_BYTES))),
                held: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                received: AtomicUsize::new(0),
            }),
        }
    }

    /// Bytes reserved by requests in flight now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// Bytes of bodies received so far by requests in flight now (at most [`held`]).
    ///
    /// [`held`]: Self::held
    pub(crate) fn received(&self) -> usize {
        self.inner.received.load(Ordering::SeqCst)
    }

    /// The most bytes ever reserved at once.
    pub(crate) fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::SeqCst)
    }

    /// A reservation of nothing, to grow as chunks arrive.
    pub(crate) fn empty(&self) -> Reservation {
        Reservation {
            permit: None,
            bytes: 0,
            received: 0,
            budget: Arc::clone(&self.inner),
        }
    }

    /// Adds `bytes` to `reservation`, waiting for room until `deadline`.
    pub(crate) async fn grow(
        &self,
        reservation: &mut Reservation,
        bytes: usize,
        deadline: Instant,
    ) -> Result<(), NoRoom> {
        let mut remaining = bytes;
        while remaining > 0 {
            // The semaphore counts at most u32::MAX permits per acquisition.
            let step = u32::try_from(remaining).unwrap_or(u32::MAX);
            // Room that is free now is taken without a wait or a timer: the semaphore
            // hands given-back room to those waiting first, so none is free while anyone
            // waits, and this takes nobody's turn.
            let permit = match Arc::clone(&self.inner.room).try_acquire_many_owned(step) {
                Ok(permit) => permit,
                Err(_) => {
                    let acquire = Arc::clone(&self.inner.room).acquire_many_owned(step);
                    // Otherwise timed out, or the semaphore closed (it never is).
                    let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, acquire).await else {
                        return Err(NoRoom);
                    };
                    permit
                }
            };
            match &mut reservation.permit {
                Some(held) => held.merge(permit),
                None => reservation.permit = Some(permit),
            }
            let step = step as usize;
            reservation.bytes += step;
            remaining -= step;
            let now_held = self.inner.held.fetch_add(step, Ordering::SeqCst) + step;
            self.inner.peak.fetch_max(now_held, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Room held in the budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
    received: usize,
    budget: Arc<Inner>,
}

impl Reservation {
    /// How many bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Counts `bytes` more of the body as received into the room held.
    pub(crate) fn record_received(&mut self, bytes: usize) {
        self.received += bytes;
        self.budget.received.fetch_add(bytes, Ordering::SeqCst);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::SeqCst);
        self.budget
            .received
            .fetch_sub(self.received, Ordering::SeqCst);
        // The permit, dropped right after, gives the room back to waiters.
        self.permit.take();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn room_is_shared_waited_for_and_given_back() {
        let budget = Budget::new(100);
        let soon = || Instant::now() + Duration::from_millis(50);
        let mut first = budget.empty();
        budget.grow(&mut first, 60, soon()).await.expect("room");
        let mut second = budget.empty();
        assert!(budget.grow(&mut second, 60, soon()).await.is_err());
        budget.grow(&mut second, 40, soon()).await.expect("room");
        assert_eq!(budget.held(), 100);
        first.record_received(10);
        assert_eq!(budget.received(), 10);
        drop(first);
        assert_eq!(budget.held(), 40);
        assert_eq!(budget.received(), 0);
        budget.grow(&mut second, 60, soon()).await.expect("room");
        assert_eq!(second.bytes(), 100);
        drop(second);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.peak(), 100);
    }

    #[tokio::test]
    async fn room_goes_to_those_waiting_first() {
        let budget = Budget::new(10);
        let later = Instant::now() + Duration::from_secs(5);
        let mut held = budget.empty();
        budget.grow(&mut held, 6, later).await.expect("room");
        // A request waits for more than is free; one that would fit in what is free
        // comes after it, and waits its turn.
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move {
                let mut reservation = budget.empty();
                budget
                    .grow(&mut reservation, 8, later)
                    .await
                    .map(|()| reservation)
            }
        });
        tokio::task::yield_now().await;
        let mut small = budget.empty();
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(budget.grow(&mut small, 2, soon).await.is_err());
        drop(held);
        let waiting = waiting.await.expect("joined").expect("room");
        assert_eq!(waiting.bytes(), 8);
        budget.grow(&mut small, 2, later).await.expect("room");
        assert_eq!(budget.held(), 10);
    }
}
