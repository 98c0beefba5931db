//! How the cost of a request grows with what the emulator holds: calls per second of
//! sequential `BatchUpdateFirmware` calls (one device each) over one keep-alive
//! connection, with `--rate-limit 0`, on a fresh emulator and again after 10,000 and
//! 100,000 tasks; over distinct devices and over 64 devices (each device's history
//! grows), in memory and with `--state FILE`.
//!
//! It drives the real binary, so build both in release first (`scripts/bench-emulator-scale.sh`
//! does it and runs this):
//!
//! ```text
//! scale --emulator PATH [--sample 500] [--warmup 100] [--checkpoints 10000,100000]
//!       [--phase-seconds 180] [--step-ms 1] [--only memory|state] [--spread distinct|64]
//! ```
//!
//! The first `--warmup` calls of each case (counted among the tasks held) are not
//! measured: they pay for the connection, first allocations and cold files.
//! Filling up to a checkpoint stops after `--phase-seconds`; the sample is then taken at
//! the count reached, which is printed, and the later checkpoints of that case are skipped.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tc3_sign::{Credentials, SignableRequest, SigningParams};
use tokio::net::TcpStream;

type Outcome<T> = Result<T, Box<dyn Error>>;

const PRODUCT: &str = "SCALEBENCH";
const SECRET_ID: &str = "AKIDSCALEBENCH";
const SECRET_KEY: &str = "scale-bench-key";

/// What the command line asked for.
struct Settings {
    emulator: PathBuf,
    sample: usize,
    warmup: usize,
    checkpoints: Vec<usize>,
    phase: Duration,
    step_ms: u64,
    storages: Vec<Storage>,
    spreads: Vec<Spread>,
}

#[derive(Clone, Copy, PartialEq)]
enum Storage {
    Memory,
    State,
}

#[derive(Clone, Copy, PartialEq)]
enum Spread {
    /// Every call names a device no task has named before.
    Distinct,
    /// Calls go round this many devices, so each device's history grows.
    Few(usize),
}

fn value_of(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|at| args.get(at + 1))
        .cloned()
}

fn parse_settings() -> Outcome<Settings> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let emulator = value_of(&args, "--emulator")
        .map(PathBuf::from)
        .ok_or("--emulator PATH (the release iotexplorer-emulator binary) is required")?;
    let sample = value_of(&args, "--sample").map_or(Ok(500), |v| v.parse())?;
    let warmup = value_of(&args, "--warmup").map_or(Ok(100), |v| v.parse())?;
    let checkpoints = value_of(&args, "--checkpoints")
        .unwrap_or_else(|| "10000,100000".to_owned())
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<usize>, _>>()?;
    let phase =
        Duration::from_secs(value_of(&args, "--phase-seconds").map_or(Ok(180), |v| v.parse())?);
    let step_ms = value_of(&args, "--step-ms").map_or(Ok(1), |v| v.parse())?;
    let storages = match value_of(&args, "--only").as_deref() {
        None => vec![Storage::Memory, Storage::State],
        Some("memory") => vec![Storage::Memory],
        Some("state") => vec![Storage::State],
        Some(other) => return Err(format!("--only memory|state, not {other}").into()),
    };
    let spreads = match value_of(&args, "--spread").as_deref() {
        None => vec![Spread::Distinct, Spread::Few(64)],
        Some("distinct") => vec![Spread::Distinct],
        Some(count) => vec![Spread::Few(count.parse()?)],
    };
    Ok(Settings {
        emulator,
        sample,
        warmup,
        checkpoints,
        phase,
        step_ms,
        storages,
        spreads,
    })
}

fn device(n: usize) -> String {
    format!("d{n:06}")
}

/// The fixture file: one product, firmware 2.0.0, `devices` devices on 1.0.0.
fn write_fixture(path: &Path, devices: usize) -> Outcome<()> {
    let devices: Vec<Value> = (0..devices)
        .map(|n| json!({"name": device(n), "firmware_version": "1.0.0"}))
        .collect();
    let fixture = json!({
        "credentials": [{"secret_id": SECRET_ID, "secret_key": SECRET_KEY}],
        "products": [{
            "product_id": PRODUCT,
            "firmwares": [{"version": "2.0.0", "fw_type": "mcu"}],
            "devices": devices,
        }],
    });
    std::fs::write(path, fixture.to_string())?;
    Ok(())
}

