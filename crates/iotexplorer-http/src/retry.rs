//! When a failed call may be sent again, and how long to wait first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, TimeoutPhase};

/// How often and how patiently failed calls are retried.
///
/// Waits grow exponentially (`base_delay × 2^retry`, capped at `max_delay`) with full jitter:
/// each wait is drawn uniformly from zero to that bound, so that many clients refused at
/// once do not come back at once. No retry starts after `total_deadline` has passed since
/// the call began; the client's [call deadline](crate::ClientBuilder::call_timeout)
/// bounds the whole call besides, and no retry starts that could not end before it. An
/// action that is not read-only is retried only with at least as long left as its last
/// attempt took (and at least 250 ms, or the attempt timeout if shorter): sent with less,
/// it would be cut off after it was sent, its outcome unknown, where the refusal at hand
/// is certain.
///
/// Which failures are retried does not depend on the policy: see [`Error::is_retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    total_deadline: Duration,
    /// Whether `total_deadline` may outlast the client's call timeout.
    outlasts_call_timeout: bool,
}

impl Default for RetryPolicy {
    /// Up to 4 attempts, waits from 100 ms growing to at most 5 s, all within 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            total_deadline: Duration::from_secs(60),
            outlasts_call_timeout: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry: every call is made exactly once.
    pub fn none() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// Keeps retrying whatever may be retried ([`Error::is_retryable`]: throttling and
    /// failures to connect for every action, transient failures of read-only actions) until
    /// `patience` has passed since the call began, with waits growing from 100 ms to at
    /// most 5 s. The call's deadline grows to match: `patience` plus one attempt (the
    /// client's [request timeout](crate::ClientBuilder::request_timeout), or else its
    /// [call timeout](crate::ClientBuilder::call_timeout)), whichever is longer than the
    /// client's call timeout. Use it through [`Client::with_retry_policy`](crate::Client::with_retry_policy):
    /// a caller that can wait, such as a rollout, states its patience here instead of
    /// retrying again on top of the client.
    pub fn persistent(patience: Duration) -> Self {
        Self {
            max_attempts: u32::MAX,
            total_deadline: patience.min(crate::config::LONGEST_TIMEOUT),
            outlasts_call_timeout: true,
            ..Self::default()
        }
    }

    /// Whether the policy's deadline extends the call's (see [`RetryPolicy::persistent`]).
    pub fn outlasts_call_timeout(&self) -> bool {
        self.outlasts_call_timeout
    }

    /// At most `attempts` attempts in all (the first call included; 0 counts as 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The bound of the first wait; it doubles with each retry.
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest bound any wait can have.
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// No retry starts once this much time has passed since the call began.
    #[must_use]
    pub fn with_total_deadline(mut self, deadline: Duration) -> Self {
        self.total_deadline = deadline.min(crate::config::LONGEST_TIMEOUT);
        self
    }

    /// At most this many attempts.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The deadline for starting a retry.
    pub fn total_deadline(&self) -> Duration {
        self.total_deadline
    }

    /// The upper bound of the wait before retry number `retry` (0 for the first retry).
    pub fn delay_bound(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait before retry number `retry`, given a uniform random `unit` in `[0, 1)`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.delay_bound(retry).mul_f64(unit)
    }

    /// The wait before the next retry, or `None` when no retry may start: `attempts_made`
    /// attempts were made and `elapsed` time has passed since the call began.
    pub(crate) fn next_delay(
        &self,
        attempts_made: u32,
        elapsed: Duration,
        jitter: &Jitter,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let delay = self.delay(attempts_made.saturating_sub(1), jitter.next_unit());
        (elapsed.saturating_add(delay) < self.total_deadline).then_some(delay)
    }
}

/// Whether resending after `error` is safe and useful; see [`Error::is_retryable`].
pub(crate) fn is_retryable(error: &Error, read_only: bool) -> bool {
    match error {
        // Refused, not run: safe for every action. Other service errors follow the model's
        // rule (transient server failures only for read-only actions).
        Error::Api { code, .. } => code.is_retryable_for(read_only),
        // Nothing left the machine, or the server refused it unprocessed.
        Error::Connect { .. } | Error::Unprocessed { .. } => true,
        Error::Timeout { phase, .. } => *phase != TimeoutPhase::Request || read_only,
        // The request may have run: only actions that merely read may be repeated.
        Error::Ambiguous { .. } | Error::Transport { .. } => read_only,
        Error::HttpStatus { status, .. } => read_only && (*status >= 500 || *status == 429),
        Error::Decode { .. } => read_only,
        // The same request would fail the same way.
        _ => false,
    }
}

