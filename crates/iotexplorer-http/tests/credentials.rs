//! Credential sources, the default chain's order, and caching of temporary credentials,
//! against local files and local metadata and STS servers.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use iotexplorer_http::credentials::{
    CredentialsErrorKind, CvmRoleCredentials, DefaultCredentialsChain, EnvLookup,
    EnvironmentCredentials, METADATA_ENDPOINT_VARIABLE, ProfileCredentials, StsAssumeRole,
    TKE_VARIABLES, TkeOidcRoleCredentials,
};
use iotexplorer_http::{Error, ProvideCredentials, Proxy, StaticCredentials};
use iotexplorer_model::BatchUpdateFirmwareRequest;
use serde_json::{Value, json};
use support::{Reply, SECRET_ID, SECRET_KEY, TestServer, builder, ok, task_created, temp_dir};

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .build()
        .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn secret_id(provider: &dyn ProvideCredentials) -> String {
    provider
        .provide_credentials()
        .await
        .unwrap()
        .credentials()
        .secret_id()
        .to_owned()
}

const PROFILE: &str = "[default]\nsecret_id = AKIDprofile\nsecret_key = profile-key\n\n[prod]\nsecret_id = AKIDprod\nsecret_key = prod-key\ntoken = prod-token\n";

/// A metadata service: `/meta/` names the role, `/meta/<role>` gives credentials that
/// expire `lifetime` seconds from now, each fetch with a new TmpSecretId.
async fn metadata_server(lifetime: u64) -> TestServer {
    let issued = Arc::new(AtomicUsize::new(0));
    TestServer::start(move |_, arrival| match arrival.path.as_str() {
        "/meta/" => Reply::Body(Bytes::from_static(b"demo-role")),
        "/meta/demo-role" => {
            let n = issued.fetch_add(1, Ordering::SeqCst);
            Reply::Delay(
                Duration::from_millis(50),
                Box::new(Reply::Body(Bytes::from(
                    json!({
                        "TmpSecretId": format!("AKIDtmp{n}"),
                        "TmpSecretKey": SECRET_KEY,
                        "Token": format!("token-{n}"),
                        "ExpiredTime": now() + lifetime,
                        "Expiration": "ignored",
                        "Code": "Success"
                    })
                    .to_string(),
                ))),
            )
        }
        _ => Reply::Status(404, "text/plain", Bytes::from_static(b"not found")),
    })
    .await
}

/// The role `ota` assumed through the STS stand-in `sts`, with the test's keys.
fn ota_role(sts: &TestServer) -> StsAssumeRole {
    StsAssumeRole::builder(
        StaticCredentials::new(SECRET_ID, SECRET_KEY),
        "qcs::cam::uin/1:roleName/ota",
        "rollout",
    )
    .endpoint_url(sts.url())
    .proxy(Proxy::none())
    .build()
    .unwrap()
}

/// What a credentials error must never show.
const SENTINELS: [&str; 3] = ["SECRETSENTINEL123", "TOKENSENTINEL456", "1234567890123"];

fn assert_shows_no_secret(error: &impl std::fmt::Display) {
    let text = error.to_string();
    for sentinel in SENTINELS {
        assert!(!text.contains(sentinel), "{text}");
    }
}

