//! tccli's command-line forms, turned into ours before parsing:
//!
//! - `--version` without a date after it prints the tool's version (with a date, it is the
//!   API version, as in tccli);
//! - `help` after an action is `--help`, as in `tccli iotexplorer BatchUpdateFirmware help`;
//! - with `--cli-unfold-argument`, lists given as separate values
//!   (`--DeviceNames dev001 dev002`) and structures given by dotted paths
//!   (`--Filters.0.Key DeviceName --Filters.0.Value dev002`) become one JSON value per
//!   member, each leaf read as its type in the model.

use std::collections::HashMap;

use iotexplorer_model::{ActionMeta, MemberMeta, ValueType, find_structure};
use serde_json::{Map, Value};

use crate::command::{API_VERSION, CLI_UNFOLD_ARGUMENT, named_action};
use crate::failure::Failure;

/// What the command line asks for once tccli's forms are read.
pub(crate) enum Prepared {
    /// Parse these arguments; `action` is the action they name, looked up once here.
    Args {
        args: Vec<String>,
        action: Option<&'static ActionMeta>,
    },
    /// Print the tool's version.
    PrintVersion,
}

/// Whether `text` is a date `YYYY-MM-DD`, as tccli tells an API version from a flag.
pub(crate) fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        })
}

/// Rewrites tccli's forms in `args` (the first is the program name).
pub(crate) fn prepare(args: Vec<String>) -> Result<Prepared, Failure> {
    let version_flag = format!("--{API_VERSION}");
    if let Some(at) = args.iter().position(|arg| *arg == version_flag)
        && !args.get(at + 1).is_some_and(|next| is_date(next))
    {
        return Ok(Prepared::PrintVersion);
    }
    let Some(meta) = named_action(args.iter().map(String::as_str)) else {
        return Ok(Prepared::Args { args, action: None });
    };
    let action_at = args
        .iter()
        .position(|arg| arg == meta.name)
        .unwrap_or(args.len());
    let mut args: Vec<String> = args
        .into_iter()
        .enumerate()
        .map(|(index, arg)| {
            if index > action_at && arg == "help" {
                "--help".to_owned()
            } else {
                arg
            }
        })
        .collect();
    let unfold_flag = format!("--{CLI_UNFOLD_ARGUMENT}");
    if args.contains(&unfold_flag) {
        args = unfold(meta, args, action_at)?;
    }
    Ok(Prepared::Args {
        args,
        action: Some(meta),
    })
}

/// One member's values as given, before they are assembled.
struct Given {
    path: Vec<String>,
    values: Vec<String>,
    flag: String,
}

fn unfold(meta: &ActionMeta, args: Vec<String>, action_at: usize) -> Result<Vec<String>, Failure> {
    let mut kept = Vec::with_capacity(args.len());
    let mut given: Vec<Given> = Vec::new();
    let mut tokens = args.into_iter().enumerate().peekable();
    while let Some((index, token)) = tokens.next() {
        let member_flag = token
            .strip_prefix("--")
            .filter(|_| index > action_at)
            .map(|name| {
                name.split_once('=')
                    .map_or((name, None), |(n, v)| (n, Some(v)))
            })
            .filter(|(name, _)| {
                let root = name.split('.').next().unwrap_or_default();
                meta.input_member(root).is_some()
            });
        let Some((name, inline)) = member_flag else {
            kept.push(token);
            continue;
        };
        let mut values: Vec<String> = inline.map(str::to_owned).into_iter().collect();
        if inline.is_none() {
            while let Some((_, value)) = tokens.next_if(|(_, next)| !next.starts_with("--")) {
                values.push(value);
            }
        }
        if values.is_empty() {
            return Err(Failure::Usage(format!(
                "--{name} needs a value: with --cli-unfold-argument every member is followed \
                 by its value(s)"
            )));
        }
        given.push(Given {
            path: name.split('.').map(str::to_owned).collect(),
            values,
            flag: format!("--{name}"),
        });
    }
    let mut body = Map::new();
    let mut order: Vec<String> = Vec::new();
    for item in &given {
        let root = &item.path[0];
        let member = meta
            .input_member(root)
            .ok_or_else(|| Failure::Usage(format!("{}: no member {root}", item.flag)))?;
        let leaf = leaf_value(member, &item.path[1..], &item.values, &item.flag)?;
        insert(&mut body, &item.path, leaf, &item.flag)?;
        if !order.contains(root) {
            order.push(root.clone());
        }
    }
    for root in order {
        let Some(value) = body.remove(&root) else {
            continue;
        };
        let value = lists_from_indices(value, &format!("--{root}"))?;
        kept.push(format!("--{root}"));
        kept.push(match value {
            Value::String(text) => text,
            other => other.to_string(),
        });
    }
    Ok(kept)
}

/// The value at the end of `rest` below `member`, read as the model's type there.
fn leaf_value(
    member: &'static MemberMeta,
    rest: &[String],
    values: &[String],
    flag: &str,
) -> Result<Value, Failure> {
    let mut member = member;
    let mut rest = rest;
    loop {
        if member.list {
            match rest.split_first() {
                None => {
                    let items = values
                        .iter()
                        .map(|value| typed(member.value_type, value, flag))
                        .collect::<Result<Vec<_>, _>>()?;
                    return Ok(Value::Array(items));
                }
                Some((index, after)) if index.parse::<usize>().is_ok() => {
                    if after.is_empty() {
                        return single(member.value_type, values, flag);
                    }
                    rest = after;
                }
                Some((other, _)) => {
                    return Err(Failure::Usage(format!(
                        "{flag}: {} is a list, so {other:?} must be an index (0, 1, ...)",
                        member.name
                    )));
                }
            }
        } else if rest.is_empty() {
            return single(member.value_type, values, flag);
        }
        let ValueType::Object(structure) = member.value_type else {
            return Err(Failure::Usage(format!(
                "{flag}: {} has no members",
                member.name
            )));
        };
        let (name, after) = rest
            .split_first()
            .ok_or_else(|| Failure::Usage(format!("{flag}: incomplete path")))?;
        member = find_structure(structure)
            .and_then(|meta| meta.members.iter().find(|m| m.name == name))
            .ok_or_else(|| Failure::Usage(format!("{flag}: {structure} has no member {name}")))?;
        rest = after;
    }
}

