//! Requests per action per SecretId per second, as Tencent counts them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// A fixed one-second window per (action, SecretId).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: u32,
    windows: Mutex<HashMap<(String, String), (i64, u32)>>,
}

impl RateLimiter {
    /// `per_second` of 0 turns limiting off.
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            per_second,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request at Unix second `now`; `false` when it is over the limit.
    pub(crate) fn admit(&self, action: &str, secret_id: &str, now: i64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows
            .entry((action.to_owned(), secret_id.to_owned()))
            .or_insert((now, 0));
        if window.0 != now {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        window.1 <= self.per_second
    }
}
