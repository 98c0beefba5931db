//! The command tree: global options, one subcommand per action of the model, and the
//! tool's own subcommands. Action subcommands come from the model's metadata, so a new
//! action in the spec is a new subcommand without a line of code here.

use clap::{Arg, ArgAction, Command, builder::PossibleValuesParser};
use iotexplorer_model::{ActionMeta, ActionStatus, MemberMeta, actions, find_action};

/// Names of the tool's own subcommands (actions are CamelCase, so they never clash).
pub(crate) const SIGN: &str = "sign";
pub(crate) const EMULATOR: &str = "emulator";
pub(crate) const COMPLETIONS: &str = "completions";

/// The tool's own subcommands, besides the actions.
pub(crate) const TOOL_SUBCOMMANDS: [&str; 6] = [
    SIGN,
    EMULATOR,
    COMPLETIONS,
    crate::rollout_cmd::ROLLOUT,
    crate::search::SEARCH,
    "help",
];

/// Global options read by more than one module.
pub(crate) const ATTEMPT_TIMEOUT: &str = "attempt-timeout";
pub(crate) const SIGNED_HEADERS: &str = "signed-headers";

/// tccli's global options.
pub(crate) const ROLE_ARN: &str = "role-arn";
pub(crate) const ROLE_SESSION_NAME: &str = "role-session-name";
pub(crate) const USE_CVM_ROLE: &str = "use-cvm-role";
pub(crate) const HTTPS_PROXY: &str = "https-proxy";
pub(crate) const REQUEST_CLIENT: &str = "request-client";
pub(crate) const FILTER: &str = "filter";
pub(crate) const WAITER: &str = "waiter";
pub(crate) const CLI_UNFOLD_ARGUMENT: &str = "cli-unfold-argument";
pub(crate) const API_VERSION: &str = "version";
pub(crate) const WARNING: &str = "warning";
pub(crate) const DETAIL: &str = "detail";

/// The headings that per-action help groups its options under.
pub(crate) const GLOBAL_HEADING: &str = "Global options";

/// Options of every action subcommand besides its members.
pub(crate) const CLI_INPUT_JSON: &str = "cli-input-json";
pub(crate) const GENERATE_SKELETON: &str = "generate-cli-skeleton";

/// Which action subcommands to build: all of them costs a few milliseconds, so a call
/// builds only the one it names.
#[derive(Clone, Copy)]
pub(crate) enum ActionSelection {
    All,
    Only(&'static ActionMeta),
    None,
}

/// The subcommand an argument list names, if it names an action.
pub(crate) fn named_action<'a>(
    args: impl IntoIterator<Item = &'a str>,
) -> Option<&'static ActionMeta> {
    first_positional(args).and_then(find_action)
}

/// The first argument that is neither a global option nor its value: the subcommand.
pub(crate) fn first_positional<'a>(args: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Which global options take a value comes from their definitions, so a new one
    // cannot be mistaken for the action name.
    let globals = global_args();
    let takes_value = |flag: &str| {
        globals
            .iter()
            .any(|arg| arg.get_long() == Some(flag) && arg.get_action().takes_values())
    };
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        if let Some(flag) = arg.strip_prefix("--") {
            if takes_value(flag) {
                args.next();
            }
            continue;
        }
        return Some(arg);
    }
    None
}

pub(crate) fn root(selection: ActionSelection) -> Command {
    let mut command = Command::new("iotexplorer")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Tencent Cloud IoT Explorer (iotexplorer 2019-04-23) from the shell, tccli-compatible",
        )
        .long_about(
            "Calls any action of Tencent Cloud IoT Explorer: \
             iotexplorer [OPTIONS] <Action> [--<Member> VALUE]...\n\
             Members take their wire names (--ProductID); lists and objects are JSON text.\n\
             Exit codes: 0 success, 1 API error, 2 usage or validation error (nothing sent), \
             3 network, credential or transport error (the message says when the request \
             may have been processed).",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("print-version")
                .short('V')
                .action(ArgAction::Version)
                .help("Print the tool's version"),
        )
        .args(global_args())
        .subcommand(sign_command())
        .subcommand(emulator_command())
        .subcommand(crate::rollout_cmd::command())
        .subcommand(crate::search::command())
        .subcommand(
            Command::new(COMPLETIONS)
                .about("Print a shell completion script")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(PossibleValuesParser::new(["bash", "zsh", "fish"])),
                ),
        );
    match selection {
        ActionSelection::All => {
            for meta in actions() {
                command = command.subcommand(action_command(meta));
            }
        }
        ActionSelection::Only(meta) => command = command.subcommand(action_command(meta)),
        ActionSelection::None => {}
    }
    command
}

