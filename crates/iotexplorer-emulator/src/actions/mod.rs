//! The actions the emulator models, one module per family.
//!
//! Each action is the model's request type with an impl of [`Reads`] or [`Changes`]: a
//! typed request in, the model's typed response out, errors as [`ApiError`] with the
//! model's [`ErrorCode`](iotexplorer_model::ErrorCode). A validated body is decoded into
//! the request type once ([`Handler::prepare`]); the response is serialised once, inside
//! the envelope.
//!
//! An action that changes the state plans a [`Change`] without touching the state: the
//! caller writes the change to the state log first and applies it only once it is kept, so
//! a change the disk refused is never half done.

mod devices;
mod firmware;
mod lookup;
mod tasks;

use std::time::Instant;

use iotexplorer_model::{
    Action, ActionMeta, ApiError, BatchUpdateFirmwareRequest, DescribeDeviceFirmWareRequest,
    DescribeFirmwareRequest, DescribeFirmwareTaskDevicesRequest, DescribeFirmwareTaskRequest,
    DescribeFirmwareTasksRequest, DescribeFirmwareUpdateStatusRequest, ErrorCode, GetCOSURLRequest,
    GetDeviceListRequest, ListFirmwaresRequest, UpdateOtaTaskStatusRequest, UploadFirmwareRequest,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::change::Change;
use crate::random::Random;
use crate::respond::success_body;
use crate::state::State;

/// What an action may need besides the state.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    /// Where the emulator listens, e.g. `http://127.0.0.1:9555`.
    pub(crate) base_url: &'a str,
    /// The answer's `RequestId`.
    pub(crate) request_id: &'a str,
    /// Draws the fates of the devices of a new task.
    pub(crate) fates: &'a Random,
    pub(crate) now: Instant,
    pub(crate) unix_now: i64,
    /// The account of the SecretId that signed the request (`None`: the default account):
    /// the products of other accounts are not its to see or change. A prepared request
    /// sets it from its admission, whatever the context it is run with says.
    pub(crate) account: Option<&'a str>,
}

/// How many characters of a value sent by the client an error message repeats.
const SHOWN_CHARS: usize = 64;

/// `value` as an error message names it: whole when short, else its beginning and `…`, so
/// an answer stays small whatever was sent.
pub(crate) fn shown(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]).into(),
        None => value.into(),
    }
}

/// An action that only reads the state.
pub(crate) trait Reads: Action + DeserializeOwned + Send + 'static {
    /// The answer to `request` from `state`.
    fn read(state: &State, request: &Self, cx: &Context<'_>) -> Result<Self::Response, ApiError>;
}

/// An action that changes the state.
pub(crate) trait Changes: Action + DeserializeOwned + Send + 'static {
    /// The change `request` asks of `state`, and the answer to give once it is kept.
    fn plan(
        state: &State,
        request: &Self,
        cx: &Context<'_>,
    ) -> Result<Planned<Self::Response>, ApiError>;
}

/// A change an action decided on, and the answer to give once it is applied.
pub(crate) struct Planned<R> {
    pub(crate) change: Change,
    pub(crate) response: R,
}

/// The answer's body: the whole success envelope.
pub(crate) type Answer = Result<Vec<u8>, ApiError>;
/// A read, with its request decoded.
pub(crate) type PreparedRead = Box<dyn FnOnce(&State, &Context<'_>) -> Answer + Send>;
/// A change, with its request decoded: the change and the answer's body once it is kept.
pub(crate) type PreparedChange =
    Box<dyn FnOnce(&State, &Context<'_>) -> Result<(Change, Vec<u8>), ApiError> + Send>;

/// A request of a modelled action, decoded and ready to run.
pub(crate) enum Prepared {
    Read(PreparedRead),
    Change(PreparedChange),
}

/// A modelled action: its name (from the model) and how its body is decoded.
pub(crate) struct Handler {
    name: &'static str,
    /// The action's metadata, as `find_action` gives it for `name`.
    meta: fn() -> &'static ActionMeta,
    decode: fn(Value, Option<String>) -> Result<Prepared, serde_json::Error>,
}

impl Handler {
    /// A read; the model must call the action read-only, or this does not compile.
    const fn read<A: Reads>() -> Self {
        assert!(A::READ_ONLY, "a read-only action of the model is a read");
        Self {
            name: A::NAME,
            meta: A::meta,
            decode: prepare_read::<A>,
        }
    }

    /// A change; the model must not call the action read-only, or this does not compile.
    const fn change<A: Changes>() -> Self {
        assert!(
            !A::READ_ONLY,
            "an action the model may not repeat is a change"
        );
        Self {
            name: A::NAME,
            meta: A::meta,
            decode: prepare_change::<A>,
        }
    }

    /// The action's metadata.
    pub(crate) fn meta(&self) -> &'static ActionMeta {
        (self.meta)()
    }

    /// Decodes `params`, which passed the model's validation for this action, into its
    /// request type, to be run on behalf of `account` (`None`: the default account).
    pub(crate) fn prepare(
        &self,
        params: Value,
        account: Option<String>,
    ) -> Result<Prepared, ApiError> {
        (self.decode)(params, account).map_err(|error| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("{}: the parameters do not decode: {error}", self.name),
            )
        })
    }
}

