//! When a task starts, when each of its devices is sent the update, and when the task is cut
//! off: `StartTime`, `DelayTime`, `RateLimit` and `EndTime` of `BatchUpdateFirmware`, put on
//! the emulated clock.
//!
//! Request seconds become stages at the task's `seconds_per_step`, the scale
//! `TimeoutInterval` and `RetryInterval` already use, so a test running at a few
//! milliseconds per stage sees the shaping in milliseconds.
//!
//! The rules, ours where Tencent documents none (see the crate's README):
//! - the task starts at `StartTime` when it is set and non-zero (it wins over `DelayTime`,
//!   as Tencent documents), else `DelayTime` seconds after creation, else at once;
//! - the devices are sent the update in the order they were chosen, `RateLimit` a minute,
//!   evenly spread: the device of rank `r` at start + `r` × 60 / `RateLimit` seconds; no
//!   `RateLimit`, or 0, sends all at the start;
//! - at `EndTime` (0 or unset: none) every device not yet at an end times out, and the task
//!   ends.

/// The timing members of a `BatchUpdateFirmware` request, as sent (0 when absent).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Requested {
    /// `DelayTime`, in seconds.
    pub(crate) delay_time: i64,
    /// `StartTime`, Unix seconds.
    pub(crate) start_time: i64,
    /// `EndTime`, Unix seconds.
    pub(crate) end_time: i64,
    /// `RateLimit`, devices per minute.
    pub(crate) rate_limit: i64,
}

/// A task's timeline, in stages since it was created; the default starts at once with no
/// `EndTime`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Schedule {
    /// When the first device is sent the update.
    pub(crate) start_at: f64,
    /// Between two devices' dispatches; 0 sends all at once.
    pub(crate) dispatch_gap: f64,
    /// When the task is cut off, if it has an `EndTime`.
    pub(crate) end_at: Option<f64>,
}

/// Seconds in the minute `RateLimit` counts devices in.
const SECONDS_PER_MINUTE: f64 = 60.0;

impl Schedule {
    /// The timeline of a task created at `unix_now` with `requested`, at `seconds_per_step`
    /// emulated seconds per stage; the reason when the members cannot be honoured.
    pub(crate) fn plan(
        requested: Requested,
        unix_now: i64,
        seconds_per_step: u64,
    ) -> Result<Self, String> {
        for (name, value) in [
            ("DelayTime", requested.delay_time),
            ("StartTime", requested.start_time),
            ("EndTime", requested.end_time),
            ("RateLimit", requested.rate_limit),
        ] {
            if value < 0 {
                return Err(format!("{name} must not be negative, got {value}"));
            }
        }
        let start_unix = if requested.start_time > 0 {
            if requested.start_time < unix_now {
                return Err(format!(
                    "StartTime {} is in the past (now {unix_now}); send 0 to start at once",
                    requested.start_time
                ));
            }
            requested.start_time
        } else {
            unix_now.saturating_add(requested.delay_time)
        };
        if requested.end_time > 0 && requested.end_time <= start_unix {
            return Err(format!(
                "EndTime {} must be after the task starts ({start_unix})",
                requested.end_time
            ));
        }
        let per_step = seconds_per_step.max(1) as f64;
        let stages = |unix: i64| unix.saturating_sub(unix_now) as f64 / per_step;
        let dispatch_gap = if requested.rate_limit > 0 {
            SECONDS_PER_MINUTE / requested.rate_limit as f64 / per_step
        } else {
            0.0
        };
        Ok(Self {
            start_at: stages(start_unix),
            dispatch_gap,
            end_at: (requested.end_time > 0).then(|| stages(requested.end_time)),
        })
    }

    /// When the device of `rank` (0 for the first sent) is sent the update.
    pub(crate) fn dispatch_at(&self, rank: usize) -> f64 {
        self.start_at + rank as f64 * self.dispatch_gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;

    fn plan(requested: Requested) -> Result<Schedule, String> {
        Schedule::plan(requested, NOW, 30)
    }

    #[test]
    fn nothing_requested_starts_everything_at_once() {
        let schedule = plan(Requested::default()).expect("valid");
        assert_eq!(
            schedule,
            Schedule {
                start_at: 0.0,
                dispatch_gap: 0.0,
                end_at: None
            }
        );
        assert_eq!(schedule.dispatch_at(1_000), 0.0);
    }

    #[test]
    fn delay_time_counts_seconds_from_creation() {
        let schedule = plan(Requested {
            delay_time: 90,
            ..Requested::default()
        })
        .expect("valid");
        assert_eq!(schedule.start_at, 3.0);
    }

    #[test]
    fn start_time_wins_over_delay_time() {
        let schedule = plan(Requested {
            delay_time: 3_000,
            start_time: NOW + 60,
            ..Requested::default()
        })
        .expect("valid");
        assert_eq!(schedule.start_at, 2.0);
    }

    #[test]
    fn rate_limit_spreads_the_devices_over_each_minute() {
        let schedule = plan(Requested {
            rate_limit: 4,
            ..Requested::default()
        })
        .expect("valid");
        // 4 a minute: one every 15 s, half a stage of 30 s.
        assert_eq!(schedule.dispatch_at(0), 0.0);
        assert_eq!(schedule.dispatch_at(3), 1.5);
    }

    #[test]
    fn end_time_is_put_on_the_same_clock() {
        let schedule = plan(Requested {
            end_time: NOW + 300,
            ..Requested::default()
        })
        .expect("valid");
        assert_eq!(schedule.end_at, Some(10.0));
    }

    #[test]
    fn members_that_cannot_be_honoured_are_refused() {
        let refused = |requested: Requested| plan(requested).expect_err("refused");
        assert!(
            refused(Requested {
                start_time: NOW - 1,
                ..Requested::default()
            })
            .contains("StartTime")
        );
        assert!(
            refused(Requested {
                start_time: NOW + 60,
                end_time: NOW + 60,
                ..Requested::default()
            })
            .contains("EndTime")
        );
        // Without StartTime the start is now plus DelayTime.
        assert!(
            refused(Requested {
                delay_time: 600,
                end_time: NOW + 300,
                ..Requested::default()
            })
            .contains("EndTime")
        );
        assert!(
            refused(Requested {
                end_time: NOW - 10,
                ..Requested::default()
            })
            .contains("EndTime")
        );
        assert!(
            refused(Requested {
                rate_limit: -1,
                ..Requested::default()
            })
            .contains("RateLimit")
        );
    }

    proptest! {
        #[test]
        fn any_members_give_an_answer_and_a_sane_timeline(
            delay_time in any::<i64>(),
            start_time in prop_oneof![Just(0i64), any::<i64>(), NOW..NOW + 100_000],
            end_time in prop_oneof![Just(0i64), any::<i64>(), NOW..NOW + 200_000],
            rate_limit in any::<i64>(),
            seconds_per_step in any::<u64>(),
            rank in any::<usize>(),
        ) {
            let requested = Requested { delay_time, start_time, end_time, rate_limit };
            if let Ok(schedule) = Schedule::plan(requested, NOW, seconds_per_step) {
                prop_assert!(schedule.start_at >= 0.0 && schedule.start_at.is_finite());
                prop_assert!(schedule.dispatch_gap >= 0.0 && schedule.dispatch_gap.is_finite());
                let dispatch = schedule.dispatch_at(rank);
                prop_assert!(dispatch >= schedule.start_at);
                if let Some(end) = schedule.end_at {
                    // The integers are ordered; rounding to floats keeps the order.
                    prop_assert!(end >= schedule.start_at);
                }
            }
        }
    }
}
