//! Signing many requests that differ only in query string, payload and timestamp.

use hmac::Mac;

use crate::canonical::{check_query, push_header_value};
use crate::date::UtcDate;
use crate::digits::hex64;
use crate::error::SigningError;
use crate::key::SigningKey;
use crate::prepared::{Prepared, STRING_TO_SIGN_FIXED, append_string_to_sign, payload_hash};
use crate::secret::{Credentials, SessionToken};
use crate::sign::{
    Payload, SignableRequest, SignedHeaders, SigningOutput, SigningParams, SigningSettings, sign,
};

/// Signs the requests of one client to one endpoint: the same credentials, signing key
/// (one service, one UTC day), method, host, path and content type. Each signature covers
/// `content-type;host`, as every official SDK signs, or, given the request's action,
/// `content-type;host;x-tc-action`, so that it is good for that action only.
///
/// Everything those determine is checked and written out once, when the signer is
/// made; each signature then only checks and writes what changes from one request to
/// the next: the query string, the payload, the timestamp and, when it is signed, the
/// action. The output is exactly what [`sign`] gives for the same request. The key's
/// HMAC state is kept keyed (RFC 2104 allows it for a reused key), so a signature costs
/// the hashes of its payload, canonical request and string to sign, and nothing more.
///
/// ```
/// use tc3_sign::{sign, Credentials, Payload, SignableRequest, Signer, SigningKey, SigningParams, UtcDate};
///
/// let credentials = Credentials::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE");
/// let date = UtcDate::from_timestamp(1_700_000_000)?;
/// let key = SigningKey::derive(credentials.secret_key(), date, "iotexplorer")?;
/// let host = "iotexplorer.tencentcloudapi.com";
/// let signer = Signer::new(&credentials, key.clone(), "POST", host, "/", "application/json")?;
///
/// let body = br#"{"ProductID":"ABCDE12345","FirmwareVersion":"2.0.0"}"#;
/// let signed = signer.sign(None, "", Payload::Bytes(body), 1_700_000_000)?;
/// let params = SigningParams::new(&credentials, "iotexplorer", 1_700_000_000).with_signing_key(&key);
/// let same = sign(&SignableRequest::post_json(host, body), &params)?;
/// assert_eq!(signed.authorization(), same.authorization());
///
/// // Signed with its action, a signature is good for that action only.
/// let one = signer.sign(Some("DescribeFirmware"), "", Payload::Bytes(body), 1_700_000_000)?;
/// assert_eq!(one.signed_headers(), "content-type;host;x-tc-action");
///
/// // Another UTC day needs another key, and so another signer.
/// assert!(signer.sign(None, "", Payload::Bytes(body), 1_700_000_000 + 86_400).is_err());
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    token: Option<SessionToken>,
    /// `METHOD\nPATH\n`: the canonical request up to the query string.
    request_line: String,
    /// Signatures over `content-type;host`.
    plain: Template,
    /// Signatures over `content-type;host;x-tc-action`.
    with_action: Template,
}

/// The fixed parts of one signed-header list's signatures.
#[derive(Clone)]
struct Template {
    /// From the line break after the query string to the one before the payload hash:
    /// the canonical headers and the signed-header list.
    headers: String,
    /// Where the signed-header list starts within `headers`.
    signed_headers_at: usize,
    /// Where the value of `x-tc-action` goes within `headers`, when it is signed.
    action_at: Option<usize>,
    /// The `Authorization` value up to the signature.
    authorization_head: String,
}

impl Signer {
    /// Checks the parts every request shares and writes them out. Fails for the same input
    /// as [`sign`] would.
    pub fn new(
        credentials: &Credentials,
        key: SigningKey,
        method: &str,
        host: &str,
        path: &str,
        content_type: &str,
    ) -> Result<Self, SigningError> {
        let sample =
            SignableRequest::new(method, host, content_type, Payload::Bytes(b"")).with_path(path);
        let (request_line, plain) = Self::cut_from(credentials, &key, &sample, false)?;
        let (_, with_action) = Self::cut_from(
            credentials,
            &key,
            &sample.with_header("X-TC-Action", ""),
            true,
        )?;
        Ok(Self {
            request_line,
            plain,
            with_action,
            token: credentials.token().cloned(),
            key,
        })
    }

