//! Rust source for the `ErrorCode` enum.

use std::collections::BTreeMap;

use super::naming::code_variant;

/// The rustdoc of `ErrorCode`, with a match that stays correct when new codes appear.
const ERROR_CODE_DOC: &str = r#"/// A Tencent Cloud API error code, as sent in `Response.Error.Code`.
///
/// Covers the service's documented codes and the common API 3.0 codes. A code this crate
/// has never seen is kept unchanged in [`ErrorCode::Unknown`].
///
/// Match the codes you handle and keep a catch-all arm, so the match stays correct when new
/// codes appear:
///
/// ```
/// use iotexplorer_model::ErrorCode;
///
/// fn advice(code: &ErrorCode) -> &'static str {
///     match code {
///         ErrorCode::FailedOperationDeviceIsUpdating => "wait for the running task",
///         code if code.is_throttling() => "slow down, then resend",
///         code if code.is_auth() => "check the credentials",
///         // Codes added later and codes never seen (`ErrorCode::Unknown`) land here.
///         _ => "report the error",
///     }
/// }
///
/// let throttled = ErrorCode::from("RequestLimitExceeded.UinLimitExceeded");
/// assert_eq!(advice(&throttled), "slow down, then resend");
/// let unseen = ErrorCode::from("FailedOperation.BrandNew");
/// assert_eq!(unseen.as_str(), "FailedOperation.BrandNew");
/// assert_eq!(advice(&unseen), "report the error");
/// ```
"#;

/// The enum of every known code: the service's own and the common API 3.0 codes.
pub(crate) fn error_codes(
    service_codes: &[String],
    common: &BTreeMap<String, String>,
) -> Result<String, String> {
    let mut codes: BTreeMap<&str, Option<&str>> = service_codes
        .iter()
        .map(|code| (code.as_str(), None))
        .collect();
    for (code, doc) in common {
        codes.insert(code.as_str(), Some(doc.as_str()));
    }
    let mut variants: BTreeMap<String, &str> = BTreeMap::new();
    for code in codes.keys() {
        let variant = code_variant(code);
        if variant == "Unknown" {
            return Err(format!("error code {code} clashes with the `Unknown` case"));
        }
        if let Some(other) = variants.insert(variant.clone(), code) {
            return Err(format!(
                "error codes {other} and {code} both map to `{variant}`"
            ));
        }
    }
    let mut out = String::from(ERROR_CODE_DOC);
    out.push_str(
        "#[derive(Clone, Debug, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum ErrorCode {\n",
    );
    for (code, doc) in &codes {
        match doc {
            Some(doc) => out.push_str(&format!("/// `{code}`: {doc}\n")),
            None => out.push_str(&format!("/// `{code}`.\n")),
        }
        out.push_str(&format!("{},\n", code_variant(code)));
    }
    out.push_str("/// A code not known to this crate, kept exactly as received.\nUnknown(UnknownCode),\n}\n\n");
    out.push_str("impl ErrorCode {\n/// The wire string of every known code, sorted.\npub const KNOWN: &'static [&'static str] = &[\n");
    for code in codes.keys() {
        out.push_str(&format!("{code:?},\n"));
    }
    out.push_str("];\n\n/// The code exactly as it appears on the wire.\npub fn as_str(&self) -> &str {\nmatch self {\n");
    for code in codes.keys() {
        out.push_str(&format!("Self::{} => {code:?},\n", code_variant(code)));
    }
    out.push_str("Self::Unknown(code) => code.as_str(),\n}\n}\n\n");
    out.push_str("pub(crate) fn from_wire(code: &str) -> Self {\nmatch code {\n");
    for code in codes.keys() {
        out.push_str(&format!("{code:?} => Self::{},\n", code_variant(code)));
    }
    out.push_str("other => Self::Unknown(UnknownCode::new(other)),\n}\n}\n}\n");
    Ok(out)
}
