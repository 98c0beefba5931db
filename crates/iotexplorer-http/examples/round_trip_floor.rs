//! The floor under sequential calls on this machine, for `scripts/bench-vs-python-sdk.sh`:
//! how many request/answer round trips per second two processes can make over
//! 127.0.0.1 with nothing but the transport in the way.
//!
//! ```text
//! round_trip_floor tcp|hyper SECONDS [REQUEST_BYTES ANSWER_BYTES]
//! ```
//!
//! - `tcp`: blocking std sockets, one `write` of `REQUEST_BYTES` and one of
//!   `ANSWER_BYTES` per round trip, no HTTP at all;
//! - `hyper`: a bare hyper 1 HTTP/1.1 client against a bare hyper 1 server over
//!   keep-alive, a POST whose head and body together are about `REQUEST_BYTES` and an
//!   answer of about `ANSWER_BYTES`; no signing, no JSON, both on a current-thread tokio
//!   runtime as the emulator and `sequential_calls` are.
//!
//! The server is this same program started again as a child process (`tcp-server` or
//! `hyper-server`). Prints the round trips per second, then the processor time per round
//! trip of the client and of the server, in microseconds (from `/proc`; `-` elsewhere).
//! The defaults, 550 and 300 bytes, are about what a call of `sequential_calls` sends and
//! gets (513 and 349 bytes for `DescribeFirmware`, 568 and 190 for `BatchUpdateFirmware`).

#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const DEFAULT_REQUEST_BYTES: usize = 550;
const DEFAULT_ANSWER_BYTES: usize = 300;
/// What hyper writes of a request head besides the padding header: request line, host,
/// content-type, content-length and the padding header's name.
const REQUEST_HEAD_BYTES: usize = 110;
/// What hyper writes of an answer head: status line, content-type, content-length, date.
const ANSWER_HEAD_BYTES: usize = 110;
/// Round trips before the clock starts: connection set up, buffers grown, code paged in.
const WARM_UP: u32 = 200;
/// What a server prints before its address, as the emulator does.
const LISTENING: &str = "listening on ";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the client measured.
struct Measured {
    round_trips: u64,
    took: Duration,
    client_cpu: Option<Duration>,
    server_cpu: Option<Duration>,
}

/// The processor time (user and system) of process `pid` (`self` for this one) so far.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports these in USER_HZ, 100 per second on every common platform.
    Some(Duration::from_millis(ticks * 10))
}

