//! TLS with a certificate authority made by the test, and requests through a proxy on
//! 127.0.0.1.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use http::Version;
use iotexplorer_http::credentials::EnvLookup;
use iotexplorer_http::{Error, Proxy};
use iotexplorer_model::BatchUpdateFirmwareRequest;
use support::{SECRET_KEY, TestCa, TestProxy, TestServer, builder, fast_retries, task_created};

fn upgrade() -> BatchUpdateFirmwareRequest {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_server_signed_by_an_added_root_is_trusted_and_speaks_http2() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(|_, _| task_created(), ca.server_config.clone()).await;
    let client = builder(&server)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    client.send(&upgrade()).await.unwrap();
    let arrivals = server.arrivals();
    assert_eq!(arrivals[0].version, Version::HTTP_2);
    arrivals[0].verify(SECRET_KEY).unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_server_signed_by_an_unknown_root_is_refused() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(|_, _| task_created(), ca.server_config.clone()).await;
    let client = builder(&server)
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(&error, Error::Connect { .. }), "{error:?}");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert_eq!(server.count(), 0);

    // Trusting only another authority is no better.
    let other = TestCa::new();
    let client = builder(&server)
        .builtin_roots(false)
        .add_root_certificates_pem(other.ca_pem.as_bytes())
        .unwrap()
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    assert!(matches!(
        client.send(&upgrade()).await,
        Err(Error::Connect { .. })
    ));
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_basic_auth() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(|_, _| task_created(), ca.server_config.clone()).await;
    // "user:pa ss" → dXNlcjpwYSBzcw==
    let proxy = TestProxy::start(Some("Basic dXNlcjpwYSBzcw==".to_owned())).await;
    let proxy_url = format!("http://user:pa%20ss@{}", proxy.addr);
    let client = builder(&server)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .proxy(Proxy::all(&proxy_url).unwrap())
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].request_line,
        format!("CONNECT {} HTTP/1.1", server.addr)
    );
    assert_eq!(server.count(), 1);
    server.arrivals()[0].verify(SECRET_KEY).unwrap();
    assert!(!format!("{client:?}").contains("pa%20ss"));
}

#[tokio::test]
async fn a_refused_proxy_login_is_a_connect_error() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(|_, _| task_created(), ca.server_config.clone()).await;
    let proxy = TestProxy::start(Some("Basic c29tZW9uZTplbHNl".to_owned())).await;
    let client = builder(&server)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
        .proxy(Proxy::all(&format!("http://user:wrong@{}", proxy.addr)).unwrap())
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let error = client.send(&upgrade()).await.unwrap_err();
    assert!(matches!(&error, Error::Connect { .. }), "{error:?}");
    assert!(!format!("{error:?} {error}").contains("wrong"));
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn plain_http_is_forwarded_in_absolute_form() {
    let server = TestServer::always(task_created()).await;
    let proxy = TestProxy::start(Some("Basic dTpw".to_owned())).await;
    let client = builder(&server)
        .proxy(Proxy::http(&format!("http://u:p@{}", proxy.addr)).unwrap())
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].request_line,
        format!("POST http://{}/ HTTP/1.1", server.addr)
    );
    assert_eq!(seen[0].proxy_authorization.as_deref(), Some("Basic dTpw"));
    // The signature covers the Host header, which the proxy passes on unchanged.
    server.arrivals()[0].verify(SECRET_KEY).unwrap();
}

#[tokio::test]
async fn no_proxy_and_environment_rules_are_honoured() {
    let server = TestServer::always(task_created()).await;
    let proxy = TestProxy::start(None).await;

    // Excluded by NO_PROXY.
    let excluded = Proxy::all(&proxy.url()).unwrap().with_no_proxy("127.0.0.1");
    let client = builder(&server).proxy(excluded).build().unwrap();
    client.send(&upgrade()).await.unwrap();
    assert_eq!(proxy.seen().len(), 0);

    // From the environment, loopback targets go direct.
    let env = EnvLookup::from_pairs([("HTTP_PROXY", proxy.url()), ("https_proxy", proxy.url())]);
    let client = builder(&server)
        .proxy(Proxy::from_lookup(&env))
        .build()
        .unwrap();
    client.send(&upgrade()).await.unwrap();
    assert_eq!(proxy.seen().len(), 0);
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_proxy_from_the_environment_that_cannot_be_used_is_refused_not_passed_over() {
    // Passed over, the calls would leave the machine directly, around the proxy the
    // operator set.
    let server = TestServer::always(task_created()).await;
    for (name, value) in [
        ("HTTPS_PROXY", "not a url"),
        ("https_proxy", "http://user:s3cr3t@pro xy:3128"),
        ("HTTP_PROXY", "ftp://proxy.internal:21"),
        ("ALL_PROXY", "http://proxy.internal:3128\u{fffd}"),
    ] {
        let env = EnvLookup::from_pairs([(name, value)]);
        let built = support::builder_at("https://iotexplorer.tencentcloudapi.com")
            .proxy(Proxy::from_lookup(&env))
            .build();
        let Err(Error::Config(message)) = built else {
            panic!("{name}={value}: {built:?}");
        };
        assert!(message.contains(name), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
        // A loopback service (the emulator) is never reached through a proxy from the
        // environment, so the variable does not stand in the way of its calls.
        let client = builder(&server)
            .proxy(Proxy::from_lookup(&env))
            .build()
            .unwrap_or_else(|err| panic!("{name}={value}: {err}"));
        client.send(&upgrade()).await.unwrap();
    }
    // A host and port without a scheme is taken as http://, as curl takes it.
    let env = EnvLookup::from_pairs([("HTTPS_PROXY", "proxy.internal:3128")]);
    support::builder_at("https://iotexplorer.tencentcloudapi.com")
        .proxy(Proxy::from_lookup(&env))
        .build()
        .unwrap();
    assert_eq!(server.count(), 4);
}

#[test]
fn a_proxy_variable_that_is_not_utf8_is_refused_not_passed_over() {
    // The process environment is read in a child process of this test binary: setting
    // it here would race the other tests' threads.
    const CHILD: &str = "IOTEXPLORER_HTTP_TEST_PROXY_CHILD";
    const NAME: &str = "a_proxy_variable_that_is_not_utf8_is_refused_not_passed_over";
    if std::env::var_os(CHILD).is_some() {
        let built = support::builder_at("https://iotexplorer.tencentcloudapi.com")
            .proxy(Proxy::from_env())
            .build();
        let Err(Error::Config(message)) = built else {
            panic!("{built:?}");
        };
        assert!(message.contains("HTTPS_PROXY"), "{message}");
        return;
    }
    use std::os::unix::ffi::OsStringExt as _;
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--test-threads=1"])
        .env(CHILD, "1")
        .env(
            "HTTPS_PROXY",
            std::ffi::OsString::from_vec(b"http://proxy.internal:31\xff28".to_vec()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}
