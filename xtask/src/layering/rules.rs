//! The source rules, as matchers over one file's tokens. Each returns the offending lines;
//! the tests in `mod.rs` apply them to the workspace and the tests below to small snippets.

use std::collections::BTreeSet;

use super::lexer::{Kind, Token};

/// The client's methods that take an action by its name (or its metadata) and JSON, rather
/// than a typed request: the generic path, for a caller that holds no action type.
pub(super) const BY_NAME_METHODS: &[&str] = &["send_json", "send_json_unchecked", "preview_json"];

/// One rule broken on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hit {
    pub(super) line: usize,
    pub(super) what: String,
}

fn hit(token: &Token, what: String) -> Hit {
    Hit {
        line: token.line,
        what,
    }
}

/// Calls of [`BY_NAME_METHODS`]: `.send_json(` or `Client::send_json(`.
pub(super) fn by_name_calls(tokens: &[Token]) -> Vec<Hit> {
    tokens
        .windows(3)
        .filter(|w| {
            (w[0].is_punct(".") || w[0].is_punct("::"))
                && w[1]
                    .ident()
                    .is_some_and(|name| BY_NAME_METHODS.contains(&name))
                && (w[2].is_punct("(") || w[2].is_punct("::"))
        })
        .map(|w| {
            hit(
                &w[1],
                format!("calls `{}`", w[1].ident().unwrap_or_default()),
            )
        })
        .collect()
}

/// String literals equal to the name of an action of the model.
pub(super) fn action_name_literals(tokens: &[Token], actions: &BTreeSet<String>) -> Vec<Hit> {
    tokens
        .iter()
        .filter_map(|token| {
            let text = token.string()?;
            actions
                .contains(text)
                .then(|| hit(token, format!("the action name \"{text}\" as a string")))
        })
        .collect()
}

/// Words a status constant is named by: the states themselves.
const STATE_WORDS: &[&str] = &[
    "DONE",
    "FAILED",
    "FAILURE",
    "RUNNING",
    "PENDING",
    "CANCELLED",
    "CANCELED",
    "TIMEOUT",
    "TIMED",
    "SUCCEEDED",
    "SUCCESS",
    "FINISHED",
    "DOWNLOADING",
    "DOWNLOADED",
    "BURNING",
    "OFFLINE",
    "ONLINE",
    "PROCESSING",
    "WAITING",
    "SENT",
];

/// Words that may qualify a state in a status constant's name (`TASK_CANCELLED`).
const QUALIFIER_WORDS: &[&str] = &[
    "TASK", "DEVICE", "UPDATE", "UPGRADE", "OTA", "FIRMWARE", "OUT", "CODE", "MESSAGE",
];

/// Whether a constant's name says it is a status: it has the word `STATUS`, or it is made
/// only of state words and their qualifiers (`DONE`, `TASK_CANCELLED`, `TIMED_OUT`), so that
/// `HEADER_TIMEOUT` or `DEFAULT_TIMEOUT_INTERVAL` are not taken for one.
pub(super) fn is_status_name(name: &str) -> bool {
    let words: Vec<String> = name.split('_').map(str::to_ascii_uppercase).collect();
    words.iter().any(|word| word == "STATUS")
        || (words
            .iter()
            .any(|word| STATE_WORDS.contains(&word.as_str()))
            && words.iter().all(|word| {
                STATE_WORDS.contains(&word.as_str()) || QUALIFIER_WORDS.contains(&word.as_str())
            }))
}

/// An integer literal at `at`, with an optional leading minus: its value and length.
fn integer_at(tokens: &[Token], at: usize) -> Option<(i128, usize)> {
    let negative = tokens.get(at)?.is_punct("-");
    let start = at + usize::from(negative);
    match tokens.get(start)?.kind {
        Kind::Int(Some(value)) => Some((if negative { -value } else { value }, start - at + 1)),
        _ => None,
    }
}

