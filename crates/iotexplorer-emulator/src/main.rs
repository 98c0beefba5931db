//! `iotexplorer-emulator`: serves the emulated IoT Explorer OTA API until interrupted.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use iotexplorer_emulator::cli::ServeFlags;
use iotexplorer_emulator::serve;

/// A local stand-in for the Tencent Cloud IoT Explorer firmware-update API.
#[derive(Debug, Parser)]
#[command(name = "iotexplorer-emulator", version, about)]
struct Args {
    #[command(flatten)]
    serve: ServeFlags,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let served = match args.serve.to_settings() {
        Ok(settings) => serve(&settings, &mut std::io::stdout()).await,
        Err(error) => Err(error.to_string()),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "iotexplorer-emulator: {message}");
            ExitCode::from(2)
        }
    }
}
