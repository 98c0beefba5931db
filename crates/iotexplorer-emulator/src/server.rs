//! The HTTP server: builder, accept loop, per-request pipeline, graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use iotexplorer_model::ApiError;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::checks::Gate;
use crate::disk::StorageFaults;
use crate::faults::{FaultKind, Faults};
use crate::fixture::{Fixture, ProgressSettings};
use crate::persist::{self, Store};
use crate::random::Random;
use crate::rate_limit::RateLimiter;
use crate::request::Incoming;
use crate::respond::{bad_gateway, error_body, json_response, success_body};
use crate::state::{State, unix_now};

/// Tencent refuses API 3.0 bodies over 10 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the demo fixture, 20 requests per second and 300 s of skew.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            fixture: Fixture::demo(),
            rate_limit: 20,
            max_skew: 300,
            progress: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            state_file: None,
            state_log_limit: persist::DEFAULT_LOG_LIMIT,
        }
    }
}

/// Settings for an emulator about to start.
#[derive(Debug)]
#[must_use]
pub struct EmulatorBuilder {
    fixture: Fixture,
    rate_limit: u32,
    max_skew: u64,
    progress: Option<ProgressSettings>,
    max_body_bytes: usize,
    state_file: Option<PathBuf>,
    state_log_limit: u64,
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The state file or its log could not be read or written, or is damaged.
    #[error("cannot use the state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
}

