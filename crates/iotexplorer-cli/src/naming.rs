//! Rust names for wire names, by the rule `cargo xtask codegen` names the model's types,
//! fields and methods with (`xtask/src/codegen/naming.rs`): the programs of
//! `--generate-code rust` call those names, and `search` splits names into the same
//! words. This is the CLI's one copy of the rule; the model's metadata does not carry the
//! generated names.

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

/// A field or method identifier, raw when it is a keyword (`type` -> `r#type`).
pub(crate) fn identifier(snake: &str) -> String {
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
    fn names_follow_the_model() {
        assert_eq!(snake_case("ProductID"), "product_id");
        assert_eq!(snake_case("FirmWare"), "firm_ware");
        assert_eq!(snake_case("COSURL"), "cosurl");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("FileMd5"), "file_md5");
        assert_eq!(snake_case("Md5sum"), "md5sum");
        assert_eq!(snake_case("TWeCallInfo"), "t_we_call_info");
        assert_eq!(snake_case("Ipv4Address"), "ipv4_address");
        assert_eq!(identifier("type"), "r#type");
        assert_eq!(identifier("task_id"), "task_id");
    }
}