/// An integer written through a wrapper that does not change what it means: `6`, `-1`,
/// `Some(6)`, `json!(6)`, `Value::from(6)`.
fn wrapped_integer_at(tokens: &[Token], at: usize) -> Option<i128> {
    if let Some((value, _)) = integer_at(tokens, at) {
        return Some(value);
    }
    let mut at = at;
    // `Value::from(` / `serde_json::Value::from(`
    while tokens.get(at)?.ident().is_some() && tokens.get(at + 1)?.is_punct("::") {
        at += 2;
    }
    let name = tokens.get(at)?.ident()?;
    let open = if tokens.get(at + 1)?.is_punct("!") {
        at + 2
    } else {
        at + 1
    };
    if !["Some", "json", "from", "Number"].contains(&name) || !tokens.get(open)?.is_punct("(") {
        return None;
    }
    let (value, length) = integer_at(tokens, open + 1)?;
    tokens
        .get(open + 1 + length)?
        .is_punct(")")
        .then_some(value)
}

/// Whether an identifier names a status: it contains `status` in any case, but not an HTTP
/// one (`http_status`, `StatusCode`, `status_code`).
fn is_status_ident(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("status")
        && !lower.contains("http")
        && !lower.contains("status_code")
        && !lower.contains("statuscode")
}

const COMPARISONS: &[&str] = &["==", "!=", "<", ">", "<=", ">="];

/// Status numbers written outside generated code. `codes` are the numbers of the model's
/// status types (0 to 20): an identifier that says status is flagged only when compared
/// with or given one of them, which keeps HTTP statuses (`status >= 500`) out.
pub(super) fn status_numbers(tokens: &[Token], codes: &BTreeSet<i128>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        // `const DONE: i64 = 6;`
        if token.is_ident("const")
            && let Some(name) = tokens.get(at + 1).and_then(Token::ident)
            && is_status_name(name)
            && tokens.get(at + 2).is_some_and(|t| t.is_punct(":"))
            && let Some(equals) = tokens[at..]
                .iter()
                .position(|t| t.is_punct("=") || t.is_punct(";"))
                .map(|offset| at + offset)
            && tokens[equals].is_punct("=")
            && let Some((value, length)) = integer_at(tokens, equals + 1)
            && tokens
                .get(equals + 1 + length)
                .is_some_and(|t| t.is_punct(";"))
        {
            hits.push(hit(
                token,
                format!("the status constant `{name}` is the number {value}"),
            ));
        }
        // `"Status": 6` in a JSON literal; `"TaskStatus": 1` when 1 is a status number.
        if let Some(member) = token.string()
            && tokens.get(at + 1).is_some_and(|t| t.is_punct(":"))
            && let Some((value, _)) = integer_at(tokens, at + 2)
            && (member == "Status"
                || (member.ends_with("Status")
                    && member.chars().all(|c| c.is_ascii_alphanumeric())
                    && codes.contains(&value)))
        {
            hits.push(hit(
                token,
                format!("the JSON member \"{member}\" is given {value}"),
            ));
        }
        // `FirmwareUpdateStatus::from_code(6)` / `TaskStatus::from(6)`
        if token.ident().is_some_and(is_status_ident)
            && tokens.get(at + 1).is_some_and(|t| t.is_punct("::"))
            && tokens.get(at + 2).is_some_and(|t| {
                t.is_ident("from_code") || t.is_ident("from") || t.is_ident("Unknown")
            })
            && tokens.get(at + 3).is_some_and(|t| t.is_punct("("))
            && let Some((value, _)) = integer_at(tokens, at + 4)
        {
            hits.push(hit(
                token,
                format!(
                    "`{}` is built from the number {value}",
                    token.ident().unwrap_or_default()
                ),
            ));
        }
        // `status == 6`, `task.status = 6`, `Status: 6`, `task["Status"].as_i64() == Some(6)`
        if let Some(end) = status_operand_end(tokens, at)
            && let Some(op) = tokens.get(end)
            && let Kind::Punct(op_text) = &op.kind
            && (COMPARISONS.contains(&op_text.as_str()) || op_text == "=" || op_text == ":")
            && let Some(value) = wrapped_integer_at(tokens, end + 1)
            && codes.contains(&value)
            // `"Status": 6` is reported above.
            && !(token.string().is_some() && op_text == ":")
        {
            hits.push(hit(
                token,
                format!("a status is compared with or given the number {value}"),
            ));
        }
        // `.status(6)`: a builder or setter whose name says status, given a status number.
        if token.is_punct(".")
            && let Some(method) = tokens.get(at + 1).and_then(Token::ident)
            && is_status_ident(method)
            && tokens.get(at + 2).is_some_and(|t| t.is_punct("("))
            && let Some(value) = wrapped_integer_at(tokens, at + 3)
            && codes.contains(&value)
        {
            hits.push(hit(
                &tokens[at + 1],
                format!("`.{method}(..)` is given the status number {value}"),
            ));
        }
        // `status.unwrap_or(0)`: a status read with a number for its default.
        if let Some(end) = status_operand_end(tokens, at)
            && tokens.get(end).is_some_and(|t| t.is_punct("."))
            && tokens
                .get(end + 1)
                .is_some_and(|t| t.is_ident("unwrap_or") || t.is_ident("map_or"))
            && tokens.get(end + 2).is_some_and(|t| t.is_punct("("))
            && let Some((value, _)) = integer_at(tokens, end + 3)
            && codes.contains(&value)
        {
            hits.push(hit(
                token,
                format!("a status defaults to the number {value}"),
            ));
        }
        // `6 == status`
        if let Some((value, length)) = integer_at(tokens, at)
            && (at == 0 || !tokens[at - 1].is_punct("."))
            && let Some(op) = tokens.get(at + length)
            && COMPARISONS.iter().any(|c| op.is_punct(c))
            && tokens
                .get(at + length + 1)
                .and_then(Token::ident)
                .is_some_and(is_status_ident)
            && codes.contains(&value)
        {
            hits.push(hit(
                token,
                format!("a status is compared with the number {value}"),
            ));
        }
        // `match status { 6 => .. }`
        if token.is_ident("match") {
            hits.extend(status_match_arms(tokens, at, codes));
        }
    }
    // One report per line: `const STATUS_DONE: i64 = 6` breaks two forms at once.
    hits.sort_by_key(|hit| hit.line);
    hits.dedup_by_key(|hit| hit.line);
    hits
}

