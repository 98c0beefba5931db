//! The emulated service's data: products, firmware, devices and tasks.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use iotexplorer_model::{
    FirmwareTaskStatus, FirmwareTaskType, FirmwareUpdateStatus, OverrideMode, UpgradeMethod,
    UpgradeMode,
};
use serde::{Deserialize, Serialize};

use crate::device_clock::{
    Fate, Stage, Timeline, already_current, end_of, modelled_retries, stage_at, stopped,
};
use crate::fixture::{DeviceListFixture, DeviceOffline, Fixture, ProgressSettings};
use crate::schedule::{Requested, Schedule};
use crate::task_devices::TaskDevices;

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
    /// Whether it is offline when a task begins, from the fixture; wins over the fleet's
    /// `offline_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) offline: Option<DeviceOffline>,
    /// Index: the newest of its tasks before the last one in which it ended done, which
    /// decides its version while the last one has not made it done. Every task but a
    /// device's last has ended for it (a new task starts only once the older ones ended or
    /// were stopped), so this never changes until a newer task arrives; rebuilt on load.
    #[serde(skip)]
    pub(crate) settled: Option<u64>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Product {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) firmwares: Vec<Firmware>,
    pub(crate) devices: BTreeMap<String, Device>,
    /// The account that owns it; `None` for the default account (and in a state saved
    /// before products had owners, when there was only that one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
}

impl Product {
    /// Whether a SecretId of `account` may see and change it.
    pub(crate) fn belongs_to(&self, account: Option<&str>) -> bool {
        self.account.as_deref() == account
    }
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
    /// Its place in the order the task sends the update in, which `RateLimit` spreads
    /// over time; until its turn it is pending. Kept as a whole number, and the times
    /// derived from the task's options, so that a state read back from its file computes
    /// the very same timeline.
    #[serde(default)]
    pub(crate) dispatch_rank: u64,
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

impl TaskOptions {
    /// The members that shape the timeline.
    pub(crate) fn timing(&self) -> Requested {
        Requested {
            delay_time: self.delay_time,
            start_time: self.start_time,
            end_time: self.end_time,
            rate_limit: self.rate_limit,
        }
    }
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
    pub(crate) devices: TaskDevices,
    /// Its timeline (start, spacing of the dispatches, `EndTime`) in stages; derived from
    /// `options` by [`Task::index_ends`], so rebuilt on load.
    #[serde(skip)]
    pub(crate) schedule: Schedule,
    /// Index: when each device reaches its end, so the task's status needs no walk over
    /// its devices; kept by [`Task::index_ends`] and [`Task::stop_device`].
    #[serde(skip)]
    pub(crate) ends: Ends,
}

/// A multiset of the stages at which the devices of a task reach their ends.
#[derive(Default, Debug, PartialEq)]
pub(crate) struct Ends(BTreeMap<u64, u32>);

impl Ends {
    // Ends are never negative nor NaN, and the bits of such floats sort as they do.
    fn key(end: f64) -> u64 {
        end.max(0.0).to_bits()
    }

    fn add(&mut self, end: f64) {
        *self.0.entry(Self::key(end)).or_default() += 1;
    }

