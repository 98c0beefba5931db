//! The canonical request: the exact text both sides hash, and the checks that keep
//! anything ambiguous out of it.
//!
//! Signer and verifier build it with the same code, so they cannot drift apart.

use std::ops::Range;

use crate::error::{SigningError, SigningErrorKind as K};

/// Everything the canonical request is made of, already chosen and ordered.
pub(crate) struct CanonicalInput<'a, 'h> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    /// Signed headers in the order they are listed: (name, raw value).
    pub(crate) headers: &'h [(&'a str, &'a str)],
    /// Lower-case hexadecimal SHA-256 of the payload (or of `UNSIGNED-PAYLOAD`).
    pub(crate) payload_hash: &'a str,
}

impl CanonicalInput<'_, '_> {
    /// Appends the canonical request to `out` and returns where, within `out`, the
    /// signed-header list (e.g. `content-type;host`) was written.
    pub(crate) fn write(&self, out: &mut String) -> Result<Range<usize>, SigningError> {
        out.push_str(self.method);
        out.push('\n');
        out.push_str(self.path);
        out.push('\n');
        out.push_str(self.query);
        out.push('\n');
        for (name, value) in self.headers {
            let start = out.len();
            push_lowercase(out, trim_blanks(name));
            if !is_header_name(&out[start..]) {
                return Err(SigningError::new(K::InvalidHeaderName(
                    out[start..].to_owned(),
                )));
            }
            out.push(':');
            let value = trim_blanks(value);
            if !is_header_value(value) {
                let name = trim_blanks(name).to_ascii_lowercase();
                return Err(SigningError::new(K::InvalidHeaderValue { name }));
            }
            push_lowercase(out, value);
            out.push('\n');
        }
        out.push('\n');
        let signed_start = out.len();
        for (index, (name, _)) in self.headers.iter().enumerate() {
            if index > 0 {
                out.push(';');
            }
            push_lowercase(out, trim_blanks(name));
        }
        let signed_headers = signed_start..out.len();
        out.push('\n');
        out.push_str(self.payload_hash);
        Ok(signed_headers)
    }
}

fn push_lowercase(out: &mut String, text: &str) {
    // A fold without early exit compiles to a vectorised scan.
    if text
        .bytes()
        .fold(false, |seen, b| seen | b.is_ascii_uppercase())
    {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.push_str(text);
    }
}

/// Byte classes, looked up in one table instead of scanning lists of characters: this
/// runs on every byte of every signed header, path and query string.
const TOKEN: u8 = 1;
const UNRESERVED: u8 = 2;
const SUB_DELIM: u8 = 4;
const HOST: u8 = 8;

const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() {
            class |= TOKEN | UNRESERVED | HOST;
        }
        table[byte] = class;
        byte += 1;
    }
    let mut i = 0;
    let token = b"!#$%&'*+-.^_`|~";
    while i < token.len() {
        table[token[i] as usize] |= TOKEN;
        i += 1;
    }
    let mut i = 0;
    let unreserved = b"-._~";
    while i < unreserved.len() {
        table[unreserved[i] as usize] |= UNRESERVED;
        i += 1;
    }
    let mut i = 0;
    let sub_delims = b"!$&'()*+,;=";
    while i < sub_delims.len() {
        table[sub_delims[i] as usize] |= SUB_DELIM;
        i += 1;
    }
    let mut i = 0;
    let host = b"-.:[]_";
    while i < host.len() {
        table[host[i] as usize] |= HOST;
        i += 1;
    }
    table
};

fn all_in(text: &str, class: u8) -> bool {
    text.bytes()
        .fold(true, |ok, b| ok & (CLASSES[usize::from(b)] & class != 0))
}

/// RFC 9110 token characters.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && all_in(name, TOKEN)
}

/// Visible ASCII, spaces and tabs: anything else could change meaning in transit or
/// would be lower-cased differently by another implementation.
pub(crate) fn is_header_value(value: &str) -> bool {
    // Branch-free on purpose, so the compiler vectorises it: it runs on every header value.
    value.bytes().fold(true, |ok, b| {
        ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    })
}

/// Strips spaces and tabs from both ends, as header values are trimmed before signing.
pub(crate) fn trim_blanks(text: &str) -> &str {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |last| last + 1);
    // Both ends sit next to an ASCII blank or at the text's edge: character boundaries.
    text.get(start..end).unwrap_or_default()
}

pub(crate) fn check_method(method: &str) -> Result<(), SigningError> {
    if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(SigningError::new(K::InvalidMethod(method.to_owned())))
    }
}

pub(crate) fn check_service(service: &str) -> Result<(), SigningError> {
    let valid = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SigningError::new(K::InvalidService(service.to_owned())))
    }
}

