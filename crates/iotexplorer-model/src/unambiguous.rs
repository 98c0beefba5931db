//! JSON read into a `Value` that refuses an object naming a member twice.
//!
//! `serde_json` keeps the last of two members with one name; a typed response refuses a
//! member it knows given twice. An answer is read by both, so that the JSON path (the
//! command line's) would otherwise pick one value of a member given twice where the typed
//! path says no one can tell which the service meant. Here the JSON path refuses any
//! repeat, known member or not (the typed path skips the members it does not know).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How many characters of a member's name an error repeats.
const SHOWN_NAME_CHARS: usize = 64;

/// `body` as a `Value`; an error when it is not JSON, or when an object in it, at any
/// depth, names a member twice.
pub(crate) fn from_slice(body: &[u8]) -> Result<Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = Unambiguous.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Reads one JSON value, refusing repeated member names.
#[derive(Clone, Copy)]
struct Unambiguous;

impl<'de> DeserializeSeed<'de> for Unambiguous {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unambiguous {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so the parser never gives one.
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element_seed(self)? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = members.next_key::<String>()? {
            let value = members.next_value_seed(self)?;
            match object.entry(name) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    let shown: String = slot.key().chars().take(SHOWN_NAME_CHARS).collect();
                    return Err(A::Error::custom(format_args!(
                        "the member `{}` is given twice",
                        shown.escape_debug()
                    )));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": 18446744073709551615}"#,
            "[]",
            "\"text\"",
            "0",
        ] {
            let expected: Value = serde_json::from_str(text).expect("JSON");
            assert_eq!(
                from_slice(text.as_bytes()).expect("read"),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_a_member_given_twice_at_any_depth() {
        for text in [
            r#"{"a": 1, "a": 1}"#,
            r#"{"Response": {"TaskId": 7, "TaskId": 8}}"#,
            r#"[{"x": {"y": [{"z": 1, "z": 2}]}}]"#,
        ] {
            let error = from_slice(text.as_bytes()).expect_err(text);
            assert!(error.to_string().contains("is given twice"), "{error}");
        }
        // The same name in two objects is no repeat.
        assert!(from_slice(br#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in ["", "{", "{} x", "[1,]", "{\"a\" 1}"] {
            assert!(from_slice(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn a_long_name_is_cut_in_the_error() {
        let name = "n".repeat(10_000);
        let text = format!(r#"{{"{name}": 1, "{name}": 2}}"#);
        let error = from_slice(text.as_bytes()).expect_err("twice").to_string();
        assert!(error.len() < 200, "{error}");
    }
}
