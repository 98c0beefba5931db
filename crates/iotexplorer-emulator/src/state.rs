//! The emulated service's data: products, firmware, devices and tasks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use iotexplorer_model::{
    FirmwareTaskStatus, FirmwareTaskType, FirmwareUpdateStatus, OverrideMode, UpgradeMethod,
    UpgradeMode,
};
use serde::{Deserialize, Serialize};

use crate::device_clock::{Fate, Stage, Timeline, already_current, stage_at, stopped};
use crate::fixture::{DeviceListFixture, Fixture, ProgressSettings};

/// The first task ID handed out; Tencent's IDs are seven digits too.
const FIRST_TASK_ID: u64 = 1_000_001;

#[derive(Serialize, Deserialize)]
pub(crate) struct Firmware {
    pub(crate) version: String,
    pub(crate) fw_type: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) md5: String,
    pub(crate) user_defined: String,
    pub(crate) create_time: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Device {
    /// The firmware it ran when the emulator started.
    pub(crate) base_version: String,
    /// The tasks that included it, oldest first.
    pub(crate) tasks: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Product {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) firmwares: Vec<Firmware>,
    pub(crate) devices: BTreeMap<String, Device>,
}

impl Product {
    pub(crate) fn firmware(&self, version: &str, fw_type: Option<&str>) -> Option<&Firmware> {
        self.firmwares
            .iter()
            .find(|f| f.version == version && fw_type.is_none_or(|t| t == f.fw_type))
    }
}

/// One device in one task.
#[derive(Serialize, Deserialize)]
pub(crate) struct TaskDevice {
    pub(crate) ori_version: String,
    pub(crate) fate: Fate,
    /// When it was stopped (task cancelled or superseded), in stages since the task began.
    pub(crate) stopped_at: Option<f64>,
    /// It already ran the task's version; Tencent fails such devices at once.
    #[serde(default)]
    pub(crate) already_current: bool,
}

/// What `BatchUpdateFirmware` asked for, kept to answer `DescribeFirmwareTask`.
///
/// Kept in the state file with the wire values of the model's types, as the service sends
/// them.
#[derive(Serialize, Deserialize)]
pub(crate) struct TaskOptions {
    pub(crate) upgrade_mode: UpgradeMode,
    pub(crate) ori_version: String,
    pub(crate) r#type: FirmwareTaskType,
    pub(crate) delay_time: i64,
    pub(crate) timeout_interval: u64,
    pub(crate) upgrade_method: UpgradeMethod,
    pub(crate) max_retry: u64,
    pub(crate) retry_interval: u64,
    pub(crate) override_mode: OverrideMode,
    pub(crate) user_define: String,
    pub(crate) rate_limit: i64,
    pub(crate) start_time: i64,
    pub(crate) end_time: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Task {
    pub(crate) id: u64,
    pub(crate) product_id: String,
    pub(crate) version: String,
    pub(crate) fw_type: String,
    pub(crate) create_time: i64,
    /// When it began on this process's monotonic clock; rebuilt from `started_unix_ms`
    /// after a restart.
    #[serde(skip, default = "Instant::now")]
    pub(crate) started: Instant,
    /// When it began, in Unix milliseconds.
    pub(crate) started_unix_ms: i64,
    pub(crate) step: Duration,
    pub(crate) seconds_per_step: u64,
    pub(crate) options: TaskOptions,
    pub(crate) cancelled: bool,
    pub(crate) devices: BTreeMap<String, TaskDevice>,
}

impl Task {
    /// Stages since the task began.
    pub(crate) fn elapsed_steps(&self, now: Instant) -> f64 {
        let step = self.step.as_secs_f64().max(1e-6);
        now.saturating_duration_since(self.started).as_secs_f64() / step
    }

    fn timeline(&self) -> Timeline {
        let per_step = self.seconds_per_step.max(1) as f64;
        Timeline {
            max_retry: self.options.max_retry,
            timeout_steps: (self.options.timeout_interval as f64 / per_step).max(1.0),
            retry_steps: self.options.retry_interval as f64 / per_step,
        }
    }