fn prepare_read<A: Reads>(
    params: Value,
    account: Option<String>,
) -> Result<Prepared, serde_json::Error> {
    let request: A = serde_json::from_value(params)?;
    Ok(Prepared::Read(Box::new(move |state, cx| {
        let cx = &Context {
            account: account.as_deref(),
            ..*cx
        };
        let response = A::read(state, &request, cx)?;
        success_body(&response, cx.request_id)
    })))
}

fn prepare_change<A: Changes>(
    params: Value,
    account: Option<String>,
) -> Result<Prepared, serde_json::Error> {
    let request: A = serde_json::from_value(params)?;
    Ok(Prepared::Change(Box::new(move |state, cx| {
        let cx = &Context {
            account: account.as_deref(),
            ..*cx
        };
        let planned = A::plan(state, &request, cx)?;
        Ok((
            planned.change,
            success_body(&planned.response, cx.request_id)?,
        ))
    })))
}

/// Every action the emulator models.
static HANDLERS: [Handler; 12] = [
    Handler::change::<BatchUpdateFirmwareRequest>(),
    Handler::change::<UpdateOtaTaskStatusRequest>(),
    Handler::change::<UploadFirmwareRequest>(),
    Handler::read::<DescribeFirmwareTaskRequest>(),
    Handler::read::<DescribeFirmwareTasksRequest>(),
    Handler::read::<DescribeFirmwareTaskDevicesRequest>(),
    Handler::read::<DescribeFirmwareUpdateStatusRequest>(),
    Handler::read::<DescribeDeviceFirmWareRequest>(),
    Handler::read::<GetDeviceListRequest>(),
    Handler::read::<ListFirmwaresRequest>(),
    Handler::read::<DescribeFirmwareRequest>(),
    Handler::read::<GetCOSURLRequest>(),
];

/// The handler of the action named `name`, if the emulator models it.
pub(crate) fn handler(name: &str) -> Option<&'static Handler> {
    HANDLERS.iter().find(|handler| handler.name == name)
}

/// The answer to an action the emulator does not model.
pub(crate) fn unsupported(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedOperation,
        format!("the emulator does not model the action {name}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_handler_is_found_by_the_name_the_model_gives_its_action() {
        for modelled in &HANDLERS {
            let meta = iotexplorer_model::find_action(modelled.name).expect("a model action");
            let found = handler(meta.name).expect("a handler");
            assert!(std::ptr::eq(found, modelled), "{}", meta.name);
            // Its metadata is the one looked up by its name.
            assert!(std::ptr::eq(found.meta(), meta), "{}", meta.name);
        }
        assert!(handler("DescribeDevice").is_none());
        assert!(handler("").is_none());
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_refused_rather_than_run() {
        let refused = handler("DescribeFirmwareTask")
            .expect("modelled")
            .prepare(serde_json::json!({"TaskId": "not a number"}), None);
        assert!(
            refused.as_ref().err().is_some_and(|error| {
                error.code == ErrorCode::InvalidParameter
                    && error.message.starts_with("DescribeFirmwareTask: ")
            }),
            "{:?}",
            refused.err()
        );
    }
}
