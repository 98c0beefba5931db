//! The device clock: where one device is in one task, computed from elapsed time.
//!
//! Nothing ticks in the background; a device's stage is a pure function of how long its
//! task has run, its pre-drawn fate and whether it was stopped. That keeps 100,000 devices
//! cheap and makes the timeline reproducible.
//!
//! One attempt, in stages: pending (1); message sent (2) when detailed; waiting for the
//! user's confirmation (8) on the first attempt of a user-confirmed task; downloading (3,
//! two stages); downloaded (20) when detailed; burning (4); processing (7) when detailed;
//! done (6). A failing attempt breaks off after half the download. An offline device (0)
//! starts its first attempt only once it comes online. The order of the states the
//! service's documentation lists without an order (2, 7, 8, 20) is the emulator's choice.

use iotexplorer_model::{FirmwareUpdateStatus, UpgradeMethod};

use crate::fixture::{DeviceOffline, ProgressSettings};
use crate::random::Random;

/// What Tencent says of a device that already runs the task's version: it fails at once.
pub(crate) use iotexplorer_model::ALREADY_CURRENT_MESSAGE;
/// What a device stopped before it was done says: its task was cancelled or replaced.
const STOPPED_MESSAGE: &str = "task cancelled";
/// What a device whose download broke off says.
const DOWNLOAD_FAILED_MESSAGE: &str = "download failed";
/// What a device that stalled says.
const TIMED_OUT_MESSAGE: &str = "update timed out";
/// What a device whose update failed after the download says.
const BURN_FAILED_MESSAGE: &str = "burning failed";

/// What happens to a device, drawn when the task is created.
///
/// The fields after `stalls` came later: absent from older state files, they read as
/// "nothing of the kind", and they are left out of the file when so, which keeps today's
/// files as they were.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fate {
    /// How many attempts fail before one succeeds; `max_retry + 1` means all fail.
    pub(crate) failed_attempts: u64,
    /// Stalls while downloading until `TimeoutInterval` runs out.
    pub(crate) stalls: bool,
    /// Stages the device stays offline (0) after its task began.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) offline_steps: f64,
    /// Stays offline for as long as the task lasts.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) never_online: bool,
    /// Stages its user takes to confirm the update (8); user-confirmed tasks only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) confirm_steps: f64,
    /// Its user never confirms: it waits (8) for as long as the task lasts.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) never_confirms: bool,
    /// Reports done but keeps its old version: the firmware did not fit its module.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) keeps_version: bool,
    /// The attempt that would succeed fails after burning instead.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) fails_late: bool,
    /// Reports every state: message sent (2), downloaded (20) and processing (7) too.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) detailed: bool,
}

