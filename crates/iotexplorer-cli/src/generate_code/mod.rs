//! `--generate-code LANG` on an action call: a complete program that makes exactly this
//! call, with the values given, and sends nothing itself.
//!
//! The values come from the same parsing as a real call and are checked against the same
//! rules first, so a program is only written for a call that would be sent. Credentials are
//! never written into a program: each reads them where its SDK does (the environment first).
//!
//! - `rust`: our crates, with the `Cargo.toml` lines the program needs;
//! - `python`, `node`, `go`, `java`: Tencent's official SDKs, as API Explorer writes them;
//! - `curl`: the signed request of `--dry-run` as a `curl` command (see [`curl`]).

mod curl;
mod literal;
mod rust;
mod sdk;

use std::io::Write;

use clap::{Arg, ArgAction, builder::PossibleValuesParser};
use iotexplorer_http::HttpMethod;
use iotexplorer_model::ActionMeta;
use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::settings::Connection;

/// The option that asks for a program instead of a call.
pub(crate) const GENERATE_CODE: &str = "generate-code";
/// With `--generate-code curl`: print the signature and token instead of masking them.
pub(crate) const REVEAL_AUTHORIZATION: &str = "reveal-authorization";

/// The languages `--generate-code` writes.
const LANGUAGES: [&str; 6] = ["rust", "python", "node", "go", "java", "curl"];

/// The host of the service's global endpoint, used when no `--endpoint` is given.
const DEFAULT_HOST: &str = iotexplorer_http::DEFAULT_HOST;

/// The options this module adds to every action subcommand.
pub(crate) fn args() -> [Arg; 2] {
    [
        Arg::new(GENERATE_CODE)
            .long(GENERATE_CODE)
            .value_name("LANG")
            .value_parser(PossibleValuesParser::new(LANGUAGES))
            .conflicts_with(crate::command::GENERATE_SKELETON)
            .help(
                "Print a complete program that makes this call (rust, python, node, go, java), \
                 or the signed request as a curl command; send nothing",
            ),
        Arg::new(REVEAL_AUTHORIZATION)
            .long(REVEAL_AUTHORIZATION)
            .action(ArgAction::SetTrue)
            .requires(GENERATE_CODE)
            .help(
                "With --generate-code curl: print the real signature and token (the command \
                 then makes this exact call for five minutes)",
            ),
    ]
}

/// What a program needs to know about the call besides its body.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub(crate) meta: &'static ActionMeta,
    /// The request members, checked, in the order given.
    pub(crate) body: &'a Map<String, Value>,
    /// Where the call goes; `None` for the service's global endpoint.
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) region: Option<String>,
    /// `zh-CN` or `en-US`, when given.
    pub(crate) language: Option<String>,
    /// The deadline of the whole call (`--timeout`).
    pub(crate) timeout_secs: Option<u64>,
    /// The deadline of each attempt (`--attempt-timeout`).
    pub(crate) attempt_timeout_secs: Option<u64>,
    /// Signs only `content-type;host` (`--signed-headers content-type;host`), as the
    /// official SDKs do; otherwise the client's default, which signs `X-TC-Action` too.
    pub(crate) sign_without_action: bool,
    /// Whether the call is sent as GET.
    pub(crate) get: bool,
    /// The credentials profile given with `--profile`.
    pub(crate) profile: Option<String>,
    /// Whether the call goes to the embedded emulator (`--emulator`).
    pub(crate) emulator: bool,
}

/// An endpoint given with `--endpoint`, already accepted by the client's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The URL as given.
    pub(crate) url: String,
    /// `http` or `https`.
    pub(crate) scheme: String,
    /// `host` or `host:port`, as the SDKs take it.
    pub(crate) authority: String,
}

impl Call<'_> {
    /// The endpoint's host (with its port) as the SDKs take it.
    pub(crate) fn sdk_endpoint(&self) -> &str {
        self.endpoint
            .as_ref()
            .map_or(DEFAULT_HOST, |endpoint| endpoint.authority.as_str())
    }

    /// Whether the SDKs must be told to use plain HTTP.
    pub(crate) fn plain_http(&self) -> bool {
        self.endpoint
            .as_ref()
            .is_some_and(|endpoint| endpoint.scheme == "http")
    }

    /// A comment line naming the action in both languages.
    pub(crate) fn title(&self) -> String {
        if self.meta.title_zh.is_empty() {
            self.meta.name.to_owned()
        } else {
            format!("{} ({})", self.meta.name, self.meta.title_zh)
        }
    }
}

