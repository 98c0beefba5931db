//! Requests per action per SecretId per second, as Tencent counts them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// A fixed one-second window per (action, SecretId).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: u32,
    /// By action, then by SecretId: the second of the window and the requests counted in
    /// it. Looked up by borrowed names, so a request allocates nothing once its SecretId
    /// was seen.
    windows: Mutex<HashMap<&'static str, HashMap<String, Window>>>,
}

#[derive(Debug)]
struct Window {
    second: i64,
    count: u32,
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
    pub(crate) fn admit(&self, action: &'static str, secret_id: &str, now: i64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let by_secret_id = windows.entry(action).or_default();
        let window = match by_secret_id.get_mut(secret_id) {
            Some(window) => window,
            None => by_secret_id.entry(secret_id.to_owned()).or_insert(Window {
                second: now,
                count: 0,
            }),
        };
        if window.second != now {
            *window = Window {
                second: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        window.count <= self.per_second
    }
}
