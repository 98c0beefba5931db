//! `iotexplorer-emulator`: serves the emulated IoT Explorer OTA API until interrupted.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings};

/// A local stand-in for the Tencent Cloud IoT Explorer firmware-update API.
#[derive(Debug, Parser)]
#[command(name = "iotexplorer-emulator", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9555")]
    listen: String,
    /// Fixture JSON file (credentials, products, firmware, devices); the demo fixture
    /// when absent.
    #[arg(long)]
    fixture: Option<std::path::PathBuf>,
    /// Requests per action per SecretId per second; 0 turns limiting off.
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// Allowed distance between a request's timestamp and the server clock, in seconds.
    #[arg(long, default_value_t = 300)]
    max_skew: u64,
    /// Keep the state in this JSON file so it survives a restart.
    #[arg(long)]
    state: Option<std::path::PathBuf>,
    /// Milliseconds per device update stage (overrides the fixture).
    #[arg(long)]
    step_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "iotexplorer-emulator: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Fixture::demo(),
    };
    let mut builder = Emulator::builder()
        .fixture(fixture.clone())
        .rate_limit(args.rate_limit)
        .max_skew(args.max_skew);
    if let Some(step_ms) = args.step_ms {
        let progress = fixture.progress.unwrap_or_default().with_step_ms(step_ms);
        builder = builder.progress(progress);
    } else if fixture.progress.is_none() {
        builder = builder.progress(ProgressSettings::default());
    }
    let running = builder
        .start(&args.listen)
        .await
        .map_err(|e| e.to_string())?;
    {
        // The first line is a contract: tools read the address from it.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", running.url()).map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())?;
    }
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    running.shutdown().await;
    Ok(())
}