/// A server child process: this program in `mode`, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(mode: &str, request_bytes: usize, answer_bytes: usize) -> Result<Self, Failure> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([mode, &request_bytes.to_string(), &answer_bytes.to_string()])
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the server has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line
            .trim()
            .strip_prefix(LISTENING)
            .ok_or_else(|| format!("the server said {line:?}"))?
            .to_owned();
        Ok(Self { child, address })
    }

    fn cpu_time(&self) -> Option<Duration> {
        cpu_time(&self.child.id().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Binds a free port on 127.0.0.1 and says where, for the client that started us.
fn announce() -> Result<TcpListener, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("{LISTENING}{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    Ok(listener)
}

/// Answers every `request_bytes` read with `answer_bytes`, one connection at a time.
fn tcp_server(request_bytes: usize, answer_bytes: usize) -> Result<(), Failure> {
    let listener = announce()?;
    let answer = vec![b'a'; answer_bytes];
    let mut request = vec![0u8; request_bytes];
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        while stream.read_exact(&mut request).is_ok() {
            stream.write_all(&answer)?;
        }
    }
    Ok(())
}

fn tcp_client(
    seconds: f64,
    request_bytes: usize,
    answer_bytes: usize,
) -> Result<Measured, Failure> {
    let server = Server::start("tcp-server", request_bytes, answer_bytes)?;
    let mut stream = TcpStream::connect(&server.address)?;
    stream.set_nodelay(true)?;
    let request = vec![b'r'; request_bytes];
    let mut answer = vec![0u8; answer_bytes];
    let mut round_trip = |stream: &mut TcpStream| -> std::io::Result<()> {
        stream.write_all(&request)?;
        stream.read_exact(&mut answer)
    };
    for _ in 0..WARM_UP {
        round_trip(&mut stream)?;
    }
    let clock = Clock::start(&server);
    let mut round_trips = 0u64;
    while clock.is_running(seconds) {
        round_trip(&mut stream)?;
        round_trips += 1;
    }
    Ok(clock.stop(round_trips, &server))
}

/// The clocks of one measured run: wall time and both processes' processor time.
struct Clock {
    started: Instant,
    client_before: Option<Duration>,
    server_before: Option<Duration>,
}

impl Clock {
    fn start(server: &Server) -> Self {
        Self {
            client_before: cpu_time("self"),
            server_before: server.cpu_time(),
            started: Instant::now(),
        }
    }

    fn is_running(&self, seconds: f64) -> bool {
        self.started.elapsed() < Duration::from_secs_f64(seconds)
    }

    fn stop(self, round_trips: u64, server: &Server) -> Measured {
        let took = self.started.elapsed();
        let spent = |after: Option<Duration>, before: Option<Duration>| {
            after.zip(before).map(|(after, before)| after - before)
        };
        Measured {
            round_trips,
            took,
            client_cpu: spent(cpu_time("self"), self.client_before),
            server_cpu: spent(server.cpu_time(), self.server_before),
        }
    }
}

fn current_thread_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A hyper 1 HTTP/1.1 server answering every request, once its body is in, with
/// `answer_bytes` of body (less the head hyper writes).
fn hyper_server(answer_bytes: usize) -> Result<(), Failure> {
    let listener = announce()?;
    listener.set_nonblocking(true)?;
    let answer = Bytes::from(vec![
        b'a';
        answer_bytes.saturating_sub(ANSWER_HEAD_BYTES).max(1)
    ]);
    current_thread_runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            let answer = answer.clone();
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let answer = answer.clone();
                    async move {
                        // Read the body, as any server of an API must.
                        let _body = request.into_body().collect().await?.to_bytes();
                        let mut response = Response::new(Full::new(answer));
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, hyper::Error>(response)
                    }
                });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn hyper_client(
    seconds: f64,
    request_bytes: usize,
    answer_bytes: usize,
) -> Result<Measured, Failure> {
    let server = Server::start("hyper-server", request_bytes, answer_bytes)?;
    // A signed call's head is most of it (the Authorization alone is about 200 bytes):
    // a sixth goes to the body, and a padding header makes up the head beside the
    // request line, host, content-type and content-length hyper writes.
    let body_bytes = (request_bytes / 6).max(1);
    let padding = "p".repeat(
        request_bytes
            .saturating_sub(body_bytes + REQUEST_HEAD_BYTES)
            .max(1),
    );
    let body = Bytes::from(vec![b'b'; body_bytes]);
    let runtime = current_thread_runtime()?;
    // A task of the runtime, as in `sequential_calls`: a woken `block_on` future would
    // cost an extra poll of the I/O driver per round trip.
    let round_trips = runtime.spawn(async move {
        let stream = tokio::net::TcpStream::connect(&server.address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut round_trip = async || -> Result<(), Failure> {
            let request = Request::post("/")
                .header(hyper::header::HOST, server.address.as_str())
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .header("x-padding", padding.as_str())
                .body(Full::new(body.clone()))?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            response.into_body().collect().await?;
            Ok(())
        };
        for _ in 0..WARM_UP {
            round_trip().await?;
        }
        let clock = Clock::start(&server);
        let mut round_trips = 0u64;
        while clock.is_running(seconds) {
            round_trip().await?;
            round_trips += 1;
        }
        Ok(clock.stop(round_trips, &server))
    });
    runtime.block_on(round_trips)?
}

fn usage() -> ExitCode {
    eprintln!("usage: round_trip_floor tcp|hyper SECONDS [REQUEST_BYTES ANSWER_BYTES]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        return usage();
    };
    let sizes = |at: usize| -> Option<(usize, usize)> {
        match (args.get(at), args.get(at + 1)) {
            (None, None) => Some((DEFAULT_REQUEST_BYTES, DEFAULT_ANSWER_BYTES)),
            (Some(request), Some(answer)) => Some((request.parse().ok()?, answer.parse().ok()?)),
            _ => None,
        }
    };
    let outcome: Result<Option<Measured>, Failure> = match mode.as_str() {
        "tcp-server" | "hyper-server" => {
            let Some((request_bytes, answer_bytes)) = sizes(1) else {
                return usage();
            };
            if mode == "tcp-server" {
                tcp_server(request_bytes, answer_bytes).map(|()| None)
            } else {
                hyper_server(answer_bytes).map(|()| None)
            }
        }
        "tcp" | "hyper" => {
            let (Some(seconds), Some((request_bytes, answer_bytes))) =
                (args.get(1).and_then(|s| s.parse::<f64>().ok()), sizes(2))
            else {
                return usage();
            };
            if request_bytes == 0 || answer_bytes == 0 {
                return usage();
            }
            if mode == "tcp" {
                tcp_client(seconds, request_bytes, answer_bytes).map(Some)
            } else {
                hyper_client(seconds, request_bytes, answer_bytes).map(Some)
            }
        }
        _ => return usage(),
    };
    match outcome {
        Ok(Some(measured)) => {
            let per_round_trip = |cpu: Option<Duration>| {
                cpu.map_or_else(
                    || "-".to_owned(),
                    |cpu| {
                        format!(
                            "{:.1}",
                            cpu.as_secs_f64() * 1e6 / measured.round_trips.max(1) as f64
                        )
                    },
                )
            };
            println!(
                "{:.1} {} {}",
                measured.round_trips as f64 / measured.took.as_secs_f64(),
                per_round_trip(measured.client_cpu),
                per_round_trip(measured.server_cpu)
            );
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("round_trip_floor {mode}: {error}");
            ExitCode::FAILURE
        }
    }
}
