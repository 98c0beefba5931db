//! The real binary against servers on 127.0.0.1 that misbehave: one that never answers
//! (the whole call is bounded by `--timeout`), and answers a client cannot read (a write
//! then says it may have been processed).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use iotexplorer_model::FirmwareTaskStatus;
use support::{Outcome, run_binary};

/// Accepts connections and never says a word, holding them open.
fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Answers every request with `status`, `content_type` and `body`; counts requests.
fn answering_server(
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = Arc::clone(&counter);
            let body = Arc::clone(&body);
            std::thread::spawn(move || answer(stream, status, content_type, &body, &counter));
        }
    });
    (addr, count)
}

fn answer(stream: TcpStream, status: &str, content_type: &str, body: &[u8], count: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut request_body = vec![0u8; length];
    if reader.read_exact(&mut request_body).is_err() {
        return;
    }
    count.fetch_add(1, Ordering::SeqCst);
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    // The client may stop reading an oversized answer: a failed write is expected then.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn call(addr: SocketAddr, extra: &[&str], action: &[&str]) -> (Outcome, Duration) {
    let endpoint = format!("http://{addr}");
    let globals = [
        "--endpoint",
        endpoint.as_str(),
        "--region",
        "ap-guangzhou",
        "--secretId",
        "AKIDtest",
        "--secretKey",
        "test-key",
    ];
    let started = Instant::now();
    let outcome = run_binary(&[&globals[..], extra, action].concat(), &[], "");
    (outcome, started.elapsed())
}

const DESCRIBE: &[&str] = &[
    "DescribeFirmwareTask",
    "--ProductID",
    "ABCDE12345",
    "--FirmwareVersion",
    "2.0.0",
    "--TaskId",
    "1",
];

const UPGRADE: &[&str] = &[
    "BatchUpdateFirmware",
    "--ProductID",
    "ABCDE12345",
    "--FirmwareVersion",
    "2.0.0",
    "--DeviceNames",
    r#"["dev001"]"#,
];

