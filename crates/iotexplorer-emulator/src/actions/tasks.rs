//! Creating, watching and cancelling firmware-update tasks.

use std::collections::BTreeSet;

use iotexplorer_model::{
    Action, ApiError, BatchUpdateFirmwareRequest, BatchUpdateFirmwareResponse,
    DescribeFirmwareTaskDevicesRequest, DescribeFirmwareTaskDevicesResponse,
    DescribeFirmwareTaskRequest, DescribeFirmwareTaskResponse, DescribeFirmwareTasksRequest,
    DescribeFirmwareTasksResponse, DeviceUpdateStatus, ErrorCode, FirmwareTaskInfo,
    FirmwareTaskStatus, FirmwareTaskType, FirmwareUpdateStatus, OverrideMode, SearchKeyword,
    UpdateOtaTaskStatusRequest, UpdateOtaTaskStatusResponse, UpgradeMethod, UpgradeMode,
};

use super::firmware::CREATOR_NICK_NAME;
use super::lookup::{firmware, keywords_hold, page, page_size, product};
use super::{Changes, Context, Planned, Reads, shown};
use crate::change::{Change, Stop};
use crate::device_clock::{draw_fate, modelled_retries};
use crate::schedule::{Requested, Schedule};
use crate::state::{State, Task, TaskDevice, TaskOptions};
use crate::task_devices::TaskDevices;

/// `TimeoutInterval` when the request gives none, in seconds.
const DEFAULT_TIMEOUT_INTERVAL: u64 = 300;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

fn task_not_found(id: u64) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFoundFirmwareTaskNotExist,
        format!("the task {id} does not exist"),
    )
}

