//! The `iotexplorer` binary: a thin shell over [`iotexplorer_cli::run`].

use std::io::{self, IsTerminal};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A variable that is set is never taken as unset: one that is not UTF-8 is read with
    // its stray bytes as U+FFFD, so that the check of its value refuses it, naming it.
    let env = |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    let mut io = iotexplorer_cli::Io {
        env: &env,
        stdin: &mut io::stdin().lock(),
        stdout: &mut io::stdout().lock(),
        stderr: &mut io::stderr().lock(),
    };
    let args: Vec<_> = std::env::args_os().collect();
    let terminals =
        iotexplorer_cli::Terminals::new(io::stdout().is_terminal(), io::stderr().is_terminal());
    ExitCode::from(iotexplorer_cli::run_with_terminals(
        &args, &mut io, terminals,
    ))
}
