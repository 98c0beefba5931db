//! Reading an answer, or the lack of one, into the client's [`Error`].

use http::StatusCode;
use iotexplorer_model::{DecodeError, Success, decode_response_value};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, TimeoutPhase, excerpt};
use crate::request::Call;
use crate::transport::TransportError;

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
/// one pass, by the model's reader of successes ([`iotexplorer_model::read_success`], which
/// [`iotexplorer_model::decode_response`] reads with too): numbers sent as strings, `null`
/// for absent values and unknown members are accepted.
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
        match iotexplorer_model::read_success::<R>(body) {
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
