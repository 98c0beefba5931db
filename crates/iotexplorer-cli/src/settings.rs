//! The command line read once into typed settings: [`Command::read`] turns clap's matches
//! into the values everything else takes (the `rollout` subcommand's own flags through
//! `rollout_cmd::Invocation::read`, which it calls); nothing after it looks an option up by
//! name.
//!
//! Reading goes in two steps, as a call needs them:
//!
//! - [`GlobalFlags`]: the global options as given, each already of its type (clap has
//!   checked the closed sets and the number ranges);
//! - [`Connection`] and [`View`]: the flags completed with the tccli profile they name
//!   and the environment, and checked, so that a mistake in them costs no call. A
//!   command that sends nothing ([`Command::Sign`], [`Command::Search`], ...) reads no
//!   profile at all.

use std::collections::HashMap;
use std::time::Duration;

use clap::ArgMatches;
use iotexplorer_http::credentials::{
    CvmRoleCredentials, EnvLookup, METADATA_ENDPOINT_VARIABLE, TKE_VARIABLES,
};
use iotexplorer_http::{HttpMethod, Language, Proxy, SignedHeaderSet};
use iotexplorer_model::{ActionMeta, MemberMeta};

use crate::command::{self, CLI_INPUT_JSON, COMPLETIONS, EMULATOR, GENERATE_SKELETON, SIGN};
use crate::failure::Failure;
use crate::generate_code::{GENERATE_CODE, REVEAL_AUTHORIZATION};
use crate::output::Format;
use crate::tccli_config::{self, CredentialFile, TccliProfile};
use crate::waiter::Waiter;

/// The region used with `--emulator` when none is given (the emulator requires one).
pub(crate) const EMULATOR_REGION: &str = "ap-guangzhou";

/// Environment variables a call may read; they are copied once so the client does not
/// depend on the process environment (and tests can give their own).
const ENVIRONMENT: &[&str] = &[
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "TENCENTCLOUD_TOKEN",
    "TENCENTCLOUD_ROLE_ARN",
    "TENCENTCLOUD_ROLE_SESSION_NAME",
    METADATA_ENDPOINT_VARIABLE,
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

/// What the command line asks for.
pub(crate) enum Command {
    /// `completions SHELL`.
    Completions(clap_complete::Shell),
    /// `sign ...`: the signature debugger.
    Sign(SignSettings),
    /// `search WORDS...`.
    Search(SearchSettings),
    /// `emulator ...`, with the emulator's own options.
    Emulator(iotexplorer_emulator::ServeSettings),
    /// `rollout ...`, with its own flags and those of its connection.
    Rollout(Box<crate::rollout_cmd::Invocation>),
    /// `<Action> [--<Member> VALUE]...`.
    Action(ActionCall),
}

impl Command {
    /// The subcommand `name`, read from its matches `sub` (globals included); `action` is
    /// the action the command line names, already looked up before parsing.
    pub(crate) fn read(
        name: &str,
        sub: &ArgMatches,
        action: Option<&'static ActionMeta>,
    ) -> Result<Self, Failure> {
        Ok(match name {
            COMPLETIONS => Self::Completions(match text(sub, "shell").as_deref() {
                Some("zsh") => clap_complete::Shell::Zsh,
                Some("fish") => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            }),
            SIGN => Self::Sign(SignSettings::read(sub)),
            crate::search::SEARCH => Self::Search(SearchSettings::read(sub)),
            crate::rollout_cmd::ROLLOUT => {
                Self::Rollout(Box::new(crate::rollout_cmd::Invocation::read(sub)?))
            }
            EMULATOR => Self::Emulator(
                <iotexplorer_emulator::cli::ServeFlags as clap::FromArgMatches>::from_arg_matches(
                    sub,
                )
                .map_err(|err| Failure::Usage(err.to_string()))?
                .to_settings()
                .map_err(|err| Failure::Usage(err.to_string()))?,
            ),
            name => {
                // The action was looked up once, before parsing; its metadata travels on.
                let meta = action.filter(|meta| meta.name == name).ok_or_else(|| {
                    crate::search::unknown_action(name)
                        .unwrap_or_else(|| Failure::Usage(format!("unknown action {name}")))
                })?;
                Self::Action(ActionCall::read(meta, sub))
            }
        })
    }
}

fn text(matches: &ArgMatches, name: &str) -> Option<String> {
    matches.get_one::<String>(name).cloned()
}

fn seconds(matches: &ArgMatches, name: &str) -> Option<u64> {
    matches.get_one::<u64>(name).copied()
}

/// The global options as given on the command line. `Debug` leaves out the secret key
/// and the token.
#[derive(Default, Clone)]
pub(crate) struct GlobalFlags {
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) secret_id: Option<String>,
    pub(crate) secret_key: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) language: Option<String>,
    /// `--timeout`, in seconds.
    pub(crate) timeout_secs: Option<u64>,
    /// `--attempt-timeout`, in seconds.
    pub(crate) attempt_timeout_secs: Option<u64>,
    pub(crate) signed_headers: Option<String>,
    pub(crate) method: HttpMethod,
    pub(crate) output: Option<Format>,
    pub(crate) dry_run: bool,
    pub(crate) emulator: bool,
    pub(crate) debug: bool,
    pub(crate) filter: Option<String>,
    pub(crate) waiter: Option<String>,
    pub(crate) api_version: Option<String>,
    pub(crate) role_arn: Option<String>,
    pub(crate) role_session_name: Option<String>,
    pub(crate) use_cvm_role: bool,
    pub(crate) https_proxy: Option<String>,
    pub(crate) request_client: Option<String>,
    pub(crate) warning: bool,
}

