//! Running a rollout: submit each wave exactly once, gate it, and go on, pause or abort,
//! writing every step to the journal before acting on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iotexplorer_http::{Client, Error, RetryPolicy};
use iotexplorer_model::{
    BatchUpdateFirmwareRequest, ErrorCode, FirmwareTaskStatus, SIGNATURE_MAX_AGE_SECS,
    UpdateOtaTaskStatusRequest,
};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::calls::{built, describe_task, rollout_retry_policy};
use crate::config::{Marker, RequestError, RolloutSpec};
use crate::event::{Event, Observer};
use crate::journal::{BatchState, Journal, JournalError, JournalState, Record};
use crate::plan::{Batch, PlanError};
use crate::reconcile::Reconciler;
use crate::wave_check::{self, WaveCheckTiming, WaveVerdict};

/// How a rollout run ended (when it did not fail).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every wave was submitted and passed its gate.
    Finished,
    /// Paused after this wave, as `--pause-after-wave` asked.
    Paused {
        /// The wave.
        wave: usize,
    },
    /// A gate failed; later waves were not submitted.
    Aborted {
        /// The wave.
        wave: usize,
        /// Why.
        reason: String,
    },
}

/// Why a rollout run stopped early. The journal stays consistent: `rollout resume`
/// continues from where it stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// The plan is not valid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A call failed (the batch, when it was a submission).
    #[error("{}{source}", batch.as_ref().map(|b| format!("batch {b}: ")).unwrap_or_default())]
    Call {
        /// The batch whose submission failed, if any.
        batch: Option<String>,
        /// The client's error.
        source: Box<Error>,
    },
    /// A batch's request could not be built; nothing was sent for it.
    #[error("batch {batch}: {source}")]
    Request {
        /// The batch.
        batch: String,
        /// Why.
        source: RequestError,
    },
    /// The service holds a state the rollout cannot explain, e.g. a batch with two tasks.
    #[error("{0}")]
    Inconsistent(String),
    /// A batch of unknown outcome was left to a resume, unsent, as another batch failed.
    #[error("batch {batch}: left of unknown outcome, as another batch failed")]
    Stopped {
        /// The batch.
        batch: String,
    },
}

impl RolloutError {
    fn call(batch: Option<&str>, source: Error) -> Self {
        Self::Call {
            batch: batch.map(str::to_owned),
            source: Box::new(source),
        }
    }
}

/// Tuning of a run; the defaults suit the real service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Calls in flight at once (the client's rate limiter paces them).
    pub concurrency: usize,
    /// The client's retry policy for the rollout's calls, which replaces the one the
    /// client was built with: the only retrying of throttled or transiently failed calls
    /// there is. [`rollout_retry_policy`] by default. (Waiting on a call of unknown
    /// outcome looks for its task on a schedule of its own, until the call can no longer
    /// land; a look that fails before the last is a look that found nothing yet, not a
    /// call retried.)
    pub retry: RetryPolicy,
    /// How long after a call of unknown outcome to wait before looking for its task, so
    /// that a request still being processed has landed.
    pub reconcile_delay: Duration,
    /// How long after a call of unknown outcome its batch may be sent again, when no task
    /// has been found by then; until then its task is looked for, more and more rarely.
    /// [`DEFAULT_RESEND_AFTER`] by default: a call sent again earlier could find no task
    /// only because the first is still on its way, and then both would make one.
    pub resend_after: Duration,
    /// Attempts per batch within one run before giving up.
    pub max_attempts: u32,
    /// How often a wave's check looks at its devices.
    pub wave_check: WaveCheckTiming,
}

/// When a call of unknown outcome can no longer make a task: the service refuses a request
/// signed longer ago than [`SIGNATURE_MAX_AGE_SECS`], and the minute beyond covers one it
/// admitted just in time and is still running, and a clock here that is a little behind
/// the service's.
pub const DEFAULT_RESEND_AFTER: Duration = Duration::from_secs(SIGNATURE_MAX_AGE_SECS + 60);

