//! The trait every request type implements.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::meta::ActionMeta;
use crate::validation::ValidationErrors;

/// Checks a value against every documented rule.
pub trait Validate {
    /// Returns every violation at once (the first
    /// [`MAX_REPORTED_VIOLATIONS`](crate::MAX_REPORTED_VIOLATIONS) by name, the rest
    /// counted), or `Ok(())` when there is none.
    fn validate(&self) -> Result<(), ValidationErrors>;
}

/// One API action, implemented by its request type.
///
/// A client can be written once for every action:
///
/// ```
/// use iotexplorer_model::{Action, BatchUpdateFirmwareRequest};
///
/// fn describe<A: Action>(_request: &A) -> String {
///     format!("{} {} {} (read-only: {})", A::SERVICE, A::VERSION, A::NAME, A::READ_ONLY)
/// }
///
/// let request = BatchUpdateFirmwareRequest::builder()
///     .product_id("ABCDE12345")
///     .firmware_version("2.0.0")
///     .build()?;
/// assert_eq!(describe(&request), "iotexplorer 2019-04-23 BatchUpdateFirmware (read-only: false)");
/// # Ok::<(), iotexplorer_model::ValidationErrors>(())
/// ```
pub trait Action: Serialize + Validate {
    /// The type a successful call returns.
    type Response: DeserializeOwned + Serialize;
    /// The action name, sent as `X-TC-Action`.
    const NAME: &'static str;
    /// The API version, sent as `X-TC-Version`.
    const VERSION: &'static str = crate::VERSION;
    /// The service's short name, used in the endpoint and the signature scope.
    const SERVICE: &'static str = crate::SERVICE;
    /// Whether the action only reads, so repeating it is harmless.
    const READ_ONLY: bool;
    /// The error codes documented for this action.
    const ERRORS: &'static [&'static str];

    /// The action's metadata: members, types and constraints.
    fn meta() -> &'static ActionMeta;
}
