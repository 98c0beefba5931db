//! The device clock: where one device is in one task, computed from elapsed time.
//!
//! Nothing ticks in the background; a device's stage is a pure function of how long its
//! task has run, its pre-drawn fate and whether it was stopped. That keeps 100,000 devices
//! cheap and makes the timeline reproducible.

use crate::fixture::ProgressSettings;
use crate::random::Random;
use iotexplorer_model::FirmwareUpdateStatus;

/// What Tencent says of a device that already runs the task's version: it fails at once.
pub(crate) use iotexplorer_model::ALREADY_CURRENT_MESSAGE;
/// What a device stopped before it was done says: its task was cancelled or replaced.
const STOPPED_MESSAGE: &str = "task cancelled";

/// What happens to a device, drawn when the task is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fate {
    /// How many attempts fail before one succeeds; `max_retry + 1` means all fail.
    pub(crate) failed_attempts: u64,
    /// Stalls while downloading until `TimeoutInterval` runs out.
    pub(crate) stalls: bool,
}

/// The rules of the timeline for one task.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeline {
    pub(crate) max_retry: u64,
    /// `TimeoutInterval` in stages.
    pub(crate) timeout_steps: f64,
    /// `RetryInterval` in stages.
    pub(crate) retry_steps: f64,
}

/// A device's place in a task.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Stage {
    pub(crate) status: FirmwareUpdateStatus,
    pub(crate) percent: i64,
    pub(crate) retry_num: u64,
    pub(crate) err_msg: &'static str,
    /// The point, in stages since the task began, where the device last changed.
    pub(crate) changed_at: f64,
}

