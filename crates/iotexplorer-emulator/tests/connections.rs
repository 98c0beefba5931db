//! Clients that hold the server without using it: slow heads, stalled bodies, idle
//! connections, more connections than allowed, large bodies nobody signed. Each test
//! uses real TCP connections to a real emulator and is bounded in time.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use iotexplorer_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use support::{Client, Reply};
use tc3_sign::Credentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any single wait in these tests may take before the test fails.
const BOUND: Duration = Duration::from_secs(8);
const LIST: &str = r#"{"PageNum":1,"PageSize":10,"ProductID":"ABCDE12345"}"#;

fn builder() -> EmulatorBuilder {
    Emulator::builder().rate_limit(0)
}

async fn start(builder: EmulatorBuilder) -> RunningEmulator {
    builder.start("127.0.0.1:0").await.expect("start")
}

/// A request head without `Connection: close`, declaring `length` body bytes.
fn head(method: &str, headers: &[(String, String)], length: usize) -> Vec<u8> {
    let mut text = format!("{method} / HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    text.into_bytes()
}

/// Reads one response (head and a `Content-Length` body); `None` on EOF or reset first.
async fn read_reply(stream: &mut TcpStream) -> Option<Reply> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        if let Some(split) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..split]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if received.len() >= split + 4 + length {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                return Some(Reply {
                    status,
                    head,
                    body: received[split + 4..split + 4 + length].to_vec(),
                });
            }
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Waits until the server closes `stream`; how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
    started.elapsed()
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn heads_that_never_end_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(400);
    let emulator = start(builder().header_timeout(timeout)).await;
    let addr = emulator.addr();
    let mut silent_after_a_line = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(addr).await;
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        silent_after_a_line.push(stream);
    }
    // One that keeps sending a byte at a time: the timeout runs from the first byte.
    let mut dripping = connect(addr).await;
    let drip = tokio::spawn(async move {
        let mut written = 0;
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            .iter()
            .cycle()
            .take(200)
        {
            if dripping.write_all(&[*byte]).await.is_err() {
                return (written, dripping);
            }
            written += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (written, dripping)
    });
    eventually("21 connections are open", || {
        emulator.open_connections() == 21
    })
    .await;
    for stream in &mut silent_after_a_line {
        let waited = closed_after(stream).await;
        assert!(waited < BOUND, "{waited:?}");
    }
    let (written, _dripping) = drip.await.expect("drip");
    assert!(written < 100, "a dripping head got {written} bytes in");
    eventually("every connection is closed", || {
        emulator.open_connections() == 0
    })
    .await;
    // The server serves on.
    Client::demo(addr)
        .post_raw_body("ListFirmwares", LIST.as_bytes())
        .await
        .ok();
    emulator.shutdown().await;
}

/// A signed `ListFirmwares`, head and body, as sent on a kept connection.
fn signed_list_firmwares(client: &Client) -> Vec<u8> {
    let headers = client.headers("POST", "ListFirmwares", "", LIST.as_bytes());
    let mut request = head("POST", &headers, LIST.len());
    request.extend_from_slice(LIST.as_bytes());
    request
}

/// A signed `ListFirmwares` on `stream`, answered with success.
async fn list_firmwares_on(client: &Client, stream: &mut TcpStream) {
    stream
        .write_all(&signed_list_firmwares(client))
        .await
        .expect("write");
    read_reply(stream).await.expect("an answer").ok();
}

/// Waits until the server closes `stream`, which must not come sooner than `at_least`.
async fn closed_no_sooner_than(stream: &mut TcpStream, at_least: Duration) {
    let waited = closed_after(stream).await;
    assert!(waited >= at_least, "closed too early: {waited:?}");
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let timeout = Duration::from_millis(400);
    let emulator = start(builder().idle_timeout(timeout)).await;
    let addr = emulator.addr();
    let client = Client::demo(addr);

    // Never sends a byte.
    let mut silent = connect(addr).await;
    closed_no_sooner_than(&mut silent, timeout / 2).await;

    // Kept alive after an answer, then idle.
    let mut kept = connect(addr).await;
    for _ in 0..3 {
        list_firmwares_on(&client, &mut kept).await;
        // Shorter pauses than the timeout keep the connection.
        tokio::time::sleep(timeout / 4).await;
    }
    closed_no_sooner_than(&mut kept, timeout / 2).await;
    emulator.shutdown().await;
}

/// A request that takes longer than the idle timeout keeps its connection: the idle
/// time counts from its answer, not from the one before it.
#[tokio::test]
async fn a_request_longer_than_the_idle_timeout_keeps_its_connection() {
    let timeout = Duration::from_millis(400);
    let emulator = start(builder().idle_timeout(timeout)).await;
    emulator.faults().push(
        iotexplorer_emulator::FaultRule::new(iotexplorer_emulator::FaultKind::Delay { ms: 700 })
            .for_action("ListFirmwares")
            .times(1),
    );
    let client = Client::demo(emulator.addr());
    let mut kept = connect(emulator.addr()).await;
    for _ in 0..2 {
        // The first answer comes after 700 ms, past the idle timeout.
        list_firmwares_on(&client, &mut kept).await;
    }
    closed_no_sooner_than(&mut kept, timeout / 2).await;
    emulator.shutdown().await;
}

