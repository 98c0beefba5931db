//! The HTTP server: builder, accept loop, per-request pipeline, graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming as Body;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use iotexplorer_model::{ApiError, ErrorCode};
use tc3_sign::ReceivedRequest;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio::task::JoinHandle;

use crate::admission::{Admission, Admitted};
use crate::auth::{self, Signers};
use crate::body::{self, BodyError};
use crate::budget::Budget;
use crate::connection::{self, Activity, Watched};
use crate::disk::StorageFaults;
use crate::faults::{FaultKind, Faults};
use crate::fixture::{Fixture, ProgressSettings};
use crate::limits::Limits;
use crate::persist::{self, Store};
use crate::random::{Purpose, Random};
use crate::rate_limit::RateLimiter;
use crate::request::{Headers, Incoming};
use crate::respond::{bad_gateway, closing, error_body, json_response, request_timeout};
use crate::state::{State, unix_now};

/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Bodies and queries longer than this are parsed and validated on the blocking pool, so
/// one large request cannot stall the others; shorter ones are cheaper to check in place.
const INLINE_CHECK_BYTES: usize = 64 * 1024;
/// The most each connection buffers of what it reads, and so about the longest request
/// head (request line, query and headers; longer ones get HTTP 414 or 431). hyper's default of about
/// 400 KiB, kept by every open connection, would add up to 200 MiB at the connection cap.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How often the accept loop, at the connection cap with a client waiting, asks idle
/// connections again to make room.
const PRESSURE_REPEAT: Duration = Duration::from_millis(50);

/// Requests per action per SecretId per second when none is set: the service's own rate,
/// from the spec.
pub const DEFAULT_RATE_LIMIT: u32 = iotexplorer_model::CALLS_PER_SECOND;

/// Seconds a request's timestamp may be from the server clock when none is set, as the
/// service allows.
pub const DEFAULT_MAX_SKEW: u64 = iotexplorer_model::SIGNATURE_MAX_AGE_SECS;

/// The entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the demo fixture, [`DEFAULT_RATE_LIMIT`] and [`DEFAULT_MAX_SKEW`].
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            fixture: Fixture::demo(),
            rate_limit: DEFAULT_RATE_LIMIT,
            max_skew: DEFAULT_MAX_SKEW,
            progress: None,
            limits: Limits::default(),
            state_file: None,
            state_log_limit: persist::DEFAULT_LOG_LIMIT,
            seed: None,
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
    limits: Limits,
    state_file: Option<PathBuf>,
    state_log_limit: u64,
    seed: Option<u64>,
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
    /// The limits set on the builder cannot work together.
    #[error("invalid settings: {reason}")]
    Settings {
        /// What is wrong.
        reason: String,
    },
}

impl EmulatorBuilder {
    /// Seeds everything random (RequestIds, device failures and timeouts, faults with a
    /// probability), so that the same requests, sent one after another, replay the same
    /// run; overrides the fixture's `seed`. Without either, a seed is picked at random
    /// and can be read back with [`RunningEmulator::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

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

