//! The canonical request: the exact text both sides hash, and the checks that keep
//! anything ambiguous out of it.
//!
//! Signer and verifier build it with the same code, so they cannot drift apart.

use std::ops::Range;

use crate::error::{SigningError, SigningErrorKind as K};
use crate::scan::{all_bytes, or_flags};

/// Everything the canonical request is made of, already chosen and ordered.
pub(crate) struct CanonicalInput<'a, 'h> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: HeaderSet<'a, 'h>,
    /// Lower-case hexadecimal SHA-256 of the payload (or of `UNSIGNED-PAYLOAD`).
    pub(crate) payload_hash: &'a [u8; 64],
}

/// The signed headers of a canonical request.
#[derive(Clone, Copy)]
pub(crate) enum HeaderSet<'a, 'h> {
    /// `content-type;host`, what nearly every request signs: the names are known, so only
    /// the values are checked and copied.
    ContentTypeAndHost {
        content_type: &'a str,
        host: CheckedHost<'a>,
    },
    /// Any list, in the order given: (name, raw value).
    Listed(&'h [(&'a str, &'a str)]),
}

/// The signed-header list of [`HeaderSet::ContentTypeAndHost`].
const CONTENT_TYPE_AND_HOST: &[u8] = b"content-type;host";

impl HeaderSet<'_, '_> {
    /// An upper bound of the bytes the headers take in the canonical request.
    pub(crate) fn max_len(&self) -> usize {
        match self {
            Self::ContentTypeAndHost { content_type, host } => {
                content_type.len() + host.len() + 2 * CONTENT_TYPE_AND_HOST.len() + 4
            }
            Self::Listed(headers) => headers
                .iter()
                .map(|(name, value)| 2 * name.len() + value.len() + 3)
                .sum(),
        }
    }
}

impl CanonicalInput<'_, '_> {
    /// Appends the canonical request to `out` and returns where, within `out`, the
    /// signed-header list (e.g. `content-type;host`) was written.
    #[inline]
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<Range<usize>, SigningError> {
        out.extend_from_slice(self.method.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.path.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.query.as_bytes());
        let signed_headers = match self.headers {
            HeaderSet::ContentTypeAndHost { content_type, host } => {
                out.extend_from_slice(b"\ncontent-type:");
                push_header_value("content-type", content_type, out)?;
                out.extend_from_slice(b"\nhost:");
                host.push_lowercase(out);
                out.extend_from_slice(b"\n\n");
                let start = out.len();
                out.extend_from_slice(CONTENT_TYPE_AND_HOST);
                start..out.len()
            }
            HeaderSet::Listed(headers) => write_listed(headers, out)?,
        };
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash);
        Ok(signed_headers)
    }
}

/// The canonical headers and the signed-header list of any list of headers, each written
/// after the line break that ends the query string.
fn write_listed(headers: &[(&str, &str)], out: &mut Vec<u8>) -> Result<Range<usize>, SigningError> {
    for (name, value) in headers {
        out.push(b'\n');
        let name = trim_blanks(name);
        if !is_header_name(name) {
            return Err(SigningError::new(K::InvalidHeaderName(
                name.to_ascii_lowercase(),
            )));
        }
        push_lowercase(out, name);
        out.push(b':');
        push_header_value(name, value, out)?;
    }
    out.extend_from_slice(b"\n\n");
    let start = out.len();
    for (index, (name, _)) in headers.iter().enumerate() {
        if index > 0 {
            out.push(b';');
        }
        push_lowercase(out, trim_blanks(name));
    }
    Ok(start..out.len())
}

/// Appends a header value trimmed and lower-cased, or refuses it unless it is visible
/// ASCII, spaces and tabs: anything else could change meaning in transit or would be
/// lower-cased differently by another implementation. One pass both checks the bytes and
/// looks for upper case, branch-free so that the compiler vectorises it.
pub(crate) fn push_header_value(
    name: &str,
    value: &str,
    out: &mut Vec<u8>,
) -> Result<(), SigningError> {
    const INVALID: u8 = 1;
    const UPPER: u8 = 2;
    let value = trim_blanks(value).as_bytes();
    let flags = or_flags(value, |b| {
        let visible_or_space = b.wrapping_sub(b' ') < 0x5f;
        (u8::from(!(visible_or_space | (b == b'\t'))) * INVALID)
            | (u8::from(b.is_ascii_uppercase()) * UPPER)
    });
    if flags & INVALID != 0 {
        let name = trim_blanks(name).to_ascii_lowercase();
        return Err(SigningError::new(K::InvalidHeaderValue { name }));
    }
    let start = out.len();
    out.extend_from_slice(value);
    if flags & UPPER != 0 {
        out[start..].make_ascii_lowercase();
    }
    Ok(())
}

fn push_lowercase(out: &mut Vec<u8>, text: &str) {
    let start = out.len();
    out.extend_from_slice(text.as_bytes());
    out[start..].make_ascii_lowercase();
}

/// Byte classes, looked up in one table instead of scanning lists of characters: this
/// runs on every byte of every signed header, path and query string.
const TOKEN: u8 = 1;
const UNRESERVED: u8 = 2;
const SUB_DELIM: u8 = 4;

