//! The `host` a client signs may leave out the port its `Host` header carries, as the
//! official Node.js SDK does; any other host signed is still refused.

mod support;

use iotexplorer_emulator::{CredentialFixture, Emulator, Fixture, RunningEmulator};
use support::Client;
use tc3_sign::Credentials;

const LIST: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;
const LIST_QUERY: &str = "PageNum=1&PageSize=1&ProductID=ABCDE12345";

async fn start() -> RunningEmulator {
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new("AKIDTEMPORARY", "temporary-key").with_token("session-token"),
    );
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

/// A demo client sending `Host: sent` and signing over `signed`.
fn client(emulator: &RunningEmulator, sent: &str, signed: &str) -> Client {
    let mut client = Client::demo(emulator.addr());
    client.sent_host = Some(sent.to_owned());
    client.signed_host = Some(signed.to_owned());
    client
}

/// The error code of a POST and of a GET by `client` (`None` when accepted).
async fn codes(client: &Client) -> [Option<String>; 2] {
    let post = client.post_raw_body("ListFirmwares", LIST.as_bytes()).await;
    post.assert_envelope();
    let get = client.get("ListFirmwares", LIST_QUERY).await;
    get.assert_envelope();
    [post.code(), get.code()]
}

#[tokio::test]
async fn a_signature_over_the_host_without_its_port_is_accepted() {
    let emulator = start().await;
    let port = emulator.addr().port();
    for host in ["127.0.0.1", "iotexplorer.localhost", "[::1]", "Example.COM"] {
        let sent = format!("{host}:{port}");
        let accepted = codes(&client(&emulator, &sent, host)).await;
        assert_eq!(accepted, [None, None], "sent {sent}, signed {host}");
        // As sent still works.
        let accepted = codes(&client(&emulator, &sent, &sent)).await;
        assert_eq!(accepted, [None, None], "sent and signed {sent}");
    }

    // With temporary credentials too.
    let mut temporary = client(
        &emulator,
        &format!("iotexplorer.localhost:{port}"),
        "iotexplorer.localhost",
    );
    temporary.credentials =
        Credentials::new("AKIDTEMPORARY", "temporary-key").with_token("session-token");
    assert_eq!(codes(&temporary).await, [None, None]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_signature_over_any_other_host_is_refused() {
    let emulator = start().await;
    let port = emulator.addr().port();
    let refused = Some("AuthFailure.SignatureFailure".to_owned());
    let cases = [
        // Another name, with or without the port.
        (
            format!("iotexplorer.localhost:{port}"),
            "other.localhost".to_owned(),
        ),
        (
            format!("iotexplorer.localhost:{port}"),
            format!("other.localhost:{port}"),
        ),
        // Another port.
        (
            format!("127.0.0.1:{port}"),
            format!("127.0.0.1:{}", port ^ 1),
        ),
        (format!("127.0.0.1:{port}"), "127.0.0.1:".to_owned()),
        // Only the port is ever left out, never added or changed.
        ("127.0.0.1".to_owned(), format!("127.0.0.1:{port}")),
        (format!("127.0.0.1:{port}"), "127.0.0".to_owned()),
        // An IPv6 address is not cut at its own colons.
        ("[::1]".to_owned(), "[:".to_owned()),
        ("fe80::1".to_owned(), "fe80:".to_owned()),
        (format!("[::1]:{port}"), "[::1]:".to_owned()),
        // A name that merely ends in digits keeps them.
        ("host:x1".to_owned(), "host".to_owned()),
    ];
    for (sent, signed) in &cases {
        let answered = codes(&client(&emulator, sent, signed)).await;
        assert_eq!(
            answered,
            [refused.clone(), refused.clone()],
            "sent {sent:?}, signed {signed:?}"
        );
    }

    // The wrong key is refused whichever host it signs over.
    let mut wrong = client(&emulator, &format!("127.0.0.1:{port}"), "127.0.0.1");
    wrong.credentials = Credentials::new(iotexplorer_emulator::DEMO_SECRET_ID, "wrong-key");
    assert_eq!(codes(&wrong).await, [refused.clone(), refused.clone()]);
    wrong.signed_host = None;
    assert_eq!(codes(&wrong).await, [refused.clone(), refused]);
    emulator.shutdown().await;
}
