//! The state log: one line of JSON per change, appended and flushed before the change is
//! applied, so what was acknowledged is on the disk.
//!
//! A line is `{"seq":N,"change":{...}}\n`, with `seq` counting up by one. A last line
//! without its newline is a write cut short by a crash and is dropped; any complete line
//! that is not an entry refuses the whole log, with its line number, since something other
//! than a crash damaged it.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::change::Change;
use crate::disk::StorageFaults;

/// One line of the log.
#[derive(Deserialize)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) change: Change,
}

/// One line of the log, to write.
#[derive(Serialize)]
struct EntryToWrite<'a> {
    seq: u64,
    change: &'a Change,
}

/// An entry and the line it was read from.
pub(crate) struct ReadEntry {
    pub(crate) line: usize,
    pub(crate) entry: Entry,
}

/// The log as found on the disk.
pub(crate) struct Contents {
    /// Every complete entry, in order.
    pub(crate) entries: Vec<ReadEntry>,
    /// The length of the complete lines; anything after is a torn write.
    pub(crate) complete_len: u64,
}

/// An error about line `line` of the log at `path`.
pub(crate) fn damaged(path: &Path, line: usize, reason: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} line {line}: {reason}", path.display()),
    )
}

/// Reads the log at `path`; an absent log is an empty one.
pub(crate) fn read(path: &Path) -> io::Result<Contents> {
    let bytes = match crate::disk::read_regular(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(error),
    };
    parse(path, &bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> io::Result<Contents> {
    let mut entries = Vec::new();
    let mut complete_len = 0;
    for (index, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let Some(text) = line.strip_suffix(b"\n") else {
            // The last line, cut short: its entry was never acknowledged.
            break;
        };
        let entry: Entry = serde_json::from_slice(text)
            .map_err(|error| damaged(path, index + 1, format!("not a change entry: {error}")))?;
        entries.push(ReadEntry {
            line: index + 1,
            entry,
        });
        complete_len += line.len() as u64;
    }
    Ok(Contents {
        entries,
        complete_len,
    })
}

/// The log, open for appending.
#[derive(Debug)]
pub(crate) struct StateLog {
    path: PathBuf,
    file: File,
    /// Every byte before this is a complete, flushed entry.
    len: u64,
    /// Bytes after `len` may have reached the disk (a write or flush failed, and cutting
    /// them off failed too); they are cut off before the next entry.
    dirty: bool,
    /// The `seq` of the last entry written or replayed.
    last_seq: u64,
    /// The log's file was replaced (see [`StateLog::seal`]) and its directory not flushed
    /// since: flushed before the next entry, or the entry could vanish with its name.
    dir_unsynced: bool,
}

impl StateLog {
    /// Opens the log at `path` for appending after its first `complete_len` bytes, cutting
    /// off a torn last line. Creating it also flushes its directory, so it stays.
    pub(crate) fn open(
        path: &Path,
        complete_len: u64,
        last_seq: u64,
        disk: &StorageFaults,
    ) -> io::Result<Self> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() > complete_len {
            file.set_len(complete_len)?;
            disk.sync(&file)?;
        }
        if !existed {
            disk.sync(&file)?;
            disk.sync_dir(parent_of(path))?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            len: complete_len,
            dirty: false,
            last_seq,
            dir_unsynced: false,
        })
    }

    /// The log's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Its length in bytes, all of them complete, flushed entries.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The `seq` of the last entry.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Writes `change` as the next entry and flushes it. On an error nothing of it stays
    /// in the log: a partly written or unflushed entry is cut off again.
    pub(crate) fn append(&mut self, change: &Change, disk: &StorageFaults) -> io::Result<u64> {
        let seq = self.last_seq.saturating_add(1);
        let mut line = serde_json::to_vec(&EntryToWrite { seq, change })?;
        line.push(b'\n');
        if self.dirty {
            self.cut(disk)?;
        }
        if self.dir_unsynced {
            disk.sync_dir(parent_of(&self.path))?;
            self.dir_unsynced = false;
        }
        self.dirty = true;
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| disk.write_all(&mut self.file, &line))
            .and_then(|()| disk.sync(&self.file));
        match written {
            Ok(()) => {
                self.len += line.len() as u64;
                self.dirty = false;
                self.last_seq = seq;
                Ok(seq)
            }
            Err(error) => {
                // If this fails too, `dirty` stays and the next append tries again first.
                let _ = self.cut(disk);
                Err(error)
            }
        }
    }

    /// Hands the entries written so far over to `sealed` (which must not exist) and goes on
    /// in a new, empty file under the log's name, so a snapshot can take them in while
    /// changes go on. A crash at any point leaves every entry under the log's name, under
    /// `sealed`, or under both (the same entries twice, which loading skips); on an error
    /// the log goes on as before.
    ///
    /// `sealed` is made a second name of the log's file first, and only then the new file
    /// renamed over the log's name: there is no moment at which an entry has no name.
    pub(crate) fn seal(&mut self, sealed: &Path, disk: &StorageFaults) -> io::Result<()> {
        // The sealed entries must be exactly the acknowledged ones.
        if self.dirty {
            self.cut(disk)?;
        }
        let next = sibling_of(&self.path, ".next");
        let _ = std::fs::remove_file(&next);
        let fresh = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&next)
            .and_then(|file| disk.sync(&file).map(|()| file));
        let fresh = match fresh {
            Ok(file) => file,
            Err(error) => {
                let _ = std::fs::remove_file(&next);
                return Err(error);
            }
        };
        if let Err(error) = std::fs::hard_link(&self.path, sealed) {
            let _ = std::fs::remove_file(&next);
            return Err(error);
        }
        // The second name must be on disk before the first moves to the fresh file: a
        // power cut could otherwise keep the rename and lose the link, leaving the
        // acknowledged entries without a name.
        if let Err(error) = disk.sync_dir(parent_of(&self.path)) {
            let _ = std::fs::remove_file(sealed);
            let _ = std::fs::remove_file(&next);
            return Err(error);
        }
        if let Err(error) = std::fs::rename(&next, &self.path) {
            // `sealed` is only a second name of the log; without it all stays as it was.
            let _ = std::fs::remove_file(sealed);
            let _ = std::fs::remove_file(&next);
            return Err(error);
        }
        self.file = fresh;
        self.len = 0;
        self.dirty = false;
        // Until the directory is flushed, the new names may not survive a power cut; the
        // next entry waits for it (`append`), so no entry depends on them unflushed.
        self.dir_unsynced = disk.sync_dir(parent_of(&self.path)).is_err();
        Ok(())
    }

    /// Empties the log once a snapshot holds all of it.
    pub(crate) fn clear(&mut self, disk: &StorageFaults) -> io::Result<()> {
        // Until the shorter length is flushed, the old entries may still be there; they
        // are harmless (the snapshot says it holds them), but must not be appended to.
        self.dirty = true;
        self.file.set_len(0)?;
        disk.sync(&self.file)?;
        self.len = 0;
        self.dirty = false;
        Ok(())
    }

    /// Cuts the file back to its complete entries.
    fn cut(&mut self, disk: &StorageFaults) -> io::Result<()> {
        self.file.set_len(self.len)?;
        disk.sync(&self.file)?;
        self.dirty = false;
        Ok(())
    }
}

/// The file beside `path` named `path` + `suffix`.
pub(crate) fn sibling_of(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory `path` is in.
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_dropped_and_a_bad_complete_one_refused() {
        let path = Path::new("state.json.log");
        let entry = r#"{"seq":1,"change":{"task_cancelled":{"task_id":7,"at":1.5}}}"#;
        let torn = format!("{entry}\n{}", &entry[..20]);
        let contents = parse(path, torn.as_bytes()).expect("a torn tail is fine");
        assert_eq!(contents.entries.len(), 1);
        assert_eq!(contents.complete_len, entry.len() as u64 + 1);

        let bad_last = format!("{entry}\n{}\n", &entry[..20]);
        let error = parse(path, bad_last.as_bytes())
            .err()
            .expect("a bad complete line is refused");
        assert!(error.to_string().contains("line 2"), "{error}");
        let bad_middle = format!("{entry}\nnot json\n{entry}\n");
        let error = parse(path, bad_middle.as_bytes())
            .err()
            .expect("a bad middle line is refused");
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
