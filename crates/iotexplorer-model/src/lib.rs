//! Typed, validated request and response types for Tencent Cloud IoT Explorer
//! (service `iotexplorer`, API version `2019-04-23`).
//!
//! This crate does no I/O: it describes what goes over the wire and checks it.
//!
//! - Every action has a request type (`<Action>Request`, built with a validating builder), a
//!   response type (`<Action>Response`, decoded leniently) and an [`Action`] impl that ties
//!   them together with the action's name, read-only flag and documented errors.
//! - [`decode_response`] reads the `{"Response": ...}` envelope into the typed response or
//!   an [`ApiError`] carrying an [`ErrorCode`].
//! - [`actions`], [`find_action`] and [`check_request_json`] describe and check every
//!   action at run time, for generic front ends; [`ActionMeta::skeleton`] lists every input
//!   member with a placeholder, and [`for_each_action!`] dispatches on an action name.
//!
//! ```
//! use iotexplorer_model::{Action, BatchUpdateFirmwareRequest};
//!
//! let request = BatchUpdateFirmwareRequest::builder()
//!     .product_id("ABCDE12345")
//!     .firmware_version("2.0.0")
//!     .device_names("dev001")
//!     .device_names("dev002")
//!     .timeout_interval(300)
//!     .build()?;
//! assert_eq!(BatchUpdateFirmwareRequest::NAME, "BatchUpdateFirmware");
//! assert_eq!(
//!     serde_json::to_string(&request).unwrap(),
//!     r#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0","DeviceNames":["dev001","dev002"],"TimeoutInterval":300}"#
//! );
//!
//! // Every broken rule is reported at once.
//! let errors = BatchUpdateFirmwareRequest::builder()
//!     .product_id("")
//!     .firmware_version("2.0.0")
//!     .timeout_interval(901)
//!     .build()
//!     .unwrap_err();
//! assert_eq!(errors.violations().len(), 2);
//! # Ok::<(), iotexplorer_model::ValidationErrors>(())
//! ```

mod action;
mod checked;
mod code_value;
mod envelope;
mod error_code;
mod generated;
mod lenient;
mod meta;
pub mod naming;
mod skeleton;
mod success;
mod unambiguous;
mod validation;

pub use action::{Action, Validate};
pub use envelope::{
    ApiError, DecodeError, decode_response, decode_response_value, encode_response,
};
pub use error_code::UnknownCode;
pub use generated::catalog::{
    ALREADY_CURRENT_MESSAGE, CALLS_PER_SECOND, MAX_REQUEST_BODY_BYTES, SERVICE,
    SIGNATURE_MAX_AGE_SECS, VERSION,
};
pub use generated::*;
pub use lenient::{Lenient, from_slice_lenient, from_value_lenient};
pub use meta::{
    ActionMeta, ActionStatus, Constraint, EnumMeta, EnumValueMeta, MemberMeta, OrderedPair,
    StructureMeta, StructureUsage, ValueType, WireCode, actions, find_action, find_structure,
    structures,
};
pub use success::{Success, read_success};
pub use validation::{
    MAX_REPORTED_VIOLATIONS, RequestProblems, ValidationErrors, Violation, ViolationKind,
    check_request_json,
};

// Compiles and runs the README's example as a doctest, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
