//! The status report: per wave and per device, from the journal alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::journal::{BatchState, JournalState};
use iotexplorer_http::printable;

/// Where the rollout as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RolloutState {
    /// Every wave passed.
    Finished,
    /// Stopped after a wave, waiting for `rollout resume`.
    Paused,
    /// A gate failed.
    Aborted,
    /// Not finished: running, or stopped by a crash or an error.
    InProgress,
}

/// One wave in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WaveReport {
    /// The wave.
    pub wave: usize,
    /// Its devices.
    pub devices: usize,
    /// Its batches.
    pub batches: usize,
    /// Devices whose batch has a task.
    pub submitted: usize,
    /// Devices updated, once gated.
    pub succeeded: usize,
    /// Devices failed, once gated.
    pub failed: usize,
    /// Devices still updating when gated.
    pub pending: usize,
    /// `passed`, `failed` or `not_gated`.
    pub gate: &'static str,
    /// The failure rate the gate saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_rate: Option<f64>,
}

/// One device in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeviceReport {
    /// The device.
    pub device: String,
    /// Its wave.
    pub wave: usize,
    /// Its batch.
    pub batch: String,
    /// Its task, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<u64>,
    /// `not_submitted`, `uncertain`, `refused`, `submitted`, `succeeded`, `failed` or `pending`.
    pub result: &'static str,
    /// The service's message for a failure or refusal.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The rollout's identity.
    pub rollout: String,
    /// The product.
    pub product_id: String,
    /// The target version.
    pub firmware_version: String,
    /// Overall state.
    pub state: RolloutState,
    /// Why it was aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_reason: Option<String>,
    /// Devices in the plan.
    pub devices_total: usize,
    /// Per wave.
    pub waves: Vec<WaveReport>,
    /// Tasks cancelled after an abort.
    pub cancelled_tasks: Vec<u64>,
    /// Per device.
    pub devices: Vec<DeviceReport>,
}

impl Report {
    /// The report of a journal's state.
    pub fn of(state: &JournalState) -> Self {
        let plan = &state.spec.plan;
        let mut waves = Vec::new();
        let mut devices = Vec::new();
        for wave in &plan.waves {
            let gate = state.verdicts.get(&wave.number);
            let failures: BTreeMap<&str, &str> = gate
                .map(|g| {
                    g.failed_devices
                        .iter()
                        .map(|f| (f.device.as_str(), f.message.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            let pending: Vec<&str> = gate
                .map(|g| g.pending_devices.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut submitted = 0;
            for batch in &wave.batches {
                let batch_state = state.batches.get(&batch.id);
                let task_id = match batch_state {
                    Some(BatchState::Submitted { task_id }) => Some(*task_id),
                    _ => None,
                };
                if task_id.is_some() {
                    submitted += batch.devices.len();
                }
                for device in &batch.devices {
                    let (result, message) = match (batch_state, gate) {
                        (Some(BatchState::Submitted { .. }), Some(_)) => {
                            if let Some(message) = failures.get(device.as_str()) {
                                ("failed", (*message).to_owned())
                            } else if pending.contains(&device.as_str()) {
                                ("pending", String::new())
                            } else {
                                ("succeeded", String::new())
                            }
                        }
                        (Some(BatchState::Submitted { .. }), None) => ("submitted", String::new()),
                        (Some(BatchState::Uncertain), _) => (
                            "uncertain",
                            state
                                .ended_in_doubt(&batch.id)
                                .map_or_else(String::new, |ended| {
                                    format!(
                                        "{ended}, after a call of unknown outcome that may have \
                                     made its task"
                                    )
                                }),
                        ),
                        (Some(BatchState::Refused { code, message }), _) => {
                            ("refused", format!("{code}: {message}"))
                        }
                        _ => ("not_submitted", String::new()),
                    };
                    devices.push(DeviceReport {
                        device: device.clone(),
                        wave: wave.number,
                        batch: batch.id.clone(),
                        task_id,
                        result,
                        message,
                    });
                }
            }
            waves.push(WaveReport {
                wave: wave.number,
                devices: wave.device_count(),
                batches: wave.batches.len(),
                submitted,
                succeeded: gate.map_or(0, |g| g.succeeded),
                failed: gate.map_or(0, |g| g.failed),
                pending: gate.map_or(0, |g| g.pending),
                gate: match gate {
                    Some(g) if g.passed => "passed",
                    Some(_) => "failed",
                    None => "not_gated",
                },
                failure_rate: gate.map(|g| g.failure_rate),
            });
        }
        let last_gated = state.verdicts.keys().max().copied();
        let overall = if state.finished {
            RolloutState::Finished
        } else if state.aborted.is_some() {
            RolloutState::Aborted
        } else if last_gated.is_some_and(|wave| state.paused.contains(&wave)) {
            RolloutState::Paused
        } else {
            RolloutState::InProgress
        };
        Self {
            rollout: state.rollout.clone(),
            product_id: state.spec.product_id.clone(),
            firmware_version: state.spec.firmware_version.clone(),
            state: overall,
            abort_reason: state.aborted.as_ref().map(|(_, reason)| reason.clone()),
            devices_total: plan.device_count(),
            waves,
            cancelled_tasks: state.cancelled.iter().copied().collect(),
            devices,
        }
    }

    /// The per-wave summary table.
    pub fn summary_table(&self) -> String {
        let mut out = String::new();
        let state = match self.state {
            RolloutState::Finished => "finished",
            RolloutState::Paused => "paused",
            RolloutState::Aborted => "aborted",
            RolloutState::InProgress => "in progress",
        };
        let _ = writeln!(
            out,
            "rollout {} of {} to {}: {state}",
            printable(&self.rollout),
            printable(&self.product_id),
            printable(&self.firmware_version)
        );
        if let Some(reason) = &self.abort_reason {
            let _ = writeln!(out, "aborted: {}", printable(reason));
        }
        let _ = writeln!(
            out,
            "{:>4}  {:>8}  {:>7}  {:>9}  {:>9}  {:>6}  {:>7}  gate",
            "wave", "devices", "batches", "submitted", "succeeded", "failed", "pending"
        );
        for wave in &self.waves {
            let _ = writeln!(
                out,
                "{:>4}  {:>8}  {:>7}  {:>9}  {:>9}  {:>6}  {:>7}  {}",
                wave.wave,
                wave.devices,
                wave.batches,
                wave.submitted,
                wave.succeeded,
                wave.failed,
                wave.pending,
                wave.gate.replace('_', " ")
            );
        }
        if !self.cancelled_tasks.is_empty() {
            let _ = writeln!(out, "cancelled tasks: {:?}", self.cancelled_tasks);
        }
        out
    }

    /// The per-device table.
    pub fn device_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<24}  {:>4}  {:<8}  {:>10}  result",
            "device", "wave", "batch", "task"
        );
        for device in &self.devices {
            let task = device.task_id.map(|t| t.to_string()).unwrap_or_default();
            let _ = write!(
                out,
                "{:<24}  {:>4}  {:<8}  {:>10}  {}",
                printable(&device.device),
                device.wave,
                device.batch,
                task,
                device.result.replace('_', " ")
            );
            if !device.message.is_empty() {
                let _ = write!(out, " ({})", printable(&device.message));
            }
            out.push('\n');
        }
        out
    }
}
