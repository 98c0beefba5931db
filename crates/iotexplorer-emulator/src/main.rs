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

// One thread serves every connection: a request's work is a few microseconds, and a second
// worker only adds a wake-up (a context switch) per request as the two hand tasks over.
// Large bodies and the state file's writes go to the blocking pool, off this thread.
#[tokio::main(flavor = "current_thread")]
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
