//! Signing many requests that differ only in query string, payload and timestamp.

use hmac::Mac;

use crate::canonical::{check_query, push_header_value};
use crate::date::UtcDate;
use crate::digits::hex64;
use crate::error::{SigningError, SigningErrorKind as K};
use crate::key::SigningKey;
use crate::prepared::{Prepared, STRING_TO_SIGN_FIXED, append_string_to_sign, payload_hash};
use crate::secret::{Credentials, SessionToken};
use crate::sign::{
    Payload, SignableRequest, SignedHeaders, SigningOutput, SigningParams, SigningSettings, sign,
};

/// Signs the requests of one client to one endpoint: the same credentials, signing key
/// (one service, one UTC day), method, host, path and content type, with the headers
/// `content-type;host` signed, as every official SDK signs them ([`Signer::new`]), or
/// `content-type;host;x-tc-action`, so that a signature is good for one action only
/// ([`Signer::new_with_action`]).
///
/// Everything those determine is checked and written out once, when the signer is
/// made; each signature then only checks and writes what changes from one request to
/// the next: the query string, the payload, the timestamp and, when it is signed, the
/// action. The output is exactly what [`sign`] gives for the same request.
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
/// let signed = signer.sign("", Payload::Bytes(body), 1_700_000_000)?;
/// let params = SigningParams::new(&credentials, "iotexplorer", 1_700_000_000).with_signing_key(&key);
/// let same = sign(&SignableRequest::post_json(host, body), &params)?;
/// assert_eq!(signed.authorization(), same.authorization());
///
/// // Another UTC day needs another key, and so another signer.
/// assert!(signer.sign("", Payload::Bytes(body), 1_700_000_000 + 86_400).is_err());
/// # Ok::<(), tc3_sign::SigningError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    token: Option<SessionToken>,
    /// `METHOD\nPATH\n`: the canonical request up to the query string.
    request_line: String,
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
    /// Checks the parts every request shares and writes them out, for signatures over
    /// `content-type;host`. Fails for the same input as [`sign`] would.
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
        Self::cut_from(credentials, key, &sample, false)
    }

    /// Like [`Signer::new`], for signatures over `content-type;host;x-tc-action`: each
    /// request's `X-TC-Action` is signed too (lower-cased in the canonical request, as
    /// Tencent's own signer writes it), so a signature is good for that action only. Sign
    /// with [`Signer::sign_with_action`]; the output is what [`sign`] gives with
    /// [`SignedHeaders::AllGiven`](crate::SignedHeaders::AllGiven) and the header added by
    /// [`SignableRequest::with_header`].
    pub fn new_with_action(
        credentials: &Credentials,
        key: SigningKey,
        method: &str,
        host: &str,
        path: &str,
        content_type: &str,
    ) -> Result<Self, SigningError> {
        let sample = SignableRequest::new(method, host, content_type, Payload::Bytes(b""))
            .with_path(path)
            .with_header("X-TC-Action", "");
        Self::cut_from(credentials, key, &sample, true)
    }

    /// The templates, cut from a real signature of `sample`, so they are what `sign`
    /// writes.
    fn cut_from(
        credentials: &Credentials,
        key: SigningKey,
        sample: &SignableRequest<'_>,
        signs_action: bool,
    ) -> Result<Self, SigningError> {
        let timestamp = key.date().first_second();
        let settings = SigningSettings::default().with_signed_headers(if signs_action {
            SignedHeaders::AllGiven
        } else {
            SignedHeaders::ContentTypeAndHost
        });
        let params = SigningParams::new(credentials, key.service(), timestamp)
            .with_signing_key(&key)
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
        Ok(Self {
            request_line: cut(canonical, 0..request_line_len),
            authorization_head: cut(authorization, 0..authorization.len() - 64),
            headers,
            signed_headers_at,
            action_at,
            token: credentials.token().cloned(),
            key,
        })
    }

    /// Signs the request with this query string (percent-encoded, as sent), payload and
    /// timestamp, which must fall on the signing key's UTC day. Refused by a signer made
    /// with [`Signer::new_with_action`], which needs the action.
    pub fn sign(
        &self,
        query: &str,
        payload: Payload<'_>,
        timestamp: i64,
    ) -> Result<SigningOutput, SigningError> {
        if self.action_at.is_some() {
            return Err(SigningError::new(K::SignerActionMismatch {
                signs_action: true,
            }));
        }
        self.sign_parts(None, query, payload, timestamp)
    }

    /// Signs the request of `action` (the value of `X-TC-Action`, as sent) with this query
    /// string, payload and timestamp. Only for a signer made with
    /// [`Signer::new_with_action`].
    pub fn sign_with_action(
        &self,
        action: &str,
        query: &str,
        payload: Payload<'_>,
        timestamp: i64,
    ) -> Result<SigningOutput, SigningError> {
        if self.action_at.is_none() {
            return Err(SigningError::new(K::SignerActionMismatch {
                signs_action: false,
            }));
        }
        self.sign_parts(Some(action), query, payload, timestamp)
    }

    /// Whether this signer's signatures cover `X-TC-Action`.
    pub fn signs_action(&self) -> bool {
        self.action_at.is_some()
    }

    fn sign_parts(
        &self,
        action: Option<&str>,
        query: &str,
        payload: Payload<'_>,
        timestamp: i64,
    ) -> Result<SigningOutput, SigningError> {
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
            + self.headers.len()
            + action.map_or(0, str::len)
            + 64
            + STRING_TO_SIGN_FIXED
            + scope.len()
            + self.authorization_head.len()
            + 64;
        let mut text = Vec::with_capacity(capacity);
        text.extend_from_slice(self.request_line.as_bytes());
        text.extend_from_slice(query.as_bytes());
        match (self.action_at, action) {
            (Some(at), Some(action)) => {
                let (before, after) = self.headers.as_bytes().split_at(at);
                text.extend_from_slice(before);
                push_header_value("x-tc-action", action, &mut text)?;
                text.extend_from_slice(after);
            }
            _ => text.extend_from_slice(self.headers.as_bytes()),
        }
        // The signed-header list is followed by one line break, then the payload hash.
        let signed_headers =
            text.len() - (self.headers.len() - self.signed_headers_at)..text.len() - 1;
        text.extend_from_slice(&payload_hash);
        let Prepared { mut text, parts } =
            append_string_to_sign(text, signed_headers, timestamp, scope);

        let mut mac = self.key.mac();
        mac.update(&text[parts.string_to_sign()]);
        let signature = hex64(&mac.finalize().into_bytes().into());
        text.extend_from_slice(self.authorization_head.as_bytes());
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
            .field("signs_action", &self.signs_action())
            .field("authorization_head", &self.authorization_head)
            .finish_non_exhaustive()
    }
}
