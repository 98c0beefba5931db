//! Legacy v1 signatures against Tencent's published example.
#![cfg(feature = "v1")]

use tc3_sign::v1::{self, V1Algorithm};
use tc3_sign::{Credentials, SecretKey, VerifyPolicy};

const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";

fn published_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Action", "DescribeInstances"),
        ("InstanceIds.0", "ins-09dx96dg"),
        ("Limit", "20"),
        ("Nonce", "11886"),
        ("Offset", "0"),
        ("Region", "ap-guangzhou"),
        ("SecretId", SECRET_ID),
        ("Timestamp", "1465185768"),
        ("Version", "2017-03-12"),
    ]
}

#[test]
fn the_published_hmac_sha1_example_matches() {
    let mut params = published_params();
    params.reverse();
    let string_to_sign = v1::string_to_sign("GET", "cvm.tencentcloudapi.com", "/", &params);
    assert_eq!(
        string_to_sign,
        "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20\
         &Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\
         &Timestamp=1465185768&Version=2017-03-12"
    );
    let signature =
        v1::sign(&SecretKey::new(KEY), V1Algorithm::HmacSha1, &string_to_sign).expect("signature");
    assert_eq!(signature, "EliP9YW3pW28FpsEdkXt/+WcGeI=");
}

#[test]
fn signed_requests_verify_and_tampered_ones_do_not() {
    for algorithm in [V1Algorithm::HmacSha1, V1Algorithm::HmacSha256] {
        let mut params = published_params();
        params.push(("SignatureMethod", algorithm.as_str()));
        let string_to_sign = v1::string_to_sign("GET", "cvm.tencentcloudapi.com", "/", &params);
        let signature = v1::sign(&SecretKey::new(KEY), algorithm, &string_to_sign).expect("sign");
        params.push(("Signature", &signature));
        let policy = VerifyPolicy::new("cvm", 1_465_185_768);
        let lookup = |id: &str| (id == SECRET_ID).then(|| Credentials::new(SECRET_ID, KEY));
        let verify = |params: &[(&str, &str)]| {
            v1::verify(
                "GET",
                "cvm.tencentcloudapi.com",
                "/",
                params,
                &policy,
                lookup,
            )
        };
        assert!(verify(&params).is_ok(), "{algorithm:?}");

        let mut tampered = params.clone();
        tampered[2] = ("Limit", "21");
        assert_eq!(
            verify(&tampered).expect_err("tampered").code(),
            "AuthFailure.SignatureFailure"
        );
        let late = VerifyPolicy::new("cvm", 1_465_185_768 + 301);
        let error = v1::verify(
            "GET",
            "cvm.tencentcloudapi.com",
            "/",
            &params,
            &late,
            lookup,
        )
        .expect_err("expired");
        assert_eq!(error.code(), "AuthFailure.SignatureExpire");
        let error = v1::verify(
            "GET",
            "cvm.tencentcloudapi.com",
            "/",
            &params,
            &policy,
            |_| None,
        )
        .expect_err("unknown id");
        assert_eq!(error.code(), "AuthFailure.SecretIdNotFound");
    }
}

#[test]
fn malformed_common_parameters_are_invalid_authorization() {
    let policy = VerifyPolicy::new("cvm", 1_465_185_768);
    let base = published_params();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        base.clone(),
        [base.clone(), vec![("Signature", "not base64!")]].concat(),
        [
            base.clone(),
            vec![("Signature", "AAAA"), ("SignatureMethod", "MD5")],
        ]
        .concat(),
        [
            base.clone(),
            vec![("Signature", "AAAA"), ("Signature", "AAAA")],
        ]
        .concat(),
    ];
    for params in cases {
        let error = v1::verify(
            "GET",
            "cvm.tencentcloudapi.com",
            "/",
            &params,
            &policy,
            |_| None,
        )
        .expect_err("malformed");
        assert_eq!(
            error.code(),
            "AuthFailure.InvalidAuthorization",
            "{params:?}"
        );
    }
}
