//! The `iotexplorer` command line: every action of Tencent Cloud IoT Explorer
//! (`iotexplorer` 2019-04-23) from the shell, with tccli's conventions.
//!
//! ```text
//! iotexplorer [GLOBAL] <Action> [--<Member> VALUE]...
//! iotexplorer --emulator BatchUpdateFirmware --ProductID ABCDE12345 --FirmwareVersion 2.0.0 \
//!     --DeviceNames '["dev001","dev002"]'
//! iotexplorer sign --action BatchUpdateFirmware --timestamp 1700000000 --body '{...}'
//! iotexplorer emulator --listen 127.0.0.1:9555
//! ```
//!
//! The binary is a thin shell over [`run`], which takes the arguments, the environment and
//! the standard streams, and returns the exit code: 0 success, 1 API error, 2 usage or
//! validation error (nothing sent), 3 network, credential or transport error (when the
//! request may have been processed, as after a timeout or an unreadable answer to a write,
//! the message says so).
//!
//! Run from Rust, with the environment and the streams in hand, as a test does:
//!
//! ```
//! use std::ffi::OsString;
//!
//! let args: Vec<OsString> = [
//!     "iotexplorer", "--emulator", "BatchUpdateFirmware",
//!     "--ProductID", "ABCDE12345", "--FirmwareVersion", "2.0.0",
//!     "--DeviceNames", r#"["dev001","dev002"]"#,
//! ]
//! .into_iter()
//! .map(OsString::from)
//! .collect();
//! let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
//! let code = iotexplorer_cli::run(
//!     &args,
//!     &mut iotexplorer_cli::Io {
//!         env: &|_| None,
//!         stdin: &mut std::io::empty(),
//!         stdout: &mut stdout,
//!         stderr: &mut stderr,
//!     },
//! );
//! assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
//! let created: serde_json::Value = serde_json::from_slice(&stdout)?;
//! assert!(created["TaskId"].as_u64().is_some());
//! # Ok::<(), serde_json::Error>(())
//! ```

mod bounded_read;
mod command;
mod complete;
mod connect;
mod failure;
mod filter;
mod generate_code;
mod member_flags;

mod output;
mod rollout_cmd;
mod search;
mod settings;
mod sign_cmd;
mod tccli_args;
mod tccli_config;
mod waiter;

use std::ffi::OsString;
use std::io::{Read, Write};

use clap::ArgMatches;
use iotexplorer_model::{ActionMeta, ValidationErrors};

use command::{ActionSelection, COMPLETIONS, first_positional, root};
use failure::Failure;
use output::Format;
use settings::{ActionCall, CallMode, Command, Connection, RequestInput, Settings, View};

/// The process's surroundings, passed in so that every path can be tested.
pub struct Io<'a> {
    /// Reads an environment variable: `None` only when it is unset (the binary reads a
    /// value that is not UTF-8 with U+FFFD for its stray bytes).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Standard input.
    pub stdin: &'a mut dyn Read,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
}

/// Which standard streams are terminals. Colour goes only to a terminal, and never when
/// `NO_COLOR` is set (to anything but the empty string).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Terminals {
    /// Standard output is a terminal.
    pub stdout: bool,
    /// Standard error is a terminal.
    pub stderr: bool,
}

impl Terminals {
    /// Says which of standard output and standard error are terminals.
    pub fn new(stdout: bool, stderr: bool) -> Self {
        Self { stdout, stderr }
    }
}

/// Runs the command line `args` (the first is the program name) and returns the exit code.
/// The streams are taken not to be terminals: nothing is coloured.
pub fn run(args: &[OsString], io: &mut Io<'_>) -> u8 {
    run_with_terminals(args, io, Terminals::default())
}

