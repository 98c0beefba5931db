//! What one device runs and how its latest update goes.

use iotexplorer_model::ApiError;
use serde_json::{Value, json};

use super::params::{object, product, text, uint};
use super::{Context, Outcome, shown};
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
                format!("the device {} does not exist", shown(name)),
            )
        })
}

/// `DescribeFirmwareUpdateStatus`: the device's latest task.
pub(crate) fn describe_firmware_update_status(
    state: &State,
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
            format!("the device {} has no firmware-update task", shown(name)),
        )),
    }
}

/// `DescribeDeviceFirmWare`: the firmware the device reports, as JSON text in `Data`.
pub(crate) fn describe_device_firmware(state: &State, params: &Value, cx: &Context<'_>) -> Outcome {
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

/// Page size of `GetDeviceList` when `Limit` is absent.
const DEVICE_LIST_DEFAULT_LIMIT: u64 = 10;

/// `GetDeviceList`: the product's devices by name, with the firmware each runs now;
/// `FirmwareVersion` keeps those on that version, `DeviceName` those whose name contains it.
pub(crate) fn get_device_list(state: &State, params: &Value, cx: &Context<'_>) -> Outcome {
    let product = product(state, text(params, "ProductId"))?;
    let version = text(params, "FirmwareVersion");
    let name_part = text(params, "DeviceName");
    let rows: Vec<Value> = product
        .devices
        .iter()
        .filter(|(name, _)| name_part.is_none_or(|part| name.contains(part)))
        .map(|(name, device)| (name, state.current_version(name, device, cx.now)))
        .filter(|(_, current)| version.is_none_or(|v| v == current))
        .map(|(name, current)| {
            json!({
                "DeviceName": name,
                "Status": 1,
                "Version": current,
                "CreateTime": 0,
                "FirstOnlineTime": 0,
                "LoginTime": 0,
                "LogLevel": 0,
            })
        })
        .collect();
    let total = rows.len();
    let offset = usize::try_from(uint(params, "Offset").unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(uint(params, "Limit").unwrap_or(DEVICE_LIST_DEFAULT_LIMIT))
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    Ok(object([
        ("Devices", Value::Array(page)),
        ("Total", json!(total)),
    ]))
}