    /// Every limit at once.
    pub(crate) fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Largest accepted body; larger ones get `RequestSizeLimitExceeded`. Default
    /// [`DEFAULT_MAX_BODY_BYTES`](crate::DEFAULT_MAX_BODY_BYTES).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_body_bytes = bytes;
        self
    }

    /// How many bytes of request bodies all requests in flight may hold together; at
    /// least `max_body_bytes`. A body that does not fit waits for room until its body
    /// timeout, then gets `RequestLimitExceeded`. Default
    /// [`DEFAULT_MAX_BUFFERED_BYTES`](crate::DEFAULT_MAX_BUFFERED_BYTES).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_buffered_bytes = bytes;
        self
    }

    /// How long a request head may take once its first byte is in; a slower connection
    /// is closed. Default [`DEFAULT_HEADER_TIMEOUT`](crate::DEFAULT_HEADER_TIMEOUT).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_timeout = timeout;
        self
    }

    /// How long a connection may stay open without sending anything, after it was
    /// accepted or between requests. Default
    /// [`DEFAULT_IDLE_TIMEOUT`](crate::DEFAULT_IDLE_TIMEOUT).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How long a request body may take to arrive once the head is in, waiting for room
    /// in the byte budget included; a slower one gets HTTP 408 and the connection is
    /// closed. Default [`DEFAULT_BODY_TIMEOUT`](crate::DEFAULT_BODY_TIMEOUT).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// How many connections are served at once. When all are taken, a new client waits
    /// in the listen queue while idle connections are closed to make room. Default
    /// [`DEFAULT_MAX_CONNECTIONS`](crate::DEFAULT_MAX_CONNECTIONS).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
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
        if let Some(reason) = self.limits.problem() {
            return Err(StartError::Settings { reason });
        }
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
        let seed = self
            .seed
            .or(self.fixture.seed)
            .unwrap_or_else(Random::fresh_seed);
        let fixture = Arc::new(self.fixture);
        let store = {
            let fixture = Arc::clone(&fixture);
            let fates = Random::new(seed, Purpose::DeviceFates);
            tokio::task::spawn_blocking(move || {
                Store::start(state_file.as_deref(), log_limit, &fixture, progress, fates)
            })
            .await
            .unwrap_or_else(|joined| Err(std::io::Error::other(joined.to_string())))
        }
        .map_err(|source| StartError::State {
            path: self.state_file.clone().unwrap_or_default(),
            source,
        })?;
        let shared = Arc::new(Shared {
            admission: Admission {
                signers: Signers::new(fixture.credentials.iter().cloned()),
                max_skew: self.max_skew,
                rate_limiter: RateLimiter::new(self.rate_limit),
            },
            store: Arc::new(store),
            faults: Faults::new(fixture.faults.clone(), seed),
            arrivals: AtomicU64::new(0),
            random: Random::new(seed, Purpose::RequestIds),
            seed,
            base_url: url.clone(),
            limits: self.limits,
            budget: Budget::new(self.limits.max_buffered_bytes),
            heavy_checks: Semaphore::new(heavy_check_slots()),
            connection_slots: Arc::new(Semaphore::new(self.limits.max_connections)),
            pressure: Notify::new(),
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

    /// The seed everything random comes from: the one given, or the one picked at start.
    /// Starting again with it and sending the same requests one after another replays
    /// the run.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// How many HTTP requests arrived so far, refused ones included.
    pub fn arrivals(&self) -> u64 {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// Bytes of request bodies received and held by requests in flight now.
    pub fn buffered_body_bytes(&self) -> usize {
        self.shared.budget.received()
    }

    /// The most bytes of the shared body budget ever reserved at once; never more than
    /// `max_buffered_bytes`.
    pub fn peak_reserved_body_bytes(&self) -> usize {
        self.shared.budget.peak()
    }

    /// How many connections are being served now.
    pub fn open_connections(&self) -> usize {
        self.shared
            .limits
            .max_connections
            .saturating_sub(self.shared.connection_slots.available_permits())
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
    admission: Admission,
    store: Arc<Store>,
    faults: Faults,
    arrivals: AtomicU64,
    /// Draws the RequestIds.
    random: Random,
    /// Where everything random comes from.
    seed: u64,
    base_url: String,
    limits: Limits,
    budget: Budget,
    /// Turns at checking a large request on the blocking pool, one per permit.
    heavy_checks: Semaphore,
    /// One permit per connection being served.
    connection_slots: Arc<Semaphore>,
    /// Signalled when a client waits for a connection slot: idle connections then close.
    pressure: Notify,
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

/// Large requests checked at once: one core fewer than there are, so the async
/// workers always keep one, and at least one.
fn heavy_check_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1))
        .max(1)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors or a reset before accept: wait, then go on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let slot = match Arc::clone(&shared.connection_slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // At the cap with a client waiting: idle connections make room, and the
                // client waits (holding one descriptor) until a slot frees.
                let waited = loop {
                    shared.pressure.notify_waiters();
                    tokio::select! {
                        slot = Arc::clone(&shared.connection_slots).acquire_owned() => break slot.ok(),
                        () = tokio::time::sleep(PRESSURE_REPEAT) => {}
                        _ = &mut stopped => break None,
                    }
                };
                match waited {
                    Some(slot) => slot,
                    None => break,
                }
            }
        };
        let shared = Arc::clone(&shared);
        let connection = serve_connection(stream, &shared, &graceful);
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// Serves one connection under the watch of its timeouts.
fn serve_connection(
    stream: TcpStream,
    shared: &Arc<Shared>,
    graceful: &GracefulShutdown,
) -> impl Future<Output = ()> + Send + 'static {
    let activity = Activity::new();
    let service = {
        let shared = Arc::clone(shared);
        let activity = Arc::clone(&activity);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let open = activity.begin_request();
            async move {
                let answer = handle(&shared, request).await;
                drop(open);
                answer
            }
        })
    };
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
    let connection = graceful.watch(
        http1::Builder::new()
            .max_buf_size(READ_BUFFER_BYTES)
            .serve_connection(io, service),
    );
    let shared = Arc::clone(shared);
    async move {
        // A client that goes away is not the server's problem.
        connection::watch(
            connection,
            &activity,
            shared.limits.header_timeout,
            shared.limits.idle_timeout,
            &shared.pressure,
        )
        .await;
    }
}