fn global(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .global(true)
        .help(help)
        .help_heading(GLOBAL_HEADING)
}

fn global_args() -> Vec<Arg> {
    vec![
        global("region", "Region, sent as X-TC-Region (e.g. ap-guangzhou)").value_name("REGION"),
        global(
            "endpoint",
            "Full endpoint URL (http:// only for loopback addresses)",
        )
        .value_name("URL"),
        global(
            "profile",
            "Profile: ~/.tccli/NAME.credential and NAME.configure as tccli writes them, or \
             [NAME] of ~/.tencentcloud/credentials (default: TCCLI_PROFILE, else default)",
        )
        .value_name("NAME"),
        global(
            "secretId",
            "SecretId (otherwise from the environment or a profile)",
        )
        .value_name("ID"),
        global(
            "secretKey",
            "SecretKey (prefer the environment or a profile)",
        )
        .value_name("KEY"),
        global("token", "Session token of temporary credentials").value_name("TOKEN"),
        global("language", "Language of error messages")
            .value_parser(PossibleValuesParser::new(["zh-CN", "en-US"])),
        global(
            "timeout",
            "Deadline of the whole call in seconds: every attempt, retry and wait included \
             (default 60)",
        )
        .value_name("SECS")
        .value_parser(clap::value_parser!(u64).range(1..)),
        global(
            ATTEMPT_TIMEOUT,
            "Deadline of each attempt in seconds, so that a hung read can be retried within \
             --timeout (default: only --timeout)",
        )
        .value_name("SECS")
        .value_parser(clap::value_parser!(u64).range(1..)),
        global(
            SIGNED_HEADERS,
            "Headers the signature covers (default content-type;host;x-tc-action, good for \
             one action only; content-type;host signs as older signers do)",
        )
        .value_name("LIST")
        .value_parser(PossibleValuesParser::new([
            "content-type;host;x-tc-action",
            "content-type;host",
        ])),
        global("method", "HTTP method of the call")
            .value_parser(PossibleValuesParser::new(["POST", "GET"])),
        global("output", "Output format of the response")
            .value_parser(PossibleValuesParser::new(["json", "text", "table"])),
        global(
            "dry-run",
            "Validate and sign, print the request that would be sent, send nothing",
        )
        .action(ArgAction::SetTrue),
        global(
            "emulator",
            "Start the embedded emulator with its demo fixture and send there, signed with \
             its demo keys unless --secretId and --secretKey are given (the variables and \
             profiles hold the real service's; a role is refused)",
        )
        .action(ArgAction::SetTrue),
        global(
            "debug",
            "Print the request and response exchange on stderr (secrets redacted)",
        )
        .action(ArgAction::SetTrue),
        global(
            FILTER,
            "JMESPath expression applied to the response before printing (e.g. TaskId, \
             or \"Devices[?Status==`5`].DeviceName\")",
        )
        .value_name("EXPR")
        .allow_hyphen_values(true),
        global(
            WAITER,
            "Call again until an expression reaches a value: \
             \"{'expr':'Status','to':5,'timeout':180,'interval':5}\" (progress on stderr)",
        )
        .value_name("SPEC"),
        global(
            CLI_UNFOLD_ARGUMENT,
            "Members as tccli unfolds them: lists as values (--DeviceNames dev001 dev002), \
             structures by dotted path (--Filters.0.Key K --Filters.0.Value V)",
        )
        .action(ArgAction::SetTrue),
        global(
            API_VERSION,
            "API version (only 2019-04-23); alone, prints the tool's version",
        )
        .value_name("YYYY-MM-DD"),
        global(
            ROLE_ARN,
            "Assume this role with STS AssumeRole (or TENCENTCLOUD_ROLE_ARN)",
        )
        .value_name("ARN"),
        global(
            ROLE_SESSION_NAME,
            "Session name of the assumed role (or TENCENTCLOUD_ROLE_SESSION_NAME)",
        )
        .value_name("NAME"),
        global(
            USE_CVM_ROLE,
            "Sign with the CVM instance role's credentials (from the instance's metadata \
             service, or the one TENCENTCLOUD_CVM_METADATA_ENDPOINT names)",
        )
        .action(ArgAction::SetTrue),
        global(
            HTTPS_PROXY,
            "Proxy for the call (default: HTTPS_PROXY and its kin)",
        )
        .value_name("URL"),
        global(
            REQUEST_CLIENT,
            "Client name sent after ours in X-TC-RequestClient (0-9 a-z A-Z - _ , ; . only)",
        )
        .value_name("NAME"),
        global(
            WARNING,
            "Say on stderr which members of the answer this version does not know",
        )
        .action(ArgAction::SetTrue),
        global(DETAIL, "With help: the action's documented error codes too")
            .action(ArgAction::SetTrue),
        Arg::new("help")
            .short('h')
            .long("help")
            .global(true)
            .action(ArgAction::Help)
            .help("Print help")
            .help_heading(GLOBAL_HEADING),
    ]
}

