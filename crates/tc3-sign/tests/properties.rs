//! Invariants of signing and verification, over generated input.

use proptest::prelude::*;
use tc3_sign::query::{Param, flatten, to_query_string};
use tc3_sign::{
    Credentials, ParsedAuthorization, Payload, ReceivedRequest, SignableRequest, SignedHeaders,
    SigningKey, SigningOutput, SigningParams, SigningSettings, UtcDate, VerifyPolicy, check_head,
    sign, verify, verify_head, verify_with_key,
};

const SERVICE: &str = "iotexplorer";

/// A request as a test sees it: owned parts that can be signed, sent and tampered with.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    host: String,
    query: String,
    content_type: String,
    action: String,
    body: Vec<u8>,
    timestamp: i64,
    secret_id: String,
    secret_key: String,
    token: Option<String>,
    sign_action: bool,
    unsigned: bool,
}

impl Exchange {
    fn credentials(&self) -> Credentials {
        let credentials = Credentials::new(&self.secret_id, &self.secret_key);
        match &self.token {
            Some(token) => credentials.with_token(token),
            None => credentials,
        }
    }

    fn sign_with(&self, service: &str) -> Result<SigningOutput, tc3_sign::SigningError> {
        let payload = if self.unsigned {
            Payload::Unsigned
        } else {
            Payload::Bytes(&self.body)
        };
        let request = SignableRequest::new(&self.method, &self.host, &self.content_type, payload)
            .with_query(&self.query)
            .with_header("X-TC-Action", &self.action);
        let selection = if self.sign_action {
            SignedHeaders::AllGiven
        } else {
            SignedHeaders::ContentTypeAndHost
        };
        let credentials = self.credentials();
        let params = SigningParams::new(&credentials, service, self.timestamp)
            .with_settings(SigningSettings::default().with_signed_headers(selection));
        sign(&request, &params)
    }

    fn sign(&self) -> SigningOutput {
        self.sign_with(SERVICE)
            .expect("generated exchanges are signable")
    }

    /// Verifies `self` as received, signed as `signed`, by a server holding the same
    /// credentials.
    fn verify(&self, signed: &SigningOutput) -> Result<tc3_sign::Verified, tc3_sign::VerifyError> {
        self.verify_against(signed, self.credentials())
    }

    /// Verifies `self` as received by a server that holds `stored` for its SecretId.
    fn verify_against(
        &self,
        signed: &SigningOutput,
        stored: Credentials,
    ) -> Result<tc3_sign::Verified, tc3_sign::VerifyError> {
        let policy = VerifyPolicy::new(SERVICE, self.timestamp);
        let id = self.secret_id.clone();
        self.received(signed, |request| {
            verify(request, &policy, move |candidate| {
                (candidate == id).then_some(stored)
            })
        })
    }

    /// `check` of `self` as received, signed as `signed`.
    fn received<R>(
        &self,
        signed: &SigningOutput,
        check: impl FnOnce(&ReceivedRequest<'_>) -> R,
    ) -> R {
        let timestamp = self.timestamp.to_string();
        let mut headers = vec![
            ("Host", self.host.as_str()),
            ("Content-Type", self.content_type.as_str()),
            ("X-TC-Action", self.action.as_str()),
            ("X-TC-Timestamp", timestamp.as_str()),
            ("Authorization", signed.authorization()),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-TC-Token", token));
        }
        if self.unsigned {
            headers.push(("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD"));
        }
        let request = ReceivedRequest {
            method: &self.method,
            path: "/",
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        check(&request)
    }
}

fn token_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.~-]{1,24}"
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        (
            prop_oneof![Just("POST".to_owned()), Just("GET".to_owned())],
            "[a-z0-9]{1,12}(\\.[a-z0-9]{1,8}){0,3}(:[0-9]{1,5})?",
            prop::collection::vec((token_text(), token_text()), 0..4),
            prop_oneof![
                Just("application/json".to_owned()),
                Just("application/json; charset=utf-8".to_owned()),
                Just("application/x-www-form-urlencoded".to_owned()),
            ],
            "[A-Z][A-Za-z]{0,30}",
            prop::collection::vec(any::<u8>(), 0..300),
        ),
        (
            0i64..4_102_444_800,
            "AKID[A-Za-z0-9]{1,32}",
            "[ -~]{1,40}",
            prop::option::of(token_text()),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((method, host, pairs, content_type, action, body), rest)| {
                let (timestamp, secret_id, secret_key, token, sign_action, unsigned) = rest;
                let query = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&");
                Exchange {
                    method,
                    host,
                    query,
                    content_type,
                    action,
                    body,
                    timestamp,
                    secret_id,
                    secret_key,
                    token,
                    sign_action,
                    unsigned,
                }
            },
        )
}