const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() {
            class |= TOKEN | UNRESERVED;
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

/// An HTTP method as the canonical request spells it: upper-case letters.
pub(crate) fn is_method(method: &str) -> bool {
    !method.is_empty() && all_bytes(method.as_bytes(), |b| b.is_ascii_uppercase())
}

pub(crate) fn check_method(method: &str) -> Result<(), SigningError> {
    if is_method(method) {
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

/// A host that passed the checks of [`CheckedHost::new`]. A valid host is also a valid
/// header value with nothing to trim, so that one scan is all signing needs of it.
#[derive(Clone, Copy)]
pub(crate) struct CheckedHost<'a>(&'a str);

impl<'a> CheckedHost<'a> {
    /// `host` when it is a host name, IPv4 or bracketed IPv6 address, with an optional
    /// port.
    pub(crate) fn new(host: &'a str) -> Option<Self> {
        // Branch-free, so the compiler vectorises it: it runs on every signature.
        let all_host_bytes = all_bytes(host.as_bytes(), |b| {
            let letter = (b | 0x20).wrapping_sub(b'a') < 26;
            let digit_or_colon = b.wrapping_sub(b'0') < 11;
            // Comparisons joined with `|`, not `matches!`: a bit-set lookup would not
            // vectorise.
            let dash_or_dot = b.wrapping_sub(b'-') < 2;
            letter | digit_or_colon | dash_or_dot | (b == b'[') | (b == b']') | (b == b'_')
        });
        let valid = all_host_bytes && !host.is_empty() && !host.starts_with(':');
        valid.then_some(Self(host))
    }

    fn len(self) -> usize {
        self.0.len()
    }

    /// Appends the host as the canonical request has it: lower case.
    fn push_lowercase(self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(self.0.as_bytes());
        if or_flags(self.0.as_bytes(), |b| u8::from(b.is_ascii_uppercase())) != 0 {
            out[start..].make_ascii_lowercase();
        }
    }
}

pub(crate) fn check_host(host: &str) -> Result<(), SigningError> {
    match CheckedHost::new(host) {
        Some(_) => Ok(()),
        None => Err(SigningError::new(K::InvalidHost(host.to_owned()))),
    }
}

/// An absolute path with every character that needs it percent-encoded.
pub(crate) fn is_path(path: &str) -> bool {
    // `/`, the path of every API 3.0 request, without a call.
    path == "/" || path.starts_with('/') && first_bad_uri_byte(path, b"!$&'()*+,;=:@/").is_none()
}

/// A query string that [`check_query`] accepts.
pub(crate) fn is_query(query: &str) -> bool {
    // Empty, as for every POST, without a call.
    query.is_empty() || first_bad_uri_byte(query, b"?").is_none()
}

pub(crate) fn check_path(path: &str) -> Result<(), SigningError> {
    if is_path(path) {
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
pub(crate) fn first_bad_uri_byte(text: &str, extra: &[u8]) -> Option<(usize, &'static str)> {
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
            headers: HeaderSet::Listed(headers),
            payload_hash: &[b'a'; 64],
        };
        let mut out = Vec::new();
        let signed = input.write(&mut out)?;
        let signed = String::from_utf8(out[signed].to_vec()).expect("ASCII");
        Ok((String::from_utf8(out).expect("UTF-8"), signed))
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
             content-type;host\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
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
    fn a_host_byte_is_accepted_exactly_when_it_is_alphanumeric_or_in_the_host_set() {
        for byte in 0..=255u8 {
            let expected = byte.is_ascii_alphanumeric() || b"-.:[]_".contains(&byte);
            // In every position of a host long enough for the vectorised blocks.
            for position in [0, 7, 15, 16, 30] {
                let mut host = vec![b'a'; 31];
                host[position] = byte;
                let Ok(host) = std::str::from_utf8(&host) else {
                    continue;
                };
                let accepted = check_host(host).is_ok();
                let expected = expected && !(position == 0 && byte == b':');
                assert_eq!(accepted, expected, "byte {byte:#04x} at {position}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_content_type_and_host_shortcut_writes_what_the_general_writer_does(
            content_type in "[ \t]{0,2}[ -~\t\n\u{e9}]{0,40}[ \t]{0,2}",
            host in "[A-Za-z0-9.:_\\[\\]-]{1,40}",
            query in "[a-z0-9=&%]{0,20}",
        ) {
            // The shortcut takes hosts that signing has checked.
            let Some(checked) = CheckedHost::new(&host) else {
                proptest::prop_assert!(host.starts_with(':'));
                return Ok(());
            };
            let hash = [b'7'; 64];
            let write = |headers| {
                let input = CanonicalInput { method: "POST", path: "/", query: &query, headers, payload_hash: &hash };
                let mut out = Vec::new();
                input.write(&mut out).map(|signed| (signed, out))
            };
            let shortcut = write(HeaderSet::ContentTypeAndHost { content_type: &content_type, host: checked });
            let listed = [("content-type", content_type.as_str()), ("host", host.as_str())];
            let general = write(HeaderSet::Listed(&listed));
            proptest::prop_assert_eq!(shortcut, general);
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
