//! The command-line flags of the `iotexplorer-emulator` binary and of `iotexplorer
//! emulator`, defined once and parsed once into [`ServeSettings`].
//!
//! Only with the `cli` feature: the library itself takes typed settings and knows nothing
//! of a command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_CONNECTIONS,
};
use crate::{DEFAULT_LISTEN, DEFAULT_MAX_SKEW, DEFAULT_RATE_LIMIT, ServeSettings, SettingsError};

/// The emulator's command-line flags.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct ServeFlags {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Fixture JSON file (credentials, products, firmware, devices); the demo fixture
    /// when absent.
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Requests per action per SecretId per second; 0 turns limiting off.
    #[arg(long, default_value_t = DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// Allowed distance between a request's timestamp and the server clock, in seconds.
    #[arg(long, default_value_t = DEFAULT_MAX_SKEW)]
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
    /// Devices report every state: message sent (2), downloaded (20) and processing (7)
    /// too, one stage each (overrides the fixture).
    #[arg(long)]
    pub detailed_stages: bool,
    /// Probability from 0 to 1 that a device is offline (0) when its task begins
    /// (overrides the fixture).
    #[arg(long, value_name = "P")]
    pub offline_rate: Option<f64>,
    /// An offline device comes online after a delay drawn evenly from 0 to this many
    /// stages (overrides the fixture).
    #[arg(long, value_name = "STAGES")]
    pub online_after_steps: Option<f64>,
    /// Probability that an offline device never comes online (overrides the fixture).
    #[arg(long, value_name = "P")]
    pub never_online_rate: Option<f64>,
    /// Stages a device of a task with UpgradeMethod 1 waits for its user's confirmation
    /// (8) (overrides the fixture).
    #[arg(long, value_name = "STAGES")]
    pub confirm_after_steps: Option<f64>,
    /// Probability that a user never confirms a task with UpgradeMethod 1 (overrides the
    /// fixture).
    #[arg(long, value_name = "P")]
    pub never_confirm_rate: Option<f64>,
    /// Probability that a device reports done but keeps its old version (overrides the
    /// fixture).
    #[arg(long, value_name = "P")]
    pub mismatch_rate: Option<f64>,
    /// Probability that a device fails late, after burning (overrides the fixture).
    #[arg(long, value_name = "P")]
    pub late_failure_rate: Option<f64>,
}

impl ServeFlags {
    /// The settings these flags ask for, or why they cannot work.
    pub fn to_settings(&self) -> Result<ServeSettings, SettingsError> {
        ServeSettings::builder()
            .listen(self.listen.as_str())
            .fixture(self.fixture.clone())
            .rate_limit(self.rate_limit)
            .max_skew(self.max_skew)
            .state(self.state.clone())
            .step_ms(self.step_ms)
            .max_body_bytes(self.max_body_bytes)
            .max_buffered_bytes(self.max_buffered_bytes)
            .header_timeout(Duration::from_secs(self.header_timeout))
            .idle_timeout(Duration::from_secs(self.idle_timeout))
            .body_timeout(Duration::from_secs(self.body_timeout))
            .max_connections(self.max_connections)
            .seed(self.seed)
            .detailed_stages(self.detailed_stages)
            .offline_rate(self.offline_rate)
            .online_after_steps(self.online_after_steps)
            .never_online_rate(self.never_online_rate)
            .confirm_after_steps(self.confirm_after_steps)
            .never_confirm_rate(self.never_confirm_rate)
            .mismatch_rate(self.mismatch_rate)
            .late_failure_rate(self.late_failure_rate)
            .build()
    }
}
