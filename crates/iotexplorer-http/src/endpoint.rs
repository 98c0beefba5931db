//! Where requests go: the global endpoint, the regional one, or any URL.

use std::net::IpAddr;

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::error::Error;

/// The global endpoint of the service.
pub const DEFAULT_HOST: &str = "iotexplorer.tencentcloudapi.com";

/// How the endpoint is chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `https://iotexplorer.tencentcloudapi.com`.
    #[default]
    Global,
    /// `https://iotexplorer.<region>.tencentcloudapi.com`, for the client's region.
    Regional,
    /// Any URL, for example the local emulator's `http://127.0.0.1:9555`.
    Url(String),
}

/// A resolved endpoint: what goes in the URI, the `Host` header and the signature.
#[derive(Clone, Debug)]
pub(crate) struct ResolvedEndpoint {
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    /// `Host` as sent and signed: the authority without a default port.
    pub(crate) host_header: String,
    pub(crate) path: String,
    /// The request URI without a query (every POST's), built once: a clone shares its
    /// bytes, where building it again would copy and parse them on every request.
    bare_uri: Uri,
}

impl ResolvedEndpoint {
    /// Resolves `endpoint` for `service` (its host prefix) and `region`.
    pub(crate) fn resolve(
        endpoint: &Endpoint,
        service: &str,
        region: Option<&str>,
        allow_insecure_http: bool,
    ) -> Result<Self, Error> {
        let url = match endpoint {
            Endpoint::Global => format!("https://{service}.tencentcloudapi.com/"),
            Endpoint::Regional => {
                let region = region.filter(|r| !r.is_empty()).ok_or_else(|| {
                    Error::Config("a regional endpoint needs a region".to_owned())
                })?;
                if !region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(Error::Config(format!("invalid region {region:?}")));
                }
                format!("https://{service}.{region}.tencentcloudapi.com/")
            }
            Endpoint::Url(url) => url.clone(),
        };
        Self::parse(&url, allow_insecure_http)
    }

    fn parse(url: &str, allow_insecure_http: bool) -> Result<Self, Error> {
        // Looked for in the whole text, before it is parsed or quoted: a password holding
        // a `/` or a space ends the authority early or breaks the URL, and would then be
        // quoted in the error, or taken for a host, port and path.
        if url.contains('@') {
            return Err(Error::Config(
                "endpoint URLs cannot carry credentials".to_owned(),
            ));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::Config(format!("invalid endpoint URL {url:?}")))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| Error::Config(format!("endpoint {url:?} needs http:// or https://")))?;
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| Error::Config(format!("endpoint {url:?} has no host")))?;
        if uri.query().is_some() {
            return Err(Error::Config(format!(
                "endpoint {url:?} cannot have a query"
            )));
        }
        let default_port = if scheme == Scheme::HTTPS {
            443
        } else if scheme == Scheme::HTTP {
            if !allow_insecure_http && !is_loopback_host(authority.host()) {
                return Err(Error::Config(format!(
                    "plain http:// is only allowed for loopback hosts unless explicitly \
                     allowed: {url:?}"
                )));
            }
            80
        } else {
            return Err(Error::Config(format!(
                "endpoint {url:?} must be http:// or https://"
            )));
        };
        let host_header = match authority.port_u16() {
            Some(port) if port != default_port => authority.as_str().to_owned(),
            _ => authority.host().to_owned(),
        };
        let path = match uri.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        };
        let bare_uri = Self::build_uri(&scheme, &authority, path.clone())?;
        Ok(Self {
            scheme,
            authority,
            host_header,
            path,
            bare_uri,
        })
    }

    /// The request URI, with `query` when not empty.
    pub(crate) fn uri(&self, query: &str) -> Result<Uri, Error> {
        if query.is_empty() {
            return Ok(self.bare_uri.clone());
        }
        Self::build_uri(
            &self.scheme,
            &self.authority,
            format!("{}?{query}", self.path),
        )
    }

    fn build_uri(
        scheme: &Scheme,
        authority: &Authority,
        path_and_query: String,
    ) -> Result<Uri, Error> {
        Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|err| Error::Config(format!("cannot build the request URI: {err}")))
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resolve(endpoint: &Endpoint, insecure: bool) -> Result<ResolvedEndpoint, Error> {
        ResolvedEndpoint::resolve(endpoint, "iotexplorer", Some("ap-guangzhou"), insecure)
    }

    #[test]
    fn default_regional_and_explicit() {
        let global = resolve(&Endpoint::Global, false).ok();
        assert_eq!(
            global.map(|e| e.host_header),
            Some("iotexplorer.tencentcloudapi.com".to_owned())
        );
        let regional = resolve(&Endpoint::Regional, false).ok();
        assert_eq!(
            regional.map(|e| e.host_header),
            Some("iotexplorer.ap-guangzhou.tencentcloudapi.com".to_owned())
        );
        let local = resolve(&Endpoint::Url("http://127.0.0.1:9555".into()), false).ok();
        assert_eq!(
            local.map(|e| e.host_header),
            Some("127.0.0.1:9555".to_owned())
        );
        let default_port = resolve(&Endpoint::Url("https://example.com:443/".into()), false).ok();
        assert_eq!(
            default_port.map(|e| e.host_header),
            Some("example.com".to_owned())
        );
    }

    #[test]
    fn plain_http_needs_loopback_or_consent() {
        for url in ["http://localhost:1", "http://[::1]:1/", "http://127.9.9.9"] {
            assert!(resolve(&Endpoint::Url(url.into()), false).is_ok(), "{url}");
        }
        let remote = Endpoint::Url("http://emulator.example:9555".into());
        assert!(matches!(resolve(&remote, false), Err(Error::Config(_))));
        assert!(resolve(&remote, true).is_ok());
        assert!(resolve(&Endpoint::Url("ftp://x".into()), true).is_err());
        assert!(resolve(&Endpoint::Url("https://u:p@x".into()), true).is_err());
    }
}
