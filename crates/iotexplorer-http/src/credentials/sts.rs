//! Temporary credentials from STS `AssumeRole`, signed with other credentials.

use std::sync::Arc;
use std::time::Duration;

use iotexplorer_model::from_value_lenient;
use serde::Deserialize;
use serde_json::json;

use super::cvm::unix_time;
use super::{
    CachedCredentials, CredentialsError, CredentialsFuture, ProvideCredentials,
    ProvidedCredentials, from_parts, unreadable,
};
use crate::client::Client;
use crate::config::ClientBuilder;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::proxy::Proxy;
use crate::request::Call;

const PROVIDER: &str = "STS AssumeRole";
const SERVICE: &str = "sts";
const VERSION: &str = "2018-08-13";

/// Credentials of a role, obtained with STS `AssumeRole` (`sts.tencentcloudapi.com`,
/// version `2018-08-13`) and refreshed before they expire.
#[derive(Debug)]
pub struct StsAssumeRole {
    cache: CachedCredentials<AssumeRole>,
}

impl StsAssumeRole {
    /// Assumes `role_arn` under the session name `session_name`, signing the STS call with
    /// the credentials of `source`.
    pub fn builder(
        source: impl ProvideCredentials + 'static,
        role_arn: impl Into<String>,
        session_name: impl Into<String>,
    ) -> StsAssumeRoleBuilder {
        StsAssumeRoleBuilder {
            source: Arc::new(source),
            role_arn: role_arn.into(),
            session_name: session_name.into(),
            duration: Duration::from_secs(7200),
            endpoint: Endpoint::Global,
            region: "ap-guangzhou".to_owned(),
            proxy: Proxy::from_env(),
            refresh_margin: Duration::from_secs(300),
        }
    }
}

impl ProvideCredentials for StsAssumeRole {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        self.cache.provide_credentials()
    }
}

/// Settings of [`StsAssumeRole`].
#[derive(Debug)]
#[must_use]
pub struct StsAssumeRoleBuilder {
    source: Arc<dyn ProvideCredentials>,
    role_arn: String,
    session_name: String,
    duration: Duration,
    endpoint: Endpoint,
    region: String,
    proxy: Proxy,
    refresh_margin: Duration,
}

impl StsAssumeRoleBuilder {
    /// How long the credentials live (`DurationSeconds`, default 7200).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// The STS endpoint URL (default `https://sts.tencentcloudapi.com`).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Endpoint::Url(url.into());
        self
    }

    /// The region sent with the call (default `ap-guangzhou`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Proxy settings for the STS call (default: [`Proxy::from_env`]).
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Refreshes this long before expiry (default 5 minutes).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<StsAssumeRole, Error> {
        let mut builder = ClientBuilder::default();
        builder.service = SERVICE;
        let client = builder
            .endpoint(self.endpoint)
            .region(self.region)
            .proxy(self.proxy)
            .credentials(self.source)
            .rate_limit(None)
            .build()?;
        Ok(StsAssumeRole {
            cache: CachedCredentials::new(AssumeRole {
                client,
                role_arn: self.role_arn,
                session_name: self.session_name,
                duration: self.duration,
            })
            .with_refresh_margin(self.refresh_margin),
        })
    }
}

#[derive(Debug)]
struct AssumeRole {
    client: Client,
    role_arn: String,
    session_name: String,
    duration: Duration,
}

/// What STS answers to `AssumeRole` and `AssumeRoleWithWebIdentity`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AssumeRoleResponse {
    credentials: Option<StsCredentials>,
    expired_time: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    tmp_secret_id: Option<String>,
    tmp_secret_key: Option<String>,
    token: Option<String>,
}

impl AssumeRole {
    async fn fetch(&self) -> Result<ProvidedCredentials, CredentialsError> {
        let call = Call {
            service: SERVICE,
            version: VERSION,
            action: "AssumeRole",
            // Issuing credentials twice changes nothing: safe to retry.
            read_only: true,
        };
        let params = json!({
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": self.duration.as_secs(),
        });
        let response = self
            .client
            .send_raw(&call, &params)
            .await
            .map_err(|err| CredentialsError::unavailable(PROVIDER, failure(&err)))?;
        // The same lenient rules as every typed answer: STS sends numbers as strings too.
        let parsed: AssumeRoleResponse = from_value_lenient(response)
            .map_err(|err| CredentialsError::invalid(PROVIDER, unreadable("answer", &err)))?;
        issued(PROVIDER, parsed, "no Credentials in the answer")
    }
}

/// What a failed STS call is told as. An answer that is not HTTP 200 is told by its
/// status and RequestId only, without the excerpt of its body that [`Error::HttpStatus`]
/// shows: a gateway may pass the service's answer on under another status, and that
/// answer holds the keys just issued.
fn failure(err: &Error) -> String {
    match err {
        Error::HttpStatus {
            action,
            status,
            request_id,
            ..
        } => match request_id {
            Some(id) => format!("{action}: HTTP {status} (RequestId {id})"),
            None => format!("{action}: HTTP {status}"),
        },
        other => other.to_string(),
    }
}

/// The credentials an STS answer issued, expiring when it says; `missing` is the error
/// message for an answer without them.
pub(super) fn issued(
    provider: &'static str,
    parsed: AssumeRoleResponse,
    missing: &str,
) -> Result<ProvidedCredentials, CredentialsError> {
    let Some(issued) = parsed.credentials else {
        return Err(CredentialsError::invalid(provider, missing));
    };
    let credentials = from_parts(
        provider,
        issued.tmp_secret_id,
        issued.tmp_secret_key,
        issued.token,
    )?;
    Ok(match parsed.expired_time.and_then(unix_time) {
        Some(expires) => ProvidedCredentials::expiring(credentials, expires),
        None => ProvidedCredentials::new(credentials),
    })
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.fetch())
    }
}
