//! Staged, resumable, exactly-once firmware rollouts for Tencent Cloud IoT Explorer.
//!
//! A rollout splits a fleet into waves (`1%,10%,100%`) and each wave into
//! `BatchUpdateFirmware` calls of at most 100 devices. It submits a wave, then checks it
//! ([`watch`], the wave check, shown as "gate" in the output) until the wave's devices
//! settle, and goes on only while the failure rate stays within a threshold
//! ([`WaveVerdict`]). Every step goes to an fsync'd [`Journal`] before it is acted on, and
//! every call carries an idempotency [`Marker`] in `TaskUserDefine`; a rollout killed at
//! any moment is resumed from the journal alone, and a call whose outcome is unknown is
//! looked up on the service ([`Reconciler`]) until it can no longer take effect
//! ([`Settings::resend_after`]) before it is ever sent again.
//!
//! Every call is one of the client's generated typed methods, with a request built by the
//! model's builder (so checked before it is sent) and a typed answer. Retrying is the
//! client's alone, under the policy of [`Settings::retry`] ([`rollout_retry_policy`]).
//! What a run does is told to an [`Observer`] as [`Event`]s, which carry the journal's
//! [`Record`]s; [`LineDisplay`] and [`TerminalDisplay`] show them.
//!
//! Invariants, each kept by the module named:
//! - every device is in exactly one batch of exactly one wave (`plan`);
//! - a record is on disk before the rollout acts on it, replaying is a pure fold, and one
//!   process drives a journal at a time (`journal`);
//! - a batch gets at most one task: an unknown outcome is reconciled by marker, until the
//!   call can no longer take effect, before anything is resent (`execute`, `reconcile`);
//! - a request breaking a documented rule is never sent (`config`, the model's builders);
//! - the attempts of one call are bounded by the one retry policy (`calls`);
//! - an event that tells of the journal carries the record written, after it was
//!   written (`event`).
//!
//! ```
//! use iotexplorer_rollout::{Plan, Preview, RolloutSpec, parse_device_list, parse_waves};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let devices = parse_device_list("# canary first\ndev001\ndev002\ndev003\ndev004\n")?;
//! let waves = parse_waves("25%,100%")?;
//! let plan = Plan::build(&devices, &waves, 2)?;
//! assert_eq!(plan.waves.len(), 2);
//! assert_eq!(plan.waves[0].batches[0].devices, ["dev001"]);
//! assert_eq!(plan.waves[1].batches[1].id, "2-2");
//!
//! let mut spec = RolloutSpec::new("ABCDE12345", "2.0.0", &devices, waves, 2)?;
//! spec.fw_type = Some("mcu".to_owned());
//! spec.wave_timeout_secs = 600;
//! assert_eq!(spec.plan, plan);
//! let preview = Preview::of(&spec);
//! assert_eq!(preview.calls, 3);
//! assert!((preview.expected_submission_secs - 0.15).abs() < 1e-9);
//! # Ok(())
//! # }
//! ```
//!
//! Running one needs an [`iotexplorer_http::Client`]: [`Rollout::create`] (new journal)
//! or [`Rollout::resume`], then [`Rollout::run`], which ends [`Outcome::Finished`],
//! [`Outcome::Paused`] or [`Outcome::Aborted`]. [`Report::of`] reads the results back
//! from a journal.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

mod calls;
mod config;
mod display;
mod dry_run;
mod event;
mod execute;
mod fleet;
mod journal;
mod plan;
mod reconcile;
mod report;
mod wave_check;

pub use calls::rollout_retry_policy;
pub use config::{
    DEFAULT_MAX_FAILURE_RATE, DEFAULT_WAVE_TIMEOUT_SECS, Marker, RESERVED_MEMBERS, RequestError,
    RolloutSpec, TaskOptions,
};
pub use dry_run::{Preview, WavePreview};
pub use event::{Event, Observer, Silent};
pub use execute::{
    DEFAULT_RESEND_AFTER, Outcome, Rollout, RolloutError, Settings, batch_request, new_rollout_id,
};
pub use fleet::devices_not_on;

pub use display::{LineDisplay, TerminalDisplay, line_of};
pub use journal::{
    BatchState, Holder, Journal, JournalError, JournalState, MAX_JOURNAL_BYTES, Parsed, Record,
    parse,
};
pub use plan::{
    Batch, MAX_BATCH_SIZE, Plan, PlanError, Wave, WaveSpec, check_batch_size, parse_device_list,
    parse_waves,
};
pub use reconcile::Reconciler;
pub use report::{DeviceReport, Report, RolloutState, WaveReport};
pub use wave_check::{DeviceFailure, WaveCheckTiming, WaveProgress, WaveVerdict, watch};
