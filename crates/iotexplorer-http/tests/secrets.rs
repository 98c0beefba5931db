//! Secrets never show in `Debug` or `Display` of credentials, configuration or errors.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use bytes::Bytes;
use iotexplorer_http::credentials::{
    CvmRoleCredentials, EnvLookup, EnvironmentCredentials, ProvidedCredentials,
};
use iotexplorer_http::{Client, Error, ProvideCredentials, Proxy, StaticCredentials};
use iotexplorer_model::BatchUpdateFirmwareRequest;
use serde_json::json;
use support::{Reply, TestServer, api_error, builder};

const KEY: &str = "KEY-must-not-leak-1234";
const TOKEN: &str = "TOKEN-must-not-leak-5678";
const PROXY_PASSWORD: &str = "PROXYPASS-must-not-leak";

fn assert_clean(what: &str, text: &str) {
    for secret in [KEY, TOKEN, PROXY_PASSWORD] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
    assert!(
        !text.contains("Signature="),
        "{what} shows a signature: {text}"
    );
}

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .build()
        .unwrap()
}

#[tokio::test]
async fn credentials_and_configuration_never_show_secrets() {
    let credentials = StaticCredentials::new("AKIDshown", KEY).with_token(TOKEN);
    assert_clean("StaticCredentials", &format!("{credentials:?}"));
    let provided = credentials.provide_credentials().await.unwrap();
    assert_clean("ProvidedCredentials", &format!("{provided:?}"));
    assert!(format!("{provided:?}").contains("AKIDshown"));
    let expiring = ProvidedCredentials::expiring(
        tc3_sign::Credentials::new("AKID", KEY).with_token(TOKEN),
        std::time::SystemTime::now(),
    );
    assert_clean("expiring credentials", &format!("{expiring:?}"));

    let env = EnvironmentCredentials::from_lookup(EnvLookup::from_pairs([
        ("TENCENTCLOUD_SECRET_ID", "AKID"),
        ("TENCENTCLOUD_SECRET_KEY", KEY),
        ("TENCENTCLOUD_SESSION_TOKEN", TOKEN),
    ]));
    assert_clean("EnvironmentCredentials", &format!("{env:?}"));

    let proxy = Proxy::all(&format!("http://user:{PROXY_PASSWORD}@127.0.0.1:3128")).unwrap();
    let builder = Client::builder()
        .credentials(credentials)
        .proxy(proxy.clone())
        .endpoint_url("http://127.0.0.1:9");
    assert_clean("ClientBuilder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_clean("Client", &format!("{client:?}"));
    // Basic authentication only encodes: the encoded form must not show either.
    let encoded = "dXNlcjpQUk9YWVBBU1MtbXVzdC1ub3QtbGVhaw"; // base64("user:PROXYPASS-must-not-leak")
    assert!(!format!("{client:?}").contains(encoded), "{client:?}");
    assert_clean("Proxy", &format!("{proxy:?}"));
}

#[tokio::test]
async fn errors_never_show_secrets() {
    // The service echoes nothing secret, but every error path is checked.
    let servers = [
        TestServer::always(api_error("AuthFailure.SignatureFailure", "bad signature")).await,
        TestServer::always(Reply::Status(
            500,
            "text/plain",
            Bytes::from_static(b"oops"),
        ))
        .await,
        TestServer::always(Reply::Body(Bytes::from_static(b"{not json"))).await,
        TestServer::always(Reply::Drop).await,
    ];
    for server in &servers {
        let client = builder(server)
            .credentials(StaticCredentials::new("AKIDx", KEY).with_token(TOKEN))
            .build()
            .unwrap();
        let error = client.send(&upgrade()).await.unwrap_err();
        assert_clean("error", &format!("{error:?} / {error}"));
        let error = client
            .send_json_unchecked("Anything", false, &json!({}))
            .await
            .unwrap_err();
        assert_clean("error", &format!("{error:?} / {error}"));
    }

    // A proxy that refuses the login.
    let target = TestServer::always(api_error("X", "y")).await;
    let proxy = support::TestProxy::start(Some("Basic nope".to_owned())).await;
    let client = builder(&target)
        .credentials(StaticCredentials::new("AKIDx", KEY).with_token(TOKEN))
        .proxy(Proxy::all(&format!("http://user:{PROXY_PASSWORD}@{}", proxy.addr)).unwrap())
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert_clean("proxy error", &format!("{error:?} / {error}"));

    // Broken role credentials from a metadata service.
    let metadata = TestServer::start(|_, arrival| {
        if arrival.path.ends_with("/meta/") {
            Reply::Body(Bytes::from_static(b"role"))
        } else {
            Reply::Body(Bytes::from(format!(
                r#"{{"TmpSecretKey": "{KEY}", "Token": "{TOKEN}"}}"#
            )))
        }
    })
    .await;
    let role = CvmRoleCredentials::with_metadata_url(format!("{}/meta/", metadata.url()));
    let error = role.provide_credentials().await.unwrap_err();
    assert_clean("role error", &format!("{error:?} / {error}"));
    let as_client_error = Error::Credentials {
        action: "A".into(),
        source: error,
    };
    assert_clean(
        "client error",
        &format!("{as_client_error:?} / {as_client_error}"),
    );
}

#[test]
fn endpoint_urls_with_a_password_are_refused_without_showing_it() {
    // A password with a character that ends the authority early, or that no URL holds:
    // the URL does not parse, and the message must still hide the password.
    for url in [
        format!("https://user:{PROXY_PASSWORD}/x@127.0.0.1:9"),
        format!("https://user:{PROXY_PASSWORD} x@127.0.0.1:9"),
        format!("user:{PROXY_PASSWORD}@127.0.0.1:9"),
        format!("https://user:{PROXY_PASSWORD}@127.0.0.1:9"),
    ] {
        let error = Client::builder()
            .credentials(StaticCredentials::new("AKIDx", KEY))
            .proxy(Proxy::none())
            .endpoint_url(url.clone())
            .build()
            .unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{url}: {error}");
        assert_clean("endpoint error", &format!("{error:?} / {error}"));
    }
}
