//! The client: validate, sign, send, decode, and retry when that is safe.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use iotexplorer_model::{Action, ActionMeta, Success};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::ClientBuilder;
use crate::credentials::{ProvideCredentials, ProvidedCredentials};
use crate::error::{Error, TimeoutPhase};
use crate::rate_limit::Limiter;
use crate::request::{Call, Encoded, RequestPreview, WireSettings, body_of, build_request, encode};
use crate::response::{decode, decode_typed, transport_error};
use crate::retry::{Jitter, RetryPolicy};
use crate::transport::Transport;

/// Sees each attempt's request as it is sent, secrets masked; see
/// [`Client::with_request_observer`].
pub type RequestObserver = Arc<dyn Fn(&RequestPreview) + Send + Sync>;

/// An IoT Explorer client. Cheap to clone: clones share the connection pool, the
/// credentials cache, the signer and the rate limiter. Build one with [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
    /// Per clone, so that one client can retry under several policies
    /// ([`Client::with_retry_policy`]).
    retry: RetryPolicy,
    observer: Option<RequestObserver>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("inner", &self.inner)
            .field("retry", &self.retry)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    pub(crate) transport: Transport,
    pub(crate) credentials: Arc<dyn ProvideCredentials>,
    pub(crate) wire: WireSettings,
    /// The deadline of a whole call, retries and waits included.
    pub(crate) call_timeout: Duration,
    /// The deadline of one attempt, when it has one of its own.
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) max_response_size: usize,
    pub(crate) jitter: Jitter,
}

