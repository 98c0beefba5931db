//! Resident memory of the real `iotexplorer-emulator` process while 60 clients each send
//! 9 MiB of a body and then wait with their connection open.
//!
//! `cargo bench -p iotexplorer-emulator --bench held_bodies` runs the binary built with
//! it; set `EMULATOR_BIN=/path/to/iotexplorer-emulator` to measure another build, and
//! `EMULATOR_ARGS` to pass it more flags (only `--listen` and `--rate-limit` are passed
//! otherwise, so older builds work too). Two senders:
//!
//! - *unsigned*: no `Authorization` at all, as anyone on the network could send;
//! - *signed, unsigned payload*: valid credentials with `UNSIGNED-PAYLOAD`, so the server
//!   has to read every body; the shared byte budget bounds what it holds at once.
//!
//! and two shapes: *held*, where each declares 10 MiB (the largest accepted) and never
//! sends the last MiB, so the server holds bodies it cannot finish; and *whole*, where
//! each sends all of a 9 MiB body.
//!
//! Figures come from `/proc/PID/status` (`VmRSS`, and `VmHWM`, the peak) of the server.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tc3_sign::{CONTENT_TYPE_JSON, Credentials, Payload, SignableRequest, SigningParams};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CLIENTS: usize = 60;
/// What each client sends of its body.
const SENT: usize = 9 * 1024 * 1024;
/// What a client that holds its body declares.
const DECLARED_HELD: usize = 10 * 1024 * 1024;
/// How long the clients keep their connections open once they sent what they send.
const HOLD: Duration = Duration::from_secs(3);
/// The longest a client keeps trying to send its body.
const SEND_LIMIT: Duration = Duration::from_secs(60);

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn start() -> (Child, String) {
    let binary = std::env::var("EMULATOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_iotexplorer-emulator").to_owned());
    let extra = std::env::var("EMULATOR_ARGS").unwrap_or_default();
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .args(extra.split_whitespace())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    (child, address)
}

fn head(host: &str, signed: bool, declared: usize) -> Vec<u8> {
    let mut text = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: {CONTENT_TYPE_JSON}\r\n\
         X-TC-Action: ListFirmwares\r\nX-TC-Version: 2019-04-23\r\nX-TC-Region: ap-guangzhou\r\n\
         Content-Length: {declared}\r\n"
    );
    if signed {
        let credentials = Credentials::new(
            iotexplorer_emulator::DEMO_SECRET_ID,
            iotexplorer_emulator::DEMO_SECRET_KEY,
        );
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let output = tc3_sign::sign(
            &SignableRequest::new("POST", host, CONTENT_TYPE_JSON, Payload::Unsigned),
            &SigningParams::new(&credentials, "iotexplorer", now),
        )
        .unwrap();
        for (name, value) in output.headers() {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Sends the head and as much of the 9 MiB as the server takes; true if all of it.
async fn send(
    host: String,
    signed: bool,
    declared: usize,
    body: Arc<Vec<u8>>,
) -> (bool, Option<TcpStream>) {
    let Ok(mut stream) = TcpStream::connect(&host).await else {
        return (false, None);
    };
    if stream
        .write_all(&head(&host, signed, declared))
        .await
        .is_err()
    {
        return (false, Some(stream));
    }
    let sent = tokio::time::timeout(SEND_LIMIT, stream.write_all(&body)).await;
    (matches!(sent, Ok(Ok(()))), Some(stream))
}

async fn load(signed: bool, held: bool) {
    let declared = if held { DECLARED_HELD } else { SENT };
    let (mut child, host) = start();
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = status_kib(pid, "VmRSS:");

    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        let peak = Arc::clone(&peak);
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                peak.fetch_max(status_kib(pid, "VmRSS:"), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let body = Arc::new(vec![b'x'; SENT]);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(send(host.clone(), signed, declared, Arc::clone(&body))))
        .collect();
    let mut complete = 0;
    let mut streams = Vec::new();
    for client in clients {
        let (all_sent, stream) = client.await.unwrap();
        complete += usize::from(all_sent);
        streams.extend(stream);
    }
    let sent_in = started.elapsed();
    // The clients wait with their connections open.
    tokio::time::sleep(HOLD).await;
    let holding = status_kib(pid, "VmRSS:");
    drop(streams);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = status_kib(pid, "VmRSS:");
    let high_water = status_kib(pid, "VmHWM:");
    sampling.store(false, Ordering::SeqCst);
    sampler.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "{}, {}: {CLIENTS} clients x {} of {} MiB ({complete} sent in full, {:.1} s): VmRSS \
         idle {}, peak {}, holding {}, 1 s after close {}; VmHWM {}",
        if signed {
            "signed, unsigned payload"
        } else {
            "unsigned"
        },
        if held { "held" } else { "whole" },
        SENT / 1024 / 1024,
        declared / 1024 / 1024,
        sent_in.as_secs_f64(),
        mib(idle),
        mib(peak.load(Ordering::SeqCst)),
        mib(holding),
        mib(after),
        mib(high_water),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for held in [true, false] {
        for signed in [false, true] {
            runtime.block_on(load(signed, held));
        }
    }
}
