//! The response as tccli shows it: every member of the action's response model, `null`
//! where the service sent none, nested structures too, in the model's order.
//!
//! tccli passes the answer through the SDK's model, which drops members it does not know
//! and adds the absent ones as `null`. JSON output keeps what the service sent beyond the
//! model (after the model's members), so nothing new is hidden; text and table output
//! show the model's members only, as tccli does, so that their columns stay where
//! scripts expect them.

use iotexplorer_model::{MemberMeta, ValueType, find_structure};
use serde_json::{Map, Value};

/// `value` completed with the model's `members`; members the model does not know are
/// kept (after the others) when `keep_unknown`, and their paths collected in `unknown`.
pub(crate) fn complete(
    members: &[MemberMeta],
    value: &Value,
    keep_unknown: bool,
    unknown: &mut Vec<String>,
) -> Value {
    object(members, value, keep_unknown, "", unknown)
}

fn object(
    members: &[MemberMeta],
    value: &Value,
    keep_unknown: bool,
    path: &str,
    unknown: &mut Vec<String>,
) -> Value {
    let Some(sent) = value.as_object() else {
        // Not an object where the model has one: shown as sent.
        return value.clone();
    };
    let mut completed = Map::with_capacity(members.len());
    for member in members {
        let shown = match sent.get(member.name) {
            None => Value::Null,
            Some(inner) => member_value(
                member,
                inner,
                keep_unknown,
                &join(path, member.name),
                unknown,
            ),
        };
        completed.insert(member.name.to_owned(), shown);
    }
    for (name, inner) in sent {
        if members.iter().any(|member| member.name == name) {
            continue;
        }
        unknown.push(join(path, name));
        if keep_unknown {
            completed.insert(name.clone(), inner.clone());
        }
    }
    Value::Object(completed)
}

fn member_value(
    member: &MemberMeta,
    value: &Value,
    keep_unknown: bool,
    path: &str,
    unknown: &mut Vec<String>,
) -> Value {
    let ValueType::Object(name) = member.value_type else {
        return value.clone();
    };
    let Some(structure) = find_structure(name) else {
        return value.clone();
    };
    match value {
        Value::Array(items) if member.list => Value::Array(
            items
                .iter()
                .map(|item| {
                    object(
                        structure.members,
                        item,
                        keep_unknown,
                        &format!("{path}[]"),
                        unknown,
                    )
                })
                .collect(),
        ),
        other => object(structure.members, other, keep_unknown, path, unknown),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_members_become_null_and_unknown_ones_are_noted() {
        let meta = iotexplorer_model::find_action("DescribeFirmwareTasks").expect("action");
        let sent =
            json!({"TaskInfos": [{"TaskId": 1, "Surprise": true}], "RequestId": "r", "New": 1});
        let mut unknown = Vec::new();
        let shown = complete(meta.output, &sent, false, &mut unknown);
        assert_eq!(shown["Total"], Value::Null);
        assert_eq!(shown["TaskInfos"][0]["TaskId"], 1);
        assert!(shown["TaskInfos"][0].get("Surprise").is_none());
        assert!(shown.get("New").is_none());
        assert_eq!(unknown, ["TaskInfos[].Surprise", "New"]);
        let kept = complete(meta.output, &sent, true, &mut Vec::new());
        assert_eq!(kept["New"], 1);
        let keys: Vec<&String> = kept.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["TaskInfos", "Total", "RequestId", "New"]);
    }
}