/// Methods that read a status's number without changing it (`status.len()` is no status).
const VALUE_READERS: &[&str] = &[
    "as_i64", "as_u64", "code", "clone", "into", "unwrap", "and_then", "map", "copied",
];

/// The index of the `)` that closes the `(` at `open`.
fn closing_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (offset, token) in tokens.get(open..)?.iter().enumerate() {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some(open + offset);
            }
        }
    }
    None
}

/// If a status operand starts at `at` (an identifier that says status, or `["Status"]`),
/// the index just past it and any `.method()` calls and `?` after it.
fn status_operand_end(tokens: &[Token], at: usize) -> Option<usize> {
    let token = tokens.get(at)?;
    let mut end = if token.ident().is_some_and(is_status_ident) {
        // The last segment of a path or field chain, not `status.len` and friends: the
        // identifier is followed by what the chain does with it.
        at + 1
    } else if token.string() == Some("Status")
        && at > 0
        && ((tokens[at - 1].is_punct("[") && tokens.get(at + 1)?.is_punct("]"))
            || (tokens[at - 1].is_punct("(") && tokens.get(at + 1)?.is_punct(")")))
    {
        // `row["Status"]`, `row.get("Status")`, and the calls that read it:
        // `lenient_i64(row.get("Status"))`.
        let mut end = at + 2;
        while tokens.get(end).is_some_and(|t| t.is_punct(")")) {
            end += 1;
        }
        end
    } else {
        return None;
    };
    // `let status: i64 = 6`: the type between the name and `=`.
    if tokens.get(end)?.is_punct(":")
        && tokens.get(end + 1)?.ident().is_some()
        && tokens.get(end + 2)?.is_punct("=")
    {
        end += 2;
    }
    loop {
        if tokens.get(end)?.is_punct("?") {
            end += 1;
        } else if tokens.get(end)?.is_punct(".")
            && tokens
                .get(end + 1)?
                .ident()
                .is_some_and(|method| VALUE_READERS.contains(&method))
            && tokens.get(end + 2)?.is_punct("(")
        {
            end = closing_paren(tokens, end + 2)? + 1;
        } else {
            return Some(end);
        }
    }
}

