//! `iotexplorer emulator` takes the emulator's connection limits, and they apply.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_help_lists_the_connection_limits() {
    let output = Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args(["emulator", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--header-timeout",
        "--idle-timeout",
        "--body-timeout",
        "--max-connections",
        "--max-body-bytes",
        "--max-buffered-bytes",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_slow_head_is_closed_after_the_header_timeout_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--header-timeout",
            "1",
            "--max-connections",
            "4",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .expect("an address");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    // Far longer than the timeout given, far shorter than the default of 10 s.
    stream
        .set_read_timeout(Some(Duration::from_secs(6)))
        .expect("timeout");
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    let read = stream.read(&mut buffer);
    let waited = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{read:?} after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}
