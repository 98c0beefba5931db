//! Building a [`Client`]: every setting, its default, and the checks done once at build
//! time rather than on every call.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::client::{Client, ClientInner};
use crate::credentials::{DefaultCredentialsChain, ProvideCredentials, StaticCredentials};
use crate::endpoint::{Endpoint, ResolvedEndpoint};
use crate::error::Error;
use crate::proxy::Proxy;
use crate::rate_limit::{Limiter, RateLimit};
use crate::request::{FixedHeaders, WireSettings};
use crate::retry::{Jitter, RetryPolicy};
use crate::signing::SignerCache;
use crate::transport::{Transport, TransportConfig};

/// The longest timeout kept; longer ones are cut to it, so that a deadline computed from
/// one is always a time the clock can hold.
pub(crate) const LONGEST_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The language of the service's messages (`X-TC-Language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Language {
    /// `zh-CN`.
    ZhCn,
    /// `en-US`.
    EnUs,
}

impl Language {
    /// The header value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::EnUs => "en-US",
        }
    }
}

/// How parameters travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpMethod {
    /// A JSON body (`Content-Type: application/json`).
    #[default]
    Post,
    /// A flattened query string (`DeviceNames.0=…`), empty body.
    Get,
}

/// Which request headers the signature covers (the `SignedHeaders` of `Authorization`).
///
/// The service accepts any list that includes `content-type` and `host`. Signing
/// `X-TC-Action` too, as Tencent's current documentation does, makes a signature good
/// for one action only: without it, whoever sees a signed request could send its body,
/// within the five minutes a signature lasts, as another action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedHeaderSet {
    /// `content-type;host;x-tc-action` (the default).
    #[default]
    ContentTypeHostAction,
    /// `content-type;host`, as the official SDKs and older signers sign: byte for byte
    /// their signatures, but one signature then passes for any action with the same body.
    ContentTypeAndHost,
}

impl SignedHeaderSet {
    /// The list as `SignedHeaders` spells it, e.g. `content-type;host;x-tc-action`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ContentTypeHostAction => "content-type;host;x-tc-action",
            Self::ContentTypeAndHost => "content-type;host",
        }
    }

    /// Whether `X-TC-Action` is signed.
    pub fn signs_action(&self) -> bool {
        matches!(self, Self::ContentTypeHostAction)
    }
}

impl std::str::FromStr for SignedHeaderSet {
    type Err = Error;

    /// Parses the list as [`SignedHeaderSet::as_str`] spells it.
    fn from_str(text: &str) -> Result<Self, Error> {
        [Self::ContentTypeHostAction, Self::ContentTypeAndHost]
            .into_iter()
            .find(|set| set.as_str() == text)
            .ok_or_else(|| {
                Error::Config(format!(
                    "unsupported signed-header list {text:?}: expected \
                     content-type;host;x-tc-action or content-type;host"
                ))
            })
    }
}

/// The longest name [`ClientBuilder::request_client`] takes, as for the official SDKs.
pub const MAX_REQUEST_CLIENT_LEN: usize = 128;

/// The `X-TC-RequestClient` value for a program's `name`, or why it is refused.
fn request_client_value(name: Option<&str>) -> Result<String, Error> {
    let Some(name) = name else {
        return Ok(crate::request::REQUEST_CLIENT.to_owned());
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_,;.".contains(&b);
    if name.is_empty() || name.len() > MAX_REQUEST_CLIENT_LEN || !name.bytes().all(allowed) {
        return Err(Error::Config(format!(
            "invalid request client name {:?}: 1 to {MAX_REQUEST_CLIENT_LEN} characters of \
             0-9 a-z A-Z - _ , ; .",
            name.chars()
                .take(MAX_REQUEST_CLIENT_LEN + 1)
                .collect::<String>()
        )));
    }
    Ok(format!("{}; {name}", crate::request::REQUEST_CLIENT))
}

/// Settings of a [`Client`]; start with [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    pub(crate) service: &'static str,
    region: Option<String>,
    credentials: Option<Arc<dyn ProvideCredentials>>,
    endpoint: Endpoint,
    language: Option<Language>,
    connect_timeout: Duration,
    call_timeout: Duration,
    attempt_timeout: Option<Duration>,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    method: HttpMethod,
    unsigned_payload: bool,
    signed_headers: SignedHeaderSet,
    request_client: Option<String>,
    proxy: Proxy,
    builtin_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    allow_insecure_http: bool,
    max_response_size: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            service: iotexplorer_model::SERVICE,
            region: None,
            credentials: None,
            endpoint: Endpoint::Global,
            language: None,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            attempt_timeout: None,
            retry: RetryPolicy::default(),
            rate_limit: Some(RateLimit::default()),
            method: HttpMethod::Post,
            unsigned_payload: false,
            signed_headers: SignedHeaderSet::default(),
            request_client: None,
            proxy: Proxy::from_env(),
            builtin_roots: true,
            extra_roots: Vec::new(),
            allow_insecure_http: false,
            max_response_size: 10 * 1024 * 1024,
        }
    }
}

impl ClientBuilder {
    /// The region, sent as `X-TC-Region` (not sent when unset).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Where credentials come from. Default: [`DefaultCredentialsChain`] (environment,
    /// profile file, CVM instance role, TKE OIDC role).
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Fixed long-term credentials.
    pub fn static_credentials(
        self,
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials(StaticCredentials::new(secret_id, secret_key))
    }