/// `BatchUpdateFirmware`: a new task for the chosen devices.
impl Changes for BatchUpdateFirmwareRequest {
    fn plan(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<Planned<BatchUpdateFirmwareResponse>, ApiError> {
        let (product, firmware) = firmware::<Self>(
            state,
            cx,
            request.product_id(),
            request.firmware_version(),
            request.fw_type(),
        )?;
        let version = firmware.version.as_str();
        // The timing members are checked before the devices are chosen: a request that
        // cannot be honoured is refused whatever the devices are doing.
        let timing = Requested {
            delay_time: request.delay_time().unwrap_or(0),
            start_time: request.start_time().unwrap_or(0),
            end_time: request.end_time().unwrap_or(0),
            rate_limit: request.rate_limit().unwrap_or(0),
        };
        let schedule = Schedule::plan(timing, cx.unix_now, state.progress.seconds_per_step)
            .map_err(invalid)?;

        let names = request.device_names().filter(|names| !names.is_empty());
        let ori_version = request.firmware_ori_version();
        let (mode, targets) = if let Some(names) = names {
            if let Some(missing) = names.iter().find(|n| !product.devices.contains_key(*n)) {
                return Err(invalid(format!(
                    "the device {} does not exist",
                    shown(missing)
                )));
            }
            (
                UpgradeMode::DeviceNames,
                names.iter().collect::<Vec<&String>>(),
            )
        } else if let Some(file_name) = request.file_name() {
            let list = state
                .device_lists
                .iter()
                .find(|l| l.product_id == product.id && l.file_name == file_name)
                .ok_or_else(|| {
                    invalid(format!(
                        "the device-list file {} does not exist",
                        shown(file_name)
                    ))
                })?;
            let md5_matches = request
                .file_md5()
                .is_some_and(|sent| sent.eq_ignore_ascii_case(&list.md5_hex()));
            if !md5_matches || request.file_size() != Some(list.size()) {
                return Err(invalid(format!(
                    "FileMd5 and FileSize do not match the device-list file {}",
                    shown(file_name)
                )));
            }
            // A name listed twice in the file is one device with one turn; `DeviceNames`
            // cannot repeat one (the model's checks refuse it) and a product's devices
            // are named once.
            let mut listed = BTreeSet::new();
            let names: Vec<&String> = list
                .devices
                .iter()
                .filter(|n| product.devices.contains_key(*n) && listed.insert(n.as_str()))
                .collect();
            (UpgradeMode::FileName, names)
        } else if let Some(ori) = ori_version {
            let names = product
                .devices
                .iter()
                .filter(|(name, device)| state.current_version(name, device, cx.now) == ori)
                .map(|(name, _)| name)
                .collect();
            (UpgradeMode::OriginalVersion, names)
        } else {
            return Err(invalid(
                "choose the devices with DeviceNames, FileName or FirmwareOriVersion",
            ));
        };

        let override_mode = request
            .override_mode()
            .unwrap_or(OverrideMode::KeepExisting);
        let busy: Vec<&String> = targets
            .iter()
            .copied()
            .filter(|name| {
                product
                    .devices
                    .get(*name)
                    .is_some_and(|device| state.is_updating(name, device, cx.now))
            })
            .collect();
        if !busy.is_empty() && override_mode != OverrideMode::Override {
            return Err(ApiError::new(
                ErrorCode::FailedOperationDeviceIsUpdating,
                format!(
                    "{} device(s) are already updating, e.g. {}; set OverrideMode to {} to replace their tasks",
                    busy.len(),
                    busy.first().map_or("".into(), |n| shown(n)),
                    OverrideMode::Override
                ),
            ));
        }

        let options = TaskOptions {
            upgrade_mode: mode,
            ori_version: ori_version.unwrap_or_default().to_owned(),
            r#type: request.r#type().unwrap_or(FirmwareTaskType::Static),
            delay_time: timing.delay_time,
            timeout_interval: request
                .timeout_interval()
                .unwrap_or(DEFAULT_TIMEOUT_INTERVAL),
            upgrade_method: request.upgrade_method().unwrap_or(UpgradeMethod::Silent),
            max_retry: request.max_retry_num().unwrap_or(0),
            // Tencent counts RetryInterval in minutes.
            retry_interval: request.retry_interval().unwrap_or(0).saturating_mul(60),
            override_mode,
            user_define: request.task_user_define().unwrap_or_default().to_owned(),
            rate_limit: timing.rate_limit,
            start_time: timing.start_time,
            end_time: timing.end_time,
        };
        let mut chosen = Vec::with_capacity(targets.len());
        // The devices are sent the update in the order they were chosen; one that already
        // runs the version fails at once and takes no place under RateLimit.
        let mut rank = 0;
        for &name in &targets {
            let Some(device) = product.devices.get(name) else {
                continue;
            };
            let ori_version = state.current_version(name, device, cx.now);
            let already_current = ori_version == version;
            let dispatch_rank = rank;
            if !already_current {
                rank += 1;
            }
            chosen.push((
                name.clone(),
                TaskDevice {
                    already_current,
                    ori_version,
                    fate: draw_fate(
                        &state.progress,
                        cx.fates,
                        modelled_retries(options.max_retry),
                        options.upgrade_method,
                        device.offline,
                    ),
                    stopped_at: None,
                    dispatch_rank,
                },
            ));
        }
        let devices = TaskDevices::from_chosen(chosen);

        // Replacing: the older task still under way stops for these devices where they are
        // now. Only a device's last task can be under way: a task starts only once the
        // older ones ended or stopped.
        let mut stops = Vec::new();
        for name in busy {
            let last = product.devices.get(name).and_then(|d| d.tasks.last());
            if let Some(&task_id) = last
                && let Some(task) = state.tasks.get(&task_id)
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

        let id = state.next_task_id;
        let task = Task {
            id,
            product_id: product.id.clone(),
            version: version.to_owned(),
            fw_type: firmware.fw_type.clone(),
            create_time: cx.unix_now,
            started: cx.now,
            started_unix_ms: crate::state::unix_now_ms(),
            step: std::time::Duration::from_millis(state.progress.step_ms),
            seconds_per_step: state.progress.seconds_per_step,
            options,
            cancelled: false,
            devices,
            schedule,
            ends: crate::state::Ends::default(),
        };
        let mut response = BatchUpdateFirmwareResponse::default();
        response.task_id = Some(id);
        Ok(Planned {
            change: Change::TaskCreated {
                task: Box::new(task),
                stops,
            },
            response,
        })
    }
}

fn find_task<'a>(state: &'a State, product_id: &str, id: u64) -> Result<&'a Task, ApiError> {
    state
        .tasks
        .get(&id)
        .map(Box::as_ref)
        .filter(|task| task.product_id == product_id)
        .ok_or_else(|| task_not_found(id))
}

