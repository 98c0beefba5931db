//! What a running rollout reports as it goes.

use crate::gate::GateResult;
use crate::journal::Record;

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
    /// A batch has its task.
    Submitted {
        /// The wave.
        wave: usize,
        /// The batch.
        batch: String,
        /// The task.
        task_id: u64,
        /// Devices in the batch.
        devices: usize,
        /// Found by reconciliation instead of from an answer.
        reconciled: bool,
    },
    /// A call's outcome is unknown; the rollout reconciles before deciding.
    Uncertain {
        /// The batch.
        batch: String,
        /// What happened.
        error: String,
    },
    /// The service refused a call.
    Refused {
        /// The batch.
        batch: String,
        /// The error code.
        code: String,
        /// The message.
        message: String,
    },
    /// A wave's gate looked at its devices.
    Watching {
        /// The wave.
        wave: usize,
        /// Devices in the wave.
        total: usize,
        /// Updated so far.
        succeeded: usize,
        /// Failed so far.
        failed: usize,
    },
    /// A wave's gate decided.
    Gated(GateResult),
    /// Unfinished tasks were cancelled after an abort.
    Cancelled {
        /// The wave.
        wave: usize,
        /// The tasks.
        task_ids: Vec<u64>,
    },
    /// The rollout paused after a wave.
    Paused {
        /// The wave.
        wave: usize,
    },
    /// The rollout stopped because a gate failed.
    Aborted {
        /// The wave.
        wave: usize,
        /// Why.
        reason: String,
    },
    /// Every wave passed.
    Finished,
}

impl Event {
    /// The event that tells of `record` as it is written, for the records that are news
    /// as they stand; `None` for those the rollout tells of otherwise, with details the
    /// journal does not keep (the wave and size of a submitted batch, the plan's size).
    pub(crate) fn telling(record: &Record) -> Option<Self> {
        let event = match record {
            Record::Refused {
                batch,
                code,
                message,
            } => Self::Refused {
                batch: batch.clone(),
                code: code.clone(),
                message: message.clone(),
            },
            Record::Unknown { batch, error } => Self::Uncertain {
                batch: batch.clone(),
                error: error.clone(),
            },
            Record::Gate(result) => Self::Gated(result.clone()),
            Record::Cancelled { wave, task_ids } => Self::Cancelled {
                wave: *wave,
                task_ids: task_ids.clone(),
            },
            Record::Paused { wave } => Self::Paused { wave: *wave },
            Record::Aborted { wave, reason } => Self::Aborted {
                wave: *wave,
                reason: reason.clone(),
            },
            Record::Finished => Self::Finished,
            Record::Start { .. } | Record::Intent { .. } | Record::Submitted { .. } => {
                return None;
            }
        };
        Some(event)
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
    fn records_that_are_news_tell_of_themselves_with_the_same_fields() {
        let told = |record: Record| Event::telling(&record);
        assert_eq!(
            told(Record::Refused {
                batch: "w1-b0".into(),
                code: "InvalidParameter".into(),
                message: "bad".into(),
            }),
            Some(Event::Refused {
                batch: "w1-b0".into(),
                code: "InvalidParameter".into(),
                message: "bad".into(),
            })
        );
        assert_eq!(
            told(Record::Unknown {
                batch: "w1-b0".into(),
                error: "reset".into(),
            }),
            Some(Event::Uncertain {
                batch: "w1-b0".into(),
                error: "reset".into(),
            })
        );
        assert_eq!(
            told(Record::Cancelled {
                wave: 2,
                task_ids: vec![7, 8],
            }),
            Some(Event::Cancelled {
                wave: 2,
                task_ids: vec![7, 8],
            })
        );
        assert_eq!(
            told(Record::Paused { wave: 1 }),
            Some(Event::Paused { wave: 1 })
        );
        assert_eq!(
            told(Record::Aborted {
                wave: 3,
                reason: "too many".into(),
            }),
            Some(Event::Aborted {
                wave: 3,
                reason: "too many".into(),
            })
        );
        assert_eq!(told(Record::Finished), Some(Event::Finished));
        // A submitted batch is told of with its wave and size, which the record lacks.
        let submitted = Record::Submitted {
            batch: "w1-b0".into(),
            task_id: 7,
            reconciled: false,
        };
        assert_eq!(told(submitted), None);
    }
}
