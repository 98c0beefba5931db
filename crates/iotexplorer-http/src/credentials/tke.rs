//! Temporary credentials of a TKE pod's role: the OIDC token Kubernetes mounts in the pod
//! is exchanged for credentials with STS `AssumeRoleWithWebIdentity`, as the official SDKs
//! do when `TKE_REGION`, `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE` and
//! `TKE_ROLE_ARN` are set.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, PROXY_AUTHORIZATION};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use iotexplorer_model::{DecodeError, decode_response_value, from_value_lenient};
use serde_json::json;

use super::sts::{AssumeRoleResponse, issued};
use super::{
    CachedCredentials, CredentialsError, CredentialsFuture, EnvLookup, ProvideCredentials,
    ProvidedCredentials, read_bounded, unreadable_file,
};
use crate::endpoint::{Endpoint, ResolvedEndpoint};
use crate::proxy::Proxy;
use crate::request::REQUEST_CLIENT;
use crate::transport::{Transport, TransportConfig, TransportError};

const PROVIDER: &str = "the TKE OIDC role";
const SERVICE: &str = "sts";
const VERSION: &str = "2018-08-13";
const ACTION: &str = "AssumeRoleWithWebIdentity";

/// The variables that, all set, name a TKE OIDC role.
pub const TKE_VARIABLES: [&str; 4] = [
    "TKE_REGION",
    "TKE_PROVIDER_ID",
    "TKE_WEB_IDENTITY_TOKEN_FILE",
    "TKE_ROLE_ARN",
];

/// A token file larger than this is not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// STS answers are small; anything larger is not one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Credentials of the role a TKE pod is bound to.
///
/// When `TKE_REGION`, `TKE_PROVIDER_ID`, `TKE_WEB_IDENTITY_TOKEN_FILE` and `TKE_ROLE_ARN`
/// are all set, the token file's contents are exchanged with STS
/// `AssumeRoleWithWebIdentity` (`sts.tencentcloudapi.com`, version `2018-08-13`), a call
/// that carries no signature (`Authorization: SKIP`): the token is the proof. The
/// variables and the file are read again at every refresh, since Kubernetes rotates the
/// token. With a variable missing the provider has nothing ([`NotFound`]), so a chain
/// moves on.
///
/// [`NotFound`]: super::CredentialsErrorKind::NotFound
#[derive(Debug)]
pub struct TkeOidcRoleCredentials {
    cache: CachedCredentials<WebIdentity>,
}

impl Default for TkeOidcRoleCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl TkeOidcRoleCredentials {
    /// Reads the variables from the process environment.
    pub fn new() -> Self {
        Self::from_lookup(EnvLookup::process())
    }

    /// Reads the variables through `env`; proxies from the same variables.
    pub fn from_lookup(env: EnvLookup) -> Self {
        let proxy = Proxy::from_lookup(&env);
        Self::with_parts(WebIdentity {
            env,
            endpoint: Endpoint::Global,
            proxy,
            duration: Duration::from_secs(7200),
            transport: OnceLock::new(),
            timeout: Duration::from_secs(10),
        })
    }

    fn with_parts(identity: WebIdentity) -> Self {
        // As the SDKs do: refresh when a tenth of the lifetime is left.
        let margin = identity.duration / 10;
        Self {
            cache: CachedCredentials::new(identity).with_refresh_margin(margin),
        }
    }

    /// Sends the STS call to this URL instead of `https://sts.tencentcloudapi.com` (plain
    /// `http://` only for loopback hosts).
    #[must_use]
    pub fn with_endpoint_url(self, url: impl Into<String>) -> Self {
        let identity = self.cache.into_inner();
        Self::with_parts(WebIdentity {
            endpoint: Endpoint::Url(url.into()),
            transport: OnceLock::new(),
            ..identity
        })
    }

    /// Proxy settings for the STS call (default: from the variables' lookup).
    #[must_use]
    pub fn with_proxy(self, proxy: Proxy) -> Self {
        let identity = self.cache.into_inner();
        Self::with_parts(WebIdentity {
            proxy,
            transport: OnceLock::new(),
            ..identity
        })
    }

    /// How long the credentials live (`DurationSeconds`, default 7200).
    #[must_use]
    pub fn with_duration(self, duration: Duration) -> Self {
        let identity = self.cache.into_inner();
        Self::with_parts(WebIdentity {
            duration,
            ..identity
        })
    }
}

impl ProvideCredentials for TkeOidcRoleCredentials {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        self.cache.provide_credentials()
    }
}

#[derive(Debug)]
struct WebIdentity {
    env: EnvLookup,
    endpoint: Endpoint,
    proxy: Proxy,
    duration: Duration,
    /// Built at the first call: most runs never need it.
    transport: OnceLock<Result<Transport, String>>,
    timeout: Duration,
}

/// What the variables say, once all are present.
struct Settings {
    region: String,
    provider_id: String,
    token: String,
    role_arn: String,
}

impl WebIdentity {
    async fn settings(&self) -> Result<Settings, CredentialsError> {
        let mut values = TKE_VARIABLES
            .iter()
            .map(|name| self.env.get(name).filter(|value| !value.trim().is_empty()));
        let (Some(Some(region)), Some(Some(provider_id)), Some(Some(path)), Some(Some(role_arn))) =
            (values.next(), values.next(), values.next(), values.next())
        else {
            let missing: Vec<&str> = TKE_VARIABLES
                .iter()
                .copied()
                .filter(|name| self.env.get(name).is_none_or(|v| v.trim().is_empty()))
                .collect();
            return Err(CredentialsError::not_found(
                PROVIDER,
                format!("{} not set", missing.join(", ")),
            ));
        };
        // Read off the runtime's threads: a path naming a pipe or a terminal can block
        // without end, and would then hold every task of the runtime past its deadline.
        let token = tokio::task::spawn_blocking(move || read_token(&path))
            .await
            .map_err(|err| {
                CredentialsError::unavailable(
                    PROVIDER,
                    format!("reading TKE_WEB_IDENTITY_TOKEN_FILE ended early: {err}"),
                )
            })??;
        Ok(Settings {
            region: region.trim().to_owned(),
            provider_id: provider_id.trim().to_owned(),
            token,
            role_arn: role_arn.trim().to_owned(),
        })
    }

