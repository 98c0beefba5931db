//! Credentials of the CVM instance's role, from the instance metadata service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::Full;
use serde::Deserialize;

use super::{
    CachedCredentials, CredentialsError, CredentialsFuture, EnvLookup, ProvideCredentials,
    ProvidedCredentials, from_parts, unreadable,
};
use crate::endpoint::is_loopback_host;
use crate::proxy::{Proxy, redact_url};
use crate::transport::{Transport, TransportConfig, TransportError};

const PROVIDER: &str = "the CVM role";

// The literals are macros so that the full URL below is built from them at compile time.
macro_rules! default_metadata_endpoint {
    () => {
        "http://metadata.tencentyun.com"
    };
}
macro_rules! credentials_path {
    () => {
        "/latest/meta-data/cam/security-credentials/"
    };
}

/// The environment variable that points the CVM role at another metadata service, e.g.
/// `http://127.0.0.1:8080` for a local stand-in: the service's address, to which
/// `/latest/meta-data/cam/security-credentials/` is appended. `https://` on any host,
/// plain `http://` on loopback hosts only.
pub const METADATA_ENDPOINT_VARIABLE: &str = "TENCENTCLOUD_CVM_METADATA_ENDPOINT";

/// The address of the real instance metadata service (plain HTTP on the instance's own
/// network).
pub const DEFAULT_METADATA_ENDPOINT: &str = default_metadata_endpoint!();

/// The metadata path of role credentials on a CVM instance.
pub const DEFAULT_METADATA_URL: &str = concat!(default_metadata_endpoint!(), credentials_path!());

/// Temporary credentials of the CVM instance role: `GET <base>` names the role,
/// `GET <base><role>` gives `TmpSecretId`, `TmpSecretKey`, `Token` and `ExpiredTime`.
/// Cached and refreshed before they expire.
///
/// ```
/// use iotexplorer_http::credentials::CvmRoleCredentials;
///
/// // A local stand-in for the metadata service, as in tests.
/// let role = CvmRoleCredentials::builder()
///     .metadata_endpoint("http://127.0.0.1:8080")
///     .build()
///     .unwrap();
/// # drop(role);
/// // Plain HTTP to another host would carry the role's keys in the clear.
/// assert!(CvmRoleCredentials::builder().metadata_endpoint("http://10.0.0.1").build().is_err());
/// ```
#[derive(Debug)]
pub struct CvmRoleCredentials {
    cache: CachedCredentials<RoleFetcher>,
}

impl Default for CvmRoleCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl CvmRoleCredentials {
    /// Reads the real metadata service.
    pub fn new() -> Self {
        Self::with_metadata_url(DEFAULT_METADATA_URL)
    }

    /// Settings: the metadata service's address, the role, the refresh margin.
    pub fn builder() -> CvmRoleCredentialsBuilder {
        CvmRoleCredentialsBuilder::default()
    }

    /// Reads the metadata service that [`METADATA_ENDPOINT_VARIABLE`] names in `env`, or
    /// the real one when it is unset or blank. An address the builder refuses is an
    /// error of kind [`Invalid`](super::CredentialsErrorKind::Invalid).
    pub fn from_lookup(env: &EnvLookup) -> Result<Self, CredentialsError> {
        let mut builder = Self::builder();
        if let Some(endpoint) = env
            .get(METADATA_ENDPOINT_VARIABLE)
            .filter(|value| !value.trim().is_empty())
        {
            builder = builder.metadata_endpoint(endpoint);
        }
        builder.build()
    }

    /// Reads the metadata service at `base` (ending in `/security-credentials/`), e.g. a
    /// local test server. Unlike [`CvmRoleCredentialsBuilder::metadata_endpoint`], the
    /// URL is taken as it is.
    pub fn with_metadata_url(base: impl Into<String>) -> Self {
        let mut base = base.into();
        if !base.ends_with('/') {
            base.push('/');
        }
        // The metadata service is plain HTTP on the instance's own network: never proxied.
        let transport = Transport::new(&TransportConfig {
            connect_timeout: Duration::from_secs(2),
            proxy: Proxy::none(),
            builtin_roots: true,
            extra_roots: Vec::new(),
        })
        .ok();
        Self {
            cache: CachedCredentials::new(RoleFetcher {
                base,
                role: None,
                transport,
                timeout: Duration::from_secs(5),
            }),
        }
    }

