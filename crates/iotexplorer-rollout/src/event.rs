//! What a running rollout reports as it goes.

use crate::gate::GateResult;

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