fn action_command(meta: &'static ActionMeta) -> Command {
    // The name in both languages, then the English description when there is one.
    let title = if meta.title_zh.is_empty() {
        meta.name.to_owned()
    } else {
        format!("{} ({})", meta.name, meta.title_zh)
    };
    let mut about = if meta.title_zh.is_empty() {
        crate::search::summary(meta)
    } else {
        format!("{}: {}", meta.title_zh, crate::search::summary(meta))
    };
    let mut long_about = title;
    if !meta.doc.is_empty() {
        long_about.push_str("\n\n");
        long_about.push_str(meta.doc);
    }
    long_about.push_str(&format!(
        "\n\nFamily: {}. {}",
        crate::search::family(meta.name),
        if meta.read_only {
            "Only reads: safe to repeat."
        } else {
            "Changes something: not resent after an ambiguous failure."
        }
    ));
    if meta.status == ActionStatus::Deprecated {
        about.push_str(" (deprecated by the service)");
        long_about.push_str(" Deprecated by the service.");
    }
    let mut errors = String::from("Documented error codes:");
    for code in meta.errors {
        errors.push_str("\n  ");
        errors.push_str(code);
    }
    let mut command = Command::new(meta.name)
        .about(about)
        .long_about(long_about)
        .after_help(STRICTER)
        .after_long_help(format!("{STRICTER}\n\n{errors}"))
        .next_help_heading(format!("Members of {}", meta.name))
        .arg(
            Arg::new(CLI_INPUT_JSON)
                .long(CLI_INPUT_JSON)
                .value_name("JSON|file://PATH")
                .help("All members at once, as a JSON object; flags given too take precedence"),
        )
        .arg(
            Arg::new(GENERATE_SKELETON)
                .long(GENERATE_SKELETON)
                .action(ArgAction::SetTrue)
                .help("Print a JSON object with every input member; send nothing"),
        );
    command = command.args(crate::generate_code::args());
    for member in meta.input {
        command = command.arg(member_arg(member));
    }
    command
}

/// What a tccli user should know of each call, shown under every action's help.
const STRICTER: &str = "Unlike tccli, every member is checked against the API's rules before \
anything is sent (exit 2, nothing sent); --dry-run shows the signed request without sending it; \
flags given with --cli-input-json override its members. Exit codes: 0 success, 1 API error, \
2 usage or validation error, 3 network, credential or transport error (tccli exits 255 for \
every failure).";