    /// Uses this role instead of asking the metadata service for it.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        let margin = self.cache.refresh_margin();
        self.cache = CachedCredentials::new(RoleFetcher {
            role: Some(role.into()),
            ..self.cache.into_inner()
        })
        .with_refresh_margin(margin);
        self
    }

    /// Refreshes this long before expiry (default 5 minutes).
    #[must_use]
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.cache = self.cache.with_refresh_margin(margin);
        self
    }
}

/// Settings of [`CvmRoleCredentials`].
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct CvmRoleCredentialsBuilder {
    endpoint: Option<String>,
    role: Option<String>,
    refresh_margin: Option<Duration>,
}

impl CvmRoleCredentialsBuilder {
    /// Reads the metadata service at this address (`scheme://host[:port]`, no path)
    /// instead of [`DEFAULT_METADATA_ENDPOINT`]: `https://` on any host, plain `http://`
    /// on loopback hosts only, since the answer holds the role's keys.
    pub fn metadata_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Uses this role instead of asking the metadata service for it.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Refreshes this long before expiry (default 5 minutes).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = Some(margin);
        self
    }

    /// The provider; refuses an endpoint that is not an `http(s)://host[:port]` address
    /// allowed by the rule of [`Self::metadata_endpoint`].
    pub fn build(self) -> Result<CvmRoleCredentials, CredentialsError> {
        let base = match &self.endpoint {
            None => DEFAULT_METADATA_URL.to_owned(),
            Some(endpoint) => credentials_url(endpoint)?,
        };
        let mut credentials = CvmRoleCredentials::with_metadata_url(base);
        if let Some(role) = self.role {
            credentials = credentials.with_role(role);
        }
        if let Some(margin) = self.refresh_margin {
            credentials = credentials.with_refresh_margin(margin);
        }
        Ok(credentials)
    }
}

/// The credentials URL of the metadata service at `endpoint`, or why it is refused.
fn credentials_url(endpoint: &str) -> Result<String, CredentialsError> {
    // Quoted without any user information, which is refused below and may be a password.
    let refuse = |why: &str| {
        CredentialsError::invalid(
            PROVIDER,
            format!("metadata endpoint {:?}: {why}", redact_url(endpoint)),
        )
    };
    let uri: Uri = endpoint.trim().parse().map_err(|_| refuse("not a URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refuse("expected http://HOST[:PORT] or https://HOST[:PORT]"));
    };
    if uri.query().is_some() || !matches!(uri.path(), "" | "/") {
        return Err(refuse(
            "give the address only; the credentials path is added to it",
        ));
    }
    if authority.as_str().contains('@') {
        return Err(refuse("user information is not allowed"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback_host(authority.host()) => {}
        "http" => {
            return Err(refuse(
                "plain http:// only for loopback hosts (the answer holds the role's keys); \
                 use https://",
            ));
        }
        _ => return Err(refuse("expected http:// or https://")),
    }
    Ok(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority.as_str(),
        credentials_path!()
    ))
}

impl ProvideCredentials for CvmRoleCredentials {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        self.cache.provide_credentials()
    }
}

#[derive(Debug)]
struct RoleFetcher {
    base: String,
    role: Option<String>,
    transport: Option<Transport>,
    timeout: Duration,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
    token: Option<String>,
    expired_time: Option<i64>,
}

impl RoleFetcher {
    async fn get(&self, url: &str) -> Result<Bytes, CredentialsError> {
        let Some(transport) = &self.transport else {
            return Err(CredentialsError::unavailable(PROVIDER, "no HTTP transport"));
        };
        let uri: Uri = url.parse().map_err(|_| {
            let shown = redact_url(url);
            CredentialsError::invalid(PROVIDER, format!("invalid metadata URL {shown:?}"))
        })?;
        let request = Request::get(uri)
            .body(Full::new(Bytes::new()))
            .map_err(|err| CredentialsError::invalid(PROVIDER, err.to_string()))?;
        let (status, _, body) = transport
            .exchange(request, self.timeout, 64 * 1024)
            .await
            .map_err(|err| match err {
                TransportError::Connect { message, .. } => {
                    CredentialsError::not_found(PROVIDER, format!("no metadata service: {message}"))
                }
                TransportError::Unprocessed { message, .. }
                | TransportError::AfterSend { message, .. } => {
                    CredentialsError::unavailable(PROVIDER, message)
                }
                TransportError::TooLarge => {
                    CredentialsError::unavailable(PROVIDER, "metadata answer too large")
                }
            })?;
        match status {
            StatusCode::OK => Ok(body),
            StatusCode::NOT_FOUND => Err(CredentialsError::not_found(
                PROVIDER,
                "the instance has no role",
            )),
            other => Err(CredentialsError::unavailable(
                PROVIDER,
                format!("metadata service answered HTTP {}", other.as_u16()),
            )),
        }
    }

    async fn fetch(&self) -> Result<ProvidedCredentials, CredentialsError> {
        let role = match &self.role {
            Some(role) => role.clone(),
            None => {
                let listing = self.get(&self.base).await?;
                let text = String::from_utf8_lossy(&listing);
                text.lines()
                    .map(str::trim)
                    .find(|line| !line.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| CredentialsError::not_found(PROVIDER, "no role is bound"))?
            }
        };
        if role.contains(['/', '?', '#']) || role.contains(char::is_whitespace) {
            return Err(CredentialsError::invalid(PROVIDER, "malformed role name"));
        }
        let body = self.get(&format!("{}{role}", self.base)).await?;
        let parsed: RoleCredentials = serde_json::from_slice(&body).map_err(|err| {
            CredentialsError::invalid(PROVIDER, unreadable("role credentials", &err))
        })?;
        let credentials = from_parts(
            PROVIDER,
            parsed.tmp_secret_id,
            parsed.tmp_secret_key,
            parsed.token,
        )?;
        Ok(match parsed.expired_time.and_then(unix_time) {
            Some(expires) => ProvidedCredentials::expiring(credentials, expires),
            None => ProvidedCredentials::new(credentials),
        })
    }
}

impl ProvideCredentials for RoleFetcher {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch())
    }
}

