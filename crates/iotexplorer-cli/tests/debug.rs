//! `--debug` prints the very requests the client sent, one per attempt, compared with what a
//! real server on 127.0.0.1 received.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::run_binary;

/// One request as the server read it: lower-case header names.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// A server answering each connection's one request: throttled first, after a pause that
/// puts the retry in a later second; then a created task.
fn start_server() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            loop {
                line.clear();
                reader.read_line(&mut line).expect("header");
                let text = line.trim_end();
                if text.is_empty() {
                    break;
                }
                let (name, value) = text.split_once(':').expect("a header");
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .map_or(0, |(_, value)| value.parse().expect("length"));
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let count = {
                let mut log = log.lock().expect("lock");
                log.push(Received {
                    headers,
                    body: String::from_utf8(body).expect("UTF-8"),
                });
                log.len()
            };
            let answer = if count == 1 {
                std::thread::sleep(Duration::from_millis(1100));
                r#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"slow down"},"RequestId":"r-1"}}"#
            } else {
                r#"{"Response":{"TaskId":1000696,"RequestId":"r-2"}}"#
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, received)
}

/// The JSON objects printed after each `request:` line.
fn printed_requests(stderr: &str) -> Vec<Value> {
    stderr
        .split("request:\n")
        .skip(1)
        .map(|rest| {
            serde_json::Deserializer::from_str(rest)
                .into_iter::<Value>()
                .next()
                .expect("a request")
                .expect("JSON")
        })
        .collect()
}

#[test]
fn debug_prints_each_attempt_exactly_as_the_server_received_it() {
    let (url, received) = start_server();
    let outcome = run_binary(
        &[
            "--endpoint",
            &url,
            "--region",
            "ap-guangzhou",
            "--debug",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev001"]"#,
        ],
        &[
            ("TENCENTCLOUD_SECRET_ID", "AKIDdebug0123456789"),
            ("TENCENTCLOUD_SECRET_KEY", "debug-secret-key"),
            ("TENCENTCLOUD_SESSION_TOKEN", "debug-session-token"),
        ],
        "",
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let received = received.lock().expect("lock").clone();
    let printed = printed_requests(&outcome.stderr);
    // Throttled once, then created: two attempts, two requests printed.
    assert_eq!(received.len(), 2, "{outcome:?}");
    assert_eq!(printed.len(), received.len(), "{}", outcome.stderr);
    assert_ne!(
        received[0].header("x-tc-timestamp"),
        received[1].header("x-tc-timestamp"),
        "the retry was signed anew"
    );
    for (shown, sent) in printed.iter().zip(&received) {
        let header = |name: &str| {
            shown["Headers"][name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} not printed: {shown}"))
                .to_owned()
        };
        for name in [
            "x-tc-timestamp",
            "x-tc-action",
            "x-tc-version",
            "x-tc-region",
            "content-type",
            "host",
        ] {
            assert_eq!(header(name), sent.header(name), "{name}");
        }
        // Everything of the signature but its value: scope, day, signed headers.
        let authorization = header("authorization");
        let (shown_head, mask) = authorization.split_once("Signature=").expect("signature");
        assert_eq!(mask, "** redacted **");
        let (sent_head, signature) = sent
            .header("authorization")
            .split_once("Signature=")
            .expect("signature");
        assert_eq!(shown_head, sent_head);
        assert_eq!(signature.len(), 64);
        assert_eq!(header("x-tc-token"), "** redacted **");
        assert_eq!(sent.header("x-tc-token"), "debug-session-token");
        assert_eq!(shown["Body"].as_str(), Some(sent.body.as_str()));
    }
    for secret in ["debug-secret-key", "debug-session-token"] {
        assert!(!outcome.stderr.contains(secret) && !outcome.stdout.contains(secret));
    }
}
