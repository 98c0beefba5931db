//! Finding what a request names in the state, or the not-found error Tencent answers with;
//! and the paging and keyword filters several listings share.

use iotexplorer_model::{ActionMeta, ApiError, ErrorCode, SearchKeyword};

use super::shown;
use crate::state::{Firmware, Product, State};

/// The product, or `ResourceNotFound.StudioProductNotExist`.
pub(crate) fn product<'a>(state: &'a State, id: Option<&str>) -> Result<&'a Product, ApiError> {
    id.and_then(|id| state.products.get(id)).ok_or_else(|| {
        ApiError::new(
            ErrorCode::ResourceNotFoundStudioProductNotExist,
            format!(
                "the product {} does not exist",
                shown(id.unwrap_or_default())
            ),
        )
    })
}

/// The product and its firmware `version` (of `fw_type` when given), or
/// `ResourceNotFound.StudioProductNotExist` / `ResourceNotFound.FirmwareNotExist`.
pub(crate) fn firmware<'a>(
    state: &'a State,
    product_id: Option<&str>,
    version: Option<&str>,
    fw_type: Option<&str>,
) -> Result<(&'a Product, &'a Firmware), ApiError> {
    let product = product(state, product_id)?;
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
