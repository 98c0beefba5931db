//! A `Signer` signs exactly as `sign` does, and refuses exactly what it refuses.

use proptest::prelude::*;
use tc3_sign::{
    Credentials, Payload, SignableRequest, SignedHeaders, Signer, SigningError, SigningKey,
    SigningOutput, SigningParams, SigningSettings, UtcDate, sign,
};

const SERVICE: &str = "iotexplorer";
const DAY_START: i64 = 1_700_006_400;

/// Everything a test compares of a signature.
fn stages(signed: &SigningOutput) -> Vec<String> {
    let mut stages: Vec<String> = [
        signed.canonical_request(),
        signed.payload_hash(),
        signed.signed_headers(),
        signed.hashed_canonical_request(),
        signed.credential_scope(),
        signed.string_to_sign(),
        signed.signature(),
        signed.authorization(),
    ]
    .map(str::to_owned)
    .to_vec();
    stages.push(signed.date().to_string());
    stages.push(signed.timestamp().to_string());
    stages.extend(
        signed
            .headers()
            .into_iter()
            .map(|(n, v)| format!("{n}: {v}")),
    );
    stages
}

fn outcome(result: Result<SigningOutput, SigningError>) -> Result<Vec<String>, SigningError> {
    result.map(|signed| stages(&signed))
}

/// Text often, not always, acceptable where it is used.
fn near_valid(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        9 => proptest::string::string_regex(valid).expect("regex"),
        1 => "[ -~\t\n\u{e9}]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_signer_signs_and_refuses_exactly_as_sign_does(
        method in near_valid("POST|GET"),
        host in near_valid("[a-zA-Z0-9.-]{1,40}(:[0-9]{1,5})?"),
        path in near_valid("/([a-z0-9/]|%[0-9A-F]{2}){0,6}"),
        content_type in near_valid(" ?application/(json|x-www-form-urlencoded)(; charset=[Uu][Tt][Ff]-8)? ?"),
        query in near_valid("([A-Za-z0-9.]{1,8}=([A-Za-z0-9]|%[0-9A-F]{2}){0,8}&?){0,3}"),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        payload_kind in 0u8..3,
        offset in prop_oneof![4 => 0i64..86_400, 1 => -86_400i64..2 * 86_400],
        token in proptest::option::of("[A-Za-z0-9]{1,20}"),
    ) {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret");
        let credentials = match &token {
            Some(token) => credentials.with_token(token),
            None => credentials,
        };
        let date = UtcDate::from_timestamp(DAY_START).expect("date");
        let key = SigningKey::derive(credentials.secret_key(), date, SERVICE).expect("key");
        let precomputed = format!("{:064X}", body.len());
        let payload = match payload_kind {
            0 => Payload::Bytes(&body),
            1 => Payload::Unsigned,
            _ => Payload::Precomputed(&precomputed),
        };
        let timestamp = DAY_START + offset;
        let request = SignableRequest::new(&method, &host, &content_type, payload)
            .with_path(&path)
            .with_query(&query);
        let params = SigningParams::new(&credentials, SERVICE, timestamp).with_signing_key(&key);
        let expected = outcome(sign(&request, &params));

        match Signer::new(&credentials, key.clone(), &method, &host, &path, &content_type) {
            Ok(signer) => {
                let signed = outcome(signer.sign(None, &query, payload, timestamp));
                prop_assert_eq!(signed, expected);
            }
            // A refused endpoint refuses every request to it.
            Err(_) => prop_assert!(expected.is_err()),
        }
    }

    #[test]
    fn a_signer_of_the_action_signs_and_refuses_exactly_as_sign_does(
        method in near_valid("POST|GET"),
        host in near_valid("[a-zA-Z0-9.-]{1,40}(:[0-9]{1,5})?"),
        content_type in near_valid(" ?application/(json|x-www-form-urlencoded)(; charset=[Uu][Tt][Ff]-8)? ?"),
        query in near_valid("([A-Za-z0-9.]{1,8}=([A-Za-z0-9]|%[0-9A-F]{2}){0,8}&?){0,3}"),
        action in near_valid(" ?[A-Z][A-Za-z0-9]{0,30} ?"),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        offset in prop_oneof![4 => 0i64..86_400, 1 => -86_400i64..2 * 86_400],
    ) {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret");
        let date = UtcDate::from_timestamp(DAY_START).expect("date");
        let key = SigningKey::derive(credentials.secret_key(), date, SERVICE).expect("key");
        let timestamp = DAY_START + offset;
        let request = SignableRequest::new(&method, &host, &content_type, Payload::Bytes(&body))
            .with_query(&query)
            .with_header("X-TC-Action", &action);
        let params = SigningParams::new(&credentials, SERVICE, timestamp)
            .with_signing_key(&key)
            .with_settings(SigningSettings::default().with_signed_headers(SignedHeaders::AllGiven));
        let expected = outcome(sign(&request, &params));

        match Signer::new(&credentials, key.clone(), &method, &host, "/", &content_type) {
            Ok(signer) => {
                let signed = outcome(signer.sign(Some(&action), &query, Payload::Bytes(&body), timestamp));
                prop_assert_eq!(signed, expected);
            }
            Err(_) => prop_assert!(expected.is_err()),
        }
    }
}

