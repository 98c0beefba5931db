//! Showing a rollout as it runs: one line per event for logs and pipes, or a status line
//! redrawn in place on a terminal.

use std::borrow::Cow;
use std::io::Write;

use iotexplorer_http::printable;
use std::time::Instant;

use crate::event::{Event, Observer};
use crate::journal::Record;
use crate::wave_check::WaveProgress;

/// Writes one plain line per event; a gate's progress only when its counts change.
pub struct LineDisplay<W: Write + Send> {
    out: W,
    last_watch: Option<(usize, usize, usize)>,
}

impl<W: Write + Send> std::fmt::Debug for LineDisplay<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineDisplay").finish_non_exhaustive()
    }
}

impl<W: Write + Send> LineDisplay<W> {
    /// Lines go to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            last_watch: None,
        }
    }
}

/// The line for an event; `None` for events only a terminal shows. Its control
/// characters are written out as Rust writes them (`\u{1b}`), so that text the service
/// wrote cannot act on a terminal.
pub fn line_of(event: &Event) -> Option<String> {
    let line = unescaped_line_of(event)?;
    Some(match printable(&line) {
        Cow::Borrowed(_) => line,
        Cow::Owned(escaped) => escaped,
    })
}

fn unescaped_line_of(event: &Event) -> Option<String> {
    Some(match event {
        Event::Started {
            rollout,
            resumed,
            devices,
            waves,
            batches,
        } => format!(
            "{} rollout {rollout}: {devices} devices, {waves} waves, {batches} calls",
            if *resumed { "resuming" } else { "starting" }
        ),
        Event::WaveStarted {
            wave,
            devices,
            batches_left,
        } => format!("wave {wave}: {devices} devices, {batches_left} calls to make"),
        Event::Submitted {
            wave,
            devices,
            record:
                Record::Submitted {
                    batch,
                    task_id,
                    reconciled,
                },
        } => format!(
            "wave {wave}: batch {batch} ({devices} devices) is task {task_id}{}",
            if *reconciled {
                " (found by reconciliation)"
            } else {
                ""
            }
        ),
        Event::AwaitingTask {
            batch,
            resend_at_ms,
        } => format!(
            "batch {batch}: no task found yet; sent again at {} UTC if none appears by then",
            clock_time(*resend_at_ms)
        ),
        Event::StillInDoubt { batch } => format!(
            "batch {batch}: an earlier call of unknown outcome may still have made its task; \
             it is looked for before the batch is sent again (`rollout resume`)"
        ),
        Event::Recorded(record) => return record_line(record),
        Event::Submitted { .. } | Event::Watching(_) => return None,
    })
}

/// The time of day of `unix_ms`, `HH:MM:SS`, in UTC.
fn clock_time(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// The line for a record as it is written; `None` for those told of otherwise.
fn record_line(record: &Record) -> Option<String> {
    Some(match record {
        Record::Unknown { batch, error } => {
            format!(
                "batch {batch}: outcome unknown, looking for its task before any new call: {error}"
            )
        }
        Record::NotSent { batch, error } => format!("batch {batch}: not sent: {error}"),
        Record::Refused {
            batch,
            code,
            message,
        } => format!("batch {batch}: refused: {code}: {message}"),
        // Shown as "gate", the word the output has always used for a wave's verdict.
        Record::Verdict(verdict) => format!(
            "wave {}: gate {}: {} succeeded, {} failed, {} pending of {} (failure rate {:.1}%{})",
            verdict.wave,
            if verdict.passed { "passed" } else { "failed" },
            verdict.succeeded,
            verdict.failed,
            verdict.pending,
            verdict.total,
            verdict.failure_rate * 100.0,
            if verdict.timed_out { ", timed out" } else { "" }
        ),
        Record::Cancelled { wave, task_ids } => {
            format!("wave {wave}: cancelled tasks {task_ids:?}")
        }
        Record::Paused { wave } => {
            format!("paused after wave {wave}; continue with `rollout resume`")
        }
        Record::Aborted { reason, .. } => format!("aborted: {reason}"),
        Record::Finished => "finished".to_owned(),
        Record::Start { .. } | Record::Intent { .. } | Record::Submitted { .. } => return None,
    })
}

/// The status line of a wave's check.
fn watching_line(progress: &WaveProgress) -> String {
    let WaveProgress {
        wave,
        total,
        succeeded,
        failed,
    } = *progress;
    format!(
        "wave {wave}: {succeeded} succeeded, {failed} failed, {} updating of {total}",
        total.saturating_sub(succeeded + failed)
    )
}

impl<W: Write + Send> Observer for LineDisplay<W> {
    fn event(&mut self, event: &Event) {
        if let Event::Watching(progress) = event {
            let counts = (progress.wave, progress.succeeded, progress.failed);
            if self.last_watch != Some(counts) {
                self.last_watch = Some(counts);
                let _ = writeln!(self.out, "{}", watching_line(progress));
            }
            return;
        }
        if let Some(line) = line_of(event) {
            // A display that cannot write must not stop the rollout.
            let _ = writeln!(self.out, "{line}");
        }
    }
}

/// Redraws one status line per wave on a terminal: devices submitted, succeeded,
/// failed, the call rate and the time left for the submission; other events are
/// printed above it.
pub struct TerminalDisplay<W: Write + Send> {
    out: W,
    wave: usize,
    wave_devices: usize,
    submitted: usize,
    calls: usize,
    calls_left: usize,
    started: Instant,
    drawn: bool,
}

impl<W: Write + Send> std::fmt::Debug for TerminalDisplay<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalDisplay").finish_non_exhaustive()
    }
}

