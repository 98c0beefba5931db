//! Turning a received HTTP request into an action's parameters as JSON.
//!
//! POST bodies are JSON already. GET query strings (and legacy form bodies) flatten lists
//! as `Name.N` and structures as `Name.Field`; they are rebuilt into the JSON the POST form
//! would carry, typed by the model's member metadata, so one validator serves both.

use std::collections::BTreeMap;

use iotexplorer_model::{ApiError, ErrorCode, MemberMeta, ValueType, find_structure};
use serde_json::{Map, Number, Value};

/// The most dot-separated parts a flattened parameter name may have. The deepest input of
/// the whole API (a list of structures holding a list of structures) needs 6; anything
/// deeper is refused before the tree is built, so nothing recurses deeper than this.
pub(crate) const MAX_NAME_PARTS: usize = 16;

/// A request as received, detached from hyper.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Headers,
    pub(crate) body: bytes::Bytes,
}

impl Incoming {
    /// The value of header `name` (case-insensitive), trimmed.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(str::trim)
    }
}

/// Header names and values as received, in order, all in one buffer: a request costs two
/// allocations for its headers rather than two per header. Names are kept in lower case,
/// as hyper gives them.
#[derive(Debug, Default)]
pub(crate) struct Headers {
    text: String,
    /// Per header, where its name and then its value end in `text`; each name starts
    /// where the value before it ended.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// The headers of a hyper request; a value that is not UTF-8 is taken with
    /// replacement characters, so that it can still be named in a signature (and fail).
    pub(crate) fn from_map(map: &hyper::HeaderMap) -> Self {
        let length = map
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let mut headers = Self {
            text: String::with_capacity(length),
            ends: Vec::with_capacity(map.len()),
        };
        for (name, value) in map {
            // Visible ASCII, the common case, is checked faster than UTF-8 is decoded.
            let text = value.to_str().map_or_else(
                |_| String::from_utf8_lossy(value.as_bytes()),
                std::borrow::Cow::Borrowed,
            );
            headers.push(name.as_str(), &text);
        }
        headers
    }

    /// Headers from `(name, value)` pairs, in order.
    #[cfg(test)]
    pub(crate) fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut headers = Self::default();
        for (name, value) in pairs {
            headers.push(&name.as_ref().to_ascii_lowercase(), value.as_ref());
        }
        headers
    }

    fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// Every `(name, value)`, in the order received.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            // Every end was recorded at a character boundary as the text was written.
            let name = self.text.get(start..name_end).unwrap_or_default();
            let value = self.text.get(name_end..value_end).unwrap_or_default();
            start = value_end;
            (name, value)
        })
    }

    /// The value of the first header named `name`, but for ASCII case.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        // The names kept are in lower case: one in lower case too is compared as it is.
        let lower = !name.bytes().any(|b| b.is_ascii_uppercase());
        let mut start = 0;
        for &(name_end, value_end) in &self.ends {
            // Names of another length differ whatever their case, and are not sliced.
            if name_end - start == name.len() {
                let candidate = self.text.get(start..name_end).unwrap_or_default();
                let same = if lower {
                    candidate == name
                } else {
                    candidate.eq_ignore_ascii_case(name)
                };
                if same {
                    return Some(self.text.get(name_end..value_end).unwrap_or_default());
                }
            }
            start = value_end;
        }
        None
    }

    /// How many headers there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Splits `a=1&b=2` into decoded pairs, in order.
pub(crate) fn decode_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let high = bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16));
                let low = bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16));
                if let (Some(high), Some(low)) = (high, low) {
                    out.push((high * 16 + low) as u8);
                    index += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A tree of flattened names before types are known.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Branch(BTreeMap<String, Node>),
}

fn insert(tree: &mut BTreeMap<String, Node>, path: &[&str], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        tree.insert((*first).to_owned(), Node::Leaf(value));
        return;
    }
    let entry = tree
        .entry((*first).to_owned())
        .or_insert_with(|| Node::Branch(BTreeMap::new()));
    if let Node::Leaf(_) = entry {
        // `A=1&A.0=2`: the deeper form wins; the validator reports any mismatch.
        *entry = Node::Branch(BTreeMap::new());
    }
    if let Node::Branch(children) = entry {
        insert(children, rest, value);
    }
}