#[tokio::test]
async fn answers_holding_keys_that_cannot_be_read_are_refused_without_quoting_them() {
    // The credentials as a JSON string inside the JSON, and a key as a number: serde_json's
    // own message would quote either.
    let inner = json!({"TmpSecretId": "AKIDtmp", "TmpSecretKey": "SECRETSENTINEL123",
                       "Token": "TOKENSENTINEL456", "ExpiredTime": now() + 3600})
    .to_string();
    for answer in [
        json!(inner.clone()),
        json!({"TmpSecretId": "AKIDtmp", "TmpSecretKey": 1234567890123u64,
               "Token": "TOKENSENTINEL456", "ExpiredTime": now() + 3600}),
    ] {
        let metadata = TestServer::start(move |_, arrival| match arrival.path.as_str() {
            "/meta/" => Reply::Body(Bytes::from_static(b"demo-role")),
            _ => Reply::Body(Bytes::from(answer.to_string())),
        })
        .await;
        let role = CvmRoleCredentials::with_metadata_url(format!("{}/meta/", metadata.url()));
        let error = role.provide_credentials().await.unwrap_err();
        assert_eq!(error.kind(), CredentialsErrorKind::Invalid, "{error}");
        assert!(
            error.to_string().contains("unreadable role credentials"),
            "{error}"
        );
        assert_shows_no_secret(&error);
    }

    let sts = TestServer::always(ok(
        json!({"Credentials": inner, "ExpiredTime": now() + 7200}),
    ))
    .await;
    let role = ota_role(&sts);
    let error = role.provide_credentials().await.unwrap_err();
    assert!(error.to_string().contains("unreadable answer"), "{error}");
    assert_shows_no_secret(&error);

    // An STS answer cut short: not JSON, and its beginning holds the keys.
    let whole = json!({"Response": {"Credentials": {"TmpSecretId": "AKIDtmp",
        "TmpSecretKey": "SECRETSENTINEL123", "Token": "TOKENSENTINEL456"},
        "ExpiredTime": now() + 7200, "RequestId": "r1"}})
    .to_string();
    let cut = Bytes::from(whole[..whole.len() - 20].to_owned());
    let sts = TestServer::always(Reply::Body(cut)).await;
    let role = ota_role(&sts);
    let error = role.provide_credentials().await.unwrap_err();
    assert!(error.to_string().contains("malformed"), "{error}");
    assert_shows_no_secret(&error);

    // A metadata address with a password in it is refused without showing it.
    let error = DefaultCredentialsChain::builder()
        .env(EnvLookup::from_pairs([(
            METADATA_ENDPOINT_VARIABLE,
            "http://admin:SECRETSENTINEL123@127.0.0.1:8080",
        )]))
        .build()
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("user information"), "{error}");
    assert_shows_no_secret(&error);
}

#[tokio::test]
async fn an_sts_answer_that_is_not_http_200_is_reported_without_its_body() {
    // A gateway that passes the service's answer on under another status: the body may
    // hold the keys just issued.
    let whole = json!({"Response": {"Credentials": {"TmpSecretId": "AKIDtmp",
        "TmpSecretKey": "SECRETSENTINEL123", "Token": "TOKENSENTINEL456"},
        "ExpiredTime": now() + 7200, "RequestId": "r1"}})
    .to_string();
    let sts = TestServer::always(Reply::Status(502, "application/json", Bytes::from(whole))).await;
    let role = ota_role(&sts);
    let error = tokio::time::timeout(Duration::from_secs(30), role.provide_credentials())
        .await
        .expect("the provider answers")
        .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::Unavailable, "{error}");
    assert!(error.to_string().contains("HTTP 502"), "{error}");
    assert_shows_no_secret(&error);
    assert_shows_no_secret(&format!("{error:?}"));
}

#[tokio::test]
async fn the_default_chain_reads_the_cvm_role_where_the_variable_points() {
    let metadata = TestServer::start(|_, arrival| match arrival.path.as_str() {
        "/latest/meta-data/cam/security-credentials/" => {
            Reply::Body(Bytes::from_static(b"demo-role"))
        }
        "/latest/meta-data/cam/security-credentials/demo-role" => Reply::Body(Bytes::from(
            json!({
                "TmpSecretId": "AKIDfromvariable",
                "TmpSecretKey": SECRET_KEY,
                "Token": "token",
                "ExpiredTime": now() + 3600,
                "Code": "Success"
            })
            .to_string(),
        )),
        _ => Reply::Status(404, "text/plain", Bytes::from_static(b"not found")),
    })
    .await;
    let home_dir = temp_dir("chain-cvm-variable");
    let home = home_dir.path().to_str().unwrap().to_owned();
    let chain = |endpoint: &str| {
        DefaultCredentialsChain::builder()
            .env(EnvLookup::from_pairs([
                ("HOME", home.clone()),
                (METADATA_ENDPOINT_VARIABLE, endpoint.to_owned()),
            ]))
            .profile_fallback_path(home_dir.path().join("missing"))
            .build()
    };
    assert_eq!(secret_id(&chain(&metadata.url())).await, "AKIDfromvariable");
    assert_eq!(metadata.count(), 2);

    // An address the rule refuses stops the chain with the reason; nothing is asked.
    let error = chain("http://192.0.2.1:80")
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::Invalid);
    assert!(error.to_string().contains("loopback"), "{error}");
    assert_eq!(metadata.count(), 2);
}

