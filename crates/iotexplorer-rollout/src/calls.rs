//! What the rollout asks of the client: every call goes through a generated typed method
//! with a request built (and checked) by its generated builder, and retrying is the
//! client's alone, under the policy of [`Settings::retry`](crate::Settings::retry).
//!
//! Invariant: the rollout has no retry loop of its own for a call that failed in a way
//! the client can tell is safe to repeat (throttling, a read's transient failure), so the
//! attempts one call can make are bounded by that one policy. Its only resending is
//! deliberate: a batch whose outcome is unknown is looked up by its marker first.

use std::future::Future;
use std::time::Duration;

use iotexplorer_http::{Error, RetryPolicy};
use iotexplorer_model::{Action, DescribeFirmwareTaskRequest, ValidationErrors};

use crate::config::RolloutSpec;

/// Pages a listing may have before the rollout stops reading it: far more than any real
/// listing, so only a server that never ends one reaches it.
const MAX_PAGES: usize = 100_000;

/// One page of a listing: its items, and the `Total` the service reports for the whole.
pub(crate) struct Page<T> {
    items: Vec<T>,
    total: u64,
}

impl<T> Page<T> {
    /// The page of a typed answer's list member and `Total`.
    pub(crate) fn of<N: TryInto<u64>>(items: Option<Vec<T>>, total: Option<N>) -> Self {
        Self {
            items: items.unwrap_or_default(),
            total: total.and_then(|total| total.try_into().ok()).unwrap_or(0),
        }
    }
}

/// Every item of a listing, read page by page (`read` gets each page's offset) until a
/// page is empty or the reported total is reached.
pub(crate) async fn every_page<T, F, R>(mut read: R) -> Result<Vec<T>, Error>
where
    R: FnMut(u64) -> F,
    F: Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    let mut offset = 0u64;
    for _ in 0..MAX_PAGES {
        let page = read(offset).await?;
        let count = page.items.len() as u64;
        items.extend(page.items);
        offset = offset.saturating_add(count);
        if count == 0 || offset >= page.total {
            break;
        }
    }
    Ok(items)
}

/// The page size to ask of action `A`: the largest page the spec says it serves, else the
/// service's own default; `None` (the member left out) when the spec states neither.
pub(crate) fn page_size<A: Action>() -> Option<u64> {
    let meta = A::meta();
    meta.max_page_size().or_else(|| meta.default_page_size())
}

/// The request `built` by a generated builder, or the client's error for a request that
/// breaks a rule (nothing was sent).
pub(crate) fn built<A: Action>(built: Result<A, ValidationErrors>) -> Result<A, Error> {
    built.map_err(|errors| Error::Validation {
        action: A::NAME.to_owned(),
        errors,
    })
}

/// `DescribeFirmwareTask` for task `task` of the rollout's product and firmware version.
pub(crate) fn describe_task(
    spec: &RolloutSpec,
    task: u64,
) -> Result<DescribeFirmwareTaskRequest, Error> {
    // This action takes no FwType.
    built(
        DescribeFirmwareTaskRequest::builder()
            .product_id(spec.product_id.as_str())
            .firmware_version(spec.firmware_version.as_str())
            .task_id(task)
            .build(),
    )
}

/// The policy a rollout needs from the client. A rollout runs for hours and shares the
/// account's rate (20 calls per second and action) with every other caller, so a call
/// refused for the rate, which the service did not run, must outlast a busy stretch of
/// several seconds rather than end the rollout: many attempts, waits growing to a couple
/// of seconds (each a new window of the service's count), all within a minute. That holds
/// for reads and for `BatchUpdateFirmware`, which the client resends only after such a
/// refusal or a failure to connect, never after an ambiguous failure. It does not outlast
/// the client's call deadline (the CLI's `--timeout`), so a bound the user set on one call
/// stays a bound ([`RetryPolicy::persistent`] would lift it).
pub fn rollout_retry_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(16)
        .with_base_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(2))
        .with_total_deadline(Duration::from_secs(60))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reads of a listing of `len` items that reports `total`, a page of at most 100.
    async fn read_all(len: u64, total: Option<u64>) -> (Vec<u64>, u64) {
        let mut reads = 0;
        let items = every_page(|offset| {
            reads += 1;
            let items = (offset..len.min(offset + 100)).collect();
            std::future::ready(Ok(Page::of(Some(items), total)))
        })
        .await
        .unwrap();
        (items, reads)
    }

    #[tokio::test]
    async fn a_listing_is_read_to_its_total_or_its_first_empty_page() {
        let (items, reads) = read_all(250, Some(250)).await;
        assert_eq!(items, (0..250).collect::<Vec<_>>());
        assert_eq!(reads, 3);
        // A total that overstates the listing ends at the first empty page.
        let (items, reads) = read_all(200, Some(1000)).await;
        assert_eq!((items.len(), reads), (200, 3));
        // No total: one page only, as the service means "nothing more".
        let (items, reads) = read_all(250, None).await;
        assert_eq!((items.len(), reads), (100, 1));
    }

    #[tokio::test]
    async fn a_listing_that_never_ends_is_read_a_bounded_number_of_pages() {
        let mut reads = 0;
        let items = every_page(|_| {
            reads += 1;
            std::future::ready(Ok(Page::of(Some(vec![0u8]), Some(u64::MAX))))
        })
        .await
        .unwrap();
        assert_eq!(reads, MAX_PAGES);
        assert_eq!(items.len(), MAX_PAGES);
    }
}
