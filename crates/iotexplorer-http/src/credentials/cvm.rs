//! Credentials of the CVM instance's role, from the instance metadata service.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::Full;
use serde::Deserialize;

use super::{
    CachedCredentials, CredentialsError, CredentialsFuture, ProvideCredentials,
    ProvidedCredentials, from_parts,
};
use crate::proxy::Proxy;
use crate::transport::{Transport, TransportConfig, TransportError};

const PROVIDER: &str = "the CVM role";

/// The metadata path of role credentials on a CVM instance.
pub const DEFAULT_METADATA_URL: &str =
    "http://metadata.tencentyun.com/latest/meta-data/cam/security-credentials/";

/// Temporary credentials of the CVM instance role: `GET <base>` names the role,
/// `GET <base><role>` gives `TmpSecretId`, `TmpSecretKey`, `Token` and `ExpiredTime`.
/// Cached and refreshed before they expire.
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

    /// Reads the metadata service at `base` (ending in `/security-credentials/`), e.g. a
    /// local test server.
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
            CredentialsError::invalid(PROVIDER, format!("invalid metadata URL {url:?}"))
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
                TransportError::AfterSend { message, .. } => {
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
            CredentialsError::invalid(PROVIDER, format!("unreadable role credentials: {err}"))
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
