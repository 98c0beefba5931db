//! What signer and verifier both compute before the MAC: the payload hash, the canonical
//! request and the string to sign, written into one buffer.

use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::canonical::CanonicalInput;
use crate::digits::{hex64, push_decimal};
use crate::error::{SigningError, SigningErrorKind as K};
use crate::sign::{ALGORITHM, Payload, UNSIGNED_PAYLOAD};

/// The canonical request and string to sign of one request. Both live in one buffer
/// (one allocation on the signing path); `parts` says where each part is.
pub(crate) struct Prepared {
    pub(crate) text: Vec<u8>,
    pub(crate) parts: Parts,
}

/// Where each stage lies within the buffer of a [`Prepared`]: the canonical request
/// starts it, the string to sign follows, and it ends with the hash of the canonical
/// request. Offsets rather than ranges keep a signed request small to move around.
#[derive(Clone, Copy)]
pub(crate) struct Parts {
    pub(crate) canonical_end: usize,
    pub(crate) signed_headers_start: usize,
    pub(crate) signed_headers_end: usize,
    pub(crate) scope_start: usize,
    pub(crate) scope_end: usize,
    pub(crate) string_to_sign_end: usize,
}

impl Parts {
    pub(crate) fn canonical_request(&self) -> Range<usize> {
        0..self.canonical_end
    }

    pub(crate) fn signed_headers(&self) -> Range<usize> {
        self.signed_headers_start..self.signed_headers_end
    }

    pub(crate) fn string_to_sign(&self) -> Range<usize> {
        self.canonical_end..self.string_to_sign_end
    }

    pub(crate) fn scope(&self) -> Range<usize> {
        self.scope_start..self.scope_end
    }

    pub(crate) fn hashed_canonical_request(&self) -> Range<usize> {
        self.string_to_sign_end - 64..self.string_to_sign_end
    }
}

impl Prepared {
    pub(crate) fn string_to_sign(&self) -> &[u8] {
        &self.text[self.parts.string_to_sign()]
    }
}

/// Bytes of room for the string to sign besides the credential scope: the algorithm,
/// a timestamp of up to 20 characters, three line breaks and the 64-digit hash.
pub(crate) const STRING_TO_SIGN_FIXED: usize = ALGORITHM.len() + 20 + 3 + 64;

/// Builds the canonical request and the string to sign under `scope`
/// (`Date/Service/tc3_request`), leaving `spare` bytes of room in the buffer for what
/// the caller appends (the `Authorization` value).
// Always inlined: returned through memory, the buffer and offsets would be read back
// right after being written, in wider pieces, which stalls the processor.
#[inline(always)]
pub(crate) fn prepare(
    input: &CanonicalInput<'_, '_>,
    timestamp: i64,
    scope: &str,
    spare: usize,
) -> Result<Prepared, SigningError> {
    // Method, path and query each end in a line break; then the blank line, the
    // signed-header list's line break and the payload hash.
    let canonical_len =
        input.method.len() + input.path.len() + input.query.len() + input.headers.max_len();
    let capacity = canonical_len + 5 + 64 + STRING_TO_SIGN_FIXED + scope.len() + spare;
    let mut text = Vec::with_capacity(capacity);
    let signed_headers = input.write(&mut text)?;
    Ok(append_string_to_sign(
        text,
        signed_headers,
        timestamp,
        scope,
    ))
}

/// Hashes the canonical request that fills `text` (its signed-header list at
/// `signed_headers`) and appends the string to sign under `scope`.
// Always inlined, as `prepare` is.
#[inline(always)]
pub(crate) fn append_string_to_sign(
    mut text: Vec<u8>,
    signed_headers: Range<usize>,
    timestamp: i64,
    scope: &str,
) -> Prepared {
    let canonical_end = text.len();
    let hashed = sha256_hex(&text);
    text.extend_from_slice(ALGORITHM.as_bytes());
    text.push(b'\n');
    push_decimal(&mut text, timestamp);
    text.push(b'\n');
    let scope_start = text.len();
    text.extend_from_slice(scope.as_bytes());
    let scope_end = text.len();
    text.push(b'\n');
    text.extend_from_slice(&hashed);
    let parts = Parts {
        canonical_end,
        signed_headers_start: signed_headers.start,
        signed_headers_end: signed_headers.end,
        scope_start,
        scope_end,
        string_to_sign_end: text.len(),
    };
    Prepared { text, parts }
}

/// Lower-case hexadecimal SHA-256 of `data`.
///
/// The hasher is finished in place (`finalize_reset` takes it by reference) rather than
/// moved into `finalize`: the move copies its state through memory just before the
/// padding reads it back, a stall that cost about a tenth of a signature.
#[inline(always)]
pub(crate) fn sha256_hex(data: &[u8]) -> [u8; 64] {
    let mut hasher = Sha256::new();
    hasher.update(data);
    hex64(&hasher.finalize_reset().into())
}

/// Lower-case hexadecimal SHA-256 of a payload, or of `UNSIGNED-PAYLOAD`.
pub(crate) fn payload_hash(payload: Payload<'_>) -> Result<[u8; 64], SigningError> {
    match payload {
        Payload::Bytes(bytes) => Ok(sha256_hex(bytes)),
        Payload::Unsigned => Ok(sha256_hex(UNSIGNED_PAYLOAD.as_bytes())),
        Payload::Precomputed(text) => {
            let bytes = text.as_bytes();
            if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
                return Err(SigningError::new(K::InvalidPayloadHash));
            }
            let mut out = [0u8; 64];
            for (slot, byte) in out.iter_mut().zip(bytes) {
                *slot = byte.to_ascii_lowercase();
            }
            Ok(out)
        }
    }
}
