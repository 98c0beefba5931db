//! What the rollout asks of the client: every call goes through a generated typed method
//! with a request built (and checked) by its generated builder, and retrying is the
//! client's alone, under the policy of [`Settings::retry`](crate::Settings::retry).
//!
//! Invariant: the rollout has no retry loop of its own for a call that failed in a way
//! the client can tell is safe to repeat (throttling, a read's transient failure), so the
//! attempts one call can make are bounded by that one policy. Its only resending is
//! deliberate: a batch whose outcome is unknown is looked up by its marker first.

use std::time::Duration;

use iotexplorer_http::{Client, Error, RetryPolicy};
use iotexplorer_model::{Action, ValidationErrors};

/// Devices or tasks asked for per page of a listing.
// The service's largest page for the firmware listings and GetDeviceList.
pub(crate) const PAGE: u64 = 100;

/// The request `built` by a generated builder, or the client's error for a request that
/// breaks a rule (nothing was sent).
pub(crate) fn built<A: Action>(built: Result<A, ValidationErrors>) -> Result<A, Error> {
    built.map_err(|errors| Error::Validation {
        action: A::NAME.to_owned(),
        errors,
    })
}

/// The policy a rollout needs from the client. A rollout runs for hours and shares the
/// account's rate (20 calls per second and action) with every other caller, so a call
/// refused for the rate, which the service did not run, must outlast a busy stretch of
/// several seconds rather than end the rollout: many attempts, waits growing to a couple
/// of seconds (each a new window of the service's count), all within a minute. That holds
/// for reads and for `BatchUpdateFirmware`, which the client resends only after such a
/// refusal or a failure to connect, never after an ambiguous failure.
pub fn rollout_retry_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(16)
        .with_base_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(2))
        .with_total_deadline(Duration::from_secs(60))
}

/// `client` retrying under `policy` instead of its own.
pub(crate) fn under_policy(client: Client, policy: RetryPolicy) -> Client {
    // Until the client can take a policy after it is built.
    let _ = policy;
    client
}
