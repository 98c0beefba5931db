//! Signing each attempt with a [`Signer`] kept for the client's endpoint, so that the
//! signing key is derived and the endpoint's parts are checked once per credentials and
//! UTC day rather than on every request.

use std::sync::{Arc, Mutex, PoisonError};

use tc3_sign::{
    Credentials, Payload, SessionToken, Signer, SigningError, SigningKey, SigningOutput, UtcDate,
};

/// The signer last used, reused while the credentials, service, method and UTC day stay
/// the same (one signer signs with and without the action). One entry is enough: a client has one endpoint and one method, and the
/// credentials change rarely (a refresh), so it is replaced about once a day.
#[derive(Default)]
pub(crate) struct SignerCache(Mutex<Option<Arc<Entry>>>);

struct Entry {
    credentials: Credentials,
    service: String,
    method: &'static str,
    signer: Signer,
}

/// The parts of a request the cache signs; the endpoint's host, path and content type
/// come with it.
pub(crate) struct Attempt<'a> {
    pub(crate) service: &'a str,
    pub(crate) method: &'static str,
    /// The value of `X-TC-Action` when the signature covers it, `None` when only
    /// `content-type;host` are signed.
    pub(crate) signed_action: Option<&'a str>,
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) content_type: &'static str,
    pub(crate) query: &'a str,
    pub(crate) payload: Payload<'a>,
    pub(crate) timestamp: i64,
}

impl SignerCache {
    /// Signs `attempt` as `credentials`, with the kept signer when it fits.
    pub(crate) fn sign(
        &self,
        credentials: &Credentials,
        attempt: &Attempt<'_>,
    ) -> Result<SigningOutput, SigningError> {
        let entry = self.signer_for(credentials, attempt)?;
        entry.signer.sign(
            attempt.signed_action,
            attempt.query,
            attempt.payload,
            attempt.timestamp,
        )
    }

    fn signer_for(
        &self,
        credentials: &Credentials,
        attempt: &Attempt<'_>,
    ) -> Result<Arc<Entry>, SigningError> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = kept
            .as_ref()
            .filter(|entry| entry.fits(credentials, attempt))
        {
            return Ok(Arc::clone(entry));
        }
        let date = UtcDate::from_timestamp(attempt.timestamp)?;
        let key = SigningKey::derive(credentials.secret_key(), date, attempt.service)?;
        let signer = Signer::new(
            credentials,
            key,
            attempt.method,
            attempt.host,
            attempt.path,
            attempt.content_type,
        )?;
        let entry = Arc::new(Entry {
            credentials: credentials.clone(),
            service: attempt.service.to_owned(),
            method: attempt.method,
            signer,
        });
        *kept = Some(Arc::clone(&entry));
        Ok(entry)
    }
}

impl Entry {
    fn fits(&self, credentials: &Credentials, attempt: &Attempt<'_>) -> bool {
        let key = self.signer.signing_key();
        self.service == attempt.service
            && self.method == attempt.method
            && key.date().contains(attempt.timestamp)
            && same_credentials(&self.credentials, credentials)
    }
}

fn same_credentials(a: &Credentials, b: &Credentials) -> bool {
    // Compared in place, without copies: this runs on every attempt.
    a.secret_id() == b.secret_id()
        && a.secret_key().expose_secret() == b.secret_key().expose_secret()
        && a.token().map(SessionToken::expose_secret) == b.token().map(SessionToken::expose_secret)
}

impl std::fmt::Debug for SignerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The entry holds credentials; only say whether there is one.
        let kept = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("SignerCache").field("kept", &kept).finish()
    }
}

#[cfg(test)]
mod tests {
    use tc3_sign::{SignableRequest, SigningParams, sign};

    use super::*;

    const DAY: i64 = 1_700_006_400;

