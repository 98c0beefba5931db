//! Serving in the foreground until interrupted: the settings and behaviour shared by the
//! `iotexplorer-emulator` binary and `iotexplorer emulator`. The library takes typed
//! settings; the binaries parse their flags into them ([`crate::cli`], feature `cli`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::Limits;
use crate::server::{DEFAULT_MAX_SKEW, DEFAULT_RATE_LIMIT};
use crate::{Emulator, Fixture, ProgressSettings};

/// The address served when none is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9555";

/// How to serve in the foreground: built with [`ServeSettings::builder`], whose `build()`
/// refuses limits that cannot work together.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeSettings {
    listen: String,
    fixture: Option<PathBuf>,
    rate_limit: u32,
    max_skew: u64,
    state: Option<PathBuf>,
    step_ms: Option<u64>,
    limits: Limits,
    seed: Option<u64>,
    device_behaviour: DeviceBehaviour,
}

/// The device behaviours the settings change over the fixture's `progress`; each `None`
/// keeps the fixture's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct DeviceBehaviour {
    detailed_stages: Option<bool>,
    offline_rate: Option<f64>,
    online_after_steps: Option<f64>,
    never_online_rate: Option<f64>,
    confirm_after_steps: Option<f64>,
    never_confirm_rate: Option<f64>,
    mismatch_rate: Option<f64>,
    late_failure_rate: Option<f64>,
}

impl DeviceBehaviour {
    /// `progress` with these behaviours replaced.
    fn apply(&self, mut progress: ProgressSettings) -> ProgressSettings {
        let replace = |field: &mut f64, value: Option<f64>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        if let Some(detailed) = self.detailed_stages {
            progress.detailed_stages = detailed;
        }
        replace(&mut progress.offline_rate, self.offline_rate);
        replace(&mut progress.online_after_steps, self.online_after_steps);
        replace(&mut progress.never_online_rate, self.never_online_rate);
        replace(&mut progress.confirm_after_steps, self.confirm_after_steps);
        replace(&mut progress.never_confirm_rate, self.never_confirm_rate);
        replace(&mut progress.mismatch_rate, self.mismatch_rate);
        replace(&mut progress.late_failure_rate, self.late_failure_rate);
        progress
    }
}

impl ServeSettings {
    /// The defaults: [`DEFAULT_LISTEN`], the demo fixture, the service's rate, 300 s of
    /// skew, no state file, and the default limits.
    pub fn builder() -> ServeSettingsBuilder {
        ServeSettingsBuilder {
            settings: Self {
                listen: DEFAULT_LISTEN.to_owned(),
                fixture: None,
                rate_limit: DEFAULT_RATE_LIMIT,
                max_skew: DEFAULT_MAX_SKEW,
                state: None,
                step_ms: None,
                limits: Limits::default(),
                seed: None,
                device_behaviour: DeviceBehaviour::default(),
            },
        }
    }

    /// The address to listen on.
    pub fn listen(&self) -> &str {
        &self.listen
    }
}

/// Builds [`ServeSettings`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServeSettingsBuilder {
    settings: ServeSettings,
}

/// Why settings were refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {reason}")]
#[non_exhaustive]
pub struct SettingsError {
    /// What is wrong.
    pub reason: String,
}

impl ServeSettingsBuilder {
    /// Address to listen on; port 0 picks a free port.
    pub fn listen(mut self, address: impl Into<String>) -> Self {
        self.settings.listen = address.into();
        self
    }

    /// Fixture JSON file (credentials, products, firmware, devices); the demo fixture when
    /// absent.
    pub fn fixture(mut self, path: Option<PathBuf>) -> Self {
        self.settings.fixture = path;
        self
    }

