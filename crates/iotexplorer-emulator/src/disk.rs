//! Writes and flushes of the state file, with failures that can be injected on purpose, so
//! tests can see what the emulator does when the disk is full or a flush fails.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The whole of the state file or its log at `path`, which must be a regular file: the
/// emulator writes them by renaming and appending, while a device such as `/dev/zero`
/// would be read without end and a FIFO would wait for a writer. A missing file is
/// [`io::ErrorKind::NotFound`], as from [`std::fs::read`].
pub(crate) fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a regular file", path.display()),
        ));
    }
    std::fs::read(path)
}

/// Storage failures of the `--state` file, injected on purpose; every handle from
/// [`RunningEmulator::storage_faults`](crate::RunningEmulator::storage_faults) shares them.
///
/// A failed write stores part of its bytes, then fails with "no space left on device", as a
/// real full disk does; a failed flush stores everything, then fails with an I/O error, so
/// the data may or may not be on the disk.
#[derive(Clone, Debug, Default)]
pub struct StorageFaults {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    writes: AtomicU64,
    syncs: AtomicU64,
}

impl StorageFaults {
    /// The next `count` writes to the state files fail (adds to any still pending).
    pub fn fail_writes(&self, count: u64) {
        self.counts.writes.fetch_add(count, Ordering::SeqCst);
    }

    /// The next `count` flushes (`fsync`) of the state files fail (adds to any still
    /// pending).
    pub fn fail_syncs(&self, count: u64) {
        self.counts.syncs.fetch_add(count, Ordering::SeqCst);
    }

    /// No more injected failures.
    pub fn clear(&self) {
        self.counts.writes.store(0, Ordering::SeqCst);
        self.counts.syncs.store(0, Ordering::SeqCst);
    }

    /// Spends one pending failure from `counter`, if there is one.
    fn take(counter: &AtomicU64) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Writes all of `bytes` to `file`, or part of them and an error.
    pub(crate) fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        if Self::take(&self.counts.writes) {
            file.write_all(bytes.get(..bytes.len() / 2).unwrap_or_default())?;
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (injected)",
            ));
        }
        file.write_all(bytes)
    }

    /// Flushes `file`'s data and size to the disk.
    pub(crate) fn sync(&self, file: &File) -> io::Result<()> {
        if Self::take(&self.counts.syncs) {
            return Err(io::Error::other("the flush to disk failed (injected)"));
        }
        file.sync_all()
    }

    /// Flushes the directory `dir`, so a file created or renamed in it stays there.
    pub(crate) fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.sync(&File::open(dir)?)
    }
}
