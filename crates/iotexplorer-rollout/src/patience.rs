//! Calls that outlast throttling: the client already retries a few times within its
//! deadline, but a rollout runs for hours and shares the account's rate with other
//! callers, so a read that is still throttled waits a little longer instead of ending it.

use std::time::Duration;

use iotexplorer_http::{Client, Error};
use serde_json::Value;

/// Extra rounds after the client's own retries.
const ROUNDS: u32 = 10;
/// The service counts requests per second: waiting a second starts a fresh window.
const PAUSE: Duration = Duration::from_secs(1);

/// Whether the service refused the call for the rate (so it was not run).
pub(crate) fn throttled(error: &Error) -> bool {
    error.code().is_some_and(|code| code.is_throttling())
}

/// A read-only call, repeated while it fails in a way that is safe to repeat.
pub(crate) async fn read(client: &Client, action: &str, params: &Value) -> Result<Value, Error> {
    let mut round = 0;
    loop {
        match client.send_json_unchecked(action, true, params).await {
            Ok(response) => return Ok(response),
            Err(error) if round < ROUNDS && (throttled(&error) || error.is_retryable(true)) => {
                round += 1;
                tokio::time::sleep(PAUSE).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// One page of a listing: the items of the response's list member, and the `Total` the
/// service reports for the whole listing.
pub(crate) struct Page {
    pub(crate) items: Vec<Value>,
    pub(crate) total: u64,
}

/// A read-only call that returns one page of the list member `list`.
pub(crate) async fn read_page(
    client: &Client,
    action: &str,
    params: &Value,
    list: &str,
) -> Result<Page, Error> {
    let mut response = read(client, action, params).await?;
    let total = crate::gate::lenient_i64(response.get("Total"))
        .and_then(|total| u64::try_from(total).ok())
        .unwrap_or(0);
    let items = match response.get_mut(list).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    Ok(Page { items, total })
}
