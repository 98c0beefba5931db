//! What a rollout is asked to do, as recorded in the journal's first record.

use iotexplorer_model::{
    BatchUpdateFirmwareRequest, FirmwareTaskType, OverrideMode, UpgradeMethod, ValidationErrors,
};
use serde::{Deserialize, Serialize};

use crate::plan::{Plan, PlanError, WaveSpec};

/// Members of `BatchUpdateFirmware` the rollout sets itself, so they cannot be task options.
pub const RESERVED_MEMBERS: &[&str] = &[
    "ProductID",
    "FirmwareVersion",
    "FwType",
    "DeviceNames",
    "TaskUserDefine",
    "FileName",
    "FileMd5",
    "FileSize",
    "FirmwareOriVersion",
];

/// The options and the plan of one rollout. Everything `rollout resume` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RolloutSpec {
    /// The product.
    pub product_id: String,
    /// The target firmware version.
    pub firmware_version: String,
    /// The firmware module, e.g. `mcu`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fw_type: Option<String>,
    /// Further members of every `BatchUpdateFirmware` call (`UpgradeMethod`, `TimeoutInterval`, …).
    #[serde(default)]
    pub task_options: TaskOptions,
    /// The waves as asked (the plan holds the result).
    pub waves: Vec<WaveSpec>,
    /// Devices per call.
    pub batch_size: usize,
    /// Largest tolerated share of failed devices in a wave, in `[0, 1]`.
    pub max_failure_rate: f64,
    /// Seconds a gate waits for a wave to settle.
    pub wave_timeout_secs: u64,
    /// Cancel the aborted wave's unfinished tasks.
    pub cancel_on_abort: bool,
    /// Stop after each wave until resumed.
    pub pause_after_wave: bool,
    /// Waves and batches.
    pub plan: Plan,
}

/// The share of failed devices a wave may have, unless set otherwise.
pub const DEFAULT_MAX_FAILURE_RATE: f64 = 0.05;

/// Seconds a gate waits for a wave to settle, unless set otherwise.
pub const DEFAULT_WAVE_TIMEOUT_SECS: u64 = 3600;

impl RolloutSpec {
    /// The rollout of `firmware_version` of `product_id` to `devices`, in `waves` of calls
    /// of `batch_size` devices each; fails when they cannot be planned. The other options
    /// start as the defaults (no module, no task options,
    /// [`DEFAULT_MAX_FAILURE_RATE`], [`DEFAULT_WAVE_TIMEOUT_SECS`], no cancelling, no
    /// pauses) and may be set on the result.
    pub fn new(
        product_id: impl Into<String>,
        firmware_version: impl Into<String>,
        devices: &[String],
        waves: Vec<WaveSpec>,
        batch_size: usize,
    ) -> Result<Self, PlanError> {
        let plan = Plan::build(devices, &waves, batch_size)?;
        Ok(Self {
            product_id: product_id.into(),
            firmware_version: firmware_version.into(),
            fw_type: None,
            task_options: TaskOptions::default(),
            waves,
            batch_size,
            max_failure_rate: DEFAULT_MAX_FAILURE_RATE,
            wave_timeout_secs: DEFAULT_WAVE_TIMEOUT_SECS,
            cancel_on_abort: false,
            pause_after_wave: false,
            plan,
        })
    }

    /// The `BatchUpdateFirmware` request for `devices`, carrying `marker`: the task
    /// options, then the members the rollout sets itself. Building it checks every
    /// documented rule, so a request that would be refused is never sent.
    pub fn batch_request(
        &self,
        devices: &[String],
        marker: &str,
    ) -> Result<BatchUpdateFirmwareRequest, RequestError> {
        let options = &self.task_options;
        BatchUpdateFirmwareRequest::builder()
            .set_upgrade_method(options.upgrade_method)
            .set_timeout_interval(options.timeout_interval)
            .set_type(options.r#type)
            .set_delay_time(options.delay_time)
            .set_override_mode(options.override_mode)
            .set_max_retry_num(options.max_retry_num)
            .set_retry_interval(options.retry_interval)
            .set_rate_limit(options.rate_limit)
            .set_end_time(options.end_time)
            .set_start_time(options.start_time)
            .product_id(self.product_id.as_str())
            .firmware_version(self.firmware_version.as_str())
            .set_fw_type(self.fw_type.clone())
            .set_device_names(Some(devices.to_vec()))
            .task_user_define(marker)
            .build()
            .map_err(RequestError::Invalid)
    }
}

/// The members of `BatchUpdateFirmware` a rollout passes on to every call as they were
/// given: all but [`RESERVED_MEMBERS`], each of its member's type in the model. The
/// journal keeps them by their wire names; one this version does not know is refused when
/// the journal is read rather than dropped, since the rollout could not honour it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TaskOptions {
    /// `UpgradeMethod`: silently, or once the device's user confirms.
    #[serde(
        rename = "UpgradeMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub upgrade_method: Option<UpgradeMethod>,
    /// `TimeoutInterval`, in seconds.
    #[serde(
        rename = "TimeoutInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_interval: Option<u64>,
    /// `Type`: a static or a dynamic task.
    #[serde(rename = "Type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<FirmwareTaskType>,
    /// `DelayTime`, in seconds.
    #[serde(rename = "DelayTime", default, skip_serializing_if = "Option::is_none")]
    pub delay_time: Option<i64>,
    /// `OverrideMode`: whether a device's task under way is replaced.
    #[serde(
        rename = "OverrideMode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub override_mode: Option<OverrideMode>,
    /// `MaxRetryNum`.
    #[serde(
        rename = "MaxRetryNum",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_retry_num: Option<u64>,
    /// `RetryInterval`, in minutes.
    #[serde(
        rename = "RetryInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub retry_interval: Option<u64>,
    /// `RateLimit`: devices sent the update per minute.
    #[serde(rename = "RateLimit", default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<i64>,
    /// `EndTime`, in Unix seconds.
    #[serde(rename = "EndTime", default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// `StartTime`, in Unix seconds.
    #[serde(rename = "StartTime", default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
}

