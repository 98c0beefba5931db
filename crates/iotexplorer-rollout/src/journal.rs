//! The journal: an append-only file of JSON records, one a line, each fsync'd before
//! the rollout acts on it, from which a killed rollout picks up where it stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use iotexplorer_model::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::config::RolloutSpec;
use crate::wave_check::WaveVerdict;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// The first record: everything needed to resume, including the plan.
    Start {
        /// The rollout's identity, part of every idempotency marker.
        rollout: String,
        /// Unix seconds when the rollout was created.
        created: i64,
        /// Options and plan (boxed: it is many times the size of any other record).
        spec: Box<RolloutSpec>,
    },
    /// Written and synced before a `BatchUpdateFirmware` call.
    Intent {
        /// The batch.
        batch: String,
        /// The devices of the call.
        devices: Vec<String>,
        /// The `TaskUserDefine` sent, which identifies the call's task.
        marker: String,
        /// Unix milliseconds.
        at_ms: i64,
    },
    /// The call (or reconciliation) established the batch's task.
    Submitted {
        /// The batch.
        batch: String,
        /// The task created for it.
        task_id: u64,
        /// Whether the task was found by reconciliation rather than from an answer.
        reconciled: bool,
    },
    /// The service refused the call: no task exists for the batch.
    Refused {
        /// The batch.
        batch: String,
        /// The error code.
        code: ErrorCode,
        /// The error message.
        message: String,
    },
    /// The call never left this machine (no connection could be made): no task exists
    /// for it, and the batch may be sent again at once.
    NotSent {
        /// The batch.
        batch: String,
        /// Why.
        error: String,
    },
    /// The outcome of a call is unknown (connection lost after sending, 5xx, …).
    Unknown {
        /// The batch.
        batch: String,
        /// What happened.
        error: String,
    },
    /// The verdict of a wave's check. Written as `gate`, the tag journals have always
    /// used, so older journals resume unchanged.
    #[serde(rename = "gate")]
    Verdict(WaveVerdict),
    /// Unfinished tasks were cancelled after an abort.
    Cancelled {
        /// The wave.
        wave: usize,
        /// The tasks cancelled.
        task_ids: Vec<u64>,
    },
    /// The rollout stopped after a wave because `--pause-after-wave` asked it to.
    Paused {
        /// The wave just gated.
        wave: usize,
    },
    /// The rollout stopped for good because a gate failed.
    Aborted {
        /// The wave whose gate failed.
        wave: usize,
        /// Why.
        reason: String,
    },
    /// Every wave was submitted and passed its gate.
    Finished,
}

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing the file failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A complete line (one ending in a newline) is not a valid record.
    #[error("journal {path}, line {line}: not a valid record: {reason}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The decoder's complaint.
        reason: String,
    },
    /// The journal has no start record.
    #[error("journal {0}: no start record; is it a rollout journal?")]
    NoStart(PathBuf),
    /// A new rollout was asked to use a journal that already exists.
    #[error("journal {0} already exists; continue it with `rollout resume`")]
    Exists(PathBuf),
    /// Another process is driving the rollout of this journal.
    #[error(
        "journal {path} is in use by {}: only one process may drive a rollout \
         (`rollout status` can still read it)",
        holder.as_ref().map_or_else(|| "another process".to_owned(), Holder::to_string)
    )]
    InUse {
        /// The journal file.
        path: PathBuf,
        /// The process holding it, when it could be told.
        holder: Option<Holder>,
    },
    /// The journal could not be locked against a second process.
    #[error("journal {path}: cannot lock it against a second rollout: {source}")]
    Lock {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The path no longer names the file this run holds (`sed -i` or an editor wrote a
    /// new file and renamed it over the journal): nothing more is written, since a
    /// record in the old file would be lost to a `rollout resume` of the path.
    #[error(
        "the journal at {path} was replaced while this run held it; stop, and resume \
         from {path}"
    )]
    Replaced {
        /// The journal file.
        path: PathBuf,
    },
    /// An earlier append failed, so this one wrote nothing: after a failure the journal
    /// is not written again in this run (see [`Journal::append`]).
    #[error(
        "journal {path}: not written, as an earlier record could not be ({first}); \
         resume from it once that is fixed"
    )]
    Poisoned {
        /// The journal file.
        path: PathBuf,
        /// The first failure, as it was reported.
        first: String,
    },
}

