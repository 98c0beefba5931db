//! The gate after a wave: watch the wave's tasks until its devices settle or time runs
//! out, then decide whether the rollout may go on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iotexplorer_http::{Client, Error};
use iotexplorer_model::{DescribeFirmwareTaskDevicesRequest, FirmwareUpdateStatus, SearchKeyword};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::calls::{Page, built, every_page, page_size};
use crate::config::RolloutSpec;
use crate::plan::Wave;

/// What Tencent reports for a device already on the target version: not a failure.
use iotexplorer_model::ALREADY_CURRENT_MESSAGE as ALREADY_CURRENT;

/// A device that did not update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceFailure {
    /// The device.
    pub device: String,
    /// Its last status (written as the service's number).
    pub status: FirmwareUpdateStatus,
    /// The service's message, if any.
    #[serde(default)]
    pub message: String,
}

/// The verdict on one wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveVerdict {
    /// The wave.
    pub wave: usize,
    /// Devices in the wave.
    pub total: usize,
    /// Devices updated (or already on the target version).
    pub succeeded: usize,
    /// Devices that failed or timed out.
    pub failed: usize,
    /// Devices still updating when the gate decided.
    pub pending: usize,
    /// `(failed + pending) / total` when the gate timed out, else `failed / total`.
    pub failure_rate: f64,
    /// Whether the rate is within `--max-failure-rate`.
    pub passed: bool,
    /// Whether `--wave-timeout` ran out before every device settled.
    pub timed_out: bool,
    /// The devices that failed.
    #[serde(default)]
    pub failed_devices: Vec<DeviceFailure>,
    /// The devices still updating.
    #[serde(default)]
    pub pending_devices: Vec<String>,
    /// Tasks with devices still updating.
    #[serde(default)]
    pub unsettled_tasks: Vec<u64>,
}

/// How often and how long a gate looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaveCheckTiming {
    /// The first pause between two looks.
    pub first_poll: Duration,
    /// The longest pause between two looks (pauses grow by half each time).
    pub max_poll: Duration,
}

impl WaveCheckTiming {
    /// Looks `first_poll` after the wave's calls, then with pauses growing up to
    /// `max_poll`.
    pub fn new(first_poll: Duration, max_poll: Duration) -> Self {
        Self {
            first_poll,
            max_poll,
        }
    }
}

impl Default for WaveCheckTiming {
    fn default() -> Self {
        Self {
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(5),
        }
    }
}

/// Where one device stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Standing {
    Pending,
    Succeeded,
    Failed(FirmwareUpdateStatus, String),
}

/// Where a device with `status` and the service's `message` stands: updated when done
/// (or already on the version), failed when its status is any other end state, else
/// still pending. A status this crate does not know is no end state: such a device
/// counts against the wave only if it has not settled by the wave's timeout.
fn standing(status: Option<FirmwareUpdateStatus>, message: &str) -> Standing {
    match status {
        Some(FirmwareUpdateStatus::Done) => Standing::Succeeded,
        _ if message == ALREADY_CURRENT => Standing::Succeeded,
        Some(status) if status.is_terminal() => Standing::Failed(status, message.to_owned()),
        _ => Standing::Pending,
    }
}

/// Progress of a gate, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaveProgress {
    /// The wave.
    pub wave: usize,
    /// Devices in the wave.
    pub total: usize,
    /// Devices updated.
    pub succeeded: usize,
    /// Devices failed.
    pub failed: usize,
}

/// When a wait of `timeout` from `now` ends; `None` when the clock cannot count that far
/// (a flag's or a journal's `u64::MAX` seconds), which is a wait without end, never one
/// that has ended already.
fn deadline_after(now: Instant, timeout: Duration) -> Option<Instant> {
    now.checked_add(timeout)
}

/// Watches `wave` whose batches have the tasks `tasks` (batch → task) until every device
/// settles, the failures already exceed the threshold, or the wave timeout runs out.
pub async fn watch(
    client: &Client,
    spec: &RolloutSpec,
    wave: &Wave,
    tasks: &BTreeMap<String, u64>,
    timing: WaveCheckTiming,
    progress: &mut (dyn FnMut(WaveProgress) + Send),
) -> Result<WaveVerdict, Error> {
    let deadline = deadline_after(Instant::now(), Duration::from_secs(spec.wave_timeout_secs));
    let total = wave.device_count();
    // Which task each device of the wave belongs to.
    let mut task_of: BTreeMap<&str, u64> = BTreeMap::new();
    for batch in &wave.batches {
        if let Some(task) = tasks.get(&batch.id) {
            for device in &batch.devices {
                task_of.insert(device, *task);
            }
        }
    }
    let mut standings: BTreeMap<&str, Standing> = wave
        .devices()
        .map(|device| (device, Standing::Pending))
        .collect();
    let mut pause = timing.first_poll;
    loop {
        let open: BTreeSet<u64> = standings
            .iter()
            .filter(|(_, standing)| **standing == Standing::Pending)
            .filter_map(|(device, _)| task_of.get(device).copied())
            .collect();
        for task in open {
            for (device, status, message) in task_devices(client, spec, task).await? {
                if let Some(entry) = standings.get_mut(device.as_str())
                    && task_of.get(device.as_str()) == Some(&task)
                {
                    *entry = standing(status, &message);
                }
            }
        }
        let failed = standings
            .values()
            .filter(|s| matches!(s, Standing::Failed(..)))
            .count();
        let succeeded = standings
            .values()
            .filter(|s| **s == Standing::Succeeded)
            .count();
        let pending = total - failed - succeeded;
        progress(WaveProgress {
            wave: wave.number,
            total,
            succeeded,
            failed,
        });
        let hopeless = rate(failed, total) > spec.max_failure_rate;
        let timed_out = pending > 0 && deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if pending == 0 || hopeless || timed_out {
            return Ok(verdict(spec, wave, &task_of, &standings, timed_out));
        }
        let remaining = deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        tokio::time::sleep(pause.min(remaining)).await;
        pause = (pause * 3 / 2).min(timing.max_poll);
    }
}

