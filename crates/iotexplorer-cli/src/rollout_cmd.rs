//! `iotexplorer rollout`: staged, resumable firmware rollouts.
//!
//! The engine is `iotexplorer-rollout`; this module reads the flags, picks the display,
//! and turns outcomes into output and exit codes.

mod flags;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use clap::{Arg, ArgMatches, Command};
use iotexplorer_model::SIGNATURE_MAX_AGE_SECS;
use iotexplorer_rollout::{
    DEFAULT_RESEND_AFTER, Journal, JournalError, JournalState, LineDisplay, Observer, Outcome,
    Preview, Report, Rollout, RolloutError, RolloutSpec, Settings, TerminalDisplay, devices_not_on,
    parse_device_list,
};
use serde_json::json;

use crate::bounded_read;
use crate::connect::{Session, failure_of};
use crate::failure::{EXIT_API, Failure};
use crate::settings::{Connection, GlobalFlags};

/// The name of the subcommand.
pub(crate) const ROLLOUT: &str = "rollout";
const RESUME: &str = "resume";
const STATUS: &str = "status";
const JOURNAL_ARG: &str = "JOURNAL";

/// Environment variable: milliseconds to wait before looking up a call of unknown outcome.
const RECONCILE_DELAY_ENV: &str = "IOTEXPLORER_ROLLOUT_RECONCILE_MS";
/// Environment variable: milliseconds after a call of unknown outcome before its batch may
/// be sent again.
const RESEND_AFTER_ENV: &str = "IOTEXPLORER_ROLLOUT_RESEND_AFTER_MS";
/// A `--devices` file larger than this (room for over a million names) is not a list of
/// devices.
const MAX_DEVICE_LIST_BYTES: u64 = 64 * 1024 * 1024;

/// The `rollout` subcommand and its flags.
pub(crate) fn command() -> Command {
    let journal = || {
        Arg::new(JOURNAL_ARG)
            .required(true)
            .value_name("JOURNAL")
            .help("The rollout's journal file")
    };
    Command::new(ROLLOUT)
        .about("Staged, resumable firmware rollout of a whole fleet")
        .long_about(format!(
            "Updates a fleet in waves of BatchUpdateFirmware calls, gating each wave on its \
             failure rate, with a journal that lets a killed rollout resume without updating \
             any device twice.\n\
             Exit codes: 0 finished (or paused as asked), 1 aborted by the failure threshold \
             or an API error, 2 usage or validation, or the journal is in use, 3 transport \
             or credentials.\n\
             Only one process drives a journal: `rollout` and `rollout resume` refuse at \
             once (exit 2, naming the process) while another holds it; the lock goes with \
             the process that held it, however it ended. `rollout status` only reads and \
             works at any time.\n\
             A call whose outcome is unknown is looked up by its marker after a short wait \
             ({RECONCILE_DELAY_ENV}, default {}), then again and again; its batch is sent \
             again only when no task has appeared once the call can no longer make one, as \
             the service refuses a request signed over {SIGNATURE_MAX_AGE_SECS} s ago \
             ({RESEND_AFTER_ENV}, default {}; a shorter wait is warned of, as it gives that \
             up). --debug prints each request as it is sent.",
            Settings::default().reconcile_delay.as_millis(),
            DEFAULT_RESEND_AFTER.as_millis(),
        ))
        .args_conflicts_with_subcommands(true)
        .subcommand_negates_reqs(true)
        .args(flags::args())
        .subcommand(
            Command::new(RESUME)
                .about("Continue a rollout from its journal")
                .arg(journal()),
        )
        .subcommand(
            Command::new(STATUS)
                .about("Print per-wave and per-device results from a journal")
                .arg(journal()),
        )
}

/// How the rollout's reports (plan, summary, status) are printed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReportFormat {
    Json,
    Text,
}

impl ReportFormat {
    /// `--output json` asks for JSON; anything else, or nothing, for text (a report's
    /// tables are its text).
    fn of(output: Option<crate::output::Format>) -> Self {
        match output {
            Some(crate::output::Format::Json) => ReportFormat::Json,
            _ => ReportFormat::Text,
        }
    }
}

/// What a run shows besides its journal: the reports' format, and with `--debug` every
/// request as it is sent.
#[derive(Clone, Copy)]
struct Shown {
    format: ReportFormat,
    debug: bool,
}

/// What `iotexplorer rollout` was asked to do, read once from its flags with the rest of
/// the command line (`settings::Command::read`); nothing after reads a flag by name.
pub(crate) struct Invocation {
    task: Task,
    /// The connection's flags as given; completed (profile, environment) and checked only
    /// when a call is to be made, so a dry run from a device file, or `status`, never
    /// trips on them.
    connection: GlobalFlags,
}

