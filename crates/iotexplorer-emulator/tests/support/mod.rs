//! A tiny signed-request client over raw TCP, so tests see exactly what goes on the wire.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use serde_json::Value;
use tc3_sign::{
    CONTENT_TYPE_FORM, CONTENT_TYPE_JSON, Credentials, Payload, SignableRequest, SigningParams,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const VERSION: &str = "2019-04-23";

/// A directory of its own under the system's temporary directory, removed with everything
/// in it when dropped.
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("emulator-{label}-"))
        .tempdir()
        .expect("create a temporary directory")
}

/// The address a started emulator binary prints as the first line of its standard output.
pub fn listening_address(child: &mut std::process::Child) -> SocketAddr {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a line");
    line.trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .expect("an address")
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `Response` object.
    pub fn response(&self) -> Value {
        self.json()["Response"].clone()
    }

    /// The error code, if the answer is an error envelope.
    pub fn code(&self) -> Option<String> {
        self.response()["Error"]["Code"].as_str().map(str::to_owned)
    }

    /// Asserts a success and returns the `Response` object.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.code(), None, "{}", String::from_utf8_lossy(&self.body));
        self.response()
    }

    /// Asserts a well-formed Tencent envelope: HTTP 200, a RequestId, success or error.
    pub fn assert_envelope(&self) {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        let response = self.response();
        let id = response["RequestId"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "{response}");
        if let Some(error) = response.get("Error") {
            assert!(error["Code"].is_string() && error["Message"].is_string());
        }
    }
}

/// Sends raw bytes; `None` when the server closed without answering.
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> Option<Reply> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.ok()?;
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    if received.is_empty() {
        return None;
    }
    let split = received.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Reply {
        status,
        head,
        body: received[split + 4..].to_vec(),
    })
}

/// Builds an HTTP/1.1 request text.
pub fn http_text(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut text = format!("{method} {target} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A client for one emulator with one key pair.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub credentials: Credentials,
    pub region: Option<String>,
    pub version: String,
    pub clock_offset: i64,
    pub unsigned: bool,
    /// The `Host` header sent, when not the emulator's address.
    pub sent_host: Option<String>,
    /// The host signed over, when not the `Host` sent.
    pub signed_host: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr, credentials: Credentials) -> Self {
        Self {
            addr,
            credentials,
            region: Some("ap-guangzhou".to_owned()),
            version: VERSION.to_owned(),
            clock_offset: 0,
            unsigned: false,
            sent_host: None,
            signed_host: None,
        }
    }

    pub fn demo(addr: SocketAddr) -> Self {
        Self::new(
            addr,
            Credentials::new(
                iotexplorer_emulator::DEMO_SECRET_ID,
                iotexplorer_emulator::DEMO_SECRET_KEY,
            ),
        )
    }

    /// The `Host` header sent.
    pub fn host(&self) -> String {
        self.sent_host
            .clone()
            .unwrap_or_else(|| self.addr.to_string())
    }

    /// The headers of a signed request (Host and Content-Type included).
    pub fn headers(
        &self,
        method: &str,
        action: &str,
        query: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let host = self.host();
        let signed_host = self.signed_host.clone().unwrap_or_else(|| host.clone());
        let content_type = if method == "GET" {
            CONTENT_TYPE_FORM
        } else {
            CONTENT_TYPE_JSON
        };
        let payload = if self.unsigned {
            Payload::Unsigned
        } else {
            Payload::Bytes(body)
        };
        let request =
            SignableRequest::new(method, &signed_host, content_type, payload).with_query(query);
        let timestamp = now() + self.clock_offset;
        let signed = tc3_sign::sign(
            &request,
            &SigningParams::new(&self.credentials, "iotexplorer", timestamp),
        )
        .expect("sign");
        let mut headers = vec![
            ("Host".to_owned(), host),
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("X-TC-Action".to_owned(), action.to_owned()),
            ("X-TC-Version".to_owned(), self.version.clone()),
        ];
        if let Some(region) = &self.region {
            headers.push(("X-TC-Region".to_owned(), region.clone()));
        }
        for (name, value) in signed.headers() {
            headers.push((name.to_owned(), value));
        }
        headers
    }

    pub fn post_bytes(&self, action: &str, body: &[u8]) -> Vec<u8> {
        http_text("POST", "/", &self.headers("POST", action, "", body), body)
    }

    pub async fn post(&self, action: &str, body: &Value) -> Reply {
        let body = body.to_string();
        self.post_raw_body(action, body.as_bytes()).await
    }

    pub async fn post_raw_body(&self, action: &str, body: &[u8]) -> Reply {
        send_raw(self.addr, &self.post_bytes(action, body))
            .await
            .expect("an answer")
    }

    /// `query` is sent and signed exactly as given.
    pub async fn get(&self, action: &str, query: &str) -> Reply {
        let target = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        };
        let bytes = http_text(
            "GET",
            &target,
            &self.headers("GET", action, query, b""),
            b"",
        );
        send_raw(self.addr, &bytes).await.expect("an answer")
    }
}