    /// Where `device` is at `now`.
    pub(crate) fn device_stage(&self, device: &TaskDevice, now: Instant) -> Stage {
        if device.already_current {
            return already_current();
        }
        let timeline = self.timeline();
        let elapsed = self.elapsed_steps(now);
        match device.stopped_at {
            Some(at) if at <= elapsed => stopped(stage_at(device.fate, timeline, at), at),
            _ => stage_at(device.fate, timeline, elapsed),
        }
    }

    /// The status of the task at `now`.
    pub(crate) fn status(&self, now: Instant) -> FirmwareTaskStatus {
        if self.cancelled {
            return FirmwareTaskStatus::Cancelled;
        }
        let running = self
            .devices
            .values()
            .any(|device| !self.device_stage(device, now).is_terminal());
        if running {
            FirmwareTaskStatus::Running
        } else {
            FirmwareTaskStatus::Finished
        }
    }

    /// Unix seconds at which a device reached `stage`.
    pub(crate) fn unix_time_of(&self, stage: &Stage) -> i64 {
        self.create_time + (stage.changed_at * self.seconds_per_step as f64) as i64
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) products: BTreeMap<String, Product>,
    pub(crate) device_lists: Vec<DeviceListFixture>,
    pub(crate) tasks: BTreeMap<u64, Task>,
    pub(crate) next_task_id: u64,
    pub(crate) progress: ProgressSettings,
    /// The last record of the state log this state includes; 0 in a state saved before
    /// there was a log.
    #[serde(default)]
    pub(crate) log_seq: u64,
}

impl State {
    pub(crate) fn from_fixture(fixture: &Fixture) -> Self {
        let now = unix_now();
        let products = fixture
            .products
            .iter()
            .map(|p| {
                let product = Product {
                    id: p.product_id.clone(),
                    name: p
                        .product_name
                        .clone()
                        .unwrap_or_else(|| p.product_id.clone()),
                    firmwares: p
                        .firmwares
                        .iter()
                        .map(|f| Firmware {
                            version: f.version.clone(),
                            fw_type: f.fw_type.clone(),
                            name: format!("{}-{}", p.product_id, f.version),
                            description: String::new(),
                            md5: String::new(),
                            user_defined: String::new(),
                            create_time: now,
                        })
                        .collect(),
                    devices: p
                        .devices
                        .iter()
                        .map(|d| {
                            (
                                d.name.clone(),
                                Device {
                                    base_version: d.firmware_version.clone(),
                                    tasks: Vec::new(),
                                },
                            )
                        })
                        .collect(),
                };
                (p.product_id.clone(), product)
            })
            .collect();
        Self {
            products,
            device_lists: fixture.device_lists.clone(),
            tasks: BTreeMap::new(),
            next_task_id: FIRST_TASK_ID,
            progress: fixture.progress.unwrap_or_default(),
            log_seq: 0,
        }
    }

    /// Sets each task's start on this process's monotonic clock from its wall-clock start,
    /// after a restart: monotonic instants do not survive one.
    pub(crate) fn rebuild_clocks(&mut self) {
        let now = Instant::now();
        let now_ms = unix_now_ms();
        for task in self.tasks.values_mut() {
            let age = u64::try_from(now_ms.saturating_sub(task.started_unix_ms)).unwrap_or(0);
            task.started = now.checked_sub(Duration::from_millis(age)).unwrap_or(now);
        }
    }

    /// The firmware device `name` runs at `now`: that of its latest finished update.
    pub(crate) fn current_version(&self, name: &str, device: &Device, now: Instant) -> String {
        device
            .tasks
            .iter()
            .rev()
            .filter_map(|id| self.tasks.get(id))
            .find(|task| {
                task.devices.get(name).is_some_and(|record| {
                    task.device_stage(record, now).status == FirmwareUpdateStatus::Done
                })
            })
            .map_or_else(|| device.base_version.clone(), |task| task.version.clone())
    }

    /// Whether device `name` is in a task that has not finished with it.
    pub(crate) fn is_updating(&self, name: &str, device: &Device, now: Instant) -> bool {
        device
            .tasks
            .iter()
            .filter_map(|id| self.tasks.get(id))
            .any(|task| {
                task.devices
                    .get(name)
                    .is_some_and(|record| !task.device_stage(record, now).is_terminal())
            })
    }
}

/// The wall clock in Unix milliseconds.
pub(crate) fn unix_now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

/// The wall clock in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
