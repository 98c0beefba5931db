//! Serving in the foreground until interrupted: the flags and behaviour shared by the
//! `iotexplorer-emulator` binary and `iotexplorer emulator`.

use std::io::Write;
use std::path::PathBuf;

use crate::{Emulator, Fixture, ProgressSettings};

/// The emulator's command-line flags.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:9555")]
    pub listen: String,
    /// Fixture JSON file (credentials, products, firmware, devices); the demo fixture
    /// when absent.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Requests per action per SecretId per second; 0 turns limiting off.
    #[arg(long, default_value_t = 20)]
    pub rate_limit: u32,
    /// Allowed distance between a request's timestamp and the server clock, in seconds.
    #[arg(long, default_value_t = 300)]
    pub max_skew: u64,
    /// Keep the state in this JSON file so it survives a restart.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Milliseconds per device update stage (overrides the fixture).
    #[arg(long)]
    pub step_ms: Option<u64>,
}

/// Starts the emulator, writes `listening on http://IP:PORT` as the first line of `out`,
/// and serves until Ctrl-C. Errors are messages for the user.
pub async fn serve(args: &ServeArgs, out: &mut dyn Write) -> Result<(), String> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Fixture::demo(),
    };
    let mut builder = Emulator::builder()
        .fixture(fixture.clone())
        .rate_limit(args.rate_limit)
        .max_skew(args.max_skew);
    if let Some(path) = &args.state {
        builder = builder.state_file(path.clone());
    }
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
    // The first line is a contract: tools read the address from it.
    writeln!(out, "listening on {}", running.url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    running.shutdown().await;
    Ok(())
}
