//! What one device runs and how its latest update goes.

use iotexplorer_model::ApiError;
use serde_json::{Value, json};

use super::params::{object, product, text};
use super::{Context, Outcome};
use crate::state::{Device, State};

fn device<'a>(state: &'a State, params: &Value) -> Result<(&'a str, &'a Device), ApiError> {
    let product = product(state, text(params, "ProductId"))?;
    let name = text(params, "DeviceName").unwrap_or_default();
    product
        .devices
        .get_key_value(name)
        .map(|(name, device)| (name.as_str(), device))
        .ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound.DeviceNotExist",
                format!("the device {name} does not exist"),
            )
        })
}

/// `DescribeFirmwareUpdateStatus`: the device's latest task.
pub(crate) fn describe_firmware_update_status(
    state: &mut State,
    params: &Value,
    cx: &Context<'_>,
) -> Outcome {
    let (name, device) = device(state, params)?;
    let latest = device
        .tasks
        .last()
        .and_then(|id| state.tasks.get(id))
        .and_then(|task| Some((task, task.devices.get(name)?)));
    match latest {
        Some((task, record)) => {
            let stage = task.device_stage(record, cx.now);
            Ok(object([
                ("OriVersion", json!(record.ori_version)),
                ("DstVersion", json!(task.version)),
                ("Status", json!(stage.status)),
                ("Percent", json!(stage.percent)),
            ]))
        }
        None => Err(ApiError::new(
            "ResourceNotFound.FirmwareTaskNotExist",
            format!("the device {name} has no firmware-update task"),
        )),
    }
}

/// `DescribeDeviceFirmWare`: the firmware the device reports, as JSON text in `Data`.
pub(crate) fn describe_device_firmware(
    state: &mut State,
    params: &Value,
    cx: &Context<'_>,
) -> Outcome {
    let (name, device) = device(state, params)?;
    let data = json!({
        "DeviceLabel": "{}",
        "FwVer": state.current_version(name, device, cx.now),
        "Imei": "",
        "Mac": "",
        "ModuleHardinfo": "",
        "ModuleSoftinfo": "",
    });
    Ok(object([("Data", json!(data.to_string()))]))
}