impl Stage {
    pub(crate) fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

// An attempt: one stage pending, two downloading, one burning. A failing attempt breaks
// off half way through the download.
const SUCCESS_STEPS: f64 = 4.0;
const FAILURE_STEPS: f64 = 2.0;

fn stage(
    status: FirmwareUpdateStatus,
    percent: i64,
    retry_num: u64,
    err_msg: &'static str,
    at: f64,
) -> Stage {
    Stage {
        status,
        percent,
        retry_num,
        err_msg,
        changed_at: at,
    }
}

/// Where a device that already ran the task's version is: failed from the start.
pub(crate) fn already_current() -> Stage {
    stage(
        FirmwareUpdateStatus::Failed,
        0,
        0,
        ALREADY_CURRENT_MESSAGE,
        0.0,
    )
}

/// Where a device stopped at `at` stays: where it `reached` if that was an end, else
/// failed there.
pub(crate) fn stopped(reached: Stage, at: f64) -> Stage {
    if reached.is_terminal() {
        return reached;
    }
    stage(
        FirmwareUpdateStatus::Failed,
        reached.percent,
        reached.retry_num,
        STOPPED_MESSAGE,
        at,
    )
}

/// Draws what will happen to a device in a new task, with the failure and timeout rates
/// of `progress`.
pub(crate) fn draw_fate(progress: &ProgressSettings, random: &Random, max_retry: u64) -> Fate {
    let stalls = random.next_unit() < progress.timeout_rate;
    let mut failed_attempts = 0;
    while failed_attempts <= max_retry && random.next_unit() < progress.failure_rate {
        failed_attempts += 1;
    }
    Fate {
        failed_attempts,
        stalls,
    }
}

/// Where a device is after `elapsed` stages.
pub(crate) fn stage_at(fate: Fate, timeline: Timeline, elapsed: f64) -> Stage {
    let elapsed = elapsed.max(0.0);
    if fate.stalls {
        if elapsed >= timeline.timeout_steps {
            return stage(
                FirmwareUpdateStatus::TimedOut,
                20,
                0,
                "update timed out",
                timeline.timeout_steps,
            );
        }
        if elapsed < 1.0 {
            return stage(FirmwareUpdateStatus::Pending, 0, 0, "", 0.0);
        }
        return stage(FirmwareUpdateStatus::Downloading, 20, 0, "", 1.0);
    }
    let mut start = 0.0;
    for attempt in 0..fate.failed_attempts {
        let t = elapsed - start;
        if t < 1.0 {
            return stage(FirmwareUpdateStatus::Pending, 0, attempt, "", start);
        }
        if t < FAILURE_STEPS {
            return stage(
                FirmwareUpdateStatus::Downloading,
                percent(t - 1.0),
                attempt,
                "",
                start + 1.0,
            );
        }
        if attempt >= timeline.max_retry {
            return stage(
                FirmwareUpdateStatus::Failed,
                50,
                attempt,
                "download failed",
                start + FAILURE_STEPS,
            );
        }
        start += FAILURE_STEPS + timeline.retry_steps;
        if elapsed < start {
            return stage(
                FirmwareUpdateStatus::Pending,
                0,
                attempt + 1,
                "",
                start - timeline.retry_steps,
            );
        }
    }
    let retry = fate.failed_attempts;
    let t = elapsed - start;
    if t < 1.0 {
        stage(FirmwareUpdateStatus::Pending, 0, retry, "", start)
    } else if t < 3.0 {
        stage(
            FirmwareUpdateStatus::Downloading,
            percent(t - 1.0),
            retry,
            "",
            start + 1.0,
        )
    } else if t < SUCCESS_STEPS {
        stage(FirmwareUpdateStatus::Burning, 100, retry, "", start + 3.0)
    } else {
        stage(
            FirmwareUpdateStatus::Done,
            100,
            retry,
            "",
            start + SUCCESS_STEPS,
        )
    }
}

/// How many stages after its task began a device with `fate` reaches its end (done,
/// failed or timed out), if nothing stops it: where [`stage_at`] turns terminal.
pub(crate) fn end_of(fate: Fate, timeline: Timeline) -> f64 {
    if fate.stalls {
        return timeline.timeout_steps;
    }
    let mut start = 0.0;
    for attempt in 0..fate.failed_attempts {
        if attempt >= timeline.max_retry {
            return start + FAILURE_STEPS;
        }
        start += FAILURE_STEPS + timeline.retry_steps;
    }
    start + SUCCESS_STEPS
}

/// Download percent after `t` of the two download stages.
fn percent(t: f64) -> i64 {
    ((t / 2.0) * 100.0).clamp(0.0, 99.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMELINE: Timeline = Timeline {
        max_retry: 1,
        timeout_steps: 10.0,
        retry_steps: 1.0,
    };

    #[test]
    fn a_healthy_device_goes_pending_downloading_burning_done() {
        let fate = Fate {
            failed_attempts: 0,
            stalls: false,
        };
        let statuses: Vec<FirmwareUpdateStatus> = [0.5, 1.5, 2.5, 3.5, 4.5]
            .iter()
            .map(|t| stage_at(fate, TIMELINE, *t).status)
            .collect();
        assert_eq!(
            statuses,
            [
                FirmwareUpdateStatus::Pending,
                FirmwareUpdateStatus::Downloading,
                FirmwareUpdateStatus::Downloading,
                FirmwareUpdateStatus::Burning,
                FirmwareUpdateStatus::Done
            ]
        );
    }

    #[test]
    fn a_failing_device_retries_then_fails() {
        let fate = Fate {
            failed_attempts: 2,
            stalls: false,
        };
        assert_eq!(
            stage_at(fate, TIMELINE, 2.5).status,
            FirmwareUpdateStatus::Pending
        );
        assert_eq!(stage_at(fate, TIMELINE, 2.5).retry_num, 1);
        let end = stage_at(fate, TIMELINE, 100.0);
        assert_eq!(
            (end.status, end.retry_num),
            (FirmwareUpdateStatus::Failed, 1)
        );
    }

    #[test]
    fn a_stalled_device_times_out() {
        let fate = Fate {
            failed_attempts: 0,
            stalls: true,
        };
        assert_eq!(
            stage_at(fate, TIMELINE, 9.0).status,
            FirmwareUpdateStatus::Downloading
        );
        assert_eq!(
            stage_at(fate, TIMELINE, 10.0).status,
            FirmwareUpdateStatus::TimedOut
        );
    }
}