/// Rebuilds flattened parameters into a JSON object for the action with the input
/// `members`.
///
/// A name with more than [`MAX_NAME_PARTS`] parts is `InvalidParameter`: no structure of
/// the API nests that deep, and building it would recurse once per part.
pub(crate) fn unflatten(
    members: &[MemberMeta],
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let mut tree = BTreeMap::new();
    for (key, value) in pairs {
        let path: Vec<&str> = key.split('.').take(MAX_NAME_PARTS + 1).collect();
        if path.len() > MAX_NAME_PARTS {
            return Err(too_deep(key));
        }
        insert(&mut tree, &path, value.clone());
    }
    Ok(Value::Object(object_from(tree, members)))
}

fn too_deep(key: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameter,
        format!(
            "the parameter name `{}` nests deeper than {MAX_NAME_PARTS} levels",
            crate::actions::shown(key)
        ),
    )
}

fn object_from(tree: BTreeMap<String, Node>, members: &[MemberMeta]) -> Map<String, Value> {
    tree.into_iter()
        .map(|(name, node)| {
            let value = match members.iter().find(|m| m.name == name) {
                Some(member) => member_value(node, member),
                None => untyped(node),
            };
            (name, value)
        })
        .collect()
}

fn member_value(node: Node, member: &MemberMeta) -> Value {
    if !member.list {
        return typed(node, member.value_type);
    }
    match node {
        Node::Branch(children) => {
            let mut items: Vec<(u64, Node)> = Vec::new();
            let mut others = Map::new();
            for (key, child) in children {
                match key.parse::<u64>() {
                    Ok(index) => items.push((index, child)),
                    Err(_) => {
                        others.insert(key, untyped(child));
                    }
                }
            }
            if !others.is_empty() {
                // Not a list at all; let validation call it the wrong type.
                return Value::Object(others);
            }
            items.sort_by_key(|(index, _)| *index);
            Value::Array(
                items
                    .into_iter()
                    .map(|(_, child)| typed(child, member.value_type))
                    .collect(),
            )
        }
        Node::Leaf(text) => Value::String(text),
    }
}

fn typed(node: Node, value_type: ValueType) -> Value {
    match (node, value_type) {
        (Node::Leaf(text), ValueType::Int64) => {
            text.parse::<i64>().map_or(Value::String(text), Value::from)
        }
        (Node::Leaf(text), ValueType::UInt64) => {
            text.parse::<u64>().map_or(Value::String(text), Value::from)
        }
        (Node::Leaf(text), ValueType::Float) => {
            match text.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(number) => Value::Number(number),
                None => Value::String(text),
            }
        }
        (Node::Leaf(text), ValueType::Bool) => match text.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text),
        },
        (Node::Branch(children), ValueType::Object(name)) => {
            let members = find_structure(name).map_or(&[][..], |meta| meta.members);
            Value::Object(object_from(children, members))
        }
        (node, _) => untyped(node),
    }
}

