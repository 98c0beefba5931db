//! `iotexplorer rollout`: staged, resumable firmware rollouts.

use std::io::Write;

use clap::{ArgMatches, Command};

use crate::failure::Failure;

/// The name of the subcommand.
pub(crate) const ROLLOUT: &str = "rollout";

/// The `rollout` subcommand and its flags.
pub(crate) fn command() -> Command {
    Command::new(ROLLOUT).about("Staged, resumable firmware rollout of a whole fleet")
}

/// Runs `iotexplorer rollout ...`; returns the exit code.
pub(crate) fn run(
    _matches: &ArgMatches,
    _env: &dyn Fn(&str) -> Option<String>,
    _stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    Err(Failure::Usage(
        "rollouts are not part of this build yet".to_owned(),
    ))
}
