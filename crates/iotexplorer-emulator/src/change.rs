//! A change to the state: what an action decided, written to the state log before it is
//! applied, and applied again from the log after a restart. Applying one place in both
//! cases keeps the two from drifting apart.

use serde::{Deserialize, Serialize};

use crate::fixture::DeviceListFixture;
use crate::state::{Firmware, State, Task};

/// One change, as one record of the state log.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    /// `BatchUpdateFirmware`: a new task; the older tasks of its devices stop as listed.
    TaskCreated {
        /// The task, its ID included; the next ID is the one after it.
        task: Box<Task>,
        /// Devices taken over from older tasks (`OverrideMode` 1).
        stops: Vec<Stop>,
    },
    /// `UpdateOtaTaskStatus` with status 6.
    TaskCancelled {
        /// The task.
        task_id: u64,
        /// When, in stages since the task began.
        at: f64,
    },
    /// `UploadFirmware`.
    FirmwareAdded {
        /// The product it belongs to.
        product_id: String,
        /// The new version.
        firmware: Firmware,
    },
    /// `RunningEmulator::add_device_list`.
    DeviceListAdded {
        /// The device-list file.
        list: DeviceListFixture,
    },
}

/// A device that leaves an older task because a new one took it over.
#[derive(Serialize, Deserialize)]
pub(crate) struct Stop {
    pub(crate) task_id: u64,
    pub(crate) device: String,
    /// In stages since that older task began.
    pub(crate) at: f64,
}

impl Change {
    /// Whether it fits `state`; the reason when it does not. A change planned by an action
    /// always fits; one read from a damaged log may not, and then the log is refused rather
    /// than half applied.
    pub(crate) fn check(&self, state: &State) -> Result<(), String> {
        match self {
            Self::TaskCreated { task, stops } => {
                if task.id < state.next_task_id || state.tasks.contains_key(&task.id) {
                    return Err(format!(
                        "task {} was already handed out (the next is {})",
                        task.id, state.next_task_id
                    ));
                }
                let product = state
                    .products
                    .get(&task.product_id)
                    .ok_or_else(|| format!("task {}: no product {}", task.id, task.product_id))?;
                if let Some(name) = task
                    .devices
                    .keys()
                    .find(|name| !product.devices.contains_key(*name))
                {
                    return Err(format!("task {}: no device {name}", task.id));
                }
                for stop in stops {
                    let known = state
                        .tasks
                        .get(&stop.task_id)
                        .is_some_and(|older| older.devices.contains_key(&stop.device));
                    if !known {
                        return Err(format!(
                            "task {}: device {} is in no task {}",
                            task.id, stop.device, stop.task_id
                        ));
                    }
                }
                Ok(())
            }
            Self::TaskCancelled { task_id, .. } => {
                if state.tasks.contains_key(task_id) {
                    Ok(())
                } else {
                    Err(format!("no task {task_id} to cancel"))
                }
            }
            Self::FirmwareAdded {
                product_id,
                firmware,
            } => {
                let product = state
                    .products
                    .get(product_id)
                    .ok_or_else(|| format!("no product {product_id}"))?;
                if product
                    .firmware(&firmware.version, Some(&firmware.fw_type))
                    .is_some()
                {
                    return Err(format!(
                        "firmware {} of product {product_id} exists already",
                        firmware.version
                    ));
                }
                Ok(())
            }
            Self::DeviceListAdded { .. } => Ok(()),
        }
    }

    /// Applies a change that passed [`Change::check`].
    pub(crate) fn apply(self, state: &mut State) {
        match self {
            Self::TaskCreated { task, stops } => {
                for stop in stops {
                    if let Some(older) = state.tasks.get_mut(&stop.task_id) {
                        older.stop_device(&stop.device, stop.at);
                    }
                }
                state.add_task(task);
            }
            Self::TaskCancelled { task_id, at } => {
                if let Some(task) = state.tasks.get_mut(&task_id) {
                    task.cancel(at);
                }
            }
            Self::FirmwareAdded {
                product_id,
                firmware,
            } => {
                if let Some(product) = state.products.get_mut(&product_id) {
                    product.firmwares.push(firmware);
                }
            }
            Self::DeviceListAdded { list } => state.device_lists.push(list),
        }
    }
}
