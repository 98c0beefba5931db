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
             3 network, credential or transport error.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
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
    Arg::new(name).long(name).global(true).help(help)
}

fn global_args() -> Vec<Arg> {
    vec![
        global("region", "Region, sent as X-TC-Region (e.g. ap-guangzhou)").value_name("REGION"),
        global(
            "endpoint",
            "Full endpoint URL (http:// only for loopback addresses)",
        )
        .value_name("URL"),
        global("profile", "Profile of the credentials file to use").value_name("NAME"),
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
        global("timeout", "Whole-request timeout in seconds")
            .value_name("SECS")
            .value_parser(clap::value_parser!(u64).range(1..)),
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
            "Start the embedded emulator with its demo fixture and send there",
        )
        .action(ArgAction::SetTrue),
        global(
            "debug",
            "Print the request and response exchange on stderr (secrets redacted)",
        )
        .action(ArgAction::SetTrue),
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
    let mut command = Command::new(meta.name)
        .about(about)
        .long_about(long_about)
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
            "Prints the canonical request, its hash, the string to sign and the signature of \
             a request, or with --verify says which stage differs from a given Authorization \
             header. The SecretId and SecretKey come from TENCENTCLOUD_SECRET_ID and \
             TENCENTCLOUD_SECRET_KEY, or the key from standard input with --secret-key-stdin; \
             the key is never printed.",
        )
        .arg(arg("action", "Action name, sent as X-TC-Action").required(true))
        .arg(
            arg("timestamp", "X-TC-Timestamp in Unix seconds")
                .required(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(i64)),
        )
        .arg(arg("host", "Host header").default_value("iotexplorer.tencentcloudapi.com"))
        .arg(arg("service", "Service of the credential scope").default_value("iotexplorer"))
        .arg(
            arg("http-method", "HTTP method")
                .value_parser(PossibleValuesParser::new(["POST", "GET"]))
                .default_value("POST"),
        )
        .arg(arg("body", "POST body, exactly as sent").value_name("TEXT"))
        .arg(arg("query", "GET query string, exactly as sent").value_name("QUERY"))
        .arg(arg("content-type", "Content-Type (default: by method)").value_name("TYPE"))
        .arg(
            arg("signed-headers", "Headers to sign")
                .value_parser(PossibleValuesParser::new([
                    "content-type;host",
                    "content-type;host;x-tc-action",
                ]))
                .default_value("content-type;host"),
        )
        .arg(arg("secret-key-stdin", "Read the SecretKey from standard input").action(ArgAction::SetTrue))
        .arg(arg("verify", "An Authorization header to compare with").value_name("AUTHORIZATION"))
        .arg(
            arg(
                "reveal-authorization",
                "Print the full Authorization header (it authorises this exact request for 5 minutes)",
            )
            .action(ArgAction::SetTrue),
        )
}

fn emulator_command() -> Command {
    // The same flags as the `iotexplorer-emulator` binary, from the same definition.
    <iotexplorer_emulator::ServeArgs as clap::Args>::augment_args(
        Command::new(EMULATOR).about("Run the local emulator of the service in the foreground"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
