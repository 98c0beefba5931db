//! The binary's first stdout line is the address, exactly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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
    let address: std::net::SocketAddr = address.parse().expect(line);
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0);
}

#[test]
fn a_broken_fixture_is_refused() {
    let path = std::env::temp_dir().join(format!("emulator-broken-{}.json", std::process::id()));
    std::fs::write(&path, "{\"credentials\": 1}").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_iotexplorer-emulator"))
        .args(["--listen", "127.0.0.1:0", "--fixture"])
        .arg(&path)
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&path);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}
