//! The Rust program: the request built with the model's builder (which checks every rule
//! again), sent with the client, and every outcome a caller must handle matched, the
//! ambiguous outcome of a write above all.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use iotexplorer_model::{MemberMeta, ValueType, find_structure};
use serde_json::{Map, Value};

use super::Call;
use super::literal::rust_str;
use crate::failure::Failure;
use iotexplorer_model::naming::{identifier, snake_case};

/// One level of indentation in the program.
const INDENT: &str = "    ";
/// rustfmt's limits (its defaults): a method chain stays on one line when it is at most
/// `CHAIN_WIDTH` wide and its line at most `MAX_WIDTH`, so the programs come out as
/// `cargo fmt` would leave them.
const CHAIN_WIDTH: usize = 60;
const ARRAY_WIDTH: usize = 60;
const MAX_WIDTH: usize = 100;

/// `root` followed by `calls`, on one line when rustfmt would keep it there, else one call
/// per line at `indent`; `lead` is what precedes the chain on its first line.
fn chain(root: &str, calls: &[String], lead: &str, indent: usize) -> (String, bool) {
    let one_line = format!("{root}{}", calls.concat());
    let fits = !one_line.contains('\n')
        && one_line.len() <= CHAIN_WIDTH
        && indent + lead.len() + one_line.len() + 2 <= MAX_WIDTH;
    if fits {
        return (one_line, true);
    }
    let pad = " ".repeat(indent + INDENT.len());
    let mut text = root.to_owned();
    for call in calls {
        text.push('\n');
        text.push_str(&pad);
        text.push_str(call);
    }
    (text, false)
}