/// A small, lock-free xorshift generator for jitter. Jitter needs spread, not secrecy.
#[derive(Debug)]
pub(crate) struct Jitter(AtomicU64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        // A counter keeps generators made in the same nanosecond apart.
        static MADE: AtomicU64 = AtomicU64::new(0);
        let count = MADE.fetch_add(1, Ordering::Relaxed);
        let seed = nanos ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self(AtomicU64::new(seed | 1))
    }

    /// A uniform value in `[0, 1)`.
    pub(crate) fn next_unit(&self) -> f64 {
        let mut x = self.0.load(Ordering::Relaxed);
        loop {
            let mut next = x;
            next ^= next << 13;
            next ^= next >> 7;
            next ^= next << 17;
            match self
                .0
                .compare_exchange_weak(x, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return (next >> 11) as f64 / (1u64 << 53) as f64,
                Err(current) => x = current,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use iotexplorer_model::ErrorCode;
    use proptest::prelude::*;

    fn api(code: &str) -> Error {
        Error::Api {
            action: "A".into(),
            code: ErrorCode::from(code),
            message: String::new(),
            request_id: None,
        }
    }

    fn ambiguous() -> Error {
        Error::Ambiguous {
            action: "A".into(),
            timed_out: false,
            message: String::new(),
            source: None,
        }
    }

    #[test]
    fn the_documented_rules() {
        for read_only in [false, true] {
            assert!(is_retryable(&api("RequestLimitExceeded"), read_only));
            assert!(is_retryable(
                &api("RequestLimitExceeded.UinLimitExceeded"),
                read_only
            ));
            assert!(!is_retryable(&api("InvalidParameterValue"), read_only));
            let connect = Error::Connect {
                action: "A".into(),
                message: String::new(),
                source: None,
            };
            assert!(is_retryable(&connect, read_only));
        }
        assert!(is_retryable(&api("InternalError"), true));
        assert!(!is_retryable(&api("InternalError"), false));
        assert!(is_retryable(&ambiguous(), true));
        assert!(!is_retryable(&ambiguous(), false));
    }

    proptest! {
        #[test]
        fn delays_stay_within_bounds(
            base_ms in 0u64..10_000,
            max_ms in 0u64..100_000,
            retry in 0u32..200,
            unit in 0.0f64..1.0,
        ) {
            let policy = RetryPolicy::default()
                .with_base_delay(Duration::from_millis(base_ms))
                .with_max_delay(Duration::from_millis(max_ms));
            let bound = policy.delay_bound(retry);
            prop_assert!(bound <= Duration::from_millis(max_ms));
            prop_assert!(policy.delay(retry, unit) <= bound);
            if retry > 0 {
                prop_assert!(policy.delay_bound(retry - 1) <= bound);
            }
        }

        #[test]
        fn attempts_and_deadline_bound_retries(
            attempts in 1u32..10,
            made in 0u32..20,
            elapsed_ms in 0u64..120_000,
        ) {
            let policy = RetryPolicy::default().with_max_attempts(attempts);
            let jitter = Jitter::new();
            let elapsed = Duration::from_millis(elapsed_ms);
            if let Some(delay) = policy.next_delay(made, elapsed, &jitter) {
                prop_assert!(made < attempts);
                prop_assert!(elapsed + delay < policy.total_deadline());
            }
        }

        #[test]
        fn non_read_only_actions_are_only_retried_when_not_run(
            code in "[A-Za-z]{1,12}(\\.[A-Za-z]{1,12})?",
            status in 100u16..600,
        ) {
            let errors = [
                api(&code),
                ambiguous(),
                Error::HttpStatus { action: "A".into(), status, excerpt: String::new(), request_id: None },
                Error::Decode { action: "A".into(), reason: String::new(), request_id: None, excerpt: String::new() },
                Error::Timeout { action: "A".into(), phase: TimeoutPhase::Request, attempts: 1 },
                Error::Unprocessed { action: "A".into(), message: String::new(), source: None },
            ];
            for error in &errors {
                if is_retryable(error, false) {
                    prop_assert!(error.was_not_sent(), "{error:?}");
                }
                // Whatever may be retried for a writing action may be retried for a reader.
                if is_retryable(error, false) {
                    prop_assert!(is_retryable(error, true));
                }
            }
        }

        #[test]
        fn jitter_is_a_unit_fraction(_round in 0u8..50) {
            let jitter = Jitter::new();
            for _ in 0..100 {
                let unit = jitter.next_unit();
                prop_assert!((0.0..1.0).contains(&unit));
            }
        }
    }
}