/// The process that drives a journal, as it describes itself in the journal's holder
/// file (see [`Journal`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// The machine it runs on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Unix seconds when it took the journal.
    pub since: i64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {}", self.pid)?;
        if let Some(host) = &self.host {
            write!(f, " on {host}")?;
        }
        Ok(())
    }
}

impl Holder {
    fn this_process() -> Self {
        Self {
            pid: std::process::id(),
            host: host_name(),
            since: crate::execute::unix_ms() / 1000,
        }
    }
}

/// The machine's name, for telling where a journal's holder runs.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let name = name.trim();
    // Only a plausible name: it ends up in error messages.
    let plausible = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    plausible.then(|| name.to_owned())
}

/// How long a refused process looks for the holder's description before saying only
/// "another process": the holder writes it just after taking the lock.
const HOLDER_WAIT: Duration = Duration::from_millis(500);

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The side file naming the process that holds the journal at `path`.
fn holder_path(path: &Path) -> PathBuf {
    with_suffix(path, ".holder")
}

/// A name for a file of this process next to `path`, unique within the process too.
fn scratch_path(path: &Path, kind: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    with_suffix(path, &format!(".{}-{n}.{kind}", std::process::id()))
}

/// The holder described by `path`'s holder file, if a live process keeps that file
/// locked; a file left by a process that died is unlocked and tells nothing.
fn live_holder(path: &Path) -> Option<Holder> {
    let mut file = File::open(holder_path(path)).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            // The file is a few dozen bytes; a larger one is not ours.
            (&mut file).take(4096).read_to_string(&mut text).ok()?;
            serde_json::from_str(&text).ok()
        }
        _ => None,
    }
}

