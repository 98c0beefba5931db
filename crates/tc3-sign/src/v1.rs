//! Legacy API 2.0 signatures (`HmacSHA1`, `HmacSHA256`), for servers and clients that
//! still speak them.
//!
//! The string to sign is `METHOD + host + path + "?"` followed by every parameter except
//! `Signature`, sorted by name, as `name=value` joined by `&`, values as they are (not
//! encoded). The signature is the base64 of the HMAC of that string under the SecretKey;
//! it travels URL-encoded in the `Signature` parameter.

use hmac::{Hmac, KeyInit, Mac};

use crate::base64;
use crate::error::{AuthFailure, SigningError, SigningErrorKind, VerifyError};
use crate::secret::{Credentials, SecretKey};
use crate::verify::{Verified, VerifyPolicy, check_skew, check_token, constant_time_eq};

/// The `SignatureMethod` of a legacy request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V1Algorithm {
    /// `HmacSHA1`, the default when `SignatureMethod` is absent.
    HmacSha1,
    /// `HmacSHA256`.
    HmacSha256,
}

impl V1Algorithm {
    /// The name as sent in `SignatureMethod`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HmacSHA1",
            Self::HmacSha256 => "HmacSHA256",
        }
    }

    /// The algorithm a `SignatureMethod` value names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "HmacSHA1" => Some(Self::HmacSha1),
            "HmacSHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }
}

/// The v1 string to sign. `Signature` itself is never part of it.
///
/// ```
/// use tc3_sign::v1::string_to_sign;
///
/// let params = [("Nonce", "11886"), ("Action", "DescribeInstances"), ("Signature", "x")];
/// assert_eq!(
///     string_to_sign("GET", "cvm.tencentcloudapi.com", "/", &params),
///     "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&Nonce=11886",
/// );
/// ```
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = format!("{method}{host}{path}?");
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Signs a v1 string to sign: base64 of its HMAC under `secret`.
pub fn sign(
    secret: &SecretKey,
    algorithm: V1Algorithm,
    string_to_sign: &str,
) -> Result<String, SigningError> {
    let key = secret.expose_secret().as_bytes();
    if key.is_empty() {
        return Err(SigningError::new(SigningErrorKind::EmptySecretKey));
    }
    Ok(base64::encode(&mac(key, algorithm, string_to_sign)))
}

fn mac(key: &[u8], algorithm: V1Algorithm, message: &str) -> Vec<u8> {
    // HMAC takes keys of any length, so keying cannot fail.
    match algorithm {
        V1Algorithm::HmacSha1 => {
            let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        V1Algorithm::HmacSha256 => {
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            mac.update(message.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// Verifies a v1 request from its decoded parameters (query string or form body).
///
/// Errors map onto the same `AuthFailure.*` codes as TC3 verification: missing or
/// malformed `SecretId`, `Timestamp`, `Nonce`, `Signature` or `SignatureMethod` is
/// `InvalidAuthorization`; then skew, unknown SecretId, token and signature, in that order.
pub fn verify<F>(
    method: &str,
    host: &str,
    path: &str,
    params: &[(&str, &str)],
    policy: &VerifyPolicy<'_>,
    lookup: F,
) -> Result<Verified, VerifyError>
where
    F: FnOnce(&str) -> Option<Credentials>,
{
    let invalid =
        |detail: &'static str| VerifyError::new(AuthFailure::InvalidAuthorization, detail);
    let param = |name: &str| -> Result<Option<&str>, VerifyError> {
        let mut values = params.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v);
        let first = values.next();
        if values.next().is_some() {
            return Err(invalid("a common parameter appears more than once"));
        }
        Ok(first)
    };
    let secret_id = param("SecretId")?.ok_or_else(|| invalid("SecretId is missing"))?;
    let signature = param("Signature")?.ok_or_else(|| invalid("Signature is missing"))?;
    param("Nonce")?.ok_or_else(|| invalid("Nonce is missing"))?;
    let timestamp: i64 = param("Timestamp")?
        .ok_or_else(|| invalid("Timestamp is missing"))?
        .parse()
        .map_err(|_| invalid("Timestamp must be an integer number of seconds"))?;
    let algorithm = match param("SignatureMethod")? {
        None => V1Algorithm::HmacSha1,
        Some(name) => V1Algorithm::from_name(name)
            .ok_or_else(|| invalid("SignatureMethod must be HmacSHA1 or HmacSHA256"))?,
    };
    let signature = base64::decode(signature).ok_or_else(|| invalid("Signature is not base64"))?;

    check_skew(timestamp, policy)?;
    let credentials = lookup(secret_id).ok_or_else(|| {
        VerifyError::new(AuthFailure::SecretIdNotFound, "the SecretId is not known")
    })?;
    check_token(param("Token")?, &credentials)?;

    let key = credentials.secret_key().expose_secret().as_bytes();
    let expected = mac(key, algorithm, &string_to_sign(method, host, path, params));
    if key.is_empty() || !constant_time_eq(&expected, &signature) {
        return Err(VerifyError::new(
            AuthFailure::SignatureFailure,
            "the signature does not match",
        ));
    }
    Ok(Verified {
        secret_id: secret_id.to_owned(),
        timestamp,
        with_token: credentials.token().is_some(),
        unsigned_payload: false,
    })
}