    /// Sends to this URL, e.g. `http://127.0.0.1:9555` for the local emulator. Plain
    /// `http://` is accepted for loopback hosts, elsewhere only with
    /// [`ClientBuilder::allow_insecure_http`].
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Endpoint::Url(url.into());
        self
    }

    /// Chooses the endpoint (default: [`Endpoint::Global`]).
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// A name for the program making the calls, sent after this crate's own in
    /// `X-TC-RequestClient` (`SDK_RUST_<version>; <name>`), as the official SDKs send
    /// theirs. Like them, it takes 1 to [`MAX_REQUEST_CLIENT_LEN`] characters of
    /// `0-9 a-z A-Z - _ , ; .`; `build()` refuses anything else.
    pub fn request_client(mut self, name: impl Into<String>) -> Self {
        self.request_client = Some(name.into());
        self
    }

    /// The language of the service's messages (`X-TC-Language`; not sent when unset).
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// The deadline for opening a connection, TLS included (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of a whole call (default 60 s): every attempt, every wait between
    /// attempts, for the rate limit and for credentials included. When it runs out the
    /// call ends: [`Error::Timeout`], or [`Error::Ambiguous`] for an action that is not
    /// read-only and whose request was sent; no retry starts that could not end in time.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The deadline of each attempt, from connecting to the last byte of the answer
    /// (default: none of its own, only what is left of the
    /// [call's deadline](ClientBuilder::call_timeout)). Shorter than the call's deadline,
    /// it leaves time to retry an attempt that hangs when retrying is safe.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How failed calls are retried (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side limit per action (by default the rate the service documents for each
    /// action, [`RateLimit::default`]), or `None` for no limit.
    /// Every clone of the client shares it.
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// POST with a JSON body (default) or GET with a query string.
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// Leaves the body out of the signature (`X-TC-Content-SHA256: UNSIGNED-PAYLOAD`).
    pub fn unsigned_payload(mut self, unsigned: bool) -> Self {
        self.unsigned_payload = unsigned;
        self
    }

    /// Which headers the signature covers (default:
    /// [`SignedHeaderSet::ContentTypeHostAction`], so that a signature is good for one
    /// action only). [`SignedHeaderSet::ContentTypeAndHost`] signs as older signers do.
    pub fn signed_headers(mut self, signed_headers: SignedHeaderSet) -> Self {
        self.signed_headers = signed_headers;
        self
    }

    /// Proxy settings (default: [`Proxy::from_env`]).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Also trusts the certificates in this PEM text (one or more), e.g. a private CA.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|err| Error::Config(format!("unreadable PEM certificate: {err}")))?;
            self.extra_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(Error::Config("no certificate in the PEM text".to_owned()));
        }
        Ok(self)
    }

    /// Also trusts this DER-encoded certificate.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(CertificateDer::from(der.into()));
        self
    }

    /// Whether the bundled web roots (and, with the `native-roots` feature, the system's)
    /// are trusted (default `true`). Turn off to trust only the added certificates. The
    /// system's are read once per process, when the first client that trusts them is
    /// built: a later change to the system's store, `SSL_CERT_FILE` or `SSL_CERT_DIR` is
    /// seen by the next process, and certificates that could not be read then stay unread.
    pub fn builtin_roots(mut self, enabled: bool) -> Self {
        self.builtin_roots = enabled;
        self
    }

    /// Accepts plain `http://` endpoints on any host, not just loopback ones. Requests and
    /// answers then travel unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The largest answer accepted, in bytes (default 10 MiB).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint = ResolvedEndpoint::resolve(
            &self.endpoint,
            self.service,
            self.region.as_deref(),
            self.allow_insecure_http,
        )?;
        if let Some(region) = &self.region
            && (region.is_empty() || !region.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(Error::Config(format!("invalid region {region:?}")));
        }
        if self.call_timeout.is_zero()
            || self.connect_timeout.is_zero()
            || self
                .attempt_timeout
                .is_some_and(|timeout| timeout.is_zero())
        {
            return Err(Error::Config("timeouts must be above zero".to_owned()));
        }
        let transport = Transport::new(&TransportConfig {
            connect_timeout: self.connect_timeout,
            proxy: self.proxy.for_service_at(endpoint.authority.host()),
            builtin_roots: self.builtin_roots,
            extra_roots: self.extra_roots,
        })?;
        let credentials = match self.credentials {
            Some(credentials) => credentials,
            None => Arc::new(DefaultCredentialsChain::new()),
        };
        let proxy_authorization =
            transport
                .proxy_authorization(&endpoint.uri("")?)
                .map(|mut value| {
                    // Basic credentials are only encoded, not hidden: keep them out of Debug.
                    value.set_sensitive(true);
                    value
                });
        let host_header = endpoint.host_header.clone();
        Ok(Client::from_inner(
            ClientInner {
                transport,
                wire: WireSettings {
                    endpoint,
                    method: self.method,
                    unsigned_payload: self.unsigned_payload,
                    signed_headers: self.signed_headers,
                    fixed_headers: FixedHeaders {
                        host: &host_header,
                        method: self.method,
                        region: self.region.as_deref(),
                        language: self.language,
                        request_client: &request_client_value(self.request_client.as_deref())?,
                        proxy_authorization,
                    }
                    .build()?,
                    signers: SignerCache::default(),
                },
                credentials,
                call_timeout: self.call_timeout.min(LONGEST_TIMEOUT),
                attempt_timeout: self
                    .attempt_timeout
                    .map(|timeout| timeout.min(LONGEST_TIMEOUT)),
                limiter: self.rate_limit.map(Limiter::new),
                max_response_size: self.max_response_size,
                jitter: Jitter::new(),
            },
            self.retry,
        ))
    }
}
