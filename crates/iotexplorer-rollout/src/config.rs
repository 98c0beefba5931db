//! What a rollout is asked to do, as recorded in the journal's first record.

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
    /// The parameters of the `BatchUpdateFirmware` call for `devices`, carrying `marker`.
    pub fn call_params(&self, devices: &[String], marker: &str) -> Value {
        let mut params = self.task_options.clone();
        params.extend(self.firmware_params());
        params.insert("DeviceNames".to_owned(), Value::from(devices.to_vec()));
        params.insert("TaskUserDefine".to_owned(), Value::from(marker));
        Value::Object(params)
    }

    /// The product and firmware members shared by the describing calls.
    pub(crate) fn firmware_params(&self) -> Map<String, Value> {
        let mut params = Map::new();
        params.insert(
            "ProductID".to_owned(),
            Value::from(self.product_id.as_str()),
        );
        params.insert(
            "FirmwareVersion".to_owned(),
            Value::from(self.firmware_version.as_str()),
        );
        if let Some(fw_type) = &self.fw_type {
            params.insert("FwType".to_owned(), Value::from(fw_type.as_str()));
        }
        params
    }
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