fn untyped(node: Node) -> Value {
    match node {
        Node::Leaf(text) => Value::String(text),
        Node::Branch(children) => Value::Object(
            children
                .into_iter()
                .map(|(key, child)| (key, untyped(child)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The input members of `action`; none for an action the model does not know.
    fn input(action: &str) -> &'static [MemberMeta] {
        iotexplorer_model::find_action(action).map_or(&[][..], |meta| meta.input)
    }

    #[test]
    fn headers_keep_their_order_duplicates_and_text() {
        let mut map = hyper::HeaderMap::new();
        map.append("host", "h:1".parse().expect("value"));
        map.append("x-tc-version", "2019-04-23".parse().expect("value"));
        map.append("x-dup", "one".parse().expect("value"));
        map.append("x-dup", "".parse().expect("value"));
        map.append(
            "x-bytes",
            hyper::header::HeaderValue::from_bytes(b"caf\xc3\xa9 \xff").expect("value"),
        );
        let headers = Headers::from_map(&map);
        let seen: Vec<(&str, &str)> = headers.iter().collect();
        assert_eq!(
            seen,
            [
                ("host", "h:1"),
                ("x-tc-version", "2019-04-23"),
                ("x-dup", "one"),
                ("x-dup", ""),
                ("x-bytes", "caf\u{e9} \u{fffd}"),
            ]
        );
        assert_eq!(headers.len(), 5);
        let request = Incoming {
            method: "POST".to_owned(),
            path: "/".to_owned(),
            query: String::new(),
            headers,
            body: bytes::Bytes::new(),
        };
        assert_eq!(request.header("X-DUP"), Some("one"));
        assert_eq!(request.header("none"), None);
    }

    #[test]
    fn lists_and_numbers_are_rebuilt_from_the_query() {
        let pairs = decode_pairs(
            "ProductID=P1&FirmwareVersion=2.0.0&DeviceNames.0=a&DeviceNames.1=b%20c&TimeoutInterval=300",
        );
        let value = unflatten(input("BatchUpdateFirmware"), &pairs).expect("shallow");
        assert_eq!(
            value,
            serde_json::json!({"ProductID": "P1", "FirmwareVersion": "2.0.0",
                "DeviceNames": ["a", "b c"], "TimeoutInterval": 300})
        );
    }

    #[test]
    fn structures_in_lists_are_rebuilt() {
        let pairs = decode_pairs("ProductID=P&Filters.0.Key=TaskId&Filters.0.Value=7&Offset=0");
        let value = unflatten(input("DescribeFirmwareTaskDevices"), &pairs).expect("shallow");
        assert_eq!(value["Filters"][0]["Key"], "TaskId");
        assert_eq!(value["Offset"], 0);
    }

    #[test]
    fn a_name_deeper_than_the_limit_is_refused_without_recursing() {
        let deep = vec!["a"; 100_000].join(".");
        let error =
            unflatten(input("ListFirmwares"), &[(deep, "1".to_owned())]).expect_err("too deep");
        assert_eq!(error.code.as_str(), "InvalidParameter");
        assert!(error.message.chars().count() < 200, "{}", error.message);

        let limit = vec!["a"; MAX_NAME_PARTS].join(".");
        assert!(unflatten(input("ListFirmwares"), &[(limit.clone(), "1".to_owned())]).is_ok());
        let over = format!("{limit}.a");
        assert!(unflatten(input("ListFirmwares"), &[(over, "1".to_owned())]).is_err());
    }

    fn any_name() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            prop::sample::select(vec![
                "",
                "0",
                "1",
                "17",
                "DeviceNames",
                "Filters",
                "Key",
                "Values",
                "é",
                "%2E"
            ])
            .prop_map(str::to_owned),
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(part, 0..28).prop_map(|parts| parts.join("."))
    }

    proptest! {
        #[test]
        fn a_header_is_found_as_the_first_of_its_name_in_any_case(
            pairs in proptest::collection::vec(("[a-cA-C\u{e9}-]{0,3}", "[ a\u{e9}]{0,3}"), 0..6),
            name in "[a-cA-C\u{e9}-]{0,3}",
        ) {
            let headers = Headers::from_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            let scanned = pairs
                .iter()
                .find(|(candidate, _)| candidate.eq_ignore_ascii_case(&name))
                .map(|(_, value)| value.as_str());
            prop_assert_eq!(headers.get(&name), scanned);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn unflattening_never_panics(
            action in prop_oneof![
                Just("BatchUpdateFirmware"),
                Just("DescribeFirmwareTaskDevices"),
                Just("ListFirmwares"),
                Just("NoSuchAction"),
            ],
            pairs in proptest::collection::vec((any_name(), "[a-z0-9 ]{0,4}"), 0..8),
        ) {
            let deepest = pairs.iter().map(|(k, _)| k.split('.').count()).max().unwrap_or(0);
            match unflatten(input(action), &pairs) {
                Ok(value) => {
                    prop_assert!(deepest <= MAX_NAME_PARTS);
                    prop_assert!(value.is_object());
                }
                Err(error) => {
                    prop_assert!(deepest > MAX_NAME_PARTS);
                    prop_assert_eq!(error.code.as_str(), "InvalidParameter");
                }
            }
        }

        #[test]
        fn decoding_any_query_never_panics(query in ".{0,200}") {
            let pairs = decode_pairs(&query);
            let _ = unflatten(input("BatchUpdateFirmware"), &pairs);
        }
    }
}
