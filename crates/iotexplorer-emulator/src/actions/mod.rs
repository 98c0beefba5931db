//! The actions the emulator models, one module per family.

mod devices;
mod firmware;
mod params;
mod tasks;

use std::time::Instant;

use iotexplorer_model::ApiError;
use serde_json::{Map, Value};

use crate::state::State;

/// What an action may need besides the state.
pub(crate) struct Context<'a> {
    /// Where the emulator listens, e.g. `http://127.0.0.1:9555`.
    pub(crate) base_url: &'a str,
    pub(crate) now: Instant,
    pub(crate) unix_now: i64,
}

/// The response members (without `RequestId`).
pub(crate) type Outcome = Result<Map<String, Value>, ApiError>;

/// Runs `action`; actions the emulator does not model answer `UnsupportedOperation`.
pub(crate) fn run(state: &mut State, action: &str, params: &Value, cx: &Context<'_>) -> Outcome {
    match action {
        "BatchUpdateFirmware" => tasks::batch_update_firmware(state, params, cx),
        "DescribeFirmwareTask" => tasks::describe_firmware_task(state, params, cx),
        "DescribeFirmwareTasks" => tasks::describe_firmware_tasks(state, params, cx),
        "DescribeFirmwareTaskDevices" => tasks::describe_firmware_task_devices(state, params, cx),
        "UpdateOtaTaskStatus" => tasks::update_ota_task_status(state, params, cx),
        "DescribeFirmwareUpdateStatus" => {
            devices::describe_firmware_update_status(state, params, cx)
        }
        "DescribeDeviceFirmWare" => devices::describe_device_firmware(state, params, cx),
        "GetDeviceList" => devices::get_device_list(state, params, cx),
        "ListFirmwares" => firmware::list_firmwares(state, params),
        "DescribeFirmware" => firmware::describe_firmware(state, params),
        "UploadFirmware" => firmware::upload_firmware(state, params, cx),
        "GetCOSURL" => firmware::get_cos_url(state, params, cx),
        other => Err(ApiError::new(
            "UnsupportedOperation",
            format!("the emulator does not model the action {other}"),
        )),
    }
}
