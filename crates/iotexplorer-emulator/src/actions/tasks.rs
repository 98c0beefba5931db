//! Creating, watching and cancelling firmware-update tasks.

use std::collections::BTreeMap;

use iotexplorer_model::ApiError;
use serde_json::{Value, json};

use super::params::{filters, int, object, product, text, uint};
use super::{Context, Outcome, Planned, shown};
use crate::change::{Change, Stop};
use crate::state::{State, Task, TaskDevice, TaskOptions, task_status};

/// `TimeoutInterval` when the request gives none, in seconds.
const DEFAULT_TIMEOUT_INTERVAL: u64 = 300;
/// Page size when `Limit` is absent.
const DEFAULT_LIMIT: u64 = 20;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterValue", message)
}

fn task_not_found(id: u64) -> ApiError {
    ApiError::new(
        "ResourceNotFound.FirmwareTaskNotExist",
        format!("the task {id} does not exist"),
    )
}

/// `BatchUpdateFirmware`: a new task for the chosen devices.
pub(crate) fn batch_update_firmware(
    state: &State,
    params: &Value,
    cx: &Context<'_>,
) -> Result<Planned, ApiError> {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion").unwrap_or_default();
    let firmware = product
        .firmware(version, text(params, "FwType"))
        .ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound.FirmwareNotExist",
                format!("the firmware version {} does not exist", shown(version)),
            )
        })?;
    let fw_type = firmware.fw_type.clone();
    let product_id = product.id.clone();

    let names = params
        .get("DeviceNames")
        .and_then(Value::as_array)
        .filter(|names| !names.is_empty());
    let ori_version = text(params, "FirmwareOriVersion");
    let (mode, targets): (&'static str, Vec<String>) = if let Some(names) = names {
        let names: Vec<String> = names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if let Some(missing) = names.iter().find(|n| !product.devices.contains_key(*n)) {
            return Err(invalid(format!(
                "the device {} does not exist",
                shown(missing)
            )));
        }
        ("devicenames", names)
    } else if let Some(file_name) = text(params, "FileName") {
        let list = state
            .device_lists
            .iter()
            .find(|l| l.product_id == product_id && l.file_name == file_name)
            .ok_or_else(|| {
                invalid(format!(
                    "the device-list file {} does not exist",
                    shown(file_name)
                ))
            })?;
        let md5_matches =
            text(params, "FileMd5").is_some_and(|sent| sent.eq_ignore_ascii_case(&list.md5_hex()));
        if !md5_matches || uint(params, "FileSize") != Some(list.size()) {
            return Err(invalid(format!(
                "FileMd5 and FileSize do not match the device-list file {}",
                shown(file_name)
            )));
        }
        let names: Vec<String> = list
            .devices
            .iter()
            .filter(|n| product.devices.contains_key(*n))
            .cloned()
            .collect();
        ("filename", names)
    } else if let Some(ori) = ori_version {
        let names = product
            .devices
            .iter()
            .filter(|(name, device)| state.current_version(name, device, cx.now) == ori)
            .map(|(name, _)| name.clone())
            .collect();
        ("originalVersion", names)
    } else {
        return Err(invalid(
            "choose the devices with DeviceNames, FileName or FirmwareOriVersion",
        ));
    };

    let override_mode = uint(params, "OverrideMode").unwrap_or(0);
    let busy: Vec<&String> = targets
        .iter()
        .filter(|name| {
            product
                .devices
                .get(*name)
                .is_some_and(|device| state.is_updating(name, device, cx.now))
        })
        .collect();
    if !busy.is_empty() && override_mode != 1 {
        return Err(ApiError::new(
            "FailedOperation.DeviceIsUpdating",
            format!(
                "{} device(s) are already updating, e.g. {}; set OverrideMode to 1 to replace their tasks",
                busy.len(),
                busy.first().map_or("".into(), |n| shown(n))
            ),
        ));
    }

    let options = TaskOptions {
        upgrade_mode: mode.to_owned(),
        ori_version: ori_version.unwrap_or_default().to_owned(),
        r#type: int(params, "Type").unwrap_or(1),
        delay_time: int(params, "DelayTime").unwrap_or(0),
        timeout_interval: uint(params, "TimeoutInterval").unwrap_or(DEFAULT_TIMEOUT_INTERVAL),
        upgrade_method: uint(params, "UpgradeMethod").unwrap_or(0),
        max_retry: uint(params, "MaxRetryNum").unwrap_or(0),
        // Tencent counts RetryInterval in minutes.
        retry_interval: uint(params, "RetryInterval")
            .unwrap_or(0)
            .saturating_mul(60),
        override_mode,
        user_define: text(params, "TaskUserDefine")
            .unwrap_or_default()
            .to_owned(),
        rate_limit: int(params, "RateLimit").unwrap_or(0),
        start_time: int(params, "StartTime").unwrap_or(0),
        end_time: int(params, "EndTime").unwrap_or(0),
    };
    let mut devices = BTreeMap::new();
    for name in &targets {
        let Some(device) = product.devices.get(name) else {
            continue;
        };
        let ori_version = state.current_version(name, device, cx.now);
        devices.insert(
            name.clone(),
            TaskDevice {
                already_current: ori_version == version,
                ori_version,
                fate: state.draw_fate(options.max_retry),
                stopped_at: None,
            },
        );
    }

    // Replacing: the older tasks stop for these devices where they are now.
    let mut stops = Vec::new();
    for name in busy {
        let task_ids = product.devices.get(name).map_or(&[][..], |d| &d.tasks[..]);
        for &task_id in task_ids {
            if let Some(task) = state.tasks.get(&task_id)
                && task
                    .devices
                    .get(name)
                    .is_some_and(|r| r.stopped_at.is_none())
            {
                stops.push(Stop {
                    task_id,
                    device: name.clone(),
                    at: task.elapsed_steps(cx.now),
                });
            }
        }
    }

    let id = state.next_task_id;
    let task = Task {
        id,
        product_id,
        version: version.to_owned(),
        fw_type,
        create_time: cx.unix_now,
        started: cx.now,
        started_unix_ms: crate::state::unix_now_ms(),
        step: std::time::Duration::from_millis(state.progress.step_ms),
        seconds_per_step: state.progress.seconds_per_step,
        options,
        cancelled: false,
        devices,
    };
    Ok(Planned {
        change: Change::TaskCreated {
            task: Box::new(task),
            stops,
        },
        members: object([("TaskId", json!(id))]),
    })
}

