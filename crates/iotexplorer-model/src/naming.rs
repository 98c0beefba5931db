//! The Rust names of wire names: the rule the generated types, fields and methods are named
//! by, so that tools that print Rust code or split names into words agree with the
//! generated code. `cargo xtask codegen` compiles this very file, so the rule is written
//! once.

/// A wire name in snake case: `ProductID` -> `product_id`, `FirmWare` -> `firm_ware`,
/// `COSURL` -> `cosurl`.
///
/// ```
/// use iotexplorer_model::naming::snake_case;
///
/// assert_eq!(snake_case("FirmwareVersion"), "firmware_version");
/// assert_eq!(snake_case("HTTPServer"), "http_server");
/// ```
pub fn snake_case(name: &str) -> String {
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

/// A field or method identifier, raw when it is a keyword (`type` -> `r#type`).
///
/// ```
/// use iotexplorer_model::naming::identifier;
///
/// assert_eq!(identifier("type"), "r#type");
/// assert_eq!(identifier("task_id"), "task_id");
/// ```
pub fn identifier(snake: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do",
        "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in",
        "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
        "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
        "unsized", "use", "virtual", "where", "while", "yield",
    ];
    if KEYWORDS.contains(&snake) {
        format!("r#{snake}")
    } else {
        snake.to_owned()
    }
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
}
