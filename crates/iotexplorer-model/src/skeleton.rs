//! Request skeletons: every input member with a placeholder of its type, for a front end's
//! `--generate-cli-skeleton`.

use serde_json::{Map, Value};

use crate::meta::{ActionMeta, MemberMeta, ValueType, find_structure};

/// Structures nest only a few levels; the limit guards against a cycle in the tables.
const MAX_DEPTH: usize = 8;

impl ActionMeta {
    /// A JSON object with every input member of the action, each holding a placeholder of
    /// its type: `""`, `0`, `0.0`, `false`, a one-element list, or a nested object.
    ///
    /// ```
    /// let action = iotexplorer_model::find_action("DescribeFirmwareTasks").unwrap();
    /// let skeleton = action.skeleton();
    /// assert_eq!(skeleton["Limit"], 0);
    /// assert_eq!(skeleton["Filters"], serde_json::json!([{"Key": "", "Value": ""}]));
    /// ```
    pub fn skeleton(&self) -> Value {
        members_skeleton(self.input, 0)
    }
}

fn members_skeleton(members: &[MemberMeta], depth: usize) -> Value {
    let fields: Map<String, Value> = members
        .iter()
        .map(|member| (member.name.to_owned(), member_skeleton(member, depth)))
        .collect();
    Value::Object(fields)
}

fn member_skeleton(member: &MemberMeta, depth: usize) -> Value {
    let one = match member.value_type {
        ValueType::String | ValueType::Date | ValueType::DateTimeIso => Value::from(""),
        ValueType::Int64 | ValueType::UInt64 => Value::from(0),
        ValueType::Float => Value::from(0.0),
        ValueType::Bool => Value::from(false),
        ValueType::Object(name) => match find_structure(name) {
            Some(structure) if depth < MAX_DEPTH => members_skeleton(structure.members, depth + 1),
            _ => Value::Object(Map::new()),
        },
    };
    if member.list {
        Value::Array(vec![one])
    } else {
        one
    }
}
