//! Credentials from `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and
//! `TENCENTCLOUD_SESSION_TOKEN` (the SDKs' name) or `TENCENTCLOUD_TOKEN` (tccli's).

use std::fmt;
use std::sync::Arc;

use super::{
    CredentialsError, CredentialsFuture, ProvideCredentials, ProvidedCredentials, from_parts,
};

/// Reads a variable. The process environment by default; tests and embedders pass their
/// own, so nobody has to change the process environment (which is racy in threaded code).
#[derive(Clone)]
pub struct EnvLookup(Arc<LookupFn>);

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl EnvLookup {
    /// The process environment. A variable that is set is never taken as unset: one that
    /// is not UTF-8 reads with U+FFFD for its stray bytes, so that the check of its value
    /// refuses it (a garbled proxy or SecretId is then an error, not passed over).
    pub fn process() -> Self {
        Self(Arc::new(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        }))
    }

    /// Any function from a name to a value.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(lookup))
    }

    /// Fixed `(name, value)` pairs, nothing else.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Self::from_fn(move |name| {
            pairs
                .iter()
                .find(|(candidate, _)| candidate == name)
                .map(|(_, value)| value.clone())
        })
    }

    /// The value of `name`, when set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

impl Default for EnvLookup {
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for EnvLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvLookup")
    }
}

/// Credentials from the environment, read on every call. The session token is
/// `TENCENTCLOUD_SESSION_TOKEN`, or when that is unset or empty `TENCENTCLOUD_TOKEN`, the
/// name tccli reads, so that either tool's setup works for both.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentCredentials {
    env: EnvLookup,
}

impl EnvironmentCredentials {
    /// From the process environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// From the given lookup.
    pub fn from_lookup(env: EnvLookup) -> Self {
        Self { env }
    }

    pub(crate) fn load(&self) -> Result<ProvidedCredentials, CredentialsError> {
        let credentials = from_parts(
            "the environment",
            self.env.get("TENCENTCLOUD_SECRET_ID"),
            self.env.get("TENCENTCLOUD_SECRET_KEY"),
            self.env
                .get("TENCENTCLOUD_SESSION_TOKEN")
                .filter(|token| !token.trim().is_empty())
                .or_else(|| self.env.get("TENCENTCLOUD_TOKEN")),
        )?;
        Ok(ProvidedCredentials::new(credentials))
    }
}

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        let loaded = self.load();
        Box::pin(async move { loaded })
    }
}
