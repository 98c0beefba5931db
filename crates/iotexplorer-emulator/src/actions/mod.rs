//! The actions the emulator models, one module per family.
//!
//! An action either reads the state or plans a [`Change`] without touching the state: the
//! caller writes the change to the state log first and applies it only once it is kept, so
//! a change the disk refused is never half done.

mod devices;
mod firmware;
mod params;
mod tasks;

use std::time::Instant;

use iotexplorer_model::ApiError;
use serde_json::{Map, Value};

use crate::change::Change;
use crate::state::State;

/// What an action may need besides the state.
pub(crate) struct Context<'a> {
    /// Where the emulator listens, e.g. `http://127.0.0.1:9555`.
    pub(crate) base_url: &'a str,
    pub(crate) now: Instant,
    pub(crate) unix_now: i64,
}

/// How many characters of a value sent by the client an error message repeats.
const SHOWN_CHARS: usize = 64;

/// `value` as an error message names it: whole when short, else its beginning and `…`, so
/// an answer stays small whatever was sent.
pub(crate) fn shown(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]).into(),
        None => value.into(),
    }
}

/// The response members (without `RequestId`).
pub(crate) type Outcome = Result<Map<String, Value>, ApiError>;

/// A change an action decided on, and the answer to give once it is applied.
pub(crate) struct Planned {
    pub(crate) change: Change,
    pub(crate) members: Map<String, Value>,
}

/// An action that only reads.
pub(crate) type Read = fn(&State, &Value, &Context<'_>) -> Outcome;
/// An action that changes the state: it plans the change.
pub(crate) type Plan = fn(&State, &Value, &Context<'_>) -> Result<Planned, ApiError>;

/// How an action runs.
#[derive(Clone, Copy)]
pub(crate) enum Action {
    Read(Read),
    Change(Plan),
}

/// The action named `name`, if the emulator models it.
pub(crate) fn find(name: &str) -> Option<Action> {
    let action = match name {
        "BatchUpdateFirmware" => Action::Change(tasks::batch_update_firmware),
        "UpdateOtaTaskStatus" => Action::Change(tasks::update_ota_task_status),
        "UploadFirmware" => Action::Change(firmware::upload_firmware),
        "DescribeFirmwareTask" => Action::Read(tasks::describe_firmware_task),
        "DescribeFirmwareTasks" => Action::Read(tasks::describe_firmware_tasks),
        "DescribeFirmwareTaskDevices" => Action::Read(tasks::describe_firmware_task_devices),
        "DescribeFirmwareUpdateStatus" => Action::Read(devices::describe_firmware_update_status),
        "DescribeDeviceFirmWare" => Action::Read(devices::describe_device_firmware),
        "GetDeviceList" => Action::Read(devices::get_device_list),
        "ListFirmwares" => Action::Read(|state, params, _| firmware::list_firmwares(state, params)),
        "DescribeFirmware" => {
            Action::Read(|state, params, _| firmware::describe_firmware(state, params))
        }
        "GetCOSURL" => Action::Read(firmware::get_cos_url),
        _ => return None,
    };
    Some(action)
}

/// The answer to an action the emulator does not model.
pub(crate) fn unsupported(name: &str) -> ApiError {
    ApiError::new(
        "UnsupportedOperation",
        format!("the emulator does not model the action {name}"),
    )
}