/// Which of the three: start, resume or report.
enum Task {
    Start(Box<StartFlags>),
    Resume(PathBuf),
    Status(PathBuf),
}

/// The flags of a new rollout.
struct StartFlags {
    options: flags::Options,
    journal: PathBuf,
    devices_file: Option<String>,
    dry_run: bool,
}

impl Invocation {
    /// The subcommand's flags in `matches`, the matches of `rollout`.
    pub(crate) fn read(matches: &ArgMatches) -> Result<Self, Failure> {
        Ok(match matches.subcommand() {
            Some((STATUS, sub)) => Self {
                task: Task::Status(journal_path(sub)?),
                connection: GlobalFlags::read(sub),
            },
            Some((RESUME, sub)) => Self {
                task: Task::Resume(journal_path(sub)?),
                connection: GlobalFlags::read(sub),
            },
            _ => {
                let connection = GlobalFlags::read(matches);
                let task = Task::Start(Box::new(StartFlags {
                    options: flags::options(matches)?,
                    journal: matches
                        .get_one::<String>(flags::JOURNAL)
                        .map(PathBuf::from)
                        .ok_or_else(|| Failure::Usage("--journal is required".to_owned()))?,
                    devices_file: matches.get_one::<String>(flags::DEVICES).cloned(),
                    dry_run: connection.dry_run,
                }));
                Self { task, connection }
            }
        })
    }
}

/// Runs `iotexplorer rollout ...`; returns the exit code.
pub(crate) fn run(
    invocation: Invocation,
    env: &dyn Fn(&str) -> Option<String>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let Invocation { task, connection } = invocation;
    let shown = Shown {
        format: ReportFormat::of(connection.output),
        debug: connection.debug,
    };
    let connect = || Connection::from_flags(&connection, env);
    match task {
        Task::Status(journal) => status(&journal, shown.format, stdout),
        Task::Resume(journal) => resume(&journal, shown, &connect, env, stdout, stderr),
        Task::Start(asked) => start(*asked, shown, &connect, env, stdout, stderr),
    }
}

/// Completes the connection's flags into settings, when a call is to be made.
type Connect<'a> = dyn Fn() -> Result<Connection, Failure> + 'a;

/// A journal that is missing, corrupt, already there or in use by another process is the
/// caller's to sort out (exit 2, nothing was sent); failing to read, write or lock an
/// existing one is the machine's (exit 3).
fn journal_failure(error: JournalError) -> Failure {
    match error {
        JournalError::Io { ref source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
            Failure::Transport(error.to_string())
        }
        // A record after a failed write: as a rule the disk is full or failing. A journal
        // replaced under a run: calls were made, so it is no usage error.
        JournalError::Lock { .. }
        | JournalError::Poisoned { .. }
        | JournalError::Replaced { .. } => Failure::Transport(error.to_string()),
        other => Failure::Usage(other.to_string()),
    }
}

fn read_state(path: &Path) -> Result<JournalState, Failure> {
    let records = Journal::read(path).map_err(journal_failure)?;
    JournalState::replay(&records, path).map_err(journal_failure)
}

/// `rollout status JOURNAL`.
fn status(path: &Path, format: ReportFormat, stdout: &mut dyn Write) -> Result<u8, Failure> {
    let report = Report::of(&read_state(path)?);
    let text = match format {
        ReportFormat::Json => crate::output::json(&json!(report)),
        ReportFormat::Text => format!("{}\n{}", report.summary_table(), report.device_table()),
    };
    crate::output::write_out(stdout, &text)?;
    Ok(0)
}

fn journal_path(matches: &ArgMatches) -> Result<PathBuf, Failure> {
    matches
        .get_one::<String>(JOURNAL_ARG)
        .map(PathBuf::from)
        .ok_or_else(|| Failure::Usage("name the journal".to_owned()))
}

