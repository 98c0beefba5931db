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
//! validation error (nothing sent), 3 network, credential or transport error.

mod command;
mod connect;
mod failure;
mod generate_code;
mod output;
mod params;
mod rollout_cmd;
mod search;
mod sign_cmd;

use std::ffi::OsString;
use std::io::{Read, Write};

use clap::ArgMatches;
use iotexplorer_model::{ActionMeta, RequestProblems, check_request_json};

use command::{
    ActionSelection, COMPLETIONS, EMULATOR, GENERATE_SKELETON, SIGN, first_positional,
    named_action, root,
};
use failure::Failure;
use output::Format;

/// The process's surroundings, passed in so that every path can be tested.
pub struct Io<'a> {
    /// Reads an environment variable.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Standard input.
    pub stdin: &'a mut dyn Read,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error.
    pub stderr: &'a mut dyn Write,
}

/// Runs the command line `args` (the first is the program name) and returns the exit code.
pub fn run(args: &[OsString], io: &mut Io<'_>) -> u8 {
    let text_args: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let action = named_action(text_args.iter().map(String::as_str));
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
    let matches = match root(selection).try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(err) => {
            let code = if err.use_stderr() {
                failure::EXIT_USAGE
            } else {
                0
            };
            let rendered = err.render().ansi().to_string();
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
        io.env,
        &mut *io.stdin,
        &mut *io.stdout,
        &mut *io.stderr,
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
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let Some((name, sub)) = matches.subcommand() else {
        return Err(Failure::Usage(
            "name an action or a subcommand; see --help".to_owned(),
        ));
    };
    match name {
        COMPLETIONS => {
            let shell = sub
                .get_one::<String>("shell")
                .map_or("bash", String::as_str);
            let mut script = Vec::new();
            let mut command = root(ActionSelection::All);
            let generator = match shell {
                "zsh" => clap_complete::Shell::Zsh,
                "fish" => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            clap_complete::generate(generator, &mut command, "iotexplorer", &mut script);
            output::write_out(stdout, &String::from_utf8_lossy(&script))?;
            Ok(0)
        }
        SIGN => {
            let mut out = String::new();
            let mut source = sign_cmd::SecretSource {
                env,
                stdin,
                secret_id_flag: sub.get_one::<String>("secretId").map(String::as_str),
            };
            let matched = sign_cmd::run(sub, &mut source, &mut out)?;
            output::write_out(stdout, &out)?;
            Ok(if matched { 0 } else { failure::EXIT_API })
        }
        rollout_cmd::ROLLOUT => rollout_cmd::run(sub, env, stdout, stderr),
        search::SEARCH => search::run(sub, stdout),
        EMULATOR => {
            let args =
                <iotexplorer_emulator::ServeArgs as clap::FromArgMatches>::from_arg_matches(sub)
                    .map_err(|err| Failure::Usage(err.to_string()))?;
            let runtime = runtime()?;
            runtime
                .block_on(iotexplorer_emulator::serve(&args, stdout))
                .map_err(Failure::Usage)?;
            Ok(0)
        }
        action => {
            let meta = iotexplorer_model::find_action(action).ok_or_else(|| {
                search::unknown_action(action)
                    .unwrap_or_else(|| Failure::Usage(format!("unknown action {action}")))
            })?;
            if let Some(language) = sub.get_one::<String>(generate_code::GENERATE_CODE) {
                let body = checked_body(meta, sub)?;
                return generate_code::run(meta, &body, language, sub, env, stdout);
            }
            let format = Format::from_flag(sub.get_one::<String>("output").map(String::as_str));
            let response = call_action(meta, sub, env, stderr)?;
            output::write_out(stdout, &output::render(&response, format))?;
            Ok(0)
        }
    }
}

fn call_action(
    meta: &ActionMeta,
    matches: &ArgMatches,
    env: &dyn Fn(&str) -> Option<String>,
    stderr: &mut dyn Write,
) -> Result<serde_json::Value, Failure> {
    if matches.get_flag(GENERATE_SKELETON) {
        return Ok(meta.skeleton());
    }
    let body = checked_body(meta, matches)?;
    runtime()?.block_on(async {
        let session = connect::Session::open(matches, env).await?;
        let outcome = exchange(&session, meta, &body, matches, stderr).await;
        session.close().await;
        outcome
    })
}

/// The request body from the flags, checked against every documented rule of the action.
fn checked_body(meta: &ActionMeta, matches: &ArgMatches) -> Result<serde_json::Value, Failure> {
    let body = params::request_body(meta, matches).map_err(|bad| Failure::Usage(bad.0))?;
    check_request_json(meta.name, &body).map_err(|problems| Failure::Usage(describe(&problems)))?;
    Ok(body)
}

/// Sends the call (or with `--dry-run` only shows it) and returns what to print.
async fn exchange(
    session: &connect::Session,
    meta: &ActionMeta,
    body: &serde_json::Value,
    matches: &ArgMatches,
    stderr: &mut dyn Write,
) -> Result<serde_json::Value, Failure> {
    let client = &session.client;
    let dry_run = matches.get_flag("dry-run");
    if dry_run || matches.get_flag("debug") {
        let preview = client
            .preview_json(meta.name, body)
            .await
            .map_err(connect::failure_of)?;
        let shown = serde_json::json!({
            "Method": preview.method,
            "Url": preview.url,
            "Headers": preview.headers.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
            "Body": preview.body,
        });
        if dry_run {
            return Ok(shown);
        }
        let _ = write!(stderr, "request:\n{}", output::json(&shown));
    }
    let response = client
        .send_json(meta.name, meta.read_only, body)
        .await
        .map_err(connect::failure_of)?;
    if matches.get_flag("debug") {
        let _ = write!(stderr, "response:\n{}", output::json(&response));
    }
    Ok(response)
}

/// Every broken rule on a line of its own, naming the field and the value.
fn describe(problems: &RequestProblems) -> String {
    match problems {
        RequestProblems::Invalid(errors) => {
            let mut text = format!(
                "the request breaks {} rule{} (nothing was sent):",
                errors.violations().len(),
                if errors.violations().len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            for violation in errors.violations() {
                text.push_str("\n  - ");
                text.push_str(&violation.to_string());
            }
            text
        }
        other => other.to_string(),
    }
}

/// The async runtime of one run: two workers, the machine's size.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| Failure::Transport(format!("cannot start the async runtime: {err}")))
}
