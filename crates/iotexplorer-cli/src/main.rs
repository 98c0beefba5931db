//! The `iotexplorer` binary: a thin shell over [`iotexplorer_cli::run`].

use std::io::{self, IsTerminal};
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
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