/// `rollout --ProductID .. --FirmwareVersion .. (--devices FILE | --all-devices) --journal FILE`.
fn start(
    asked: StartFlags,
    shown: Shown,
    connection: &Connect<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let StartFlags {
        options,
        journal,
        devices_file,
        dry_run,
    } = asked;
    let settings = settings(env, stderr)?;
    if !dry_run {
        // Refused at once when the journal is there, and named when it is in use; the
        // creation itself is exclusive too, for rollouts started at the same moment.
        Journal::ensure_absent(&journal).map_err(journal_failure)?;
    }
    let runtime = crate::runtime()?;
    // The device list from a file needs no connection, so a dry run with one sends nothing.
    let listed = match devices_file {
        Some(file) => {
            let text = bounded_read::read_file(&file, MAX_DEVICE_LIST_BYTES)
                .map_err(|err| Failure::Usage(format!("cannot read --devices {file}: {err}")))?;
            Some(parse_device_list(&text).map_err(|err| Failure::Usage(err.to_string()))?)
        }
        None => None,
    };
    let mut session = None;
    let devices = match listed {
        Some(devices) => devices,
        None => {
            let opened = runtime.block_on(Session::open(&connection()?))?;
            let devices = runtime
                .block_on(devices_not_on(
                    &opened.client,
                    &options.product_id,
                    &options.firmware_version,
                ))
                .map_err(failure_of);
            session = Some(opened);
            match devices {
                Ok(devices) => devices,
                Err(failure) => return Err(close_then(&runtime, session, failure)),
            }
        }
    };
    let spec = match flags::spec(options, &devices) {
        Ok(spec) => spec,
        Err(failure) => return Err(close_then(&runtime, session, failure)),
    };
    if dry_run {
        let preview = Preview::of(&spec);
        let text = match shown.format {
            ReportFormat::Json => crate::output::json(&json!(preview)),
            ReportFormat::Text => preview.to_text(),
        };
        if let Some(session) = session {
            runtime.block_on(session.close());
        }
        crate::output::write_out(stdout, &text)?;
        return Ok(0);
    }
    let session = match session {
        Some(session) => session,
        None => runtime.block_on(Session::open(&connection()?))?,
    };
    let rollout = Opening::New(journal.clone(), Box::new(spec));
    drive(
        &runtime, session, rollout, settings, &journal, shown, stdout, stderr,
    )
}

/// `rollout resume JOURNAL`.
fn resume(
    path: &Path,
    shown: Shown,
    connection: &Connect<'_>,
    env: &dyn Fn(&str) -> Option<String>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let settings = settings(env, stderr)?;
    // Taken before anything else, so a second process is refused at once.
    let (journal, records) = Journal::open(path).map_err(journal_failure)?;
    let state = JournalState::replay(&records, path).map_err(journal_failure)?;
    // A rollout that has ended is only reported: nothing is sent or written.
    if state.finished || state.aborted.is_some() {
        drop(journal);
        let code = if state.finished { 0 } else { EXIT_API };
        print_report(&Report::of(&state), shown.format, stdout)?;
        return Ok(code);
    }
    let runtime = crate::runtime()?;
    let session = runtime.block_on(Session::open(&connection()?))?;
    drive(
        &runtime,
        session,
        Opening::Resume(journal, Box::new(state)),
        settings,
        path,
        shown,
        stdout,
        stderr,
    )
}

/// The rollout's waits from the environment, read before anything is sent. A value that
/// is no whole number of milliseconds is refused; a resend wait shorter than the default
/// is allowed (tests need one) but said on `stderr`, since it gives up the guarantee.
fn settings(
    env: &dyn Fn(&str) -> Option<String>,
    stderr: &mut dyn Write,
) -> Result<Settings, Failure> {
    let mut settings = Settings::default();
    if let Some(wait) = env_millis(env, RECONCILE_DELAY_ENV)? {
        settings.reconcile_delay = wait;
    }
    if let Some(wait) = env_millis(env, RESEND_AFTER_ENV)? {
        settings.resend_after = wait;
        if wait < DEFAULT_RESEND_AFTER {
            let _ = writeln!(
                stderr,
                "warning: {RESEND_AFTER_ENV}={} is below {} (the service's \
                 {SIGNATURE_MAX_AGE_SECS} s limit on a signature's age, and a minute): a batch \
                 whose call's outcome is unknown may be sent again while that call can still \
                 create a task, and its devices then get two",
                wait.as_millis(),
                DEFAULT_RESEND_AFTER.as_millis()
            );
        }
    }
    Ok(settings)
}

