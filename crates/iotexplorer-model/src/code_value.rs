//! Reading the wire value of a code-valued type (see [`crate::EnumMeta`]) with the model's
//! leniency: a number may come as a string or as a whole float, text may come as a number.
//! The generated enums call these from their `Deserialize` impls, so they are lenient
//! through any deserializer, strict `serde_json` included.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Reads a wire number: an integer that fits `i64`, a whole float within the exactly
/// representable range, or a string holding either.
pub(crate) fn deserialize_code<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<i64, D::Error> {
    deserializer.deserialize_any(CodeVisitor)
}

/// Reads wire text: a string, or a number or flag written as text.
pub(crate) fn deserialize_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    deserializer.deserialize_any(TextVisitor)
}

struct CodeVisitor;

/// Largest magnitude below which every whole `f64` converts to `i64` exactly.
const EXACT_FLOAT: f64 = 9.0e15;

impl Visitor<'_> for CodeVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer code, possibly written as a string")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom(format!("code {value} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.fract() == 0.0 && value.abs() < EXACT_FLOAT {
            // The range check keeps the conversion exact.
            Ok(value as i64)
        } else {
            Err(E::custom(format!("code {value} is not a whole number")))
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i64, E> {
        let trimmed = text.trim();
        if let Ok(code) = trimmed.parse::<i64>() {
            return Ok(code);
        }
        match trimmed.parse::<f64>() {
            Ok(float) if float.is_finite() => self.visit_f64(float),
            _ => Err(E::invalid_value(de::Unexpected::Str(text), &self)),
        }
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text code")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<String, E> {
        Ok(text)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<String, E> {
        Ok(value.to_string())
    }
}