fn single(value_type: ValueType, values: &[String], flag: &str) -> Result<Value, Failure> {
    match values {
        [value] => typed(value_type, value, flag),
        _ => Err(Failure::Usage(format!(
            "{flag} takes one value, not {}",
            values.len()
        ))),
    }
}

/// A value read as `value_type`; JSON for a structure given whole.
fn typed(value_type: ValueType, text: &str, flag: &str) -> Result<Value, Failure> {
    crate::member_flags::scalar_value(value_type, text, flag).map_err(|bad| Failure::Usage(bad.0))
}

/// Puts `leaf` at `path`, indices kept as keys until [`lists_from_indices`].
fn insert(
    body: &mut Map<String, Value>,
    path: &[String],
    leaf: Value,
    flag: &str,
) -> Result<(), Failure> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut current = body;
    for segment in parents {
        let next = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        current = next.as_object_mut().ok_or_else(|| {
            Failure::Usage(format!(
                "{flag}: {segment} is given both whole and by its parts"
            ))
        })?;
    }
    if current.insert(last.clone(), leaf).is_some() {
        return Err(Failure::Usage(format!("{flag} is given twice")));
    }
    Ok(())
}

/// Objects keyed `0`, `1`, ... become lists; the indices must start at 0 and have no gaps.
fn lists_from_indices(value: Value, flag: &str) -> Result<Value, Failure> {
    let Value::Object(members) = value else {
        return Ok(value);
    };
    if members.keys().any(|key| key.parse::<usize>().is_ok()) {
        let mut indexed: HashMap<usize, Value> = HashMap::with_capacity(members.len());
        for (key, member) in members {
            let index = key
                .parse::<usize>()
                .map_err(|_| Failure::Usage(format!("{flag}: {key:?} mixed with list indices")))?;
            indexed.insert(index, member);
        }
        let mut items = Vec::with_capacity(indexed.len());
        for index in 0..indexed.len() {
            let item = indexed.remove(&index).ok_or_else(|| {
                Failure::Usage(format!(
                    "the indices of {flag} must start at 0 and go up by 1"
                ))
            })?;
            items.push(lists_from_indices(item, &format!("{flag}.{index}"))?);
        }
        return Ok(Value::Array(items));
    }
    let mut converted = Map::with_capacity(members.len());
    for (key, member) in members {
        let inner = lists_from_indices(member, &format!("{flag}.{key}"))?;
        converted.insert(key, inner);
    }
    Ok(Value::Object(converted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(args: &[&str]) -> Vec<String> {
        let mut all = vec!["iotexplorer".to_owned()];
        all.extend(args.iter().map(|arg| (*arg).to_owned()));
        match prepare(all) {
            Ok(Prepared::Args { args, .. }) => args[1..].to_vec(),
            Ok(Prepared::PrintVersion) => vec!["version".to_owned()],
            Err(err) => vec![format!("error: {err:?}")],
        }
    }

    #[test]
    fn unfolds_lists_and_dotted_paths() {
        assert_eq!(
            prepared(&[
                "--cli-unfold-argument",
                "DescribeFirmwareTasks",
                "--ProductID",
                "P",
                "--Filters.0.Key",
                "Status",
                "--Filters.0.Value",
                "1",
                "--Limit",
                "20",
            ]),
            [
                "--cli-unfold-argument",
                "DescribeFirmwareTasks",
                "--ProductID",
                "P",
                "--Filters",
                r#"[{"Key":"Status","Value":"1"}]"#,
                "--Limit",
                "20"
            ]
        );
        assert_eq!(
            prepared(&[
                "BatchUpdateFirmware",
                "--cli-unfold-argument",
                "--DeviceNames",
                "dev001",
                "dev002",
                "--region",
                "r"
            ]),
            [
                "BatchUpdateFirmware",
                "--cli-unfold-argument",
                "--region",
                "r",
                "--DeviceNames",
                r#"["dev001","dev002"]"#
            ]
        );
        assert!(
            prepared(&[
                "--cli-unfold-argument",
                "DescribeFirmwareTasks",
                "--Filters.1.Name",
                "x"
            ])[0]
                .starts_with("error")
        );
        assert!(
            prepared(&[
                "--cli-unfold-argument",
                "DescribeFirmwareTasks",
                "--Filters.0.Nope",
                "x"
            ])[0]
                .starts_with("error")
        );
        assert!(
            prepared(&["--cli-unfold-argument", "DescribeFirmwareTasks", "--Limit"])[0]
                .starts_with("error")
        );
    }

    #[test]
    fn version_and_help_as_tccli_reads_them() {
        assert_eq!(prepared(&["--version"]), ["version"]);
        assert_eq!(
            prepared(&["DescribeFirmware", "--version", "soon"]),
            ["version"]
        );
        assert_eq!(
            prepared(&["DescribeFirmware", "--version", "2019-04-23"]),
            ["DescribeFirmware", "--version", "2019-04-23"]
        );
        assert_eq!(
            prepared(&["DescribeFirmware", "help"]),
            ["DescribeFirmware", "--help"]
        );
    }
}