/// The longest pause between two looks for the task of a call of unknown outcome.
const MAX_LOOKUP_PAUSE: Duration = Duration::from_secs(30);

/// The shortest pause between two looks, whatever the settings say.
const MIN_LOOKUP_PAUSE: Duration = Duration::from_millis(20);

impl Default for Settings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            retry: rollout_retry_policy(),
            reconcile_delay: Duration::from_secs(2),
            resend_after: DEFAULT_RESEND_AFTER,
            max_attempts: 5,
            wave_check: WaveCheckTiming::default(),
        }
    }
}

/// What the concurrent submissions share.
struct Shared {
    client: Client,
    spec: RolloutSpec,
    rollout: String,
    created: i64,
    settings: Settings,
    journal: Mutex<Journal>,
    observer: Mutex<Box<dyn Observer>>,
    reconciler: Reconciler,
    /// Set when a submission failed: the others waiting out a call of unknown outcome
    /// stop waiting, and send nothing more.
    stopping: AtomicBool,
    /// Wakes those waits when `stopping` is set.
    stop: Notify,
}

impl Shared {
    fn record(&self, record: &Record) -> Result<(), JournalError> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(record)
    }

    /// Tells the submissions that one failed: see [`Shared::pause`].
    fn stop_waiting(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
    }

    /// Waits `duration`; `false`, at once, when a submission failed meanwhile.
    async fn pause(&self, duration: Duration) -> bool {
        let mut stopped = std::pin::pin!(self.stop.notified());
        // Listening before the flag is read: a failure in between still wakes it.
        stopped.as_mut().enable();
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        // Woken before the time is up: stopped.
        tokio::time::timeout(duration, stopped).await.is_err()
    }

    fn emit(&self, event: &Event) {
        self.observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .event(event);
    }
}

/// A rollout bound to its journal and a client.
pub struct Rollout {
    shared: Arc<Shared>,
    state: JournalState,
    resumed: bool,
}

impl std::fmt::Debug for Rollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollout")
            .field("rollout", &self.state.rollout)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds now.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh rollout identity: time and process, unique enough for markers.
pub fn new_rollout_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("r{nanos:x}p{:x}", std::process::id())
}

impl Rollout {
    /// Starts a new rollout: creates the journal (refusing an existing file) and writes
    /// its first record.
    pub fn create(
        path: &Path,
        spec: RolloutSpec,
        client: &Client,
        settings: Settings,
        observer: Box<dyn Observer>,
    ) -> Result<Self, RolloutError> {
        let start = Record::Start {
            rollout: new_rollout_id(),
            created: unix_ms() / 1000,
            spec: Box::new(spec),
        };
        let journal = Journal::create(path, &start)?;
        let state = JournalState::replay(std::slice::from_ref(&start), path)?;
        Ok(Self::assemble(
            journal, state, client, settings, observer, false,
        ))
    }

    /// Continues the rollout of an existing journal, which this process then holds
    /// ([`JournalError::InUse`] when another one does).
    pub fn resume(
        path: &Path,
        client: &Client,
        settings: Settings,
        observer: Box<dyn Observer>,
    ) -> Result<Self, RolloutError> {
        let (journal, records) = Journal::open(path)?;
        let state = JournalState::replay(&records, path)?;
        Ok(Self::resume_opened(
            journal, state, client, settings, observer,
        ))
    }

    /// Continues the rollout of a journal already opened with [`Journal::open`] and
    /// replayed into `state`: lets a caller take the journal and look at its state
    /// (a finished rollout needs no client) before anything else, replaying it once.
    pub fn resume_opened(
        journal: Journal,
        state: JournalState,
        client: &Client,
        settings: Settings,
        observer: Box<dyn Observer>,
    ) -> Self {
        Self::assemble(journal, state, client, settings, observer, true)
    }