/// `DescribeFirmwareTask`: one task in full.
impl Reads for DescribeFirmwareTaskRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeFirmwareTaskResponse, ApiError> {
        let product = product::<Self>(state, cx, request.product_id())?;
        let id = request.task_id().unwrap_or_default();
        // The request names the task's firmware version too: a task of another version of
        // the product is not the one asked for.
        let task = find_task(state, &product.id, id)?;
        if request.firmware_version() != Some(task.version.as_str()) {
            return Err(task_not_found(id));
        }
        let o = &task.options;
        let mut response = DescribeFirmwareTaskResponse::default();
        response.task_id = Some(task.id);
        response.status = Some(task.status(cx.now));
        response.create_time = Some(task.create_time);
        response.r#type = Some(o.r#type);
        response.product_name = Some(product.name.clone());
        response.upgrade_mode = Some(o.upgrade_mode.clone());
        response.product_id = Some(task.product_id.clone());
        response.original_version = Some(o.ori_version.clone());
        response.create_user_id = Some(0);
        response.creator_nick_name = Some(CREATOR_NICK_NAME.to_owned());
        // Validation refused a negative DelayTime.
        response.delay_time = Some(u64::try_from(o.delay_time).unwrap_or(0));
        response.timeout_interval = Some(o.timeout_interval);
        response.upgrade_method = Some(o.upgrade_method);
        response.max_retry_num = Some(o.max_retry);
        response.fw_type = Some(task.fw_type.clone());
        response.retry_interval = Some(o.retry_interval / 60);
        response.override_mode = Some(o.override_mode);
        response.task_user_define = Some(o.user_define.clone());
        response.rate_limit = Some(o.rate_limit);
        response.end_time = Some(o.end_time);
        response.start_time = Some(o.start_time);
        Ok(response)
    }
}

/// The tasks a listing of `DescribeFirmwareTasks` or `DescribeFirmwareTaskDevices` covers,
/// newest first: those of the product, and of the version and module when given; only the
/// one named when `keywords` hold a `TaskId`, found by its ID rather than among all.
fn listed_tasks<'a, A: Action>(
    state: &'a State,
    cx: &Context<'_>,
    product_id: Option<&str>,
    version: Option<&'a str>,
    fw_type: Option<&'a str>,
    keywords: Option<&[SearchKeyword]>,
) -> Result<Box<dyn Iterator<Item = &'a Task> + 'a>, ApiError> {
    let product = product::<A>(state, cx, product_id)?;
    let product_id = product.id.as_str();
    let fits = move |t: &&'a Task| {
        t.product_id == product_id
            && version.is_none_or(|v| v == t.version)
            && fw_type.is_none_or(|f| f == t.fw_type)
    };
    let named = keywords.unwrap_or_default().iter().find_map(|keyword| {
        (keyword.key.as_deref() == Some("TaskId"))
            .then_some(keyword.value.as_deref())
            .flatten()
    });
    if let Some(named) = named {
        // The filter compares the ID's text, so "007" names no task, as before.
        let task = named
            .parse::<u64>()
            .ok()
            .filter(|id| id.to_string() == named)
            .and_then(|id| state.tasks.get(&id))
            .map(Box::as_ref)
            .filter(fits);
        return Ok(Box::new(task.into_iter()));
    }
    let ids = state.listings.ids(product_id, version);
    Ok(Box::new(
        ids.iter()
            .rev()
            .filter_map(|id| state.tasks.get(id).map(Box::as_ref))
            .filter(fits),
    ))
}

/// `Filters` of the task listings: `TaskId` and `Status` of the task, `DeviceName` of the
/// device row when there is one.
fn task_keywords_hold(
    keywords: Option<&[SearchKeyword]>,
    task: &Task,
    status: i64,
    device: Option<&str>,
) -> bool {
    keywords_hold(keywords, |key, value| match (key, device) {
        ("TaskId", _) => Some(value == task.id.to_string()),
        ("Status", _) => Some(value == status.to_string()),
        ("DeviceName", Some(name)) => Some(value == name),
        _ => None,
    })
}