    /// The request line and template, cut from a real signature of `sample`, so they are
    /// what `sign` writes.
    fn cut_from(
        credentials: &Credentials,
        key: &SigningKey,
        sample: &SignableRequest<'_>,
        signs_action: bool,
    ) -> Result<(String, Template), SigningError> {
        let timestamp = key.date().first_second();
        let settings = SigningSettings::default().with_signed_headers(if signs_action {
            SignedHeaders::AllGiven
        } else {
            SignedHeaders::ContentTypeAndHost
        });
        let params = SigningParams::new(credentials, key.service(), timestamp)
            .with_signing_key(key)
            .with_settings(settings);
        let signed = sign(sample, &params)?;
        // Signed, so method and path are ASCII and the canonical request ends in the
        // 64-digit payload hash, as the Authorization value ends in the signature.
        let canonical = signed.canonical_request();
        // Method and path hold no line break: the request line ends at the second one.
        let request_line_len = canonical
            .match_indices('\n')
            .nth(1)
            .map_or(0, |(at, _)| at + 1);
        let cut = |text: &str, range: std::ops::Range<usize>| {
            text.get(range).unwrap_or_default().to_owned()
        };
        let headers = cut(canonical, request_line_len..canonical.len() - 64);
        let signed_headers_at = headers.len() - signed.signed_headers().len() - 1;
        // `x-tc-action` sorts last, and its empty value ends the canonical headers, just
        // before the blank line.
        let action_at = signs_action.then(|| signed_headers_at - 2);
        let authorization = signed.authorization();
        Ok((
            cut(canonical, 0..request_line_len),
            Template {
                authorization_head: cut(authorization, 0..authorization.len() - 64),
                headers,
                signed_headers_at,
                action_at,
            },
        ))
    }

    /// Signs the request with this query string (percent-encoded, as sent), payload and
    /// timestamp, which must fall on the signing key's UTC day. With `Some(action)` (the
    /// value of `X-TC-Action`, as sent) the signature covers `content-type;host;x-tc-action`
    /// (the action lower-cased in the canonical request, as Tencent's own signer writes
    /// it): the output is what [`sign`] gives with
    /// [`SignedHeaders::AllGiven`](crate::SignedHeaders::AllGiven) and the header added by
    /// [`SignableRequest::with_header`]. With `None` it covers `content-type;host`.
    pub fn sign(
        &self,
        action: Option<&str>,
        query: &str,
        payload: Payload<'_>,
        timestamp: i64,
    ) -> Result<SigningOutput, SigningError> {
        let template = match action {
            Some(_) => &self.with_action,
            None => &self.plain,
        };
        // The checks in the order `sign` makes them, so that both name the same problem.
        check_query(query)?;
        if !self.key.date().contains(timestamp) {
            let date = UtcDate::from_timestamp(timestamp)?;
            return Err(self.key.mismatch(date, self.key.service()));
        }
        let payload_hash = payload_hash(payload)?;
        let scope = self.key.credential_scope();
        let capacity = self.request_line.len()
            + query.len()
            + template.headers.len()
            + action.map_or(0, str::len)
            + 64
            + STRING_TO_SIGN_FIXED
            + scope.len()
            + template.authorization_head.len()
            + 64;
        let mut text = Vec::with_capacity(capacity);
        text.extend_from_slice(self.request_line.as_bytes());
        text.extend_from_slice(query.as_bytes());
        match (template.action_at, action) {
            (Some(at), Some(action)) => {
                let (before, after) = template.headers.as_bytes().split_at(at);
                text.extend_from_slice(before);
                push_header_value("x-tc-action", action, &mut text)?;
                text.extend_from_slice(after);
            }
            _ => text.extend_from_slice(template.headers.as_bytes()),
        }
        // The signed-header list is followed by one line break, then the payload hash.
        let signed_headers =
            text.len() - (template.headers.len() - template.signed_headers_at)..text.len() - 1;
        text.extend_from_slice(&payload_hash);
        let Prepared { mut text, parts } =
            append_string_to_sign(text, signed_headers, timestamp, scope);

        let mut mac = self.key.mac();
        mac.update(&text[parts.string_to_sign()]);
        let signature = hex64(&mac.finalize().into_bytes().into());
        text.extend_from_slice(template.authorization_head.as_bytes());
        text.extend_from_slice(&signature);
        Ok(SigningOutput::new(
            text,
            parts,
            timestamp,
            self.key.date(),
            self.token.clone(),
            payload == Payload::Unsigned,
        ))
    }

    /// The signing key, and with it the service and UTC day this signer signs for.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.key)
            .field("token", &self.token)
            .field("authorization_head", &self.plain.authorization_head)
            .finish_non_exhaustive()
    }
}
