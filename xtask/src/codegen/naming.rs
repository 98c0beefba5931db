//! Rust names for wire names.

// The rule for snake-case names and identifiers is the model's own, compiled here from
// its source so that the generated code and the tools reading the model cannot disagree.
#[path = "../../../crates/iotexplorer-model/src/naming.rs"]
#[allow(unreachable_pub)] // public in the model, where the file's items are exported
mod rust_names;

pub(crate) use rust_names::{identifier, snake_case};

/// `BatchUpdateFirmware` -> `BATCH_UPDATE_FIRMWARE`.
pub(crate) fn upper_snake_case(name: &str) -> String {
    snake_case(name).to_ascii_uppercase()
}

/// An error-code variant: `AuthFailure.SignatureExpire` -> `AuthFailureSignatureExpire`.
pub(crate) fn code_variant(code: &str) -> String {
    code.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The first word of a CamelCase action name: `DescribeFirmwareTask` -> `Describe`.
pub(crate) fn verb(action: &str) -> &str {
    let end = action
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(action.len(), |(index, _)| index);
    &action[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_variants_drop_separators() {
        assert_eq!(
            code_variant("AuthFailure.SignatureExpire"),
            "AuthFailureSignatureExpire"
        );
        assert_eq!(code_variant("InternalError"), "InternalError");
    }

    #[test]
    fn verb_is_first_word() {
        assert_eq!(verb("DescribeFirmwareTask"), "Describe");
        assert_eq!(verb("GetCOSURL"), "Get");
        assert_eq!(verb("Describe"), "Describe");
    }
}
