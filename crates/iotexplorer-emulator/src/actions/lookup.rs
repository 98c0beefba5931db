//! Finding what a request names in the state, or the not-found error Tencent answers with;
//! and the paging and keyword filters several listings share.

use iotexplorer_model::{Action, ActionMeta, ApiError, ErrorCode, SearchKeyword};

use super::{Context, shown};
use crate::state::{Firmware, Product, State};

/// The product `id` of the caller's account, for action `A`.
///
/// An unknown product is `ResourceNotFound.StudioProductNotExist`. Another account's
/// product is `UnauthorizedOperation.NoPermissionToStudioProduct` ("产品ACL错误", product
/// ACL error) where Tencent documents that code for `A`; an action that does not document
/// it answers as for an unknown product, so that nothing tells the caller it exists.
pub(crate) fn product<'a, A: Action>(
    state: &'a State,
    cx: &Context<'_>,
    id: Option<&str>,
) -> Result<&'a Product, ApiError> {
    let id = id.unwrap_or_default();
    match state.products.get(id) {
        Some(product) if product.belongs_to(cx.account) => Ok(product),
        Some(_) if A::ERRORS.contains(&NO_PERMISSION.as_str()) => Err(ApiError::new(
            NO_PERMISSION,
            format!(
                "the product {} belongs to another account; this SecretId has no permission to it",
                shown(id)
            ),
        )),
        _ => Err(ApiError::new(
            ErrorCode::ResourceNotFoundStudioProductNotExist,
            format!("the product {} does not exist", shown(id)),
        )),
    }
}

/// The code for another account's product, where an action documents it.
const NO_PERMISSION: ErrorCode = ErrorCode::UnauthorizedOperationNoPermissionToStudioProduct;

/// The product (of the caller's account, as [`product`] finds it) and its firmware
/// `version` (of `fw_type` when given), or `ResourceNotFound.FirmwareNotExist`.
pub(crate) fn firmware<'a, A: Action>(
    state: &'a State,
    cx: &Context<'_>,
    product_id: Option<&str>,
    version: Option<&str>,
    fw_type: Option<&str>,
) -> Result<(&'a Product, &'a Firmware), ApiError> {
    let product = product::<A>(state, cx, product_id)?;
    let version = version.unwrap_or_default();
    let firmware = product.firmware(version, fw_type).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ResourceNotFoundFirmwareNotExist,
            format!("the firmware version {} does not exist", shown(version)),
        )
    })?;
    Ok((product, firmware))
}

/// `items` from `offset` on, at most `limit` of them.
pub(crate) fn page<T>(items: impl IntoIterator<Item = T>, offset: u64, limit: u64) -> Vec<T> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    items.into_iter().skip(offset).take(limit).collect()
}

/// Whether every `Filters` keyword holds: `value_of` gives the row's value for a key it
/// knows (compared with `holds`), and `None` for a key it does not, which keeps the row.
pub(crate) fn keywords_hold(
    keywords: Option<&[SearchKeyword]>,
    mut holds: impl FnMut(&str, &str) -> Option<bool>,
) -> bool {
    keywords.unwrap_or_default().iter().all(|keyword| {
        match (keyword.key.as_deref(), keyword.value.as_deref()) {
            (Some(key), Some(value)) => holds(key, value).unwrap_or(true),
            // A keyword without both halves was never applied.
            _ => true,
        }
    })
}

/// The page size of a listing: the one `given`, else the spec's default for the action.
pub(crate) fn page_size(meta: &ActionMeta, given: Option<u64>) -> u64 {
    given
        .or_else(|| meta.default_page_size())
        // Validation requires a page size where the spec states no default.
        .unwrap_or(u64::MAX)
}