    fn transport(&self) -> Result<&Transport, CredentialsError> {
        self.transport
            .get_or_init(|| {
                Transport::new(&TransportConfig {
                    connect_timeout: Duration::from_secs(5),
                    proxy: self.proxy.clone(),
                    builtin_roots: true,
                    extra_roots: Vec::new(),
                })
                .map_err(|err| err.to_string())
            })
            .as_ref()
            .map_err(|message| CredentialsError::unavailable(PROVIDER, message.clone()))
    }

    async fn fetch(&self) -> Result<ProvidedCredentials, CredentialsError> {
        let settings = self.settings().await?;
        let endpoint = ResolvedEndpoint::resolve(&self.endpoint, SERVICE, None, false)
            .map_err(|err| CredentialsError::invalid(PROVIDER, err.to_string()))?;
        let uri = endpoint
            .uri("")
            .map_err(|err| CredentialsError::invalid(PROVIDER, err.to_string()))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let body = json!({
            "ProviderId": settings.provider_id,
            "WebIdentityToken": settings.token,
            "RoleArn": settings.role_arn,
            "RoleSessionName": format!("tencentcloud-rust-sdk-{}", now.as_micros()),
            "DurationSeconds": self.duration.as_secs(),
        })
        .to_string();
        let transport = self.transport()?;
        let header = |value: &str| {
            HeaderValue::from_str(value).map_err(|_| {
                CredentialsError::invalid(PROVIDER, format!("{value:?} cannot be sent in a header"))
            })
        };
        let mut request = Request::post(uri.clone())
            .header(HOST, header(&endpoint.host_header)?)
            .header(CONTENT_TYPE, "application/json")
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", now.as_secs().to_string())
            .header("X-TC-Region", header(&settings.region)?)
            .header("X-TC-RequestClient", REQUEST_CLIENT)
            // The call is not signed: the web identity token is the proof.
            .header(http::header::AUTHORIZATION, "SKIP")
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| CredentialsError::invalid(PROVIDER, err.to_string()))?;
        if let Some(value) = transport.proxy_authorization(&uri) {
            request.headers_mut().insert(PROXY_AUTHORIZATION, value);
        }
        let (status, _, answer) = transport
            .exchange(request, self.timeout, MAX_ANSWER_BYTES)
            .await
            .map_err(|err| {
                let message = match err {
                    TransportError::Connect { message, .. }
                    | TransportError::Unprocessed { message, .. }
                    | TransportError::AfterSend { message, .. } => message,
                    TransportError::TooLarge => "the STS answer is too large".to_owned(),
                };
                CredentialsError::unavailable(PROVIDER, format!("STS {ACTION}: {message}"))
            })?;
        if status != StatusCode::OK {
            return Err(CredentialsError::unavailable(
                PROVIDER,
                format!("STS {ACTION} answered HTTP {}", status.as_u16()),
            ));
        }
        // The service's envelope and its lenient rules, as for every answer: STS sends
        // numbers as strings too.
        let response = decode_response_value(&answer).map_err(|error| match error {
            DecodeError::Api(error) => CredentialsError::unavailable(
                PROVIDER,
                format!(
                    "STS {ACTION} refused: {}: {} (RequestId {})",
                    error.code.as_str(),
                    error.message,
                    error.request_id.as_deref().unwrap_or("none"),
                ),
            ),
            _ => CredentialsError::unavailable(PROVIDER, format!("unreadable STS {ACTION} answer")),
        })?;
        let parsed: AssumeRoleResponse = from_value_lenient(response).map_err(|_| {
            CredentialsError::unavailable(PROVIDER, format!("unreadable STS {ACTION} answer"))
        })?;
        issued(
            PROVIDER,
            parsed,
            &format!("no Credentials in the STS {ACTION} answer"),
        )
    }
}

/// `TKE_WEB_IDENTITY_TOKEN_FILE`'s value as an error message shows it: a path as it is,
/// but not a value too long for one, which is likely the token itself set there by mistake.
fn shown_token_path(path: &str) -> String {
    const LONGEST_SHOWN: usize = 200;
    if path.chars().count() <= LONGEST_SHOWN {
        path.to_owned()
    } else {
        format!(
            "(a value of {} characters, not shown: it should name the token's file, not hold the token)",
            path.chars().count()
        )
    }
}

/// The token file's contents, trimmed; bounded, since it is read at every refresh.
fn read_token(path: &str) -> Result<String, CredentialsError> {
    let text = read_bounded(Path::new(path), MAX_TOKEN_BYTES).map_err(|err| {
        let what = format!("TKE_WEB_IDENTITY_TOKEN_FILE {}", shown_token_path(path));
        unreadable_file(PROVIDER, &what, &err)
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CredentialsError::invalid(
            PROVIDER,
            format!(
                "TKE_WEB_IDENTITY_TOKEN_FILE {} is empty",
                shown_token_path(path)
            ),
        ));
    }
    Ok(token.to_owned())
}

impl ProvideCredentials for WebIdentity {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch())
    }
}