/// The arms of a `match` over a status operand that are status numbers.
fn status_match_arms(tokens: &[Token], at: usize, codes: &BTreeSet<i128>) -> Vec<Hit> {
    let Some(open) = tokens[at..]
        .iter()
        .position(|t| t.is_punct("{"))
        .map(|offset| at + offset)
    else {
        return Vec::new();
    };
    let scrutinee_is_status = (at + 1..open).any(|i| status_operand_end(tokens, i).is_some());
    if !scrutinee_is_status {
        return Vec::new();
    }
    let mut hits = Vec::new();
    let mut depth = 0usize;
    for index in open..tokens.len() {
        let token = &tokens[index];
        if token.is_punct("{") || token.is_punct("(") || token.is_punct("[") {
            depth += 1;
        } else if token.is_punct("}") || token.is_punct(")") || token.is_punct("]") {
            depth -= 1;
            if depth == 0 {
                break;
            }
        } else if depth == 1
            && let Some((value, length)) = integer_at(tokens, index)
            && tokens[index - 1..=index - 1]
                .iter()
                .any(|t| t.is_punct("{") || t.is_punct(",") || t.is_punct("|") || t.is_punct("}"))
            && tokens.get(index + length).is_some_and(|t| {
                t.is_punct("=>") || t.is_punct("|") || t.is_punct(".") || t.is_ident("if")
            })
            && codes.contains(&value)
        {
            hits.push(hit(
                token,
                format!("a match over a status has the arm {value}"),
            ));
        }
    }
    hits
}

/// Uses of clap: the `clap` path anywhere in the tokens.
pub(super) fn clap_uses(tokens: &[Token]) -> Vec<Hit> {
    tokens
        .iter()
        .filter(|token| token.is_ident("clap"))
        .map(|token| hit(token, "uses clap".to_owned()))
        .collect()
}

/// What pure signing code never names: the file system, the network and I/O (`std::fs`,
/// `std::net`, `std::io`, also inside `std::{..}`), a clock (`SystemTime`, `Instant`,
/// `now_utc`), HTTP (`hyper*`, a path through `http::`), serialisation (`serde*`), a
/// runtime (`tokio*`) or a crate of this workspace (`iotexplorer_*`).
pub(super) fn impure_uses(tokens: &[Token]) -> Vec<Hit> {
    const STD_MODULES: &[&str] = &["fs", "net", "io"];
    const CLOCKS: &[&str] = &["SystemTime", "Instant", "now_utc"];
    const PREFIXES: &[&str] = &["hyper", "serde", "tokio", "iotexplorer_"];
    let mut hits = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let Some(name) = token.ident() else {
            continue;
        };
        let next = tokens.get(at + 1);
        let path_goes_on = next.is_some_and(|next| next.is_punct("::"));
        if name == "std" && path_goes_on {
            for module in std_modules_named(tokens, at + 2) {
                if STD_MODULES.contains(&module.as_str()) {
                    hits.push(hit(token, format!("uses `std::{module}`")));
                }
            }
        } else if CLOCKS.contains(&name)
            || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
            || (name == "http" && path_goes_on)
        {
            hits.push(hit(token, format!("uses `{name}`")));
        }
    }
    hits
}

