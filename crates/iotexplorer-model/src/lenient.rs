//! Lenient decoding: the service sometimes sends numbers as strings (`"TaskId":"1"`),
//! numbers where text is documented, and `null` for optional members. A decoder that refused
//! them would refuse real responses.
//!
//! The leniency lives in a deserializer over [`serde_json::Value`] rather than in the
//! generated types: the types keep plain derives, and any of them decodes leniently through
//! [`from_value_lenient`].

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Value};

/// Decodes `value` as `T`, accepting the service's quirks: integers, floats and booleans
/// sent as strings, whole numbers written as floats, numbers and booleans where text is
/// expected, and `null` for optional members. Unknown members are ignored by every generated
/// type anyway.
///
/// ```
/// use iotexplorer_model::{DescribeFirmwareTaskResponse, FirmwareTaskType, from_value_lenient};
///
/// let value = serde_json::json!({"TaskId": "42", "Type": 7.0, "ProductId": 12345, "Status": null});
/// let response: DescribeFirmwareTaskResponse = from_value_lenient(value)?;
/// assert_eq!(response.task_id, Some(42));
/// assert_eq!(response.r#type, Some(FirmwareTaskType::Dynamic));
/// assert_eq!(response.product_id.as_deref(), Some("12345"));
/// assert_eq!(response.status, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn from_value_lenient<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    T::deserialize(LenientValue(value))
}

/// A JSON value that converts scalars to whatever type the visitor asks for when the
/// conversion loses nothing.
struct LenientValue(Value);

impl LenientValue {
    fn integer_text(text: &str) -> Option<Value> {
        let text = text.trim();
        text.parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .ok()
    }

    /// The value as an integer JSON value when it denotes one.
    fn as_integer(&self) -> Option<Value> {
        match &self.0 {
            Value::String(text) => Self::integer_text(text),
            Value::Number(number) if number.is_f64() => {
                let float = number.as_f64()?;
                let whole = float.fract() == 0.0 && float.abs() < 9.0e15;
                // The range check keeps the conversion exact.
                whole.then(|| Value::from(float as i64))
            }
            _ => None,
        }
    }
}

impl<'de> de::Deserializer<'de> for LenientValue {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(LenientSeq(items.into_iter())),
            Value::Object(fields) => visitor.visit_map(LenientMap {
                fields: fields.into_iter(),
                pending: None,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(LenientValue(other)),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.as_integer() {
            Some(number) => number.deserialize_i64(visitor),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.as_integer() {
            Some(number) => number.deserialize_u64(visitor),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.0 {
            Value::String(text) => match text.trim().parse::<f64>() {
                Ok(number) => visitor.visit_f64(number),
                Err(_) => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let flag = match &self.0 {
            Value::String(text) => match text.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            Value::Number(number) => match number.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            _ => None,
        };
        match flag {
            Some(flag) => visitor.visit_bool(flag),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Number(number) => visitor.visit_string(number.to_string()),
            Value::Bool(flag) => visitor.visit_string(flag.to_string()),
            other => LenientValue(other).deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 f32 char bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

struct LenientSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for LenientSeq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(LenientValue(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct LenientMap {
    fields: serde_json::map::IntoIter,
    pending: Option<Value>,
}

impl<'de> MapAccess<'de> for LenientMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.fields.next() {
            Some((key, value)) => {
                self.pending = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a value without a key"))?;
        seed.deserialize(LenientValue(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Sample {
        count: Option<u64>,
        delta: Option<i64>,
        ratio: Option<f64>,
        flag: Option<bool>,
        text: Option<String>,
        list: Option<Vec<u64>>,
        nested: Option<Vec<Sample>>,
    }

    fn decode(value: Value) -> Option<Sample> {
        from_value_lenient(value).ok()
    }

    #[test]
    fn scalars_are_converted_when_nothing_is_lost() {
        let sample = decode(json!({
            "count": "1", "delta": "-3", "ratio": "1.5", "flag": "true", "text": 12,
            "list": [1, "2", 3.0], "nested": [{"count": "7", "unknown": {"deep": [1]}}],
        }));
        let expected = Sample {
            count: Some(1),
            delta: Some(-3),
            ratio: Some(1.5),
            flag: Some(true),
            text: Some("12".to_owned()),
            list: Some(vec![1, 2, 3]),
            nested: Some(vec![Sample {
                count: Some(7),
                ..Sample::default()
            }]),
        };
        assert_eq!(sample, Some(expected));
    }

    #[test]
    fn lossy_conversions_are_refused() {
        assert_eq!(decode(json!({"count": -1})), None);
        assert_eq!(decode(json!({"count": "x"})), None);
        assert_eq!(decode(json!({"count": 1.5})), None);
        assert_eq!(decode(json!({"flag": 2})), None);
        assert_eq!(decode(json!({"list": "1"})), None);
    }

    #[test]
    fn nulls_are_absent_values() {
        assert_eq!(
            decode(json!({"count": null, "text": null})),
            Some(Sample::default())
        );
    }
}