/// Writes the program for `language`; `body` has passed the call's checks.
pub(crate) fn run(
    meta: &'static ActionMeta,
    body: &Value,
    language: &str,
    reveal: bool,
    connection: &Connection,
    stdout: &mut dyn Write,
) -> Result<u8, Failure> {
    let empty = Map::new();
    let members = body.as_object().unwrap_or(&empty);
    let call = call_of(meta, members, connection)?;
    if reveal && language != "curl" {
        return Err(Failure::Usage(
            "--reveal-authorization goes with --generate-code curl only".to_owned(),
        ));
    }
    if call.emulator && !matches!(language, "rust" | "curl") {
        return Err(Failure::Usage(format!(
            "--emulator runs the emulator inside this process, which a {language} program \
             cannot reach; start `iotexplorer emulator` and give its address with --endpoint"
        )));
    }
    let program = match language {
        "rust" => rust::program(&call)?,
        "python" => sdk::python(&call),
        "node" => sdk::node(&call),
        "go" => sdk::go(&call),
        "java" => sdk::java(&call),
        "curl" => curl::command(&call, reveal, connection)?,
        other => {
            return Err(Failure::Usage(format!(
                "--generate-code {other}: expected one of {}",
                LANGUAGES.join(", ")
            )));
        }
    };
    crate::output::write_out(stdout, &program)?;
    Ok(0)
}

/// The call's settings, checked by the client's own rules, so that a program is written
/// only for settings a call would accept.
fn call_of<'a>(
    meta: &'static ActionMeta,
    body: &'a Map<String, Value>,
    connection: &Connection,
) -> Result<Call<'a>, Failure> {
    // The emulator's address is known only once it runs: a program starts its own.
    let endpoint_url = connection.endpoint_url(None);
    // The same checks a call's client makes (endpoint URL and scheme, region), without
    // reading credentials or opening anything.
    let mut builder = iotexplorer_http::Client::builder().proxy(iotexplorer_http::Proxy::none());
    if let Some(url) = &endpoint_url {
        builder = builder.endpoint_url(url.clone());
    }
    if let Some(region) = &connection.region {
        builder = builder.region(region.clone());
    }
    builder
        .signed_headers(connection.signed_headers)
        .build()
        .map_err(|err| Failure::Usage(err.to_string()))?;
    let endpoint = endpoint_url.map(|url| parse_endpoint(&url)).transpose()?;
    let profile = &connection.profile;
    Ok(Call {
        meta,
        body,
        endpoint,
        region: connection.region.clone(),
        language: connection
            .language
            .map(|language| language.as_str().to_owned()),
        timeout_secs: connection.call_timeout.map(|timeout| timeout.as_secs()),
        attempt_timeout_secs: connection.attempt_timeout.map(|timeout| timeout.as_secs()),
        sign_without_action: !connection.signed_headers.signs_action(),
        get: connection.method == HttpMethod::Get,
        profile: profile.explicit.then(|| profile.name.clone()),
        emulator: connection.emulator,
    })
}

/// Splits an endpoint URL the client accepted into scheme and authority; the SDKs cannot
/// send to a path other than `/`.
fn parse_endpoint(url: &str) -> Result<Endpoint, Failure> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Failure::Usage(format!("endpoint {url:?} needs http:// or https://")))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if path != "/" {
        return Err(Failure::Usage(format!(
            "endpoint {url:?}: the official SDKs always send to the path `/`"
        )));
    }
    let scheme = scheme.to_ascii_lowercase();
    // The SDKs leave a default port out of the Host header, as the client does.
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_owned();
    Ok(Endpoint {
        url: url.to_owned(),
        scheme,
        authority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_into_scheme_and_authority() {
        let endpoint = parse_endpoint("http://127.0.0.1:9555").expect("valid");
        assert_eq!(endpoint.scheme, "http");
        assert_eq!(endpoint.authority, "127.0.0.1:9555");
        let endpoint = parse_endpoint("https://iotexplorer.tencentcloudapi.com:443/").expect("ok");
        assert_eq!(endpoint.authority, "iotexplorer.tencentcloudapi.com");
        assert!(parse_endpoint("https://example.com/v3").is_err());
        assert!(parse_endpoint("example.com").is_err());
    }
}
