//! Reconciliation: which of our batches already have a task on the service, found by the
//! idempotency marker each call carries in `TaskUserDefine`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use iotexplorer_http::{Client, Error};
use iotexplorer_model::DescribeFirmwareTasksRequest;

use crate::calls::{Page, built, describe_task, every_page, page_size};
use crate::config::{Marker, RolloutSpec};
/// Tasks created this long before the rollout cannot be ours; the margin covers clocks
/// that disagree.
const CLOCK_MARGIN_SECS: i64 = 3600;

/// Looks up tasks by marker and remembers what it has read, so each task is described
/// at most once per process.
#[derive(Debug, Default)]
pub struct Reconciler {
    /// Task → its marker's batch when the marker is ours, `None` otherwise.
    seen: Mutex<HashMap<u64, Option<String>>>,
}

impl Reconciler {
    /// A reconciler that has read nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a task whose batch is already known (from the journal or an answer).
    pub fn know(&self, task_id: u64, batch: &str) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task_id, Some(batch.to_owned()));
    }

    /// Finds the tasks of `rollout` for the batches in `wanted`: lists the tasks of the
    /// firmware version with `DescribeFirmwareTasks`, reads the `TaskUserDefine` of each
    /// not seen before with `DescribeFirmwareTask`, and returns batch → tasks (more than
    /// one would mean the batch was submitted twice).
    pub async fn find(
        &self,
        client: &Client,
        spec: &RolloutSpec,
        rollout: &str,
        created: i64,
        wanted: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Vec<u64>>, Error> {
        let infos = every_page(|offset| async move {
            let request = built(
                DescribeFirmwareTasksRequest::builder()
                    .product_id(spec.product_id.as_str())
                    .firmware_version(spec.firmware_version.as_str())
                    .set_fw_type(spec.fw_type.clone())
                    .offset(offset)
                    .set_limit(page_size::<DescribeFirmwareTasksRequest>())
                    .build(),
            )?;
            let page = client.describe_firmware_tasks(&request).await?;
            Ok(Page::of(page.task_infos, page.total))
        })
        .await?;
        let mut found: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for info in infos {
            let Some(task) = info.task_id else {
                continue;
            };
            let created_at = info.create_time.unwrap_or(i64::MAX);
            if created_at < created.saturating_sub(CLOCK_MARGIN_SECS) {
                continue;
            }
            if let Some(batch) = self.batch_of(client, spec, rollout, task).await?
                && wanted.contains(&batch)
            {
                found.entry(batch).or_default().push(task);
            }
        }
        for tasks in found.values_mut() {
            tasks.sort_unstable();
            tasks.dedup();
        }
        Ok(found)
    }

    async fn batch_of(
        &self,
        client: &Client,
        spec: &RolloutSpec,
        rollout: &str,
        task: u64,
    ) -> Result<Option<String>, Error> {
        if let Some(known) = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&task)
        {
            return Ok(known.clone());
        }
        let response = client
            .describe_firmware_task(&describe_task(spec, task)?)
            .await?;
        let batch = response
            .task_user_define
            .as_deref()
            .and_then(Marker::parse)
            .filter(|marker| marker.rollout == rollout)
            .map(|marker| marker.batch);
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task, batch.clone());
        Ok(batch)
    }
}
