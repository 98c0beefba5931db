//! The state and, with `--state FILE`, keeping it across restarts.
//!
//! `FILE` is a snapshot: the whole state as JSON (the format of earlier versions, which
//! load as they are). `FILE.log` holds the changes since, one flushed entry each (see
//! [`crate::state_log`]), so a change costs one short append and one flush however large the
//! state is. A change is applied in memory only after its entry is on the disk: a change
//! the disk refused answers `InternalError` and leaves nothing behind, and TaskIds, which
//! come from the entries, are never handed out twice.
//!
//! Once the log outgrows the snapshot (and a floor), it is folded into a new snapshot off
//! the request path: the change that finds the log too long seals it as `FILE.log.old`
//! (changes go on in a new `FILE.log`, see [`StateLog::seal`]), and a thread of its own
//! reads the snapshot, applies the sealed entries, writes the result to `FILE.tmp`,
//! flushes it, renames it over `FILE` and flushes the directory; only then does the next
//! change remove `FILE.log.old`. Nothing of it touches the state in memory, so neither reads nor changes
//! wait for it, and a change costs the same however large the state is. A crash between
//! any two steps leaves the old snapshot and both logs, or the new snapshot, entries it
//! already holds (which the sequence numbers skip) and the new log; a start that finds
//! `FILE.log.old` finishes the fold before serving.
//!
//! One emulator at a time keeps a state: it holds an exclusive lock of the operating
//! system on `FILE.lock` while it runs (gone with the process, however it ends), and
//! another one refuses to start on the same file (after waiting a few seconds for it to
//! let go) rather than interleave its changes.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use iotexplorer_model::{ApiError, ErrorCode};

use crate::actions::{self, Answer, Context, Prepared, PreparedChange};
use crate::change::Change;
use crate::disk::StorageFaults;
use crate::fixture::{DeviceListFixture, Fixture, ProgressSettings};
use crate::random::Random;
use crate::state::{State, unix_now};
use crate::state_log::{self, StateLog, parent_of, sibling_of};

/// The log is folded into the snapshot once it is larger than the snapshot and than this.
pub(crate) const DEFAULT_LOG_LIMIT: u64 = 64 * 1024;

/// The state, and where it is kept.
pub(crate) struct Store {
    state: RwLock<State>,
    /// Taken for a whole change (plan, log, apply), so changes happen one at a time and
    /// in the log's order, while reads go on under `state`'s read lock.
    writer: Writer,
    /// Draws the fates of the devices of new tasks.
    fates: Random,
    disk: StorageFaults,
}

/// Where changes go, behind the lock that makes them one at a time.
enum Writer {
    /// Only into the state in memory.
    Memory(Mutex<()>),
    /// Into the state log first: a change waits for a flush.
    Files(Mutex<Kept>),
}

/// A state kept in files.
#[derive(Debug)]
struct Kept {
    snapshot: PathBuf,
    log: StateLog,
    /// Size of the snapshot last written or read.
    snapshot_len: u64,
    log_limit: u64,
    /// The log length at which to try folding it again after a failed attempt.
    retry_at: u64,
    /// `FILE.log.old` holds entries no snapshot holds yet: sealed for a fold that is
    /// running or failed (and is tried again before another log is sealed).
    sealed: bool,
    /// The fold running in the background, if any.
    folding: Option<JoinHandle<io::Result<u64>>>,
    /// `FILE.lock`, locked while this emulator keeps the state; a fold still running
    /// when the emulator is dropped keeps it locked until it is done.
    lock: Arc<File>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("state", &*self.read())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The state at start: read from `state_file` and its log when they exist, else the
    /// fixture's (written as the first snapshot when there is a state file); `progress`
    /// replaces the saved or fixture settings. Only a state file can fail.
    pub(crate) fn start(
        state_file: Option<&Path>,
        log_limit: u64,
        fixture: &Fixture,
        progress: Option<ProgressSettings>,
        fates: Random,
    ) -> io::Result<Self> {
        let adjust = |state: &mut State| {
            if let Some(progress) = progress {
                state.progress = progress;
            }
        };
        match state_file {
            Some(snapshot) => Self::open(
                snapshot,
                log_limit,
                || State::from_fixture(fixture),
                adjust,
                fates,
            ),
            None => {
                let mut state = State::from_fixture(fixture);
                adjust(&mut state);
                Ok(Self::in_memory(state, fates))
            }
        }
    }

