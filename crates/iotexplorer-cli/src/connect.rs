//! From the global options to a ready client: endpoint, credentials, region, timeouts,
//! and with `--emulator` an emulator started in-process for the client to talk to.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;
use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture, RunningEmulator};
use iotexplorer_http::credentials::{
    CvmRoleCredentials, DefaultCredentialsChain, EnvLookup, EnvironmentCredentials, StsAssumeRole,
    TKE_VARIABLES, TkeOidcRoleCredentials,
};
use iotexplorer_http::{
    Client, HttpMethod, Language, ProvideCredentials, Proxy, SignedHeaderSet, StaticCredentials,
};

use crate::command::{
    ATTEMPT_TIMEOUT, HTTPS_PROXY, ROLE_ARN, ROLE_SESSION_NAME, SIGNED_HEADERS, USE_CVM_ROLE,
};
use crate::failure::Failure;
use crate::tccli_config::{self, CredentialFile, TccliProfile};

/// The region used with `--emulator` when none is given (the emulator requires one).
pub(crate) const EMULATOR_REGION: &str = "ap-guangzhou";

/// Environment variables the client may read; they are copied once so the client does
/// not depend on the process environment (and tests can give their own).
const ENVIRONMENT: &[&str] = &[
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "TENCENTCLOUD_TOKEN",
    "TENCENTCLOUD_ROLE_ARN",
    "TENCENTCLOUD_ROLE_SESSION_NAME",
    "TKE_REGION",
    "TKE_PROVIDER_ID",
    "TKE_WEB_IDENTITY_TOKEN_FILE",
    "TKE_ROLE_ARN",
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
    /// Builds the client the global options and the tccli profile they name describe.
    pub(crate) async fn open(
        matches: &ArgMatches,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Session, Failure> {
        let profile = TccliProfile::load(
            matches.get_one::<String>("profile").map(String::as_str),
            env,
        )?;
        Self::open_with(matches, env, &profile).await
    }

    /// Builds the client the global options and the tccli profile describe.
    pub(crate) async fn open_with(
        matches: &ArgMatches,
        env: &dyn Fn(&str) -> Option<String>,
        profile: &TccliProfile,
    ) -> Result<Session, Failure> {
        let text = |name: &str| matches.get_one::<String>(name).cloned();
        let snapshot: HashMap<String, String> = ENVIRONMENT
            .iter()
            .filter_map(|name| env(name).map(|value| ((*name).to_owned(), value)))
            .collect();
        let lookup = EnvLookup::from_pairs(snapshot.clone());
        // As in tccli, a profile named with --profile is used as it is: the credential and
        // region variables are for runs that name none.
        let variable = |name: &str| {
            (!profile.explicit)
                .then(|| {
                    snapshot
                        .get(name)
                        .filter(|value| !value.is_empty())
                        .cloned()
                })
                .flatten()
        };
        let configure = &profile.configure;

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

        let proxy = match text(HTTPS_PROXY) {
            Some(url) => Proxy::https(&url)
                .map_err(|err| Failure::Usage(format!("--{HTTPS_PROXY}: {err}")))?,
            None => Proxy::from_lookup(&lookup),
        };
        let mut builder = Client::builder().proxy(proxy.clone());
        let endpoint = text("endpoint")
            .map(|url| tccli_config::endpoint_url(&url))
            .or_else(|| emulator.as_ref().map(|e| e.url().to_owned()))
            .or_else(|| {
                configure
                    .endpoint
                    .as_deref()
                    .map(tccli_config::endpoint_url)
            });
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        let region = text("region")
            .or_else(|| variable("TENCENTCLOUD_REGION"))
            .or_else(|| configure.region.clone())
            .or_else(|| emulator.as_ref().map(|_| EMULATOR_REGION.to_owned()));
        if let Some(region) = &region {
            builder = builder.region(region.clone());
        }
        let sources = CredentialSources {
            matches,
            profile,
            lookup: &lookup,
            variable: &variable,
            proxy: &proxy,
            sts_endpoint: configure
                .sts_endpoint
                .as_deref()
                .map(tccli_config::endpoint_url),
            region: region.as_deref(),
        };
        builder = if let Some(provider) = sources.choose(emulator.is_some())? {
            builder.credentials(provider)
        } else {
            builder.credentials(StaticCredentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY))
        };
        if let Some(language) = text("language").or_else(|| configure.language.clone()) {
            builder = builder.language(match language.as_str() {
                "zh-CN" => Language::ZhCn,
                "en-US" => Language::EnUs,
                other => {
                    return Err(Failure::Usage(format!(
                        "language {other:?} is not zh-CN or en-US"
                    )));
                }
            });
        }
        if let Some(seconds) = matches.get_one::<u64>("timeout") {
            builder = builder.call_timeout(Duration::from_secs(*seconds));
        }
        if let Some(seconds) = matches.get_one::<u64>(ATTEMPT_TIMEOUT) {
            builder = builder.request_timeout(Duration::from_secs(*seconds));
        }
        builder = builder.signed_headers(signed_headers(matches)?);
        if let Some(name) =
            text(crate::command::REQUEST_CLIENT).or_else(|| configure.request_client.clone())
        {
            builder = builder.request_client(name);
        }
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

/// Everything the choice of credentials depends on.
struct CredentialSources<'a> {
    matches: &'a ArgMatches,
    profile: &'a TccliProfile,
    lookup: &'a EnvLookup,
    variable: &'a dyn Fn(&str) -> Option<String>,
    proxy: &'a Proxy,
    sts_endpoint: Option<String>,
    region: Option<&'a str>,
}

type Provider = Arc<dyn ProvideCredentials>;

impl CredentialSources<'_> {
    fn flag(&self, name: &str) -> Option<String> {
        self.matches.get_one::<String>(name).cloned()
    }

    /// The credentials to sign with, in tccli's order: `--use-cvm-role`; a role to
    /// assume (`--role-arn` and `--role-session-name`, their variables, or the profile's);
    /// the TKE OIDC role when its variables are set; then the keys of `--secretId` and
    /// `--secretKey`, the variables, or the profile's credential file (or its CVM role),
    /// and last the SDKs' chain. `None` with `--emulator` and nothing given: the demo keys.
    fn choose(&self, emulator: bool) -> Result<Option<Provider>, Failure> {
        let keys = self.keys()?;
        if self.matches.get_flag(USE_CVM_ROLE) {
            return Ok(Some(Arc::new(CvmRoleCredentials::new())));
        }
        if let Some((arn, session)) = self.role()? {
            let source: Provider = match keys {
                Some(keys) => keys,
                None => Arc::new(self.chain()),
            };
            let mut role = StsAssumeRole::builder(source, arn, session).proxy(self.proxy.clone());
            if let Some(url) = &self.sts_endpoint {
                role = role.endpoint_url(url.clone());
            }
            if let Some(region) = self.region {
                role = role.region(region);
            }
            let role = role
                .build()
                .map_err(|err| Failure::Usage(format!("--{ROLE_ARN}: {err}")))?;
            return Ok(Some(Arc::new(role)));
        }
        let explicit_keys = self.flag("secretId").is_some();
        if !explicit_keys && tke_configured(|name| self.lookup.get(name)) {
            let mut tke = TkeOidcRoleCredentials::from_lookup(self.lookup.clone())
                .with_proxy(self.proxy.clone());
            if let Some(url) = &self.sts_endpoint {
                tke = tke.with_endpoint_url(url.clone());
            }
            return Ok(Some(Arc::new(tke)));
        }
        if let Some(keys) = keys {
            return Ok(Some(keys));
        }
        if self
            .profile
            .credential
            .as_ref()
            .is_some_and(CredentialFile::is_cvm_role)
        {
            return Ok(Some(Arc::new(CvmRoleCredentials::new())));
        }
        if emulator {
            return Ok(None);
        }
        Ok(Some(Arc::new(self.chain())))
    }

    /// Keys given outright: the flags, else the variables (when no profile was named),
    /// else the profile's credential file.
    fn keys(&self) -> Result<Option<Provider>, Failure> {
        let static_keys = |id: String, key: String, token: Option<String>| -> Provider {
            let credentials = StaticCredentials::new(id, key);
            Arc::new(match token.filter(|token| !token.is_empty()) {
                Some(token) => credentials.with_token(token),
                None => credentials,
            })
        };
        match (self.flag("secretId"), self.flag("secretKey")) {
            (Some(id), Some(key)) => return Ok(Some(static_keys(id, key, self.flag("token")))),
            (Some(_), None) | (None, Some(_)) => {
                return Err(Failure::Usage(
                    "--secretId and --secretKey go together".to_owned(),
                ));
            }
            (None, None) => {}
        }
        if (self.variable)("TENCENTCLOUD_SECRET_ID").is_some()
            && (self.variable)("TENCENTCLOUD_SECRET_KEY").is_some()
        {
            return Ok(Some(Arc::new(EnvironmentCredentials::from_lookup(
                self.lookup.clone(),
            ))));
        }
        let Some(file) = &self.profile.credential else {
            return Ok(None);
        };
        Ok(file
            .keys(&self.profile.name)?
            .map(|(id, key, token)| static_keys(id, key, token)))
    }

    /// The role to assume, if any, and its session name.
    fn role(&self) -> Result<Option<(String, String)>, Failure> {
        let file = self.profile.credential.as_ref();
        let arn = self
            .flag(ROLE_ARN)
            .or_else(|| (self.variable)("TENCENTCLOUD_ROLE_ARN"))
            .or_else(|| file.and_then(|file| file.role_arn.clone()));
        let session = self
            .flag(ROLE_SESSION_NAME)
            .or_else(|| (self.variable)("TENCENTCLOUD_ROLE_SESSION_NAME"))
            .or_else(|| file.and_then(|file| file.role_session_name.clone()));
        match (arn, session) {
            (Some(arn), Some(session)) => Ok(Some((arn, session))),
            (Some(_), None) if self.flag(ROLE_ARN).is_some() => Err(Failure::Usage(format!(
                "--{ROLE_ARN} needs --{ROLE_SESSION_NAME} (or TENCENTCLOUD_ROLE_SESSION_NAME)"
            ))),
            (None, Some(_)) if self.flag(ROLE_SESSION_NAME).is_some() => Err(Failure::Usage(
                format!("--{ROLE_SESSION_NAME} needs --{ROLE_ARN} (or TENCENTCLOUD_ROLE_ARN)"),
            )),
            _ => Ok(None),
        }
    }

    /// The SDKs' chain, with the profile's name for the INI profile file.
    fn chain(&self) -> DefaultCredentialsChain {
        let mut chain = DefaultCredentialsChain::builder()
            .env(self.lookup.clone())
            .profile(self.profile.name.clone());
        if let Some(url) = &self.sts_endpoint {
            chain = chain.sts_endpoint_url(url.clone());
        }
        chain.build()
    }
}

/// Whether every variable of the TKE OIDC role is set (to something other than blanks),
/// as the client's chain requires before it uses that role.
pub(crate) fn tke_configured(variable: impl Fn(&str) -> Option<String>) -> bool {
    TKE_VARIABLES
        .iter()
        .all(|name| variable(name).is_some_and(|value| !value.trim().is_empty()))
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