/// The program and, in its opening comment, the `Cargo.toml` lines it needs.
pub(crate) fn program(call: &Call<'_>) -> Result<String, Failure> {
    let meta = call.meta;
    let mut structures = BTreeSet::new();
    let request_type = format!("{}Request", meta.name);
    let mut calls = Vec::new();
    for member in meta.input {
        let Some(value) = call.body.get(member.name).filter(|v| !v.is_null()) else {
            continue;
        };
        calls.extend(builder_calls(member, value, 3, &mut structures)?);
    }
    calls.push(".build()".to_owned());
    let (builder, one_line) = chain(
        &format!("{request_type}::builder()"),
        &calls,
        "let request = match ",
        4,
    );
    let builder = if one_line {
        format!("{builder} {{")
    } else {
        format!("{builder}\n    {{")
    };

    let mut uses = vec!["use std::process::ExitCode;".to_owned()];
    if call.timeout_secs.is_some() || call.attempt_timeout_secs.is_some() {
        uses.push("use std::time::Duration;".to_owned());
    }
    uses.push(String::new());
    let mut client_names = vec!["Client", "Error"];
    if call.get {
        client_names.push("HttpMethod");
    }
    if call.language.is_some() {
        client_names.push("Language");
    }
    if call.sign_without_action {
        client_names.push("SignedHeaderSet");
    }
    client_names.sort_unstable();
    if call.emulator {
        uses.push(
            "use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture};"
                .to_owned(),
        );
    }
    if call.profile.is_some() && !call.emulator {
        uses.push("use iotexplorer_http::credentials::DefaultCredentialsChain;".to_owned());
    }
    uses.push(format!(
        "use iotexplorer_http::{{{}}};",
        client_names.join(", ")
    ));
    let mut model_names: Vec<String> = structures.into_iter().collect();
    model_names.push(request_type);
    model_names.sort();
    uses.push(use_list("iotexplorer_model", &model_names));

    let mut out = String::new();
    header(&mut out, call);
    out.push('\n');
    for line in &uses {
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    main_fn(&mut out, call);
    out.push('\n');
    call_fn(&mut out, call, &builder);
    Ok(out)
}

fn header(out: &mut String, call: &Call<'_>) {
    let version = env!("CARGO_PKG_VERSION");
    let _ = writeln!(out, "//! {}: the call as a program.", call.title());
    out.push_str("//!\n//! `Cargo.toml`:\n//!\n//! ```toml\n//! [dependencies]\n");
    if call.emulator {
        let _ = writeln!(out, "//! iotexplorer-emulator = \"{version}\"");
    }
    let _ = writeln!(out, "//! iotexplorer-http = \"{version}\"");
    let _ = writeln!(out, "//! iotexplorer-model = \"{version}\"");
    out.push_str("//! serde_json = \"1\"\n");
    out.push_str(
        "//! tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }\n//! ```\n",
    );
    out.push_str("//!\n");
    if call.emulator {
        out.push_str(
            "//! It starts the local emulator with its demo fixture and sends there, with the\n\
             //! emulator's demo credentials, as `iotexplorer --emulator` does.\n",
        );
    } else {
        out.push_str(
            "//! Credentials: `TENCENTCLOUD_SECRET_ID` and `TENCENTCLOUD_SECRET_KEY` (with\n\
             //! `TENCENTCLOUD_SESSION_TOKEN` for temporary ones), else the profile file\n\
             //! `~/.tencentcloud/credentials`, else the CVM instance role.\n",
        );
    }
    out.push_str("//! Exit codes: 0 success, 1 API error, 2 invalid request, 3 no answer.\n");
}

fn main_fn(out: &mut String, call: &Call<'_>) {
    out.push_str("#[tokio::main]\nasync fn main() -> ExitCode {\n");
    if call.emulator {
        out.push_str(
            "    let emulator = match Emulator::builder()\n        .fixture(Fixture::demo())\n        \
             .start(\"127.0.0.1:0\")\n        .await\n    {\n        Ok(emulator) => emulator,\n        \
             Err(error) => {\n            eprintln!(\"cannot start the emulator: {error}\");\n            \
             return ExitCode::from(3);\n        }\n    };\n",
        );
    }
    let mut settings = Vec::new();
    if call.emulator {
        settings.push(".endpoint_url(emulator.url())".to_owned());
        settings.push(".static_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)".to_owned());
    } else {
        if let Some(endpoint) = &call.endpoint {
            settings.push(format!(".endpoint_url({})", rust_str(&endpoint.url)));
        }
        if let Some(profile) = &call.profile {
            settings.push(format!(
                ".credentials(DefaultCredentialsChain::builder().profile({}).build())",
                rust_str(profile)
            ));
        }
    }
    if let Some(region) = &call.region {
        settings.push(format!(".region({})", rust_str(region)));
    }
    if let Some(language) = &call.language {
        let variant = if language == "zh-CN" { "ZhCn" } else { "EnUs" };
        settings.push(format!(".language(Language::{variant})"));
    }
    if let Some(seconds) = call.timeout_secs {
        settings.push(format!(".call_timeout(Duration::from_secs({seconds}))"));
    }
    if let Some(seconds) = call.attempt_timeout_secs {
        settings.push(format!(".request_timeout(Duration::from_secs({seconds}))"));
    }
    if call.sign_without_action {
        settings.push(".signed_headers(SignedHeaderSet::ContentTypeAndHost)".to_owned());
    }
    if call.get {
        settings.push(".method(HttpMethod::Get)".to_owned());
    }
    settings.push(".build()".to_owned());
    let (client, one_line) = chain("Client::builder()", &settings, "let client = match ", 4);
    if one_line {
        let _ = writeln!(out, "    let client = match {client} {{");
    } else {
        let _ = writeln!(out, "    let client = match {client}\n    {{");
    }
    out.push_str(
        "        Ok(client) => client,\n        Err(error) => {\n            \
         eprintln!(\"cannot set up the client: {error}\");\n            \
         return ExitCode::from(2);\n        }\n    };\n",
    );
    if call.emulator {
        out.push_str(
            "    let code = call(&client).await;\n    emulator.shutdown().await;\n    code\n}\n",
        );
    } else {
        out.push_str("    call(&client).await\n}\n");
    }
}

fn call_fn(out: &mut String, call: &Call<'_>, builder: &str) {
    let meta = call.meta;
    let _ = writeln!(
        out,
        "/// Builds the request (`build()` checks every documented rule, so nothing invalid is\n\
         /// sent), sends it and reports the outcome.\n\
         async fn call(client: &Client) -> ExitCode {{\n    let request = match {builder}"
    );
    out.push_str(
        "        Ok(request) => request,\n        Err(errors) => {\n            \
         eprintln!(\"invalid request: {errors}\");\n            return ExitCode::from(2);\n        \
         }\n    };\n",
    );
    out.push_str(
        "    match client.send(&request).await {\n        Ok(response) => {\n            \
         match serde_json::to_string_pretty(&response) {\n                \
         Ok(text) => println!(\"{text}\"),\n                \
         Err(error) => eprintln!(\"cannot show the response: {error}\"),\n            }\n            \
         ExitCode::SUCCESS\n        }\n",
    );
    if !meta.read_only {
        let check = if meta.name == "BatchUpdateFirmware" {
            "look the task up (DescribeFirmwareTasks)"
        } else {
            "check the state it changes"
        };
        let _ = writeln!(
            out,
            "        // The request was sent and no answer came back: the service may have run it.\n        \
             // The client never resends such a call of an action that changes something;\n        \
             // {check} before sending it again.\n        \
             Err(error @ Error::Ambiguous {{ .. }}) => {{\n            \
             eprintln!(\"outcome unknown, check before retrying: {{error}}\");\n            \
             ExitCode::from(3)\n        }}"
        );
    }
    out.push_str(
        "        // The service answered with an error code (throttling was already retried).\n        \
         Err(Error::Api {\n            code,\n            message,\n            request_id,\n            \
         ..\n        }) => {\n            eprintln!(\n                \
         \"{code}: {message} (RequestId {})\",\n                \
         request_id.as_deref().unwrap_or(\"none\")\n            );\n            \
         ExitCode::from(1)\n        }\n",
    );
    if meta.read_only {
        out.push_str(
            "        // Credentials, network, TLS, timeouts: a read is retried while that is safe.\n",
        );
    } else {
        out.push_str(
            "        // Credentials, network or TLS before anything was sent, or an answer that is not\n        \
             // the API's.\n",
        );
    }
    out.push_str(
        "        Err(error) => {\n            eprintln!(\"the call failed: {error}\");\n            \
         ExitCode::from(3)\n        }\n    }\n}\n",
    );
}

/// The builder calls that set one request member: one call per element of a list.
fn builder_calls(
    member: &MemberMeta,
    value: &Value,
    depth: usize,
    structures: &mut BTreeSet<String>,
) -> Result<Vec<String>, Failure> {
    let ident = identifier(&snake_case(member.name));
    if member.list {
        let items = value.as_array().ok_or_else(|| mismatch(member, value))?;
        if items.is_empty() {
            return Ok(vec![format!(
                ".set_{}(Some(Vec::new()))",
                snake_case(member.name)
            )]);
        }
        // A list's builder method takes `impl Into<T>`, which leaves a bare integer
        // literal typed `i32`: the elements of number lists carry their type.
        let suffix = match member.value_type {
            ValueType::Int64 => "i64",
            ValueType::UInt64 => "u64",
            ValueType::Float => "f64",
            _ => "",
        };
        return items
            .iter()
            .map(|item| {
                element(member, item, depth, false, structures)
                    .map(|expr| format!(".{ident}({expr}{suffix})"))
            })
            .collect();
    }
    let expr = element(member, value, depth, false, structures)?;
    Ok(vec![format!(".{ident}({expr})")])
}

/// One value of `member`'s type as an expression. `owned`: a `String` rather than `&str`
/// (for a structure's fields, which are not converted).
fn element(
    member: &MemberMeta,
    value: &Value,
    depth: usize,
    owned: bool,
    structures: &mut BTreeSet<String>,
) -> Result<String, Failure> {
    // A code-valued member takes its generated type: the variant when the value is listed.
    if let Some(values) = member.enum_meta() {
        let expr = match value {
            Value::Number(number) => number.as_i64().map(|code| {
                values.value_of_number(code).map_or_else(
                    || format!("{}::from({code}i64)", values.name),
                    |known| format!("{}::{}", values.name, known.name),
                )
            }),
            Value::String(text) => Some(values.value_of_text(text).map_or_else(
                || format!("{}::from({})", values.name, rust_str(text)),
                |known| format!("{}::{}", values.name, known.name),
            )),
            _ => None,
        };
        if let Some(expr) = expr {
            structures.insert(values.name.to_owned());
            return Ok(expr);
        }
    }
    let expr = match (member.value_type, value) {
        (ValueType::String | ValueType::Date | ValueType::DateTimeIso, Value::String(text)) => {
            if owned {
                format!("{}.to_owned()", rust_str(text))
            } else {
                rust_str(text)
            }
        }
        (ValueType::Int64, Value::Number(number)) if number.as_i64().is_some() => {
            number.to_string()
        }
        (ValueType::UInt64, Value::Number(number)) if number.as_u64().is_some() => {
            number.to_string()
        }
        (ValueType::Float, Value::Number(number)) => match number.as_f64() {
            // `{:?}` always writes a float literal (`1.0`, `1e21`), never `1`.
            Some(float) => format!("{float:?}"),
            None => return Err(mismatch(member, value)),
        },
        (ValueType::Bool, Value::Bool(flag)) => flag.to_string(),
        (ValueType::Object(name), Value::Object(members)) => {
            structure(name, members, depth, structures)?
        }
        _ => return Err(mismatch(member, value)),
    };
    Ok(expr)
}

/// A block that builds a structure field by field (its fields are public; the type is
/// `#[non_exhaustive]`, so it starts from `Default`).
fn structure(
    name: &str,
    members: &Map<String, Value>,
    depth: usize,
    structures: &mut BTreeSet<String>,
) -> Result<String, Failure> {
    let meta = find_structure(name)
        .ok_or_else(|| Failure::Usage(format!("no structure {name} in the model")))?;
    structures.insert(name.to_owned());
    let pad = INDENT.repeat(depth);
    let mut variable = identifier(&snake_case(name));
    let declaration = |variable: &str| format!("{pad}let mut {variable} = {name}::default();");
    if declaration(&variable).len() > MAX_WIDTH {
        // A short name keeps the line within rustfmt's width.
        variable = "value".to_owned();
    }
    let mut block = format!("{{\n{}\n", declaration(&variable));
    for field in meta.members {
        let Some(value) = members.get(field.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let field_ident = identifier(&snake_case(field.name));
        let target = format!("{pad}{variable}.{field_ident} = ");
        let expr = if field.list {
            let items = value.as_array().ok_or_else(|| mismatch(field, value))?;
            list_literal(field, items, &target, depth, structures)?
        } else {
            element(field, value, depth + 1, true, structures)?
        };
        let line = format!("{target}Some({expr});");
        let next_line = format!("{pad}{INDENT}Some({expr});");
        if !expr.contains('\n') && line.len() > MAX_WIDTH && next_line.len() <= MAX_WIDTH {
            // rustfmt moves a right-hand side that fits on a line of its own there.
            let _ = writeln!(block, "{}\n{next_line}", target.trim_end());
        } else {
            let _ = writeln!(block, "{line}");
        }
    }
    for given in members.keys() {
        if !meta.members.iter().any(|field| field.name == given) {
            return Err(Failure::Usage(format!(
                "{name} has no member {given} (nothing to write it into)"
            )));
        }
    }
    let _ = write!(block, "{pad}{variable}\n{}}}", INDENT.repeat(depth - 1));
    Ok(block)
}

/// A `vec![...]` of a list field: on one line when short, else one element per line, as
/// rustfmt lays out arrays.
fn list_literal(
    field: &MemberMeta,
    items: &[Value],
    target: &str,
    depth: usize,
    structures: &mut BTreeSet<String>,
) -> Result<String, Failure> {
    let blocks = matches!(field.value_type, ValueType::Object(_));
    // Blocks go one level deeper than the field, inside the vertical `vec![`.
    let item_depth = if blocks { depth + 2 } else { depth + 1 };
    let exprs = items
        .iter()
        .map(|item| element(field, item, item_depth, true, structures))
        .collect::<Result<Vec<_>, _>>()?;
    let one_line = format!("vec![{}]", exprs.join(", "));
    // On the field's line, or on a line of its own below it (see `structure`).
    let same_line = target.len() + one_line.len() + "Some();".len() <= MAX_WIDTH;
    let next_line = (depth + 1) * INDENT.len() + one_line.len() + "Some();".len() <= MAX_WIDTH;
    let fits = one_line.len() <= ARRAY_WIDTH && (same_line || next_line);
    if exprs.is_empty() || (!blocks && fits) {
        return Ok(one_line);
    }
    let item_pad = INDENT.repeat(depth + 1);
    let mut text = String::from("vec![\n");
    for expr in exprs {
        let _ = writeln!(text, "{item_pad}{expr},");
    }
    text.push_str(&INDENT.repeat(depth));
    text.push(']');
    Ok(text)
}

/// A `use` of several names from one crate, filled onto lines as rustfmt does when it is
/// too long for one.
fn use_list(krate: &str, names: &[String]) -> String {
    if let [only] = names {
        return format!("use {krate}::{only};");
    }
    let one_line = format!("use {krate}::{{{}}};", names.join(", "));
    // rustfmt keeps a `use` list on one line only up to 98 characters, `;` included.
    if one_line.len() < MAX_WIDTH - 1 {
        return one_line;
    }
    let mut text = format!("use {krate}::{{\n");
    let mut line = String::new();
    for name in names {
        if !line.is_empty() && INDENT.len() + line.len() + 1 + name.len() + 1 > MAX_WIDTH {
            let _ = writeln!(text, "{INDENT}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(name);
        line.push(',');
    }
    let _ = writeln!(text, "{INDENT}{line}");
    text.push_str("};");
    text
}

fn mismatch(member: &MemberMeta, value: &Value) -> Failure {
    Failure::Usage(format!(
        "--{}: {value} is not a {}",
        member.name,
        member.type_description()
    ))
}