/// What tells a file apart whatever its name: its device and inode. Unix only: std has
/// no stable file index elsewhere, so there it is `None` and the checks that a path still
/// names a held file always pass (a replaced journal is then not noticed).
#[cfg(unix)]
fn file_id(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(_metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Whether `path` names the file whose metadata is `held` (false when nothing is there).
fn still_names(path: &Path, held: &std::fs::Metadata) -> io::Result<bool> {
    match std::fs::metadata(path) {
        Ok(now) => Ok(file_id(&now) == file_id(held)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Opens the journal at `path` for appending and takes it, or tells who holds it.
///
/// The lock is on the file, not the name, so once locked the file must still be the one
/// at `path`: one replaced in between is opened again (once; twice in those few
/// microseconds is no accident). And a process holding a replaced copy of this journal
/// is still its holder until it stops at its next append (see [`Journal::append`]): its
/// holder file, at the same name, is live, and the journal is refused while it is.
///
/// Why not lock a side file (`JOURNAL.lock`) that nobody renames: it would have to stay
/// on disk for good or be removed under this same check; a `mv` of the journal, whose
/// lock goes with it here, would escape it; and the first holder would still need the
/// check before each append not to write into a replaced file. The holder file, whose
/// name nobody edits, gives that refusal while the first holder lives (as long as it
/// could be written: it is best effort).
fn open_held(path: &Path) -> Result<File, JournalError> {
    let io_error = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    for _ in 0..2 {
        let file =
            open_regular(path, OpenOptions::new().read(true).append(true)).map_err(io_error)?;
        lock_or_refuse(&file, path)?;
        let held = file.metadata().map_err(io_error)?;
        if !still_names(path, &held).map_err(io_error)? {
            continue;
        }
        if let Some(holder) = live_holder(path) {
            return Err(JournalError::InUse {
                path: path.to_owned(),
                holder: Some(holder),
            });
        }
        return Ok(file);
    }
    Err(JournalError::Lock {
        path: path.to_owned(),
        source: io::Error::other("the file was replaced twice while it was being locked"),
    })
}

/// Takes the exclusive lock on the open journal `file`, or tells who holds it. The lock
/// is the operating system's (released when the file is closed, also when the process
/// dies, even by SIGKILL); the holder file only describes the holder.
fn lock_or_refuse(file: &File, path: &Path) -> Result<(), JournalError> {
    let deadline = Instant::now() + HOLDER_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => {
                return Err(JournalError::Lock {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        if let Some(holder) = live_holder(path) {
            return Err(JournalError::InUse {
                path: path.to_owned(),
                holder: Some(holder),
            });
        }
        // The holder has only just taken the lock (or is letting it go): look again.
        if Instant::now() >= deadline {
            return Err(JournalError::InUse {
                path: path.to_owned(),
                holder: None,
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes this process's description to `path`'s holder file and keeps that file locked
/// while the journal is held, so others can tell a live holder from a dead one. Best
/// effort: the description is only informative.
fn publish_holder(path: &Path) -> Option<File> {
    let target = holder_path(path);
    let scratch = scratch_path(&target, "new");
    let written = (|| {
        let mut file = File::create(&scratch)?;
        file.try_lock().map_err(io::Error::from)?;
        let text = serde_json::to_string(&Holder::this_process()).map_err(io::Error::other)?;
        file.write_all(text.as_bytes())?;
        // Appears whole: a reader sees the old file or this one.
        std::fs::rename(&scratch, &target)?;
        Ok::<File, io::Error>(file)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&scratch);
    }
    written.ok()
}

/// The records of a journal. A last line without its newline is what a kill during a
/// write leaves: it was never complete, so nothing acted on it, and it is dropped. Every
/// complete line must be a record (or blank); one that is not is corruption, refused
/// with its line number.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Parsed {
    /// The complete records, in order.
    pub records: Vec<Record>,
    /// Bytes of the text that hold them; anything after is a torn write.
    pub valid_len: usize,
}

/// Parses journal text; see [`Parsed`]. `path` is only used in errors.
pub fn parse(text: &str, path: &Path) -> Result<Parsed, JournalError> {
    parse_bytes(text.as_bytes(), path)
}

/// Parses the bytes of a journal. Working on bytes keeps `valid_len` an offset in the
/// file, whatever the bytes are, and refuses a line that is not UTF-8.
fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Parsed, JournalError> {
    let mut records = Vec::new();
    let mut offset = 0;
    for (index, line) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
        // Only the last line can lack its newline. Even when its record looks whole,
        // the newline may not have reached the disk, so it is not trusted.
        let Some(body) = line.strip_suffix(b"\n") else {
            break;
        };
        if !body.trim_ascii().is_empty() {
            let record =
                serde_json::from_slice::<Record>(body).map_err(|err| JournalError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: err.to_string(),
                })?;
            records.push(record);
        }
        offset += line.len();
    }
    Ok(Parsed {
        records,
        valid_len: offset,
    })
}

/// An open journal, appending, held by this process alone.
///
/// Only one process may drive a rollout: creating or opening a journal takes an
/// exclusive lock of the operating system on the file (released when the `Journal` is
/// dropped or the process dies, whatever kills it), and refuses with
/// [`JournalError::InUse`] while another process holds it. The holder describes itself
/// (pid, host) in a side file named after the journal with `.holder` appended, which is
/// only informative and removed when the journal is dropped. Reading a journal
/// ([`Journal::read`]) takes no lock, so a rollout can be watched while it runs.
///
/// The lock is on the file, so a journal replaced while held (`sed -i` renames a new
/// file over it) is not locked by anyone: this holder notices at its next append, which
/// fails and writes nothing, and until it has let go a second process is refused,
/// named by the holder file (on Unix; see `open_held`).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// The holder file, kept open and locked while the journal is held.
    holder: Option<File>,
    /// The first failure of an append: once one failed, none writes again.
    poisoned: Option<String>,
    /// Declared last: it is closed last, after the holder file has been removed, so
    /// the next holder's description cannot be removed by this one.
    file: File,
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(holder) = &self.holder {
            // Only our own description: after the journal was replaced or moved, the
            // name may describe the next holder.
            let target = holder_path(&self.path);
            if holder
                .metadata()
                .and_then(|held| still_names(&target, &held))
                .unwrap_or(false)
            {
                let _ = std::fs::remove_file(target);
            }
        }
    }
}

impl Journal {
    /// Refuses a path that a new rollout cannot use: [`JournalError::InUse`] when a
    /// process holds the journal there, [`JournalError::Exists`] when one is there.
    pub fn ensure_absent(path: &Path) -> Result<(), JournalError> {
        if path.symlink_metadata().is_err() {
            return Ok(());
        }
        Err(Self::refusal_of_existing(path))
    }

    /// Why an existing `path` cannot be used for a new journal.
    fn refusal_of_existing(path: &Path) -> JournalError {
        let Ok(file) = File::open(path) else {
            return JournalError::Exists(path.to_owned());
        };
        match lock_or_refuse(&file, path) {
            Err(in_use @ JournalError::InUse { .. }) => in_use,
            _ => JournalError::Exists(path.to_owned()),
        }
    }

    /// Creates a new journal holding `first`, refusing an existing file. The file
    /// appears complete and already locked, or not at all: it is written, synced and
    /// locked under a temporary name, then linked to `path` (which fails if `path`
    /// exists), so of several processes creating one journal exactly one succeeds.
    pub fn create(path: &Path, first: &Record) -> Result<Self, JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        // No look for an existing file first: the link below refuses one, and a look
        // would only race with it.
        let temporary = scratch_path(path, "new");
        let mut line =
            serde_json::to_string(first).map_err(|err| io_error(io::Error::other(err)))?;
        line.push('\n');
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&temporary)
            .map_err(io_error)?;
        // Nobody else knows the temporary name yet: the lock is free, unless the file
        // system cannot lock at all.
        if let Err(refusal) = file.try_lock() {
            let _ = std::fs::remove_file(&temporary);
            return Err(JournalError::Lock {
                path: path.to_owned(),
                source: refusal.into(),
            });
        }
        let written = (|| {
            (&file).write_all(line.as_bytes())?;
            file.sync_all()?;
            match std::fs::hard_link(&temporary, path) {
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists && !path.exists() => {
                    // A file system without hard links: a rename is atomic too, only
                    // not exclusive; the look just above makes a clash unlikely.
                    std::fs::rename(&temporary, path)
                }
                other => other,
            }
        })();
        let _ = std::fs::remove_file(&temporary);
        match written {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                drop(file);
                return Err(Self::refusal_of_existing(path));
            }
            Err(err) => return Err(io_error(err)),
        }
        // The directory entry must survive a crash too.
        sync_parent(path);
        Ok(Self {
            path: path.to_owned(),
            holder: publish_holder(path),
            poisoned: None,
            file,
        })
    }

    /// Opens an existing journal, takes it (refusing when another process holds it),
    /// reads its records, and cuts off a torn last line so that new records start on a
    /// line of their own.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let file = open_held(path)?;
        // Held from here on: an error below drops `journal`, which lets it go again.
        let mut journal = Self {
            path: path.to_owned(),
            holder: publish_holder(path),
            poisoned: None,
            file,
        };
        let mut bytes = Vec::new();
        journal.file.read_to_end(&mut bytes).map_err(io_error)?;
        let parsed = parse_bytes(&bytes, path)?;
        if parsed.valid_len < bytes.len() {
            journal
                .file
                .set_len(parsed.valid_len as u64)
                .map_err(io_error)?;
            journal.file.sync_all().map_err(io_error)?;
        }
        Ok((journal, parsed.records))
    }

    /// Reads a journal without changing or locking it: allowed while another process
    /// drives it, since records are only ever appended whole and a torn last line is
    /// dropped.
    pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
        let read = || -> io::Result<Vec<u8>> {
            let mut file = open_regular(path, OpenOptions::new().read(true))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        let bytes = read().map_err(|source| JournalError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(parse_bytes(&bytes, path)?.records)
    }

    /// Appends one record and waits until it is on disk.
    ///
    /// A record that could not be written whole and synced is cut off again, and every
    /// later append fails at once with [`JournalError::Poisoned`], writing nothing:
    /// submissions still in flight would otherwise append after a fragment (a full
    /// disk's partial write), gluing their records into one line that no resume can
    /// read. An append also fails, with [`JournalError::Replaced`], once the path no
    /// longer names the file this journal holds.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        if let Some(first) = &self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
                first: first.clone(),
            });
        }
        let appended = self.append_once(record);
        if let Err(error) = &appended {
            self.poisoned = Some(error.to_string());
        }
        appended
    }

    fn append_once(&mut self, record: &Record) -> Result<(), JournalError> {
        let io_error = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line =
            serde_json::to_string(record).map_err(|err| io_error(io::Error::other(err)))?;
        line.push('\n');
        let held = self.file.metadata().map_err(io_error)?;
        // Records written into a file no longer at the path would be lost to a resume,
        // which would then send their batches again.
        if !still_names(&self.path, &held).map_err(io_error)? {
            return Err(JournalError::Replaced {
                path: self.path.clone(),
            });
        }
        // One write call per record keeps concurrent readers from seeing half lines
        // in practice; `parse` copes with them anyway.
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // Back to the last whole record. Should this fail too, the fragment stays
            // the last line, since nothing more is written, and `open` cuts it off.
            let _ = self
                .file
                .set_len(held.len())
                .and_then(|()| self.file.sync_data());
            return Err(io_error(source));
        }
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // Best effort: not every platform can open a directory for syncing.
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Where one batch stands according to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchState {
    /// Never attempted.
    Planned,
    /// A call was (maybe) sent and its outcome is not known: reconcile before sending.
    Uncertain,
    /// The service refused the last call, and no earlier call of the batch may have made
    /// a task: no task exists; it may be sent again. A refusal after a call of unknown
    /// outcome leaves the batch [`Uncertain`](Self::Uncertain).
    Refused {
        /// The error code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// The batch has its task.
    Submitted {
        /// The task.
        task_id: u64,
    },
}

/// The state a journal describes. Replaying is a pure fold: a record applied twice
/// leaves the same state as applied once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JournalState {
    /// The rollout's identity.
    pub rollout: String,
    /// Unix seconds when it was created.
    pub created: i64,
    /// Its options and plan.
    pub spec: RolloutSpec,
    /// Each batch of the plan.
    pub batches: BTreeMap<String, BatchState>,
    /// The last verdict of each checked wave.
    pub verdicts: BTreeMap<usize, WaveVerdict>,
    /// Waves after which the rollout paused.
    pub paused: BTreeSet<usize>,
    /// Tasks cancelled after an abort.
    pub cancelled: BTreeSet<u64>,
    /// The abort, if any: wave and reason.
    pub aborted: Option<(usize, String)>,
    /// Whether the rollout finished.
    pub finished: bool,
    /// What the journal tells of each batch's calls.
    calls: BTreeMap<String, Calls>,
}

/// What the journal tells of one batch's calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Calls {
    /// Unix milliseconds of the latest intent; 0 before the first.
    latest_intent_ms: i64,
    /// Whether a call of unknown outcome may have made a task that was not found: set by
    /// [`Record::Unknown`], cleared only by [`Record::Submitted`]. (A run that ends
    /// during a call leaves an intent without outcome; the next run writes the unknown
    /// outcome before it calls again.)
    in_doubt: bool,
    /// How the latest call, made while `in_doubt`, ended without a task (refused, or not
    /// sent): why the batch was not sent again. Gone once a newer call is made.
    ended_in_doubt: Option<String>,
}

