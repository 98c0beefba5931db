//! Request parameters as a query-string tree, in the order they were serialised (a JSON
//! object map would sort them).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use tc3_sign::query::Param;

/// Reads JSON into a [`Param`] tree, keeping member order.
pub(crate) struct Ordered(pub(crate) Param);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParamVisitor).map(Ordered)
    }
}

struct ParamVisitor;

impl<'de> Visitor<'de> for ParamVisitor {
    type Value = Param;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Param, E> {
        Ok(Param::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Param, E> {
        Ok(Param::Number(value.to_string()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Param, E> {
        Ok(Param::Number(value.to_string()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Param, E> {
        // Written as JSON writes it, so GET and POST carry the same number.
        Ok(Param::Number(
            serde_json::Number::from_f64(value)
                .map_or_else(|| value.to_string(), |n| n.to_string()),
        ))
    }

    fn visit_str<E>(self, value: &str) -> Result<Param, E> {
        Ok(Param::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Param, E> {
        Ok(Param::String(value))
    }

    fn visit_unit<E>(self) -> Result<Param, E> {
        Ok(Param::Null)
    }

    fn visit_none<E>(self) -> Result<Param, E> {
        Ok(Param::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Param, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Param, A::Error> {
        let mut items = Vec::new();
        while let Some(Ordered(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Param::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Param, A::Error> {
        let mut members = Vec::new();
        while let Some((name, Ordered(value))) = map.next_entry::<String, Ordered>()? {
            members.push((name, value));
        }
        Ok(Param::Object(members))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn order_and_numbers_survive() {
        let Ordered(param) =
            serde_json::from_str(r#"{"B":[1,-2,1.5,null],"A":{"Z":true,"Y":"s"}}"#).unwrap();
        assert_eq!(
            param,
            Param::Object(vec![
                (
                    "B".to_owned(),
                    Param::List(vec![
                        Param::Number("1".to_owned()),
                        Param::Number("-2".to_owned()),
                        Param::Number("1.5".to_owned()),
                        Param::Null,
                    ])
                ),
                (
                    "A".to_owned(),
                    Param::Object(vec![
                        ("Z".to_owned(), Param::Bool(true)),
                        ("Y".to_owned(), Param::String("s".to_owned())),
                    ])
                ),
            ])
        );
    }
}