/// Whether a request is small enough to be checked in place on the async worker; larger
/// ones are checked by [`admit_on_pool`].
fn checks_inline(incoming: &Incoming) -> bool {
    incoming.body.len() + incoming.query.len() <= INLINE_CHECK_BYTES
}

/// Runs the common checks of a large request on the blocking pool (one large request per
/// spare core), so parsing and validating megabytes does not hold up an async worker that
/// other connections need. It is checked in full, without what the head check kept.
async fn admit_on_pool(shared: &Arc<Shared>, incoming: Incoming) -> Result<Admitted, ApiError> {
    let internal = || ApiError::new(ErrorCode::InternalError, "the request could not be checked");
    // The semaphore is never closed; an error would mean the server is going away.
    let _turn = shared
        .heavy_checks
        .acquire()
        .await
        .map_err(|_| internal())?;
    let checker = Arc::clone(shared);
    tokio::task::spawn_blocking(move || checker.admission.admit(&incoming, None, unix_now()))
        .await
        .unwrap_or_else(|_| Err(internal()))
}

/// Returned to hyper to close a connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
struct Dropped;

async fn handle(
    shared: &Arc<Shared>,
    request: Request<Body>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    shared.arrivals.fetch_add(1, Ordering::SeqCst);
    let request_id = shared.random.uuid_v4();
    let (parts, body) = request.into_parts();
    let max_body_bytes = shared.limits.max_body_bytes;
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestSizeLimitExceeded,
            format!("the request body exceeds {max_body_bytes} bytes"),
        )
    };
    // Answers given before the body is read close the connection: the unread rest of the
    // body cannot be told apart from a next request.
    let refuse = |error: ApiError| Ok(closing(json_response(error_body(error, &request_id))));
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let declared = match declared.map(usize::try_from) {
        Some(Ok(length)) if length <= max_body_bytes => Some(length),
        Some(_) => return refuse(too_large()),
        None => None,
    };
    let mut incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: Headers::from_map(&parts.headers),
        body: Bytes::new(),
    };
    // The head as tc3-sign takes it, borrowed field by field so that the body can be put
    // in beside it.
    let pairs = auth::header_pairs(&incoming.headers);
    let received = ReceivedRequest {
        method: &incoming.method,
        path: &incoming.path,
        query: &incoming.query,
        headers: &pairs,
        body: b"",
    };
    // Everything the head decides is decided before a byte of the body is read; what
    // the signature check found of it is kept for the body.
    let head = match shared.admission.precheck(&incoming, &received, unix_now()) {
        Ok(head) => head,
        Err(error) => return refuse(error),
    };
    let deadline = tokio::time::Instant::now() + shared.limits.body_timeout;
    let read = body::read(body, declared, max_body_bytes, &shared.budget, deadline).await;
    // Held until the answer is built: the body's bytes count against the budget as long
    // as anything made from them may be alive.
    let _held = match read {
        Ok((bytes, held)) => {
            incoming.body = bytes;
            held
        }
        Err(BodyError::TooLarge) => return refuse(too_large()),
        Err(BodyError::NoRoom) => {
            return refuse(ApiError::new(
                ErrorCode::RequestLimitExceeded,
                "the emulator holds as many request bodies as it may; retry later",
            ));
        }
        Err(BodyError::TimedOut) => return Ok(request_timeout(shared.limits.body_timeout)),
        Err(BodyError::Broken) => return Err(Dropped),
    };

    let admitted = if checks_inline(&incoming) {
        shared.admission.admit(&incoming, head, unix_now())
    } else {
        admit_on_pool(shared, incoming).await
    };
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(error) => return Ok(json_response(error_body(error, &request_id))),
    };

    let fault = shared.faults.take(admitted.action);
    if let Some(FaultKind::LandLate { ms }) = fault {
        let store = Arc::clone(&shared.store);
        let base_url = shared.base_url.clone();
        let (action, prepared) = (admitted.action, admitted.prepared);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            // Nobody waits for this answer any more.
            let _ = store.run(action, prepared, &base_url, &request_id).await;
        });
        return Err(Dropped);
    }
    match &fault {
        Some(FaultKind::Delay { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(FaultKind::DropBefore) => return Err(Dropped),
        Some(FaultKind::BadGateway) => return Ok(bad_gateway()),
        Some(FaultKind::Error { code, message }) => {
            let message = message
                .clone()
                .unwrap_or_else(|| format!("injected fault {code}"));
            return Ok(json_response(error_body(
                ApiError::new(code.clone(), message),
                &request_id,
            )));
        }
        _ => {}
    }

    let answer = shared
        .store
        .run(
            admitted.action,
            admitted.prepared,
            &shared.base_url,
            &request_id,
        )
        .await;
    let body = answer.unwrap_or_else(|error| error_body(error, &request_id));
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