// Plain functions because serde's `skip_serializing_if` takes a path.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// A duration in stages as the clock can use it: finite and not negative, else none.
fn steps(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

/// The most retries of one device the timeline models. `MaxRetryNum` has no documented
/// maximum; counting through a larger one would hold a request for as long, and no device
/// lives through that many retries anyway.
pub(crate) const MODELLED_RETRIES: u64 = 100;

/// The retries of one device the timeline models for a task that asked for `requested`.
pub(crate) fn modelled_retries(requested: u64) -> u64 {
    requested.min(MODELLED_RETRIES)
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

/// Stages of the download: a failing attempt breaks off after the first.
const DOWNLOAD_STEPS: f64 = 2.0;
const FAILED_DOWNLOAD_STEPS: f64 = 1.0;

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

/// Draws what will happen to a device in a new task, with the rates of `progress`, the
/// task's retries and `method`, and the device's own `offline` setting, which wins over
/// the fleet's rates.
///
/// A behaviour that is off draws nothing, so that a seed replays the same fates as before
/// the behaviour existed.
pub(crate) fn draw_fate(
    progress: &ProgressSettings,
    random: &Random,
    max_retry: u64,
    method: UpgradeMethod,
    offline: Option<DeviceOffline>,
) -> Fate {
    let stalls = random.next_unit() < progress.timeout_rate;
    let mut failed_attempts = 0;
    while failed_attempts <= max_retry && random.next_unit() < progress.failure_rate {
        failed_attempts += 1;
    }
    // `rate > 0.0` is false for NaN too, so a rate that means nothing draws nothing.
    let happens = |rate: f64| rate > 0.0 && random.next_unit() < rate;
    let (offline_steps, never_online) = match offline {
        Some(DeviceOffline::Never) => (0.0, true),
        Some(DeviceOffline::ForSteps(for_steps)) => (quantised(steps(for_steps)), false),
        None if happens(progress.offline_rate) => {
            if happens(progress.never_online_rate) {
                (0.0, true)
            } else {
                let longest = steps(progress.online_after_steps);
                let drawn = if longest > 0.0 {
                    quantised(random.next_unit() * longest)
                } else {
                    0.0
                };
                (drawn, false)
            }
        }
        None => (0.0, false),
    };
    let (confirm_steps, never_confirms) = if method == UpgradeMethod::UserConfirmed {
        if happens(progress.never_confirm_rate) {
            (0.0, true)
        } else {
            (quantised(steps(progress.confirm_after_steps)), false)
        }
    } else {
        (0.0, false)
    };
    let keeps_version = happens(progress.mismatch_rate);
    let fails_late = happens(progress.late_failure_rate);
    Fate {
        failed_attempts,
        stalls,
        offline_steps,
        never_online,
        confirm_steps,
        never_confirms,
        keeps_version,
        fails_late,
        detailed: progress.detailed_stages,
    }
}

/// `steps` rounded down to a 1/1024 of a stage, so that sums of stages stay exact and the
/// state file holds short numbers; a number too large for that stays as it is, since a
/// state file cannot hold an infinite one.
fn quantised(steps: f64) -> f64 {
    let rounded = (steps * 1024.0).floor() / 1024.0;
    if rounded.is_finite() { rounded } else { steps }
}

/// Where an attempt's stages end, in stages after it began.
struct Attempt {
    /// The end of pending (1).
    pending: f64,
    /// The end of message sent (2).
    sent: f64,
    /// The end of waiting for the user (8), where the download begins.
    lead: f64,
}

impl Attempt {
    fn of(fate: Fate, first: bool) -> Self {
        let extra = if fate.detailed { 1.0 } else { 0.0 };
        let confirm = if first {
            steps(fate.confirm_steps)
        } else {
            0.0
        };
        let pending = 1.0;
        let sent = pending + extra;
        Self {
            pending,
            sent,
            lead: sent + confirm,
        }
    }

    /// Where a device is `t` stages into this attempt, before its download begins.
    fn before_download(&self, fate: Fate, first: bool, t: f64, start: f64, retry: u64) -> Stage {
        if t < self.pending {
            stage(FirmwareUpdateStatus::Pending, 0, retry, "", start)
        } else if t < self.sent {
            stage(
                FirmwareUpdateStatus::MessageSent,
                0,
                retry,
                "",
                start + self.pending,
            )
        } else {
            debug_assert!(first && (fate.never_confirms || t < self.lead));
            stage(
                FirmwareUpdateStatus::AwaitingConfirmation,
                0,
                retry,
                "",
                start + self.sent,
            )
        }
    }
}

/// Where a device is after `elapsed` stages.
pub(crate) fn stage_at(fate: Fate, timeline: Timeline, elapsed: f64) -> Stage {
    let elapsed = elapsed.max(0.0);
    let online = steps(fate.offline_steps);
    if fate.never_online || elapsed < online {
        return stage(FirmwareUpdateStatus::Offline, 0, 0, "", 0.0);
    }
    let first = Attempt::of(fate, true);
    if fate.never_confirms && elapsed - online >= first.sent {
        return first.before_download(fate, true, elapsed - online, online, 0);
    }
    if fate.stalls {
        // `TimeoutInterval` counts from the first stage, not the ones spent waiting for
        // the device to come online, the message or the user.
        let t = elapsed - online;
        let timed_out = (first.lead - first.pending) + timeline.timeout_steps;
        if t >= timed_out {
            return stage(
                FirmwareUpdateStatus::TimedOut,
                20,
                0,
                TIMED_OUT_MESSAGE,
                online + timed_out,
            );
        }
        if t < first.lead {
            return first.before_download(fate, true, t, online, 0);
        }
        return stage(
            FirmwareUpdateStatus::Downloading,
            20,
            0,
            "",
            online + first.lead,
        );
    }
    let mut start = online;
    for attempt in 0..fate.failed_attempts {
        let shape = Attempt::of(fate, attempt == 0);
        let t = elapsed - start;
        if t < shape.lead {
            return shape.before_download(fate, attempt == 0, t, start, attempt);
        }
        let failed = shape.lead + FAILED_DOWNLOAD_STEPS;
        if t < failed {
            return stage(
                FirmwareUpdateStatus::Downloading,
                percent(t - shape.lead),
                attempt,
                "",
                start + shape.lead,
            );
        }
        if attempt >= timeline.max_retry {
            return stage(
                FirmwareUpdateStatus::Failed,
                50,
                attempt,
                DOWNLOAD_FAILED_MESSAGE,
                start + failed,
            );
        }
        start += failed + timeline.retry_steps;
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
    let shape = Attempt::of(fate, retry == 0);
    let extra = if fate.detailed { 1.0 } else { 0.0 };
    let downloaded = shape.lead + DOWNLOAD_STEPS;
    let burning = downloaded + extra;
    let burnt = burning + 1.0;
    let done = burnt + if fate.fails_late { 0.0 } else { extra };
    let t = elapsed - start;
    if t < shape.lead {
        shape.before_download(fate, retry == 0, t, start, retry)
    } else if t < downloaded {
        stage(
            FirmwareUpdateStatus::Downloading,
            percent(t - shape.lead),
            retry,
            "",
            start + shape.lead,
        )
    } else if t < burning {
        stage(
            FirmwareUpdateStatus::Downloaded,
            100,
            retry,
            "",
            start + downloaded,
        )
    } else if t < burnt {
        stage(
            FirmwareUpdateStatus::Burning,
            100,
            retry,
            "",
            start + burning,
        )
    } else if fate.fails_late {
        stage(
            FirmwareUpdateStatus::Failed,
            100,
            retry,
            BURN_FAILED_MESSAGE,
            start + burnt,
        )
    } else if t < done {
        stage(
            FirmwareUpdateStatus::Processing,
            100,
            retry,
            "",
            start + burnt,
        )
    } else {
        stage(FirmwareUpdateStatus::Done, 100, retry, "", start + done)
    }
}

/// How many stages after its task began a device with `fate` reaches its end (done,
/// failed or timed out), if nothing stops it: where [`stage_at`] turns terminal, or
/// infinity for a device that never comes online or whose user never confirms.
pub(crate) fn end_of(fate: Fate, timeline: Timeline) -> f64 {
    let last = stage_at(fate, timeline, f64::INFINITY);
    if last.is_terminal() {
        last.changed_at
    } else {
        f64::INFINITY
    }
}

/// Download percent after `t` of the two download stages.
fn percent(t: f64) -> i64 {
    ((t / DOWNLOAD_STEPS) * 100.0).clamp(0.0, 99.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TIMELINE: Timeline = Timeline {
        max_retry: 1,
        timeout_steps: 10.0,
        retry_steps: 1.0,
    };

    fn statuses(fate: Fate, at: &[f64]) -> Vec<i64> {
        at.iter()
            .map(|t| stage_at(fate, TIMELINE, *t).status.code())
            .collect()
    }

    #[test]
    fn a_healthy_device_goes_pending_downloading_burning_done() {
        let fate = Fate {
            failed_attempts: 0,
            stalls: false,
            ..Fate::default()
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
            ..Fate::default()
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
            ..Fate::default()
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

    #[test]
    fn a_detailed_device_reports_every_state_of_a_success() {
        let fate = Fate {
            detailed: true,
            ..Fate::default()
        };
        let at = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5];
        assert_eq!(statuses(fate, &at), [1, 2, 3, 3, 20, 4, 7, 6]);
        assert_eq!(end_of(fate, TIMELINE), 7.0);
    }

    #[test]
    fn an_offline_device_waits_then_starts_its_first_attempt() {
        let fate = Fate {
            offline_steps: 2.0,
            ..Fate::default()
        };
        assert_eq!(statuses(fate, &[0.0, 1.9, 2.5, 3.5, 6.5]), [0, 0, 1, 3, 6]);
        assert_eq!(end_of(fate, TIMELINE), 6.0);
        let never = Fate {
            never_online: true,
            ..Fate::default()
        };
        assert_eq!(statuses(never, &[0.0, 1e9]), [0, 0]);
        assert_eq!(end_of(never, TIMELINE), f64::INFINITY);
    }

    #[test]
    fn a_user_confirms_once_after_the_message() {
        let fate = Fate {
            confirm_steps: 3.0,
            failed_attempts: 1,
            detailed: true,
            ..Fate::default()
        };
        // pending, sent, waiting 3, half a download, failed; retry pending 1 stage; then
        // pending, sent and straight to the download: the user agreed already.
        let at = [0.5, 1.5, 2.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5];
        assert_eq!(statuses(fate, &at), [1, 2, 8, 8, 3, 1, 1, 2, 3]);
        let never = Fate {
            never_confirms: true,
            ..Fate::default()
        };
        assert_eq!(statuses(never, &[0.5, 1.5, 1e9]), [1, 8, 8]);
        assert_eq!(end_of(never, TIMELINE), f64::INFINITY);
    }

    #[test]
    fn a_late_failure_comes_after_burning() {
        let fate = Fate {
            fails_late: true,
            detailed: true,
            ..Fate::default()
        };
        assert_eq!(statuses(fate, &[4.5, 5.5, 6.0, 100.0]), [20, 4, 5, 5]);
        let end = stage_at(fate, TIMELINE, 100.0);
        assert_eq!((end.err_msg, end.percent), (BURN_FAILED_MESSAGE, 100));
        assert_eq!(end_of(fate, TIMELINE), 6.0);
    }

    #[test]
    fn fates_without_new_fields_read_and_write_as_before() {
        let old: Fate = serde_json::from_str(r#"{"failed_attempts":1,"stalls":true}"#)
            .expect("an old fate reads");
        assert_eq!(
            old,
            Fate {
                failed_attempts: 1,
                stalls: true,
                ..Fate::default()
            }
        );
        assert_eq!(
            serde_json::to_string(&old).expect("writes"),
            r#"{"failed_attempts":1,"stalls":true}"#
        );
    }

    #[test]
    fn delays_are_kept_to_whole_1024ths_and_stay_finite() {
        assert_eq!(quantised(2.0009), 2.0);
        assert_eq!(quantised(0.75), 0.75);
        assert_eq!(quantised(f64::MAX), f64::MAX);
        let progress = ProgressSettings::default().with_confirmation(f64::MAX, 0.0);
        let random = Random::new(1, crate::random::Purpose::DeviceFates);
        let fate = draw_fate(&progress, &random, 0, UpgradeMethod::UserConfirmed, None);
        assert!(fate.confirm_steps.is_finite());
        let text = serde_json::to_string(&fate).expect("writes");
        let read: Fate = serde_json::from_str(&text).expect("reads back");
        assert_eq!(read, fate);
    }

    #[test]
    fn behaviours_that_are_off_draw_nothing() {
        use crate::random::Purpose;
        let progress = ProgressSettings::default()
            .with_failure_rate(0.5)
            .with_timeout_rate(0.1);
        let today = Random::new(9, Purpose::DeviceFates);
        let now = Random::new(9, Purpose::DeviceFates);
        for _ in 0..50 {
            let fate = draw_fate(&progress, &now, 2, UpgradeMethod::UserConfirmed, None);
            // What the draw was before the new behaviours existed.
            let stalls = today.next_unit() < progress.timeout_rate;
            let mut failed_attempts = 0;
            while failed_attempts <= 2 && today.next_unit() < progress.failure_rate {
                failed_attempts += 1;
            }
            assert_eq!(
                fate,
                Fate {
                    failed_attempts,
                    stalls,
                    ..Fate::default()
                }
            );
        }
    }

    /// The order a device's states take within one attempt.
    fn rank(status: &FirmwareUpdateStatus) -> u8 {
        match status.code() {
            0 => 0,
            1 => 1,
            2 => 2,
            8 => 3,
            3 => 4,
            20 => 5,
            4 => 6,
            7 => 7,
            _ => 8,
        }
    }

    fn fate() -> impl Strategy<Value = Fate> {
        (
            (0..4u64, any::<bool>(), any::<bool>(), any::<bool>()),
            (0.0..6.0f64, any::<bool>(), 0.0..6.0f64, any::<bool>()),
            (any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(
                    (failed_attempts, stalls, detailed, fails_late),
                    (offline_steps, never_online, confirm_steps, never_confirms),
                    (keeps_version, never_flags),
                )| Fate {
                    failed_attempts,
                    stalls,
                    offline_steps,
                    never_online: never_online && never_flags,
                    confirm_steps,
                    never_confirms: never_confirms && never_flags,
                    keeps_version,
                    fails_late,
                    detailed,
                },
            )
    }

    fn timeline() -> impl Strategy<Value = Timeline> {
        (0..4u64, 1.0..12.0f64, 0.0..4.0f64).prop_map(|(max_retry, timeout_steps, retry_steps)| {
            Timeline {
                max_retry,
                timeout_steps,
                retry_steps,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Stages never go back in time: the retry count only grows, within one attempt the
        /// states follow their order, a download's percent only grows, and an end stays.
        /// The device ends where `end_of` says, or waits for ever where it never comes
        /// online or its user never confirms.
        #[test]
        fn stages_never_go_back_and_end_where_end_of_says(
            fate in fate(),
            timeline in timeline(),
            mut times in proptest::collection::vec(0.0..60.0f64, 1..40),
        ) {
            times.sort_by(f64::total_cmp);
            let mut previous: Option<Stage> = None;
            for &t in &times {
                let now = stage_at(fate, timeline, t);
                prop_assert!(now.changed_at <= t.max(0.0) + 1e-9, "{now:?} at {t}");
                if let Some(before) = &previous {
                    prop_assert!(now.changed_at >= before.changed_at, "{before:?} -> {now:?}");
                    prop_assert!(now.retry_num >= before.retry_num, "{before:?} -> {now:?}");
                    if now.retry_num == before.retry_num {
                        prop_assert!(rank(&now.status) >= rank(&before.status), "{before:?} -> {now:?}");
                        if now.status == before.status {
                            prop_assert!(now.percent >= before.percent, "{before:?} -> {now:?}");
                        }
                    }
                    if before.is_terminal() {
                        prop_assert_eq!(&now, before);
                    }
                }
                previous = Some(now);
            }
            let end = end_of(fate, timeline);
            let waits = fate.never_online || fate.never_confirms;
            if waits {
                prop_assert_eq!(end, f64::INFINITY);
                let last = stage_at(fate, timeline, 1e12);
                prop_assert!(!last.is_terminal());
                let expected = if fate.never_online {
                    FirmwareUpdateStatus::Offline
                } else {
                    FirmwareUpdateStatus::AwaitingConfirmation
                };
                prop_assert_eq!(last.status, expected);
            } else {
                // Sums of fractional stages round, so "at the end" holds within a
                // rounding error, as the task's status allows for.
                let margin = 1e-9 * end.max(1.0);
                prop_assert!(end.is_finite());
                prop_assert!(stage_at(fate, timeline, end + margin).is_terminal());
                prop_assert!(!stage_at(fate, timeline, end - margin).is_terminal());
                prop_assert_eq!(stage_at(fate, timeline, end + 1e6).changed_at, end);
            }
        }
    }
}