/// `exchange` with one thing about it changed after signing, chosen by `which` (from 8 on,
/// nothing).
fn spoiled(exchange: &Exchange, which: usize) -> Exchange {
    let mut sent = exchange.clone();
    match which {
        0 => sent.body.push(b'x'),
        1 => sent.timestamp += 1,
        2 => sent.host.insert(0, 'a'),
        3 => sent.secret_id.push('x'),
        4 => sent.token = Some(format!("{}x", exchange.token.clone().unwrap_or_default())),
        5 => sent.token = None,
        6 => sent.content_type.push('\n'),
        7 => sent.secret_key.push('x'),
        _ => {}
    }
    sent
}

/// Text that is often, but not always, acceptable: printable ASCII with an occasional tab,
/// line break, percent sign or non-ASCII letter, so that both the accepting and the
/// refusing paths of the signer are exercised.
fn near_valid() -> impl Strategy<Value = String> {
    "([A-Za-z0-9=&._~-]{0,6}([ -~]|\t|\n|%|\u{e9})?){0,3}"
}

fn param() -> impl Strategy<Value = Param> {
    let leaf = prop_oneof![
        Just(Param::Null),
        any::<bool>().prop_map(Param::Bool),
        any::<i64>().prop_map(Param::from),
        any::<String>().prop_map(Param::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Param::List),
            prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,8}", inner), 0..4)
                .prop_map(Param::Object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signing_is_deterministic(exchange in exchange()) {
        let first = exchange.sign();
        let second = exchange.sign();
        prop_assert_eq!(first.authorization(), second.authorization());
        prop_assert_eq!(first.canonical_request(), second.canonical_request());
    }

    #[test]
    fn sign_then_verify_always_succeeds(exchange in exchange()) {
        let signed = exchange.sign();
        let verified = exchange.verify(&signed);
        prop_assert!(verified.is_ok(), "{:?}", verified);
        let verified = verified.expect("checked above");
        prop_assert_eq!(&verified.secret_id, &exchange.secret_id);
        prop_assert_eq!(verified.with_token, exchange.token.is_some());
    }

    #[test]
    fn header_name_case_and_order_do_not_matter(
        exchange in exchange(),
        extra in prop::collection::btree_map("x-tc-[a-z]{1,10}", token_text(), 0..4),
        upper in prop::collection::vec(any::<bool>(), 4),
    ) {
        let credentials = exchange.credentials();
        let params = SigningParams::new(&credentials, SERVICE, exchange.timestamp)
            .with_settings(SigningSettings::default().with_signed_headers(SignedHeaders::AllGiven));
        let names: Vec<String> = extra
            .keys()
            .zip(upper.iter().cycle())
            .map(|(name, upper)| if *upper { name.to_ascii_uppercase() } else { name.clone() })
            .collect();
        let build = |order: &mut dyn Iterator<Item = usize>| {
            let mut request = SignableRequest::new(
                &exchange.method, &exchange.host, &exchange.content_type, Payload::Bytes(&exchange.body));
            for index in order {
                let (_, value) = extra.iter().nth(index).expect("index in range");
                request = request.with_header(&names[index], value);
            }
            sign(&request, &params).expect("signable")
        };
        let forwards = build(&mut (0..extra.len()));
        let backwards = build(&mut (0..extra.len()).rev());
        prop_assert_eq!(forwards.signature(), backwards.signature());
    }

    #[test]
    fn any_change_to_a_signed_part_changes_the_signature(exchange in exchange(), which in 0usize..7) {
        let original = exchange.sign();
        let mut changed = exchange.clone();
        let service = match which {
            0 => { changed.body.push(b'x'); SERVICE }
            1 => { changed.timestamp += 1; SERVICE }
            2 => {
                // Across the next UTC midnight: same second of the day, next date.
                changed.timestamp += 86_400;
                SERVICE
            }
            3 => "cvm",
            4 => { changed.secret_key.push('x'); SERVICE }
            5 => {
                changed.sign_action = true;
                let mut with_action = changed.clone();
                with_action.action.push('X');
                let before = changed.sign();
                let after = with_action.sign();
                prop_assert_ne!(before.signature(), after.signature());
                return Ok(());
            }
            _ => { changed.host.insert(0, 'a'); SERVICE }
        };
        if which == 0 && exchange.unsigned {
            // The body is outside an unsigned-payload signature by design.
            return Ok(());
        }
        let signed = changed.sign_with(service).expect("signable");
        prop_assert_ne!(original.signature(), signed.signature());
    }

    #[test]
    fn verification_fails_after_tampering_with_any_signed_part(exchange in exchange(), which in 0usize..9) {
        let signed = exchange.sign();
        let mut tampered = exchange.clone();
        match which {
            0 if !exchange.unsigned => tampered.body.push(b'x'),
            1 => tampered.timestamp += 1,
            2 => tampered.host.insert(0, 'a'),
            3 => tampered.content_type.push_str("; x=1"),
            4 => tampered.query.push_str(if exchange.query.is_empty() { "a=1" } else { "&a=1" }),
            5 => tampered.method = if exchange.method == "GET" { "POST".into() } else { "GET".into() },
            6 if exchange.sign_action => tampered.action.push('X'),
            7 => tampered.secret_key.push('x'),
            8 => tampered.token = Some(format!("{}x", exchange.token.clone().unwrap_or_default())),
            _ => return Ok(()),
        }
        // The server keeps the original credentials, except when the point is that the
        // two sides hold different keys.
        let stored = if which == 7 { tampered.credentials() } else { exchange.credentials() };
        let result = tampered.verify_against(&signed, stored);
        prop_assert!(result.is_err(), "case {} verified", which);
    }

    #[test]
    fn a_cached_key_signs_exactly_like_the_secret(exchange in exchange(), offset in 0i64..200_000) {
        let credentials = exchange.credentials();
        let date = UtcDate::from_timestamp(exchange.timestamp).expect("valid");
        let key = SigningKey::derive(credentials.secret_key(), date, SERVICE).expect("key");
        let fresh = exchange.sign();
        let request = SignableRequest::new(&exchange.method, &exchange.host, &exchange.content_type,
            if exchange.unsigned { Payload::Unsigned } else { Payload::Bytes(&exchange.body) })
            .with_query(&exchange.query)
            .with_header("X-TC-Action", &exchange.action);
        let settings = SigningSettings::default().with_signed_headers(
            if exchange.sign_action { SignedHeaders::AllGiven } else { SignedHeaders::ContentTypeAndHost });
        let params = SigningParams::new(&credentials, SERVICE, exchange.timestamp)
            .with_settings(settings).with_signing_key(&key);
        let cached = sign(&request, &params).expect("same day");
        prop_assert_eq!(fresh.authorization(), cached.authorization());
        // A key is refused for any other UTC day, never silently used.
        let later = exchange.timestamp + offset;
        let params = SigningParams::new(&credentials, SERVICE, later).with_settings(settings).with_signing_key(&key);
        prop_assert_eq!(sign(&request, &params).is_ok(), date.contains(later));
    }

    #[test]
    fn the_head_check_refuses_exactly_what_verify_refuses_before_the_mac(
        exchange in exchange(),
        which in 0usize..10,
        server_skew in prop_oneof![Just(0i64), Just(299), Just(-301), Just(86_400)],
    ) {
        let signed = exchange.sign();
        let sent = spoiled(&exchange, which);
        let stored = exchange.credentials();
        let policy = VerifyPolicy::new(SERVICE, exchange.timestamp + server_skew);
        let lookup = |candidate: &str| (candidate == exchange.secret_id).then_some(&stored);
        let (whole, head, kept) = sent.received(&signed, |request| {
            let head_only = ReceivedRequest { body: b"", ..*request };
            let kept = verify_with_key(request, &policy, lookup, |credentials, date, service| {
                SigningKey::derive(credentials.secret_key(), date, service)
            });
            let owned = |candidate: &str| lookup(candidate).cloned();
            (verify(request, &policy, owned), verify_head(&head_only, &policy, lookup), kept)
        });
        // A kept key gives the answer a fresh one gives.
        prop_assert_eq!(whole.as_ref().map_err(|e| e.code()), kept.as_ref().map_err(|e| e.code()));
        let signature_failure = tc3_sign::AuthFailure::SignatureFailure;
        match (&whole, &head) {
            (Err(whole), Err(head)) => prop_assert_eq!(whole.code(), head.code()),
            (Err(whole), Ok(())) => prop_assert_eq!(whole.failure(), signature_failure),
            (Ok(_), Err(head)) => prop_assert!(false, "the head check refused a good request: {}", head),
            (Ok(_), Ok(())) => {}
        }
        if let Err(head) = &head {
            // The head check's own refusals are never about the signature itself.
            prop_assert!(head.failure() != signature_failure || head.detail() != "the signature does not match");
        }
    }

    #[test]
    fn a_kept_head_then_its_body_answer_as_the_whole_request_does(
        exchange in exchange(),
        which in 0usize..10,
        server_skew in prop_oneof![Just(0i64), Just(299), Just(-301), Just(86_400)],
        body_delay in prop_oneof![Just(0i64), Just(1), Just(2), Just(400)],
        other_service in any::<bool>(),
    ) {
        let signed = exchange.sign();
        let sent = spoiled(&exchange, which);
        let stored = exchange.credentials();
        let head_policy = VerifyPolicy::new(SERVICE, exchange.timestamp + server_skew);
        // The body comes in later, and is checked with the clock of then; a policy for
        // another service as well, which the head did not see.
        let body_policy = VerifyPolicy::new(
            if other_service { "cvm" } else { SERVICE },
            exchange.timestamp + server_skew + body_delay,
        );
        let lookup = |candidate: &str| (candidate == exchange.secret_id).then_some(&stored);
        let derive = |credentials: &Credentials, date, service: &str| {
            SigningKey::derive(credentials.secret_key(), date, service)
        };
        let (head, split, whole) = sent.received(&signed, |request| {
            let head_only = ReceivedRequest { body: b"", ..*request };
            let head = verify_head(&head_only, &head_policy, lookup);
            let split = check_head(&head_only, &head_policy, lookup)
                .map(|checked| checked.verify_body(request.body, &body_policy, derive));
            (head, split, verify_with_key(request, &body_policy, lookup, derive))
        });
        // The kept head refuses what the head check refuses.
        prop_assert_eq!(
            head.as_ref().err().map(tc3_sign::VerifyError::code),
            split.as_ref().err().map(tc3_sign::VerifyError::code)
        );
        if let Ok(split) = split {
            // What it lets through is then answered as the whole request is answered.
            prop_assert_eq!(split.map_err(|e| e.code()), whole.map_err(|e| e.code()));
        }
    }

    #[test]
    fn a_key_for_another_date_is_never_taken_for_the_right_one(exchange in exchange(), days in 1i64..3) {
        let signed = exchange.sign();
        let stored = exchange.credentials();
        let policy = VerifyPolicy::new(SERVICE, exchange.timestamp);
        let other = UtcDate::from_timestamp(exchange.timestamp + days * 86_400).expect("valid");
        let wrong = SigningKey::derive(stored.secret_key(), other, SERVICE).expect("key");
        let result = exchange.received(&signed, |request| {
            verify_with_key(request, &policy, |_| Some(&stored), |_, _, _| Ok::<_, tc3_sign::SigningError>(&wrong))
        });
        prop_assert_eq!(result.map_err(|e| e.code()), Err("AuthFailure.SignatureFailure"));
    }

    #[test]
    fn parsing_any_string_as_authorization_never_panics(text in any::<String>()) {
        let _ = ParsedAuthorization::parse(&text);
        let _ = ParsedAuthorization::parse(&format!("TC3-HMAC-SHA256 {text}"));
    }

    #[test]
    fn verifying_arbitrary_headers_never_panics(
        headers in prop::collection::vec((any::<String>(), any::<String>()), 0..6),
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in any::<i64>(),
    ) {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let request = ReceivedRequest { method: "POST", path: "/", query: "", headers: &pairs, body: &body };
        let _ = verify(&request, &VerifyPolicy::new(SERVICE, now), |id| Some(Credentials::new(id, "k")));
    }

    #[test]
    fn any_input_is_signed_correctly_or_refused(
        method in prop_oneof![any::<String>(), "[A-Za-z ]{0,6}"],
        host in prop_oneof![any::<String>(), near_valid()],
        query in prop_oneof![any::<String>(), near_valid()],
        content_type in prop_oneof![any::<String>(), near_valid()],
        action in prop_oneof![any::<String>(), near_valid()],
        secret_id in prop_oneof![any::<String>(), near_valid()],
        timestamp in prop_oneof![any::<i64>(), 0i64..4_102_444_800],
    ) {
        let exchange = Exchange {
            method, host, query, content_type, action, body: b"{}".to_vec(), timestamp,
            secret_id, secret_key: "key".into(), token: None, sign_action: true, unsigned: false,
        };
        // Whatever was accepted must verify: no silently wrong signature.
        if let Ok(signed) = exchange.sign_with(SERVICE) {
            prop_assert!(exchange.verify(&signed).is_ok());
        }
    }

    #[test]
    fn the_get_query_round_trips_through_a_form_decoder(
        params in prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,8}", param()), 0..5),
    ) {
        let query = to_query_string(&params);
        let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        prop_assert_eq!(decoded, flatten(&params));
        // What the helper writes is exactly what the signer accepts as sent.
        let credentials = Credentials::new("AKID", "key");
        let signed = sign(&SignableRequest::get("example.com", &query), &SigningParams::new(&credentials, SERVICE, 0));
        prop_assert!(signed.is_ok());
    }
}

/// Guards the property above against vacuity: near-valid input is accepted often enough
/// for "accepted implies verifies" to be tested, and refused often enough for refusals.
#[test]
fn near_valid_input_reaches_both_outcomes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..400 {
        let text = |runner: &mut TestRunner| near_valid().new_tree(runner).expect("tree").current();
        let exchange = Exchange {
            method: "POST".into(),
            host: "example.com".into(),
            query: text(&mut runner),
            content_type: "application/json".into(),
            action: text(&mut runner),
            body: b"{}".to_vec(),
            timestamp: 1_700_000_000,
            secret_id: "AKID".into(),
            secret_key: "key".into(),
            token: None,
            sign_action: true,
            unsigned: false,
        };
        match exchange.sign_with(SERVICE) {
            Ok(signed) => {
                assert!(exchange.verify(&signed).is_ok(), "{exchange:?}");
                accepted += 1;
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        accepted >= 40 && refused >= 40,
        "accepted {accepted}, refused {refused}"
    );
}
