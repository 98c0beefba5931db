//! A journal whose disk fills while a run holds it, on a real (tiny) file system: the
//! failed record is cut off, so the journal stays readable, and the run writes nothing
//! more.

// A test that cannot run here says so on stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use iotexplorer_rollout::{Journal, JournalError, Record};

/// A fresh directory for one test's files, removed when dropped.
fn scratch_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("rollout-journal-failures-{name}-"))
        .tempdir()
        .unwrap()
}

/// A tmpfs of 64 KiB mounted on a directory of its own, unmounted when dropped.
struct TinyDisk {
    dir: PathBuf,
}

impl TinyDisk {
    /// `None` where mounting is not allowed (not root, or no mount in a container).
    fn mount(parent: &Path) -> Option<Self> {
        let dir = parent.join("disk");
        std::fs::create_dir(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { dir }),
            other => {
                eprintln!("skipped: cannot mount a tmpfs to fill ({other:?})");
                None
            }
        }
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Still busy (a panic left a file open): detach it, so the directory goes.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Writes `path` until the file system is full; returns how much it took.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = [0u8; 4096];
    let mut written = 0;
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(err) if err.kind() == io::ErrorKind::StorageFull => break,
            Err(err) => panic!("filling {}: {err}", path.display()),
        }
    }
    written
}

fn text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// A record longer than the room left in the journal's last page, so that a full disk
/// takes part of it: an intent for a batch of two thousand devices.
fn long_intent() -> Record {
    Record::Intent {
        batch: "1-9".to_owned(),
        devices: (0..2000).map(|n| format!("device-{n:05}")).collect(),
        marker: "rollout-test/1-9".to_owned(),
        at_ms: 1,
    }
}

#[test]
fn a_record_the_full_disk_cut_short_is_removed_and_nothing_more_is_written() {
    let dir = scratch_dir("full");
    let Some(disk) = TinyDisk::mount(dir.path()) else {
        return;
    };
    let path = disk.dir.join("j");
    let filler = disk.dir.join("filler");
    let mut journal = Journal::create(&path, &Record::Finished).unwrap();
    journal.append(&Record::Paused { wave: 1 }).unwrap();
    let before = text(&path);
    assert!(fill(&filler) > 0);

    match journal.append(&long_intent()) {
        Err(JournalError::Io { source, .. }) if source.kind() == io::ErrorKind::StorageFull => {}
        other => panic!("{other:?}"),
    }
    // The disk took part of the record (the rest of the journal's last page); it is gone
    // again, so the next record would start a line of its own.
    assert_eq!(text(&path), before, "no partial line left");

    // With room again, this run still writes nothing: its records would follow one that
    // was never written.
    std::fs::remove_file(&filler).unwrap();
    match journal.append(&Record::Paused { wave: 2 }) {
        Err(error @ JournalError::Poisoned { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains("os error 28"),
                "names the first failure: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(text(&path), before, "nothing written");
    drop(journal);

    // The next run reads the journal and goes on.
    let (mut next, records) = Journal::open(&path).unwrap();
    assert_eq!(records, [Record::Finished, Record::Paused { wave: 1 }]);
    next.append(&long_intent()).unwrap();
    drop(next);
    assert_eq!(Journal::read(&path).unwrap().len(), 3);
}
