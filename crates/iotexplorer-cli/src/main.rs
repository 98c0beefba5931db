//! The `iotexplorer` binary: a thin shell over [`iotexplorer_cli::run_with_terminals`].

use std::io::{self, IsTerminal};
use std::process::ExitCode;

fn main() -> ExitCode {
    // As the client reads it: a variable set but not UTF-8 is refused where it is checked.
    let process = iotexplorer_http::credentials::EnvLookup::process();
    let env = |name: &str| process.get(name);
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