impl<W: Write + Send> TerminalDisplay<W> {
    /// Draws on `out`, which should be a terminal.
    pub fn new(out: W) -> Self {
        Self {
            out,
            wave: 0,
            wave_devices: 0,
            submitted: 0,
            calls: 0,
            calls_left: 0,
            started: Instant::now(),
            drawn: false,
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[2K");
            self.drawn = false;
        }
    }

    fn draw(&mut self, status: &str) {
        self.clear();
        let _ = write!(self.out, "{status}");
        let _ = self.out.flush();
        self.drawn = true;
    }

    fn submission_status(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.calls as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            format!("{:.0}s", self.calls_left as f64 / rate)
        } else {
            "-".to_owned()
        };
        format!(
            "wave {}: submitted {}/{} devices, {rate:.1} calls/s, ETA {eta}",
            self.wave, self.submitted, self.wave_devices
        )
    }
}

impl<W: Write + Send> Observer for TerminalDisplay<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::WaveStarted {
                wave,
                devices,
                batches_left,
            } => {
                self.wave = *wave;
                self.wave_devices = *devices;
                self.calls = 0;
                self.calls_left = *batches_left;
                self.submitted = 0;
                self.started = Instant::now();
                self.clear();
                if let Some(line) = line_of(event) {
                    let _ = writeln!(self.out, "{line}");
                }
                let status = self.submission_status();
                self.draw(&status);
            }
            Event::Submitted { devices, .. } => {
                self.calls += 1;
                self.calls_left = self.calls_left.saturating_sub(1);
                self.submitted += devices;
                let status = self.submission_status();
                self.draw(&status);
            }
            Event::Watching(progress) => {
                let status = watching_line(progress);
                self.draw(&status);
            }
            other => {
                self.clear();
                if let Some(line) = line_of(other) {
                    let _ = writeln!(self.out, "{line}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_line_is_redrawn_and_events_are_printed_above_it() {
        let mut out = Vec::new();
        {
            let mut display = TerminalDisplay::new(&mut out);
            display.event(&Event::WaveStarted {
                wave: 1,
                devices: 10,
                batches_left: 2,
            });
            for batch in ["1-1", "1-2"] {
                display.event(&Event::Submitted {
                    wave: 1,
                    devices: 5,
                    record: Record::Submitted {
                        batch: batch.to_owned(),
                        task_id: 7,
                        reconciled: false,
                    },
                });
            }
            display.event(&Event::Recorded(Record::Finished));
        }
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("wave 1: 10 devices, 2 calls to make\n"));
        assert!(text.contains("submitted 10/10 devices"));
        assert!(text.contains("\r\x1b[2Kfinished\n"), "{text:?}");
    }

    #[test]
    fn plain_lines_have_no_control_characters() {
        let mut out = Vec::new();
        {
            let mut display = LineDisplay::new(&mut out);
            display.event(&Event::Submitted {
                wave: 2,
                devices: 100,
                record: Record::Submitted {
                    batch: "2-3".to_owned(),
                    task_id: 1_000_004,
                    reconciled: true,
                },
            });
            for _ in 0..3 {
                display.event(&Event::Watching(WaveProgress {
                    wave: 2,
                    total: 1,
                    succeeded: 0,
                    failed: 0,
                }));
            }
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            "wave 2: batch 2-3 (100 devices) is task 1000004 (found by reconciliation)\n\
             wave 2: 0 succeeded, 0 failed, 1 updating of 1\n"
        );
    }

    #[test]
    fn control_characters_are_written_out_and_other_text_kept() {
        assert!(matches!(
            printable("固件 dev-01 ✓"),
            Cow::Borrowed("固件 dev-01 ✓")
        ));
        assert_eq!(
            printable("a\u{1b}[2J\u{9b}31m\r\n\t\u{7}\u{0}b"),
            r"a\u{1b}[2J\u{9b}31m\r\n\t\u{7}\0b"
        );
        let refused = Event::Recorded(Record::Refused {
            batch: "1-1".to_owned(),
            code: "FailedOperation\u{1b}]0;t\u{7}".into(),
            message: "已满\u{1b}[1A".to_owned(),
        });
        assert_eq!(
            line_of(&refused).as_deref(),
            Some(r"batch 1-1: refused: FailedOperation\u{1b}]0;t\u{7}: 已满\u{1b}[1A")
        );
    }

    #[test]
    fn a_wait_for_a_task_tells_when_the_batch_may_be_sent_again() {
        let waiting = Event::AwaitingTask {
            batch: "2-7".to_owned(),
            resend_at_ms: 1_764_547_323_456,
        };
        assert_eq!(
            line_of(&waiting).as_deref(),
            Some(
                "batch 2-7: no task found yet; sent again at 00:02:03 UTC if none appears by then"
            )
        );
    }
}