fn member_arg(member: &'static MemberMeta) -> Arg {
    let mut help = member.type_description();
    if member.required {
        help.push_str(", required");
    }
    let rules = member.constraint_description();
    if !rules.is_empty() {
        help.push_str("; ");
        help.push_str(&rules);
    }
    if !member.doc.is_empty() {
        help.push_str(". ");
        help.push_str(member.doc);
    }
    if !member.name_zh.is_empty() {
        help.push_str(" [");
        help.push_str(member.name_zh);
        help.push(']');
    }
    let value_name =
        if member.list || matches!(member.value_type, iotexplorer_model::ValueType::Object(_)) {
            "JSON"
        } else {
            member.value_type.as_str()
        };
    Arg::new(member.name)
        .long(member.name)
        .value_name(value_name)
        .allow_hyphen_values(true)
        .help(help)
}

fn sign_command() -> Command {
    let arg = |name: &'static str, help: &'static str| Arg::new(name).long(name).help(help);
    Command::new(SIGN)
        .about("Signature debugger: print every stage of a TC3-HMAC-SHA256 signature")
        .long_about(
            "Prints the canonical request, its hash and the string to sign of a request, \
             signed over the headers of --signed-headers as the client signs them, or with \
             --verify says which stage differs from a given Authorization header. The \
             SecretId and SecretKey come from TENCENTCLOUD_SECRET_ID and \
             TENCENTCLOUD_SECRET_KEY, or the key from standard input with --secret-key-stdin; \
             the key is never printed. The signature, in the Signature line and in the \
             Authorization header, authorises that exact request for five minutes: it is \
             shown only with --reveal-authorization.",
        )
        .arg(arg("action", "Action name, sent as X-TC-Action").required(true))
        .arg(
            arg("timestamp", "X-TC-Timestamp in Unix seconds")
                .required(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(i64)),
        )
        .arg(arg("host", "Host header").default_value(iotexplorer_http::DEFAULT_HOST))
        .arg(arg("service", "Service of the credential scope").default_value(iotexplorer_model::SERVICE))
        .arg(
            arg("http-method", "HTTP method")
                .value_parser(PossibleValuesParser::new(["POST", "GET"]))
                .default_value("POST"),
        )
        .arg(arg("body", "POST body, exactly as sent").value_name("TEXT"))
        .arg(arg("query", "GET query string, exactly as sent").value_name("QUERY"))
        .arg(arg("content-type", "Content-Type (default: by method)").value_name("TYPE"))
        .arg(arg("secret-key-stdin", "Read the SecretKey from standard input").action(ArgAction::SetTrue))
        .arg(arg("verify", "An Authorization header to compare with").value_name("AUTHORIZATION"))
        .arg(
            arg(
                "reveal-authorization",
                "Print the signature and the full Authorization header (they authorise this exact request for 5 minutes)",
            )
            .action(ArgAction::SetTrue),
        )
}

fn emulator_command() -> Command {
    // The same flags as the `iotexplorer-emulator` binary, from the same definition. The
    // description comes after them: the flags' own doc comment would replace it.
    <iotexplorer_emulator::cli::ServeFlags as clap::Args>::augment_args(Command::new(EMULATOR))
        .about("Run the local emulator of the service in the foreground")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulator_subcommand_says_what_it_does() {
        let help = emulator_command().render_help().to_string();
        assert!(
            help.starts_with("Run the local emulator of the service in the foreground"),
            "{help}"
        );
    }

    #[test]
    fn the_command_tree_is_consistent() {
        root(ActionSelection::All).debug_assert();
    }

    #[test]
    fn finds_the_action_after_global_options() {
        let args = [
            "iotexplorer",
            "--region",
            "ap-guangzhou",
            "--dry-run",
            "BatchUpdateFirmware",
            "--ProductID",
            "P",
        ];
        assert_eq!(
            named_action(args).map(|m| m.name),
            Some("BatchUpdateFirmware")
        );
        assert!(named_action(["iotexplorer", "sign", "--action", "X"]).is_none());
        assert!(named_action(["iotexplorer", "--output", "BatchUpdateFirmware"]).is_none());
    }
}