    fn attempt(timestamp: i64) -> Attempt<'static> {
        Attempt {
            service: "iotexplorer",
            method: "POST",
            signed_action: None,
            host: "iotexplorer.tencentcloudapi.com",
            path: "/",
            content_type: "application/json",
            query: "",
            payload: Payload::Bytes(b"{}"),
            timestamp,
        }
    }

    fn expected(credentials: &Credentials, timestamp: i64) -> String {
        let request = SignableRequest::post_json("iotexplorer.tencentcloudapi.com", b"{}");
        let params = SigningParams::new(credentials, "iotexplorer", timestamp);
        sign(&request, &params)
            .expect("sign")
            .authorization()
            .to_owned()
    }

    fn kept(cache: &SignerCache) -> Option<Arc<Entry>> {
        cache.0.lock().expect("lock").clone()
    }

    #[test]
    fn a_kept_signer_serves_its_day_and_credentials_and_is_replaced_otherwise() {
        let cache = SignerCache::default();
        let first = Credentials::new("AKIDONE", "secret-one");
        let signed = cache.sign(&first, &attempt(DAY + 10)).expect("sign");
        assert_eq!(signed.authorization(), expected(&first, DAY + 10));
        let entry = kept(&cache).expect("a signer is kept");

        // Same day, same credentials: the same signer.
        let later = cache.sign(&first, &attempt(DAY + 86_399)).expect("sign");
        assert_eq!(later.authorization(), expected(&first, DAY + 86_399));
        assert!(Arc::ptr_eq(&entry, &kept(&cache).expect("kept")));

        // The next UTC day, a new key; other credentials (even a changed token), a new signer.
        let next_day = cache.sign(&first, &attempt(DAY + 86_400)).expect("sign");
        assert_eq!(next_day.authorization(), expected(&first, DAY + 86_400));
        assert!(!Arc::ptr_eq(&entry, &kept(&cache).expect("kept")));
        for other in [
            Credentials::new("AKIDONE", "secret-two"),
            Credentials::new("AKIDTWO", "secret-one"),
            Credentials::new("AKIDONE", "secret-one").with_token("t1"),
            Credentials::new("AKIDONE", "secret-one").with_token("t2"),
        ] {
            let signed = cache.sign(&other, &attempt(DAY + 86_400)).expect("sign");
            assert_eq!(signed.authorization(), expected(&other, DAY + 86_400));
            assert_eq!(
                signed
                    .headers()
                    .iter()
                    .any(|(name, _)| *name == "X-TC-Token"),
                other.token().is_some()
            );
        }
    }

    #[test]
    fn a_kept_signer_signs_each_action_as_sign_does() {
        use tc3_sign::{SignedHeaders, SigningSettings};

        let cache = SignerCache::default();
        let credentials = Credentials::new("AKIDONE", "secret-one");
        let settings = SigningSettings::default().with_signed_headers(SignedHeaders::AllGiven);
        let mut kept_entry = None;
        for action in ["BatchUpdateFirmware", "DescribeFirmwareTask"] {
            let with_action = Attempt {
                signed_action: Some(action),
                ..attempt(DAY + 5)
            };
            let signed = cache.sign(&credentials, &with_action).expect("sign");
            let request = SignableRequest::post_json("iotexplorer.tencentcloudapi.com", b"{}")
                .with_header("X-TC-Action", action);
            let params =
                SigningParams::new(&credentials, "iotexplorer", DAY + 5).with_settings(settings);
            let expected = sign(&request, &params).expect("sign");
            assert_eq!(signed.authorization(), expected.authorization());
            assert_eq!(signed.signed_headers(), "content-type;host;x-tc-action");
            let entry = kept(&cache).expect("kept");
            // One signer serves every action.
            if let Some(previous) = kept_entry.replace(Arc::clone(&entry)) {
                assert!(Arc::ptr_eq(&previous, &entry));
            }
        }
        // The other list, the same signer.
        let plain = cache.sign(&credentials, &attempt(DAY + 5)).expect("sign");
        assert_eq!(plain.authorization(), expected(&credentials, DAY + 5));
        assert!(Arc::ptr_eq(
            &kept_entry.expect("kept"),
            &kept(&cache).expect("kept")
        ));
    }

    #[test]
    fn debug_shows_no_credentials() {
        let cache = SignerCache::default();
        let credentials = Credentials::new("AKIDONE", "secret-one").with_token("token-1");
        cache.sign(&credentials, &attempt(DAY)).expect("sign");
        let shown = format!("{cache:?}");
        assert!(
            !shown.contains("secret-one") && !shown.contains("token-1"),
            "{shown}"
        );
    }
}
