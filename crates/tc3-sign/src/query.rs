//! GET parameters: flattening a parameter tree into the query string the official SDKs
//! send, so that the signature covers exactly the bytes on the wire.
//!
//! Lists become `Name.0`, `Name.1`, …; objects become `Name.Field`; booleans are `true` and
//! `false`; nulls are left out. Keys and values are percent-encoded with every byte
//! outside `A-Z a-z 0-9 - _ . ~` escaped, which any form decoder reads back unchanged.

/// A parameter value, mirroring JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Left out of the query string.
    Null,
    /// Written `true` or `false`.
    Bool(bool),
    /// A number, written as this text (so that no precision is lost on the way).
    Number(String),
    /// A string.
    String(String),
    /// Written as `Name.0`, `Name.1`, ….
    List(Vec<Param>),
    /// Written as `Name.Field`, in the order given.
    Object(Vec<(String, Param)>),
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Param {
            fn from(value: $t) -> Self {
                Param::Number(value.to_string())
            }
        }
    )*};
}
number_from!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl From<bool> for Param {
    fn from(value: bool) -> Self {
        Param::Bool(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::String(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::String(value)
    }
}

impl<T: Into<Param>> From<Vec<T>> for Param {
    fn from(values: Vec<T>) -> Self {
        Param::List(values.into_iter().map(Into::into).collect())
    }
}

/// Flattens top-level parameters into `(key, value)` pairs, unencoded, in order.
///
/// ```
/// use tc3_sign::query::{flatten, Param};
///
/// let params = vec![
///     ("ProductID".to_owned(), Param::from("ABCDE12345")),
///     ("DeviceNames".to_owned(), Param::from(vec!["dev001", "dev002"])),
///     ("Filters".to_owned(), Param::List(vec![Param::Object(vec![
///         ("Name".to_owned(), Param::from("status")),
///         ("Enabled".to_owned(), Param::from(true)),
///     ])])),
/// ];
/// let pairs = flatten(&params);
/// assert_eq!(pairs, [
///     ("ProductID".to_owned(), "ABCDE12345".to_owned()),
///     ("DeviceNames.0".to_owned(), "dev001".to_owned()),
///     ("DeviceNames.1".to_owned(), "dev002".to_owned()),
///     ("Filters.0.Name".to_owned(), "status".to_owned()),
///     ("Filters.0.Enabled".to_owned(), "true".to_owned()),
/// ]);
/// ```
pub fn flatten(params: &[(String, Param)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (name, value) in params {
        flatten_into(name.clone(), value, &mut pairs);
    }
    pairs
}

fn flatten_into(key: String, value: &Param, pairs: &mut Vec<(String, String)>) {
    match value {
        Param::Null => {}
        Param::Bool(flag) => pairs.push((key, flag.to_string())),
        Param::Number(text) | Param::String(text) => pairs.push((key, text.clone())),
        Param::List(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten_into(format!("{key}.{index}"), item, pairs);
            }
        }
        Param::Object(fields) => {
            for (field, item) in fields {
                flatten_into(format!("{key}.{field}"), item, pairs);
            }
        }
    }
}

/// Joins pairs into a query string, percent-encoding keys and values.
pub fn encode(pairs: &[(String, String)]) -> String {
    let mut query = String::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            query.push('&');
        }
        percent_encode_into(&mut query, key);
        query.push('=');
        percent_encode_into(&mut query, value);
    }
    query
}

/// [`flatten`] then [`encode`]: the query string for a GET request.
pub fn to_query_string(params: &[(String, Param)]) -> String {
    encode(&flatten(params))
}

/// Appends `text` with every byte outside the unreserved set escaped as `%XX`.
pub fn percent_encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_left_out_and_nesting_is_dotted() {
        let params = vec![
            ("A".to_owned(), Param::Null),
            (
                "B".to_owned(),
                Param::List(vec![Param::List(vec![Param::from(1u8), Param::Null])]),
            ),
        ];
        assert_eq!(to_query_string(&params), "B.0.0=1");
    }

    #[test]
    fn escapes_everything_outside_the_unreserved_set() {
        let params = vec![("Name".to_owned(), Param::from("a b&c=d/\u{672a}~"))];
        assert_eq!(to_query_string(&params), "Name=a%20b%26c%3Dd%2F%E6%9C%AA~");
    }
}
