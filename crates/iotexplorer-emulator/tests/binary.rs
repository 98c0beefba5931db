//! The binary's first stdout line is the address, exactly; it serves within its limits.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Client;

/// Starts the binary with `args` under the shell prefix `limit`; its address.
fn spawn_limited(limit: &str, args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let address = support::listening_address(&mut child);
    (child, address)
}

/// `child`'s output once it exits; killed, and the test failed, if it runs past `limit`
/// (a binary that should have refused its settings would otherwise serve for ever).
fn exited_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let began = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if began.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// What the binary says on stderr refusing `args`: it must exit with 2 before it
/// listens.
fn refusing(args: &[&std::ffi::OsStr]) -> String {
    let child = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    let output = exited_within(child, Duration::from_secs(20), &format!("{args:?}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?}: it listened");
    stderr
}

/// What the binary says refusing the fixture at `path`.
fn refusing_fixture(path: &Path) -> String {
    refusing(&["--fixture".as_ref(), path.as_os_str()])
}

#[test]
fn the_first_line_names_the_address() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--max-skew",
            "300",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("a line");
    let line = line.trim_end_matches('\n');
    let address = line.strip_prefix("listening on http://").expect(line);
    let address: SocketAddr = address.parse().expect(line);
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0);
}

#[test]
fn a_fixture_file_larger_than_any_fixture_is_refused_unread() {
    let dir = support::temp_dir("oversized-fixture");
    let oversized = dir.path().join("fixture.json");
    std::fs::File::create(&oversized)
        .and_then(|file| file.set_len(iotexplorer_emulator::MAX_FIXTURE_BYTES + 1))
        .expect("a sparse file");
    let mut paths = vec![oversized];
    if Path::new("/dev/zero").exists() {
        paths.push("/dev/zero".into());
    }
    for path in paths {
        let stderr = refusing_fixture(&path);
        assert!(
            stderr.contains(&format!(
                "more than {} bytes",
                iotexplorer_emulator::MAX_FIXTURE_BYTES
            )),
            "{}: {stderr}",
            path.display()
        );
    }
}

#[test]
fn a_timeout_longer_than_a_day_is_refused_at_start() {
    for flag in ["--header-timeout", "--idle-timeout", "--body-timeout"] {
        for seconds in [
            (iotexplorer_emulator::MAX_TIMEOUT.as_secs() + 1).to_string(),
            u64::MAX.to_string(),
        ] {
            let stderr = refusing(&[flag.as_ref(), seconds.as_ref()]);
            assert!(stderr.contains("must be at most 86400 seconds"), "{stderr}");
        }
    }
}

#[test]
fn a_fixture_refused_for_a_value_does_not_show_the_value() {
    let dir = support::temp_dir("secret-fixture");
    for (name, credentials) in [
        ("string", r#"["AKIDFX:SECRETSENTINEL123"]"#),
        (
            "number",
            r#"[{"secret_id": "AKIDFX", "secret_key": 1234567890123}]"#,
        ),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, format!(r#"{{"credentials": {credentials}}}"#)).expect("write");
        let stderr = refusing_fixture(&path);
        assert!(stderr.contains("invalid type"), "{name}: {stderr}");
        assert!(stderr.contains("line 1"), "{name}: {stderr}");
        assert!(
            !stderr.contains("SECRETSENTINEL123") && !stderr.contains("1234567890123"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn a_state_file_that_is_not_a_regular_file_is_refused_before_any_lock_file_appears() {
    let dir = support::temp_dir("state-not-regular");
    let fifo = dir.path().join("fifo");
    let mut paths = vec![dir.path().join("a-directory")];
    std::fs::create_dir(&paths[0]).expect("a directory");
    // Read, a FIFO would wait for a writer; a device like /dev/zero would never end.
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|status| status.success())
    {
        paths.push(fifo);
    }
    for path in &paths {
        let stderr = refusing(&["--state".as_ref(), path.as_os_str()]);
        assert!(stderr.contains("not a regular file"), "{stderr}");
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        assert!(!Path::new(&lock).exists(), "{}", path.display());
    }
}

#[test]
fn a_broken_fixture_is_refused() {
    let dir = support::temp_dir("broken-fixture");
    let path = dir.path().join("fixture.json");
    std::fs::write(&path, "{\"credentials\": 1}").expect("write");
    let stderr = refusing_fixture(&path);
    assert!(stderr.contains("the fixture is not valid"), "{stderr}");
}

#[test]
fn with_few_descriptors_a_client_is_served_once_slow_connections_time_out() {
    // 64 descriptors for the whole process; 32 connections at most, 1 s for a head.
    let (mut child, addr) = spawn_limited(
        "ulimit -n 64",
        &[
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--max-connections",
            "32",
            "--header-timeout",
            "1",
        ],
    );
    // More connections than the process may hold descriptors, none finishing its head.
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        slow.push(stream);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = Client::demo(addr);
    let answer = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(15),
            client.post_raw_body("ListFirmwares", br#"{"PageNum":1,"PageSize":10}"#),
        )
        .await
    });
    let _ = child.kill();
    let _ = child.wait();
    answer.expect("served in time").ok();
}