/// Why a batch's `BatchUpdateFirmware` request could not be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request breaks a documented rule.
    #[error("BatchUpdateFirmware: invalid request: {0}")]
    Invalid(ValidationErrors),
}

/// The idempotency marker of one batch, sent as `TaskUserDefine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Marker {
    /// The rollout's identity.
    pub rollout: String,
    /// The batch, `<wave>-<n>`.
    pub batch: String,
}

impl Marker {
    /// As JSON text, e.g. `{"rollout":"r1","batch":"1-1"}`.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a `TaskUserDefine` back; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use iotexplorer_model::Action;
    use serde_json::{Map, Value};

    use super::*;
    use crate::plan::{Plan, parse_waves};

    fn spec(task_options: TaskOptions) -> RolloutSpec {
        let devices = ["d1".to_owned(), "d2".to_owned()];
        let waves = parse_waves("100%").unwrap();
        RolloutSpec {
            product_id: "P1".to_owned(),
            firmware_version: "2.0.0".to_owned(),
            fw_type: Some("mcu".to_owned()),
            task_options,
            plan: Plan::build(&devices, &waves, 2).unwrap(),
            waves,
            batch_size: 2,
            max_failure_rate: 0.0,
            wave_timeout_secs: 1,
            cancel_on_abort: false,
            pause_after_wave: false,
        }
    }

    /// Every member of the catalogue's `BatchUpdateFirmware` that is not reserved, set.
    fn every_option() -> Map<String, Value> {
        let mut options = Map::new();
        for member in BatchUpdateFirmwareRequest::meta().input {
            if !RESERVED_MEMBERS.contains(&member.name) {
                // A value of its own for each, so that two members of one type swapped
                // on the way to the request show; each within the member's rules.
                let value = match member.name {
                    "TimeoutInterval" => 120,
                    "MaxRetryNum" => 2,
                    "RetryInterval" => 3,
                    "DelayTime" => 4,
                    "RateLimit" => 5,
                    "StartTime" => 6,
                    // Later than StartTime.
                    "EndTime" => 7,
                    _ => 1,
                };
                options.insert(member.name.to_owned(), Value::from(value));
            }
        }
        options
    }

    #[test]
    fn every_task_option_of_the_catalogue_reaches_the_request() {
        // Every member the CLI offers as a task option is one of the options, by its wire
        // name, and is sent: one added to the spec cannot be accepted on the command line
        // and then dropped.
        let options = every_option();
        assert!(options.len() >= 10, "{options:?}");
        let typed: TaskOptions = serde_json::from_value(Value::Object(options.clone())).unwrap();
        assert_eq!(
            serde_json::to_value(&typed).unwrap(),
            Value::Object(options.clone())
        );
        let request = spec(typed)
            .batch_request(&["d1".to_owned()], "{\"rollout\":\"r\",\"batch\":\"1-1\"}")
            .unwrap();
        let Value::Object(sent) = serde_json::to_value(&request).unwrap() else {
            panic!("not an object");
        };
        for (name, value) in &options {
            assert_eq!(sent.get(name), Some(value), "{name}");
        }
        // The members the rollout sets, by their wire names.
        assert_eq!(sent["ProductID"], "P1");
        assert_eq!(sent["FirmwareVersion"], "2.0.0");
        assert_eq!(sent["FwType"], "mcu");
        assert_eq!(sent["DeviceNames"], serde_json::json!(["d1"]));
        assert_eq!(sent.len(), options.len() + 5);
    }

    #[test]
    fn task_options_are_kept_in_the_journal_as_before() {
        // The text a journal's start record has always held for its task options: the
        // wire names and values of the members given, nothing for the others.
        let written = r#"{"UpgradeMethod":1,"TimeoutInterval":300,"OverrideMode":1}"#;
        let read: TaskOptions = serde_json::from_str(written).unwrap();
        assert_eq!(read.upgrade_method, Some(UpgradeMethod::from_code(1)));
        assert_eq!(read.timeout_interval, Some(300));
        assert_eq!(read.override_mode, Some(OverrideMode::Override));
        assert_eq!(serde_json::to_string(&read).unwrap(), written);
        assert_eq!(
            serde_json::to_string(&TaskOptions::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn a_task_option_this_version_does_not_know_is_refused_not_dropped() {
        // A journal naming a member the rollout cannot send is not resumed as if it did not.
        for member in RESERVED_MEMBERS.iter().chain(&["Unheard"]) {
            let mut options = Map::new();
            options.insert((*member).to_owned(), Value::from(1));
            let read = serde_json::from_value::<TaskOptions>(Value::Object(options));
            assert!(read.is_err(), "{member}");
        }
    }

    #[test]
    fn an_option_breaking_a_rule_builds_no_request() {
        let options = TaskOptions {
            upgrade_method: Some(UpgradeMethod::from_code(2)),
            ..TaskOptions::default()
        };
        assert!(matches!(
            spec(options).batch_request(&["d1".to_owned()], "{}"),
            Err(RequestError::Invalid(_))
        ));
    }
}
