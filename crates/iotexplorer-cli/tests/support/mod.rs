//! Runs the command line in-process with captured streams, or the real binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// What one run printed and returned.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) code: u8,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `iotexplorer args...` in-process with `env` as the whole environment.
pub(crate) fn run_in_process(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let mut stdin = stdin.as_bytes();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut argv: Vec<std::ffi::OsString> = vec!["iotexplorer".into()];
    argv.extend(args.iter().map(|arg| (*arg).into()));
    let code = iotexplorer_cli::run(
        &argv,
        &mut iotexplorer_cli::Io {
            env: &lookup,
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    Outcome {
        code,
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    }
}

/// A directory of its own under the system's temporary directory, empty, and removed with
/// everything in it when dropped.
pub(crate) fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("iotexplorer-cli-{name}-"))
        .tempdir()
        .expect("temporary directory")
}

/// Runs the real binary with a clean environment plus `env`.
pub(crate) fn run_binary(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iotexplorer"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let output = child.wait_with_output().expect("the binary ends");
    Outcome {
        code: u8::try_from(output.status.code().expect("exit code")).expect("small exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// An emulator running on its own runtime for as long as the value lives, so that tests
/// can run the binary synchronously against it.
pub(crate) struct TestEmulator {
    runtime: tokio::runtime::Runtime,
    running: Option<iotexplorer_emulator::RunningEmulator>,
}

impl TestEmulator {
    /// The demo fixture on a free loopback port.
    pub(crate) fn start() -> TestEmulator {
        Self::start_with(
            iotexplorer_emulator::Fixture::demo(),
            iotexplorer_emulator::ProgressSettings::default(),
        )
    }

    /// `fixture` on a free loopback port, devices progressing at `progress`.
    pub(crate) fn start_with(
        fixture: iotexplorer_emulator::Fixture,
        progress: iotexplorer_emulator::ProgressSettings,
    ) -> TestEmulator {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let running = runtime
            .block_on(
                iotexplorer_emulator::Emulator::builder()
                    .fixture(fixture)
                    .progress(progress)
                    .start("127.0.0.1:0"),
            )
            .expect("the emulator starts");
        TestEmulator {
            runtime,
            running: Some(running),
        }
    }

    fn running(&self) -> &iotexplorer_emulator::RunningEmulator {
        self.running.as_ref().expect("running until dropped")
    }

    pub(crate) fn url(&self) -> String {
        self.running().url().to_owned()
    }

    pub(crate) fn arrivals(&self) -> u64 {
        self.running().arrivals()
    }

    /// The global options that point the binary at this emulator with its demo key.
    pub(crate) fn globals(&self) -> Vec<String> {
        vec![
            "--endpoint".into(),
            self.url(),
            "--region".into(),
            "ap-guangzhou".into(),
            "--secretId".into(),
            iotexplorer_emulator::DEMO_SECRET_ID.into(),
            "--secretKey".into(),
            iotexplorer_emulator::DEMO_SECRET_KEY.into(),
        ]
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.shutdown());
        }
    }
}
