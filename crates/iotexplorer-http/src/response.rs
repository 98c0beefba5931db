//! Reading an answer, or the lack of one, into the client's [`Error`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use http::StatusCode;
use iotexplorer_model::{DecodeError, decode_response_value};
use serde::de::value::{CowStrDeserializer, MapAccessDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::error::{Error, TimeoutPhase, excerpt};
use crate::request::Call;
use crate::transport::TransportError;
use iotexplorer_model::Lenient;

/// Characters of a body kept in error messages.
const EXCERPT_CHARS: usize = 512;

pub(crate) fn transport_error(
    err: TransportError,
    call: &Call<'_>,
    attempts: u32,
    limit: usize,
) -> Error {
    let action = call.action.to_owned();
    match err {
        TransportError::Connect {
            timed_out: true, ..
        } => Error::Timeout {
            action,
            phase: TimeoutPhase::Connect,
            attempts,
        },
        TransportError::Connect {
            message, source, ..
        } => Error::Connect {
            action,
            message,
            source: Some(source),
        },
        TransportError::Unprocessed { message, source } => Error::Unprocessed {
            action,
            message,
            source: Some(source),
        },
        // A read-only action may have run without harm: report the plain timeout.
        TransportError::AfterSend {
            timed_out: true, ..
        } if call.read_only => Error::Timeout {
            action,
            phase: TimeoutPhase::Request,
            attempts,
        },
        // Nor does a read whose connection broke: it is no unknown outcome.
        TransportError::AfterSend {
            timed_out: false,
            message,
            source,
        } if call.read_only => Error::Transport {
            action,
            message,
            source,
        },
        TransportError::AfterSend {
            timed_out,
            message,
            source,
        } => Error::Ambiguous {
            action,
            timed_out,
            message,
            source,
        },
        TransportError::TooLarge => {
            unreadable_answer(call, Error::ResponseTooLarge { action, limit })
        }
    }
}

/// An answer that cannot be read says nothing of whether the request ran: a gateway may
/// answer 502 after forwarding it, a proxy may cut the answer short. Only an API error
/// (Tencent answers those with HTTP 200 and an envelope) proves a refusal. A read-only
/// action keeps the error of the answer (and may be retried); for any other action this
/// is an [`Error::Ambiguous`] holding it, so that the call is never resent blindly.
pub(crate) fn unreadable_answer(call: &Call<'_>, error: Error) -> Error {
    if call.read_only
        || !matches!(
            error,
            Error::HttpStatus { .. } | Error::Decode { .. } | Error::ResponseTooLarge { .. }
        )
    {
        return error;
    }
    let shown = error.to_string();
    // Its message starts with the action, which the ambiguous error names already.
    let message = shown
        .strip_prefix(call.action)
        .and_then(|rest| rest.strip_prefix(": "))
        .unwrap_or(&shown)
        .to_owned();
    Error::Ambiguous {
        action: call.action.to_owned(),
        timed_out: false,
        message: format!("the answer could not be read: {message}"),
        source: Some(Box::new(error)),
    }
}

/// A successful answer read by the JSON path: its `Response` object.
pub(crate) fn decode(call: &Call<'_>, status: StatusCode, body: &[u8]) -> Result<Value, Error> {
    decode_answer(call, status, body).map_err(|error| unreadable_answer(call, error))
}

/// A successful answer read straight from its bytes into the action's typed response, in
/// one pass, with the model's lenient rules (numbers sent as strings, `null` for absent
/// values, unknown members ignored), the same rules as
/// [`iotexplorer_model::decode_response`].
///
/// The outer `Err` is a failure of the exchange (retried or made ambiguous by the usual
/// rules). The inner `Err` is a success that does not fit the typed response: an
/// [`Error::Decode`] for every action, never an [`Error::Ambiguous`], since the service
/// answered success and the request ran. Its RequestId and an excerpt of the body are kept
/// to trace it.
pub(crate) fn decode_typed<R: DeserializeOwned>(
    call: &Call<'_>,
    status: StatusCode,
    body: &[u8],
) -> Result<Typed<R>, Error> {
    let mut misfit = None;
    if status == StatusCode::OK {
        match read_success::<R>(body) {
            Ok(typed) => return Ok(Ok(typed)),
            Err(err) => misfit = Some(err),
        }
    }
    // Errors, and answers that are not a success, are rare: they are read again, by the
    // one reader of envelopes, to say exactly what they are.
    let response = decode(call, status, body)?;
    let reason = misfit.map_or_else(|| "not a success".to_owned(), |err| err.to_string());
    Ok(Err(Error::Decode {
        action: call.action.to_owned(),
        reason: format!("the service answered success with unexpected members: {reason}"),
        request_id: request_id_of(&response),
        excerpt: excerpt(body, EXCERPT_CHARS),
    }))
}

/// The typed response of a success, or the error that the service answered success with
/// something that does not fit it.
pub(crate) type Typed<R> = Result<Success<R>, Error>;

/// A typed response and the RequestId it came with.
#[derive(Debug)]
pub(crate) struct Success<R> {
    pub(crate) response: R,
    pub(crate) request_id: Option<String>,
}

/// Reads `{"Response": {...}}` into `R` when it is a success; any error, missing
/// `Response`, or member that does not fit is an `Err`.
fn read_success<R: DeserializeOwned>(body: &[u8]) -> Result<Success<R>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let success = deserializer.deserialize_map(EnvelopeVisitor(PhantomData))?;
    deserializer.end()?;
    Ok(success)
}

/// Member names the envelope reader looks for.
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
/// answer (it is read again as the error it is) unless it is `null`, which is skipped,
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

fn decode_answer(call: &Call<'_>, status: StatusCode, body: &[u8]) -> Result<Value, Error> {
    let action = call.action.to_owned();
    if status != StatusCode::OK {
        let request_id = match decode_response_value(body) {
            Ok(response) => request_id_of(&response),
            Err(err) => err.request_id().map(str::to_owned),
        };
        return Err(Error::HttpStatus {
            action,
            status: status.as_u16(),
            excerpt: excerpt(body, EXCERPT_CHARS),
            request_id,
        });
    }
    decode_response_value(body).map_err(|err| match err {
        DecodeError::Api(api) => Error::Api {
            action,
            code: api.code,
            message: api.message,
            request_id: api.request_id,
        },
        DecodeError::Malformed { reason, request_id } => Error::Decode {
            action,
            reason,
            request_id,
            excerpt: excerpt(body, EXCERPT_CHARS),
        },
        other => Error::Decode {
            action,
            reason: other.to_string(),
            request_id: other.request_id().map(str::to_owned),
            excerpt: excerpt(body, EXCERPT_CHARS),
        },
    })
}

pub(crate) fn request_id_of(response: &Value) -> Option<String> {
    response
        .get("RequestId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
