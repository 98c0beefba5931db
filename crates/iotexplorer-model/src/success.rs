//! A success answer read from its bytes straight into its typed response, in one pass: no
//! `Value` is built. An answer that is anything else is left to
//! [`decode_response_value`](crate::decode_response_value), which tells an error answer from
//! a malformed one; so every path (typed, JSON, command line) reads envelopes by the rules
//! of one module.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{CowStrDeserializer, MapAccessDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::Lenient;

/// A typed response, and the RequestId it came with.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Success<R> {
    /// The response, without its envelope.
    pub response: R,
    /// The `RequestId`, when the answer carried one as text.
    pub request_id: Option<String>,
}

/// Reads `{"Response": {...}}` into `R` when it is a success, by the lenient rules of
/// [`from_slice_lenient`](crate::from_slice_lenient) (numbers sent as strings, `null` for
/// absent values, unknown members ignored). An error answer, an envelope without
/// `Response`, or a member that does not fit `R` is an `Err` in serde's words; read such
/// an answer again with [`decode_response_value`](crate::decode_response_value) to say what
/// it is.
///
/// ```
/// use iotexplorer_model::{BatchUpdateFirmwareResponse, read_success};
///
/// let body = br#"{"Response": {"TaskId": "1000696", "RequestId": "r-1"}}"#;
/// let success = read_success::<BatchUpdateFirmwareResponse>(body)?;
/// assert_eq!(success.response.task_id, Some(1000696));
/// assert_eq!(success.request_id.as_deref(), Some("r-1"));
///
/// let refused = br#"{"Response": {"Error": {"Code": "InternalError", "Message": "m"}}}"#;
/// assert!(read_success::<BatchUpdateFirmwareResponse>(refused).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn read_success<R: DeserializeOwned>(body: &[u8]) -> Result<Success<R>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let success = deserializer.deserialize_map(EnvelopeVisitor(PhantomData))?;
    deserializer.end()?;
    Ok(success)
}

/// The next member name of `map`, borrowed from the input where it can be.
fn member_name<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    struct Name;
    impl<'de> Visitor<'de> for Name {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a member name")
        }
        fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(name))
        }
        fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(name.to_owned()))
        }
    }
    struct NameSeed;
    impl<'de> DeserializeSeed<'de> for NameSeed {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(Name)
        }
    }
    map.next_key_seed(NameSeed)
}

struct EnvelopeVisitor<R>(PhantomData<R>);

impl<'de, R: DeserializeOwned> Visitor<'de> for EnvelopeVisitor<R> {
    type Value = Success<R>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `Response` member")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Success<R>, A::Error> {
        let mut found = None;
        while let Some(name) = member_name(&mut map)? {
            if name == "Response" {
                if found.is_some() {
                    return Err(serde::de::Error::duplicate_field("Response"));
                }
                found = Some(map.next_value_seed(ResponseSeed(PhantomData))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        found.ok_or_else(|| serde::de::Error::missing_field("Response"))
    }
}

struct ResponseSeed<R>(PhantomData<R>);

impl<'de, R: DeserializeOwned> DeserializeSeed<'de> for ResponseSeed<R> {
    type Value = Success<R>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Success<R>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, R: DeserializeOwned> Visitor<'de> for ResponseSeed<R> {
    type Value = Success<R>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `Response` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Success<R>, A::Error> {
        let mut members = ResponseMembers {
            map,
            request_id: None,
            reading_request_id: false,
        };
        let response = R::deserialize(Lenient(MapAccessDeserializer::new(&mut members)))?;
        // The typed response saw every member but `Error`; an error answer is no success.
        Ok(Success {
            response,
            request_id: members.request_id,
        })
    }
}

/// The members of a `Response` object as the typed response sees them: `Error` refuses the
/// answer (it is read again as the error it is) unless it is `null`, which is skipped;
/// `RequestId` is noted on the way.
struct ResponseMembers<A> {
    map: A,
    request_id: Option<String>,
    reading_request_id: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ResponseMembers<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let name = loop {
            let Some(name) = member_name(&mut self.map)? else {
                return Ok(None);
            };
            if name != "Error" {
                break name;
            }
            // `null` stands for an absent value (design §4): `"Error": null` is no error.
            if !self.map.next_value::<Value>()?.is_null() {
                return Err(serde::de::Error::custom("the service answered an error"));
            }
        };
        self.reading_request_id = name == "RequestId";
        seed.deserialize(CowStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        if std::mem::take(&mut self.reading_request_id) {
            let value: Value = self.map.next_value()?;
            self.request_id = value.as_str().map(str::to_owned);
            // The typed response reads it leniently: `Lenient` wraps this map.
            return seed.deserialize(value).map_err(serde::de::Error::custom);
        }
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BatchUpdateFirmwareRequest, BatchUpdateFirmwareResponse, DecodeError, decode_response,
    };

    type Created = BatchUpdateFirmwareResponse;

    #[test]
    fn a_success_is_read_with_its_request_id_and_a_null_error() {
        let body = br#"{"Response": {"Error": null, "TaskId": "1000696", "RequestId": "r-1", "New": [1]}, "Extra": {}}"#;
        let success = read_success::<Created>(body).expect("a success");
        assert_eq!(success.response.task_id, Some(1_000_696));
        assert_eq!(success.request_id.as_deref(), Some("r-1"));
        // The one-pass reader and the envelope reader tell the same story.
        assert_eq!(
            decode_response::<BatchUpdateFirmwareRequest>(body),
            Ok(success.response)
        );
    }

    #[test]
    fn what_is_no_success_is_refused_and_then_told_for_what_it_is() {
        let error = br#"{"Response": {"Error": {"Code": "InternalError", "Message": "m"}, "RequestId": "r-2"}}"#;
        let misfit = br#"{"Response": {"TaskId": "soon", "RequestId": "r-3"}}"#;
        let twice = br#"{"Response": {"TaskId": 1}, "Response": {"TaskId": 2}}"#;
        for body in [
            &error[..],
            misfit,
            twice,
            b"{}",
            b"[]",
            b"{\"Response\": 1}",
            b"{",
        ] {
            assert!(read_success::<Created>(body).is_err(), "{body:?}");
        }
        match decode_response::<BatchUpdateFirmwareRequest>(error) {
            Err(DecodeError::Api(api)) => {
                assert_eq!(api.code.as_str(), "InternalError");
                assert_eq!(api.request_id.as_deref(), Some("r-2"));
            }
            other => panic!("{other:?}"),
        }
        match decode_response::<BatchUpdateFirmwareRequest>(misfit) {
            Err(DecodeError::Malformed { reason, request_id }) => {
                assert!(reason.starts_with("unexpected members: "), "{reason}");
                assert_eq!(request_id.as_deref(), Some("r-3"));
            }
            other => panic!("{other:?}"),
        }
    }
}