pub(crate) fn check_host(host: &str) -> Result<(), SigningError> {
    let valid = !host.is_empty() && !host.starts_with(':') && all_in(host, HOST);
    if valid {
        Ok(())
    } else {
        Err(SigningError::new(K::InvalidHost(host.to_owned())))
    }
}

pub(crate) fn check_path(path: &str) -> Result<(), SigningError> {
    let valid = path.starts_with('/') && first_bad_uri_byte(path, b"!$&'()*+,;=:@/").is_none();
    if valid {
        Ok(())
    } else {
        Err(SigningError::new(K::InvalidPath(path.to_owned())))
    }
}

/// A query string is signed byte for byte as sent, so it must already be in the form the
/// server will see: percent-encoded, with no character a client or proxy would rewrite.
pub(crate) fn check_query(query: &str) -> Result<(), SigningError> {
    match first_bad_uri_byte(query, b"?") {
        None => Ok(()),
        Some((at, reason)) => Err(SigningError::new(K::InvalidQuery { at, reason })),
    }
}

/// The first byte that is not unreserved, a sub-delimiter, `:`, `@`, `/`, one of `extra`,
/// or part of a well-formed percent escape.
fn first_bad_uri_byte(text: &str, extra: &[u8]) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let escape = bytes.get(index + 1..index + 3);
            if !escape.is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
                return Some((index, "'%' must be followed by two hexadecimal digits"));
            }
            index += 3;
            continue;
        }
        let plain = CLASSES[usize::from(byte)] & (UNRESERVED | SUB_DELIM) != 0
            || matches!(byte, b':' | b'@' | b'/')
            || extra.contains(&byte);
        if !plain {
            return Some((index, "character must be percent-encoded"));
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(headers: &[(&str, &str)]) -> Result<(String, String), SigningError> {
        let input = CanonicalInput {
            method: "POST",
            path: "/",
            query: "",
            headers,
            payload_hash: "abc",
        };
        let mut out = String::new();
        let signed = input.write(&mut out)?;
        let signed = out[signed].to_owned();
        Ok((out, signed))
    }

    #[test]
    fn lowercases_and_trims_names_and_values() {
        let (text, signed) = canonical(&[
            (" Content-Type", "  application/JSON "),
            ("HOST", "CVM.tencentcloudapi.com"),
        ])
        .expect("valid headers");
        assert_eq!(
            text,
            "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n\
             content-type;host\nabc"
        );
        assert_eq!(signed, "content-type;host");
    }

    #[test]
    fn refuses_line_breaks_and_non_ascii_in_values() {
        for value in ["a\nx-evil:1", "a\rb", "caf\u{e9}", "\u{7f}"] {
            let error = canonical(&[("host", value)]).expect_err(value);
            assert!(matches!(error.kind(), K::InvalidHeaderValue { name } if name == "host"));
        }
    }

    #[test]
    fn refuses_header_names_that_are_not_tokens() {
        for name in ["", "a b", "a:b", "x\u{e9}"] {
            assert!(canonical(&[(name, "v")]).is_err(), "{name:?}");
        }
    }

    #[test]
    fn query_checks_accept_encoded_text_and_refuse_the_rest() {
        for good in [
            "",
            "a=1&b=2",
            "DeviceNames.0=dev%20001",
            "x=%E6%9C%AA&y=~._-",
        ] {
            assert!(check_query(good).is_ok(), "{good:?}");
        }
        for (bad, at) in [
            ("a=1 2", 3),
            ("a=%2", 2),
            ("a=%zz", 2),
            ("a#b", 1),
            ("\u{e9}", 0),
        ] {
            match check_query(bad).map_err(|e| e.kind().clone()) {
                Err(K::InvalidQuery { at: found, .. }) => assert_eq!(found, at, "{bad:?}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn hosts_methods_paths_and_services() {
        assert!(check_host("iotexplorer.tencentcloudapi.com").is_ok());
        assert!(check_host("127.0.0.1:9555").is_ok());
        assert!(check_host("[::1]:80").is_ok());
        for bad in ["", "a b", "a/b", ":80", "h\u{e9}st"] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
        assert!(check_method("POST").is_ok());
        for bad in ["", "post", "PO ST"] {
            assert!(check_method(bad).is_err(), "{bad:?}");
        }
        assert!(check_path("/").is_ok());
        for bad in ["", "x", "/?a", "/#", "/a b"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        assert!(check_service("iotexplorer").is_ok());
        for bad in ["", "IOT", "a/b", "a b"] {
            assert!(check_service(bad).is_err(), "{bad:?}");
        }
    }
}
