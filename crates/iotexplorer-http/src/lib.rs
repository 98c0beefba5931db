//! An async client for Tencent Cloud IoT Explorer (API `2019-04-23`) over hyper 1 and
//! rustls: every call validated, signed with TC3-HMAC-SHA256, sent, retried only when
//! that is safe, and answered with the typed response or an [`Error`] that says exactly
//! what happened, with the service's RequestId.
//!
//! ```no_run
//! use iotexplorer_http::{Client, Error};
//! use iotexplorer_model::BatchUpdateFirmwareRequest;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Credentials from the environment, a profile file, the CVM role or the TKE OIDC role,
//! // in that order.
//! let client = Client::builder().region("ap-guangzhou").build()?;
//!
//! let request = BatchUpdateFirmwareRequest::builder()
//!     .product_id("ABCDE12345")
//!     .firmware_version("2.0.0")
//!     .device_names("dev001")
//!     .build()?;
//! match client.send(&request).await {
//!     Ok(response) => println!("task {:?}", response.task_id),
//!     // The task may or may not have been created: look before trying again.
//!     Err(error @ Error::Ambiguous { .. }) => eprintln!("unknown outcome: {error}"),
//!     Err(error) => eprintln!("failed: {error} (RequestId {:?})", error.request_id()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! - **Transport**: hyper 1 connections kept for reuse (HTTP/1.1 keep-alive under the
//!   service's 60 s idle limit, HTTP/2 when the server offers it), rustls with the ring
//!   provider and the bundled web roots (the system's too with the `native-roots`
//!   feature). `https` only, except loopback hosts such as the local emulator, or with
//!   [`ClientBuilder::allow_insecure_http`]. Proxies from `HTTPS_PROXY`/`HTTP_PROXY`/
//!   `NO_PROXY` or [`Proxy`].
//! - **Retries** ([`RetryPolicy`]): exponential backoff with full jitter. Throttling and
//!   connection failures are retried for every action; timeouts, broken connections, 5xx
//!   and `InternalError` only for read-only actions. A call that may have run is never
//!   resent for an action that changes something: it ends in [`Error::Ambiguous`], also
//!   when its answer cannot be read (a gateway's 502, a body that is not JSON, truncated or
//!   too large).
//! - **Deadlines**: [`ClientBuilder::call_timeout`] bounds the whole call, retries and
//!   waits included; [`ClientBuilder::request_timeout`] gives each attempt its own.
//! - **Signatures**: TC3-HMAC-SHA256 over `content-type;host;x-tc-action`, so that one is
//!   good for its action only ([`SignedHeaderSet`] keeps the older `content-type;host`).
//! - **Rate limits** ([`RateLimit`]): by default each action at the rate the service
//!   documents for it (the model's `ActionMeta::calls_per_second`, 20 per second today),
//!   shared by every clone of a client, so a busy caller waits instead of being refused.
//! - **Credentials** ([`credentials`]): fixed, environment, profile file, CVM role, STS
//!   `AssumeRole`, the TKE OIDC role, and the default chain; temporary ones cached and refreshed early.
//!
//! Secrets (SecretKey, session token, `Authorization` values, proxy passwords) never
//! appear in `Debug` or `Display` output, errors or logs.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

mod client;
mod config;
pub mod credentials;
mod endpoint;
mod error;
mod generated;

mod params;
mod pool;
mod proxy;
mod rate_limit;
mod request;
mod response;
mod retry;
mod signing;
mod transport;

pub use client::{Client, RequestObserver};
pub use config::{ClientBuilder, HttpMethod, Language, MAX_REQUEST_CLIENT_LEN, SignedHeaderSet};
pub use credentials::{ProvideCredentials, StaticCredentials};
pub use endpoint::{DEFAULT_HOST, Endpoint};
pub use error::{BoxError, Error, TimeoutPhase, printable};
pub use proxy::Proxy;
pub use rate_limit::RateLimit;
pub use request::{REQUEST_CLIENT, RequestPreview};
pub use retry::RetryPolicy;