/// What one attempt's answer became: `Ok` ends the call, with the typed response or the
/// error that a success did not fit it; `Err` is a failure the retry rules decide on.
type Read<T> = fn(&Call<'_>, StatusCode, &[u8]) -> Result<Result<T, Error>, Error>;

impl Client {
    /// The settings, all with defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_inner(inner: ClientInner, retry: RetryPolicy) -> Self {
        Self {
            inner: Arc::new(inner),
            retry,
            observer: None,
        }
    }

    /// This client, retrying under `policy`: a cheap clone that shares the connection pool,
    /// the rate limiter, the credentials and the signer, so that one caller can be more
    /// patient than another without a second pool or limiter. With
    /// [`RetryPolicy::persistent`], calls keep retrying throttling and connection failures
    /// (and, for read-only actions, transient failures) for as long as the policy says,
    /// beyond the client's [call timeout](ClientBuilder::call_timeout).
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Client {
        Client {
            retry: policy,
            ..self.clone()
        }
    }

    /// The policy this client retries under.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// This client, showing `observer` the request of every attempt exactly as it is sent
    /// (method, URL, headers and body; the signature in `Authorization`, the session token
    /// and proxy credentials masked), just before it is sent. A cheap clone sharing
    /// everything else. For diagnostics such as the CLI's `--debug`.
    pub fn with_request_observer(
        &self,
        observer: impl Fn(&RequestPreview) + Send + Sync + 'static,
    ) -> Client {
        Client {
            observer: Some(Arc::new(observer)),
            ..self.clone()
        }
    }

    /// Calls action `A`: validates the request (a broken rule never reaches the network),
    /// signs it, sends it, retries when that is safe, and decodes the answer.
    ///
    /// Retries: `RequestLimitExceeded*` and failures to connect for every action; timeouts,
    /// broken connections, 5xx and `InternalError` only for read-only actions. A call of an
    /// action that is not read-only whose outcome is unknown (no answer, or one that cannot
    /// be read) ends in [`Error::Ambiguous`]. The whole call, retries and waits included,
    /// ends by the [call deadline](ClientBuilder::call_timeout).
    ///
    /// The request is serialized once: validation walks the typed value itself (no
    /// `serde_json::Value` is built; a request from its builder was checked there and is
    /// not walked again), then it is encoded to bytes once, and every attempt
    /// signs and sends those bytes. The answer is read from its bytes straight into
    /// `A::Response`, with the model's lenient rules, the same as
    /// [`iotexplorer_model::decode_response`]: numbers sent as strings
    /// (`"TaskId":"1000696"`), `null` for absent values and unknown members are accepted. A
    /// success that still does not fit `A::Response` is an [`Error::Decode`] carrying the
    /// RequestId: the request ran, and is not resent.
    pub async fn send<A: Action>(&self, request: &A) -> Result<A::Response, Error> {
        // A walk of the typed request: the JSON checker of `send_json` is for raw JSON.
        request.validate().map_err(|errors| Error::Validation {
            action: A::NAME.to_owned(),
            errors,
        })?;
        let call = Call {
            service: A::SERVICE,
            version: A::VERSION,
            action: A::NAME,
            read_only: A::READ_ONLY,
        };
        let encoded = encode(self.inner.wire.method, &call, request)?;
        let read: Read<Success<A::Response>> =
            |call, status, body| decode_typed(call, status, body);
        let Success { response, .. } = self.execute(&call, &encoded, read).await??;
        Ok(response)
    }

    /// Calls the catalogue action `action` with parameters as a JSON object: checks them
    /// against its rules (nothing is sent when they break one) and retries by its
    /// read-only flag. Returns the `Response` object (without its wrapper). The generic
    /// path for callers that hold an action's metadata rather than its type, such as a
    /// command line; [`Client::send`] is the typed one.
    pub async fn send_json(
        &self,
        action: &'static ActionMeta,
        params: &Value,
    ) -> Result<Value, Error> {
        check_catalogue(action, params)?;
        self.send_json_unchecked(action.name, action.read_only, params)
            .await
    }

    /// Calls any action by name with parameters as a JSON object, WITHOUT checking them:
    /// for actions newer than this crate's catalogue. `read_only` decides which failures
    /// are retried. Returns the `Response` object (without its wrapper).
    pub async fn send_json_unchecked(
        &self,
        action: &str,
        read_only: bool,
        params: &Value,
    ) -> Result<Value, Error> {
        let call = Call {
            service: iotexplorer_model::SERVICE,
            version: iotexplorer_model::VERSION,
            action,
            read_only,
        };
        self.send_raw(&call, params).await
    }

    /// Checks and signs a call of `action` exactly as [`Client::send_json`] would send it,
    /// and returns it with its secrets masked, without sending anything.
    pub async fn preview_json(
        &self,
        action: &'static ActionMeta,
        params: &Value,
    ) -> Result<RequestPreview, Error> {
        check_catalogue(action, params)?;
        let call = Call {
            service: iotexplorer_model::SERVICE,
            version: iotexplorer_model::VERSION,
            action: action.name,
            read_only: action.read_only,
        };
        let encoded = encode(self.inner.wire.method, &call, params)?;
        let provided = self.credentials_for(&call).await?;
        let request = build_request(
            &self.inner.wire,
            &call,
            &encoded,
            provided.credentials(),
            unix_now(),
        )?;
        Ok(RequestPreview::of(&request, body_of(&encoded)))
    }

    pub(crate) async fn send_raw(&self, call: &Call<'_>, params: &Value) -> Result<Value, Error> {
        if !params.is_object() {
            return Err(Error::Config(format!(
                "{}: parameters must be a JSON object",
                call.action
            )));
        }
        let encoded = encode(self.inner.wire.method, call, params)?;
        let read: Read<Value> = |call, status, body| decode(call, status, body).map(Ok);
        self.execute(call, &encoded, read).await?
    }

    /// The retry loop, inside a `tracing` span when that feature is on.
    async fn execute<T: RequestIdOf>(
        &self,
        call: &Call<'_>,
        encoded: &Encoded,
        read: Read<T>,
    ) -> Result<Result<T, Error>, Error> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = tracing::debug_span!(
                "iotexplorer_call",
                action = call.action,
                read_only = call.read_only
            );
            self.retry_loop(call, encoded, read).instrument(span).await
        }
        #[cfg(not(feature = "tracing"))]
        {
            self.retry_loop(call, encoded, read).await
        }
    }

    /// The deadline of a call that starts at `started`.
    fn deadline(&self, started: Instant) -> Instant {
        let inner = &*self.inner;
        let mut length = inner.call_timeout;
        if self.retry.outlasts_call_timeout() {
            // The last retry starts by the policy's deadline and gets one attempt's time.
            let attempt = inner.attempt_timeout.unwrap_or(inner.call_timeout);
            length = length.max(self.retry.total_deadline().saturating_add(attempt));
        }
        // Timeouts and deadlines are capped when they are set, so this cannot overflow.
        started + length
    }

    /// Attempts until one succeeds, a failure may not or need not be retried, or the
    /// call's deadline leaves no time for another.
    async fn retry_loop<T: RequestIdOf>(
        &self,
        call: &Call<'_>,
        encoded: &Encoded,
        read: Read<T>,
    ) -> Result<Result<T, Error>, Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        let deadline = self.deadline(started);
        let mut attempts = 0u32;
        // The failure of the attempt before, while a retry waits: if the deadline runs out
        // before the retry is sent, that failure says more than a timeout would.
        let mut failed_before: Option<Error> = None;
        // What a write's retry needs left before the deadline (see below).
        let mut retry_needs = Duration::ZERO;
        loop {
            if let Some(limiter) = &inner.limiter
                && tokio::time::timeout_at(deadline, limiter.acquire(call.action))
                    .await
                    .is_err()
            {
                return Err(failed_before.unwrap_or_else(|| waiting_timeout(call, attempts)));
            }
            // The limiter's wait may have taken what the retry of a write needs.
            if let Some(before) = failed_before.take_if(|_| {
                Instant::now()
                    .checked_add(retry_needs)
                    .is_none_or(|ready| ready >= deadline)
            }) {
                return Err(before);
            }
            attempts = attempts.saturating_add(1);
            let attempt_started = Instant::now();
            let result = self
                .attempt(call, encoded, attempts, deadline)
                .await
                .and_then(|(status, body)| read(call, status, &body));
            #[cfg(feature = "tracing")]
            trace_attempt(call, attempts, attempt_started.elapsed(), &result);
            let error = match result {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            if let (
                Error::Timeout {
                    phase: TimeoutPhase::Waiting,
                    ..
                },
                Some(before),
            ) = (&error, failed_before.take())
            {
                return Err(before);
            }
            if !error.is_retryable(call.read_only) {
                return Err(error);
            }
            // A write resent with too little time left would be cut off after it was sent,
            // turning a clean refusal into an unknown outcome. The attempt just made is the
            // best measure of how long the service takes to answer now, so a retry needs at
            // least that long; and at least `WRITE_RETRY_FLOOR` (or the attempt timeout,
            // if shorter), since an answer that came quickly says little about the next.
            let needed = if call.read_only {
                Duration::ZERO
            } else {
                let floor = inner
                    .attempt_timeout
                    .map_or(WRITE_RETRY_FLOOR, |own| own.min(WRITE_RETRY_FLOOR));
                attempt_started.elapsed().max(floor)
            };
            match self
                .retry
                .next_delay(attempts, started.elapsed(), &inner.jitter)
            {
                // A retry that would start at the deadline could not succeed: the failure
                // at hand says more than a timeout would.
                Some(delay)
                    if Instant::now()
                        .checked_add(delay)
                        .and_then(|resumed| resumed.checked_add(needed))
                        .is_some_and(|resumed| resumed < deadline) =>
                {
                    tokio::time::sleep(delay).await;
                    failed_before = Some(error);
                    retry_needs = needed;
                }
                _ => return Err(error),
            }
        }
    }

    async fn credentials_for(&self, call: &Call<'_>) -> Result<ProvidedCredentials, Error> {
        self.inner
            .credentials
            .provide_credentials()
            .await
            .map_err(|source| Error::Credentials {
                action: call.action.to_owned(),
                source,
            })
    }

    /// One signed exchange, ending by `deadline` at the latest: the answer's status and
    /// body.
    async fn attempt(
        &self,
        call: &Call<'_>,
        encoded: &Encoded,
        attempts: u32,
        deadline: Instant,
    ) -> Result<(StatusCode, Bytes), Error> {
        let inner = &*self.inner;
        let provided = tokio::time::timeout_at(deadline, self.credentials_for(call))
            .await
            .map_err(|_| waiting_timeout(call, attempts))??;
        let request = build_request(
            &inner.wire,
            call,
            encoded,
            provided.credentials(),
            unix_now(),
        )?;
        if let Some(observer) = &self.observer {
            observer(&RequestPreview::of(&request, body_of(encoded)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(waiting_timeout(call, attempts));
        }
        let timeout = inner.attempt_timeout.map_or(left, |own| own.min(left));
        let (status, _headers, body) = inner
            .transport
            .exchange(request, timeout, inner.max_response_size)
            .await
            .map_err(|err| transport_error(err, call, attempts, inner.max_response_size))?;
        Ok((status, body))
    }
}

/// The least time a write's retry must have left before the deadline (see `retry_loop`).
const WRITE_RETRY_FLOOR: Duration = Duration::from_millis(250);

/// The call's deadline ran out before its request was sent (again).
fn waiting_timeout(call: &Call<'_>, attempts: u32) -> Error {
    Error::Timeout {
        action: call.action.to_owned(),
        phase: TimeoutPhase::Waiting,
        attempts,
    }
}

/// Checks `params` against the catalogue's rules for `action`.
fn check_catalogue(action: &'static ActionMeta, params: &Value) -> Result<(), Error> {
    action
        .check_json(params)
        .map_err(|errors| Error::Validation {
            action: action.name.to_owned(),
            errors,
        })
}

/// The `X-TC-Timestamp` of a request made now.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        .try_into()
        .unwrap_or(i64::MAX)
}

#[cfg(feature = "tracing")]
fn trace_attempt<T: RequestIdOf>(
    call: &Call<'_>,
    attempt: u32,
    latency: Duration,
    result: &Result<Result<T, Error>, Error>,
) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    match result {
        Ok(Ok(answer)) => tracing::debug!(
            action = call.action,
            attempt,
            request_id = answer.request_id().unwrap_or(""),
            latency_ms,
            "iotexplorer call succeeded"
        ),
        Ok(Err(error)) | Err(error) => tracing::debug!(
            action = call.action,
            attempt,
            request_id = error.request_id().unwrap_or(""),
            latency_ms,
            %error,
            "iotexplorer call failed"
        ),
    }
}

/// The RequestId an answer came with, for traces.
trait RequestIdOf {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn request_id(&self) -> Option<&str>;
}

impl RequestIdOf for Value {
    fn request_id(&self) -> Option<&str> {
        self.get("RequestId").and_then(Value::as_str)
    }
}

impl<R> RequestIdOf for Success<R> {
    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