impl std::fmt::Debug for GlobalFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalFlags")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("profile", &self.profile)
            .field("secret_id", &self.secret_id)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl GlobalFlags {
    /// Reads the global options from any level of the command tree (they are global).
    pub(crate) fn read(matches: &ArgMatches) -> Self {
        Self {
            region: text(matches, "region"),
            endpoint: text(matches, "endpoint"),
            profile: text(matches, "profile"),
            secret_id: text(matches, "secretId"),
            secret_key: text(matches, "secretKey"),
            token: text(matches, "token"),
            language: text(matches, "language"),
            timeout_secs: seconds(matches, "timeout"),
            attempt_timeout_secs: seconds(matches, command::ATTEMPT_TIMEOUT),
            signed_headers: text(matches, command::SIGNED_HEADERS),
            method: match text(matches, "method").as_deref() {
                Some("GET") => HttpMethod::Get,
                _ => HttpMethod::Post,
            },
            output: text(matches, "output").map(|name| Format::from_flag(Some(&name))),
            dry_run: matches.get_flag("dry-run"),
            emulator: matches.get_flag("emulator"),
            debug: matches.get_flag("debug"),
            filter: text(matches, command::FILTER),
            waiter: text(matches, command::WAITER),
            api_version: text(matches, command::API_VERSION),
            role_arn: text(matches, command::ROLE_ARN),
            role_session_name: text(matches, command::ROLE_SESSION_NAME),
            use_cvm_role: matches.get_flag(command::USE_CVM_ROLE),
            https_proxy: text(matches, command::HTTPS_PROXY),
            request_client: text(matches, command::REQUEST_CLIENT),
            warning: matches.get_flag(command::WARNING),
        }
    }

    /// The signed-header list of `--signed-headers`, or the client's default.
    pub(crate) fn signed_headers(&self) -> Result<SignedHeaderSet, Failure> {
        self.signed_headers
            .as_deref()
            .map_or(Ok(SignedHeaderSet::default()), |list| {
                list.parse()
                    .map_err(|err: iotexplorer_http::Error| Failure::Usage(err.to_string()))
            })
    }
}

/// Everything a client to the service is made of: where, how, and with what credentials.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The tccli profile, read once.
    pub(crate) profile: TccliProfile,
    /// `--endpoint`, as a URL.
    endpoint_flag: Option<String>,
    /// The profile's `iotexplorer.endpoint`, as a URL.
    endpoint_profile: Option<String>,
    /// `--region`, else `TENCENTCLOUD_REGION`, else the profile's, else the emulator's.
    pub(crate) region: Option<String>,
    pub(crate) language: Option<Language>,
    /// The deadline of the whole call (`--timeout`).
    pub(crate) call_timeout: Option<Duration>,
    /// The deadline of each attempt (`--attempt-timeout`).
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) signed_headers: SignedHeaderSet,
    pub(crate) method: HttpMethod,
    pub(crate) request_client: Option<String>,
    /// `--https-proxy`, else the proxy variables.
    pub(crate) proxy: Proxy,
    /// Start the embedded emulator and send there (`--emulator`).
    pub(crate) emulator: bool,
    pub(crate) credentials: CredentialSources,
}