fn find_task<'a>(state: &'a State, product_id: &str, id: u64) -> Result<&'a Task, ApiError> {
    state
        .tasks
        .get(&id)
        .filter(|task| task.product_id == product_id)
        .ok_or_else(|| task_not_found(id))
}

/// `DescribeFirmwareTask`: one task in full.
pub(crate) fn describe_firmware_task(state: &State, params: &Value, cx: &Context<'_>) -> Outcome {
    let product = product(state, text(params, "ProductID"))?;
    let id = uint(params, "TaskId").unwrap_or_default();
    let task = find_task(state, &product.id, id)?;
    let o = &task.options;
    Ok(object([
        ("TaskId", json!(task.id)),
        ("Status", json!(task.status(cx.now))),
        ("CreateTime", json!(task.create_time)),
        ("Type", json!(o.r#type)),
        ("ProductName", json!(product.name)),
        ("UpgradeMode", json!(o.upgrade_mode)),
        ("ProductId", json!(task.product_id)),
        ("OriginalVersion", json!(o.ori_version)),
        ("CreateUserId", json!(0)),
        ("CreatorNickName", json!("emulator")),
        ("DelayTime", json!(o.delay_time)),
        ("TimeoutInterval", json!(o.timeout_interval)),
        ("UpgradeMethod", json!(o.upgrade_method)),
        ("MaxRetryNum", json!(o.max_retry)),
        ("FwType", json!(task.fw_type)),
        ("RetryInterval", json!(o.retry_interval / 60)),
        ("OverrideMode", json!(o.override_mode)),
        ("TaskUserDefine", json!(o.user_define)),
        ("RateLimit", json!(o.rate_limit)),
        ("EndTime", json!(o.end_time)),
        ("StartTime", json!(o.start_time)),
    ]))
}

fn page<T>(items: Vec<T>, params: &Value) -> Vec<T> {
    let offset = usize::try_from(uint(params, "Offset").unwrap_or(0)).unwrap_or(usize::MAX);
    let limit =
        usize::try_from(uint(params, "Limit").unwrap_or(DEFAULT_LIMIT)).unwrap_or(usize::MAX);
    items.into_iter().skip(offset).take(limit).collect()
}

/// `DescribeFirmwareTasks`: the tasks of one firmware version, newest first.
pub(crate) fn describe_firmware_tasks(state: &State, params: &Value, cx: &Context<'_>) -> Outcome {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion");
    let fw_type = text(params, "FwType");
    let filters = filters(params);
    let matching: Vec<Value> = state
        .tasks
        .values()
        .rev()
        .filter(|t| t.product_id == product.id)
        .filter(|t| version.is_none_or(|v| v == t.version))
        .filter(|t| fw_type.is_none_or(|f| f == t.fw_type))
        .map(|t| (t, t.status(cx.now)))
        .filter(|(t, status)| {
            filters.iter().all(|(key, value)| match key.as_str() {
                "TaskId" => value == &t.id.to_string(),
                "Status" => value == &status.to_string(),
                _ => true,
            })
        })
        .map(|(t, status)| {
            json!({
                "TaskId": t.id,
                "Status": status,
                "Type": t.options.r#type,
                "CreateTime": t.create_time,
                "CreatorNickName": "emulator",
                "CreateUserId": 0,
                "CronTime": t.options.start_time,
                "FwType": t.fw_type,
            })
        })
        .collect();
    let total = matching.len();
    Ok(object([
        ("TaskInfos", Value::Array(page(matching, params))),
        ("Total", json!(total)),
    ]))
}

/// `DescribeFirmwareTaskDevices`: every device of the version's tasks and where it is.
pub(crate) fn describe_firmware_task_devices(
    state: &State,
    params: &Value,
    cx: &Context<'_>,
) -> Outcome {
    let product = product(state, text(params, "ProductID"))?;
    let version = text(params, "FirmwareVersion");
    let fw_type = text(params, "FwType");
    let filters = filters(params);
    let mut rows = Vec::new();
    for task in state.tasks.values().rev() {
        if task.product_id != product.id
            || version.is_some_and(|v| v != task.version)
            || fw_type.is_some_and(|f| f != task.fw_type)
        {
            continue;
        }
        for (name, record) in &task.devices {
            let stage = task.device_stage(record, cx.now);
            let keep = filters.iter().all(|(key, value)| match key.as_str() {
                "TaskId" => value == &task.id.to_string(),
                "DeviceName" => value == name,
                "Status" => value == &stage.status.to_string(),
                _ => true,
            });
            if keep {
                rows.push(json!({
                    "DeviceName": name,
                    "LastProcessTime": task.unix_time_of(&stage),
                    "Status": stage.status,
                    "ErrMsg": stage.err_msg,
                    "Retcode": 0,
                    "DstVersion": task.version,
                    "Percent": stage.percent,
                    "OriVersion": record.ori_version,
                    "TaskId": task.id,
                    "FwType": task.fw_type,
                    "RetryNum": stage.retry_num,
                }));
            }
        }
    }
    let total = rows.len();
    Ok(object([
        ("Total", json!(total)),
        ("Devices", Value::Array(page(rows, params))),
    ]))
}

/// `UpdateOtaTaskStatus`: status 6 cancels the task for devices not yet done.
pub(crate) fn update_ota_task_status(
    state: &State,
    params: &Value,
    cx: &Context<'_>,
) -> Result<Planned, ApiError> {
    let product_id = &product(state, text(params, "ProductId"))?.id;
    let id = uint(params, "TaskId").unwrap_or_default();
    let task = find_task(state, product_id, id)?;
    let wanted = int(params, "Status").unwrap_or_default();
    if wanted != task_status::CANCELLED {
        return Err(invalid(format!(
            "Status {wanted} is not supported; 6 cancels the task"
        )));
    }
    Ok(Planned {
        change: Change::TaskCancelled {
            task_id: id,
            at: task.elapsed_steps(cx.now),
        },
        members: object([]),
    })
}