/// The milliseconds environment variable `name` gives, if set.
fn env_millis(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<Duration>, Failure> {
    // Set but empty is as good as unset, as shells make it easy to export one so.
    let Some(text) = env(name).filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    text.trim()
        .parse::<u64>()
        .map(|ms| Some(Duration::from_millis(ms)))
        .map_err(|_| {
            Failure::Usage(format!(
                "{name} must be a whole number of milliseconds, not {text:?}"
            ))
        })
}

fn close_then(
    runtime: &tokio::runtime::Runtime,
    session: Option<Session>,
    failure: Failure,
) -> Failure {
    if let Some(session) = session {
        runtime.block_on(session.close());
    }
    failure
}

enum Opening {
    New(PathBuf, Box<RolloutSpec>),
    /// A journal this process already holds, and the state its records describe.
    Resume(Journal, Box<JournalState>),
}

/// Sends display output from the rollout's tasks to the thread that owns `stderr`.
struct ChannelWriter(mpsc::Sender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The receiver only goes away once the rollout has ended.
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the rollout on the runtime while this thread copies its display to `stderr`,
/// then prints the summary and picks the exit code.
#[allow(clippy::too_many_arguments)]
fn drive(
    runtime: &tokio::runtime::Runtime,
    session: Session,
    opening: Opening,
    settings: Settings,
    journal: &Path,
    shown: Shown,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let Shown { format, debug } = shown;
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    // `--debug`: each request as the client sent it, between the display's lines.
    let client = if debug {
        let requests = sender.clone();
        session.client.with_request_observer(move |request| {
            let _ = requests.send(crate::debug_request(request).into_bytes());
        })
    } else {
        session.client.clone()
    };
    let writer = ChannelWriter(sender);
    let observer: Box<dyn Observer> =
        if std::io::stderr().is_terminal() && format == ReportFormat::Text {
            Box::new(TerminalDisplay::new(writer))
        } else {
            Box::new(LineDisplay::new(writer))
        };
    let task = runtime.spawn(async move {
        let mut rollout = match opening {
            Opening::New(path, spec) => Rollout::create(&path, *spec, &client, settings, observer)?,
            Opening::Resume(journal, state) => {
                Rollout::resume_opened(journal, *state, &client, settings, observer)
            }
        };
        rollout.run().await
    });
    // Ends when the rollout drops its display, that is when it has ended.
    for chunk in receiver {
        let _ = stderr.write_all(&chunk);
        let _ = stderr.flush();
    }
    let result = runtime
        .block_on(task)
        .map_err(|err| Failure::Transport(format!("the rollout stopped unexpectedly: {err}")));
    runtime.block_on(session.close());
    let outcome = match result? {
        Ok(outcome) => outcome,
        Err(
            error @ RolloutError::Journal(JournalError::InUse { .. } | JournalError::Exists(_)),
        ) => {
            // Another rollout's journal: nothing of this run is in it.
            return Err(rollout_failure(error));
        }
        Err(error) => {
            // Whatever was done is in the journal: show it, then the error.
            if let Ok(state) = read_state(journal) {
                let _ = crate::output::write_out(stderr, &Report::of(&state).summary_table());
            }
            let _ = writeln!(
                stderr,
                "continue with: iotexplorer rollout resume {}",
                journal.display()
            );
            return Err(rollout_failure(error));
        }
    };
    let state = read_state(journal)?;
    print_report(&Report::of(&state), format, stdout)?;
    Ok(match outcome {
        Outcome::Aborted { .. } => EXIT_API,
        _ => 0,
    })
}

fn print_report(
    report: &Report,
    format: ReportFormat,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let text = match format {
        ReportFormat::Json => crate::output::json(&json!(report)),
        ReportFormat::Text => report.summary_table(),
    };
    crate::output::write_out(stdout, &text)
}

fn rollout_failure(error: RolloutError) -> Failure {
    match error {
        RolloutError::Call { batch, source } => match failure_of(*source) {
            Failure::Api {
                code,
                message,
                request_id,
            } => Failure::Api {
                code,
                message: match batch {
                    Some(batch) => format!("batch {batch}: {message}"),
                    None => message,
                },
                request_id,
            },
            other => other,
        },
        RolloutError::Plan(err) => Failure::Usage(err.to_string()),
        // Nothing was sent for the batch: the options asked for an invalid request.
        error @ RolloutError::Request { .. } => Failure::Usage(error.to_string()),
        RolloutError::Journal(err) => journal_failure(err),
        // The rollout's own verdicts (a state it cannot explain, a batch left to a
        // resume), not answers of the service: no error code is made up for them.
        other => Failure::Stopped(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rollouts_own_verdicts_are_not_shown_as_the_services_errors() {
        for error in [
            RolloutError::Inconsistent("batch b-1 has two tasks".to_owned()),
            RolloutError::Stopped {
                batch: "b-2".to_owned(),
            },
        ] {
            let failure = rollout_failure(error);
            assert_eq!(failure.exit_code(), EXIT_API, "{failure:?}");
            let shown = failure.render();
            assert!(shown.starts_with("error: batch b-"), "{shown}");
            assert!(!shown.contains("Code"), "{shown}");
        }
    }
}