/// [`run`], colouring help and usage errors for the streams that are terminals.
pub fn run_with_terminals(args: &[OsString], io: &mut Io<'_>, terminals: Terminals) -> u8 {
    let no_color = (io.env)("NO_COLOR").is_some_and(|value| !value.is_empty());
    let text_args: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let (text_args, action) = match tccli_args::prepare(text_args) {
        Ok(tccli_args::Prepared::Args { args, action }) => (args, action),
        Ok(tccli_args::Prepared::PrintVersion) => {
            let _ = writeln!(io.stdout, "iotexplorer {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(failure) => {
            let _ = io.stderr.write_all(failure.render().as_bytes());
            return failure.exit_code();
        }
    };
    let wants_everything = text_args
        .iter()
        .any(|arg| arg == "--help" || arg == "-h" || arg == "help" || arg == COMPLETIONS);
    let selection = match (action, wants_everything) {
        (Some(meta), false) => ActionSelection::Only(meta),
        (None, false) => {
            // A name that is no subcommand but close to an action's: say which.
            let unknown = first_positional(text_args.iter().map(String::as_str))
                .and_then(search::unknown_action);
            if let Some(failure) = unknown {
                let _ = io.stderr.write_all(failure.render().as_bytes());
                return failure.exit_code();
            }
            ActionSelection::None
        }
        (_, true) => ActionSelection::All,
    };
    let matches = match root(selection).try_get_matches_from(&text_args) {
        Ok(matches) => matches,
        Err(err) => {
            let code = if err.use_stderr() {
                failure::EXIT_USAGE
            } else {
                0
            };
            let to_terminal = if err.use_stderr() {
                terminals.stderr
            } else {
                terminals.stdout
            };
            let rendered = if to_terminal && !no_color {
                err.render().ansi().to_string()
            } else {
                err.render().to_string()
            };
            let sink: &mut dyn Write = if err.use_stderr() {
                io.stderr
            } else {
                io.stdout
            };
            let _ = sink.write_all(rendered.as_bytes());
            return code;
        }
    };
    match dispatch(
        &matches,
        action,
        io.env,
        &mut *io.stdin,
        &mut *io.stdout,
        &mut *io.stderr,
        terminals,
    ) {
        Ok(code) => code,
        Err(failure) => {
            let _ = io.stderr.write_all(failure.render().as_bytes());
            failure.exit_code()
        }
    }
}

fn dispatch(
    matches: &ArgMatches,
    action: Option<&'static ActionMeta>,
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    terminals: Terminals,
) -> Result<u8, Failure> {
    let Some((name, sub)) = matches.subcommand() else {
        return Err(Failure::Usage(
            "name an action or a subcommand; see --help".to_owned(),
        ));
    };
    match Command::read(name, sub, action)? {
        Command::Completions(shell) => {
            let mut script = Vec::new();
            let mut command = root(ActionSelection::All);
            clap_complete::generate(shell, &mut command, "iotexplorer", &mut script);
            output::write_out(stdout, &String::from_utf8_lossy(&script))?;
            Ok(0)
        }
        Command::Sign(settings) => {
            let mut out = String::new();
            let mut source = sign_cmd::SecretSource { env, stdin };
            let matched = sign_cmd::run(&settings, &mut source, &mut out)?;
            output::write_out(stdout, &out)?;
            Ok(if matched { 0 } else { failure::EXIT_API })
        }
        Command::Rollout(invocation) => rollout_cmd::run(*invocation, env, stdout, stderr),
        Command::Search(settings) => search::run(&settings, stdout),
        Command::Emulator(settings) => {
            let runtime = runtime()?;
            runtime
                .block_on(iotexplorer_emulator::serve(&settings, stdout))
                .map_err(Failure::Usage)?;
            Ok(0)
        }
        Command::Action(call) => run_action(&call, env, stdout, stderr, terminals),
    }
}

/// `iotexplorer <Action> ...`: the call, its skeleton, or a program that makes it.
fn run_action(
    call: &ActionCall,
    env: &dyn Fn(&str) -> Option<String>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    terminals: Terminals,
) -> Result<u8, Failure> {
    let meta = call.meta;
    if let CallMode::GenerateCode { language, reveal } = &call.mode {
        let body = checked_body(meta, &call.input)?;
        let connection = Connection::from_flags(&call.flags, env)?;
        return generate_code::run(meta, &body.0, language, *reveal, &connection, stdout);
    }
    let profile = tccli_config::TccliProfile::load(call.flags.profile.as_deref(), env)?;
    let view = View::resolve(&call.flags, &profile, env, terminals.stdout)?;
    if call.mode == CallMode::Skeleton {
        let skeleton = meta.skeleton();
        output::write_out(stdout, &output::render(&skeleton, view.format, view.width))?;
        return Ok(0);
    }
    if view.waiter.is_some() && !meta.read_only {
        // Each poll is the call itself: a waiter on a write would repeat the write.
        return Err(Failure::Usage(format!(
            "--waiter cannot be used with {name}: each poll calls the action again, and \
             {name} changes the service (it is not read-only), so every poll would repeat \
             the change (nothing was sent); call it once, then wait with a read-only action \
             (for a task, DescribeFirmwareTask)",
            name = meta.name
        )));
    }
    let connection = Connection::resolve(&call.flags, profile, env)?;
    let settings = Settings::new(&call.flags, view, connection);
    let response = call_action(meta, &call.input, &settings, stderr)?;
    if settings.dry_run {
        output::write_out(
            stdout,
            &output::render(&response, settings.view.format, settings.view.width),
        )?;
        return Ok(0);
    }
    // A --filter that fails on this answer fails after a write took effect.
    let shown = shown_response(&settings.view, meta, &response, stderr).map_err(|failure| {
        if meta.read_only {
            failure
        } else {
            succeeded_unseen(meta, &response, &failure)
        }
    })?;
    output::write_out(
        stdout,
        &output::render(&shown, settings.view.format, settings.view.width),
    )
    .map_err(|failure| succeeded_unseen(meta, &response, &failure))?;
    Ok(0)
}

/// A call that succeeded but whose answer could not be shown: still a failure (a script
/// must not take output it never got), but one that says the call took effect, so that
/// no one sends a write again on the exit code alone.
fn succeeded_unseen(meta: &ActionMeta, response: &serde_json::Value, failure: &Failure) -> Failure {
    let request_id = response
        .get("RequestId")
        .and_then(serde_json::Value::as_str)
        .map_or_else(String::new, |id| {
            format!(" (RequestId {})", iotexplorer_http::printable(id))
        });
    let mut message = format!(
        "{} succeeded{request_id}, but its answer could not be shown: {}",
        meta.name,
        match failure {
            Failure::Transport(why) | Failure::Usage(why) | Failure::Stopped(why) => why.as_str(),
            Failure::Api { .. } => "",
        }
    );
    if !meta.read_only {
        message.push_str("\nIt took effect: do not send it again.");
    }
    Failure::Transport(message)
}

fn call_action(
    meta: &'static ActionMeta,
    input: &RequestInput,
    settings: &Settings,
    stderr: &mut dyn Write,
) -> Result<serde_json::Value, Failure> {
    let body = checked_body(meta, input)?;
    runtime()?.block_on(async {
        let session = connect::Session::open(&settings.connection).await?;
        let outcome = match &settings.view.waiter {
            Some(waiter) => wait_for(&session, meta, &body, settings, stderr, waiter).await,
            None => exchange(&session, meta, &body, settings, stderr).await,
        };
        session.close().await;
        outcome
    })
}

/// A request body that has passed every documented rule of its action; only
/// [`checked_body`] makes one, so a call (or each poll of `--waiter`) checks it once.
struct CheckedBody(serde_json::Value);

/// The request body from the flags, checked against every documented rule of the action.
fn checked_body(meta: &'static ActionMeta, input: &RequestInput) -> Result<CheckedBody, Failure> {
    let body = member_flags::request_body(input).map_err(|bad| Failure::Usage(bad.0))?;
    meta.check_json(&body)
        .map_err(|errors| Failure::Usage(describe(&errors)))?;
    Ok(CheckedBody(body))
}

/// Sends the call (or with `--dry-run` only shows it) and returns what to print.
async fn exchange(
    session: &connect::Session,
    meta: &'static ActionMeta,
    CheckedBody(body): &CheckedBody,
    settings: &Settings,
    stderr: &mut dyn Write,
) -> Result<serde_json::Value, Failure> {
    let dry_run = settings.dry_run;
    let debug = settings.debug;
    if dry_run {
        let preview = session
            .client
            .preview_json(meta, body)
            .await
            .map_err(connect::failure_of)?;
        return Ok(shown_request(&preview));
    }
    // `--debug` shows the request of each attempt as the client sent it, not a second
    // signature made to look like it.
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = if debug {
        let log = std::sync::Arc::clone(&sent);
        session.client.with_request_observer(move |request| {
            log.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(request.clone());
        })
    } else {
        session.client.clone()
    };
    // Checked once already, in `checked_body`.
    let response = client
        .send_json_unchecked(meta.name, meta.read_only, body)
        .await;
    if debug {
        let sent = sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for request in sent.iter() {
            let _ = write!(stderr, "{}", debug_request(request));
        }
    }
    let response = response.map_err(connect::failure_of)?;
    if debug {
        let _ = write!(stderr, "response:\n{}", output::printable_json(&response));
    }
    Ok(response)
}

/// A request as `--debug` prints it on stderr, the call's and the rollout's alike.
pub(crate) fn debug_request(sent: &iotexplorer_http::RequestPreview) -> String {
    format!("request:\n{}", output::json(&shown_request(sent)))
}

/// A request as `--dry-run` and `--debug` show it.
fn shown_request(preview: &iotexplorer_http::RequestPreview) -> serde_json::Value {
    serde_json::json!({
        "Method": preview.method,
        "Url": preview.url,
        "Headers": preview.headers.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
        "Body": preview.body,
    })
}

/// `--waiter`: the call again and again until its expression gives the awaited value,
/// looking at the answer as tccli shows it (every model member present).
async fn wait_for(
    session: &connect::Session,
    meta: &'static ActionMeta,
    body: &CheckedBody,
    settings: &Settings,
    stderr: &mut dyn Write,
    waiter: &waiter::Waiter,
) -> Result<serde_json::Value, Failure> {
    let started = std::time::Instant::now();
    loop {
        let response = exchange(session, meta, body, settings, stderr).await?;
        let shown = complete::complete(meta.output, &response, true, &mut Vec::new());
        let found = waiter.look(&shown)?;
        if waiter.reached(&found) {
            return Ok(response);
        }
        if started.elapsed() >= waiter.timeout {
            return Err(Failure::Transport(format!(
                "--waiter: `{}` did not become {} within {} s; last value: {}",
                waiter.text,
                waiter::python_display(&waiter.to),
                waiter.timeout.as_secs_f64(),
                iotexplorer_http::printable(&waiter::python_display(&found))
            )));
        }
        let _ = writeln!(
            stderr,
            "Inquiry result is {}.",
            iotexplorer_http::printable(&waiter::python_display(&found))
        );
        tokio::time::sleep(waiter.interval).await;
    }
}

/// The response as printed: completed with the model's members (JSON keeps what the
/// model does not know; text and table show the model only, as tccli does), then
/// filtered.
fn shown_response(
    view: &View,
    meta: &ActionMeta,
    response: &serde_json::Value,
    stderr: &mut dyn Write,
) -> Result<serde_json::Value, Failure> {
    let mut unknown = Vec::new();
    let keep_unknown = view.format == Format::Json;
    let shown = complete::complete(meta.output, response, keep_unknown, &mut unknown);
    if view.warning && !unknown.is_empty() {
        let _ = writeln!(
            stderr,
            "warning: {} answered members this version does not know: {}",
            meta.name,
            iotexplorer_http::printable(&unknown.join(", "))
        );
    }
    match &view.filter {
        Some(filter) => filter.apply(&shown),
        None => Ok(shown),
    }
}

/// Every broken rule on a line of its own, naming the field and the value; past the
/// model's limit on listed rules, a count of the rest.
fn describe(errors: &ValidationErrors) -> String {
    let mut text = format!(
        "the request breaks {} rule{} (nothing was sent):",
        errors.total(),
        if errors.total() == 1 { "" } else { "s" }
    );
    for violation in errors.violations() {
        text.push_str("\n  - ");
        text.push_str(&violation.to_string());
    }
    if errors.unlisted() > 0 {
        text.push_str(&format!("\n  - and {} more", errors.unlisted()));
    }
    text
}

/// The async runtime of one run: two workers, the machine's size.
pub(crate) fn runtime() -> Result<RunRuntime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map(|runtime| RunRuntime {
            runtime: Some(runtime),
        })
        .map_err(|err| Failure::Transport(format!("cannot start the async runtime: {err}")))
}

/// A run's runtime, which lets its blocking threads go when it goes instead of waiting
/// for them: the system's name lookup runs on one and cannot be stopped, so a lookup
/// that never answered held the process for the resolver's own timeout (8 s against a
/// `--timeout` of 2 s) after the call had ended.
pub(crate) struct RunRuntime {
    /// `None` only while it is being dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::ops::Deref for RunRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &Self::Target {
        self.runtime
            .as_ref()
            .unwrap_or_else(|| unreachable!("the runtime is taken only when it is dropped"))
    }
}

impl Drop for RunRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