    fn remove(&mut self, end: f64) {
        let key = Self::key(end);
        if let Some(count) = self.0.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.0.remove(&key);
            }
        }
    }

    fn last(&self) -> Option<f64> {
        self.0.last_key_value().map(|(key, _)| f64::from_bits(*key))
    }
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
            max_retry: modelled_retries(self.options.max_retry),
            timeout_steps: (self.options.timeout_interval as f64 / per_step).max(1.0),
            retry_steps: self.options.retry_interval as f64 / per_step,
        }
    }

    /// Where `device` is at `now`.
    pub(crate) fn device_stage(&self, device: &TaskDevice, now: Instant) -> Stage {
        self.device_stage_after(device, self.elapsed_steps(now))
    }

    /// Where `device` ends: the stage it stays in once it reached an end.
    pub(crate) fn final_stage(&self, device: &TaskDevice) -> Stage {
        self.device_stage_after(device, f64::INFINITY)
    }

    /// Where `device` is `elapsed` stages after the task began.
    fn device_stage_after(&self, device: &TaskDevice, elapsed: f64) -> Stage {
        if device.already_current {
            return already_current();
        }
        match self.schedule.end_at {
            Some(end) if end <= elapsed && end < self.uncut_end_of_device(device) => {
                cut_off(self.uncut_stage_after(device, end), end)
            }
            _ => self.uncut_stage_after(device, elapsed),
        }
    }

    /// Where `device` is `elapsed` stages after the task began, were there no `EndTime`.
    fn uncut_stage_after(&self, device: &TaskDevice, elapsed: f64) -> Stage {
        match device.stopped_at {
            Some(at) if at <= elapsed => stopped(self.dispatched_stage(device, at), at),
            _ => self.dispatched_stage(device, elapsed),
        }
    }

    /// Where `device` is `elapsed` stages after the task began, on its own clock, which
    /// starts when it is sent the update; pending since the task began until then.
    fn dispatched_stage(&self, device: &TaskDevice, elapsed: f64) -> Stage {
        let dispatch_at = self.dispatch_at(device);
        let since_dispatch = elapsed - dispatch_at;
        let fate = self.fate_from_dispatch(device);
        let reached = stage_at(fate, self.timeline(), since_dispatch.max(0.0));
        if since_dispatch < 0.0 {
            // Until its turn: offline while it is, then pending, whatever the device's
            // fate holds for later.
            let offline = device.fate.never_online || elapsed < device.fate.offline_steps;
            let mut pending = reached;
            pending.status = if offline {
                FirmwareUpdateStatus::Offline
            } else {
                FirmwareUpdateStatus::Pending
            };
            pending.percent = 0;
            pending.retry_num = 0;
            pending.err_msg = "";
            pending.changed_at = 0.0;
            return pending;
        }
        Stage {
            changed_at: reached.changed_at + dispatch_at,
            ..reached
        }
    }

    /// The status of the task at `now`: waiting for its start, then running until its last
    /// device reaches its end, which the index of ends tells without a walk over the
    /// devices except within a rounding error of that moment.
    pub(crate) fn status(&self, now: Instant) -> FirmwareTaskStatus {
        if self.cancelled {
            return FirmwareTaskStatus::Cancelled;
        }
        let elapsed = self.elapsed_steps(now);
        if elapsed < self.schedule.start_at {
            return FirmwareTaskStatus::Waiting;
        }
        let running = match self.ends.last() {
            None => false,
            // A device that never comes online or whose user never confirms keeps the
            // task running until it is stopped.
            Some(last) if last.is_infinite() => true,
            Some(last) => {
                let margin = 1e-6 * last.abs().max(elapsed).max(1.0);
                if elapsed >= last + margin {
                    false
                } else if elapsed + margin < last {
                    true
                } else {
                    self.devices
                        .values()
                        .any(|device| !self.device_stage(device, now).is_terminal())
                }
            }
        };
        if running {
            FirmwareTaskStatus::Running
        } else {
            FirmwareTaskStatus::Finished
        }
    }

    /// When `device` reaches its end, in stages since the task began.
    fn end_of_device(&self, device: &TaskDevice) -> f64 {
        if device.already_current {
            return 0.0;
        }
        let end = self.uncut_end_of_device(device);
        self.schedule.end_at.map_or(end, |cut| end.min(cut))
    }

    /// When `device` reaches its end, in stages since the task began, were there no
    /// `EndTime`.
    fn uncut_end_of_device(&self, device: &TaskDevice) -> f64 {
        let end =
            self.dispatch_at(device) + end_of(self.fate_from_dispatch(device), self.timeline());
        device.stopped_at.map_or(end, |at| end.min(at))
    }

    /// The device's fate on its own clock, which starts at its turn: a device is offline
    /// from the start of the task, so what is left of that time at its turn.
    fn fate_from_dispatch(&self, device: &TaskDevice) -> Fate {
        let offline_steps = (device.fate.offline_steps - self.dispatch_at(device)).max(0.0);
        Fate {
            offline_steps,
            ..device.fate
        }
    }

    /// When `device` is sent the update, in stages since the task began.
    fn dispatch_at(&self, device: &TaskDevice) -> f64 {
        let rank = usize::try_from(device.dispatch_rank).unwrap_or(usize::MAX);
        self.schedule.dispatch_at(rank)
    }

    /// The timeline the task's options ask for. They were checked when it was created; a
    /// task from a state saved before they were honoured that no longer passes the check
    /// runs at once, as it did then.
    fn planned_schedule(&self) -> Schedule {
        Schedule::plan(
            self.options.timing(),
            self.create_time,
            self.seconds_per_step,
        )
        .unwrap_or_default()
    }

    /// Builds the index of ends from the devices, and the timeline they follow.
    pub(crate) fn index_ends(&mut self) {
        self.schedule = self.planned_schedule();
        let mut ends = Ends::default();
        for device in self.devices.values() {
            ends.add(self.end_of_device(device));
        }
        self.ends = ends;
    }

    /// Stops device `name` at `at` stages unless it was stopped before.
    pub(crate) fn stop_device(&mut self, name: &str, at: f64) {
        let Some(device) = self.devices.get(name) else {
            return;
        };
        if device.stopped_at.is_some() {
            return;
        }
        let before = self.end_of_device(device);
        if let Some(device) = self.devices.get_mut(name) {
            device.stopped_at = Some(at);
        }
        if let Some(device) = self.devices.get(name) {
            let after = self.end_of_device(device);
            self.ends.remove(before);
            self.ends.add(after);
        }
    }

    /// Cancels the task at `at` stages for the devices not stopped before.
    pub(crate) fn cancel(&mut self, at: f64) {
        self.cancelled = true;
        for record in self.devices.values_mut() {
            record.stopped_at.get_or_insert(at);
        }
        self.index_ends();
    }

    /// Unix seconds at which a device reached `stage`. Saturating: a fixture's
    /// `seconds_per_step` or a state file's `create_time` may be as large as its type.
    pub(crate) fn unix_time_of(&self, stage: &Stage) -> i64 {
        // `as` saturates a float too large for i64 (and reads NaN as 0).
        let since_creation = (stage.changed_at * self.seconds_per_step as f64) as i64;
        self.create_time.saturating_add(since_creation)
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) products: BTreeMap<String, Product>,
    pub(crate) device_lists: Vec<DeviceListFixture>,
    pub(crate) tasks: BTreeMap<u64, Box<Task>>,
    pub(crate) next_task_id: u64,
    pub(crate) progress: ProgressSettings,
    /// The last record of the state log this state includes; 0 in a state saved before
    /// there was a log.
    #[serde(default)]
    pub(crate) log_seq: u64,
    /// What the task listings look up; derived from `tasks`, rebuilt on load.
    #[serde(skip)]
    pub(crate) listings: TaskListings,
}