    /// A state of `initial` kept only in memory.
    fn in_memory(initial: State, fates: Random) -> Self {
        Self {
            state: RwLock::new(initial),
            writer: Writer::Memory(Mutex::new(())),
            fates,
            disk: StorageFaults::default(),
        }
    }

    /// The state kept in `snapshot` and its log: read back when the snapshot exists, else
    /// `initial`, written as the first snapshot. `adjust` runs on the state before anything
    /// is served.
    fn open(
        snapshot: &Path,
        log_limit: u64,
        initial: impl FnOnce() -> State,
        adjust: impl FnOnce(&mut State),
        fates: Random,
    ) -> io::Result<Self> {
        let disk = StorageFaults::default();
        // Before anything is read: another emulator may be changing the files.
        let lock = lock_state(snapshot)?;
        let log_path = log_path(snapshot);
        // A temporary snapshot is a fold that did not finish; the files it would have
        // replaced are still whole.
        let _ = std::fs::remove_file(temporary_path(snapshot));
        let _ = std::fs::remove_file(sibling_of(&log_path, ".next"));
        let sealed_path = sealed_path(snapshot);
        let sealed = state_log::read(&sealed_path)?;
        let contents = state_log::read(&log_path)?;
        let (mut state, snapshot_len, last_seq) = match read_snapshot(snapshot)? {
            Some((mut state, snapshot_len)) => {
                replay(&mut state, &sealed_path, sealed.entries)?;
                let last_seq = replay(&mut state, &log_path, contents.entries)?;
                (state, snapshot_len, last_seq)
            }
            None if contents.complete_len > 0 || sealed.complete_len > 0 => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} holds changes, but the snapshot {} they follow is missing; \
                         restore it, or remove the log to start afresh",
                        log_path.display(),
                        snapshot.display()
                    ),
                ));
            }
            None => {
                let state = initial();
                let snapshot_len = write_snapshot(snapshot, &serde_json::to_vec(&state)?, &disk)?;
                let last_seq = state.log_seq;
                (state, snapshot_len, last_seq)
            }
        };
        state.rebuild_clocks();
        adjust(&mut state);
        let log = StateLog::open(&log_path, contents.complete_len, last_seq, &disk)?;
        let mut kept = Kept {
            snapshot: snapshot.to_owned(),
            log,
            snapshot_len,
            log_limit,
            retry_at: 0,
            sealed: sealed_path.exists(),
            folding: None,
            lock: Arc::new(lock),
        };
        if kept.sealed {
            // A fold was cut short: finish it now. If the disk cannot take it (full), the
            // state loads all the same, and the sealed log is folded again later, before
            // another one is sealed.
            if fold_now(&state, &mut kept, &disk).is_err() {
                kept.fold_failed();
            }
        }
        Ok(Self {
            state: RwLock::new(state),
            writer: Writer::Files(Mutex::new(kept)),
            fates,
            disk,
        })
    }

    /// The injected storage failures.
    pub(crate) fn storage_faults(&self) -> &StorageFaults {
        &self.disk
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while applying a change is a bug; the state it leaves is still served.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` holding the writer lock: with the files the state is kept in, if any.
    fn with_writer<T>(&self, change: impl FnOnce(Option<&mut Kept>) -> T) -> T {
        // A panic while a change was being written is a bug; the files stay consistent,
        // since an entry is cut off again unless it was flushed whole.
        match &self.writer {
            Writer::Memory(lock) => {
                let _turn = lock.lock().unwrap_or_else(PoisonError::into_inner);
                change(None)
            }
            Writer::Files(lock) => {
                let mut kept = lock.lock().unwrap_or_else(PoisonError::into_inner);
                change(Some(&mut kept))
            }
        }
    }

    /// Changes how devices of new tasks progress; a setting, not kept in the log.
    pub(crate) fn set_progress(&self, progress: ProgressSettings) {
        self.write().progress = progress;
    }

    /// What an action runs with besides the state, now.
    fn context<'a>(&'a self, base_url: &'a str, request_id: &'a str) -> Context<'a> {
        Context {
            base_url,
            request_id,
            fates: &self.fates,
            now: Instant::now(),
            unix_now: unix_now(),
            // Each prepared request puts in its sender's account.
            account: None,
        }
    }

    /// Answers a request. A change waits for its entry to be flushed, off the async
    /// threads.
    pub(crate) async fn run(
        self: &Arc<Self>,
        action: &'static str,
        prepared: Option<Prepared>,
        base_url: &str,
        request_id: &str,
    ) -> Answer {
        match prepared {
            None => Err(actions::unsupported(action)),
            Some(Prepared::Read(read)) => read(&self.read(), &self.context(base_url, request_id)),
            Some(Prepared::Change(plan)) if matches!(self.writer, Writer::Files(_)) => {
                let store = Arc::clone(self);
                let (base_url, request_id) = (base_url.to_owned(), request_id.to_owned());
                tokio::task::spawn_blocking(move || {
                    store.change(action, plan, &base_url, &request_id)
                })
                .await
                .unwrap_or_else(|_| {
                    Err(ApiError::new(
                        ErrorCode::InternalError,
                        format!("{action} stopped unexpectedly"),
                    ))
                })
            }
            Some(Prepared::Change(plan)) => self.change(action, plan, base_url, request_id),
        }
    }

    /// Plans, logs and applies one change; blocks on the disk.
    fn change(
        &self,
        action: &str,
        plan: PreparedChange,
        base_url: &str,
        request_id: &str,
    ) -> Answer {
        self.with_writer(|kept| {
            let (change, body) = plan(&self.read(), &self.context(base_url, request_id))?;
            self.commit(kept, change).map_err(|error| {
                ApiError::new(ErrorCode::InternalError, format!("{action}: {error}"))
            })?;
            Ok(body)
        })
    }

    /// Registers a device-list file, logged like any change.
    pub(crate) fn add_device_list(&self, list: DeviceListFixture) -> io::Result<()> {
        self.with_writer(|kept| {
            self.commit(kept, Change::DeviceListAdded { list })
                .map_err(io::Error::other)
        })
    }

    /// Logs `change`, then applies it; on an error the state is as before. The change was
    /// planned on the state as it is, under the writer lock, so it fits it.
    fn commit(&self, kept: Option<&mut Kept>, change: Change) -> Result<(), String> {
        let Some(kept) = kept else {
            change.apply(&mut self.write());
            return Ok(());
        };
        let seq = kept.log.append(&change, &self.disk).map_err(|error| {
            format!(
                "the change could not be saved to {}, so it was not made: {error}",
                kept.log.path().display()
            )
        })?;
        let progress = {
            let mut state = self.write();
            change.apply(&mut state);
            state.log_seq = seq;
            state.progress
        };
        kept.collect_fold(&self.disk);
        if kept.fold_is_due() {
            // The change is kept either way; a fold that fails is tried again later.
            if kept.start_fold(progress, &self.disk).is_err() {
                kept.fold_failed();
            }
        }
        Ok(())
    }

    /// Writes the whole state as the snapshot and empties the log; at shutdown. Waits for
    /// a fold still running first.
    pub(crate) fn save(&self) -> io::Result<()> {
        self.with_writer(|kept| match kept {
            Some(kept) => {
                kept.wait_for_fold(&self.disk);
                if kept.log.len() > 0 || kept.sealed {
                    fold_now(&self.read(), kept, &self.disk)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        })
    }
}

impl Kept {
    fn fold_is_due(&self) -> bool {
        let len = self.log.len();
        self.folding.is_none()
            && len > self.log_limit
            && len > self.snapshot_len
            && len >= self.retry_at
    }

    /// Takes in the outcome of a background fold that has finished, if one has.
    fn collect_fold(&mut self, disk: &StorageFaults) {
        if self.folding.as_ref().is_some_and(JoinHandle::is_finished) {
            self.wait_for_fold(disk);
        }
    }

    /// Waits for the background fold, if one is running, and takes in its outcome.
    fn wait_for_fold(&mut self, disk: &StorageFaults) {
        let Some(folding) = self.folding.take() else {
            return;
        };
        match folding.join() {
            Ok(Ok(snapshot_len)) => {
                self.snapshot_len = snapshot_len;
                // Removed here rather than by the fold, so that the sealed log is there
                // exactly until the fold is taken in; if it stays, it is folded again
                // (its entries are skipped) before another log is sealed.
                if remove_sealed(&self.snapshot, disk).is_ok() {
                    self.sealed = false;
                    self.retry_at = 0;
                } else {
                    self.fold_failed();
                }
            }
            // The sealed log stays, and is folded again on the next try.
            Ok(Err(_)) | Err(_) => self.fold_failed(),
        }
    }

    /// A fold failed: try again once the log has grown by the floor.
    fn fold_failed(&mut self) {
        self.retry_at = self.log.len().saturating_add(self.log_limit);
    }

    /// Seals the log, unless a failed fold left one sealed, and folds it in the background.
    fn start_fold(&mut self, progress: ProgressSettings, disk: &StorageFaults) -> io::Result<()> {
        if !self.sealed {
            self.log.seal(&sealed_path(&self.snapshot), disk)?;
            self.sealed = true;
        }
        let snapshot = self.snapshot.clone();
        let disk = disk.clone();
        let lock = Arc::clone(&self.lock);
        let folding = std::thread::Builder::new()
            .name("state-fold".to_owned())
            .spawn(move || {
                let folded = fold_sealed(&snapshot, progress, &disk);
                drop(lock);
                folded
            })?;
        self.folding = Some(folding);
        Ok(())
    }
}

/// Writes `state`, which holds every entry of both logs, as the snapshot, then removes
/// the sealed log and empties the log; at start and at shutdown, with no fold running.
fn fold_now(state: &State, kept: &mut Kept, disk: &StorageFaults) -> io::Result<()> {
    debug_assert_eq!(state.log_seq, kept.log.last_seq());
    let bytes = serde_json::to_vec(state)?;
    kept.snapshot_len = write_snapshot(&kept.snapshot, &bytes, disk)?;
    if kept.sealed {
        remove_sealed(&kept.snapshot, disk)?;
        kept.sealed = false;
    }
    kept.log.clear(disk)?;
    kept.retry_at = 0;
    Ok(())
}

/// The background fold: the snapshot on the disk and the sealed log's entries, written as
/// the new snapshot; its size. The sealed log is removed once the fold is taken in.
///
/// It reads the files, not the state in memory, so nothing waits for it; the entries are
/// applied as at a start, by the same code. `progress` is the setting of the moment (not
/// kept in the log).
fn fold_sealed(
    snapshot: &Path,
    progress: ProgressSettings,
    disk: &StorageFaults,
) -> io::Result<u64> {
    let sealed = sealed_path(snapshot);
    let (mut state, _) = read_snapshot(snapshot)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing", snapshot.display()),
        )
    })?;
    replay(&mut state, &sealed, state_log::read(&sealed)?.entries)?;
    state.progress = progress;
    let bytes = serde_json::to_vec(&state)?;
    drop(state);
    write_snapshot(snapshot, &bytes, disk)
}

/// Removes `FILE.log.old`, whose entries a snapshot holds now, for good.
fn remove_sealed(snapshot: &Path, disk: &StorageFaults) -> io::Result<()> {
    match std::fs::remove_file(sealed_path(snapshot)) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    disk.sync_dir(parent_of(snapshot))
}

/// The file beside the snapshot `FILE` named `FILE` + `suffix`.
fn sibling(snapshot: &Path, suffix: &str) -> PathBuf {
    sibling_of(snapshot, suffix)
}

/// `FILE.log` for the snapshot `FILE`.
fn log_path(snapshot: &Path) -> PathBuf {
    sibling(snapshot, ".log")
}

/// `FILE.log.old`: the log sealed for a fold.
fn sealed_path(snapshot: &Path) -> PathBuf {
    sibling(snapshot, ".log.old")
}

fn temporary_path(snapshot: &Path) -> PathBuf {
    sibling(snapshot, ".tmp")
}

/// How long a start waits for the lock: an emulator of this process that was just dropped
/// lets go of its state once its last open requests are done.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Takes the exclusive lock on `FILE.lock` for the snapshot `FILE`, or refuses when
/// another emulator still holds it after [`LOCK_WAIT`]. The lock file is never removed:
/// removing it would let a third emulator lock a new file while the second still holds
/// the old one.
fn lock_state(snapshot: &Path) -> io::Result<File> {
    // Refused before a lock file appears beside it (beside `/dev/zero`, say).
    if snapshot.exists() && !snapshot.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a regular file", snapshot.display()),
        ));
    }
    let path = sibling(snapshot, ".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "the state is in use by another emulator (it holds {}); \
                         only one emulator may keep a state file",
                        path.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("cannot lock {}: {error}", path.display()),
                ));
            }
        }
    }
}

/// Reads the snapshot and its size; `Ok(None)` when it does not exist yet.
fn read_snapshot(path: &Path) -> io::Result<Option<(State, u64)>> {
    let bytes = match crate::disk::read_regular(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut state: State = serde_json::from_slice(&bytes).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a saved state: {error}", path.display()),
        )
    })?;
    // The snapshot holds the data, not what is derived from it.
    state.rebuild_indexes();
    // A snapshot edited by hand may count behind its own tasks: a TaskId it holds is never
    // handed out again (the new task would replace the old one).
    if let Some(&last) = state.tasks.keys().next_back() {
        state.next_task_id = state.next_task_id.max(last.saturating_add(1));
    }
    Ok(Some((state, bytes.len() as u64)))
}

/// Applies the entries the snapshot does not hold yet; the `seq` of the last one.
fn replay(state: &mut State, path: &Path, entries: Vec<state_log::ReadEntry>) -> io::Result<u64> {
    let mut last = state.log_seq;
    let mut previous_in_file = 0;
    for read in entries {
        let seq = read.entry.seq;
        if seq <= previous_in_file {
            return Err(state_log::damaged(
                path,
                read.line,
                format!("change {seq} follows change {previous_in_file}"),
            ));
        }
        previous_in_file = seq;
        if seq <= last {
            // Left by a fold that stopped before emptying the log (the snapshot has it),
            // or in both logs (a fold stopped while sealing one): applied already.
            continue;
        }
        if seq != last.saturating_add(1) {
            return Err(state_log::damaged(
                path,
                read.line,
                format!("change {seq} follows change {last}: changes are missing"),
            ));
        }
        read.entry
            .change
            .check(state)
            .map_err(|reason| state_log::damaged(path, read.line, reason))?;
        read.entry.change.apply(state);
        last = seq;
    }
    state.log_seq = last;
    Ok(last)
}

/// How much of a snapshot is written between two flushes.
const SNAPSHOT_CHUNK: usize = 1 << 20;

/// Writes the serialised state `bytes` to `path` so that a crash leaves the old file or the
/// new one, whole; the size written.
fn write_snapshot(path: &Path, bytes: &[u8], disk: &StorageFaults) -> io::Result<u64> {
    let temporary = temporary_path(path);
    let written = File::create(&temporary)
        .and_then(|mut file| {
            // Flushed as it goes: one flush of a large snapshot at the end would hold up
            // the flushes of the log's entries (which share the disk) for all of it.
            let mut chunks = bytes.chunks(SNAPSHOT_CHUNK).peekable();
            while let Some(chunk) = chunks.next() {
                disk.write_all(&mut file, chunk)?;
                if chunks.peek().is_some() {
                    file.sync_data()?;
                }
            }
            disk.sync(&file)
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    disk.sync_dir(parent_of(path))?;
    Ok(bytes.len() as u64)
}
