//! Serving in the foreground until interrupted: the flags and behaviour shared by the
//! `iotexplorer-emulator` binary and `iotexplorer emulator`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_CONNECTIONS,
};
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
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Bytes of request bodies all requests in flight may hold together (at least
    /// --max-body-bytes); a body that does not fit waits for room, then is refused with
    /// RequestLimitExceeded.
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_BYTES)]
    pub max_buffered_bytes: usize,
    /// Seconds a request head may take once its first byte is in.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs())]
    pub header_timeout: u64,
    /// Seconds a connection may stay open without sending anything.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Seconds a request body may take to arrive once the head is in.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_BODY_TIMEOUT.as_secs())]
    pub body_timeout: u64,
    /// Connections served at once; further clients wait while idle ones are closed.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seeds everything random (RequestIds, device failures, faults with a probability)
    /// to replay a run; overrides the fixture's `seed`. Picked at random and printed when
    /// absent.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
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
        .max_skew(args.max_skew)
        .max_body_bytes(args.max_body_bytes)
        .max_buffered_bytes(args.max_buffered_bytes)
        .header_timeout(Duration::from_secs(args.header_timeout))
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .body_timeout(Duration::from_secs(args.body_timeout))
        .max_connections(args.max_connections);
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
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
    // The first line is a contract: tools read the address from it. Both lines go out in
    // one write, so a reader that stops after the first loses nothing it wanted.
    let seed = running.seed();
    let start = format!(
        "listening on {}\nseed {seed} (replay with --seed {seed})\n",
        running.url()
    );
    out.write_all(start.as_bytes()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    running.shutdown().await;
    Ok(())
}