/// Index of the task listings: the IDs of each product's tasks and of each version's,
/// oldest first (IDs only grow, so pushing keeps the order).
#[derive(Default, Debug, PartialEq)]
pub(crate) struct TaskListings {
    by_product: HashMap<String, Vec<u64>>,
    /// Per product, per version: nested so that both are looked up borrowed, and a task
    /// added to a listing that exists copies no name.
    by_version: HashMap<String, HashMap<String, Vec<u64>>>,
}

impl TaskListings {
    fn add(&mut self, task: &Task) {
        match self.by_product.get_mut(task.product_id.as_str()) {
            Some(ids) => ids.push(task.id),
            None => {
                self.by_product
                    .insert(task.product_id.clone(), vec![task.id]);
            }
        }
        let versions = match self.by_version.get_mut(task.product_id.as_str()) {
            Some(versions) => versions,
            None => self.by_version.entry(task.product_id.clone()).or_default(),
        };
        match versions.get_mut(task.version.as_str()) {
            Some(ids) => ids.push(task.id),
            None => {
                versions.insert(task.version.clone(), vec![task.id]);
            }
        }
    }

    /// The IDs of `product_id`'s tasks, of `version` when given, oldest first.
    pub(crate) fn ids(&self, product_id: &str, version: Option<&str>) -> &[u64] {
        let ids = match version {
            Some(version) => self
                .by_version
                .get(product_id)
                .and_then(|versions| versions.get(version)),
            None => self.by_product.get(product_id),
        };
        ids.map_or(&[], Vec::as_slice)
    }
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
                                    offline: d.offline,
                                    settled: None,
                                },
                            )
                        })
                        .collect(),
                    account: p.account.clone(),
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
            listings: TaskListings::default(),
        }
    }

    /// Adds a new task, the newest, and indexes it. The older tasks of its devices have
    /// ended for them (or were stopped just before).
    pub(crate) fn add_task(&mut self, mut task: Box<Task>) {
        task.index_ends();
        if let Some(product) = self.products.get_mut(&task.product_id) {
            for name in task.devices.keys() {
                if let Some(device) = product.devices.get_mut(name) {
                    if let Some(&previous) = device.tasks.last()
                        && ended_done(&self.tasks, previous, name)
                    {
                        device.settled = Some(previous);
                    }
                    device.tasks.push(task.id);
                }
            }
        }
        self.listings.add(&task);
        self.next_task_id = task.id.saturating_add(1);
        self.tasks.insert(task.id, task);
    }

    /// Builds the indexes again from the tasks: after loading a saved state, which holds
    /// none of them.
    pub(crate) fn rebuild_indexes(&mut self) {
        let mut listings = TaskListings::default();
        for task in self.tasks.values_mut() {
            task.index_ends();
            listings.add(task);
        }
        self.listings = listings;
        for product in self.products.values_mut() {
            for (name, device) in &mut product.devices {
                let before_last = device.tasks.len().saturating_sub(1);
                device.settled = device.tasks[..before_last]
                    .iter()
                    .rev()
                    .copied()
                    .find(|&id| ended_done(&self.tasks, id, name));
            }
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
    ///
    /// Only its last task can still be under way; the older ones ended for it, and the
    /// newest of them that ended done is indexed, so this costs the same however long the
    /// device's history is.
    pub(crate) fn current_version(&self, name: &str, device: &Device, now: Instant) -> String {
        let last = device.tasks.last().and_then(|id| self.tasks.get(id));
        let done_now = last.filter(|task| {
            task.devices
                .get(name)
                .is_some_and(|record| installed(record, &task.device_stage(record, now)))
        });
        done_now
            .or_else(|| device.settled.and_then(|id| self.tasks.get(&id)))
            .map_or_else(|| device.base_version.clone(), |task| task.version.clone())
    }

    /// Whether device `name` is offline at `now`: only its last task can say so, while
    /// the device has not come online for it.
    pub(crate) fn is_offline(&self, name: &str, device: &Device, now: Instant) -> bool {
        device
            .tasks
            .last()
            .and_then(|id| self.tasks.get(id))
            .is_some_and(|task| {
                task.devices.get(name).is_some_and(|record| {
                    task.device_stage(record, now).status == FirmwareUpdateStatus::Offline
                })
            })
    }

    /// Whether device `name` is in a task that has not finished with it: only its last
    /// task can be.
    pub(crate) fn is_updating(&self, name: &str, device: &Device, now: Instant) -> bool {
        device
            .tasks
            .last()
            .and_then(|id| self.tasks.get(id))
            .is_some_and(|task| {
                task.devices
                    .get(name)
                    .is_some_and(|record| !task.device_stage(record, now).is_terminal())
            })
    }
}

/// What `EndTime` tells of a device it finds not at an end: it timed out there.
const CUT_OFF_MESSAGE: &str = "the task reached its EndTime";

/// Where a device that `reached` a stage short of an end is once `EndTime` passes at `at`.
fn cut_off(reached: Stage, at: f64) -> Stage {
    if reached.is_terminal() {
        return reached;
    }
    Stage {
        status: FirmwareUpdateStatus::TimedOut,
        err_msg: CUT_OFF_MESSAGE,
        changed_at: at,
        ..reached
    }
}

/// Whether device `name` ended done in task `id` and runs its version since.
fn ended_done(tasks: &BTreeMap<u64, Box<Task>>, id: u64, name: &str) -> bool {
    tasks.get(&id).is_some_and(|task| {
        task.devices
            .get(name)
            .is_some_and(|record| installed(record, &task.final_stage(record)))
    })
}

/// Whether a device at `stage` of a task runs the task's version: done, unless the
/// firmware did not fit its module and it kept the old one while reporting done.
fn installed(record: &TaskDevice, stage: &Stage) -> bool {
    stage.status == FirmwareUpdateStatus::Done && !record.fate.keeps_version
}

/// The wall clock in Unix milliseconds (toward zero before 1970).
pub(crate) fn unix_now_ms() -> i64 {
    unix_ms(std::time::SystemTime::now())
}

/// The wall clock in Unix seconds (rounded down).
///
/// Read from `SystemTime` directly: a request reads the clock several times, and the date
/// a calendar type works out along with it is not needed.
pub(crate) fn unix_now() -> i64 {
    unix_seconds(std::time::SystemTime::now())
}

/// `at` in whole Unix seconds, rounded down, as `OffsetDateTime::unix_timestamp` gives it.
fn unix_seconds(at: std::time::SystemTime) -> i64 {
    let whole = |seconds: u64| i64::try_from(seconds).unwrap_or(i64::MAX);
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => whole(since.as_secs()),
        Err(before) => {
            let before = before.duration();
            let part = i64::from(before.subsec_nanos() > 0);
            whole(before.as_secs())
                .saturating_add(part)
                .saturating_neg()
        }
    }
}