fn rate(part: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

fn verdict(
    spec: &RolloutSpec,
    wave: &Wave,
    task_of: &BTreeMap<&str, u64>,
    standings: &BTreeMap<&str, Standing>,
    timed_out: bool,
) -> WaveVerdict {
    let mut failed_devices = Vec::new();
    let mut pending_devices = Vec::new();
    let mut unsettled = BTreeSet::new();
    let mut succeeded = 0;
    for (device, standing) in standings {
        match standing {
            Standing::Succeeded => succeeded += 1,
            Standing::Failed(status, message) => failed_devices.push(DeviceFailure {
                device: (*device).to_owned(),
                status: *status,
                message: message.clone(),
            }),
            Standing::Pending => {
                pending_devices.push((*device).to_owned());
                if let Some(task) = task_of.get(device) {
                    unsettled.insert(*task);
                }
            }
        }
    }
    let total = wave.device_count();
    // A device that never settled within the wave timeout counts against the wave.
    let counted = failed_devices.len() + if timed_out { pending_devices.len() } else { 0 };
    let failure_rate = rate(counted, total);
    WaveVerdict {
        wave: wave.number,
        total,
        succeeded,
        failed: failed_devices.len(),
        pending: pending_devices.len(),
        failure_rate,
        passed: failure_rate <= spec.max_failure_rate,
        timed_out,
        failed_devices,
        pending_devices,
        unsettled_tasks: unsettled.into_iter().collect(),
    }
}

/// Every device of one task: name, status, message.
async fn task_devices(
    client: &Client,
    spec: &RolloutSpec,
    task: u64,
) -> Result<Vec<(String, Option<FirmwareUpdateStatus>, String)>, Error> {
    let mut by_task = SearchKeyword::default();
    by_task.key = Some("TaskId".to_owned());
    by_task.value = Some(task.to_string());
    let by_task = &by_task;
    let devices = every_page(|offset| async move {
        let request = built(
            DescribeFirmwareTaskDevicesRequest::builder()
                .product_id(spec.product_id.as_str())
                .firmware_version(spec.firmware_version.as_str())
                .set_fw_type(spec.fw_type.clone())
                .filters(by_task.clone())
                .offset(offset)
                .set_limit(page_size::<DescribeFirmwareTaskDevicesRequest>())
                .build(),
        )?;
        let page = client.describe_firmware_task_devices(&request).await?;
        Ok(Page::of(page.devices, page.total))
    })
    .await?;
    Ok(devices
        .into_iter()
        .filter_map(|device| {
            Some((
                device.device_name?,
                device.status,
                device.err_msg.unwrap_or_default(),
            ))
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_wave_timeout_past_the_clocks_end_never_ends_instead_of_overflowing() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::from_secs(u64::MAX)), None);
        assert_eq!(
            deadline_after(now, Duration::from_secs(600)),
            Some(now + Duration::from_secs(600))
        );
    }

    #[test]
    fn standings_follow_the_statuses() {
        use FirmwareUpdateStatus as S;
        assert_eq!(standing(Some(S::Done), ""), Standing::Succeeded);
        assert_eq!(
            standing(Some(S::Failed), ALREADY_CURRENT),
            Standing::Succeeded
        );
        assert_eq!(
            standing(Some(S::Failed), "x"),
            Standing::Failed(S::Failed, "x".to_owned())
        );
        assert_eq!(
            standing(Some(S::TimedOut), ""),
            Standing::Failed(S::TimedOut, String::new())
        );
        // Still on their way: not an end state, whatever their number.
        for pending in [
            S::Offline,
            S::Pending,
            S::MessageSent,
            S::Downloading,
            S::Burning,
            S::Processing,
            S::AwaitingConfirmation,
            S::Downloaded,
            S::Unknown(99),
        ] {
            assert_eq!(
                standing(Some(pending), ""),
                Standing::Pending,
                "{pending:?}"
            );
        }
        assert_eq!(standing(None, ""), Standing::Pending);
    }
}