#[tokio::test]
async fn the_environment_gives_id_key_and_token() {
    let env = EnvLookup::from_pairs([
        ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
        ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
        ("TENCENTCLOUD_SESSION_TOKEN", "env-token"),
    ]);
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .credentials(EnvironmentCredentials::from_lookup(env))
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrival = &server.arrivals()[0];
    assert_eq!(arrival.header("x-tc-token"), Some("env-token"));
    arrival.verify(SECRET_KEY).unwrap();

    let half = EnvLookup::from_pairs([("TENCENTCLOUD_SECRET_ID", SECRET_ID)]);
    let error = EnvironmentCredentials::from_lookup(half)
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::Invalid);
}

#[tokio::test]
async fn profile_files_are_found_in_order_and_sections_chosen() {
    let home = temp_dir("home");
    std::fs::create_dir_all(home.path().join(".tencentcloud")).unwrap();
    std::fs::write(home.path().join(".tencentcloud/credentials"), PROFILE).unwrap();
    let env = EnvLookup::from_pairs([("HOME", home.path().to_str().unwrap())]);

    let default = ProfileCredentials::from_lookup(env.clone());
    assert_eq!(secret_id(&default).await, "AKIDprofile");

    let prod = ProfileCredentials::from_lookup(env).with_profile("prod");
    let provided = prod.provide_credentials().await.unwrap();
    assert_eq!(provided.credentials().secret_id(), "AKIDprod");
    assert_eq!(
        provided.credentials().token().map(|t| t.expose_secret()),
        Some("prod-token")
    );

    // The override wins over HOME.
    let other_dir = temp_dir("override");
    let other = other_dir.path().join("creds.ini");
    std::fs::write(&other, "[default]\nsecret_id=AKIDother\nsecret_key=k\n").unwrap();
    let env = EnvLookup::from_pairs([
        ("HOME", home.path().to_str().unwrap()),
        ("TENCENTCLOUD_CREDENTIALS_FILE", other.to_str().unwrap()),
    ]);
    assert_eq!(
        secret_id(&ProfileCredentials::from_lookup(env)).await,
        "AKIDother"
    );

    // No file in HOME: the fallback path.
    let empty_home = temp_dir("empty-home");
    let env = EnvLookup::from_pairs([("HOME", empty_home.path().to_str().unwrap())]);
    let fallback = ProfileCredentials::from_lookup(env.clone()).with_fallback_path(&other);
    assert_eq!(secret_id(&fallback).await, "AKIDother");
    let nothing =
        ProfileCredentials::from_lookup(env).with_fallback_path(empty_home.path().join("missing"));
    let error = nothing.provide_credentials().await.unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::NotFound);
}

/// A sparse file of `bytes` zero bytes (no disk is used for them).
fn zeros(path: &std::path::Path, bytes: u64) {
    std::fs::File::create(path)
        .and_then(|file| file.set_len(bytes))
        .unwrap();
}

