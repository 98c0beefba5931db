//! What a running rollout reports as it goes.
//!
//! Invariant: an event that tells of the journal carries the very [`Record`] written,
//! after it was written; nothing is told that the journal does not hold, apart from what
//! the journal cannot know (the plan's size, a wave's progress, a batch's wave).

use crate::journal::Record;
use crate::wave_check::WaveProgress;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A rollout begins or continues.
    Started {
        /// The rollout's identity.
        rollout: String,
        /// Whether it continues from a journal.
        resumed: bool,
        /// Devices in the plan.
        devices: usize,
        /// Waves in the plan.
        waves: usize,
        /// Calls in the plan.
        batches: usize,
    },
    /// A wave's submission begins.
    WaveStarted {
        /// The wave.
        wave: usize,
        /// Its devices.
        devices: usize,
        /// Its batches not yet submitted.
        batches_left: usize,
    },
    /// A batch has its task: the [`Record::Submitted`] just written, with what the record
    /// does not keep.
    Submitted {
        /// The wave of the batch.
        wave: usize,
        /// Devices in the batch.
        devices: usize,
        /// The record.
        record: Record,
    },
    /// A wave's check looked at its devices.
    Watching(WaveProgress),
    /// A batch of unknown outcome is waited for: its task was not found yet, and it is
    /// sent again only if none has appeared by `resend_at_ms` (Unix milliseconds).
    AwaitingTask {
        /// The batch.
        batch: String,
        /// When it may be sent again.
        resend_at_ms: i64,
    },
    /// A batch whose earlier call's outcome is unknown was refused, or not sent, on a
    /// later call: told right after that call's record. The later call made no task, but
    /// the earlier one may have, so the batch stays of unknown outcome and its task is
    /// looked for before anything more is sent.
    StillInDoubt {
        /// The batch.
        batch: String,
    },
    /// Any other record just written to the journal, other than the start and the intent
    /// before each call: a refusal, an unknown outcome, a wave's verdict, cancelled tasks,
    /// a pause, an abort, the end.
    Recorded(Record),
}

impl Event {
    /// The event that tells of `record` as it is written, for the records that are news
    /// as they stand; `None` for the start, the intent before a call (told of by the
    /// call's outcome) and a submitted batch (told of with its wave and size, see
    /// [`Event::Submitted`]).
    pub(crate) fn telling(record: &Record) -> Option<Self> {
        match record {
            Record::Start { .. } | Record::Intent { .. } | Record::Submitted { .. } => None,
            other => Some(Self::Recorded(other.clone())),
        }
    }
}

/// Receives events; must be cheap, since it is called while holding the rollout's lock.
pub trait Observer: Send {
    /// One event.
    fn event(&mut self, event: &Event);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {
    fn event(&mut self, _event: &Event) {}
}

impl<F: FnMut(&Event) + Send> Observer for F {
    fn event(&mut self, event: &Event) {
        self(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_are_news_are_told_as_written() {
        for record in [
            Record::Refused {
                batch: "w1-b0".into(),
                code: "InvalidParameter".into(),
                message: "bad".into(),
            },
            Record::Unknown {
                batch: "w1-b0".into(),
                error: "reset".into(),
            },
            Record::Cancelled {
                wave: 2,
                task_ids: vec![7, 8],
            },
            Record::Paused { wave: 1 },
            Record::Aborted {
                wave: 3,
                reason: "too many".into(),
            },
            Record::Finished,
        ] {
            assert_eq!(Event::telling(&record), Some(Event::Recorded(record)));
        }
        // A submitted batch is told of with its wave and size, which the record lacks.
        let submitted = Record::Submitted {
            batch: "w1-b0".into(),
            task_id: 7,
            reconciled: false,
        };
        assert_eq!(Event::telling(&submitted), None);
    }
}