/// The modules of `std` a path names from `at` (just after `std::`): one name, or each
/// first name of a `{..}` group.
fn std_modules_named(tokens: &[Token], at: usize) -> Vec<String> {
    let Some(first) = tokens.get(at) else {
        return Vec::new();
    };
    if let Some(name) = first.ident() {
        return vec![name.to_owned()];
    }
    if !first.is_punct("{") {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut expecting_name = true;
    for token in &tokens[at..] {
        if token.is_punct("{") {
            depth += 1;
            expecting_name = depth == 1;
        } else if token.is_punct("}") {
            depth -= 1;
            if depth == 0 {
                break;
            }
        } else if depth == 1 && token.is_punct(",") {
            expecting_name = true;
        } else if expecting_name {
            if let Some(name) = token.ident() {
                names.push(name.to_owned());
            }
            expecting_name = false;
        }
    }
    names
}

#[cfg(test)]
mod snippets {
    use super::super::lexer::tokens;
    use super::super::sources::without_test_items;
    use super::*;

    fn codes() -> BTreeSet<i128> {
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 20].into_iter().collect()
    }

    fn status_lines(source: &str) -> Vec<usize> {
        status_numbers(&without_test_items(&tokens(source)), &codes())
            .into_iter()
            .map(|h| h.line)
            .collect()
    }

    #[test]
    fn status_numbers_are_found_in_every_form() {
        let flagged = [
            "pub const DONE: i64 = 6;",
            "pub(crate) const CANCELLED: i64 = 6;",
            "const TASK_CANCELLED: u8 = 6;",
            "const TIMED_OUT: i64 = 10;",
            "const DEVICE_STATUS_FAILED: i64 = 5;",
            "const STATUS_DONE: i64 = 6_i64;",
            "const CANCEL_STATUS: i32 = -1;",
            "const DEVICE_ONLINE: i64 = 1;",
            r#"let p = json!({"ProductId": id, "TaskId": task, "Status": 6});"#,
            r#"let p = json!({"Status":1});"#,
            r#"let p = json!({"TaskStatus": 2});"#,
            "if status == 6 { }",
            "if record.status != 5 { }",
            "if device.update_status >= 4 { }",
            "if 6 == status { }",
            "let status = 6;",
            "let status: i64 = 6;",
            "task.status = 6;",
            "Row { Status: 6, Name: n }",
            "Row { status: 6 }",
            r#"if row["Status"] == 6 { }"#,
            r#"if row["Status"].as_i64() == Some(6) { }"#,
            "if task_status.code() == 3 { }",
            "if status? == 6 { }",
            r#"let s = lenient_i64(device.get("Status")).unwrap_or(0);"#,
            r#"let s = row.get("Status").and_then(Value::as_i64) == Some(6);"#,
            "let s = task.status.unwrap_or(1);",
            "let s = FirmwareUpdateStatus::from_code(6);",
            "let s = TaskStatus::from(1);",
            "let s = FirmwareTaskStatus::Unknown(0);",
            "let r = UpdateOtaTaskStatusRequest::builder().status(6).build();",
            "request.set_status(Some(6));",
            "match status { 6 => done(), _ => other() }",
            "match task.status.code() { 5 | 10 => failed(), _ => {} }",
        ];
        for snippet in flagged {
            assert_eq!(status_lines(snippet), [1], "not flagged: {snippet}");
        }
    }

    #[test]
    fn other_numbers_and_other_statuses_are_not_taken_for_status_numbers() {
        let clean = [
            // HTTP statuses are not in the model's status codes.
            "Error::HttpStatus { status, .. } => read_only && (*status >= 500 || *status == 429),",
            "if response.status() == 200 { }",
            "let r = Response::builder().status(429).body(b);",
            "let r = builder.status(StatusCode::OK);",
            ".status(FirmwareTaskStatus::Cancelled)",
            "if http_status == 5 { }",
            "if status_code == 6 { }",
            // Names that are not status names.
            "const DEFAULT_TIMEOUT_INTERVAL: u64 = 300;",
            "const HEADER_TIMEOUT: u64 = 10;",
            "const MAX_PENDING: usize = 8;",
            "const LOCK_WAIT: Duration = Duration::from_secs(3);",
            "const STATUS: &str = \"status\";",
            "const DONE: FirmwareUpdateStatus = FirmwareUpdateStatus::Done;",
            "const SUCCESS_STEPS: f64 = 4.0;",
            // Statuses through their types.
            "if status == FirmwareUpdateStatus::Done { }",
            "let status = FirmwareTaskStatus::Cancelled;",
            r#"json!({"Status": FirmwareTaskStatus::Cancelled})"#,
            "let statuses = vec![a, b]; let n = statuses.len() == 3;",
            "let status = other; let x = 6;",
            "match status { FirmwareUpdateStatus::Done => 6, _ => 5 }",
            "match count { 6 => a(), _ => b() }",
            // Other members given numbers.
            r#"json!({"TaskId": 6, "Offset": 0})"#,
            r#"json!({"HttpStatus": 500, "status": 200})"#,
            // Comments, strings and test code.
            "// if status == 6 {}",
            "/* const DONE: i64 = 6; */",
            r#"let text = "status == 6";"#,
            "#[cfg(test)] mod tests { const DONE: i64 = 6; }",
            "#[test] fn done() { assert!(status == 6); }",
        ];
        for snippet in clean {
            assert_eq!(
                status_lines(snippet),
                Vec::<usize>::new(),
                "flagged: {snippet}"
            );
        }
    }

    #[test]
    fn status_numbers_are_reported_on_their_lines() {
        let source = "fn a() {}\n/* long\ncomment */\nconst DONE: i64 = 6;\nlet s = r#\"x\ny\"#;\nif status == 5 {}\n";
        assert_eq!(status_lines(source), [4, 7]);
    }

    #[test]
    fn impure_uses_are_found_in_code_only() {
        let source = r#"
use std::fs::File;
use std::{collections::BTreeMap, io::Write, net};
let now = std::time::SystemTime::now(); // Instant in a comment
let text = "hyper, serde and tokio in a string";
fn f(r: http::Request<()>) -> serde_json::Value { tokio::spawn(hyper_util::x()) }
let http = 1; let io = iotexplorer_model::VERSION;
/// `std::fs` in a doc comment
#[cfg(test)]
mod tests { use std::fs; }
"#;
        let found = impure_uses(&without_test_items(&tokens(source)));
        let shown: Vec<(usize, &str)> = found
            .iter()
            .map(|hit| (hit.line, hit.what.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (2, "uses `std::fs`"),
                (3, "uses `std::io`"),
                (3, "uses `std::net`"),
                (4, "uses `SystemTime`"),
                (6, "uses `http`"),
                (6, "uses `serde_json`"),
                (6, "uses `tokio`"),
                (6, "uses `hyper_util`"),
                (7, "uses `iotexplorer_model`"),
            ]
        );
    }

    #[test]
    fn by_name_calls_and_action_literals_are_found() {
        let source = r#"
client.send_json("UpdateOtaTaskStatus", false, &params).await;
client.send_json_unchecked("BatchUpdateFirmware", false, &p).await;
Client::preview_json(&client, meta, &p);
client.send_json_unchecked(name, true, &p);
client.send(&request).await; // send_json("x")
let send_json = 1;
"#;
        let found = by_name_calls(&tokens(source));
        let lines: Vec<usize> = found.iter().map(|h| h.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);

        let actions: BTreeSet<String> = ["UpdateOtaTaskStatus", "BatchUpdateFirmware"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let literals = action_name_literals(&tokens(source), &actions);
        let lines: Vec<usize> = literals.iter().map(|h| h.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(
            action_name_literals(&tokens(r#"let a = "BatchUpdateFirmwares";"#), &actions)
                .is_empty()
        );
    }

    #[test]
    fn clap_is_found_in_code_only() {
        assert_eq!(clap_uses(&tokens("use clap::Parser;")).len(), 1);
        assert_eq!(
            clap_uses(&tokens("#[derive(clap::Args)] struct A;")).len(),
            1
        );
        assert!(clap_uses(&tokens("// like clap\nlet s = \"clap\";")).is_empty());
    }
}
