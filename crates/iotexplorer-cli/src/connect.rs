//! From the global options to a ready client: endpoint, credentials, region, timeouts,
//! and with `--emulator` an emulator started in-process for the client to talk to.

use std::collections::HashMap;
use std::time::Duration;

use clap::ArgMatches;
use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture, RunningEmulator};
use iotexplorer_http::credentials::{DefaultCredentialsChain, EnvLookup};
use iotexplorer_http::{Client, HttpMethod, Language, Proxy, SignedHeaderSet, StaticCredentials};

use crate::command::{ATTEMPT_TIMEOUT, SIGNED_HEADERS};
use crate::failure::Failure;

/// The region used with `--emulator` when none is given (the emulator requires one).
const EMULATOR_REGION: &str = "ap-guangzhou";

/// Environment variables the client may read; they are copied once so the client does
/// not depend on the process environment (and tests can give their own).
const ENVIRONMENT: &[&str] = &[
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "TENCENTCLOUD_CREDENTIALS_FILE",
    "TENCENTCLOUD_REGION",
    "HOME",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A client, and the emulator it talks to when `--emulator` was given.
pub(crate) struct Session {
    pub(crate) client: Client,
    emulator: Option<RunningEmulator>,
}

impl Session {
    /// Builds the client the global options describe.
    pub(crate) async fn open(
        matches: &ArgMatches,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Session, Failure> {
        let text = |name: &str| matches.get_one::<String>(name).cloned();
        let snapshot: HashMap<String, String> = ENVIRONMENT
            .iter()
            .filter_map(|name| env(name).map(|value| ((*name).to_owned(), value)))
            .collect();
        let lookup = EnvLookup::from_pairs(snapshot.clone());

        let emulator = if matches.get_flag("emulator") {
            let running = Emulator::builder()
                .fixture(Fixture::demo())
                .start("127.0.0.1:0")
                .await
                .map_err(|err| Failure::Transport(format!("cannot start the emulator: {err}")))?;
            Some(running)
        } else {
            None
        };

        let mut builder = Client::builder().proxy(Proxy::from_lookup(&lookup));
        let endpoint = text("endpoint").or_else(|| emulator.as_ref().map(|e| e.url().to_owned()));
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        let region = text("region")
            .or_else(|| snapshot.get("TENCENTCLOUD_REGION").cloned())
            .or_else(|| emulator.as_ref().map(|_| EMULATOR_REGION.to_owned()));
        if let Some(region) = region {
            builder = builder.region(region);
        }
        builder = match (text("secretId"), text("secretKey")) {
            (Some(id), Some(key)) => {
                let credentials = StaticCredentials::new(id, key);
                match text("token") {
                    Some(token) => builder.credentials(credentials.with_token(token)),
                    None => builder.credentials(credentials),
                }
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Failure::Usage(
                    "--secretId and --secretKey go together".to_owned(),
                ));
            }
            (None, None) if emulator.is_some() => {
                builder.credentials(StaticCredentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY))
            }
            (None, None) => {
                let mut chain = DefaultCredentialsChain::builder().env(lookup);
                if let Some(profile) = text("profile") {
                    chain = chain.profile(profile);
                }
                builder.credentials(chain.build())
            }
        };
        if let Some(language) = text("language") {
            builder = builder.language(if language == "zh-CN" {
                Language::ZhCn
            } else {
                Language::EnUs
            });
        }
        if let Some(seconds) = matches.get_one::<u64>("timeout") {
            builder = builder.call_timeout(Duration::from_secs(*seconds));
        }
        if let Some(seconds) = matches.get_one::<u64>(ATTEMPT_TIMEOUT) {
            builder = builder.request_timeout(Duration::from_secs(*seconds));
        }
        builder = builder.signed_headers(signed_headers(matches)?);
        if text("method").as_deref() == Some("GET") {
            builder = builder.method(HttpMethod::Get);
        }
        let client = builder
            .build()
            .map_err(|err| Failure::Usage(err.to_string()))?;
        Ok(Session { client, emulator })
    }

    /// Stops the emulator, if one was started.
    pub(crate) async fn close(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// The signed-header list of `--signed-headers`, or the client's default.
pub(crate) fn signed_headers(matches: &ArgMatches) -> Result<SignedHeaderSet, Failure> {
    matches
        .get_one::<String>(SIGNED_HEADERS)
        .map_or(Ok(SignedHeaderSet::default()), |list| {
            list.parse()
                .map_err(|err: iotexplorer_http::Error| Failure::Usage(err.to_string()))
        })
}

/// How a client error ends the run: API errors exit 1, anything that was refused before
/// sending exits 2, everything else (credentials, network, TLS, timeouts) exits 3. A
/// call whose outcome is unknown also exits 3, and its message says that the request may
/// have been processed and must be checked before it is sent again.
pub(crate) fn failure_of(error: iotexplorer_http::Error) -> Failure {
    use iotexplorer_http::Error as E;
    match error {
        E::Api {
            code,
            message,
            request_id,
            ..
        } => Failure::Api {
            code: code.as_str().to_owned(),
            message,
            request_id,
        },
        E::Validation { .. } | E::UnknownAction { .. } => Failure::Usage(error.to_string()),
        other => {
            let mut message = other.to_string();
            if other.is_ambiguous() {
                message.push_str(
                    "\nCheck its effect before sending it again (for BatchUpdateFirmware, look \
                     for the task with DescribeFirmwareTasks).",
                );
            }
            Failure::Transport(message)
        }
    }
}