#[tokio::test]
async fn a_credentials_file_larger_than_a_person_writes_is_refused_unread() {
    let dir = temp_dir("oversized-profile");
    // At the bound it is read (and holds no section).
    let largest = dir.path().join("largest");
    zeros(&largest, 1024 * 1024);
    let env = EnvLookup::from_pairs([("TENCENTCLOUD_CREDENTIALS_FILE", largest.to_str().unwrap())]);
    let error = ProfileCredentials::from_lookup(env)
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::NotFound, "{error}");
    // One byte more, or `/dev/zero`, is refused without being read whole.
    let oversized = dir.path().join("oversized");
    zeros(&oversized, 1024 * 1024 + 1);
    let mut paths = vec![oversized.to_str().unwrap().to_owned()];
    if std::path::Path::new("/dev/zero").exists() {
        paths.push("/dev/zero".to_owned());
    }
    for path in paths {
        let env = EnvLookup::from_pairs([("TENCENTCLOUD_CREDENTIALS_FILE", path.as_str())]);
        let error = ProfileCredentials::from_lookup(env)
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), CredentialsErrorKind::Invalid, "{error}");
        let text = error.to_string();
        assert!(
            text.contains(&path) && text.contains("more than 1048576 bytes"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_default_chain_prefers_environment_then_profile_then_cvm_role() {
    let home = temp_dir("chain-home");
    std::fs::create_dir_all(home.path().join(".tencentcloud")).unwrap();
    std::fs::write(home.path().join(".tencentcloud/credentials"), PROFILE).unwrap();
    let empty_home = temp_dir("chain-empty");
    let no_fallback = empty_home.path().join("missing");
    let metadata = metadata_server(3600).await;
    let metadata_url = format!("{}/meta/", metadata.url());

    let chain = |pairs: Vec<(&str, &str)>| {
        DefaultCredentialsChain::builder()
            .env(EnvLookup::from_pairs(pairs))
            .profile_fallback_path(&no_fallback)
            .metadata_url(metadata_url.clone())
            .build()
    };
    let home_str = home.path().to_str().unwrap();
    let empty_str = empty_home.path().to_str().unwrap();

    let all = chain(vec![
        ("TENCENTCLOUD_SECRET_ID", "AKIDenv"),
        ("TENCENTCLOUD_SECRET_KEY", "env-key"),
        ("HOME", home_str),
    ]);
    assert_eq!(secret_id(&all).await, "AKIDenv");

    let profile_only = chain(vec![("HOME", home_str)]);
    assert_eq!(secret_id(&profile_only).await, "AKIDprofile");

    assert_eq!(
        metadata.count(),
        0,
        "the role is asked only when nothing else has credentials"
    );
    let role_only = chain(vec![("HOME", empty_str)]);
    assert_eq!(secret_id(&role_only).await, "AKIDtmp0");
    assert_eq!(metadata.count(), 2);

    // Nothing anywhere: an error naming every source, and nothing sent.
    let nowhere = DefaultCredentialsChain::builder()
        .env(EnvLookup::from_pairs([("HOME", empty_str)]))
        .profile_fallback_path(&no_fallback)
        .metadata_url(format!("{}/none/", metadata.url()))
        .build();
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).credentials(nowhere).build().unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    match &error {
        Error::Credentials { source, .. } => {
            assert_eq!(source.kind(), CredentialsErrorKind::NotFound);
            let text = source.to_string();
            for name in ["environment", "profile", "CVM"] {
                assert!(text.contains(name), "{text}");
            }
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.was_not_sent());
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn many_concurrent_calls_share_one_refresh() {
    let metadata = metadata_server(3600).await;
    let role = Arc::new(CvmRoleCredentials::with_metadata_url(format!(
        "{}/meta/",
        metadata.url()
    )));
    let server = TestServer::always(task_created()).await;
    let client = builder(&server)
        .credentials(Arc::clone(&role))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&upgrade()).await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // One role lookup and one credentials fetch, for 50 calls.
    assert_eq!(metadata.count(), 2);
    for arrival in server.arrivals() {
        assert_eq!(arrival.header("x-tc-token"), Some("token-0"));
        arrival.verify(SECRET_KEY).unwrap();
    }
}

#[tokio::test]
async fn temporary_credentials_are_refreshed_before_they_expire() {
    // They live 4 s, so they are refreshed half-way, after 2 s.
    let metadata = metadata_server(4).await;
    let role = CvmRoleCredentials::with_metadata_url(format!("{}/meta/", metadata.url()));
    assert_eq!(secret_id(&role).await, "AKIDtmp0");
    assert_eq!(secret_id(&role).await, "AKIDtmp0");
    assert_eq!(metadata.count(), 2);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(secret_id(&role).await, "AKIDtmp1");
    assert_eq!(metadata.count(), 4);
}

#[tokio::test]
async fn sts_assume_role_is_a_signed_call_and_its_credentials_are_used() {
    let sts = TestServer::start(|_, arrival| {
        if arrival.verify(SECRET_KEY).is_err()
            || arrival.header("x-tc-action") != Some("AssumeRole")
            || arrival.header("x-tc-version") != Some("2018-08-13")
        {
            return support::api_error("AuthFailure.SignatureFailure", "bad");
        }
        let params: Value = serde_json::from_slice(&arrival.body).unwrap_or_default();
        if params
            != json!({"RoleArn": "qcs::cam::uin/1:roleName/ota", "RoleSessionName": "rollout", "DurationSeconds": 7200})
        {
            return support::api_error("InvalidParameter", "bad params");
        }
        ok(json!({
            "Credentials": {"TmpSecretId": "AKIDtmpSts", "TmpSecretKey": SECRET_KEY, "Token": "sts-token"},
            "ExpiredTime": now() + 7200,
            "Expiration": "2030-01-01T00:00:00Z"
        }))
    })
    .await;
    let role = ota_role(&sts);

    let server = TestServer::always(task_created()).await;
    let client = builder(&server).credentials(role).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    client.send(&upgrade()).await.unwrap();
    assert_eq!(sts.count(), 1, "cached");
    let sts_arrival = &sts.arrivals()[0];
    assert!(
        sts_arrival
            .header("authorization")
            .unwrap()
            .contains("/sts/tc3_request")
    );
    for arrival in server.arrivals() {
        assert_eq!(arrival.header("x-tc-token"), Some("sts-token"));
        assert!(
            arrival
                .header("authorization")
                .unwrap()
                .contains("AKIDtmpSts/")
        );
        arrival.verify(SECRET_KEY).unwrap();
    }
}

#[tokio::test]
async fn the_environment_takes_tcclis_token_name_too() {
    let with = |pairs: Vec<(&'static str, &'static str)>| async move {
        EnvironmentCredentials::from_lookup(EnvLookup::from_pairs(pairs))
            .provide_credentials()
            .await
            .unwrap()
            .credentials()
            .token()
            .map(|token| token.expose_secret().to_owned())
    };
    let id_and_key = [
        ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
        ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
    ];
    let mut tccli = id_and_key.to_vec();
    tccli.push(("TENCENTCLOUD_TOKEN", "tccli-token"));
    assert_eq!(with(tccli.clone()).await.as_deref(), Some("tccli-token"));
    // The SDKs' name wins when both are set; an empty one counts as unset.
    let mut both = tccli.clone();
    both.push(("TENCENTCLOUD_SESSION_TOKEN", "sdk-token"));
    assert_eq!(with(both).await.as_deref(), Some("sdk-token"));
    let mut empty = tccli;
    empty.push(("TENCENTCLOUD_SESSION_TOKEN", ""));
    assert_eq!(with(empty).await.as_deref(), Some("tccli-token"));
    assert_eq!(with(id_and_key.to_vec()).await, None);
}

/// An STS server that answers `AssumeRoleWithWebIdentity` for the token `oidc-token`
/// only, with credentials that expire `lifetime` seconds from now.
async fn web_identity_server(lifetime: u64) -> TestServer {
    TestServer::start(move |n, arrival| {
        let params: Value = serde_json::from_slice(&arrival.body).unwrap_or_default();
        let session = params["RoleSessionName"].as_str().unwrap_or_default();
        if arrival.header("authorization") != Some("SKIP")
            || arrival.header("x-tc-action") != Some("AssumeRoleWithWebIdentity")
            || arrival.header("x-tc-version") != Some("2018-08-13")
            || arrival.header("x-tc-region") != Some("ap-shanghai")
            || arrival.header("x-tc-token").is_some()
            || params["ProviderId"] != "tke-provider"
            || params["WebIdentityToken"] != "oidc-token"
            || params["RoleArn"] != "qcs::cam::uin/1:roleName/pod"
            || params["DurationSeconds"] != 7200
            || !session.starts_with("tencentcloud-rust-sdk-")
        {
            return support::api_error("InvalidParameter", "unexpected STS call");
        }
        ok(json!({
            "Credentials": {"TmpSecretId": format!("AKIDtke{n}"), "TmpSecretKey": SECRET_KEY, "Token": "tke-token"},
            "ExpiredTime": now() + lifetime,
            "Expiration": "2030-01-01T00:00:00Z"
        }))
    })
    .await
}

fn tke_env(token_file: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("TKE_REGION", "ap-shanghai".to_owned()),
        ("TKE_PROVIDER_ID", "tke-provider".to_owned()),
        (
            "TKE_WEB_IDENTITY_TOKEN_FILE",
            token_file.to_str().unwrap().to_owned(),
        ),
        ("TKE_ROLE_ARN", "qcs::cam::uin/1:roleName/pod".to_owned()),
    ]
}

#[tokio::test]
async fn a_tke_pod_exchanges_its_oidc_token_for_role_credentials() {
    let sts = web_identity_server(7200).await;
    let dir = temp_dir("tke");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "oidc-token\n").unwrap();
    let role = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(tke_env(&token_file)))
        .with_endpoint_url(sts.url())
        .with_proxy(Proxy::none());

    let server = TestServer::always(task_created()).await;
    let client = builder(&server).credentials(role).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    client.send(&upgrade()).await.unwrap();
    assert_eq!(sts.count(), 1, "cached until shortly before expiry");
    for arrival in server.arrivals() {
        assert_eq!(arrival.header("x-tc-token"), Some("tke-token"));
        assert!(
            arrival
                .header("authorization")
                .unwrap()
                .contains("AKIDtke0/")
        );
    }

    // Each variable is needed: without one the provider has nothing, and asks no one.
    for missing in TKE_VARIABLES {
        let env: Vec<_> = tke_env(&token_file)
            .into_iter()
            .filter(|(name, _)| *name != missing)
            .collect();
        let error = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(env))
            .with_endpoint_url(sts.url())
            .provide_credentials()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), CredentialsErrorKind::NotFound, "{missing}");
        assert!(error.to_string().contains(missing), "{error}");
    }
    // A token file that cannot be read is an error, not "nothing here".
    let error = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(tke_env(
        &dir.path().join("missing"),
    )))
    .with_endpoint_url(sts.url())
    .provide_credentials()
    .await
    .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::Unavailable);
    // The token itself set where its file's path belongs is not shown back.
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", "TOKENSENTINEL456".repeat(20));
    let mut env = tke_env(&token_file);
    env.retain(|(name, _)| *name != "TKE_WEB_IDENTITY_TOKEN_FILE");
    env.push(("TKE_WEB_IDENTITY_TOKEN_FILE", token));
    let error = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(env))
        .with_endpoint_url(sts.url())
        .provide_credentials()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not shown"), "{error}");
    assert_shows_no_secret(&error);
    // A token file larger than any token is refused, unread and unsent.
    zeros(&token_file, 64 * 1024 + 1);
    let error = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(tke_env(&token_file)))
        .with_endpoint_url(sts.url())
        .provide_credentials()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), CredentialsErrorKind::Invalid, "{error}");
    assert!(
        error.to_string().contains("more than 65536 bytes"),
        "{error}"
    );
    // STS's refusal comes through with its code, and never the token.
    std::fs::write(&token_file, "stolen-token").unwrap();
    let error = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(tke_env(&token_file)))
        .with_endpoint_url(sts.url())
        .provide_credentials()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("InvalidParameter"), "{text}");
    assert!(!text.contains("stolen-token"), "{text}");
    assert_eq!(sts.count(), 2);
}