impl JournalState {
    /// Replays `records`; the first must be [`Record::Start`].
    pub fn replay(records: &[Record], path: &Path) -> Result<Self, JournalError> {
        let Some(Record::Start {
            rollout,
            created,
            spec,
        }) = records.first()
        else {
            return Err(JournalError::NoStart(path.to_owned()));
        };
        let mut state = Self {
            rollout: rollout.clone(),
            created: *created,
            batches: spec
                .plan
                .batches()
                .map(|batch| (batch.id.clone(), BatchState::Planned))
                .collect(),
            spec: RolloutSpec::clone(spec),
            verdicts: BTreeMap::new(),
            paused: BTreeSet::new(),
            cancelled: BTreeSet::new(),
            aborted: None,
            finished: false,
            calls: BTreeMap::new(),
        };
        for record in &records[1..] {
            state.apply(record);
        }
        state.doubt_unanswered_calls(&records[1..]);
        Ok(state)
    }

    /// Journals written before a resume wrote the unknown outcome of a call its run left
    /// unanswered show such a call only as an intent followed by another: that call may
    /// have made the batch's task, so a refusal after it (as a rule the service's
    /// `DeviceIsUpdating`, busy with that very task) leaves the batch of unknown outcome,
    /// as the [`Record::Unknown`] a resume now writes does.
    fn doubt_unanswered_calls(&mut self, records: &[Record]) {
        // Batch → the intent with no outcome after it yet, and whether one was followed
        // by another. The same intent twice is one call.
        let mut calls: BTreeMap<&str, (Option<i64>, bool)> = BTreeMap::new();
        for record in records {
            match record {
                Record::Intent { batch, at_ms, .. } => {
                    let (open, unanswered) = calls.entry(batch.as_str()).or_default();
                    *unanswered |= open.is_some_and(|open| open != *at_ms);
                    *open = Some(*at_ms);
                }
                Record::Unknown { batch, .. }
                | Record::Refused { batch, .. }
                | Record::NotSent { batch, .. }
                | Record::Submitted { batch, .. } => {
                    calls.entry(batch.as_str()).or_default().0 = None;
                }
                _ => {}
            }
        }
        for (batch, (_, unanswered)) in calls {
            if unanswered
                && let Some(BatchState::Refused { code, message }) = self.batches.get(batch)
            {
                let calls = self.calls.entry(batch.to_owned()).or_default();
                calls.in_doubt = true;
                calls.ended_in_doubt = Some(refusal_text(code, message));
                self.uncertain(batch);
            }
        }
    }

