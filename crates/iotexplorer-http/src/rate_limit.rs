//! A client-side limit on calls per action, so that a busy caller waits its turn instead of
//! being refused with `RequestLimitExceeded`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use iotexplorer_model::ActionMeta;
use tokio::time::Instant;

/// At most `max` calls of each action in any `window` of time, or, by default, each
/// action's own rate as the service documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window: Duration,
    /// Each action at the rate the model states for it ([`ActionMeta::calls_per_second`]).
    per_action: bool,
}

impl Default for RateLimit {
    /// Each action at the rate the service documents for it
    /// ([`iotexplorer_model::ActionMeta::calls_per_second`]; actions outside the catalogue
    /// at [`iotexplorer_model::CALLS_PER_SECOND`]), per second.
    fn default() -> Self {
        Self {
            per_action: true,
            ..Self::per_second(iotexplorer_model::CALLS_PER_SECOND)
        }
    }
}

impl RateLimit {
    /// At most `max` calls per second of every action (0 is taken as 1).
    pub fn per_second(max: u32) -> Self {
        Self::new(max, Duration::from_secs(1))
    }

    /// At most `max` calls of every action in any `window` (0 is taken as 1; a window
    /// longer than a year is taken as a year, so that a start time computed from it is
    /// always one the clock can hold).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max.max(1),
            window: window.min(crate::config::LONGEST_TIMEOUT),
            per_action: false,
        }
    }

    /// The most calls of `action` in one window.
    pub fn max_for(&self, action: &str) -> u32 {
        if !self.per_action {
            return self.max;
        }
        iotexplorer_model::find_action(action)
            .map_or(self.max, ActionMeta::calls_per_second)
            .max(1)
    }

    /// The most calls in one window of an action without a rate of its own.
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
/// Each action keeps the start times of its calls that are less than a window old or still
/// to come. A new call starts a whole window after the `max`-th latest of them, so no
/// window of that length ever holds more than `max` starts, whatever the arrival pattern. Starts are also spaced at least
/// `window / max` apart: the service counts calls in fixed windows as they arrive, and a
/// burst of `max` calls, delayed unevenly on the way, could straddle one of its windows and
/// be refused in part. Start times are reserved before waiting, so concurrent callers queue
/// in order and never overshoot; a caller that gives up waiting gives its start back.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    actions: Mutex<HashMap<String, Arc<Slots>>>,
}

/// The reserved starts of one action, and its rate.
#[derive(Debug)]
struct Slots {
    max: u32,
    starts: Mutex<VecDeque<Instant>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            actions: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves the next start time for `action` and returns it.
    #[cfg(test)]
    fn reserve(&self, action: &str, now: Instant) -> Instant {
        self.reserve_in(action, now).1
    }

    /// Reserves the next start time for `action`: the action's starts, and the time.
    fn reserve_in(&self, action: &str, now: Instant) -> (Arc<Slots>, Instant) {
        let slots = {
            let mut actions = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
            match actions.get(action) {
                Some(slots) => Arc::clone(slots),
                None => {
                    let max = self.limit.max_for(action);
                    let slots = Arc::new(Slots {
                        max,
                        // Not made ready for `max` starts: a limit meant as none
                        // (`u32::MAX`) would ask for gigabytes at once.
                        starts: Mutex::new(VecDeque::new()),
                    });
                    actions.insert(action.to_owned(), Arc::clone(&slots));
                    slots
                }
            }
        };
        let mut starts = slots.starts.lock().unwrap_or_else(PoisonError::into_inner);
        // Starts a whole window old bind no later call: forgotten, they leave the queue
        // as long as the calls of one window, not as long as `max`, however large.
        while starts
            .front()
            .is_some_and(|oldest| *oldest + self.limit.window <= now)
        {
            starts.pop_front();
        }
        // The new start comes a whole window after the `max`-th latest start, so that no
        // window holds more than `max`; with fewer, it is now.
        let max = slots.max as usize;
        let start = match starts.len().checked_sub(max).and_then(|at| starts.get(at)) {
            Some(bound) => now.max(*bound + self.limit.window),
            None => now,
        };
        // Reservations only ever grow, so the queue stays sorted.
        let spacing = self.limit.window / slots.max;
        let start = starts
            .back()
            .map_or(start, |last| start.max(*last + spacing));
        starts.push_back(start);
        drop(starts);
        (slots, start)
    }

    /// Waits until a call of `action` may start. A caller that stops waiting first (its
    /// deadline ran out) gives its start back, for a later call to take.
    pub(crate) async fn acquire(&self, action: &str) {
        let (slots, start) = self.reserve_in(action, Instant::now());
        let mut turn = Turn {
            slots: &slots,
            start,
            taken: false,
        };
        tokio::time::sleep_until(start).await;
        turn.taken = true;
    }
}

/// A start reserved by a caller that is waiting for it.
struct Turn<'a> {
    slots: &'a Slots,
    start: Instant,
    taken: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.slots.give_back(self.start);
        }
    }
}

impl Slots {
    /// Forgets the reserved `start` of a caller that no longer waits for it. Fewer starts
    /// leave fewer in every window and the rest in order, so the limit still holds.
    fn give_back(&self, start: Instant) {
        let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
        // The latest starts are the likeliest to be given back.
        if let Some(index) = starts.iter().rposition(|kept| *kept == start) {
            starts.remove(index);
        }
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

    proptest! {
        #[test]
        fn no_window_ever_holds_more_than_max_when_starts_are_given_back(
            max in 1u32..10,
            window_ms in 1u64..1_000,
            steps in proptest::collection::vec((0u64..150, any::<bool>(), any::<u16>()), 1..200),
        ) {
            let limiter = Limiter::new(RateLimit::new(max, Duration::from_millis(window_ms)));
            let mut now = Instant::now();
            // Starts whose callers still wait, and the starts that were or will be taken.
            let mut waiting: Vec<(Arc<Slots>, Instant)> = Vec::new();
            let mut taken: Vec<Instant> = Vec::new();
            for (gap, give_back, pick) in steps {
                now += Duration::from_millis(gap);
                // Callers whose start came took it.
                waiting.retain(|(_, start)| {
                    let came = *start <= now;
                    if came {
                        taken.push(*start);
                    }
                    !came
                });
                if give_back && !waiting.is_empty() {
                    let (slots, start) = waiting.swap_remove(usize::from(pick) % waiting.len());
                    slots.give_back(start);
                } else {
                    let (slots, start) = limiter.reserve_in("A", now);
                    prop_assert!(start >= now);
                    waiting.push((slots, start));
                }
            }
            taken.extend(waiting.iter().map(|(_, start)| *start));
            taken.sort();
            for (index, start) in taken.iter().enumerate() {
                if let Some(later) = taken.get(index + max as usize) {
                    prop_assert!(*later - *start >= Duration::from_millis(window_ms));
                }
            }
        }
    }

    #[test]
    fn by_default_each_action_has_the_rate_the_model_states() {
        let limit = RateLimit::default();
        assert_eq!(limit.max(), iotexplorer_model::CALLS_PER_SECOND);
        for action in iotexplorer_model::actions() {
            assert_eq!(limit.max_for(action.name), action.calls_per_second());
        }
        assert_eq!(
            limit.max_for("SomeFutureAction"),
            iotexplorer_model::CALLS_PER_SECOND
        );
        // A rate the caller chose applies to every action.
        assert_eq!(RateLimit::per_second(3).max_for("BatchUpdateFirmware"), 3);
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