/// `DescribeFirmwareTasks`: the tasks of one firmware version, newest first.
impl Reads for DescribeFirmwareTasksRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeFirmwareTasksResponse, ApiError> {
        let matching: Vec<FirmwareTaskInfo> = listed_tasks::<Self>(
            state,
            cx,
            request.product_id(),
            request.firmware_version(),
            request.fw_type(),
            request.filters(),
        )?
        .map(|t| (t, t.status(cx.now)))
        .filter(|(t, status)| task_keywords_hold(request.filters(), t, status.code(), None))
        .map(|(t, status)| {
            let mut info = FirmwareTaskInfo::default();
            info.task_id = Some(t.id);
            info.status = Some(status);
            info.r#type = Some(t.options.r#type);
            info.create_time = Some(t.create_time);
            info.creator_nick_name = Some(CREATOR_NICK_NAME.to_owned());
            info.create_user_id = Some(0);
            info.cron_time = Some(t.options.start_time);
            info.fw_type = Some(t.fw_type.clone());
            info
        })
        .collect();
        let total = matching.len() as u64;
        let mut response = DescribeFirmwareTasksResponse::default();
        response.task_infos = Some(page(
            matching,
            request.offset().unwrap_or(0),
            page_size(Self::meta(), request.limit()),
        ));
        response.total = Some(total);
        Ok(response)
    }
}

/// `DescribeFirmwareTaskDevices`: every device of the version's tasks and where it is.
impl Reads for DescribeFirmwareTaskDevicesRequest {
    fn read(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<DescribeFirmwareTaskDevicesResponse, ApiError> {
        let mut rows = Vec::new();
        let tasks = listed_tasks::<Self>(
            state,
            cx,
            request.product_id(),
            request.firmware_version(),
            request.fw_type(),
            request.filters(),
        )?;
        for task in tasks {
            for (name, record) in &task.devices {
                let stage = task.device_stage(record, cx.now);
                let status = stage.status.code();
                if !task_keywords_hold(request.filters(), task, status, Some(name)) {
                    continue;
                }
                let mut row = DeviceUpdateStatus::default();
                row.device_name = Some(name.clone());
                row.last_process_time = Some(u64::try_from(task.unix_time_of(&stage)).unwrap_or(0));
                row.status = Some(stage.status);
                row.err_msg = Some(stage.err_msg.to_owned());
                row.retcode = Some(0);
                row.dst_version = Some(task.version.clone());
                row.percent = Some(u64::try_from(stage.percent).unwrap_or(0));
                row.ori_version = Some(record.ori_version.clone());
                row.task_id = Some(task.id);
                row.fw_type = Some(task.fw_type.clone());
                row.retry_num = Some(stage.retry_num);
                rows.push(row);
            }
        }
        let total = rows.len() as u64;
        let mut response = DescribeFirmwareTaskDevicesResponse::default();
        response.total = Some(total);
        response.devices = Some(page(
            rows,
            request.offset().unwrap_or(0),
            page_size(Self::meta(), request.limit()),
        ));
        Ok(response)
    }
}

/// `UpdateOtaTaskStatus`: the cancel status cancels the task for devices not yet done.
impl Changes for UpdateOtaTaskStatusRequest {
    fn plan(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<Planned<UpdateOtaTaskStatusResponse>, ApiError> {
        let product_id = &product::<Self>(state, cx, request.product_id())?.id;
        // A negative TaskId names no task, like 0.
        let id = request
            .task_id()
            .and_then(|id| u64::try_from(id).ok())
            .unwrap_or_default();
        let task = find_task(state, product_id, id)?;
        // Validation requires a Status; only a cancel is supported.
        match request.status() {
            Some(FirmwareTaskStatus::Cancelled) => {}
            wanted => {
                let wanted = wanted.map_or_else(|| "(none)".to_owned(), |s| s.to_string());
                return Err(invalid(format!(
                    "Status {wanted} is not supported; {} cancels the task",
                    FirmwareTaskStatus::Cancelled
                )));
            }
        }
        // Tencent cancels a task "not in the all-succeeded state": one whose every device
        // updated has nothing left to cancel, and stays as it ended.
        let all_done = task.devices.values().next().is_some()
            && task.devices.values().all(|record| {
                task.device_stage(record, cx.now).status == FirmwareUpdateStatus::Done
            });
        if all_done {
            return Err(invalid(format!(
                "the task {id} updated every device; only a task not all done can be cancelled"
            )));
        }
        Ok(Planned {
            change: Change::TaskCancelled {
                task_id: id,
                at: task.elapsed_steps(cx.now),
            },
            response: UpdateOtaTaskStatusResponse::default(),
        })
    }
}
