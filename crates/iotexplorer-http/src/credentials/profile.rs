//! Credentials from an INI profile file: `[default]` or a named section with `secret_id`,
//! `secret_key` and an optional `token`.

use std::path::PathBuf;

use tokio::sync::OnceCell;

use super::{
    CredentialsError, CredentialsFuture, EnvLookup, ProvideCredentials, ProvidedCredentials,
    from_parts, read_bounded, unreadable_file,
};

const PROVIDER: &str = "the profile file";
/// A profile file larger than this holds no credentials a person wrote.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Credentials from the first profile file found, read once.
///
/// The file is, in order: the path given with [`ProfileCredentials::with_path`];
/// `TENCENTCLOUD_CREDENTIALS_FILE`; `$HOME/.tencentcloud/credentials`;
/// `/etc/tencentcloud/credentials`.
#[derive(Debug)]
pub struct ProfileCredentials {
    env: EnvLookup,
    path: Option<PathBuf>,
    fallback: PathBuf,
    profile: String,
    loaded: OnceCell<ProvidedCredentials>,
}

impl Default for ProfileCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl ProfileCredentials {
    /// The `default` profile of the usual files, located through the process environment.
    pub fn new() -> Self {
        Self::from_lookup(EnvLookup::process())
    }

    /// The `default` profile of the usual files, located through `env`.
    pub fn from_lookup(env: EnvLookup) -> Self {
        Self {
            env,
            path: None,
            fallback: PathBuf::from("/etc/tencentcloud/credentials"),
            profile: "default".to_owned(),
            loaded: OnceCell::new(),
        }
    }

    /// Reads this file and no other.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Replaces the last-resort file (`/etc/tencentcloud/credentials`).
    #[must_use]
    pub fn with_fallback_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.fallback = path.into();
        self
    }

    /// Uses the section `[name]` instead of `[default]`.
    #[must_use]
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.profile = name.into();
        self
    }

    fn candidates(&self) -> Vec<PathBuf> {
        if let Some(path) = &self.path {
            return vec![path.clone()];
        }
        if let Some(path) = self.env.get("TENCENTCLOUD_CREDENTIALS_FILE")
            && !path.is_empty()
        {
            return vec![PathBuf::from(path)];
        }
        let mut candidates = Vec::with_capacity(2);
        if let Some(home) = self.env.get("HOME").filter(|home| !home.is_empty()) {
            candidates.push(
                PathBuf::from(home)
                    .join(".tencentcloud")
                    .join("credentials"),
            );
        }
        candidates.push(self.fallback.clone());
        candidates
    }

    async fn load(&self) -> Result<ProvidedCredentials, CredentialsError> {
        for path in self.candidates() {
            let read = {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_bounded(&path, MAX_FILE_BYTES)).await
            };
            let text = match read {
                Ok(Ok(text)) => text,
                Ok(Err(err)) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Ok(Err(err)) => {
                    return Err(unreadable_file(PROVIDER, &path.display().to_string(), &err));
                }
                Err(err) => {
                    return Err(CredentialsError::unavailable(
                        PROVIDER,
                        format!("reading {} ended early: {err}", path.display()),
                    ));
                }
            };
            let Some(section) = parse_section(&text, &self.profile) else {
                return Err(CredentialsError::not_found(
                    PROVIDER,
                    format!("{} has no [{}] section", path.display(), self.profile),
                ));
            };
            let take = |key: &str| {
                section
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, value)| value.clone())
            };
            let credentials = from_parts(
                PROVIDER,
                take("secret_id"),
                take("secret_key"),
                take("token"),
            )
            .map_err(|err| {
                CredentialsError::new(
                    PROVIDER,
                    err.kind(),
                    format!("[{}] in {}: incomplete", self.profile, path.display()),
                )
            })?;
            return Ok(ProvidedCredentials::new(credentials));
        }
        Err(CredentialsError::not_found(PROVIDER, "no profile file"))
    }
}

impl ProvideCredentials for ProfileCredentials {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(async move { self.loaded.get_or_try_init(|| self.load()).await.cloned() })
    }
}

/// The `key = value` pairs of section `[name]`; `None` when there is no such section.
/// Comments start with `#` or `;`; keys are matched without regard to case.
fn parse_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut found = false;
    let mut pairs = Vec::new();
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            in_section = header.trim() == name;
            found |= in_section;
            continue;
        }
        if in_section && let Some((key, value)) = line.split_once('=') {
            pairs.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    found.then_some(pairs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn named_sections_comments_and_spacing() {
        let text = "# comment\n[default]\nsecret_id = AKIDdefault\nsecret_key=k1\n\n[prod]\n; other\n SECRET_ID = AKIDprod \nsecret_key = k2\ntoken = t\n";
        let prod = parse_section(text, "prod").unwrap_or_default();
        assert_eq!(
            prod,
            [
                ("secret_id".to_owned(), "AKIDprod".to_owned()),
                ("secret_key".to_owned(), "k2".to_owned()),
                ("token".to_owned(), "t".to_owned()),
            ]
        );
        assert_eq!(parse_section(text, "default").map(|s| s.len()), Some(2));
        assert_eq!(parse_section(text, "missing"), None);
    }
}
