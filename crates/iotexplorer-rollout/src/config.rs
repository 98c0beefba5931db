//! What a rollout is asked to do, as recorded in the journal's first record.

use iotexplorer_model::{BatchUpdateFirmwareRequest, ValidationErrors, from_value_lenient};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::plan::{Plan, WaveSpec};

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
    pub task_options: Map<String, Value>,
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

impl RolloutSpec {
    /// The `BatchUpdateFirmware` request for `devices`, carrying `marker`: the task
    /// options, then the members the rollout sets itself. Building it checks every
    /// documented rule, so a request that would be refused is never sent.
    pub fn batch_request(
        &self,
        devices: &[String],
        marker: &str,
    ) -> Result<BatchUpdateFirmwareRequest, RequestError> {
        // The options are read into the request type itself, by their wire names, so
        // that each keeps the model's type and rules.
        let options: BatchUpdateFirmwareRequest =
            from_value_lenient(Value::Object(self.task_options.clone()))
                .map_err(|err| RequestError::TaskOptions(err.to_string()))?;
        BatchUpdateFirmwareRequest::builder()
            .set_upgrade_method(options.upgrade_method())
            .set_timeout_interval(options.timeout_interval())
            .set_type(options.r#type())
            .set_delay_time(options.delay_time())
            .set_override_mode(options.override_mode())
            .set_max_retry_num(options.max_retry_num())
            .set_retry_interval(options.retry_interval())
            .set_rate_limit(options.rate_limit())
            .set_end_time(options.end_time())
            .set_start_time(options.start_time())
            .product_id(self.product_id.as_str())
            .firmware_version(self.firmware_version.as_str())
            .set_fw_type(self.fw_type.clone())
            .set_device_names(Some(devices.to_vec()))
            .task_user_define(marker)
            .build()
            .map_err(RequestError::Invalid)
    }
}

/// Why a batch's `BatchUpdateFirmware` request could not be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A task option does not have its member's type.
    #[error("BatchUpdateFirmware: task options: {0}")]
    TaskOptions(String),
    /// The request breaks a documented rule.
    #[error("BatchUpdateFirmware: invalid request: {0}")]
    Invalid(ValidationErrors),
}

/// The idempotency marker of one batch, sent as `TaskUserDefine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