/// The emulator process, killed when dropped.
struct Running {
    child: Child,
    host: String,
}

impl Running {
    fn start(settings: &Settings, fixture: &Path, state: Option<&Path>) -> Outcome<Self> {
        let mut command = Command::new(&settings.emulator);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "0",
                "--seed",
                "1",
            ])
            .arg("--step-ms")
            .arg(settings.step_ms.to_string())
            .arg("--fixture")
            .arg(fixture)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(state) = state {
            command.arg("--state").arg(state);
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        let host = first
            .trim()
            .strip_prefix("listening on http://")
            .ok_or_else(|| format!("unexpected first line {first:?}"))?
            .to_owned();
        Ok(Self { child, host })
    }

    /// Processor time the emulator has used so far (user and system, all its threads).
    fn cpu_time(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&at| fields.get(at).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        // The kernel counts in USER_HZ, 100 per second on every Linux that matters here.
        Duration::from_millis(ticks * 10)
    }

    /// The emulator's resident memory, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive connection that sends signed `BatchUpdateFirmware` calls.
struct Connection {
    host: String,
    credentials: Credentials,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(host: &str) -> Outcome<Self> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            host: host.to_owned(),
            credentials: Credentials::new(SECRET_ID, SECRET_KEY),
            sender,
        })
    }

    /// Creates one task for `device`, replacing a task it may still be in.
    async fn update(&mut self, device: &str) -> Outcome<()> {
        let body = json!({
            "ProductID": PRODUCT,
            "FirmwareVersion": "2.0.0",
            "DeviceNames": [device],
            "OverrideMode": 1,
        })
        .to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = tc3_sign::sign(
            &SignableRequest::post_json(&self.host, body.as_bytes()),
            &SigningParams::new(&self.credentials, "iotexplorer", now),
        )?;
        let mut builder = Request::post("/")
            .header("Host", &self.host)
            .header("Content-Type", "application/json")
            .header("X-TC-Action", "BatchUpdateFirmware")
            .header("X-TC-Version", "2019-04-23")
            .header("X-TC-Region", "ap-guangzhou");
        for (name, value) in signed.headers() {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let bytes = response.into_body().collect().await?.to_bytes();
        let reply: Value = serde_json::from_slice(&bytes)?;
        if reply["Response"]["TaskId"].is_u64() {
            Ok(())
        } else {
            Err(format!("no task for {device}: {reply}").into())
        }
    }
}

/// The devices named, call after call.
struct Devices {
    spread: Spread,
    next: usize,
}

impl Devices {
    fn next(&mut self) -> String {
        let n = match self.spread {
            Spread::Distinct => self.next,
            Spread::Few(count) => self.next % count,
        };
        self.next += 1;
        device(n)
    }
}

/// Calls made and the time they took.
struct Run {
    calls: usize,
    elapsed: Duration,
    /// The longest call: a request that pays for something as large as the state shows here.
    slowest: Duration,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn slowest_ms(&self) -> f64 {
        self.slowest.as_secs_f64() * 1e3
    }
}

/// Makes up to `calls` calls, stopping early once `limit` has passed.
async fn calls(
    connection: &mut Connection,
    devices: &mut Devices,
    calls: usize,
    limit: Duration,
) -> Outcome<Run> {
    let began = Instant::now();
    let mut made = 0;
    let mut slowest = Duration::ZERO;
    while made < calls && began.elapsed() < limit {
        let call = Instant::now();
        connection.update(&devices.next()).await?;
        slowest = slowest.max(call.elapsed());
        made += 1;
    }
    Ok(Run {
        calls: made,
        elapsed: began.elapsed(),
        slowest,
    })
}

/// `cpu` spread over `calls`, in microseconds (10 ms resolution in all).
fn per_call_micros(cpu: Duration, calls: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / calls.max(1) as f64
}

/// The one-minute load average, since figures taken on a busy machine vary.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn size_on_disk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name() != "fixture.json")
                .filter_map(|entry| entry.metadata().ok())
                .map(|meta| meta.len())
                .sum()
        })
        .unwrap_or(0)
}

