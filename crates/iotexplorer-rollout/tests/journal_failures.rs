//! A journal whose disk fills or whose file is replaced while a run holds it: the
//! failed record is cut off, so the journal stays readable, and the run writes nothing
//! more. Real files, on a real (tiny) file system for the full disk.

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

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_journal_replaced_while_held_is_written_no_more_and_taken_only_once_let_go() {
    let dir = scratch_dir("replaced");
    let path = dir.path().join("j");
    let mut first = Journal::create(&path, &Record::Finished).unwrap();
    first.append(&Record::Paused { wave: 1 }).unwrap();
    let replaced = std::fs::File::open(&path).unwrap();

    // What `sed -i` does: the same text in a new file, renamed over the journal.
    let copy = dir.path().join("j.sed");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::rename(&copy, &path).unwrap();
    let before = text(&path);

    // Nobody locks the new file, but the first holder still runs: a second one would
    // drive the rollout beside it.
    match Journal::open(&path) {
        Err(JournalError::InUse {
            holder: Some(holder),
            ..
        }) => assert_eq!(holder.pid, std::process::id()),
        other => panic!("{other:?}"),
    }

    // The first holder stops at its next record, which goes nowhere: not into the file
    // at the path, nor into the replaced one, which no resume would read.
    match first.append(&Record::Paused { wave: 2 }) {
        Err(error @ JournalError::Replaced { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("was replaced"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        first.append(&Record::Paused { wave: 3 }),
        Err(JournalError::Poisoned { .. })
    ));
    assert_eq!(text(&path), before);
    assert_eq!(
        replaced.metadata().unwrap().len(),
        before.len() as u64,
        "nothing written into the replaced file"
    );
    drop(replaced);
    drop(first);

    // Let go: the journal at the path is free, and goes on from what it holds.
    let (mut second, records) = Journal::open(&path).unwrap();
    assert_eq!(records, [Record::Finished, Record::Paused { wave: 1 }]);
    second.append(&Record::Paused { wave: 2 }).unwrap();
    drop(second);
    assert_eq!(Journal::read(&path).unwrap().len(), 3);
    assert_eq!(entries(dir.path()), ["j"], "nothing else left");
}

#[test]
fn a_journal_moved_while_held_is_written_no_more_and_still_held_under_its_new_name() {
    let dir = scratch_dir("moved");
    let path = dir.path().join("j");
    let moved = dir.path().join("moved");
    let mut first = Journal::create(&path, &Record::Finished).unwrap();
    std::fs::rename(&path, &moved).unwrap();

    // The lock went with the file.
    assert!(matches!(
        Journal::open(&moved),
        Err(JournalError::InUse { .. })
    ));
    // The first holder's records would be lost to a resume of the path it was given.
    assert!(matches!(
        first.append(&Record::Paused { wave: 1 }),
        Err(JournalError::Replaced { .. })
    ));
    assert_eq!(Journal::read(&moved).unwrap(), [Record::Finished]);
    drop(first);

    let (second, records) = Journal::open(&moved).unwrap();
    assert_eq!(records, [Record::Finished]);
    drop(second);
    assert_eq!(entries(dir.path()), ["moved"], "nothing else left");
}
