//! What one device runs and how its latest update goes.

use iotexplorer_model::{
    Action, ApiError, DescribeDeviceFirmWareRequest, DescribeDeviceFirmWareResponse,
    DescribeFirmwareUpdateStatusRequest, DescribeFirmwareUpdateStatusResponse, DeviceInfo,
    DeviceOnlineStatus, ErrorCode, GetDeviceListRequest, GetDeviceListResponse,
};
use serde::Serialize;

use super::lookup::{page, page_size, product};
use super::{Context, Reads, shown};
use crate::state::{Device, State};

fn device<'a, A: Action>(
    state: &'a State,
    cx: &Context<'_>,
    product_id: Option<&str>,
    name: Option<&str>,
) -> Result<(&'a str, &'a Device), ApiError> {
    let product = product::<A>(state, cx, product_id)?;
    let name = name.unwrap_or_default();
    product
        .devices
        .get_key_value(name)
        .map(|(name, device)| (name.as_str(), device))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ResourceNotFoundDeviceNotExist,
                format!("the device {} does not exist", shown(name)),
            )
        })
}

/// `DescribeFirmwareUpdateStatus`: the device's latest task.
impl Reads for DescribeFirmwareUpdateStatusRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeFirmwareUpdateStatusResponse, ApiError> {
        let (name, device) =
            device::<Self>(state, cx, request.product_id(), request.device_name())?;
        let latest = device
            .tasks
            .last()
            .and_then(|id| state.tasks.get(id))
            .and_then(|task| Some((task, task.devices.get(name)?)));
        let Some((task, record)) = latest else {
            return Err(ApiError::new(
                ErrorCode::ResourceNotFoundFirmwareTaskNotExist,
                format!("the device {} has no firmware-update task", shown(name)),
            ));
        };
        let stage = task.device_stage(record, cx.now);
        let mut response = DescribeFirmwareUpdateStatusResponse::default();
        response.ori_version = Some(record.ori_version.clone());
        response.dst_version = Some(task.version.clone());
        response.status = Some(stage.status);
        response.percent = Some(stage.percent);
        Ok(response)
    }
}

/// What a device reports of its firmware, as `DescribeDeviceFirmWare` answers it in the
/// JSON text of `Data`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReportedFirmware<'a> {
    device_label: &'a str,
    fw_ver: &'a str,
    imei: &'a str,
    mac: &'a str,
    module_hardinfo: &'a str,
    module_softinfo: &'a str,
}

/// `DescribeDeviceFirmWare`: the firmware the device reports, as JSON text in `Data`.
impl Reads for DescribeDeviceFirmWareRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeDeviceFirmWareResponse, ApiError> {
        let (name, device) =
            device::<Self>(state, cx, request.product_id(), request.device_name())?;
        let version = state.current_version(name, device, cx.now);
        let data = serde_json::to_string(&ReportedFirmware {
            device_label: "{}",
            fw_ver: &version,
            imei: "",
            mac: "",
            module_hardinfo: "",
            module_softinfo: "",
        })
        .map_err(|error| {
            ApiError::new(
                ErrorCode::InternalError,
                format!("the device's firmware could not be written: {error}"),
            )
        })?;
        let mut response = DescribeDeviceFirmWareResponse::default();
        response.data = Some(data);
        Ok(response)
    }
}

/// `GetDeviceList`: the product's devices by name, with the firmware each runs now;
/// `FirmwareVersion` keeps those on that version, `DeviceName` those whose name contains it.
impl Reads for GetDeviceListRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<GetDeviceListResponse, ApiError> {
        let product = product::<Self>(state, cx, request.product_id())?;
        let version = request.firmware_version();
        let name_part = request.device_name();
        let rows: Vec<DeviceInfo> = product
            .devices
            .iter()
            .filter(|(name, _)| name_part.is_none_or(|part| name.contains(part)))
            .map(|(name, device)| (name, device, state.current_version(name, device, cx.now)))
            .filter(|(_, _, current)| version.is_none_or(|v| v == current))
            .map(|(name, device, current)| {
                let mut row = DeviceInfo::default();
                row.device_name = Some(name.clone());
                // A device is connected unless its latest task says it is offline.
                row.status = Some(if state.is_offline(name, device, cx.now) {
                    DeviceOnlineStatus::Offline
                } else {
                    DeviceOnlineStatus::Online
                });
                row.version = Some(current);
                row.create_time = Some(0);
                row.first_online_time = Some(0);
                row.login_time = Some(0);
                row.log_level = Some(0);
                row
            })
            .collect();
        let total = rows.len();
        // A negative offset or limit reads as absent.
        let offset = request
            .offset()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let limit = request.limit().and_then(|n| u64::try_from(n).ok());
        let limit = page_size(Self::meta(), limit);
        let mut response = GetDeviceListResponse::default();
        response.devices = Some(page(rows, offset, limit));
        response.total = Some(i64::try_from(total).unwrap_or(i64::MAX));
        Ok(response)
    }
}