#[test]
fn a_signer_of_the_action_gives_tencents_signature() {
    // Tencent's example that signs `content-type;host;x-tc-action` (tests/vectors).
    let credentials = Credentials::new(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        "Gu5t9xGARNpq86cd98joQYCN3Cozxxxx",
    );
    let timestamp = 1_551_113_065;
    let date = UtcDate::from_timestamp(timestamp).expect("date");
    let key = SigningKey::derive(credentials.secret_key(), date, "cvm").expect("key");
    let signer = Signer::new(
        &credentials,
        key,
        "POST",
        "cvm.tencentcloudapi.com",
        "/",
        "application/json; charset=utf-8",
    )
    .expect("signer");
    let body = br#"{"Filters":[{"Name":"zone","Values":["ap-guangzhou-1"]}],"Limit":1}"#;
    let signed = signer
        .sign(
            Some("DescribeInstances"),
            "",
            Payload::Bytes(body),
            timestamp,
        )
        .expect("sign");
    assert_eq!(
        signed.signature(),
        "fb562f0e44f0c7f0afa9eff2998c6fc41e053d0efa3741b068332b545afdb587"
    );
    assert_eq!(signed.signed_headers(), "content-type;host;x-tc-action");
    assert!(
        signed
            .canonical_request()
            .contains("\nx-tc-action:describeinstances\n\n")
    );
    // One action's signature is not another's.
    let other = signer
        .sign(
            Some("BatchUpdateFirmware"),
            "",
            Payload::Bytes(body),
            timestamp,
        )
        .expect("sign");
    assert_ne!(other.signature(), signed.signature());
}

#[test]
fn one_signer_signs_with_and_without_the_action() {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret");
    let date = UtcDate::from_timestamp(DAY_START).expect("date");
    let key = SigningKey::derive(credentials.secret_key(), date, SERVICE).expect("key");
    let host = "iotexplorer.tencentcloudapi.com";
    let signer = Signer::new(
        &credentials,
        key.clone(),
        "POST",
        host,
        "/",
        "application/json",
    )
    .expect("signer");
    let payload = Payload::Bytes(b"{}");
    let plain = signer.sign(None, "", payload, DAY_START).expect("sign");
    let with_action = signer
        .sign(Some("A"), "", payload, DAY_START)
        .expect("sign");
    assert_eq!(plain.signed_headers(), "content-type;host");
    assert_eq!(
        with_action.signed_headers(),
        "content-type;host;x-tc-action"
    );
    let params = SigningParams::new(&credentials, SERVICE, DAY_START).with_signing_key(&key);
    let expected = sign(&SignableRequest::post_json(host, b"{}"), &params).expect("sign");
    assert_eq!(plain.authorization(), expected.authorization());
}

#[test]
fn a_signer_checks_its_endpoint_when_made() {
    let credentials = Credentials::new("AKIDEXAMPLE", "secret");
    let date = UtcDate::from_timestamp(DAY_START).expect("date");
    let key = SigningKey::derive(credentials.secret_key(), date, SERVICE).expect("key");
    let new = |method, host| {
        Signer::new(
            &credentials,
            key.clone(),
            method,
            host,
            "/",
            "application/json",
        )
    };
    assert!(new("POST", "Example.com:443").is_ok());
    assert!(new("post", "example.com").is_err());
    assert!(new("POST", "exa mple.com").is_err());
}