impl EmulatorBuilder {
    /// Replaces the fixture.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Requests per action per SecretId per second; 0 turns limiting off.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = per_second;
        self
    }

    /// Allowed distance between `X-TC-Timestamp` and the server clock, in seconds.
    pub fn max_skew(mut self, seconds: u64) -> Self {
        self.max_skew = seconds;
        self
    }

    /// How devices progress; overrides the fixture's `progress`.
    pub fn progress(mut self, progress: ProgressSettings) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Largest accepted body; larger ones get `RequestSizeLimitExceeded`.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Keeps the state in `path`: read at start when it exists (the fixture's products
    /// are then ignored). Every change is appended to `path` + `.log` and flushed before
    /// it is acknowledged; a change that cannot be written answers `InternalError` and is
    /// not made. The log is folded into `path` now and then, and at shutdown.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Folds the state log into the state file once the log is larger than both `bytes`
    /// and the state file ([`state_file`](Self::state_file)); 64 KiB by default. Larger
    /// values make folds rarer; the log never grows much beyond the larger of the two.
    pub fn state_log_limit(mut self, bytes: u64) -> Self {
        self.state_log_limit = bytes;
        self
    }

    /// Binds `address` (port 0 picks a free port) and starts serving on the current
    /// tokio runtime.
    pub async fn start(self, address: &str) -> Result<RunningEmulator, StartError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Bind {
                address: address.to_owned(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            address: address.to_owned(),
            source,
        })?;
        let url = format!("http://{addr}");
        // Reading the state and waiting for its lock block; other tasks of this runtime
        // (an emulator that is letting go of the same state) must go on meanwhile.
        let (state_file, log_limit, progress) =
            (self.state_file.clone(), self.state_log_limit, self.progress);
        let fixture = Arc::new(self.fixture);
        let store = {
            let fixture = Arc::clone(&fixture);
            tokio::task::spawn_blocking(move || {
                Store::start(state_file.as_deref(), log_limit, &fixture, progress)
            })
            .await
            .unwrap_or_else(|joined| Err(std::io::Error::other(joined.to_string())))
        }
        .map_err(|source| StartError::State {
            path: self.state_file.clone().unwrap_or_default(),
            source,
        })?;
        let credentials: HashMap<_, _> = fixture
            .credentials
            .iter()
            .map(|c| (c.secret_id.clone(), c.clone()))
            .collect();
        let shared = Arc::new(Shared {
            gate: Gate {
                credentials,
                max_skew: self.max_skew,
                rate_limiter: RateLimiter::new(self.rate_limit),
            },
            store: Arc::new(store),
            faults: Faults::new(fixture.faults.clone()),
            arrivals: AtomicU64::new(0),
            random: Random::default(),
            base_url: url.clone(),
            max_body_bytes: self.max_body_bytes,
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(RunningEmulator {
            addr,
            url,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://IP:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many HTTP requests arrived so far, refused ones included.
    pub fn arrivals(&self) -> u64 {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// The fault rules, changeable while it runs.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Storage failures of the state file to inject, changeable while it runs.
    pub fn storage_faults(&self) -> &StorageFaults {
        self.shared.store.storage_faults()
    }

    /// Changes how devices in tasks created from now on progress and fail.
    pub fn set_progress(&self, progress: ProgressSettings) {
        self.shared.store.set_progress(progress);
    }

    /// Registers a device-list file that `BatchUpdateFirmware` may name with `FileName`.
    /// With a state file, the list is written to it first; an error means it could not be,
    /// and the list was not added.
    pub fn add_device_list(&self, list: crate::fixture::DeviceListFixture) -> std::io::Result<()> {
        self.shared.store.add_device_list(list)
    }

    /// Stops accepting, lets open requests finish (up to a few seconds) and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            // The loop may already be gone; then there is nothing to stop.
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.shared.save();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct Shared {
    gate: Gate,
    store: Arc<Store>,
    faults: Faults,
    arrivals: AtomicU64,
    random: Random,
    base_url: String,
    max_body_bytes: usize,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("products", &self.products.len())
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Folds the state log into the state file, if there is one. On an error the log
    /// still holds every change, and the next start reads it.
    fn save(&self) {
        let _ = self.store.save();
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors or a reset before accept: wait, then go on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                let service = service_fn(move |request| {
                    let shared = Arc::clone(&shared);
                    async move { handle(&shared, request).await }
                });
                let connection = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A client that goes away is not the server's problem.
                    let _ = connection.await;
                });
            }
            _ = &mut stopped => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Returned to hyper to close a connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
struct Dropped;

async fn handle(shared: &Shared, request: Request<Body>) -> Result<Response<Full<Bytes>>, Dropped> {
    shared.arrivals.fetch_add(1, Ordering::SeqCst);
    let request_id = shared.random.uuid_v4();
    let (parts, body) = request.into_parts();
    let too_large = ApiError::new(
        "RequestSizeLimitExceeded",
        format!("the request body exceeds {} bytes", shared.max_body_bytes),
    );
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.max_body_bytes as u64) {
        return Ok(json_response(error_body(too_large, &request_id)));
    }
    let body = match Limited::new(body, shared.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Ok(json_response(error_body(too_large, &request_id)));
        }
        Err(_) => return Err(Dropped),
    };
    let incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };

    let admitted = match shared.gate.admit(&incoming, unix_now()) {
        Ok(admitted) => admitted,
        Err(error) => return Ok(json_response(error_body(error, &request_id))),
    };

    let fault = shared.faults.take(admitted.action);
    match &fault {
        Some(FaultKind::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(FaultKind::DropBefore) => return Err(Dropped),
        Some(FaultKind::BadGateway) => return Ok(bad_gateway()),
        Some(FaultKind::Error { code, message }) => {
            let message = message
                .clone()
                .unwrap_or_else(|| format!("injected fault {code}"));
            return Ok(json_response(error_body(
                ApiError::new(code.as_str(), message),
                &request_id,
            )));
        }
        _ => {}
    }

    let outcome = shared
        .store
        .run(admitted.action, admitted.params, &shared.base_url)
        .await;
    let body = match outcome {
        Ok(members) => success_body(members, &request_id),
        Err(error) => error_body(error, &request_id),
    };
    match fault {
        Some(FaultKind::DropAfter) => Err(Dropped),
        Some(FaultKind::TruncatedJson) => {
            let mut body = body;
            body.truncate(body.len() / 2);
            Ok(json_response(body))
        }
        _ => Ok(json_response(body)),
    }
}
