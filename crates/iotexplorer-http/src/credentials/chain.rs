//! The default chain: environment, then profile file, then CVM instance role, then the
//! TKE OIDC role.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{
    CredentialsError, CredentialsErrorKind, CredentialsFuture, CvmRoleCredentials, EnvLookup,
    EnvironmentCredentials, ProfileCredentials, ProvideCredentials, ProvidedCredentials,
    TkeOidcRoleCredentials,
};

/// Tries the environment, the profile file, the CVM instance role and the TKE OIDC role
/// (STS `AssumeRoleWithWebIdentity` with the pod's token), in that order, as the official
/// SDKs do. The first source that has credentials is kept for later calls.
///
/// The CVM role reads the instance's metadata service, or the one
/// [`METADATA_ENDPOINT_VARIABLE`](super::METADATA_ENDPOINT_VARIABLE) names in the chain's
/// environment (an address that breaks [`CvmRoleCredentialsBuilder::metadata_endpoint`]'s
/// rule stops the chain there, with the reason).
///
/// [`CvmRoleCredentialsBuilder::metadata_endpoint`]: super::CvmRoleCredentialsBuilder::metadata_endpoint
///
/// A source that has nothing is skipped; one that has something broken (a SecretId
/// without its SecretKey, say) stops the search, so a mistake is reported rather than
/// hidden by a later source.
#[derive(Debug)]
pub struct DefaultCredentialsChain {
    providers: Vec<Arc<dyn ProvideCredentials>>,
    chosen: OnceCell<Arc<dyn ProvideCredentials>>,
}

impl Default for DefaultCredentialsChain {
    fn default() -> Self {
        Self::new()
    }
}

impl DefaultCredentialsChain {
    /// The chain over the process environment, the usual files and the real metadata service.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Settings of the chain's sources.
    pub fn builder() -> DefaultCredentialsChainBuilder {
        DefaultCredentialsChainBuilder {
            env: EnvLookup::process(),
            profile: None,
            profile_path: None,
            profile_fallback: None,
            metadata_url: None,
            sts_endpoint_url: None,
        }
    }

    async fn get(&self) -> Result<ProvidedCredentials, CredentialsError> {
        if let Some(chosen) = self.chosen.get() {
            return chosen.provide_credentials().await;
        }
        let mut reasons = Vec::new();
        for provider in &self.providers {
            match provider.provide_credentials().await {
                Ok(provided) => {
                    // Concurrent first calls may both get here; either choice is right.
                    let _ = self.chosen.set(Arc::clone(provider));
                    return Ok(provided);
                }
                Err(err) if err.kind() == CredentialsErrorKind::NotFound => {
                    reasons.push(err.to_string());
                }
                Err(err) => return Err(err),
            }
        }
        Err(CredentialsError::not_found(
            "the default chain",
            format!("none found ({})", reasons.join("; ")),
        ))
    }
}

impl ProvideCredentials for DefaultCredentialsChain {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.get())
    }
}

/// Settings of [`DefaultCredentialsChain`].
#[derive(Debug)]
#[must_use]
pub struct DefaultCredentialsChainBuilder {
    env: EnvLookup,
    profile: Option<String>,
    profile_path: Option<PathBuf>,
    profile_fallback: Option<PathBuf>,
    metadata_url: Option<String>,
    sts_endpoint_url: Option<String>,
}

impl DefaultCredentialsChainBuilder {
    /// Reads variables (credentials, `TENCENTCLOUD_CREDENTIALS_FILE`, `HOME`,
    /// `TENCENTCLOUD_CVM_METADATA_ENDPOINT`, `TKE_*`) through `env`.
    pub fn env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    /// Uses this profile section instead of `[default]`.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Reads this profile file and no other.
    pub fn profile_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.profile_path = Some(path.into());
        self
    }

    /// Replaces the last-resort profile file (`/etc/tencentcloud/credentials`).
    pub fn profile_fallback_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.profile_fallback = Some(path.into());
        self
    }

    /// Reads the CVM role from this metadata URL (ending in `/security-credentials/`)
    /// instead of the one [`METADATA_ENDPOINT_VARIABLE`](super::METADATA_ENDPOINT_VARIABLE)
    /// names, or else the real service.
    pub fn metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_url = Some(url.into());
        self
    }

    /// Sends the TKE OIDC role's STS call to this URL instead of
    /// `https://sts.tencentcloudapi.com`.
    pub fn sts_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint_url = Some(url.into());
        self
    }

    /// The chain.
    pub fn build(self) -> DefaultCredentialsChain {
        let mut profile = ProfileCredentials::from_lookup(self.env.clone());
        if let Some(name) = self.profile {
            profile = profile.with_profile(name);
        }
        if let Some(path) = self.profile_path {
            profile = profile.with_path(path);
        }
        if let Some(path) = self.profile_fallback {
            profile = profile.with_fallback_path(path);
        }
        let cvm: Arc<dyn ProvideCredentials> = match self.metadata_url {
            Some(url) => Arc::new(CvmRoleCredentials::with_metadata_url(url)),
            None => match CvmRoleCredentials::from_lookup(&self.env) {
                Ok(cvm) => Arc::new(cvm),
                // A wrong address stops the chain when it gets there, with the reason.
                Err(error) => Arc::new(Misconfigured(error)),
            },
        };
        let mut tke = TkeOidcRoleCredentials::from_lookup(self.env.clone());
        if let Some(url) = self.sts_endpoint_url {
            tke = tke.with_endpoint_url(url);
        }
        DefaultCredentialsChain {
            providers: vec![
                Arc::new(EnvironmentCredentials::from_lookup(self.env)),
                Arc::new(profile),
                cvm,
                Arc::new(tke),
            ],
            chosen: OnceCell::new(),
        }
    }
}

/// A source whose settings are wrong: every request for credentials gets the reason.
#[derive(Debug)]
struct Misconfigured(CredentialsError);

impl ProvideCredentials for Misconfigured {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let error = self.0.clone();
        Box::pin(async move { Err(error) })
    }
}