/// One case: a fresh emulator, a sample, then a fill and a sample per checkpoint.
async fn case(settings: &Settings, storage: Storage, spread: Spread) -> Outcome<()> {
    let label = match (storage, spread) {
        (Storage::Memory, Spread::Distinct) => "in memory, distinct devices".to_owned(),
        (Storage::Memory, Spread::Few(n)) => format!("in memory, {n} devices"),
        (Storage::State, Spread::Distinct) => "--state FILE, distinct devices".to_owned(),
        (Storage::State, Spread::Few(n)) => format!("--state FILE, {n} devices"),
    };
    let last = settings.checkpoints.iter().copied().max().unwrap_or(0);
    let device_count = match spread {
        Spread::Distinct => {
            last + settings.warmup + settings.sample * (settings.checkpoints.len() + 1)
        }
        Spread::Few(n) => n,
    };
    let dir = std::env::temp_dir().join(format!("emulator-scale-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let fixture = dir.join("fixture.json");
    write_fixture(&fixture, device_count)?;
    let state = dir.join("state.json");
    let began = Instant::now();
    let running = Running::start(
        settings,
        &fixture,
        (storage == Storage::State).then_some(state.as_path()),
    )?;
    println!(
        "{label} ({device_count} devices in the fixture, started in {:.1} s, load {}):",
        began.elapsed().as_secs_f64(),
        load_average()
    );
    let mut connection = Connection::open(&running.host).await?;
    let mut devices = Devices { spread, next: 0 };
    let sample_limit = settings.phase;

    let warmup = calls(&mut connection, &mut devices, settings.warmup, sample_limit).await?;
    let cpu_before = running.cpu_time();
    let fresh = calls(&mut connection, &mut devices, settings.sample, sample_limit).await?;
    let fresh_rate = fresh.per_second();
    println!(
        "  fresh: {:.0} calls/s ({} calls, slowest {:.1} ms), {:.0} µs of emulator processor time per call, RSS {:.0} MiB",
        fresh_rate,
        fresh.calls,
        fresh.slowest_ms(),
        per_call_micros(running.cpu_time().saturating_sub(cpu_before), fresh.calls),
        running.rss_mib()
    );
    // Tasks held, the samples' own included.
    let mut held = warmup.calls + fresh.calls;
    for &checkpoint in &settings.checkpoints {
        let wanted = checkpoint.saturating_sub(held);
        let fill = calls(&mut connection, &mut devices, wanted, settings.phase).await?;
        held += fill.calls;
        let cut_short = fill.calls < wanted;
        let cpu_before = running.cpu_time();
        let sample = calls(&mut connection, &mut devices, settings.sample, sample_limit).await?;
        let cpu = running.cpu_time().saturating_sub(cpu_before);
        let rate = sample.per_second();
        println!(
            "  after {held} tasks: {rate:.0} calls/s ({:.2} of fresh, slowest {:.1} ms), {:.0} µs of processor time per call; \
             filling ran at {:.0} calls/s (slowest {:.1} ms); RSS {:.0} MiB{}",
            rate / fresh_rate,
            sample.slowest_ms(),
            per_call_micros(cpu, sample.calls),
            fill.per_second(),
            fill.slowest_ms(),
            running.rss_mib(),
            if storage == Storage::State {
                format!(", {:.1} MB on disk", size_on_disk(&dir) as f64 / 1e6)
            } else {
                String::new()
            }
        );
        held += sample.calls;
        if cut_short {
            println!(
                "  (filling stopped after {:.0} s at {held} of {checkpoint} tasks; later checkpoints skipped)",
                fill.elapsed.as_secs_f64()
            );
            break;
        }
    }
    drop(connection);
    drop(running);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() {
    let settings = match parse_settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: no runtime: {error}");
            std::process::exit(1);
        }
    };
    println!(
        "sequential BatchUpdateFirmware (one device each), one keep-alive connection, \
         --rate-limit 0, --step-ms {}, samples of {} calls after {} unmeasured",
        settings.step_ms, settings.sample, settings.warmup
    );
    let mut failed = false;
    for &storage in &settings.storages {
        for &spread in &settings.spreads {
            if let Err(error) = runtime.block_on(case(&settings, storage, spread)) {
                eprintln!("  error: {error}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
