//! Reading validated members out of request JSON.
//!
//! The model's validator has already checked types, so these only pick values out; a
//! missing or odd value simply reads as absent.

use iotexplorer_model::ApiError;
use serde_json::{Map, Value};

use super::shown;
use crate::state::{Product, State};

pub(crate) fn text<'a>(params: &'a Value, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

pub(crate) fn uint(params: &Value, name: &str) -> Option<u64> {
    params.get(name).and_then(Value::as_u64)
}

pub(crate) fn int(params: &Value, name: &str) -> Option<i64> {
    params.get(name).and_then(Value::as_i64)
}

/// `Filters: [{Key, Value}]` as pairs.
pub(crate) fn filters(params: &Value) -> Vec<(String, String)> {
    params
        .get("Filters")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some((
                        text(item, "Key")?.to_owned(),
                        text(item, "Value")?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The product, or `ResourceNotFound.StudioProductNotExist`.
pub(crate) fn product<'a>(state: &'a State, id: Option<&str>) -> Result<&'a Product, ApiError> {
    id.and_then(|id| state.products.get(id)).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFound.StudioProductNotExist",
            format!(
                "the product {} does not exist",
                shown(id.unwrap_or_default())
            ),
        )
    })
}

/// Builds a response object from pairs.
pub(crate) fn object<const N: usize>(members: [(&str, Value); N]) -> Map<String, Value> {
    members
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}
