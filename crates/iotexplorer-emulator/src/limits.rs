//! What one client may hold of the server: time, connections and body bytes.
//!
//! Every limit has a default sized for a test server on a developer machine and can be
//! changed on the builder and on the command line.

use std::time::Duration;

/// The longest each timeout may be: a day is more than any test waits for a client.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The service's own limit: Tencent refuses API 3.0 bodies over 10 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = iotexplorer_model::MAX_REQUEST_BODY_BYTES;

/// How long a request head (request line and headers) may take to arrive, counted from
/// the connection's first byte after it was accepted or went idle.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a connection may wait without sending anything: from its acceptance, or
/// between two requests on a kept-alive connection. Longer than the 50 s after which this
/// workspace's client drops idle pooled connections, so it is the client that closes
/// first and never sends on a connection the server is closing.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// How long a request body may take to arrive in full once its head is in, and how long a
/// body waits for room in the shared byte budget.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections are served at once; further ones wait in the listen queue.
/// Well under the usual limit of 1,024 open files, so the process keeps descriptors for
/// its own files.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How many bytes of request bodies all requests in flight may hold together.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 32 * 1024 * 1024;

/// Limits on what clients may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_buffered_bytes: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) body_timeout: Duration,
    pub(crate) max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    /// Why these limits cannot work together, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.max_connections == 0 {
            return Some("max_connections must be at least 1".to_owned());
        }
        if self.max_buffered_bytes < self.max_body_bytes {
            return Some(format!(
                "max_buffered_bytes ({}) must be at least max_body_bytes ({}), or the largest \
                 body could never be read",
                self.max_buffered_bytes, self.max_body_bytes
            ));
        }
        if self.max_buffered_bytes > crate::budget::MAX_BUDGET_BYTES {
            return Some(format!(
                "max_buffered_bytes ({}) must be at most {}",
                self.max_buffered_bytes,
                crate::budget::MAX_BUDGET_BYTES
            ));
        }
        for (name, value) in [
            ("header_timeout", self.header_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_timeout", self.body_timeout),
        ] {
            if value.is_zero() {
                return Some(format!("{name} must be longer than zero"));
            }
            // A deadline is the time now plus the timeout; one of ages would not fit.
            if value > MAX_TIMEOUT {
                return Some(format!(
                    "{name} must be at most {} seconds (a day)",
                    MAX_TIMEOUT.as_secs()
                ));
            }
        }
        None
    }
}
