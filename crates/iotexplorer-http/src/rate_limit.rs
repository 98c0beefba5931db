//! A client-side limit on calls per action, so that a busy caller waits its turn instead of
//! being refused with `RequestLimitExceeded`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// At most `max` calls of each action in any `window` of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window: Duration,
}

impl Default for RateLimit {
    /// 20 calls per second per action, the service's documented limit.
    fn default() -> Self {
        Self::per_second(20)
    }
}

impl RateLimit {
    /// At most `max` calls per second (0 is taken as 1).
    pub fn per_second(max: u32) -> Self {
        Self::new(max, Duration::from_secs(1))
    }

    /// At most `max` calls in any `window` (0 is taken as 1).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max.max(1),
            window,
        }
    }

    /// The most calls in one window.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// One limiter per action, shared by every clone of a client.
///
/// Each action keeps the start times of its last `max` calls. A new call starts once the
/// oldest of them is a whole window old, so no window of that length ever holds more than
/// `max` starts, whatever the arrival pattern. Starts are also spaced at least
/// `window / max` apart: the service counts calls in fixed windows as they arrive, and a
/// burst of `max` calls, delayed unevenly on the way, could straddle one of its windows and
/// be refused in part. Start times are reserved before waiting, so concurrent callers queue
/// in order and never overshoot.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    actions: Mutex<HashMap<String, Arc<Mutex<VecDeque<Instant>>>>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            actions: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves the next start time for `action` and returns it.
    pub(crate) fn reserve(&self, action: &str, now: Instant) -> Instant {
        let slots = {
            let mut actions = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
            match actions.get(action) {
                Some(slots) => Arc::clone(slots),
                None => {
                    let slots =
                        Arc::new(Mutex::new(VecDeque::with_capacity(self.limit.max as usize)));
                    actions.insert(action.to_owned(), Arc::clone(&slots));
                    slots
                }
            }
        };
        let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
        let start = if slots.len() < self.limit.max as usize {
            now
        } else {
            let oldest = slots.pop_front().unwrap_or(now);
            now.max(oldest + self.limit.window)
        };
        // Reservations only ever grow, so the queue stays sorted.
        let spacing = self.limit.window / self.limit.max;
        let start = slots
            .back()
            .map_or(start, |last| start.max(*last + spacing));
        slots.push_back(start);
        start
    }

    /// Waits until a call of `action` may start.
    pub(crate) async fn acquire(&self, action: &str) {
        let start = self.reserve(action, Instant::now());
        tokio::time::sleep_until(start).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_window_ever_holds_more_than_max(
            max in 1u32..30,
            window_ms in 1u64..2_000,
            gaps in proptest::collection::vec(0u64..200, 1..200),
        ) {
            let limiter = Limiter::new(RateLimit::new(max, Duration::from_millis(window_ms)));
            let origin = Instant::now();
            let mut now = origin;
            let mut starts = Vec::new();
            for gap in gaps {
                now += Duration::from_millis(gap);
                let start = limiter.reserve("A", now);
                prop_assert!(start >= now);
                starts.push(start);
            }
            let spacing = Duration::from_millis(window_ms) / max;
            for (index, start) in starts.iter().enumerate() {
                if let Some(later) = starts.get(index + max as usize) {
                    prop_assert!(*later - *start >= Duration::from_millis(window_ms));
                }
                if let Some(next) = starts.get(index + 1) {
                    prop_assert!(*next - *start >= spacing);
                }
            }
        }
    }

    #[test]
    fn actions_do_not_share_a_budget() {
        let limiter = Limiter::new(RateLimit::per_second(1));
        let now = Instant::now();
        assert_eq!(limiter.reserve("A", now), now);
        assert_eq!(limiter.reserve("B", now), now);
        assert_eq!(limiter.reserve("A", now), now + Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_spreads_calls_over_windows() {
        let limiter = Arc::new(Limiter::new(RateLimit::per_second(20)));
        let begin = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let limiter = Arc::clone(&limiter);
            tasks.push(tokio::spawn(async move {
                limiter.acquire("BatchUpdateFirmware").await;
                Instant::now()
            }));
        }
        let mut starts = Vec::new();
        for task in tasks {
            starts.push(task.await.unwrap());
        }
        starts.sort();
        // 100 calls at 20 per second: the last starts 4 whole windows after the first.
        assert!(starts[99] - begin >= Duration::from_secs(4));
        for pair in starts.windows(21) {
            assert!(pair[20] - pair[0] >= Duration::from_secs(1));
        }
    }
}