    fn assemble(
        journal: Journal,
        state: JournalState,
        client: &Client,
        settings: Settings,
        observer: Box<dyn Observer>,
        resumed: bool,
    ) -> Self {
        let reconciler = Reconciler::new();
        for (batch, task) in state.tasks() {
            reconciler.know(task, batch);
        }
        let shared = Arc::new(Shared {
            client: client.with_retry_policy(settings.retry),
            spec: state.spec.clone(),
            rollout: state.rollout.clone(),
            created: state.created,
            settings,
            journal: Mutex::new(journal),
            observer: Mutex::new(observer),
            reconciler,
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
        });
        Self {
            shared,
            state,
            resumed,
        }
    }

    /// The state as of the journal and this run so far.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    fn record(&mut self, record: &Record) -> Result<(), RolloutError> {
        self.shared.record(record)?;
        self.state.apply(record);
        Ok(())
    }

    /// Records `record`, then tells the observer of it when it is news as it stands.
    fn record_and_tell(&mut self, record: &Record) -> Result<(), RolloutError> {
        self.record(record)?;
        if let Some(event) = Event::telling(record) {
            self.shared.emit(&event);
        }
        Ok(())
    }

    /// Runs the rollout to its end, a pause or an abort. A finished or aborted rollout
    /// is left as it is.
    pub async fn run(&mut self) -> Result<Outcome, RolloutError> {
        if self.state.finished {
            return Ok(Outcome::Finished);
        }
        if let Some((wave, reason)) = &self.state.aborted {
            return Ok(Outcome::Aborted {
                wave: *wave,
                reason: reason.clone(),
            });
        }
        let spec = &self.shared.spec;
        self.shared.emit(&Event::Started {
            rollout: self.state.rollout.clone(),
            resumed: self.resumed,
            devices: spec.plan.device_count(),
            waves: spec.plan.waves.len(),
            batches: spec.plan.batch_count(),
        });
        let waves = spec.plan.waves.clone();
        let last = waves.len();
        for wave in &waves {
            let gated = self.state.verdicts.get(&wave.number).cloned();
            let result = match gated {
                Some(result) => result,
                None => {
                    self.submit_wave(wave.number, &wave.batches).await?;
                    let tasks: BTreeMap<String, u64> = self
                        .state
                        .tasks()
                        .into_iter()
                        .map(|(batch, task)| (batch.to_owned(), task))
                        .collect();
                    let shared = Arc::clone(&self.shared);
                    let mut report = |progress| shared.emit(&Event::Watching(progress));
                    let result = wave_check::watch(
                        &self.shared.client,
                        &self.shared.spec,
                        wave,
                        &tasks,
                        self.shared.settings.wave_check,
                        &mut report,
                    )
                    .await
                    .map_err(|err| RolloutError::call(None, err))?;
                    self.record_and_tell(&Record::Verdict(result.clone()))?;
                    result
                }
            };
            if !result.passed {
                return self.abort(&result).await;
            }
            if self.shared.spec.pause_after_wave
                && wave.number < last
                && !self.state.paused.contains(&wave.number)
            {
                self.record_and_tell(&Record::Paused { wave: wave.number })?;
                return Ok(Outcome::Paused { wave: wave.number });
            }
        }
        self.record_and_tell(&Record::Finished)?;
        Ok(Outcome::Finished)
    }

    async fn abort(&mut self, result: &WaveVerdict) -> Result<Outcome, RolloutError> {
        let wave = result.wave;
        let mut reason = format!(
            "wave {wave}: failure rate {:.1}% ({} failed, {} unsettled of {}) exceeds {:.1}%",
            result.failure_rate * 100.0,
            result.failed,
            result.pending,
            result.total,
            self.shared.spec.max_failure_rate * 100.0
        );
        if self.shared.spec.cancel_on_abort && !result.unsettled_tasks.is_empty() {
            let mut cancelled = Vec::new();
            let mut finished = Vec::new();
            let mut failures = Vec::new();
            for task in &result.unsettled_tasks {
                if self.state.cancelled.contains(task) {
                    continue;
                }
                let Err(err) = self.cancel(*task).await else {
                    cancelled.push(*task);
                    continue;
                };
                // A task may end between the gate's look and the cancel, and the service
                // refuses to cancel a task whose every device updated: the task's own
                // status tells that from a cancel that failed.
                let seen = match self.task_status(*task).await {
                    Ok(Some(FirmwareTaskStatus::Cancelled)) => {
                        cancelled.push(*task);
                        continue;
                    }
                    Ok(Some(FirmwareTaskStatus::Finished)) => {
                        finished.push(*task);
                        continue;
                    }
                    Ok(Some(status)) => format!(" (its status is {status} ({}))", status.name()),
                    Ok(None) => String::new(),
                    Err(lookup) => format!(" (its status could not be read: {lookup})"),
                };
                failures.push(format!("task {task}: {err}{seen}"));
            }
            if !cancelled.is_empty() {
                self.record_and_tell(&Record::Cancelled {
                    wave,
                    task_ids: cancelled,
                })?;
            }
            for task in finished {
                reason.push_str(&format!(
                    "; task {task} finished before it could be cancelled"
                ));
            }
            if !failures.is_empty() {
                reason.push_str("; could not cancel ");
                reason.push_str(&failures.join(", "));
            }
        }
        self.record_and_tell(&Record::Aborted {
            wave,
            reason: reason.clone(),
        })?;
        Ok(Outcome::Aborted { wave, reason })
    }

    /// Cancels the unfinished task `task`.
    async fn cancel(&self, task: u64) -> Result<(), Error> {
        let request = built(
            UpdateOtaTaskStatusRequest::builder()
                .product_id(self.shared.spec.product_id.as_str())
                .task_id(i64::try_from(task).unwrap_or(i64::MAX))
                .status(FirmwareTaskStatus::Cancelled)
                .build(),
        )?;
        self.shared.client.update_ota_task_status(&request).await?;
        Ok(())
    }

    /// The status the service reports for task `task`.
    async fn task_status(&self, task: u64) -> Result<Option<FirmwareTaskStatus>, Error> {
        let request = describe_task(&self.shared.spec, task)?;
        Ok(self
            .shared
            .client
            .describe_firmware_task(&request)
            .await?
            .status)
    }

    /// Gives every batch of the wave its task, exactly once.
    async fn submit_wave(&mut self, wave: usize, batches: &[Batch]) -> Result<(), RolloutError> {
        let uncertain: BTreeSet<String> = batches
            .iter()
            .filter(|b| self.state.batches.get(&b.id) == Some(&BatchState::Uncertain))
            .map(|b| b.id.clone())
            .collect();
        // After a crash, calls of unknown outcome are looked up before anything is sent.
        if !uncertain.is_empty() {
            let since = unix_ms().saturating_sub(self.state.last_intent_ms());
            let delay = self.shared.settings.reconcile_delay;
            let waited = Duration::from_millis(u64::try_from(since).unwrap_or(0));
            if waited < delay {
                tokio::time::sleep(delay - waited).await;
            }
            let found = self
                .shared
                .reconciler
                .find(
                    &self.shared.client,
                    &self.shared.spec,
                    &self.shared.rollout,
                    self.shared.created,
                    &uncertain,
                )
                .await
                .map_err(|err| RolloutError::call(None, err))?;
            for (batch, tasks) in found {
                let task_id = single_task(&batch, &tasks)?;
                let devices = batch_size(batches, &batch);
                let record = Record::Submitted {
                    batch,
                    task_id,
                    reconciled: true,
                };
                self.record(&record)?;
                self.shared.emit(&Event::Submitted {
                    wave,
                    devices,
                    record,
                });
            }
        }
        let pending: Vec<Batch> = batches
            .iter()
            .filter(|b| {
                !matches!(
                    self.state.batches.get(&b.id),
                    Some(BatchState::Submitted { .. })
                )
            })
            .cloned()
            .collect();
        self.shared.emit(&Event::WaveStarted {
            wave,
            devices: batches.iter().map(|b| b.devices.len()).sum(),
            batches_left: pending.len(),
        });
        if pending.is_empty() {
            return Ok(());
        }
        let semaphore = Arc::new(Semaphore::new(self.shared.settings.concurrency.max(1)));
        let mut running = JoinSet::new();
        let mut failure: Option<RolloutError> = None;
        let mut queue = pending.into_iter();
        loop {
            // Launch while there is room and nothing has failed yet.
            while failure.is_none() && semaphore.available_permits() > 0 {
                let Some(batch) = queue.next() else { break };
                let Ok(permit) = Arc::clone(&semaphore).try_acquire_owned() else {
                    break;
                };
                let shared = Arc::clone(&self.shared);
                let unknown_since = self.state.unknown_since_ms(&batch.id);
                running.spawn(async move {
                    let result = submit_batch(&shared, wave, &batch, unknown_since).await;
                    drop(permit);
                    result
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let records = match joined {
                Ok(Ok(records)) => records,
                Ok(Err(failed)) => {
                    let (records, err) = *failed;
                    failure.get_or_insert(err);
                    self.shared.stop_waiting();
                    records
                }
                Err(err) => {
                    failure.get_or_insert(RolloutError::Inconsistent(format!(
                        "a submission stopped unexpectedly: {err}"
                    )));
                    Vec::new()
                }
            };
            // The records are already in the journal; mirror them in memory.
            for record in &records {
                self.state.apply(record);
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn batch_size(batches: &[Batch], id: &str) -> usize {
    batches
        .iter()
        .find(|b| b.id == id)
        .map_or(0, |b| b.devices.len())
}

fn single_task(batch: &str, tasks: &[u64]) -> Result<u64, RolloutError> {
    match tasks {
        [task] => Ok(*task),
        [] => Err(RolloutError::Inconsistent(format!(
            "batch {batch}: no task found"
        ))),
        many => Err(RolloutError::Inconsistent(format!(
            "batch {batch} has {} tasks on the service ({many:?}); resolve by hand",
            many.len()
        ))),
    }
}

/// What one submission wrote, and its error if it failed.
type Submission = Result<Vec<Record>, Box<(Vec<Record>, RolloutError)>>;

/// Whether a failed call certainly did not create a task.
fn certainly_not_created(error: &Error) -> bool {
    match error {
        // A transient server failure (`InternalError*`, `ServiceUnavailable`, ...) may
        // follow partial processing: the model's rule, which resends those for reads only.
        Error::Api { code, .. } => code.is_retryable_for(false) || !code.is_retryable_for(true),
        other => other.was_not_sent(),
    }
}

/// Submits one batch: intent, call, outcome. After a call of unknown outcome (in this run,
/// or from `unknown_since`, the Unix milliseconds of the batch's latest call in the
/// journal), looks for its task by marker, and sends again only once that call can no
/// longer make one ([`Settings::resend_after`]) and no task has appeared.
async fn submit_batch(
    shared: &Shared,
    wave: usize,
    batch: &Batch,
    unknown_since: Option<i64>,
) -> Submission {
    let mut written = Vec::new();
    let marker = Marker {
        rollout: shared.rollout.clone(),
        batch: batch.id.clone(),
    }
    .to_text();
    // Built before anything is written: a request that cannot be built is never sent.
    let request = match shared.spec.batch_request(&batch.devices, &marker) {
        Ok(request) => request,
        Err(source) => {
            return Err(Box::new((
                written,
                RolloutError::Request {
                    batch: batch.id.clone(),
                    source,
                },
            )));
        }
    };
    let write = |record: Record, written: &mut Vec<Record>| -> Result<(), RolloutError> {
        shared.record(&record)?;
        written.push(record);
        Ok(())
    };
    let write_and_tell = |record: Record, written: &mut Vec<Record>| {
        let event = Event::telling(&record);
        write(record, written)?;
        if let Some(event) = event {
            shared.emit(&event);
        }
        Ok::<(), RolloutError>(())
    };
    if unknown_since.is_some() {
        // Written before anything is sent, so that whatever this run hears next (a
        // refusal), the journal keeps that an earlier call may still have made a task.
        let unknown = Record::Unknown {
            batch: batch.id.clone(),
            error: "an earlier call has no known outcome and its task was not found".to_owned(),
        };
        if let Err(err) = write_and_tell(unknown, &mut written) {
            return Err(Box::new((written, err)));
        }
    }
    let mut unknown_since = unknown_since;
    let mut last_error = None;
    let mut attempt = 0;
    loop {
        if let Some(since) = unknown_since {
            // With no attempt left, one look; a resume waits out the rest.
            let patient = attempt < shared.settings.max_attempts;
            match await_task(shared, &batch.id, since, patient).await {
                Ok(Looked::Found(task_id)) => {
                    return finish(shared, wave, batch, task_id, true, written);
                }
                Ok(Looked::Absent) => {}
                Ok(Looked::Stopped) => {
                    let err = RolloutError::Stopped {
                        batch: batch.id.clone(),
                    };
                    return Err(Box::new((written, err)));
                }
                Err(err) => return Err(Box::new((written, err))),
            }
        }
        if attempt == shared.settings.max_attempts {
            let err = match last_error {
                Some(error) => RolloutError::call(Some(&batch.id), error),
                None => {
                    RolloutError::Inconsistent(format!("batch {}: no attempt was made", batch.id))
                }
            };
            return Err(Box::new((written, err)));
        }
        if unknown_since.is_some() && shared.stopping.load(Ordering::SeqCst) {
            let err = RolloutError::Stopped {
                batch: batch.id.clone(),
            };
            return Err(Box::new((written, err)));
        }
        attempt += 1;
        let sent_at = unix_ms();
        let intent = Record::Intent {
            batch: batch.id.clone(),
            devices: batch.devices.clone(),
            marker: marker.clone(),
            at_ms: sent_at,
        };
        if let Err(err) = write(intent, &mut written) {
            return Err(Box::new((written, err)));
        }
        // Throttling and failures to connect are retried inside this call, by the
        // client's policy; what comes back is final for this attempt.
        let error = match shared.client.batch_update_firmware(&request).await {
            Ok(response) => {
                let Some(task_id) = response.task_id else {
                    // A success without a task ID: whether a task exists is unknown. It
                    // is told like any other unknown outcome; a resume reconciles it.
                    let err = RolloutError::Inconsistent(format!(
                        "batch {}: the answer has no TaskId",
                        batch.id
                    ));
                    let unknown = Record::Unknown {
                        batch: batch.id.clone(),
                        error: err.to_string(),
                    };
                    let _ = write_and_tell(unknown, &mut written);
                    return Err(Box::new((written, err)));
                };
                return finish(shared, wave, batch, task_id, false, written);
            }
            Err(error) => error,
        };
        // The client may sign and send the call again inside it (throttling), so what it
        // sent last is no older than its return.
        let returned_at = unix_ms();
        // Busy after a call of unknown outcome: maybe with that call's own task.
        let busy = error.code() == Some(&ErrorCode::FailedOperationDeviceIsUpdating);
        if certainly_not_created(&error) && !(busy && unknown_since.is_some()) {
            // Written, so that a resume knows this call made no task and need not wait
            // for it as for one of unknown outcome.
            let outcome = match &error {
                Error::Api { code, message, .. } => Record::Refused {
                    batch: batch.id.clone(),
                    code: code.clone(),
                    message: message.clone(),
                },
                other => Record::NotSent {
                    batch: batch.id.clone(),
                    error: other.to_string(),
                },
            };
            if let Err(err) = write_and_tell(outcome, &mut written) {
                return Err(Box::new((written, err)));
            }
            if unknown_since.is_some() {
                shared.emit(&Event::StillInDoubt {
                    batch: batch.id.clone(),
                });
            }
            return Err(Box::new((
                written,
                RolloutError::call(Some(&batch.id), error),
            )));
        }
        // The call may have created the task: look before sending again.
        let unknown = Record::Unknown {
            batch: batch.id.clone(),
            error: error.to_string(),
        };
        if let Err(err) = write_and_tell(unknown, &mut written) {
            return Err(Box::new((written, err)));
        }
        // A busy refusal made no task: the doubt stays where it was.
        unknown_since = Some(match unknown_since {
            Some(earlier) if busy => earlier,
            _ => returned_at,
        });
        last_error = Some(error);
    }
}

/// Looks for the task of `batch`, whose call made at `since_ms` (Unix milliseconds) has
/// an unknown outcome: first once the service has had time to process it, then, when
/// `patient`, again and again until the call can no longer make a task (see [`Looked`]).
async fn await_task(
    shared: &Shared,
    batch: &str,
    since_ms: i64,
    patient: bool,
) -> Result<Looked, RolloutError> {
    let settings = &shared.settings;
    // A time that cannot be the call's (before the rollout began, or ahead of this clock,
    // which was then wrong or is now) counts from now: from it the wait could end before
    // the call can no longer land, or not for hours.
    let now = unix_ms();
    let since_ms = if since_ms < shared.created.saturating_mul(1000) || since_ms > now {
        now
    } else {
        since_ms
    };
    let first_look = since_ms.saturating_add(millis(settings.reconcile_delay));
    let resend_at = since_ms.saturating_add(millis(settings.resend_after));
    let mut told = !patient;
    if !shared.pause(until(first_look)).await {
        return Ok(Looked::Stopped);
    }
    let wanted = BTreeSet::from([batch.to_owned()]);
    let mut pause = settings.reconcile_delay;
    loop {
        let looked_at = unix_ms();
        let last_look = !patient || looked_at >= resend_at;
        let found = match shared
            .reconciler
            .find(
                &shared.client,
                &shared.spec,
                &shared.rollout,
                shared.created,
                &wanted,
            )
            .await
        {
            Ok(found) => found,
            // A look that failed before the last proves nothing either way: look again.
            Err(_) if !last_look => BTreeMap::new(),
            Err(err) => return Err(RolloutError::call(None, err)),
        };
        if let Some(tasks) = found.get(batch) {
            return single_task(batch, tasks).map(Looked::Found);
        }
        if last_look {
            return Ok(Looked::Absent);
        }
        if !told {
            // Said once: the wait may be minutes long.
            told = true;
            shared.emit(&Event::AwaitingTask {
                batch: batch.to_owned(),
                resend_at_ms: resend_at,
            });
        }
        pause = pause
            .saturating_mul(2)
            .clamp(MIN_LOOKUP_PAUSE, MAX_LOOKUP_PAUSE);
        // The last look begins once the call can no longer make a task.
        if !shared.pause(pause.min(until(resend_at))).await {
            return Ok(Looked::Stopped);
        }
    }
}

/// What a look for the task of a call of unknown outcome came to.
enum Looked {
    /// The task.
    Found(u64),
    /// None, by a look begun once the call could no longer make one.
    Absent,
    /// Another submission failed: nothing more is sent in this run.
    Stopped,
}

/// `duration` in milliseconds, saturated.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The time from now until `at_ms` (Unix milliseconds); zero once it has passed.
fn until(at_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(at_ms.saturating_sub(unix_ms())).unwrap_or(0))
}

fn finish(
    shared: &Shared,
    wave: usize,
    batch: &Batch,
    task_id: u64,
    reconciled: bool,
    mut written: Vec<Record>,
) -> Submission {
    let record = Record::Submitted {
        batch: batch.id.clone(),
        task_id,
        reconciled,
    };
    if let Err(err) = shared.record(&record) {
        return Err(Box::new((written, err.into())));
    }
    shared.reconciler.know(task_id, &batch.id);
    shared.emit(&Event::Submitted {
        wave,
        devices: batch.devices.len(),
        record: record.clone(),
    });
    written.push(record);
    Ok(written)
}

/// The `BatchUpdateFirmware` request of `batch` in rollout `rollout`, exactly as the
/// rollout would send it: for previews and for checking a plan before it starts.
pub fn batch_request(
    spec: &RolloutSpec,
    rollout: &str,
    batch: &Batch,
) -> Result<BatchUpdateFirmwareRequest, RequestError> {
    let marker = Marker {
        rollout: rollout.to_owned(),
        batch: batch.id.clone(),
    };
    spec.batch_request(&batch.devices, &marker.to_text())
}