/// A head begun shortly before the idle timeout runs out has the whole header timeout to
/// end, counted from its first byte: once that is in, the connection is no longer idle.
#[tokio::test]
async fn a_head_begun_as_the_idle_time_runs_out_gets_the_whole_header_timeout() {
    let idle = Duration::from_millis(800);
    let header = Duration::from_millis(1_300);
    let emulator = start(builder().idle_timeout(idle).header_timeout(header)).await;
    let request = signed_list_firmwares(&Client::demo(emulator.addr()));
    let (first, rest) = request.split_at(10);

    let mut stream = connect(emulator.addr()).await;
    tokio::time::sleep(idle / 2).await;
    stream.write_all(first).await.expect("write");
    // The rest comes after the idle timeout would have run out, and after the header
    // timeout counted from the connection's start; within it counted from the first byte.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stream.write_all(rest).await.expect("write");
    read_reply(&mut stream)
        .await
        .expect("an answer on the same connection")
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    let timeout = Duration::from_millis(400);
    let emulator = start(builder().body_timeout(timeout)).await;
    let addr = emulator.addr();
    let client = Client::demo(addr);
    let body = format!(
        r#"{{"PageNum":1,"PageSize":10,"ProductID":"{}"}}"#,
        "x".repeat(900)
    );

    // Sends a tenth of the body, then nothing.
    let mut stalled = connect(addr).await;
    let headers = client.headers("POST", "ListFirmwares", "", body.as_bytes());
    stalled
        .write_all(&head("POST", &headers, body.len()))
        .await
        .expect("write");
    stalled
        .write_all(&body.as_bytes()[..body.len() / 10])
        .await
        .expect("write");
    let started = Instant::now();
    let reply = tokio::time::timeout(BOUND, read_reply(&mut stalled))
        .await
        .expect("an answer in time")
        .expect("an answer");
    assert_eq!(reply.status, 408, "{reply:?}");
    assert!(started.elapsed() >= timeout / 2);
    closed_after(&mut stalled).await;

    // Sends a byte every 20 ms: the deadline covers the whole body.
    let mut dripping = connect(addr).await;
    dripping
        .write_all(&head("POST", &headers, body.len()))
        .await
        .expect("write");
    let (mut reader, mut writer) = dripping.into_split();
    let bytes = body.clone().into_bytes();
    let drip = tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut received = Vec::new();
    tokio::time::timeout(BOUND, reader.read_to_end(&mut received))
        .await
        .expect("an answer in time")
        .ok();
    drip.abort();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    client
        .post_raw_body("ListFirmwares", LIST.as_bytes())
        .await
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn over_the_cap_a_client_is_served_once_slow_connections_time_out() {
    let header_timeout = Duration::from_millis(600);
    let emulator = start(builder().max_connections(4).header_timeout(header_timeout)).await;
    let addr = emulator.addr();
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut stream = connect(addr).await;
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }
    eventually("the cap is reached", || emulator.open_connections() == 4).await;
    let started = Instant::now();
    let client = Client::demo(addr);
    let reply = tokio::time::timeout(
        BOUND * 2,
        client.post_raw_body("ListFirmwares", LIST.as_bytes()),
    )
    .await
    .expect("served in time");
    reply.ok();
    // It waited for slots held by slow heads (12 of them, 4 at a time) to free.
    assert!(
        started.elapsed() >= header_timeout / 2,
        "served at once: the cap is not in force"
    );
    assert!(emulator.open_connections() <= 4);
    emulator.shutdown().await;
}

#[tokio::test]
async fn at_the_cap_idle_connections_make_room_at_once() {
    let emulator = start(
        builder()
            .max_connections(4)
            .idle_timeout(Duration::from_secs(60)),
    )
    .await;
    let addr = emulator.addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(addr).await);
    }
    eventually("the cap is reached", || emulator.open_connections() == 4).await;
    let client = Client::demo(addr);
    let started = Instant::now();
    for _ in 0..3 {
        let reply = tokio::time::timeout(
            BOUND,
            client.post_raw_body("ListFirmwares", LIST.as_bytes()),
        )
        .await
        .expect("served in time");
        reply.ok();
    }
    // Long before the idle timeout: idle connections were closed to make room.
    assert!(started.elapsed() < Duration::from_secs(30));
    let mut closed = 0;
    for stream in &mut idle {
        let mut buffer = [0u8; 16];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection made room");
    emulator.shutdown().await;
}

/// Sends a head declaring a 9 MiB body and 64 KiB of it, then waits for the answer.
async fn large_body_answer(addr: SocketAddr, headers: Vec<(String, String)>) -> Reply {
    const DECLARED: usize = 9 * 1024 * 1024;
    let mut stream = connect(addr).await;
    stream
        .write_all(&head("POST", &headers, DECLARED))
        .await
        .expect("write");
    // The server may answer and close before even this much is taken.
    let _ = stream.write_all(&vec![b'x'; 64 * 1024]).await;
    tokio::time::timeout(BOUND, read_reply(&mut stream))
        .await
        .expect("an answer while most of the body was never sent")
        .expect("an answer")
}

