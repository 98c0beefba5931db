//! The checks every request passes before its action runs, each with Tencent's code.
//!
//! Order: declared size, then what the head alone decides of the signature (syntax, the
//! `Content-Type` a TC3 request may send with its method, timestamp, SecretId, token), then
//! size while reading the body, the signature itself (TC3, or legacy v1 when the request
//! carries no `Authorization`), action, version, region, rate limit, body kind (JSON; no
//! multipart), members. The product an action names is checked against the sender's
//! account by the action.

use iotexplorer_model::{ApiError, ErrorCode, VERSION, find_action};
use serde_json::Value;
use tc3_sign::CONTENT_TYPE_JSON;

use crate::actions::{self, Prepared};
use crate::auth::{
    CONTENT_TYPE_MULTIPART, Signed, Signers, Tc3Head, V1_COMMON, authenticate, is, media_type,
    precheck_tc3,
};
use crate::rate_limit::RateLimiter;
use crate::request::{Incoming, decode_pairs, unflatten};

/// Admission: what the checks need to know.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) signers: Signers,
    pub(crate) max_skew: u64,
    pub(crate) rate_limiter: RateLimiter,
}

/// A request that passed every check.
pub(crate) struct Admitted {
    /// The action's name, as the model spells it.
    pub(crate) action: &'static str,
    /// Its request, decoded; `None` when the emulator does not model the action.
    pub(crate) prepared: Option<Prepared>,
}

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

impl Admission {
    /// The checks that need only the head, run before the body is read. `Err` is the
    /// answer the full checks would give; a request that passes may still be refused
    /// once its body is in. `received` is `head` as tc3-sign takes it; a TC3 head that
    /// passed is kept, for [`admit`](Self::admit) to check the body against.
    pub(crate) fn precheck<'r>(
        &self,
        head: &Incoming,
        received: &tc3_sign::ReceivedRequest<'r>,
        now: i64,
    ) -> Result<Option<Tc3Head<'r, '_>>, ApiError> {
        precheck_tc3(head, received, &self.signers, self.max_skew, now)
    }

    /// Runs every common check; `Err` is the error to answer with. `head` is what
    /// [`precheck`](Self::precheck) kept of the request's head, if anything.
    pub(crate) fn admit(
        &self,
        request: &Incoming,
        head: Option<Tc3Head<'_, '_>>,
        now: i64,
    ) -> Result<Admitted, ApiError> {
        let Signed {
            secret_id,
            account,
            action,
            version,
            region,
            v1_params,
        } = authenticate(request, &self.signers, self.max_skew, now, head)?;

        let action = action.filter(|a| !a.is_empty()).ok_or_else(|| {
            error(
                ErrorCode::MissingParameter,
                "the Action parameter is required",
            )
        })?;
        // A modelled action's handler names its metadata; the others are looked up.
        let handler = actions::handler(&action);
        let meta = handler
            .map(actions::Handler::meta)
            .or_else(|| find_action(&action))
            .ok_or_else(|| {
                error(
                    ErrorCode::InvalidAction,
                    format!("the action `{action}` does not exist"),
                )
            })?;
        let version = version.filter(|v| !v.is_empty()).ok_or_else(|| {
            error(
                ErrorCode::MissingParameter,
                "the Version parameter is required",
            )
        })?;
        if version != VERSION {
            return Err(error(
                ErrorCode::NoSuchVersion,
                format!("the API version `{version}` does not exist; use {VERSION}"),
            ));
        }
        if region.as_deref().is_none_or(str::is_empty) {
            return Err(error(
                ErrorCode::MissingParameter,
                "the Region parameter is required",
            ));
        }
        if !self.rate_limiter.admit(meta.name, &secret_id, now) {
            return Err(error(
                ErrorCode::RequestLimitExceeded,
                format!(
                    "too many {} requests per second for this SecretId",
                    meta.name
                ),
            ));
        }

        let params = match v1_params {
            Some(params) => {
                let members: Vec<(String, String)> = params
                    .into_iter()
                    .filter(|(k, _)| !V1_COMMON.contains(&k.as_str()))
                    .collect();
                unflatten(meta.input, &members)?
            }
            None if request.method == "GET" => {
                unflatten(meta.input, &decode_pairs(&request.query))?
            }
            None if media_type(request).is_some_and(is(CONTENT_TYPE_MULTIPART)) => {
                // Tencent takes multipart bodies for a few actions only, and those take
                // nothing else; no action of this API is one of them.
                return Err(error(
                    ErrorCode::InvalidParameter,
                    format!(
                        "{} does not take {CONTENT_TYPE_MULTIPART} bodies; send {CONTENT_TYPE_JSON}",
                        meta.name
                    ),
                ));
            }
            None => parse_json_body(&request.body)?,
        };
        meta.check_json(&params)
            .map_err(|problems| ApiError::new(problems.error_code(), problems.to_string()))?;
        let prepared = handler
            .map(|handler| handler.prepare(params, account))
            .transpose()?;
        Ok(Admitted {
            action: meta.name,
            prepared,
        })
    }
}

fn parse_json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty body is an action without members.
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| {
        error(
            ErrorCode::InvalidParameter,
            format!("the body is not valid JSON: {e}"),
        )
    })
}
