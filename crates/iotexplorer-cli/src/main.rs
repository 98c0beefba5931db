//! The `iotexplorer` command.
//!
//! This version carries the signing and model layers only; the command itself (calls,
//! `--emulator`, `sign`, `rollout`) is not part of it yet, and says so.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "iotexplorer {}: the command line is not built yet in this version; \
             nothing was sent (arguments: {}).",
            env!("CARGO_PKG_VERSION"),
            args.join(" ")
        );
        eprintln!("The signing library (tc3-sign) is complete: see README.md.");
    }
    ExitCode::SUCCESS
}