#[tokio::test]
async fn large_bodies_nobody_may_send_are_refused_before_they_are_read() {
    let emulator = start(builder()).await;
    let addr = emulator.addr();
    let client = Client::demo(addr);
    let with_auth = |auth: Option<&str>| {
        let mut headers = vec![
            ("Host".to_owned(), addr.to_string()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-TC-Action".to_owned(), "ListFirmwares".to_owned()),
        ];
        if let Some(auth) = auth {
            headers.push(("Authorization".to_owned(), auth.to_owned()));
        }
        headers
    };
    let mut unknown = Client::new(addr, Credentials::new("AKIDUNKNOWN", "whatever"));
    unknown.unsigned = true;
    let mut late = Client::demo(addr);
    late.unsigned = true;
    late.clock_offset = -3600;
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (with_auth(None), "AuthFailure.InvalidAuthorization"),
        (
            with_auth(Some("TC3-HMAC-SHA256 garbage")),
            "AuthFailure.InvalidAuthorization",
        ),
        (
            unknown.headers("POST", "ListFirmwares", "", b""),
            "AuthFailure.SecretIdNotFound",
        ),
        (
            late.headers("POST", "ListFirmwares", "", b""),
            "AuthFailure.SignatureExpire",
        ),
    ];
    // 60 at once, as the attack that once took 565 MB.
    let mut answers = Vec::new();
    for round in 0..15 {
        for (headers, code) in &cases {
            let headers = headers.clone();
            let code = (*code).to_owned();
            answers.push(tokio::spawn(async move {
                let reply = large_body_answer(addr, headers).await;
                (round, reply, code)
            }));
        }
    }
    for answer in answers {
        let (round, reply, code) = answer.await.expect("task");
        reply.assert_envelope();
        assert_eq!(
            reply.code().as_deref(),
            Some(code.as_str()),
            "round {round}"
        );
    }
    assert_eq!(emulator.peak_reserved_body_bytes(), 0, "a body was read");
    assert_eq!(emulator.buffered_body_bytes(), 0);
    client
        .post_raw_body("ListFirmwares", LIST.as_bytes())
        .await
        .ok();
    emulator.shutdown().await;
}

#[tokio::test]
async fn bodies_in_flight_stay_within_the_byte_budget() {
    const BODY: usize = 400 * 1024;
    const BUDGET: usize = 1024 * 1024;
    let body_timeout = Duration::from_millis(1500);
    let emulator = start(
        builder()
            .max_body_bytes(BODY)
            .max_buffered_bytes(BUDGET)
            .body_timeout(body_timeout),
    )
    .await;
    let addr = emulator.addr();
    let client = Client::demo(addr);
    let padding = "x".repeat(BODY - LIST.len() - 20);
    let body = format!(r#"{{"PageNum":1,"PageSize":10,"ProductID":"{padding}"}}"#);
    assert!(body.len() <= BODY);

    // Two signed uploads take 800 KiB of room and stall half way.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(addr).await;
        let headers = client.headers("POST", "ListFirmwares", "", body.as_bytes());
        stream
            .write_all(&head("POST", &headers, body.len()))
            .await
            .expect("write");
        stream
            .write_all(&body.as_bytes()[..body.len() / 2])
            .await
            .expect("write");
        stalled.push(stream);
    }
    eventually("two bodies hold room", || {
        emulator.peak_reserved_body_bytes() >= 2 * body.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A third does not fit: it waits until the stalled ones give their room back.
    let started = Instant::now();
    let reply = tokio::time::timeout(
        BOUND,
        client.post_raw_body("ListFirmwares", body.as_bytes()),
    )
    .await
    .expect("answered in time");
    reply.assert_envelope();
    assert!(
        started.elapsed() >= body_timeout / 2,
        "it did not wait for room"
    );
    for stream in &mut stalled {
        let reply = tokio::time::timeout(BOUND, read_reply(stream))
            .await
            .expect("an answer in time")
            .expect("an answer");
        assert_eq!(reply.status, 408);
    }
    assert!(emulator.peak_reserved_body_bytes() <= BUDGET);
    assert_eq!(emulator.buffered_body_bytes(), 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn limits_that_cannot_work_are_refused_at_start() {
    let error = builder()
        .max_body_bytes(2048)
        .max_buffered_bytes(1024)
        .start("127.0.0.1:0")
        .await
        .expect_err("a budget below one body");
    assert!(error.to_string().contains("max_buffered_bytes"), "{error}");
    let error = builder()
        .max_connections(0)
        .start("127.0.0.1:0")
        .await
        .expect_err("no connections");
    assert!(error.to_string().contains("max_connections"), "{error}");
    let error = builder()
        .header_timeout(Duration::ZERO)
        .start("127.0.0.1:0")
        .await
        .expect_err("zero timeout");
    assert!(error.to_string().contains("header_timeout"), "{error}");
}
