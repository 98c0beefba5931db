//! The journal: an append-only file of JSON records, one a line, each fsync'd before
//! the rollout acts on it, from which a killed rollout picks up where it stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::RolloutSpec;
use crate::gate::GateResult;

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
        /// Options and plan.
        spec: RolloutSpec,
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
        code: String,
        /// The error message.
        message: String,
    },
    /// The outcome of a call is unknown (connection lost after sending, 5xx, …).
    Unknown {
        /// The batch.
        batch: String,
        /// What happened.
        error: String,
    },
    /// The gate after a wave.
    Gate(GateResult),
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
    /// A record other than the last is not valid.
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
}

/// The records of a journal, read leniently: a last line without its newline, or one
/// that does not decode, is what a kill during a write leaves, and is dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The complete records, in order.
    pub records: Vec<Record>,
    /// Bytes of `text` that hold them; anything after is a torn write.
    pub valid_len: usize,
}

/// Parses journal text; see [`Parsed`]. `path` is only used in errors.
pub fn parse(text: &str, path: &Path) -> Result<Parsed, JournalError> {
    let mut records = Vec::new();
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let count = lines.len();
    for (index, line) in lines.into_iter().enumerate() {
        let complete = line.ends_with('\n');
        let body = line.trim_end_matches('\n');
        let is_last = index + 1 == count;
        if body.trim().is_empty() && complete {
            offset += line.len();
            continue;
        }
        match serde_json::from_str::<Record>(body) {
            Ok(record) if complete => records.push(record),
            // Only the last line may be torn (every other one ends with a newline).
            _ if is_last => break,
            Ok(_) => break,
            Err(err) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: err.to_string(),
                });
            }
        }
        offset += line.len();
    }
    Ok(Parsed {
        records,
        valid_len: offset,
    })
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Creates a new journal holding `first`, refusing an existing file. The file
    /// appears complete or not at all: it is written and synced under a temporary name,
    /// then linked to `path` (which fails if `path` exists).
    pub fn create(path: &Path, first: &Record) -> Result<Self, JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        if path.exists() {
            return Err(JournalError::Exists(path.to_owned()));
        }
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".{}.new", std::process::id()));
        let temporary = PathBuf::from(temporary);
        let mut line =
            serde_json::to_string(first).map_err(|err| io_error(io::Error::other(err)))?;
        line.push('\n');
        let written = (|| {
            let mut file = File::create(&temporary)?;
            file.write_all(line.as_bytes())?;
            file.sync_all()?;
            match std::fs::hard_link(&temporary, path) {
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists && !path.exists() => {
                    // A file system without hard links: a rename is atomic too, only
                    // not exclusive, and the check just above makes a clash unlikely.
                    std::fs::rename(&temporary, path)
                }
                other => other,
            }
        })();
        let _ = std::fs::remove_file(&temporary);
        written.map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => JournalError::Exists(path.to_owned()),
            _ => io_error(source),
        })?;
        // The directory entry must survive a crash too.
        sync_parent(path);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_error)?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Opens an existing journal, reads its records, and cuts off a torn last line so
    /// that new records start on a line of their own.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;
        let text = String::from_utf8_lossy(&bytes);
        let parsed = parse(&text, path)?;
        if parsed.valid_len < bytes.len() {
            file.set_len(parsed.valid_len as u64).map_err(io_error)?;
            file.sync_all().map_err(io_error)?;
        }
        Ok((
            Self {
                path: path.to_owned(),
                file,
            },
            parsed.records,
        ))
    }

    /// Reads a journal without changing it.
    pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
        let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(parse(&String::from_utf8_lossy(&bytes), path)?.records)
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).map_err(|err| JournalError::Io {
            path: self.path.clone(),
            source: io::Error::other(err),
        })?;
        line.push('\n');
        let io_error = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        // One write call per record keeps concurrent readers from seeing half lines
        // in practice; `parse` copes with them anyway.
        self.file.write_all(line.as_bytes()).map_err(io_error)?;
        self.file.sync_data().map_err(io_error)
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
pub enum BatchState {
    /// Never attempted.
    Planned,
    /// A call was (maybe) sent and its outcome is not known: reconcile before sending.
    Uncertain,
    /// The service refused the last call: no task exists; it may be sent again.
    Refused {
        /// The error code.
        code: String,
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
pub struct JournalState {
    /// The rollout's identity.
    pub rollout: String,
    /// Unix seconds when it was created.
    pub created: i64,
    /// Its options and plan.
    pub spec: RolloutSpec,
    /// Each batch of the plan.
    pub batches: BTreeMap<String, BatchState>,
    /// The last gate result of each wave.
    pub gates: BTreeMap<usize, GateResult>,
    /// Waves after which the rollout paused.
    pub paused: BTreeSet<usize>,
    /// Tasks cancelled after an abort.
    pub cancelled: BTreeSet<u64>,
    /// The abort, if any: wave and reason.
    pub aborted: Option<(usize, String)>,
    /// Whether the rollout finished.
    pub finished: bool,
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
            spec: spec.clone(),
            gates: BTreeMap::new(),
            paused: BTreeSet::new(),
            cancelled: BTreeSet::new(),
            aborted: None,
            finished: false,
        };
        for record in &records[1..] {
            state.apply(record);
        }
        Ok(state)
    }

    /// Applies one record.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Start { .. } => {}
            Record::Intent { batch, .. } | Record::Unknown { batch, .. } => {
                // A batch with a task keeps it: nothing can take it away.
                if let Some(state) = self.batches.get_mut(batch)
                    && !matches!(state, BatchState::Submitted { .. })
                {
                    *state = BatchState::Uncertain;
                }
            }
            Record::Submitted { batch, task_id, .. } => {
                if let Some(state) = self.batches.get_mut(batch) {
                    *state = BatchState::Submitted { task_id: *task_id };
                }
            }
            Record::Refused {
                batch,
                code,
                message,
            } => {
                if let Some(state) = self.batches.get_mut(batch)
                    && !matches!(state, BatchState::Submitted { .. })
                {
                    *state = BatchState::Refused {
                        code: code.clone(),
                        message: message.clone(),
                    };
                }
            }
            Record::Gate(result) => {
                self.gates.insert(result.wave, result.clone());
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_dropped_and_middle_corruption_refused() {
        let path = Path::new("j");
        let good = "{\"record\":\"finished\"}\n";
        let parsed = parse(&format!("{good}{good}{{\"reco"), path).unwrap();
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.valid_len, 2 * good.len());
        // A complete-looking last line without its newline is also torn: the write of
        // the newline may not have reached the disk, so it is not trusted.
        let parsed = parse(&format!("{good}{}", good.trim_end()), path).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert!(parse(&format!("{good}garbage\n{good}"), path).is_err());
    }
}