/// Unix seconds as a time, for positive values.
pub(crate) fn unix_time(seconds: i64) -> Option<SystemTime> {
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn metadata_endpoints_follow_the_loopback_rule() {
        let path = credentials_path!();
        for (endpoint, url) in [
            (
                "http://127.0.0.1:8080",
                format!("http://127.0.0.1:8080{path}"),
            ),
            ("http://localhost:9/", format!("http://localhost:9{path}")),
            ("http://[::1]:80", format!("http://[::1]:80{path}")),
            (
                "HTTPS://metadata.example.com",
                format!("https://metadata.example.com{path}"),
            ),
        ] {
            assert_eq!(credentials_url(endpoint).unwrap(), url, "{endpoint}");
        }
        for refused in [
            "http://10.0.0.1",
            "http://metadata.tencentyun.com",
            "ftp://127.0.0.1",
            "127.0.0.1:8080",
            "http://127.0.0.1/latest/",
            "http://127.0.0.1/?x=1",
            "http://user@127.0.0.1",
            "",
            "not a url",
        ] {
            let error = credentials_url(refused).unwrap_err();
            assert_eq!(
                error.kind(),
                super::super::CredentialsErrorKind::Invalid,
                "{refused}"
            );
        }
        assert_eq!(
            DEFAULT_METADATA_URL,
            format!("{DEFAULT_METADATA_ENDPOINT}{path}")
        );
    }

    #[test]
    fn the_variable_is_honoured_and_checked() {
        let env =
            |value: &'static str| EnvLookup::from_pairs([(METADATA_ENDPOINT_VARIABLE, value)]);
        assert!(CvmRoleCredentials::from_lookup(&env("http://127.0.0.1:1")).is_ok());
        assert!(
            CvmRoleCredentials::from_lookup(&env("  ")).is_ok(),
            "blank is unset"
        );
        let error = CvmRoleCredentials::from_lookup(&env("http://192.0.2.1")).unwrap_err();
        assert!(error.to_string().contains("loopback"), "{error}");
    }
}
