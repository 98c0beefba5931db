//! Reading an `Authorization` header back into its parts.

use crate::canonical::trim_blanks;
use crate::error::{AuthFailure, VerifyError};
use crate::sign::ALGORITHM;

/// The parts of a TC3 `Authorization` header, borrowed from it.
///
/// ```
/// use tc3_sign::ParsedAuthorization;
///
/// let header = "TC3-HMAC-SHA256 SignedHeaders=content-type;host,  Credential=AKID/2019-02-25/cvm/tc3_request, \
///               Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c";
/// let parsed = ParsedAuthorization::parse(header)?;
/// assert_eq!(parsed.secret_id(), "AKID");
/// assert_eq!(parsed.date(), "2019-02-25");
/// assert_eq!(parsed.service(), "cvm");
/// assert_eq!(parsed.signed_headers().collect::<Vec<_>>(), ["content-type", "host"]);
/// # Ok::<(), tc3_sign::VerifyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    secret_id: &'a str,
    date: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: &'a str,
    signature: [u8; 32],
}

fn invalid(detail: &'static str) -> VerifyError {
    VerifyError::new(AuthFailure::InvalidAuthorization, detail)
}

impl<'a> ParsedAuthorization<'a> {
    /// Parses `TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`: the three
    /// fields in any order, with any spaces around them. Any other shape is
    /// `AuthFailure.InvalidAuthorization`.
    pub fn parse(header: &'a str) -> Result<Self, VerifyError> {
        let header = trim_blanks(header);
        let rest = header.strip_prefix(ALGORITHM).ok_or_else(|| {
            invalid("the Authorization header does not start with TC3-HMAC-SHA256")
        })?;
        if !rest.starts_with([' ', '\t']) {
            return Err(invalid("expected a space after TC3-HMAC-SHA256"));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for field in split_ascii(rest, b',') {
            let (name, value) = split_once_ascii(field, b'=')
                .ok_or_else(|| invalid("each Authorization field must be Name=Value"))?;
            let slot = match trim_blanks(name) {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err(invalid("unknown field in the Authorization header")),
            };
            if slot.replace(trim_blanks(value)).is_some() {
                return Err(invalid("a field appears twice in the Authorization header"));
            }
        }
        let credential = credential.ok_or_else(|| invalid("Credential is missing"))?;
        let signed_headers = signed_headers.ok_or_else(|| invalid("SignedHeaders is missing"))?;
        let signature = signature.ok_or_else(|| invalid("Signature is missing"))?;

        let malformed = || invalid("Credential must be SecretId/Date/Service/tc3_request");
        let mut parts = split_ascii(credential, b'/');
        let mut part = || parts.next().filter(|part| !part.is_empty());
        let (Some(secret_id), Some(date), Some(service), Some(terminator)) =
            (part(), part(), part(), part())
        else {
            return Err(malformed());
        };
        // A fifth part, even an empty one after a trailing '/', is one too many.
        if parts.next().is_some() {
            return Err(malformed());
        }

        if signed_headers.is_empty() || split_ascii(signed_headers, b';').any(str::is_empty) {
            return Err(invalid(
                "SignedHeaders must be header names separated by ';'",
            ));
        }
        let mut signature_bytes = [0u8; 32];
        hex::decode_to_slice(signature, &mut signature_bytes)
            .map_err(|_| invalid("Signature must be 64 hexadecimal digits"))?;

        Ok(Self {
            secret_id,
            date,
            service,
            terminator,
            signed_headers,
            signature: signature_bytes,
        })
    }

    /// The SecretId named in the credential.
    pub fn secret_id(&self) -> &'a str {
        self.secret_id
    }

    /// The date of the credential scope (`YYYY-MM-DD` when well formed).
    pub fn date(&self) -> &'a str {
        self.date
    }

    /// The service of the credential scope.
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The last part of the credential scope; `tc3_request` when well formed.
    pub fn terminator(&self) -> &'a str {
        self.terminator
    }

    /// The signed header names, in the order listed.
    pub fn signed_headers(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        split_ascii(self.signed_headers, b';')
    }

    /// The signed-header list as written.
    pub fn signed_headers_text(&self) -> &'a str {
        self.signed_headers
    }

    pub(crate) fn signature(&self) -> &[u8; 32] {
        &self.signature
    }
}

/// `text` split at each `separator`, an ASCII byte: what `str::split` gives, found byte
/// by byte, which for these few short pieces costs less than its searcher.
fn split_ascii(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match split_once_ascii(current, separator) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `text` before and after its first `separator`, an ASCII byte, as `str::split_once`.
fn split_once_ascii(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == separator)?;
    // An ASCII byte is a character of its own: both sides of it are boundaries.
    Some((text.get(..at)?, text.get(at + 1..)?))
}

impl std::fmt::Debug for ParsedAuthorization<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedAuthorization")
            .field("secret_id", &self.secret_id)
            .field("date", &self.date)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"** redacted **")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNATURE: &str = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c";

    #[test]
    fn reads_fields_in_any_order_with_extra_spaces() {
        let headers = [
            format!(
                "TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature={SIGNATURE}"
            ),
            format!(
                "  TC3-HMAC-SHA256   Signature = {SIGNATURE} ,SignedHeaders=content-type;host,Credential=AK/2019-02-25/cvm/tc3_request  "
            ),
        ];
        for header in &headers {
            let parsed = ParsedAuthorization::parse(header).expect(header);
            assert_eq!(parsed.secret_id(), "AK");
            assert_eq!(parsed.terminator(), "tc3_request");
            assert_eq!(parsed.signed_headers_text(), "content-type;host");
            assert_eq!(hex::encode(parsed.signature()), SIGNATURE);
        }
    }

    proptest::proptest! {
        #[test]
        fn ascii_splits_are_the_standard_ones(
            text in "[a,;/=\u{e9}]{0,8}",
            separator in proptest::sample::select(vec![b',', b';', b'/', b'=']),
        ) {
            let standard: Vec<&str> = text.split(char::from(separator)).collect();
            proptest::prop_assert_eq!(split_ascii(&text, separator).collect::<Vec<_>>(), standard);
            proptest::prop_assert_eq!(
                split_once_ascii(&text, separator),
                text.split_once(char::from(separator))
            );
        }
    }

    #[test]
    fn refuses_malformed_headers() {
        let good_tail = format!("SignedHeaders=content-type;host, Signature={SIGNATURE}");
        let bad = [
            String::new(),
            format!("TC3-HMAC-SHA1 Credential=AK/2019-02-25/cvm/tc3_request, {good_tail}"),
            format!("TC3-HMAC-SHA256Credential=AK/2019-02-25/cvm/tc3_request, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request/x, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK//cvm/tc3_request, {good_tail}"),
            // An empty fifth part is a fifth part all the same.
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request/, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request//x, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, Credential=x, {good_tail}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, Other=1, {good_tail}"),
            "TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=zz".to_owned(),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, SignedHeaders=;host, Signature={SIGNATURE}"),
            format!("TC3-HMAC-SHA256 Credential=AK/2019-02-25/cvm/tc3_request, Signature={SIGNATURE}"),
        ];
        for header in &bad {
            let error = ParsedAuthorization::parse(header).expect_err(header);
            assert_eq!(error.code(), "AuthFailure.InvalidAuthorization", "{header}");
        }
    }
}