#[tokio::test]
async fn a_tke_answer_with_numbers_as_strings_is_read() {
    // STS, like every backend of the service, may send numbers as strings.
    let sts = TestServer::always(ok(json!({
        "Credentials": {"TmpSecretId": "AKIDtke-text", "TmpSecretKey": SECRET_KEY, "Token": "tke-token"},
        "ExpiredTime": (now() + 7200).to_string(),
        "Expiration": "2030-01-01T00:00:00Z"
    })))
    .await;
    let dir = temp_dir("tke-text");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "oidc-token\n").unwrap();
    let role = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(tke_env(&token_file)))
        .with_endpoint_url(sts.url())
        .with_proxy(Proxy::none());
    let server = TestServer::always(task_created()).await;
    let client = builder(&server).credentials(role).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    client.send(&upgrade()).await.unwrap();
    assert_eq!(
        sts.count(),
        1,
        "the expiry was read, so the credentials are kept"
    );
    assert!(
        server.arrivals()[0]
            .header("authorization")
            .unwrap()
            .contains("AKIDtke-text/")
    );
}

#[tokio::test]
async fn the_default_chain_ends_with_the_tke_oidc_role() {
    let sts = web_identity_server(7200).await;
    let dir = temp_dir("tke-chain");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "oidc-token").unwrap();
    let metadata = metadata_server(3600).await;
    let mut env = tke_env(&token_file);
    env.push(("HOME", dir.path().to_str().unwrap().to_owned()));
    let chain = |env: Vec<(&'static str, String)>, metadata_path: &str| {
        DefaultCredentialsChain::builder()
            .env(EnvLookup::from_pairs(env))
            .profile_fallback_path(dir.path().join("no-profile"))
            .metadata_url(format!("{}{metadata_path}", metadata.url()))
            .sts_endpoint_url(sts.url())
            .build()
    };
    // Off CVM (no role): the pod's role.
    assert_eq!(secret_id(&chain(env.clone(), "/none/")).await, "AKIDtke0");
    // The CVM role comes first, as in the SDKs.
    assert_eq!(secret_id(&chain(env.clone(), "/meta/")).await, "AKIDtmp0");
    // The environment before both.
    let mut with_keys = env;
    with_keys.push(("TENCENTCLOUD_SECRET_ID", "AKIDenv".to_owned()));
    with_keys.push(("TENCENTCLOUD_SECRET_KEY", "env-key".to_owned()));
    assert_eq!(secret_id(&chain(with_keys, "/none/")).await, "AKIDenv");
    assert_eq!(sts.count(), 1);
}

