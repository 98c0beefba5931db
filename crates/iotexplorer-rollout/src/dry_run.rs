//! What `--dry-run` shows: the waves, the calls, and how long submitting them takes at
//! the API's rate.

use std::fmt::Write as _;

use iotexplorer_model::{Action, BatchUpdateFirmwareRequest};
use serde::Serialize;

use crate::config::RolloutSpec;
use iotexplorer_http::printable;

/// Calls per second the service accepts of `BatchUpdateFirmware`, as the spec states it.
fn calls_per_second() -> f64 {
    f64::from(BatchUpdateFirmwareRequest::meta().calls_per_second().max(1))
}

/// One wave of the preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WavePreview {
    /// The wave.
    pub wave: usize,
    /// Its devices.
    pub devices: usize,
    /// Its `BatchUpdateFirmware` calls.
    pub calls: usize,
    /// Its first and last device.
    pub first_device: String,
    /// Its last device.
    pub last_device: String,
}

/// The preview of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Preview {
    /// The product.
    pub product_id: String,
    /// The target version.
    pub firmware_version: String,
    /// Devices in the plan.
    pub devices: usize,
    /// Devices per call.
    pub batch_size: usize,
    /// The waves.
    pub waves: Vec<WavePreview>,
    /// All calls.
    pub calls: usize,
    /// Seconds to submit every call at the service's rate for `BatchUpdateFirmware`
    /// (20 calls per second, from the spec), wave checks not included.
    pub expected_submission_secs: f64,
    /// Largest tolerated failure rate per wave.
    pub max_failure_rate: f64,
    /// Seconds a gate waits.
    pub wave_timeout_secs: u64,
}

impl Preview {
    /// The preview of `spec`.
    pub fn of(spec: &RolloutSpec) -> Self {
        let waves: Vec<WavePreview> = spec
            .plan
            .waves
            .iter()
            .map(|wave| {
                let mut devices = wave.devices();
                let first = devices.next().unwrap_or_default().to_owned();
                let last = devices.last().map_or_else(|| first.clone(), str::to_owned);
                WavePreview {
                    wave: wave.number,
                    devices: wave.device_count(),
                    calls: wave.batches.len(),
                    first_device: first,
                    last_device: last,
                }
            })
            .collect();
        let calls = spec.plan.batch_count();
        Self {
            product_id: spec.product_id.clone(),
            firmware_version: spec.firmware_version.clone(),
            devices: spec.plan.device_count(),
            batch_size: spec.batch_size,
            waves,
            calls,
            expected_submission_secs: calls as f64 / calls_per_second(),
            max_failure_rate: spec.max_failure_rate,
            wave_timeout_secs: spec.wave_timeout_secs,
        }
    }

    /// As text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "dry run: {} devices of {} to {} in {} waves, {} calls of up to {} devices",
            self.devices,
            printable(&self.product_id),
            printable(&self.firmware_version),
            self.waves.len(),
            self.calls,
            self.batch_size
        );
        let _ = writeln!(
            out,
            "{:>4}  {:>8}  {:>6}  devices",
            "wave", "devices", "calls"
        );
        for wave in &self.waves {
            let _ = writeln!(
                out,
                "{:>4}  {:>8}  {:>6}  {} .. {}",
                wave.wave,
                wave.devices,
                wave.calls,
                printable(&wave.first_device),
                printable(&wave.last_device)
            );
        }
        let _ = writeln!(
            out,
            "expected submission time at {} calls/s: {:.1} s (gates not included); \
             a wave passes with at most {:.1}% failures within {} s",
            calls_per_second(),
            self.expected_submission_secs,
            self.max_failure_rate * 100.0,
            self.wave_timeout_secs
        );
        let _ = writeln!(out, "nothing was sent");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_from_the_service_are_shown_escaped() {
        let preview = Preview {
            product_id: "ABCDE12345".to_owned(),
            firmware_version: "2.0.0".to_owned(),
            devices: 2,
            batch_size: 100,
            waves: vec![WavePreview {
                wave: 1,
                devices: 2,
                calls: 1,
                first_device: "dev\u{1b}[2J".to_owned(),
                last_device: "dev\u{7}".to_owned(),
            }],
            calls: 1,
            expected_submission_secs: 0.05,
            max_failure_rate: 0.0,
            wave_timeout_secs: 60,
        };
        let text = preview.to_text();
        assert!(!text.contains(['\u{1b}', '\u{7}']), "{text:?}");
        assert!(text.contains(r"dev\u{1b}[2J .. dev\u{7}"), "{text}");
    }
}