    /// Applies one record.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Start { .. } => {}
            Record::Intent { batch, at_ms, .. } => {
                let calls = self.calls.entry(batch.clone()).or_default();
                calls.latest_intent_ms = calls.latest_intent_ms.max(*at_ms);
                calls.ended_in_doubt = None;
                self.uncertain(batch);
            }
            Record::Unknown { batch, .. } => {
                let calls = self.calls.entry(batch.clone()).or_default();
                calls.in_doubt = true;
                calls.ended_in_doubt = None;
                self.uncertain(batch);
            }
            Record::Submitted { batch, task_id, .. } => {
                let calls = self.calls.entry(batch.clone()).or_default();
                calls.in_doubt = false;
                calls.ended_in_doubt = None;
                if let Some(state) = self.batches.get_mut(batch) {
                    *state = BatchState::Submitted { task_id: *task_id };
                }
            }
            Record::NotSent { batch, error } => {
                // Like a refusal: this call made no task; an earlier one still may have.
                let in_doubt = match self.calls.get_mut(batch.as_str()) {
                    Some(calls) if calls.in_doubt => {
                        calls.ended_in_doubt = Some(format!("not sent: {error}"));
                        true
                    }
                    _ => false,
                };
                if !in_doubt
                    && let Some(state) = self.batches.get_mut(batch)
                    && matches!(state, BatchState::Uncertain)
                {
                    *state = BatchState::Planned;
                }
            }
            Record::Refused {
                batch,
                code,
                message,
            } => {
                if let Some(calls) = self
                    .calls
                    .get_mut(batch.as_str())
                    .filter(|calls| calls.in_doubt)
                {
                    // This call made no task, but an earlier one may have: the batch
                    // is looked up again before anything more is sent.
                    calls.ended_in_doubt = Some(refusal_text(code, message));
                    self.uncertain(batch);
                } else if let Some(state) = self.batches.get_mut(batch)
                    && !matches!(state, BatchState::Submitted { .. })
                {
                    *state = BatchState::Refused {
                        code: code.clone(),
                        message: message.clone(),
                    };
                }
            }
            Record::Verdict(result) => {
                self.verdicts.insert(result.wave, result.clone());
            }
            Record::Cancelled { task_ids, .. } => self.cancelled.extend(task_ids),
            Record::Paused { wave } => {
                self.paused.insert(*wave);
            }
            Record::Aborted { wave, reason } => {
                self.aborted.get_or_insert_with(|| (*wave, reason.clone()));
            }
            Record::Finished => self.finished = true,
        }
    }

    /// For a batch of unknown outcome, the Unix milliseconds of its latest call: until
    /// that call can no longer take effect, a lookup that finds no task does not prove
    /// there will be none. `None` for any other batch.
    pub fn unknown_since_ms(&self, batch: &str) -> Option<i64> {
        match self.batches.get(batch) {
            Some(BatchState::Uncertain) => self.calls.get(batch).map(|c| c.latest_intent_ms),
            _ => None,
        }
    }

    /// Marks `batch` as of unknown outcome, unless it has its task: a batch with a task
    /// keeps it, nothing can take it away.
    fn uncertain(&mut self, batch: &str) {
        if let Some(state) = self.batches.get_mut(batch)
            && !matches!(state, BatchState::Submitted { .. })
        {
            *state = BatchState::Uncertain;
        }
    }

    /// How the latest call of `batch` ended without a task (`refused: ..`, `not sent: ..`)
    /// while an earlier one of unknown outcome may have made it; `None` otherwise.
    pub(crate) fn ended_in_doubt(&self, batch: &str) -> Option<&str> {
        self.calls
            .get(batch)
            .and_then(|calls| calls.ended_in_doubt.as_deref())
    }

    /// Unix milliseconds of the latest intent of any batch (0 when none): a call of unknown
    /// outcome is looked up only once the service has had time to process it.
    pub fn last_intent_ms(&self) -> i64 {
        self.calls
            .values()
            .map(|calls| calls.latest_intent_ms)
            .max()
            .unwrap_or(0)
    }

    /// The task of each submitted batch.
    pub fn tasks(&self) -> BTreeMap<&str, u64> {
        self.batches
            .iter()
            .filter_map(|(batch, state)| match state {
                BatchState::Submitted { task_id } => Some((batch.as_str(), *task_id)),
                _ => None,
            })
            .collect()
    }
}

