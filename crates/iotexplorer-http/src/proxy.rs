//! Which requests go through an HTTP proxy: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`
//! (either case) or settings given on the builder.

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Uri};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use crate::credentials::EnvLookup;
use crate::endpoint::is_loopback_host;
use crate::error::Error;

/// Proxy settings.
///
/// `https` targets are reached through an HTTP `CONNECT` tunnel, `http` targets by sending
/// the request in absolute form to the proxy. Credentials in a proxy URL
/// (`http://user:password@proxy:3128`) are sent as basic authentication, and never shown.
#[derive(Clone, Default)]
pub struct Proxy {
    http: String,
    https: String,
    no_proxy: String,
    from_env: bool,
    /// The environment variables `http` and `https` were read from, to name in a refusal.
    http_from: &'static str,
    https_from: &'static str,
}

impl Proxy {
    /// No proxy at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The process environment: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`,
    /// upper- or lower-case (`HTTP_PROXY` is ignored under CGI, where a request can set
    /// it). Loopback targets (the emulator) never go through a proxy found this way. This
    /// is the default. A variable that is set but holds no proxy URL the client can use
    /// makes [`ClientBuilder::build`](crate::ClientBuilder::build) fail, naming it, unless
    /// the service is on a loopback host.
    pub fn from_env() -> Self {
        Self::from_lookup(&EnvLookup::process())
    }

    /// Like [`Proxy::from_env`], reading variables through `env`. A proxy URL found this
    /// way that cannot be used (not `[http://][user:password@]host:port`) makes the
    /// client's `build()` fail naming its variable, rather than be passed over for a
    /// direct connection; for a service on a loopback host, which such a proxy never
    /// carries calls to, it is left aside.
    pub fn from_lookup(env: &EnvLookup) -> Self {
        // The first of `names` that is set and not empty, and its name.
        let first = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|name| {
                    env.get(name)
                        .filter(|value| !value.is_empty())
                        .map(|value| (value, *name))
                })
                .unwrap_or_default()
        };
        let all = first(&["ALL_PROXY", "all_proxy"]);
        let or_all = |found: (String, &'static str)| {
            if found.0.is_empty() {
                all.clone()
            } else {
                found
            }
        };
        // Under CGI, HTTP_PROXY can be set by a request header (httpoxy): ignore it there.
        let http = if env.get("REQUEST_METHOD").is_some() {
            Default::default()
        } else {
            first(&["HTTP_PROXY", "http_proxy"])
        };
        let (http, http_from) = or_all(http);
        let (https, https_from) = or_all(first(&["HTTPS_PROXY", "https_proxy"]));
        Self {
            http,
            https,
            no_proxy: first(&["NO_PROXY", "no_proxy"]).0,
            from_env: true,
            http_from,
            https_from,
        }
    }

    /// Every request through the proxy at `url` (`http://[user:password@]host:port`).
    pub fn all(url: &str) -> Result<Self, Error> {
        check_url(url)?;
        Ok(Self {
            http: url.to_owned(),
            https: url.to_owned(),
            ..Self::none()
        })
    }

    /// Only `https` requests through the proxy at `url`.
    pub fn https(url: &str) -> Result<Self, Error> {
        check_url(url)?;
        Ok(Self {
            https: url.to_owned(),
            ..Self::none()
        })
    }

    /// Only `http` requests through the proxy at `url`.
    pub fn http(url: &str) -> Result<Self, Error> {
        check_url(url)?;
        Ok(Self {
            http: url.to_owned(),
            ..Self::none()
        })
    }

    /// Hosts reached directly: a comma-separated list of names (a leading `.` or none
    /// matches subdomains too), IP addresses, CIDR ranges or `*`.
    #[must_use]
    pub fn with_no_proxy(mut self, list: &str) -> Self {
        self.no_proxy = list.to_owned();
        self
    }

    /// What a client of a service at `host` keeps: nothing of a proxy from the
    /// environment when `host` is loopback, since such a proxy never carries a call to a
    /// loopback host, and so a variable it cannot use is no reason to refuse the client.
    pub(crate) fn for_service_at(self, host: &str) -> Self {
        if self.from_env && is_loopback_host(host) {
            Self::none()
        } else {
            self
        }
    }

    /// Whether any proxy is configured.
    pub fn is_enabled(&self) -> bool {
        !self.http.is_empty() || !self.https.is_empty()
    }

    /// What the connector consults, or why a proxy from the environment cannot be used.
    pub(crate) fn matcher(&self) -> Result<Option<ProxyMatcher>, Error> {
        if !self.is_enabled() {
            return Ok(None);
        }
        if self.from_env {
            usable_from_env(&self.http, self.http_from)?;
            usable_from_env(&self.https, self.https_from)?;
        }
        let matcher = Matcher::builder()
            .http(self.http.clone())
            .https(self.https.clone())
            .no(self.no_proxy.clone())
            .build();
        Ok(Some(ProxyMatcher {
            matcher: Arc::new(matcher),
            bypass_loopback: self.from_env,
        }))
    }
}

/// Whether the proxy URL `value` of environment variable `name` can be used: the matcher
/// drops one it cannot read (and then connects directly), and the tunnel speaks only
/// HTTP to its proxy. An empty one is no proxy.
fn usable_from_env(value: &str, name: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Ok(());
    }
    let alone = Matcher::builder()
        .http(value.to_owned())
        .https(value.to_owned())
        .build();
    let probe = Uri::from_static("https://iotexplorer.tencentcloudapi.com/");
    match alone.intercept(&probe) {
        Some(intercept) if intercept.uri().scheme_str() == Some("http") => Ok(()),
        _ => Err(Error::Config(format!(
            "{name}={} is not a proxy URL this client can use ([http://][user:password@]host:port)",
            redact_url(value)
        ))),
    }
}

