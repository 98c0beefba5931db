//! `iotexplorer-emulator`: serves the emulated IoT Explorer OTA API until interrupted.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use iotexplorer_emulator::{ServeArgs, serve};

/// A local stand-in for the Tencent Cloud IoT Explorer firmware-update API.
#[derive(Debug, Parser)]
#[command(name = "iotexplorer-emulator", version, about)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match serve(&args.serve, &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "iotexplorer-emulator: {message}");
            ExitCode::from(2)
        }
    }
}
