//! The canonical request: the exact text both sides hash, and the checks that keep
//! anything ambiguous out of it.
//!
//! Signer and verifier build it with the same code, so they cannot drift apart.

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
    /// Writes the canonical request into `out` and the signed-header list into
    /// `signed_headers`, after checking each header.
    pub(crate) fn write(
        &self,
        out: &mut String,
        signed_headers: &mut String,
    ) -> Result<(), SigningError> {
        out.push_str(self.method);
        out.push('\n');
        out.push_str(self.path);
        out.push('\n');
        out.push_str(self.query);
        out.push('\n');
        for (index, (name, value)) in self.headers.iter().enumerate() {
            let start = out.len();
            push_lowercase(out, name.trim());
            let name = &out[start..];
            if !is_header_name(name) {
                return Err(SigningError::new(K::InvalidHeaderName(name.to_owned())));
            }
            if index > 0 {
                signed_headers.push(';');
            }
            signed_headers.push_str(name);
            out.push(':');
            let value = value.trim_matches([' ', '\t']);
            if !is_header_value(value) {
                let name = signed_headers
                    .rsplit(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                return Err(SigningError::new(K::InvalidHeaderValue { name }));
            }
            push_lowercase(out, value);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(signed_headers);
        out.push('\n');
        out.push_str(self.payload_hash);
        Ok(())
    }
}

fn push_lowercase(out: &mut String, text: &str) {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.push_str(text);
    }
}

/// RFC 9110 token characters.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Visible ASCII, spaces and tabs: anything else could change meaning in transit or
/// would be lower-cased differently by another implementation.
pub(crate) fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
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
    let valid = !host.is_empty()
        && !host.starts_with(':')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
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
    match first_bad_uri_byte(query, b"!$&'()*+,;=:@/?") {
        None => Ok(()),
        Some((at, reason)) => Err(SigningError::new(K::InvalidQuery { at, reason })),
    }
}

fn first_bad_uri_byte(text: &str, allowed: &[u8]) -> Option<(usize, &'static str)> {
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
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if !unreserved && !allowed.contains(&byte) {
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
        let mut signed = String::new();
        input.write(&mut out, &mut signed).map(|()| (out, signed))
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