impl Connection {
    /// The connection `flags` describe, with the tccli profile they name.
    pub(crate) fn from_flags(
        flags: &GlobalFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Failure> {
        let profile = TccliProfile::load(flags.profile.as_deref(), env)?;
        Self::resolve(flags, profile, env)
    }

    /// The flags completed with `profile` and the environment, and checked.
    pub(crate) fn resolve(
        flags: &GlobalFlags,
        profile: TccliProfile,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Failure> {
        if flags.emulator && (flags.use_cvm_role || flags.role_arn.is_some()) {
            // The emulator knows its demo keys and keys given outright, never a role's.
            let flag = if flags.use_cvm_role {
                command::USE_CVM_ROLE
            } else {
                command::ROLE_ARN
            };
            return Err(Failure::Usage(format!(
                "--{flag} cannot be used with --emulator, which signs with its demo keys or \
                 those of --secretId and --secretKey"
            )));
        }
        let snapshot: HashMap<String, String> = ENVIRONMENT
            .iter()
            .filter_map(|name| env(name).map(|value| ((*name).to_owned(), value)))
            .collect();
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
        let lookup = EnvLookup::from_pairs(snapshot.clone());
        let configure = &profile.configure;
        let region = flags
            .region
            .clone()
            .or_else(|| variable("TENCENTCLOUD_REGION"))
            .or_else(|| configure.region.clone())
            .or_else(|| flags.emulator.then(|| EMULATOR_REGION.to_owned()));
        let language = match flags.language.as_ref().or(configure.language.as_ref()) {
            None => None,
            Some(name) => Some(match name.as_str() {
                "zh-CN" => Language::ZhCn,
                "en-US" => Language::EnUs,
                other => {
                    return Err(Failure::Usage(format!(
                        "language {other:?} is not zh-CN or en-US"
                    )));
                }
            }),
        };
        let request_client = flags
            .request_client
            .clone()
            .or_else(|| configure.request_client.clone());
        let proxy = match &flags.https_proxy {
            Some(url) => Proxy::https(url)
                .map_err(|err| Failure::Usage(format!("--{}: {err}", command::HTTPS_PROXY)))?,
            None => Proxy::from_lookup(&lookup),
        };
        let credentials = CredentialSources::resolve(flags, &profile, &variable, lookup)?;
        Ok(Self {
            endpoint_flag: flags.endpoint.as_deref().map(tccli_config::endpoint_url),
            endpoint_profile: configure
                .endpoint
                .as_deref()
                .map(tccli_config::endpoint_url),
            region,
            language,
            call_timeout: flags.timeout_secs.map(Duration::from_secs),
            attempt_timeout: flags.attempt_timeout_secs.map(Duration::from_secs),
            signed_headers: flags.signed_headers()?,
            method: flags.method,
            request_client,
            proxy,
            emulator: flags.emulator,
            credentials,
            profile,
        })
    }

    /// The endpoint to send to: `--endpoint`, else the running emulator's, else (without
    /// `--emulator`) the profile's; `None` for the service's own.
    pub(crate) fn endpoint_url(&self, emulator_url: Option<&str>) -> Option<String> {
        self.endpoint_flag
            .clone()
            .or_else(|| emulator_url.map(str::to_owned))
            .or_else(|| {
                (!self.emulator)
                    .then(|| self.endpoint_profile.clone())
                    .flatten()
            })
    }
}

/// A role to assume with STS `AssumeRole`.
#[derive(Debug, Clone)]
pub(crate) struct RoleToAssume {
    pub(crate) arn: String,
    pub(crate) session_name: String,
}

/// Keys given outright with `--secretId`, `--secretKey` and `--token`.
#[derive(Clone)]
pub(crate) struct GivenKeys {
    pub(crate) secret_id: String,
    pub(crate) secret_key: String,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for GivenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GivenKeys")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Every place credentials may come from, in the order a call looks (see
/// [`crate::connect`] for the choice), with what the flags and the profile say about each.
#[derive(Debug)]
pub(crate) struct CredentialSources {
    /// `--secretId` and `--secretKey` (with `--token`).
    pub(crate) given: Option<GivenKeys>,
    /// `TENCENTCLOUD_SECRET_ID` and `TENCENTCLOUD_SECRET_KEY` are both set, and no profile
    /// was named.
    pub(crate) variables: bool,
    /// The profile's `.credential` file.
    pub(crate) file: Option<CredentialFile>,
    /// The profile's name, for the SDKs' INI profile file too.
    pub(crate) profile_name: String,
    /// `--use-cvm-role`.
    pub(crate) use_cvm_role: bool,
    /// The role of `--role-arn`, the variables or the profile.
    pub(crate) role: Option<RoleToAssume>,
    /// Every variable of the TKE OIDC role is set (and no `--secretId`).
    pub(crate) tke: bool,
    /// The CVM role's metadata service (`TENCENTCLOUD_CVM_METADATA_ENDPOINT`).
    pub(crate) cvm_metadata_endpoint: Option<String>,
    /// The profile's `sts.endpoint`, as a URL.
    pub(crate) sts_endpoint: Option<String>,
    /// The environment a call's providers read, copied once.
    pub(crate) lookup: EnvLookup,
}

impl CredentialSources {
    fn resolve(
        flags: &GlobalFlags,
        profile: &TccliProfile,
        variable: &dyn Fn(&str) -> Option<String>,
        lookup: EnvLookup,
    ) -> Result<Self, Failure> {
        let given = match (&flags.secret_id, &flags.secret_key) {
            (Some(id), Some(key)) => Some(GivenKeys {
                secret_id: id.clone(),
                secret_key: key.clone(),
                token: flags.token.clone().filter(|token| !token.is_empty()),
            }),
            (Some(_), None) | (None, Some(_)) => {
                return Err(Failure::Usage(
                    "--secretId and --secretKey go together".to_owned(),
                ));
            }
            (None, None) => None,
        };
        let file = profile.credential.as_ref();
        let arn = flags
            .role_arn
            .clone()
            .or_else(|| variable("TENCENTCLOUD_ROLE_ARN"))
            .or_else(|| file.and_then(|file| file.role_arn.clone()));
        let session = flags
            .role_session_name
            .clone()
            .or_else(|| variable("TENCENTCLOUD_ROLE_SESSION_NAME"))
            .or_else(|| file.and_then(|file| file.role_session_name.clone()));
        let (arn_flag, session_flag) = (command::ROLE_ARN, command::ROLE_SESSION_NAME);
        let role = match (arn, session) {
            (Some(arn), Some(session_name)) => Some(RoleToAssume { arn, session_name }),
            (Some(_), None) if flags.role_arn.is_some() => {
                return Err(Failure::Usage(format!(
                    "--{arn_flag} needs --{session_flag} (or TENCENTCLOUD_ROLE_SESSION_NAME)"
                )));
            }
            (None, Some(_)) if flags.role_session_name.is_some() => {
                return Err(Failure::Usage(format!(
                    "--{session_flag} needs --{arn_flag} (or TENCENTCLOUD_ROLE_ARN)"
                )));
            }
            _ => None,
        };
        let cvm_metadata_endpoint = lookup
            .get(METADATA_ENDPOINT_VARIABLE)
            .filter(|url| !url.trim().is_empty());
        let signs_with_cvm_role =
            flags.use_cvm_role || file.is_some_and(CredentialFile::is_cvm_role);
        if let (Some(url), true) = (&cvm_metadata_endpoint, signs_with_cvm_role) {
            // A wrong address is a mistake in the setup: say so before anything is sent.
            CvmRoleCredentials::builder()
                .metadata_endpoint(url.clone())
                .build()
                .map_err(|err| Failure::Usage(err.to_string()))?;
        }
        Ok(Self {
            given,
            variables: variable("TENCENTCLOUD_SECRET_ID").is_some()
                && variable("TENCENTCLOUD_SECRET_KEY").is_some(),
            file: profile.credential.clone(),
            profile_name: profile.name.clone(),
            use_cvm_role: flags.use_cvm_role,
            role,
            tke: flags.secret_id.is_none() && tke_configured(|name| lookup.get(name)),
            cvm_metadata_endpoint,
            sts_endpoint: profile
                .configure
                .sts_endpoint
                .as_deref()
                .map(tccli_config::endpoint_url),
            lookup,
        })
    }

    /// Whether a call signs with a role's temporary keys (assumed, instance or TKE)
    /// rather than with keys given outright.
    pub(crate) fn signs_with_role(&self) -> bool {
        self.use_cvm_role
            || self.role.is_some()
            || self
                .file
                .as_ref()
                .is_some_and(|file| file.role_arn.is_some() || file.is_cvm_role())
            || self.tke
    }
}

/// Whether every variable of the TKE OIDC role is set (to something other than blanks),
/// as the client's chain requires before it uses that role.
fn tke_configured(variable: impl Fn(&str) -> Option<String>) -> bool {
    TKE_VARIABLES
        .iter()
        .all(|name| variable(name).is_some_and(|value| !value.trim().is_empty()))
}

/// How a successful response is shown, and `--waiter`: its format, `--filter`,
/// `--warning`, the table's width.
pub(crate) struct View {
    pub(crate) format: Format,
    pub(crate) filter: Option<crate::filter::Filter>,
    pub(crate) waiter: Option<Waiter>,
    pub(crate) warning: bool,
    /// The width of `--output table`.
    pub(crate) width: usize,
}

impl View {
    /// The flags completed with the profile's defaults, and checked before anything is
    /// sent, so that a mistake in them costs no call.
    pub(crate) fn resolve(
        flags: &GlobalFlags,
        profile: &TccliProfile,
        env: &dyn Fn(&str) -> Option<String>,
        stdout_is_terminal: bool,
    ) -> Result<Self, Failure> {
        let configure = &profile.configure;
        let format = match flags.output {
            Some(format) => format,
            None => match configure.output.as_deref() {
                None => Format::Json,
                Some(name) => Format::from_name(name).ok_or_else(|| {
                    Failure::Usage(format!(
                        "profile {}: output {name:?} is not json, text or table",
                        profile.name
                    ))
                })?,
            },
        };
        if let Some(version) = flags.api_version.as_ref().or(configure.version.as_ref())
            && version != iotexplorer_model::VERSION
        {
            return Err(Failure::Usage(format!(
                "API version {version} is not available; this tool speaks {}",
                iotexplorer_model::VERSION
            )));
        }
        if flags
            .request_client
            .as_ref()
            .or(configure.request_client.as_ref())
            .is_some_and(|name| name.contains(['\r', '\n']))
        {
            return Err(Failure::Usage(
                "--request-client must not contain CR or LF characters".to_owned(),
            ));
        }
        let filter = flags
            .filter
            .as_deref()
            .map(crate::filter::Filter::compile)
            .transpose()?;
        let waiter = flags
            .waiter
            .as_deref()
            .map(|text| Waiter::parse(text, configure))
            .transpose()?;
        // tccli's tables are 80 columns wide off a terminal, and as wide as it on one.
        let width = if stdout_is_terminal {
            env("COLUMNS")
                .and_then(|columns| columns.trim().parse().ok())
                .filter(|columns: &usize| *columns > 0)
                .unwrap_or(80)
        } else {
            80
        };
        Ok(Self {
            format,
            filter,
            waiter,
            warning: flags.warning || configure.warning,
            width,
        })
    }
}

/// The settings of a call: where it goes, how its answer is shown, and how it is sent.
pub(crate) struct Settings {
    pub(crate) connection: Connection,
    pub(crate) view: View,
    /// Validate and sign, print the request, send nothing (`--dry-run`).
    pub(crate) dry_run: bool,
    /// Print the exchange on stderr (`--debug`).
    pub(crate) debug: bool,
}

impl Settings {
    /// A call's settings from its view (already read) and its connection.
    pub(crate) fn new(flags: &GlobalFlags, view: View, connection: Connection) -> Self {
        Self {
            connection,
            view,
            dry_run: flags.dry_run,
            debug: flags.debug,
        }
    }
}

/// What to do with an action once its request is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallMode {
    /// Send it (or show it, with `--dry-run`).
    Send,
    /// Print a JSON object with every input member (`--generate-cli-skeleton`).
    Skeleton,
    /// Print a program that makes the call (`--generate-code LANGUAGE`).
    GenerateCode {
        language: String,
        /// `--reveal-authorization`.
        reveal: bool,
    },
}

/// One call of an action, as the command line gives it.
pub(crate) struct ActionCall {
    pub(crate) meta: &'static ActionMeta,
    pub(crate) mode: CallMode,
    pub(crate) input: RequestInput,
    pub(crate) flags: GlobalFlags,
}

impl ActionCall {
    fn read(meta: &'static ActionMeta, sub: &ArgMatches) -> Self {
        let mode = if sub.get_flag(GENERATE_SKELETON) {
            CallMode::Skeleton
        } else if let Some(language) = text(sub, GENERATE_CODE) {
            CallMode::GenerateCode {
                language,
                reveal: sub.get_flag(REVEAL_AUTHORIZATION),
            }
        } else {
            CallMode::Send
        };
        let members = meta
            .input
            .iter()
            .filter_map(|member| {
                sub.get_one::<String>(member.name)
                    .map(|value| (member, value.clone()))
            })
            .collect();
        Self {
            meta,
            mode,
            input: RequestInput {
                cli_input_json: text(sub, CLI_INPUT_JSON),
                members,
            },
            flags: GlobalFlags::read(sub),
        }
    }
}

/// The request's members as given: `--cli-input-json` and each `--<Member> VALUE`, as
/// text; [`crate::member_flags`] reads them by type.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestInput {
    pub(crate) cli_input_json: Option<String>,
    /// The member flags given, in the model's order.
    pub(crate) members: Vec<(&'static MemberMeta, String)>,
}

/// `sign`: what to sign and how.
#[derive(Debug, Clone)]
pub(crate) struct SignSettings {
    pub(crate) action: String,
    pub(crate) timestamp: i64,
    pub(crate) host: String,
    pub(crate) service: String,
    pub(crate) http_method: String,
    pub(crate) body: Option<String>,
    pub(crate) query: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) secret_key_stdin: bool,
    pub(crate) verify: Option<String>,
    pub(crate) reveal_authorization: bool,
    pub(crate) flags: GlobalFlags,
}

impl SignSettings {
    fn read(sub: &ArgMatches) -> Self {
        Self {
            action: text(sub, "action").unwrap_or_default(),
            timestamp: sub.get_one::<i64>("timestamp").copied().unwrap_or_default(),
            host: text(sub, "host").unwrap_or_default(),
            service: text(sub, "service").unwrap_or_default(),
            http_method: text(sub, "http-method").unwrap_or_else(|| "POST".to_owned()),
            body: text(sub, "body"),
            query: text(sub, "query"),
            content_type: text(sub, "content-type"),
            secret_key_stdin: sub.get_flag("secret-key-stdin"),
            verify: text(sub, "verify"),
            reveal_authorization: sub.get_flag("reveal-authorization"),
            flags: GlobalFlags::read(sub),
        }
    }
}

/// `search`: the words and how many hits to list.
#[derive(Debug, Clone)]
pub(crate) struct SearchSettings {
    pub(crate) words: Vec<String>,
    /// At most this many hits (`--limit N`, or every one with `--all`).
    pub(crate) limit: usize,
    /// `--output json`.
    pub(crate) json: bool,
}

impl SearchSettings {
    fn read(sub: &ArgMatches) -> Self {
        let words = sub
            .get_many::<String>("words")
            .map(|words| words.cloned().collect())
            .unwrap_or_default();
        let limit = if sub.get_flag("all") {
            usize::MAX
        } else {
            sub.get_one::<u16>("limit")
                .map_or(crate::search::DEFAULT_LIMIT, |n| usize::from(*n))
        };
        Self {
            words,
            limit,
            json: GlobalFlags::read(sub).output == Some(Format::Json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{ActionSelection, named_action, root};

    /// The command line `args` after the program name, read as `run` reads it.
    fn command(args: &[&str]) -> Result<Command, Failure> {
        let mut all = vec!["iotexplorer"];
        all.extend_from_slice(args);
        let action = named_action(all.iter().copied());
        let selection = action.map_or(ActionSelection::None, ActionSelection::Only);
        let matches = root(selection)
            .try_get_matches_from(&all)
            .map_err(|err| Failure::Usage(err.to_string()))?;
        let (name, sub) = matches.subcommand().expect("a subcommand");
        Command::read(name, sub, action)
    }

    fn action(args: &[&str]) -> ActionCall {
        match command(args) {
            Ok(Command::Action(call)) => call,
            _ => panic!("not an action call: {args:?}"),
        }
    }

    fn connection(args: &[&str], env: &[(&str, &str)]) -> Result<Connection, Failure> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| env.get(name).cloned();
        let call = action(args);
        Connection::resolve(&call.flags, TccliProfile::default(), &lookup)
    }

    const CALL: [&str; 3] = ["DescribeFirmware", "--ProductID", "P"];

    fn with(globals: &[&'static str]) -> Vec<&'static str> {
        let mut args = globals.to_vec();
        args.extend(CALL);
        args
    }

    #[test]
    fn an_action_is_read_once_into_its_metadata_and_members() {
        let call = action(&[
            "--dry-run",
            "BatchUpdateFirmware",
            "--FirmwareVersion",
            "2.0.0",
            "--ProductID",
            "P",
            "--method",
            "GET",
        ]);
        let meta = iotexplorer_model::find_action("BatchUpdateFirmware").expect("action");
        assert!(std::ptr::eq(call.meta, meta));
        assert_eq!(call.mode, CallMode::Send);
        let given: Vec<(&str, &str)> = call
            .input
            .members
            .iter()
            .map(|(member, value)| (member.name, value.as_str()))
            .collect();
        // In the model's order, whatever the order on the command line.
        assert_eq!(given, [("ProductID", "P"), ("FirmwareVersion", "2.0.0")]);
        assert!(call.flags.dry_run);
        assert_eq!(call.flags.method, HttpMethod::Get);
        let skeleton = action(&["DescribeFirmware", "--generate-cli-skeleton"]);
        assert_eq!(skeleton.mode, CallMode::Skeleton);
        let mut args = with(&["--timeout", "9"]);
        args.extend(["--generate-code", "curl"]);
        let code = action(&args);
        assert_eq!(
            code.mode,
            CallMode::GenerateCode {
                language: "curl".to_owned(),
                reveal: false
            }
        );
        assert_eq!(code.flags.timeout_secs, Some(9));
        let Ok(Command::Search(search)) = command(&["search", "firmware", "--limit", "3"]) else {
            panic!("not a search");
        };
        assert_eq!(
            (search.words, search.limit),
            (vec!["firmware".to_owned()], 3)
        );
    }

    #[test]
    fn the_region_comes_from_the_flag_the_variable_the_profile_or_the_emulator() {
        let region = |args: &[&'static str], env: &[(&str, &str)]| {
            connection(&with(args), env).expect("valid").region
        };
        let variable = [("TENCENTCLOUD_REGION", "ap-beijing")];
        assert_eq!(
            region(&["--region", "ap-shanghai"], &variable).as_deref(),
            Some("ap-shanghai")
        );
        assert_eq!(region(&[], &variable).as_deref(), Some("ap-beijing"));
        assert_eq!(
            region(&["--emulator"], &[]).as_deref(),
            Some(EMULATOR_REGION)
        );
        assert_eq!(region(&[], &[]), None);
    }

    #[test]
    fn mistakes_in_the_global_options_are_refused_with_their_names() {
        let refusal =
            |args: &[&'static str], env: &[(&str, &str)]| match connection(&with(args), env) {
                Err(Failure::Usage(message)) => message,
                other => panic!("{args:?} was accepted: {:?}", other.map(|_| ())),
            };
        assert!(refusal(&["--secretId", "AKID"], &[]).contains("--secretKey"));
        assert!(
            refusal(&["--role-arn", "qcs::cam::uin/1:roleName/x"], &[])
                .contains("--role-session-name")
        );
        assert!(refusal(&["--role-session-name", "n"], &[]).contains("--role-arn"));
        assert!(refusal(&["--https-proxy", "ftp://proxy"], &[]).contains("--https-proxy"));
        let metadata = [(METADATA_ENDPOINT_VARIABLE, "http://192.0.2.1")];
        assert!(refusal(&["--use-cvm-role"], &metadata).contains("loopback"));
        // The variable matters only to the CVM role.
        assert!(connection(&with(&[]), &metadata).is_ok());
        let given = connection(
            &with(&[
                "--secretId",
                "AKID",
                "--secretKey",
                "very-secret-key",
                "--token",
                "",
            ]),
            &[],
        )
        .expect("valid");
        let keys = given.credentials.given.expect("keys");
        assert_eq!(keys.token, None, "an empty token is no token");
        assert!(!format!("{keys:?}").contains("very-secret-key"));
        let flags = action(&with(&[
            "--secretId",
            "AKID",
            "--secretKey",
            "very-secret-key",
            "--token",
            "very-secret-token",
        ]))
        .flags;
        let shown = format!(
            "{flags:?} {:?}",
            connection(
                &with(&[
                    "--secretId",
                    "AKID",
                    "--secretKey",
                    "very-secret-key",
                    "--token",
                    "very-secret-token"
                ]),
                &[]
            )
            .expect("valid")
        );
        assert!(shown.contains("AKID"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