/// `at` in Unix milliseconds, toward zero, as `OffsetDateTime::unix_timestamp_nanos`
/// divided by a million gives it.
fn unix_ms(at: std::time::SystemTime) -> i64 {
    let whole = |millis: u128| i64::try_from(millis).unwrap_or(i64::MAX);
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => whole(since.as_millis()),
        Err(before) => whole(before.duration().as_millis()).saturating_neg(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_are_the_calendar_ones() {
        use std::time::{Duration, UNIX_EPOCH};
        let offsets = [
            0,
            1,
            999_999,
            1_000_000,
            1_000_000_000,
            1_500_000_001,
            1_700_000_000_123_456_789,
            4_102_444_800_999_999_999,
        ];
        for nanos in offsets {
            let step = Duration::from_nanos(nanos);
            for at in [UNIX_EPOCH + step, UNIX_EPOCH - step] {
                let calendar = time::OffsetDateTime::from(at);
                assert_eq!(unix_seconds(at), calendar.unix_timestamp(), "{at:?}");
                let millis = i64::try_from(calendar.unix_timestamp_nanos() / 1_000_000);
                assert_eq!(Ok(unix_ms(at)), millis, "{at:?}");
            }
        }
    }
    use crate::change::{Change, Stop};
    use crate::fixture::DEMO_PRODUCT_ID;
    use proptest::prelude::*;

    const DEVICES: [&str; 4] = ["dev001", "dev002", "dev003", "dev004"];
    const VERSIONS: [&str; 3] = ["1.0.0", "2.0.0", "3.0.0"];
    /// When the tasks are created, in Unix seconds.
    const CREATE_TIME: i64 = 1_800_000_000;

    #[derive(Clone, Debug)]
    enum Op {
        Create {
            devices: Vec<usize>,
            version: usize,
            replace: bool,
            fates: Vec<Fate>,
            max_retry: u64,
            timing: Timing,
            advance_ms: u64,
        },
        Cancel {
            pick: usize,
            advance_ms: u64,
        },
    }

    /// `DelayTime`, `RateLimit` and `EndTime` of a task, in seconds (30 to a stage of
    /// 1 ms); `EndTime` counted from the start.
    #[derive(Clone, Debug)]
    struct Timing {
        delay_time: i64,
        rate_limit: i64,
        end_after: Option<i64>,
    }

    fn timing() -> impl Strategy<Value = Timing> {
        (
            prop_oneof![Just(0i64), Just(30), 0..180i64],
            prop_oneof![Just(0i64), Just(60), 1..200i64],
            proptest::option::weighted(0.3, 1..360i64),
        )
            .prop_map(|(delay_time, rate_limit, end_after)| Timing {
                delay_time,
                rate_limit,
                end_after,
            })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (
                proptest::collection::vec(0..DEVICES.len(), 1..4),
                0..VERSIONS.len(),
                any::<bool>(),
                proptest::collection::vec(fate(), DEVICES.len()),
                0..3u64,
                timing(),
                0..12u64,
            )
                .prop_map(|(devices, version, replace, fates, max_retry, timing, advance_ms)| {
                    Op::Create { devices, version, replace, fates, max_retry, timing, advance_ms }
                }),
            1 => (any::<usize>(), 0..12u64)
                .prop_map(|(pick, advance_ms)| Op::Cancel { pick, advance_ms }),
        ]
    }

    /// A device's fate, with every behaviour: offline for a while or for ever, waiting
    /// for its user for a while or for ever, reporting done on the old version, failing
    /// late, reporting every state.
    fn fate() -> impl Strategy<Value = Fate> {
        (
            (0..3u64, proptest::bool::weighted(0.2)),
            (
                // Multiples of 1/1024 of a stage, as drawn delays are.
                prop_oneof![4 => Just(0.0), 1 => (0..3072u32).prop_map(|n| f64::from(n) / 1024.0)],
                proptest::bool::weighted(0.1),
            ),
            (
                prop_oneof![4 => Just(0.0), 1 => (0..3072u32).prop_map(|n| f64::from(n) / 1024.0)],
                proptest::bool::weighted(0.1),
            ),
            (
                proptest::bool::weighted(0.2),
                proptest::bool::weighted(0.2),
                any::<bool>(),
            ),
        )
            .prop_map(
                |(
                    (failed_attempts, stalls),
                    (offline_steps, never_online),
                    (confirm_steps, never_confirms),
                    (keeps_version, fails_late, detailed),
                )| Fate {
                    failed_attempts,
                    stalls,
                    offline_steps,
                    never_online,
                    confirm_steps,
                    never_confirms,
                    keeps_version,
                    fails_late,
                    detailed,
                },
            )
    }

    fn options(max_retry: u64) -> TaskOptions {
        TaskOptions {
            upgrade_mode: UpgradeMode::DeviceNames,
            ori_version: String::new(),
            r#type: FirmwareTaskType::Static,
            delay_time: 0,
            timeout_interval: 300,
            upgrade_method: UpgradeMethod::Silent,
            max_retry,
            retry_interval: 30,
            override_mode: OverrideMode::KeepExisting,
            user_define: String::new(),
            rate_limit: 0,
            start_time: 0,
            end_time: 0,
        }
    }

    /// The version by walking the device's whole history, as before the index.
    fn scanned_version(state: &State, name: &str, device: &Device, now: Instant) -> String {
        device
            .tasks
            .iter()
            .rev()
            .filter_map(|id| state.tasks.get(id))
            .find(|task| {
                task.devices.get(name).is_some_and(|record| {
                    task.device_stage(record, now).status == FirmwareUpdateStatus::Done
                        && !record.fate.keeps_version
                })
            })
            .map_or_else(|| device.base_version.clone(), |task| task.version.clone())
    }

    /// Whether any task of the device is under way, by walking its whole history.
    fn scanned_updating(state: &State, name: &str, device: &Device, now: Instant) -> bool {
        device
            .tasks
            .iter()
            .filter_map(|id| state.tasks.get(id))
            .any(|task| {
                task.devices
                    .get(name)
                    .is_some_and(|record| !task.device_stage(record, now).is_terminal())
            })
    }

    fn product(state: &State) -> &Product {
        &state.products[DEMO_PRODUCT_ID]
    }

    /// Applies `op` at `now` the way the actions plan it, with a full scan where the
    /// actions use the index, and stopping every task of a replaced device.
    fn run(state: &mut State, op: &Op, now: Instant, started: Instant) {
        match op {
            Op::Create {
                devices,
                version,
                replace,
                fates,
                max_retry,
                timing,
                ..
            } => {
                let version = VERSIONS[*version];
                let product = product(state);
                let busy: Vec<&str> = devices
                    .iter()
                    .map(|&n| DEVICES[n])
                    .filter(|name| scanned_updating(state, name, &product.devices[*name], now))
                    .collect();
                if !busy.is_empty() && !replace {
                    return;
                }
                let mut stops = Vec::new();
                for name in &busy {
                    for &task_id in &product.devices[*name].tasks {
                        let task = &state.tasks[&task_id];
                        if task.devices[*name].stopped_at.is_none() {
                            stops.push(Stop {
                                task_id,
                                device: (*name).to_owned(),
                                at: task.elapsed_steps(now),
                            });
                        }
                    }
                }
                let mut records = BTreeMap::new();
                let mut rank = 0;
                for &n in devices {
                    let name = DEVICES[n];
                    let ori_version = scanned_version(state, name, &product.devices[name], now);
                    let fate = fates[n];
                    let already_current = ori_version == version;
                    let dispatch_rank = rank;
                    if !already_current {
                        rank += 1;
                    }
                    records.insert(
                        name.to_owned(),
                        TaskDevice {
                            already_current,
                            dispatch_rank,
                            ori_version,
                            fate: Fate {
                                failed_attempts: fate.failed_attempts.min(max_retry + 1),
                                ..fate
                            },
                            stopped_at: None,
                        },
                    );
                }
                let records = TaskDevices::from_chosen(records.into_iter().collect());
                let task = Task {
                    id: state.next_task_id,
                    product_id: DEMO_PRODUCT_ID.to_owned(),
                    version: version.to_owned(),
                    fw_type: "mcu".to_owned(),
                    create_time: CREATE_TIME,
                    started,
                    started_unix_ms: 0,
                    step: Duration::from_millis(1),
                    seconds_per_step: 30,
                    options: TaskOptions {
                        delay_time: timing.delay_time,
                        rate_limit: timing.rate_limit,
                        end_time: timing
                            .end_after
                            .map_or(0, |after| CREATE_TIME + timing.delay_time + after),
                        ..options(*max_retry)
                    },
                    cancelled: false,
                    devices: records,
                    schedule: Schedule::default(),
                    ends: Ends::default(),
                };
                let change = Change::TaskCreated {
                    task: Box::new(task),
                    stops,
                };
                assert_eq!(change.check(state), Ok(()));
                change.apply(state);
            }
            Op::Cancel { pick, .. } => {
                let Some(task) = state.tasks.values().nth(pick % state.tasks.len().max(1)) else {
                    return;
                };
                let change = Change::TaskCancelled {
                    task_id: task.id,
                    at: task.elapsed_steps(now),
                };
                change.apply(state);
            }
        }
    }

    /// The indexes agree with a full scan: per device, and in the listings.
    fn assert_indexes(state: &State, now: Instant, probe_us: u64) {
        for later_us in [0, 500, probe_us, 3_000, 50_000] {
            let at = now + Duration::from_micros(later_us);
            for (name, device) in &product(state).devices {
                assert_eq!(
                    state.current_version(name, device, at),
                    scanned_version(state, name, device, at),
                    "version of {name}"
                );
                assert_eq!(
                    state.is_updating(name, device, at),
                    scanned_updating(state, name, device, at),
                    "updating of {name}"
                );
            }
            for task in state.tasks.values() {
                let running = task
                    .devices
                    .values()
                    .any(|device| !task.device_stage(device, at).is_terminal());
                let waiting = task.elapsed_steps(at) < task.schedule.start_at;
                let scanned = match (task.cancelled, waiting, running) {
                    (true, _, _) => FirmwareTaskStatus::Cancelled,
                    (false, true, _) => FirmwareTaskStatus::Waiting,
                    (false, false, true) => FirmwareTaskStatus::Running,
                    (false, false, false) => FirmwareTaskStatus::Finished,
                };
                assert_eq!(task.status(at), scanned, "status of task {}", task.id);
            }
        }
        // What the index relies on: only a device's last task can be under way.
        for (name, device) in &product(state).devices {
            let before_last = device.tasks.len().saturating_sub(1);
            for id in &device.tasks[..before_last] {
                let task = &state.tasks[id];
                assert!(task.device_stage(&task.devices[name], now).is_terminal());
            }
        }
        for version in [None, Some("1.0.0"), Some("2.0.0"), Some("3.0.0")] {
            let scanned: Vec<u64> = state
                .tasks
                .values()
                .filter(|t| {
                    t.product_id == DEMO_PRODUCT_ID && version.is_none_or(|v| v == t.version)
                })
                .map(|t| t.id)
                .collect();
            assert_eq!(state.listings.ids(DEMO_PRODUCT_ID, version), scanned);
        }
        // A state read back from its file builds the same indexes.
        let bytes = serde_json::to_vec(state).expect("serialise");
        let mut loaded: State = serde_json::from_slice(&bytes).expect("read back");
        loaded.rebuild_indexes();
        assert_eq!(loaded.listings, state.listings);
        for (id, task) in &state.tasks {
            assert_eq!(loaded.tasks[id].ends, task.ends, "ends of task {id}");
        }
        for (name, device) in &product(state).devices {
            assert_eq!(
                product(&loaded).devices[name].settled,
                device.settled,
                "{name}"
            );
        }
    }

    /// A device's stop time is any point between stages; read back from a state file it
    /// must be the very same number, or the reloaded ends index disagrees with the saved
    /// one (found by `indexes_agree_with_a_full_scan`).
    #[test]
    fn a_stop_time_reads_back_bit_for_bit() {
        for bits in [4_636_948_397_587_169_279_u64, 4_611_686_018_427_387_905] {
            let record = TaskDevice {
                ori_version: String::new(),
                fate: Fate::default(),
                stopped_at: Some(f64::from_bits(bits)),
                already_current: false,
                dispatch_rank: 0,
            };
            let text = serde_json::to_string(&record).expect("serialise");
            let read: TaskDevice = serde_json::from_str(&text).expect("read back");
            assert_eq!(read.stopped_at.map(f64::to_bits), Some(bits), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn indexes_agree_with_a_full_scan(
            ops in proptest::collection::vec((op(), 0..20_000u64), 1..40),
        ) {
            let mut state = State::from_fixture(&Fixture::demo());
            let origin = Instant::now();
            let mut clock_ms = 0;
            for (op, probe_us) in &ops {
                let (Op::Create { advance_ms, .. } | Op::Cancel { advance_ms, .. }) = op;
                clock_ms += advance_ms;
                let now = origin + Duration::from_millis(clock_ms);
                run(&mut state, op, now, now);
                // Between whole stages too, where the ends are not.
                assert_indexes(&state, now, *probe_us);
            }
        }
    }
}
