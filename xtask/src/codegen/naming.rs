//! Rust names for wire names.

/// `ProductID` -> `product_id`, `FirmWare` -> `firm_ware`, `COSURL` -> `cosurl`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (index, &current) in chars.iter().enumerate() {
        if current.is_ascii_uppercase() && index > 0 {
            let previous = chars[index - 1];
            let next_is_lower = chars.get(index + 1).is_some_and(char::is_ascii_lowercase);
            // A word starts after a lowercase letter or digit, or where an acronym ends
            // (`HTTPServer` -> `http_server`).
            let starts_word = previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower);
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
        }
        if current.is_ascii_alphanumeric() {
            out.push(current.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

/// `BatchUpdateFirmware` -> `BATCH_UPDATE_FIRMWARE`.
pub(crate) fn upper_snake_case(name: &str) -> String {
    snake_case(name).to_ascii_uppercase()
}

/// A field or method identifier, raw when it is a keyword (`type` -> `r#type`).
pub(crate) fn identifier(snake: &str) -> String {
    if is_keyword(snake) {
        format!("r#{snake}")
    } else {
        snake.to_owned()
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do",
        "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in",
        "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
        "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
        "unsized", "use", "virtual", "where", "while", "yield",
    ];
    KEYWORDS.contains(&word)
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
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("ProductID"), "product_id");
        assert_eq!(snake_case("FirmWare"), "firm_ware");
        assert_eq!(snake_case("COSURL"), "cosurl");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("Md5sum"), "md5sum");
        assert_eq!(snake_case("FileMd5"), "file_md5");
        assert_eq!(snake_case("TWeCallInfo"), "t_we_call_info");
        assert_eq!(snake_case("Ipv4Address"), "ipv4_address");
    }

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(identifier("type"), "r#type");
        assert_eq!(identifier("task_id"), "task_id");
    }

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
