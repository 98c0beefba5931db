//! The client: validate, sign, send, decode, and retry when that is safe.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iotexplorer_model::Action;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::ClientBuilder;
use crate::credentials::{ProvideCredentials, ProvidedCredentials};
use crate::error::{Error, TimeoutPhase};
use crate::rate_limit::Limiter;
use crate::request::{Call, Encoded, RequestPreview, WireSettings, body_of, build_request, encode};
use crate::response::{Answer, decode, transport_error, typed_response};
use crate::retry::{Jitter, RetryPolicy};
use crate::transport::Transport;

/// An IoT Explorer client. Cheap to clone: clones share the connection pool, the
/// credentials cache and the rate limiter. Build one with [`Client::builder`].
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<ClientInner>,
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
    pub(crate) retry: RetryPolicy,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) max_response_size: usize,
    pub(crate) jitter: Jitter,
}

impl Client {
    /// The settings, all with defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_inner(inner: ClientInner) -> Self {
        Self {
            inner: Arc::new(inner),
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
    /// The answer is read with the model's lenient rules, the same as
    /// [`iotexplorer_model::decode_response`]: numbers sent as strings
    /// (`"TaskId":"1000696"`), `null` for absent values and unknown members are accepted. A
    /// success that still does not fit `A::Response` is an [`Error::Decode`] carrying the
    /// RequestId: the request ran, and is not resent.
    pub async fn send<A: Action>(&self, request: &A) -> Result<A::Response, Error> {
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
        let answer = self.execute(&call, &encoded).await?;
        typed_response(A::NAME, answer)
    }

    /// Calls any action by name with parameters as a JSON object, without checking them
    /// against the catalogue: for actions newer than this crate. `read_only` decides which
    /// failures are retried. Returns the `Response` object (without its wrapper).
    pub async fn send_json(
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

    /// Calls an action of the catalogue by name: checks the parameters against its rules
    /// (nothing is sent when they break one) and takes its read-only flag from the
    /// catalogue. Returns the `Response` object (without its wrapper).
    pub async fn send_checked_json(&self, action: &str, params: &Value) -> Result<Value, Error> {
        let read_only = check_catalogue(action, params)?;
        self.send_json(action, read_only, params).await
    }

    /// Validates and signs a call of a catalogue action exactly as [`Client::send_checked_json`]
    /// would send it, and returns it with its secrets masked, without sending anything.
    pub async fn preview_json(
        &self,
        action: &str,
        params: &Value,
    ) -> Result<RequestPreview, Error> {
        let read_only = check_catalogue(action, params)?;
        let call = Call {
            service: iotexplorer_model::SERVICE,
            version: iotexplorer_model::VERSION,
            action,
            read_only,
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
        Ok(self.execute(call, &encoded).await?.response)
    }

    /// The retry loop, inside a `tracing` span when that feature is on.
    async fn execute(&self, call: &Call<'_>, encoded: &Encoded) -> Result<Answer, Error> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = tracing::debug_span!(
                "iotexplorer_call",
                action = call.action,
                read_only = call.read_only
            );
            self.retry_loop(call, encoded).instrument(span).await
        }
        #[cfg(not(feature = "tracing"))]
        {
            self.retry_loop(call, encoded).await
        }
    }

    /// Attempts until one succeeds, a failure may not or need not be retried, or the
    /// call's deadline leaves no time for another.
    async fn retry_loop(&self, call: &Call<'_>, encoded: &Encoded) -> Result<Answer, Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        // Timeouts are capped when the client is built, so this cannot overflow.
        let deadline = started + inner.call_timeout;
        let mut attempts = 0u32;
        loop {
            if let Some(limiter) = &inner.limiter
                && tokio::time::timeout_at(deadline, limiter.acquire(call.action))
                    .await
                    .is_err()
            {
                return Err(waiting_timeout(call, attempts));
            }
            attempts += 1;
            #[cfg(feature = "tracing")]
            let attempt_started = Instant::now();
            let result = self.attempt(call, encoded, attempts, deadline).await;
            #[cfg(feature = "tracing")]
            trace_attempt(call, attempts, attempt_started.elapsed(), &result);
            let error = match result {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            if !error.is_retryable(call.read_only) {
                return Err(error);
            }
            match inner
                .retry
                .next_delay(attempts, started.elapsed(), &inner.jitter)
            {
                // A retry that would start at the deadline could not succeed: the failure
                // at hand says more than a timeout would.
                Some(delay)
                    if Instant::now()
                        .checked_add(delay)
                        .is_some_and(|resumed| resumed < deadline) =>
                {
                    tokio::time::sleep(delay).await;
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

    /// One signed exchange, ending by `deadline` at the latest.
    async fn attempt(
        &self,
        call: &Call<'_>,
        encoded: &Encoded,
        attempts: u32,
        deadline: Instant,
    ) -> Result<Answer, Error> {
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
        decode(call, status, body)
    }
}

/// The call's deadline ran out before its request was sent (again).
fn waiting_timeout(call: &Call<'_>, attempts: u32) -> Error {
    Error::Timeout {
        action: call.action.to_owned(),
        phase: TimeoutPhase::Waiting,
        attempts,
    }
}

/// Checks `params` against the catalogue's rules for `action`; returns its read-only flag.
fn check_catalogue(action: &str, params: &Value) -> Result<bool, Error> {
    let meta = iotexplorer_model::find_action(action).ok_or_else(|| Error::UnknownAction {
        action: action.to_owned(),
    })?;
    iotexplorer_model::check_request_json(action, params).map_err(|problems| match problems {
        iotexplorer_model::RequestProblems::Invalid(errors) => Error::Validation {
            action: action.to_owned(),
            errors,
        },
        _ => Error::UnknownAction {
            action: action.to_owned(),
        },
    })?;
    Ok(meta.read_only)
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
fn trace_attempt(call: &Call<'_>, attempt: u32, latency: Duration, result: &Result<Answer, Error>) {
    let latency_ms = latency.as_secs_f64() * 1000.0;
    match result {
        Ok(answer) => tracing::debug!(
            action = call.action,
            attempt,
            request_id = crate::response::request_id_of(&answer.response)
                .as_deref()
                .unwrap_or(""),
            latency_ms,
            "iotexplorer call succeeded"
        ),
        Err(error) => tracing::debug!(
            action = call.action,
            attempt,
            request_id = error.request_id().unwrap_or(""),
            latency_ms,
            %error,
            "iotexplorer call failed"
        ),
    }
}
