//! The `iotexplorer` binary: a thin shell over [`iotexplorer_cli::run`].

use std::io;
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
    ExitCode::from(iotexplorer_cli::run(&args, &mut io))
}
