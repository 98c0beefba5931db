//! Lenient decoding: the service sometimes sends numbers as strings (`"TaskId":"1"`),
//! numbers where text is documented, and `null` for optional members. A decoder that refused
//! them would refuse real responses.
//!
//! The leniency lives in one deserializer adapter, [`Lenient`], rather than in the generated
//! types: the types keep plain derives, and any of them decodes leniently, from a
//! [`serde_json::Value`] ([`from_value_lenient`]) or straight from the answer's bytes in one
//! pass ([`from_slice_lenient`]). [`Lenient`] wraps any deserializer and converts scalars to
//! the type the visitor asks for when nothing is lost: integers, floats and booleans sent as
//! strings, whole numbers written as floats, numbers and booleans where text is expected,
//! `null` for optional members.

use std::fmt;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor,
};
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
    T::deserialize(Lenient(value))
}

/// Decodes the JSON text `bytes` as `T` in one pass, with the rules of
/// [`from_value_lenient`] and no [`Value`] in between; text after the value is refused.
///
/// ```
/// use iotexplorer_model::{DescribeFirmwareTaskResponse, from_slice_lenient};
///
/// let response: DescribeFirmwareTaskResponse = from_slice_lenient(br#"{"TaskId": "42"}"#)?;
/// assert_eq!(response.task_id, Some(42));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn from_slice_lenient<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Lenient(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// A deserializer that applies the lenient rules to everything below it.
pub struct Lenient<D>(pub D);

/// A seed whose value is read through [`Lenient`].
pub(crate) struct LenientSeed<S>(pub(crate) S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for LenientSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Lenient(deserializer))
    }
}

/// The kind of scalar a visitor asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Any,
    Integer,
    Float,
    Bool,
    Text,
}

/// A visitor that converts what the input holds into what `visitor` asked for.
struct Convert<V> {
    want: Want,
    visitor: V,
}

