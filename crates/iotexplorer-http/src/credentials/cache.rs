//! Caching temporary credentials and refreshing them before they expire, with a single
//! refresh shared by every caller waiting at that moment.

use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use super::{CredentialsFuture, ProvideCredentials, ProvidedCredentials};

/// Wraps a provider of temporary credentials: answers from a cache until shortly before
/// expiry, then asks the provider again.
///
/// Callers that arrive while a refresh is running wait for it and share its result, so
/// many concurrent calls cause one request to the source. If a refresh fails while the
/// cached credentials are still valid, those are used.
#[derive(Debug)]
pub struct CachedCredentials<P> {
    inner: P,
    margin: Duration,
    state: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    provided: ProvidedCredentials,
    refresh_at: Option<SystemTime>,
}

impl<P: ProvideCredentials> CachedCredentials<P> {
    /// Caches `inner`, refreshing 5 minutes before expiry (or half-way through the
    /// lifetime, for credentials that live less than 10 minutes).
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            margin: Duration::from_secs(300),
            state: Mutex::new(None),
        }
    }

    /// Refreshes this long before expiry (at most half-way through the lifetime).
    #[must_use]
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Forgets the cached credentials, so that the next call asks the provider.
    pub async fn invalidate(&self) {
        *self.state.lock().await = None;
    }

    async fn get(&self) -> Result<ProvidedCredentials, super::CredentialsError> {
        let mut state = self.state.lock().await;
        let now = SystemTime::now();
        if let Some(cached) = state.as_ref()
            && cached.refresh_at.is_none_or(|at| now < at)
        {
            return Ok(cached.provided.clone());
        }
        match self.inner.provide_credentials().await {
            Ok(provided) => {
                let refresh_at = provided.expires_at().map(|expires| {
                    let lifetime = expires.duration_since(now).unwrap_or_default();
                    expires - self.margin.min(lifetime / 2)
                });
                *state = Some(Cached {
                    provided: provided.clone(),
                    refresh_at,
                });
                Ok(provided)
            }
            Err(err) => match state.as_ref() {
                Some(cached) if cached.provided.expires_at().is_some_and(|at| now < at) => {
                    Ok(cached.provided.clone())
                }
                _ => Err(err),
            },
        }
    }
}

impl<P: ProvideCredentials> ProvideCredentials for CachedCredentials<P> {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.get())
    }
}

impl<P> CachedCredentials<P> {
    /// How long before expiry credentials are refreshed.
    pub fn refresh_margin(&self) -> Duration {
        self.margin
    }

    /// The wrapped provider, dropping the cache.
    pub fn into_inner(self) -> P {
        self.inner
    }
}
