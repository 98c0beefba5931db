//! Project automation, run as `cargo xtask <command>`.
//!
//! - `cargo xtask import-tencent PATH`: refreshes the structural part of the API spec in
//!   `crates/iotexplorer-model/spec/` from the `api.json` and `errors.json` in `PATH`, and
//!   the Chinese titles and member names beside it. The
//!   hand-maintained `overlay.json` is never written; entries it has that no longer match are
//!   reported.
//! - `cargo xtask codegen`: regenerates `crates/iotexplorer-model/src/generated/` and the
//!   client's typed methods, `crates/iotexplorer-http/src/generated/operations.rs`, from the
//!   spec.
//! - `cargo xtask codegen --check`: fails, naming the stale file, when the checked-in code
//!   differs from what the spec produces. CI runs this.

mod codegen;
mod ensure;
mod import;
#[cfg(test)]
mod layering;
mod spec;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ensure::Mode;

const USAGE: &str = "usage: cargo xtask codegen [--check]\n       cargo xtask import-tencent PATH";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(messages) => {
            report(&messages);
            ExitCode::SUCCESS
        }
        Err(message) => {
            report(&[format!("error: {message}")]);
            ExitCode::FAILURE
        }
    }
}

// A command-line tool reports on stderr.
#[allow(clippy::print_stderr)]
fn report(messages: &[String]) {
    for message in messages {
        eprintln!("{message}");
    }
}

fn run(args: &[String]) -> Result<Vec<String>, String> {
    let root = workspace_root();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen(&root, Mode::Write),
        ["codegen", "--check"] => codegen(&root, Mode::Check),
        ["import-tencent", path] => {
            let (changed, warnings) = import::import(Path::new(path), &spec::spec_dir(&root))?;
            let mut messages = warnings
                .into_iter()
                .map(|w| format!("warning: {w}"))
                .collect::<Vec<_>>();
            messages.push(if changed {
                format!(
                    "updated {} or {}; now run `{}`",
                    spec::STRUCTURAL_FILE,
                    spec::NAMES_FILE,
                    codegen::CODEGEN_COMMAND
                )
            } else {
                format!(
                    "{} and {} are already up to date",
                    spec::STRUCTURAL_FILE,
                    spec::NAMES_FILE
                )
            });
            Ok(messages)
        }
        _ => Err(USAGE.to_owned()),
    }
}

fn codegen(root: &Path, mode: Mode) -> Result<Vec<String>, String> {
    let mut changed = codegen::run(&spec::spec_dir(root), &codegen::output_dir(root), mode)?;
    changed.extend(codegen::client::run(
        &spec::spec_dir(root),
        &codegen::client::output_path(root),
        mode,
    )?);
    Ok(changed
        .iter()
        .map(|path| format!("updated {}", path.display()))
        .collect())
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}