#[test]
fn a_tke_token_file_that_never_ends_cannot_hold_a_call_past_its_deadline() {
    // A named pipe no one writes to: opening it waits for a writer, without end.
    let dir = temp_dir("tke-fifo");
    let token_file = dir.path().join("token");
    let made = std::process::Command::new("mkfifo")
        .arg(&token_file)
        .status()
        .unwrap();
    assert!(made.success());
    let env = tke_env(&token_file);
    let (done, finished) = std::sync::mpsc::channel();
    // On its own thread and one-threaded runtime, so that a read blocking the runtime
    // fails the test instead of stalling it.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(async {
            let server = TestServer::always(task_created()).await;
            let role = TkeOidcRoleCredentials::from_lookup(EnvLookup::from_pairs(env))
                .with_proxy(Proxy::none());
            let client = builder(&server)
                .credentials(role)
                .call_timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            let outcome = client.send(&upgrade()).await;
            (outcome.map(|_| ()), server.count())
        });
        done.send(outcome).unwrap();
    });
    let outcome = finished.recv_timeout(Duration::from_secs(10));
    // Lets the blocked open go, whatever the outcome, so the reader's thread ends.
    drop(std::fs::OpenOptions::new().write(true).open(&token_file));
    let (outcome, sent) = outcome.expect("the call ends by its deadline");
    let error = outcome.unwrap_err();
    assert!(error.is_timeout() && error.was_not_sent(), "{error}");
    assert_eq!(sent, 0);
}

#[tokio::test]
async fn a_metadata_url_that_does_not_parse_is_reported_without_its_password() {
    // A password holding a space makes the URL unreadable; the error must not quote it.
    let role = CvmRoleCredentials::with_metadata_url("http://user:s3cr3t pass@169.254.0.23/meta/");
    let Err(error) = role.provide_credentials().await else {
        panic!("the URL cannot be read");
    };
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("metadata URL"), "{shown}");
}