impl<D> Lenient<D> {
    fn convert<V>(want: Want, visitor: V) -> Convert<V> {
        Convert { want, visitor }
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Lenient<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Self::convert(Want::Any, visitor))
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_any(Self::convert(Want::Integer, visitor))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_any(Self::convert(Want::Integer, visitor))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Self::convert(Want::Float, visitor))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Self::convert(Want::Bool, visitor))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Self::convert(Want::Text, visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Self::convert(Want::Text, visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(Self::convert(Want::Any, visitor))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_seq(Self::convert(Want::Any, visitor))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Self::convert(Want::Any, visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, Self::convert(Want::Any, visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_newtype_struct(name, Self::convert(Want::Any, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_identifier(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 f32 char bytes byte_buf unit unit_struct
        tuple tuple_struct
    }
}

/// An integer denoted by `text`, as the model reads one.
enum Integer {
    Signed(i64),
    Unsigned(u64),
}

fn integer_text(text: &str) -> Option<Integer> {
    let text = text.trim();
    text.parse::<i64>()
        .map(Integer::Signed)
        .or_else(|_| text.parse::<u64>().map(Integer::Unsigned))
        .ok()
}

fn bool_text(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A float as JSON writes it, so that `7.0` reads as the text `7.0`.
fn float_text(value: f64) -> String {
    serde_json::Number::from_f64(value).map_or_else(|| value.to_string(), |n| n.to_string())
}

impl<V> Convert<V> {
    /// Converts text to the scalar wanted, or gives it back.
    fn convert_text<'de, E: serde::de::Error>(
        self,
        text: &str,
        otherwise: impl FnOnce(V) -> Result<V::Value, E>,
    ) -> Result<V::Value, E>
    where
        V: Visitor<'de>,
    {
        match self.want {
            Want::Integer => match integer_text(text) {
                Some(Integer::Signed(number)) => self.visitor.visit_i64(number),
                Some(Integer::Unsigned(number)) => self.visitor.visit_u64(number),
                None => otherwise(self.visitor),
            },
            Want::Float => match text.trim().parse::<f64>() {
                Ok(number) => self.visitor.visit_f64(number),
                Err(_) => otherwise(self.visitor),
            },
            Want::Bool => match bool_text(text) {
                Some(flag) => self.visitor.visit_bool(flag),
                None => otherwise(self.visitor),
            },
            Want::Any | Want::Text => otherwise(self.visitor),
        }
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Convert<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<V::Value, E> {
        match self.want {
            Want::Text => self.visitor.visit_string(value.to_string()),
            _ => self.visitor.visit_bool(value),
        }
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<V::Value, E> {
        match self.want {
            Want::Text => self.visitor.visit_string(value.to_string()),
            Want::Bool if value == 0 || value == 1 => self.visitor.visit_bool(value == 1),
            _ => self.visitor.visit_i64(value),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<V::Value, E> {
        match self.want {
            Want::Text => self.visitor.visit_string(value.to_string()),
            Want::Bool if value <= 1 => self.visitor.visit_bool(value == 1),
            _ => self.visitor.visit_u64(value),
        }
    }

    fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<V::Value, E> {
        self.visitor.visit_i128(value)
    }

    fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<V::Value, E> {
        self.visitor.visit_u128(value)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<V::Value, E> {
        match self.want {
            Want::Text => self.visitor.visit_string(float_text(value)),
            // The range check keeps the conversion exact.
            Want::Integer if value.fract() == 0.0 && value.abs() < 9.0e15 => {
                self.visitor.visit_i64(value as i64)
            }
            _ => self.visitor.visit_f64(value),
        }
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<V::Value, E> {
        self.convert_text(value, |visitor| visitor.visit_str(value))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<V::Value, E> {
        self.convert_text(value, |visitor| visitor.visit_borrowed_str(value))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<V::Value, E> {
        match self.want {
            Want::Any | Want::Text => self.visitor.visit_string(value),
            _ => {
                let convert = Convert {
                    want: self.want,
                    visitor: self.visitor,
                };
                convert.convert_text(&value, |visitor| visitor.visit_str(&value))
            }
        }
    }

    fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<V::Value, E> {
        self.visitor.visit_bytes(value)
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, value: &'de [u8]) -> Result<V::Value, E> {
        self.visitor.visit_borrowed_bytes(value)
    }

    fn visit_byte_buf<E: serde::de::Error>(self, value: Vec<u8>) -> Result<V::Value, E> {
        self.visitor.visit_byte_buf(value)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Lenient(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Lenient(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(LenientSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(LenientMap(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(data)
    }
}

struct LenientSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for LenientSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(LenientSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Member names are read as they are; values through [`Lenient`].
struct LenientMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for LenientMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(LenientSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize, serde::Serialize)]
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

    #[test]
    fn scalars_are_converted_when_nothing_is_lost() {
        let body = json!({
            "count": "1", "delta": "-3", "ratio": "1.5", "flag": "true", "text": 12,
            "list": [1, "2", 3.0], "nested": [{"count": "7", "unknown": {"deep": [1]}}],
        })
        .to_string();
        let sample: Sample = from_slice_lenient(body.as_bytes()).unwrap();
        assert_eq!(sample.count, Some(1));
        assert_eq!(sample.delta, Some(-3));
        assert_eq!(sample.ratio, Some(1.5));
        assert_eq!(sample.flag, Some(true));
        assert_eq!(sample.text.as_deref(), Some("12"));
        assert_eq!(sample.list, Some(vec![1, 2, 3]));
        assert_eq!(sample.nested.unwrap()[0].count, Some(7));
    }

    #[test]
    fn lossy_conversions_are_refused() {
        for body in [
            r#"{"count": -1}"#,
            r#"{"count": "x"}"#,
            r#"{"count": 1.5}"#,
            r#"{"flag": 2}"#,
            r#"{"list": "1"}"#,
        ] {
            assert!(
                from_slice_lenient::<Sample>(body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn nulls_are_absent_values() {
        let from_value: Sample = from_value_lenient(json!({"count": null, "text": null})).unwrap();
        assert_eq!(from_value, Sample::default());
        let from_bytes: Sample = from_slice_lenient(br#"{"count": null, "text": null}"#).unwrap();
        assert_eq!(from_bytes, Sample::default());
    }

    /// Any JSON value: scalars of every kind, numbers as text, nesting.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1.0e17f64..1.0e17).prop_map(Value::from),
            (-3i64..3).prop_map(|n| Value::from(n as f64)),
            any::<i64>().prop_map(|n| Value::from(format!(" {n} "))),
            any::<u64>().prop_map(|n| Value::from(n.to_string())),
            (-1.0e6f64..1.0e6).prop_map(|n| Value::from(n.to_string())),
            prop_oneof![Just("true"), Just("0"), Just("1"), Just("false"), Just("x")]
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let names = prop_oneof![
                Just("count"),
                Just("delta"),
                Just("ratio"),
                Just("flag"),
                Just("text"),
                Just("list"),
                Just("nested"),
                Just("other"),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(names, inner, 0..6).prop_map(|members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(name, value)| (name.to_owned(), value))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest::proptest! {
        /// The one-pass reader over bytes and the reader over a `Value` agree on every input.
        #[test]
        fn agrees_with_the_model_on_any_json(value in any_json()) {
            let bytes = serde_json::to_vec(&value).unwrap();
            let from_bytes = from_slice_lenient::<Sample>(&bytes).ok();
            // The model's path reads the same bytes into a `Value` first.
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            let from_value = from_value_lenient::<Sample>(value).ok();
            proptest::prop_assert_eq!(from_bytes, from_value);
        }
    }
}
