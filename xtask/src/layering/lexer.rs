//! Just enough of a Rust lexer for the source rules: identifiers, integer literals, string
//! literals and punctuation, each with its line, comments dropped. Matching tokens rather
//! than text keeps a rule from firing on a comment, a doc example or a word inside a string.

/// What one token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An identifier or keyword (`r#` stripped).
    Ident(String),
    /// An integer literal, underscores and type suffix removed; `None` when it does not fit.
    Int(Option<i128>),
    /// Any other number (a float).
    Float,
    /// The contents of a string literal (escapes left as written).
    Str(String),
    /// A character or byte literal.
    Char,
    /// A lifetime or label.
    Lifetime,
    /// Punctuation; the compound operators the rules look at (`==`, `!=`, `<=`, `>=`, `=>`,
    /// `::`, `->`, `&&`, `||`) are one token, anything else is one character.
    Punct(String),
}

/// One token and the line (counted from 1) it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) line: usize,
}

impl Token {
    pub(super) fn is_punct(&self, text: &str) -> bool {
        matches!(&self.kind, Kind::Punct(p) if p == text)
    }

    pub(super) fn ident(&self) -> Option<&str> {
        match &self.kind {
            Kind::Ident(name) => Some(name),
            _ => None,
        }
    }

    pub(super) fn is_ident(&self, text: &str) -> bool {
        self.ident() == Some(text)
    }

    pub(super) fn string(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(text) => Some(text),
            _ => None,
        }
    }
}

const COMPOUND: &[&str] = &["==", "!=", "<=", ">=", "=>", "::", "->", "&&", "||"];

/// The tokens of `source`. Never fails: anything it does not understand becomes punctuation.
pub(super) fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let at = |offset: usize| chars.get(i + offset).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(1) == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(1) == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"..", r#".."#, br#".."#: skip the prefix, read to the matching closer.
            let prefix = if c == 'b' || c == 'c' { 2 } else { 1 };
            i += prefix + hashes + 1;
            let begin = i;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    break;
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            let text: String = chars[begin..i.min(chars.len())].iter().collect();
            i += 1 + hashes;
            out.push(Token {
                kind: Kind::Str(text),
                line: start_line,
            });
        } else if c == '"' || ((c == 'b' || c == 'c') && at(1) == Some('"')) {
            i += if c == '"' { 1 } else { 2 };
            let begin = i;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    line += 1;
                }
                i += 1;
            }
            let text: String = chars[begin..i.min(chars.len())].iter().collect();
            i += 1;
            out.push(Token {
                kind: Kind::Str(text),
                line: start_line,
            });
        } else if c == '\'' || (c == 'b' && at(1) == Some('\'')) {
            let quote = if c == 'b' { i + 1 } else { i };
            // 'x' or '\n' is a character; 'a without a closing quote is a lifetime.
            if chars.get(quote + 1) == Some(&'\\') {
                // Past the escaped character, which may itself be a quote: '\''.
                i = quote + 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(Token {
                    kind: Kind::Char,
                    line: start_line,
                });
            } else if chars.get(quote + 2) == Some(&'\'') {
                i = quote + 3;
                out.push(Token {
                    kind: Kind::Char,
                    line: start_line,
                });
            } else {
                i = quote + 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    kind: Kind::Lifetime,
                    line: start_line,
                });
            }
        } else if c.is_ascii_digit() {
            let begin = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            let text: String = chars[begin..i].iter().collect();
            out.push(Token {
                kind: number(&text),
                line: start_line,
            });
        } else if is_ident_start(c) {
            let begin = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let mut text: String = chars[begin..i].iter().collect();
            if text == "r" && chars.get(i) == Some(&'#') {
                // A raw identifier: r#type.
                i += 1;
                let begin = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                text = chars[begin..i].iter().collect();
            }
            out.push(Token {
                kind: Kind::Ident(text),
                line: start_line,
            });
        } else {
            let pair: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let text = if COMPOUND.contains(&pair.as_str()) {
                pair
            } else {
                c.to_string()
            };
            i += text.chars().count();
            out.push(Token {
                kind: Kind::Punct(text),
                line: start_line,
            });
        }
    }
    out
}

/// At `i`, the number of `#` of a raw string that starts there (`r"`, `r#"`, `br"`, ...).
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    // Only where an identifier could not be continuing: `bar"` is not a raw string.
    if i > 0 && is_ident_char(chars[i - 1]) {
        return None;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some(hashes)
}

fn number(text: &str) -> Kind {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let (radix, body) = match digits.get(..2) {
        Some("0x") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ => (10, digits.as_str()),
    };
    let end = body
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(body.len());
    let suffix = &body[end..];
    if radix == 10 && suffix.starts_with(['.', 'e', 'E', 'f']) {
        return Kind::Float;
    }
    Kind::Int(i128::from_str_radix(&body[..end], radix).ok())
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[test]
fn reads_literals_comments_and_lifetimes() {
    let source = r##"fn f<'a>(x: &'a str) -> char { /* a /* nested */ "comment" */
    let q = '\''; let b = b'"'; let s = "say \"DONE\" // not a comment";
    let r = r#"raw "quoted" text"#; // DONE = 6
    let n = 0x1F + 1_000u32 + 5usize; let f = 1.5e3; let t = x.0;
    r#type }"##;
    let found = tokens(source);
    let strings: Vec<&str> = found.iter().filter_map(Token::string).collect();
    assert_eq!(
        strings,
        [r#"say \"DONE\" // not a comment"#, r#"raw "quoted" text"#]
    );
    let ints: Vec<Option<i128>> = found
        .iter()
        .filter_map(|t| match t.kind {
            Kind::Int(value) => Some(value),
            _ => None,
        })
        .collect();
    assert_eq!(ints, [Some(31), Some(1000), Some(5), Some(0)]);
    assert_eq!(found.iter().filter(|t| t.kind == Kind::Char).count(), 2);
    assert_eq!(found.iter().filter(|t| t.kind == Kind::Lifetime).count(), 2);
    assert!(found.iter().any(|t| t.is_ident("type") && t.line == 5));
    assert!(
        !found
            .iter()
            .any(|t| t.is_ident("DONE") || t.is_ident("nested"))
    );
}