fn check_url(url: &str) -> Result<(), Error> {
    let parsed: Uri = url
        .parse()
        .map_err(|_| Error::Config(format!("invalid proxy URL {}", redact_url(url))))?;
    match (parsed.scheme_str(), parsed.host()) {
        (Some("http"), Some(_)) => Ok(()),
        _ => Err(Error::Config(format!(
            "proxy URL {} must be http://host:port",
            redact_url(url)
        ))),
    }
}

/// The URL with any `user:password@` replaced. Everything up to the last `@` goes, not
/// only the authority as a URL parser would find it: a password may hold a `/` that
/// would end the authority early.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match rest.rfind('@') {
        Some(at) => {
            let prefix = if scheme.is_empty() {
                String::new()
            } else {
                format!("{scheme}://")
            };
            format!("{prefix}***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("http", &redact_url(&self.http))
            .field("https", &redact_url(&self.https))
            .field("no_proxy", &self.no_proxy)
            .field("from_env", &self.from_env)
            .finish()
    }
}

/// The compiled form the connector consults for each connection.
#[derive(Clone)]
pub(crate) struct ProxyMatcher {
    matcher: Arc<Matcher>,
    bypass_loopback: bool,
}

impl ProxyMatcher {
    /// The proxy for `target`, if any.
    pub(crate) fn intercept(&self, target: &Uri) -> Option<Intercept> {
        if self.bypass_loopback && target.host().is_some_and(is_loopback_host) {
            return None;
        }
        self.matcher.intercept(target)
    }

    /// The `Proxy-Authorization` value to send with a plain-`http` request forwarded to a
    /// proxy (tunnels carry it in the `CONNECT` instead).
    pub(crate) fn forward_authorization(&self, target: &Uri) -> Option<HeaderValue> {
        if target.scheme_str() != Some("http") {
            return None;
        }
        self.intercept(target)
            .and_then(|intercept| intercept.basic_auth().cloned())
    }
}

impl fmt::Debug for ProxyMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProxyMatcher")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_proxy_urls_never_show() {
        let proxy = Proxy::all("http://user:s3cr3t@127.0.0.1:3128").unwrap_or_default();
        let shown = format!("{proxy:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("127.0.0.1:3128"));
        let refused = Proxy::all("socks5://user:s3cr3t@127.0.0.1:1080");
        assert!(matches!(&refused, Err(Error::Config(m)) if !m.contains("s3cr3t")));
        // A password with a slash, or a space, in it: the URL is malformed or refused,
        // and the message still hides the password.
        for url in [
            "https://user:pa/s3cr3t@proxy:3128",
            "ftp://user:s3/cr3t@proxy:21",
            "http://user:s3cr3t/x y@proxy:3128",
            "user:s3/cr3t@proxy:3128",
        ] {
            match Proxy::all(url) {
                Err(Error::Config(message)) => {
                    assert!(!message.contains("cr3t"), "{message}");
                    assert!(message.contains("proxy"), "{message}");
                }
                Ok(proxy) => {
                    let shown = format!("{proxy:?}");
                    assert!(!shown.contains("cr3t"), "{shown}");
                }
                Err(other) => panic!("{url}: {other}"),
            }
        }
    }

    #[test]
    fn a_proxy_from_the_environment_is_left_aside_only_for_a_loopback_service() {
        let env = EnvLookup::from_pairs([("HTTPS_PROXY", "not a url")]);
        for host in ["127.0.0.1", "localhost", "[::1]", "::1", "api.localhost"] {
            let kept = Proxy::from_lookup(&env).for_service_at(host);
            assert!(!kept.is_enabled(), "{host}");
        }
        let kept = Proxy::from_lookup(&env).for_service_at("iotexplorer.tencentcloudapi.com");
        assert!(
            kept.matcher().is_err(),
            "still refused for a remote service"
        );
        // One set in the program is kept, loopback or not: it was asked for.
        let explicit = Proxy::all("http://proxy.internal:3128").unwrap_or_default();
        assert!(explicit.clone().for_service_at("127.0.0.1").is_enabled());
        assert!(explicit.for_service_at("[::1]").is_enabled());
    }

    #[test]
    fn environment_names_and_loopback_bypass() {
        let env = EnvLookup::from_pairs([
            ("https_proxy", "http://127.0.0.1:1"),
            ("NO_PROXY", "internal.example"),
        ]);
        let matcher = Proxy::from_lookup(&env).matcher();
        let Ok(Some(matcher)) = matcher else {
            panic!("a proxy was configured");
        };
        let remote: Uri = "https://iotexplorer.tencentcloudapi.com/"
            .parse()
            .unwrap_or_default();
        assert!(matcher.intercept(&remote).is_some());
        let plain: Uri = "http://iotexplorer.tencentcloudapi.com/"
            .parse()
            .unwrap_or_default();
        assert!(matcher.intercept(&plain).is_none());
        let local: Uri = "https://127.0.0.1:9555/".parse().unwrap_or_default();
        assert!(matcher.intercept(&local).is_none());
        let excluded: Uri = "https://api.internal.example/".parse().unwrap_or_default();
        assert!(matcher.intercept(&excluded).is_none());
    }
}