#[test]
fn the_timeout_bounds_the_whole_call_retries_included() {
    let addr = silent_server();
    let (outcome, took) = call(addr, &["--timeout", "1"], DESCRIBE);
    assert!(took < Duration::from_secs(2), "took {took:?}: {outcome:?}");
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(outcome.stderr.contains("timeout"), "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty());
}

#[test]
fn attempts_can_have_their_own_timeout_within_the_call() {
    let addr = silent_server();
    let (outcome, took) = call(
        addr,
        &["--timeout", "3", "--attempt-timeout", "1"],
        DESCRIBE,
    );
    assert!(
        took < Duration::from_millis(4500),
        "took {took:?}: {outcome:?}"
    );
    assert_eq!(outcome.code, 3, "{outcome:?}");
    // A hung read was tried again within the call's deadline.
    assert!(
        !outcome.stderr.contains("after 1 attempt"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_write_with_an_unreadable_answer_may_have_been_processed() {
    let oversized = format!(
        r#"{{"Response": {{"TaskId": 1, "RequestId": "r", "Pad": "{}"}}}}"#,
        "x".repeat(11 << 20)
    );
    let cases: [(&str, &str, &str, Vec<u8>); 4] = [
        ("not JSON", "200 OK", "text/plain", b"OK, queued".to_vec()),
        (
            "an HTML 502",
            "502 Bad Gateway",
            "text/html",
            b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        ),
        (
            "truncated JSON",
            "200 OK",
            "application/json",
            br#"{"Response": {"TaskId": 10"#.to_vec(),
        ),
        (
            "oversized",
            "200 OK",
            "application/json",
            oversized.into_bytes(),
        ),
    ];
    for (case, status, content_type, body) in cases {
        let (addr, count) = answering_server(status, content_type, body);
        let (outcome, _) = call(addr, &[], UPGRADE);
        assert_eq!(outcome.code, 3, "{case}: {outcome:?}");
        assert!(
            outcome.stderr.contains("may have been processed"),
            "{case}: {}",
            outcome.stderr
        );
        assert_eq!(count.load(Ordering::SeqCst), 1, "{case}: sent once");
    }
}

/// Reads each request and closes the connection without a word; counts requests.
fn closing_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut seen = Vec::new();
            let mut buffer = [0u8; 4096];
            // The head is enough: the body of a small request comes with it.
            while !seen.windows(4).any(|window| window == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => seen.extend_from_slice(&buffer[..read]),
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, count)
}

/// Whether `text` holds a character a terminal may act on (ESC, BEL, C1's CSI, ...);
/// a line break between lines is layout.
fn holds_a_control_character(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn an_error_member_that_is_null_is_no_error() {
    let (addr, count) = answering_server(
        "200 OK",
        "application/json",
        br#"{"Response":{"TaskId":7,"Error":null,"RequestId":"r1"}}"#.to_vec(),
    );
    let (outcome, _) = call(addr, &[], UPGRADE);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let shown: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    assert_eq!(shown["TaskId"], 7, "{}", outcome.stdout);
    assert_eq!(shown["RequestId"], "r1", "{}", outcome.stdout);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_waiter_takes_a_status_sent_as_text_for_that_number() {
    // Some of Tencent's backends send numbers as strings: the wait ends at the first look.
    let running = FirmwareTaskStatus::Running.code().to_string();
    let body = serde_json::json!({"Response": {"Status": running, "RequestId": "r1"}});
    let (addr, count) =
        answering_server("200 OK", "application/json", body.to_string().into_bytes());
    let waiter = format!("{{'expr':'Status','to':{running},'timeout':5,'interval':0.1}}");
    let (outcome, _) = call(addr, &["--waiter", &waiter], DESCRIBE);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "{outcome:?}");
}

#[test]
fn text_the_server_wrote_reaches_stderr_with_its_control_characters_written_out() {
    let hostile = "r\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m";
    let error = serde_json::json!({"Response": {
        "Error": {"Code": "FailedOperation.X", "Message": format!("m{hostile}")},
        "RequestId": hostile,
    }})
    .to_string();
    let success = serde_json::json!({"Response": {
        "Status": FirmwareTaskStatus::Running, format!("New{hostile}"): 1, "RequestId": hostile,
    }})
    .to_string();
    let waiter = "{'expr':'RequestId','to':'never','timeout':0.3,'interval':0.1}";
    let cases: [(&str, &str, String, &[&str]); 5] = [
        ("an HTTP 400", "400 Bad Request", error.clone(), &[]),
        ("an API error", "200 OK", error, &[]),
        (
            "an unknown member",
            "200 OK",
            success.clone(),
            &["--warning"],
        ),
        ("a waiter", "200 OK", success.clone(), &["--waiter", waiter]),
        ("a debug", "200 OK", success, &["--debug"]),
    ];
    for (case, status, body, extra) in cases {
        let (addr, _) = answering_server(status, "application/json", body.into_bytes());
        let (outcome, _) = call(addr, extra, DESCRIBE);
        assert!(
            !holds_a_control_character(&outcome.stderr),
            "{case}: {outcome:?}"
        );
        assert!(outcome.stderr.contains("PWNED"), "{case}: {outcome:?}");
        if case == "an API error" {
            // Still JSON, for the scripts that read it, and the same text once read.
            let envelope: serde_json::Value =
                serde_json::from_str(&outcome.stderr).expect("the error envelope is JSON");
            assert_eq!(envelope["Error"]["Message"], format!("m{hostile}"));
            assert_eq!(envelope["RequestId"], hostile);
        }
    }
}

#[test]
fn text_the_server_wrote_reaches_stdout_with_its_control_characters_written_out() {
    // A device's name, a task's text or a RequestId is the service's to choose; on a
    // terminal its ESC, BEL or C1 CSI would start an escape sequence of the service's.
    let hostile = "r\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{7f}\rover";
    let body = serde_json::json!({"Response": {
        "Status": FirmwareTaskStatus::Running,
        "Percent": 20,
        "Type": hostile,
        "RequestId": hostile,
    }})
    .to_string();
    for format in ["json", "text", "table"] {
        let (addr, _) = answering_server("200 OK", "application/json", body.clone().into_bytes());
        let (outcome, _) = call(addr, &["--output", format], DESCRIBE);
        assert_eq!(outcome.code, 0, "{format}: {outcome:?}");
        // Tabs and line breaks are the text and table layouts' own.
        assert!(
            !outcome
                .stdout
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{format}: {:?}",
            outcome.stdout
        );
        assert!(outcome.stdout.contains("PWNED"), "{format}: {outcome:?}");
        if format == "json" {
            // Still JSON, and the same text once read.
            let shown: serde_json::Value =
                serde_json::from_str(&outcome.stdout).expect("the answer is JSON");
            assert_eq!(shown["Type"], hostile);
            assert_eq!(shown["RequestId"], hostile);
        } else {
            assert!(
                outcome
                    .stdout
                    .contains(r"r\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{7f}\rover"),
                "{format}: {}",
                outcome.stdout
            );
        }
    }
}

#[test]
fn a_read_whose_connection_breaks_is_not_told_to_look_for_a_task() {
    let (addr, count) = closing_server();
    let (outcome, _) = call(addr, &[], DESCRIBE);
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(
        !outcome.stderr.contains("may have been processed")
            && !outcome.stderr.contains("BatchUpdateFirmware"),
        "{}",
        outcome.stderr
    );
    assert!(count.load(Ordering::SeqCst) >= 1);
    // A write still is.
    let (addr, count) = closing_server();
    let (outcome, _) = call(addr, &[], UPGRADE);
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(
        outcome.stderr.contains("may have been processed"),
        "{}",
        outcome.stderr
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_malformed_answer_is_shown_by_a_bounded_excerpt() {
    let truncated = format!(
        r#"{{"Response": {{"TaskId": 10, "Pad": "{}"#,
        "x".repeat(4000)
    );
    for action in [DESCRIBE, UPGRADE] {
        let (addr, _) =
            answering_server("200 OK", "application/json", truncated.clone().into_bytes());
        let (outcome, _) = call(addr, &[], action);
        assert_eq!(outcome.code, 3, "{outcome:?}");
        assert!(
            outcome
                .stderr
                .contains(r#"{"Response": {"TaskId": 10, "Pad": "xxx"#),
            "{}",
            outcome.stderr
        );
        assert!(outcome.stderr.len() < 1500, "{}", outcome.stderr);
    }
}

/// The script run in a network and mount namespace of its own: loopback up, the
/// resolver pointed at `$1`'s name server on 127.0.0.1, which takes queries and never
/// answers; then the command given after, and the name server is stopped.
const SILENT_RESOLVER: &str = r#"ip link set lo up || exit 90
mount --bind "$1" /etc/resolv.conf || exit 90
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
time.sleep(30)' &
resolver=$!
sleep 0.3
shift
"$@"
code=$?
kill "$resolver" 2>/dev/null
exit "$code""#;

#[test]
#[allow(clippy::print_stderr)]
fn the_timeout_bounds_a_call_whose_name_lookup_never_answers() {
    let available = |program: &str| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if !cfg!(target_os = "linux") || !available("unshare") || !available("python3") {
        eprintln!("skipped: needs Linux, unshare and python3");
        return;
    }
    let dir = tempfile::tempdir().expect("scratch dir");
    let resolv = dir.path().join("resolv.conf");
    // The resolver's own wait, far longer than the call's timeout.
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:10 attempts:1\n",
    )
    .expect("resolv.conf");
    let started = Instant::now();
    let output = std::process::Command::new("unshare")
        .args(["--mount", "--net", "sh", "-c", SILENT_RESOLVER, "sh"])
        .arg(&resolv)
        .arg(env!("CARGO_BIN_EXE_iotexplorer"))
        .args([
            "--endpoint",
            "https://iotexplorer.lookup-never-answers.test",
        ])
        .args([
            "--secretId",
            "AKIDLOOKUPTEST",
            "--secretKey",
            "lookup-test-key",
        ])
        .args(["--timeout", "2", "--region", "ap-guangzhou"])
        .args(["DescribeFirmware", "--ProductID", "ABCDE12345"])
        .args(["--FirmwareVersion", "1.0.0"])
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .output()
        .expect("run unshare");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(90) || stderr.contains("unshare:") {
        eprintln!("skipped: no namespace could be made here ({stderr})");
        return;
    }
    if !stderr.contains("timeout") {
        // Names resolved elsewhere than by the name server in resolv.conf (a local
        // resolver service over a socket): the lookup failed at once instead of hanging.
        eprintln!("skipped: the name lookup did not hang here ({stderr})");
        return;
    }
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        took < Duration::from_secs(6),
        "a 2 s timeout took {took:?}: {stderr}"
    );
}