    /// Requests per action per SecretId per second; 0 turns limiting off.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.settings.rate_limit = per_second;
        self
    }

    /// Allowed distance between a request's timestamp and the server clock, in seconds.
    pub fn max_skew(mut self, seconds: u64) -> Self {
        self.settings.max_skew = seconds;
        self
    }

    /// Keeps the state in this JSON file so it survives a restart.
    pub fn state(mut self, path: Option<PathBuf>) -> Self {
        self.settings.state = path;
        self
    }

    /// Milliseconds per device update stage (overrides the fixture).
    pub fn step_ms(mut self, step_ms: Option<u64>) -> Self {
        self.settings.step_ms = step_ms;
        self
    }

    /// Largest accepted request body, in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.limits.max_body_bytes = bytes;
        self
    }

    /// Bytes of request bodies all requests in flight may hold together (at least
    /// `max_body_bytes`).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.settings.limits.max_buffered_bytes = bytes;
        self
    }

    /// How long a request head may take once its first byte is in.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.settings.limits.header_timeout = timeout;
        self
    }

    /// How long a connection may stay open without sending anything.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.settings.limits.idle_timeout = timeout;
        self
    }

    /// How long a request body may take to arrive once the head is in.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.settings.limits.body_timeout = timeout;
        self
    }

    /// Connections served at once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.settings.limits.max_connections = connections;
        self
    }

    /// Seeds everything random, to replay a run; overrides the fixture's `seed`.
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.settings.seed = seed;
        self
    }

    /// Devices report every state: message sent, downloaded and processing too; `false`
    /// keeps the fixture's `detailed_stages`.
    pub fn detailed_stages(mut self, detailed: bool) -> Self {
        self.settings.device_behaviour.detailed_stages = detailed.then_some(true);
        self
    }

    /// Probability that a device is offline when its task begins (overrides the fixture).
    pub fn offline_rate(mut self, rate: Option<f64>) -> Self {
        self.settings.device_behaviour.offline_rate = rate;
        self
    }

    /// Longest delay, in stages, before an offline device comes online (overrides the
    /// fixture).
    pub fn online_after_steps(mut self, steps: Option<f64>) -> Self {
        self.settings.device_behaviour.online_after_steps = steps;
        self
    }

    /// Probability that an offline device never comes online (overrides the fixture).
    pub fn never_online_rate(mut self, rate: Option<f64>) -> Self {
        self.settings.device_behaviour.never_online_rate = rate;
        self
    }

    /// Stages a device of a user-confirmed task waits for its user (overrides the
    /// fixture).
    pub fn confirm_after_steps(mut self, steps: Option<f64>) -> Self {
        self.settings.device_behaviour.confirm_after_steps = steps;
        self
    }

    /// Probability that a user never confirms (overrides the fixture).
    pub fn never_confirm_rate(mut self, rate: Option<f64>) -> Self {
        self.settings.device_behaviour.never_confirm_rate = rate;
        self
    }

    /// Probability that a device reports done but keeps its old version (overrides the
    /// fixture).
    pub fn mismatch_rate(mut self, rate: Option<f64>) -> Self {
        self.settings.device_behaviour.mismatch_rate = rate;
        self
    }

    /// Probability that a device fails after burning (overrides the fixture).
    pub fn late_failure_rate(mut self, rate: Option<f64>) -> Self {
        self.settings.device_behaviour.late_failure_rate = rate;
        self
    }

    /// The settings, or why they cannot work.
    pub fn build(self) -> Result<ServeSettings, SettingsError> {
        let behaviour = self
            .settings
            .device_behaviour
            .apply(ProgressSettings::default())
            .problem();
        match self.settings.limits.problem().or(behaviour) {
            Some(reason) => Err(SettingsError { reason }),
            None => Ok(self.settings),
        }
    }
}

/// Starts the emulator, writes `listening on http://IP:PORT` as the first line of `out`,
/// and serves until Ctrl-C. Errors are messages for the user.
pub async fn serve(settings: &ServeSettings, out: &mut dyn Write) -> Result<(), String> {
    let fixture = match &settings.fixture {
        Some(path) => Fixture::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Fixture::demo(),
    };
    let mut builder = Emulator::builder()
        .fixture(fixture.clone())
        .rate_limit(settings.rate_limit)
        .max_skew(settings.max_skew)
        .limits(settings.limits);
    if let Some(seed) = settings.seed {
        builder = builder.seed(seed);
    }
    if let Some(path) = &settings.state {
        builder = builder.state_file(path.clone());
    }
    // Settings that change nothing leave the progress saved in a state file as it was.
    let changes_progress = settings.step_ms.is_some()
        || settings.device_behaviour != DeviceBehaviour::default()
        || fixture.progress.is_none();
    if changes_progress {
        let mut progress = fixture.progress.unwrap_or_default();
        if let Some(step_ms) = settings.step_ms {
            progress = progress.with_step_ms(step_ms);
        }
        builder = builder.progress(settings.device_behaviour.apply(progress));
    }
    let running = builder
        .start(&settings.listen)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_cannot_work_together_are_refused_when_built() {
        let refused = ServeSettings::builder()
            .max_body_bytes(2048)
            .max_buffered_bytes(1024)
            .build()
            .err()
            .map(|error| error.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|text| text.starts_with("invalid settings: max_buffered_bytes")),
            "{refused:?}"
        );
        let built = ServeSettings::builder()
            .listen("127.0.0.1:0")
            .build()
            .expect("the defaults work");
        assert_eq!(built.listen(), "127.0.0.1:0");
    }

    #[test]
    fn device_behaviours_that_cannot_work_are_refused_when_built() {
        let refused = |builder: ServeSettingsBuilder| {
            builder
                .build()
                .err()
                .map(|error| error.to_string())
                .unwrap_or_default()
        };
        assert!(refused(ServeSettings::builder().offline_rate(Some(1.5))).contains("offline_rate"));
        assert!(
            refused(ServeSettings::builder().confirm_after_steps(Some(-1.0)))
                .contains("confirm_after_steps")
        );
        assert!(
            refused(ServeSettings::builder().mismatch_rate(Some(f64::NAN)))
                .contains("mismatch_rate")
        );
        let built = ServeSettings::builder()
            .detailed_stages(true)
            .offline_rate(Some(0.25))
            .online_after_steps(Some(3.0))
            .never_online_rate(Some(0.5))
            .confirm_after_steps(Some(2.0))
            .never_confirm_rate(Some(0.1))
            .mismatch_rate(Some(1.0))
            .late_failure_rate(Some(0.0))
            .build()
            .expect("valid behaviours");
        let progress = built.device_behaviour.apply(ProgressSettings::default());
        assert!(progress.detailed_stages);
        assert_eq!(
            (
                progress.offline_rate,
                progress.online_after_steps,
                progress.never_online_rate
            ),
            (0.25, 3.0, 0.5)
        );
        assert_eq!(
            (
                progress.confirm_after_steps,
                progress.never_confirm_rate,
                progress.mismatch_rate
            ),
            (2.0, 0.1, 1.0)
        );
        // Nothing asked for: the fixture's progress stays as it is.
        let unchanged = ServeSettings::builder().build().expect("defaults");
        let fixture = ProgressSettings::default().with_mismatch_rate(0.3);
        assert_eq!(unchanged.device_behaviour.apply(fixture), fixture);
    }
}