/// The largest journal read: a rollout of a million devices writes a few hundred MB at
/// most, so a larger file is not a journal (a disk image given by mistake, say) and would
/// only fill memory.
pub const MAX_JOURNAL_BYTES: u64 = 1024 * 1024 * 1024;

/// Opens `path`, refusing anything but a regular file of at most [`MAX_JOURNAL_BYTES`]: a
/// device such as `/dev/zero` would be read without end, opening a FIFO waits for a
/// writer (hence the look before opening), and a journal must be a file that can be
/// locked, cut and synced.
fn open_regular(path: &Path, options: &OpenOptions) -> io::Result<File> {
    let refuse = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let not_regular = || refuse("not a regular file".to_owned());
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = options.open(path)?;
    // Replaced between the look and the opening.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    if metadata.len() > MAX_JOURNAL_BYTES {
        return Err(refuse(format!(
            "{} bytes, more than a journal's {MAX_JOURNAL_BYTES}",
            metadata.len()
        )));
    }
    Ok(file)
}

/// A refusal as `rollout status` tells it: `refused: CODE: message`, without an empty
/// message.
fn refusal_text(code: &ErrorCode, message: &str) -> String {
    if message.is_empty() {
        format!("refused: {code}")
    } else {
        format!("refused: {code}: {message}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "{\"record\":\"finished\"}\n";

    /// A fresh directory for one test's files, removed when dropped.
    fn scratch_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("rollout-journal-{name}-"))
            .tempdir()
            .unwrap()
    }

    fn corrupt_line(result: &Result<Parsed, JournalError>) -> Option<usize> {
        match result {
            Err(JournalError::Corrupt { line, .. }) => Some(*line),
            _ => None,
        }
    }

    #[test]
    fn a_refusal_is_kept_as_its_code_s_text_as_before() {
        // The line a journal has always held for a refusal, a known code and an unknown.
        for code in [
            "FailedOperation.DeviceIsUpdating",
            "FailedOperation.Unheard",
        ] {
            let line =
                format!(r#"{{"record":"refused","batch":"1-1","code":"{code}","message":"busy"}}"#);
            let record: Record = serde_json::from_str(&line).unwrap();
            let Record::Refused { code: read, .. } = &record else {
                panic!("{record:?}");
            };
            assert_eq!(read.as_str(), code);
            assert_eq!(serde_json::to_string(&record).unwrap(), line);
        }
    }

    #[test]
    fn torn_last_line_is_dropped_and_middle_corruption_refused() {
        let path = Path::new("j");
        let parsed = parse(&format!("{GOOD}{GOOD}{{\"reco"), path).unwrap();
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.valid_len, 2 * GOOD.len());
        // A complete-looking last line without its newline is also torn: the write of
        // the newline may not have reached the disk, so it is not trusted.
        let parsed = parse(&format!("{GOOD}{}", GOOD.trim_end()), path).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(
            corrupt_line(&parse(&format!("{GOOD}garbage\n{GOOD}"), path)),
            Some(2)
        );
    }

    #[test]
    fn a_corrupted_complete_last_line_is_refused_with_its_number() {
        let path = Path::new("j");
        for last in [
            "garbage\n",
            "{\"record\":\"fin\n",
            "{\"record\":\"nonsense\"}\n",
        ] {
            let text = format!("{GOOD}\n{GOOD}{last}");
            assert_eq!(corrupt_line(&parse(&text, path)), Some(4), "{last:?}");
        }
        // Blank lines are no records and no corruption, last or not.
        let parsed = parse(&format!("{GOOD}\n  \n"), path).unwrap();
        assert_eq!(parsed.records.len(), 1);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_corruption_not_a_wrong_offset() {
        // Read leniently, the stray byte became a three-byte replacement character: the
        // record decoded, and the torn tail's offset came out two bytes too far, so the
        // next record was glued to what was left of the tail.
        let dir = scratch_dir("utf8");
        let path = dir.path().join("j");
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(b"{\"record\":\"refused\",\"batch\":\"1-1\",\"code\":\"X\",");
        bytes.extend_from_slice(b"\"message\":\"caf\xff\"}\n");
        bytes.extend_from_slice(b"{\"record\":\"intent\",\"ba");
        std::fs::write(&path, &bytes).unwrap();
        match Journal::open(&path) {
            Err(JournalError::Corrupt { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was");
    }

    #[test]
    fn a_torn_last_line_is_cut_off_before_the_next_record() {
        let dir = scratch_dir("torn");
        let path = dir.path().join("j");
        std::fs::write(&path, format!("{GOOD}{GOOD}{{\"record\":\"paus")).unwrap();
        let (mut journal, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 2);
        journal.append(&Record::Paused { wave: 3 }).unwrap();
        drop(journal);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("{GOOD}{GOOD}{{\"record\":\"paused\",\"wave\":3}}\n")
        );
        assert_eq!(Journal::read(&path).unwrap().len(), 3);
    }

    #[test]
    fn a_file_larger_than_any_journal_is_refused_unread() {
        let dir = scratch_dir("huge");
        let path = dir.path().join("j");
        // Sparse: no disk is used for it.
        File::create(&path)
            .and_then(|file| file.set_len(MAX_JOURNAL_BYTES + 1))
            .unwrap();
        for refused in [
            Journal::open(&path).map(|_| ()),
            Journal::read(&path).map(|_| ()),
        ] {
            match refused {
                Err(JournalError::Io { source, .. })
                    if source.kind() == io::ErrorKind::InvalidInput
                        && source.to_string().contains("more than a journal's") => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn only_a_regular_file_is_opened_or_read_as_a_journal() {
        let dir = scratch_dir("not-regular");
        let fifo = dir.path().join("fifo");
        let mut paths = vec![dir.path().to_owned()];
        // Opening a FIFO for reading would wait for a writer: it must be refused first.
        if std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|status| status.success())
        {
            paths.push(fifo);
        }
        if Path::new("/dev/zero").exists() {
            paths.push(PathBuf::from("/dev/zero"));
        }
        for path in &paths {
            for refused in [
                Journal::open(path).map(|_| ()),
                Journal::read(path).map(|_| ()),
            ] {
                match refused {
                    Err(JournalError::Io { source, .. })
                        if source.kind() == io::ErrorKind::InvalidInput => {}
                    other => panic!("{}: {other:?}", path.display()),
                }
            }
        }
    }

    #[test]
    fn a_held_journal_is_refused_naming_its_holder_and_free_once_dropped() {
        let dir = scratch_dir("held");
        let path = dir.path().join("j");
        let journal = Journal::create(&path, &Record::Finished).unwrap();
        let holder = Holder::this_process();
        for refusal in [
            Journal::open(&path).err(),
            Journal::create(&path, &Record::Finished).err(),
            Journal::ensure_absent(&path).err(),
        ] {
            match refusal {
                Some(JournalError::InUse {
                    holder: Some(named),
                    ..
                }) => {
                    assert_eq!(named.pid, holder.pid);
                    assert_eq!(named.host, holder.host);
                }
                other => panic!("{other:?}"),
            }
        }
        let message = Journal::open(&path).err().unwrap().to_string();
        assert!(
            message.contains(&format!("is in use by process {}", holder.pid)),
            "{message}"
        );
        // Reading is allowed meanwhile.
        assert_eq!(Journal::read(&path).unwrap(), [Record::Finished]);
        drop(journal);
        assert!(
            !holder_path(&path).exists(),
            "the holder file goes with the holder"
        );
        let (journal, records) = Journal::open(&path).unwrap();
        assert_eq!(records, [Record::Finished]);
        drop(journal);
        assert!(matches!(
            Journal::ensure_absent(&path),
            Err(JournalError::Exists(_))
        ));
        // Refused by the link itself, leaving the journal as it was and no scratch file.
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(
            Journal::create(&path, &Record::Paused { wave: 1 }),
            Err(JournalError::Exists(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the journal is left: {left:?}");
    }

    #[test]
    fn a_holder_file_left_by_a_dead_process_names_nobody() {
        let dir = scratch_dir("stale");
        let path = dir.path().join("j");
        std::fs::write(&path, GOOD).unwrap();
        // What a process killed while holding the journal leaves: its description,
        // no longer locked by anyone.
        std::fs::write(
            holder_path(&path),
            "{\"pid\":999999,\"host\":\"gone\",\"since\":0}",
        )
        .unwrap();
        // Held by something that has not described itself (yet).
        let raw = File::open(&path).unwrap();
        raw.try_lock().unwrap();
        match Journal::open(&path) {
            Err(error @ JournalError::InUse { holder: None, .. }) => {
                assert!(error.to_string().contains("in use by another process"));
            }
            other => panic!("{other:?}"),
        }
        drop(raw);
        // Free again: the next holder replaces the stale description with its own.
        let (journal, _) = Journal::open(&path).unwrap();
        assert_eq!(live_holder(&path).unwrap().pid, std::process::id());
        drop(journal);
    }
}
