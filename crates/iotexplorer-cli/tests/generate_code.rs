//! `--generate-code`: the programs it prints compile and make the call.
//!
//! - Rust: the programs for `BatchUpdateFirmware` and for a read with nested members
//!   (`DescribeFirmwareTasks` with `Filters`) are checked in as examples of this crate, so
//!   `cargo test` and `cargo clippy` compile them; a test checks they are still exactly what
//!   the command prints (`IOTEXPLORER_BLESS=1` rewrites them) and runs the built ones, which
//!   start the emulator and call it.
//! - Python and Node.js: run against the emulator with Tencent's official SDKs, which
//!   `.ci/run` installs (`IOTEXPLORER_SDK_PYTHON`, `IOTEXPLORER_SDK_NODE_MODULES`); skipped
//!   with a note where they are absent.
//! - Java and Go: parsed by `javac` and `gofmt` where those exist (the SDKs are not
//!   installed, so nothing is compiled against them).
//! - curl: the printed command, run by curl, makes the call.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::{TestEmulator, run_in_process, temp_dir};

const DEMO_ID: &str = iotexplorer_emulator::DEMO_SECRET_ID;
const DEMO_KEY: &str = iotexplorer_emulator::DEMO_SECRET_KEY;

/// The first lines of every checked-in example, above what the command prints.
const EXAMPLE_PREAMBLE: &str = "// Printed by the `iotexplorer` command in tests/generate_code.rs, which checks that it\n\
// still is; the attribute only quiets this workspace's lints on printing.\n\
#![allow(clippy::print_stdout, clippy::print_stderr)]\n";

/// Each checked-in example and the command line that prints it.
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "generated_batch_update_firmware",
        &[
            "--emulator",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev001","dev002"]"#,
            "--TaskUserDefine",
            r#"{"rollout":"example"}"#,
            "--generate-code",
            "rust",
        ],
    ),
    (
        "generated_describe_firmware_tasks",
        &[
            "--emulator",
            "DescribeFirmwareTasks",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters",
            r#"[{"Key":"Status","Value":"1"},{"Key":"TaskId","Value":"1000001"}]"#,
            "--generate-code",
            "rust",
        ],
    ),
    (
        // Every client setting a call can carry, and the credentials chain: compiled only,
        // since it sends to a fixed address.
        "generated_batch_update_firmware_settings",
        &[
            "--endpoint",
            "http://127.0.0.1:9555",
            "--region",
            "ap-guangzhou",
            "--profile",
            "fleet",
            "--language",
            "en-US",
            "--timeout",
            "30",
            "--attempt-timeout",
            "10",
            "--signed-headers",
            "content-type;host",
            "--method",
            "GET",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--FwType",
            "mcu",
            "--TimeoutInterval",
            "300",
            "--Type",
            "7",
            "--generate-code",
            "rust",
        ],
    ),
    (
        // Lists of numbers, whose elements the builder takes as `impl Into<u64>`: compiled
        // only (the emulator does not serve LoRa).
        "generated_create_lo_ra_frequency",
        &[
            "--region",
            "ap-guangzhou",
            "CreateLoRaFrequency",
            "--FreqName",
            "eu868",
            "--ChannelsDataUp",
            "[0,1,2]",
            "--ChannelsDataRX1",
            "[3]",
            "--ChannelsDataRX2",
            "[]",
            "--generate-code",
            "rust",
        ],
    ),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What the command prints for `args`, which must succeed.
fn generate(args: &[&str], env: &[(&str, &str)]) -> String {
    let outcome = run_in_process(args, env, "");
    assert_eq!(outcome.code, 0, "{args:?}: {outcome:?}");
    assert!(outcome.stderr.is_empty(), "{outcome:?}");
    outcome.stdout
}

#[test]
fn rust_programs_match_the_checked_in_examples() {
    let bless = std::env::var_os("IOTEXPLORER_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, args) in EXAMPLES {
        let expected = format!("{EXAMPLE_PREAMBLE}{}", generate(args, &[]));
        let path = crate_dir().join("examples").join(format!("{name}.rs"));
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            if bless {
                std::fs::write(&path, &expected).expect("write the example");
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale (run with IOTEXPLORER_BLESS=1 to rewrite): {stale:?}"
    );
}

/// The example binary cargo built beside this test, refusing one older than its source.
fn built_example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("test binary path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let source = crate_dir().join("examples").join(format!("{name}.rs"));
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let built = modified(&binary).unwrap_or(SystemTime::UNIX_EPOCH);
    let written = modified(&source).expect("example source");
    assert!(
        built >= written,
        "{} is missing or older than its source: `cargo test` (without --test) builds the \
         examples",
        binary.display()
    );
    binary
}

/// Runs `program` with only `env` as its environment, bounded in time.
fn run(program: &mut Command, env: &[(&str, &str)]) -> Output {
    let mut child = program
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the program starts");
    let deadline = SystemTime::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if SystemTime::now() > deadline {
            let _ = child.kill();
            panic!("{program:?} ran for more than 60 s");
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn rust_programs_run_against_the_emulator() {
    let output = run(
        &mut Command::new(built_example("generated_batch_update_firmware")),
        &[],
    );
    let response = stdout_json(&output);
    assert!(response["TaskId"].as_u64().is_some(), "{response}");
    assert!(response["RequestId"].as_str().is_some(), "{response}");

    let output = run(
        &mut Command::new(built_example("generated_describe_firmware_tasks")),
        &[],
    );
    let response = stdout_json(&output);
    // A fresh emulator has no task yet; the nested filters were sent and understood.
    assert_eq!(response["Total"], 0, "{response}");
}

#[test]
fn rust_programs_carry_cargo_lines_and_the_ambiguous_outcome() {
    let program = generate(EXAMPLES[0].1, &[]);
    for line in [
        "//! iotexplorer-http = \"",
        "//! iotexplorer-model = \"",
        "//! iotexplorer-emulator = \"",
        "//! tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }",
        "Err(error @ Error::Ambiguous { .. }) =>",
        "Err(Error::Api {",
        ".device_names(\"dev001\")",
        ".task_user_define(\"{\\\"rollout\\\":\\\"example\\\"}\")",
    ] {
        assert!(program.contains(line), "{line} missing from\n{program}");
    }
    // A read has no ambiguous outcome to handle: it is retried while that is safe.
    let read = generate(EXAMPLES[1].1, &[]);
    assert!(!read.contains("Ambiguous"), "{read}");
    assert!(
        read.contains("let mut search_keyword = SearchKeyword::default();"),
        "{read}"
    );
}

#[test]
fn values_come_from_the_same_parsing_and_checks_as_a_call() {
    // --cli-input-json and a flag on top of it, exactly as a call reads them.
    let program = generate(
        &[
            "BatchUpdateFirmware",
            "--cli-input-json",
            r#"{"ProductID":"P1","FirmwareVersion":"1.0","DeviceNames":["a"]}"#,
            "--FirmwareVersion",
            "2.0",
            "--generate-code",
            "python",
        ],
        &[],
    );
    assert!(program.contains("\"ProductID\": \"P1\""), "{program}");
    assert!(
        program.contains("\"FirmwareVersion\": \"2.0\""),
        "{program}"
    );
    // tccli's unfolded arguments, nested members by dotted path.
    let program = generate(
        &[
            "--cli-unfold-argument",
            "DescribeFirmwareTasks",
            "--ProductID",
            "P",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters.0.Key",
            "Status",
            "--Filters.0.Value",
            "1",
            "--generate-code",
            "rust",
        ],
        &[],
    );
    assert!(
        program.contains("search_keyword.key = Some(\"Status\".to_owned());"),
        "{program}"
    );
    // Invalid input gets the error a call gets, and no program.
    let bad = [
        "BatchUpdateFirmware",
        "--ProductID",
        "P",
        "--FirmwareVersion",
        "2.0.0",
        "--TimeoutInterval",
        "901",
    ];
    let call = run_in_process(&bad, &[], "");
    let mut with_code = bad.to_vec();
    with_code.extend(["--generate-code", "rust"]);
    let generated = run_in_process(&with_code, &[], "");
    assert_eq!(call.code, 2, "{call:?}");
    assert_eq!(generated.code, 2, "{generated:?}");
    assert!(generated.stdout.is_empty());
    assert_eq!(generated.stderr, call.stderr);
    // The same for a bad endpoint.
    let generated = run_in_process(
        &[
            "--endpoint",
            "http://example.com",
            "DescribeDevice",
            "--ProductId",
            "P",
            "--DeviceName",
            "d",
            "--generate-code",
            "node",
        ],
        &[],
        "",
    );
    assert_eq!(generated.code, 2, "{generated:?}");
    assert!(generated.stderr.contains("loopback"), "{generated:?}");
}

#[test]
fn programs_never_hold_a_secret() {
    let secret = "SeCrEtKeYgIvEnOnThEcOmMaNdLiNe";
    for language in ["rust", "python", "node", "go", "java"] {
        let program = generate(
            &[
                "--secretId",
                "AKIDflag",
                "--secretKey",
                secret,
                "--token",
                "tokenflag",
                "DescribeDevice",
                "--ProductId",
                "P",
                "--DeviceName",
                "d",
                "--generate-code",
                language,
            ],
            &[("TENCENTCLOUD_SECRET_KEY", "envsecret")],
        );
        for leaked in [secret, "AKIDflag", "tokenflag", "envsecret"] {
            assert!(
                !program.contains(leaked),
                "{language} program holds {leaked}"
            );
        }
        assert!(
            program.contains("TENCENTCLOUD_SECRET_KEY"),
            "{language}: {program}"
        );
    }
}

#[test]
fn the_emulator_is_only_for_programs_that_can_start_it() {
    let outcome = run_in_process(
        &[
            "--emulator",
            "DescribeDevice",
            "--ProductId",
            "P",
            "--DeviceName",
            "d",
            "--generate-code",
            "python",
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.contains("--endpoint"), "{outcome:?}");
    let outcome = run_in_process(
        &[
            "DescribeDevice",
            "--ProductId",
            "P",
            "--DeviceName",
            "d",
            "--generate-code",
            "rust",
            "--reveal-authorization",
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
}

/// A Python with the official SDK, or `None` after noting why the test is skipped.
#[allow(clippy::print_stderr)]
fn sdk_python() -> Option<PathBuf> {
    match std::env::var_os("IOTEXPLORER_SDK_PYTHON") {
        Some(path) if Path::new(&path).exists() => Some(PathBuf::from(path)),
        _ => {
            eprintln!(
                "skipped: IOTEXPLORER_SDK_PYTHON names no Python with tencentcloud-sdk-python \
                 (.ci/run installs one)"
            );
            None
        }
    }
}

/// The `node_modules` holding the official Node.js SDK, or `None` after noting the skip.
#[allow(clippy::print_stderr)]
fn sdk_node_modules() -> Option<PathBuf> {
    let modules = std::env::var_os("IOTEXPLORER_SDK_NODE_MODULES").map(PathBuf::from);
    let node_runs = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    match modules {
        Some(path) if node_runs && path.join("tencentcloud-sdk-nodejs").exists() => Some(path),
        _ => {
            eprintln!(
                "skipped: node or IOTEXPLORER_SDK_NODE_MODULES with tencentcloud-sdk-nodejs is \
                 missing (.ci/run installs it)"
            );
            None
        }
    }
}

/// Writes `text` to the file `name` in `dir`, and gives its path.
fn write_temp(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write the program");
    path
}

#[test]
fn python_programs_run_against_the_emulator() {
    let Some(python) = sdk_python() else { return };
    let scratch = temp_dir("generate-code-python");
    let emulator = TestEmulator::start();
    let url = emulator.url();
    let demo = [
        ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
        ("TENCENTCLOUD_SECRET_KEY", DEMO_KEY),
    ];
    let write = generate(
        &[
            "--endpoint",
            &url,
            "--region",
            "ap-guangzhou",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev001","dev002"]"#,
            "--TaskUserDefine",
            r#"{"from":"python"}"#,
            "--generate-code",
            "python",
        ],
        &[],
    );
    let before = emulator.arrivals();
    let output = run(
        Command::new(&python).arg(write_temp(&scratch, "batch_update_firmware.py", &write)),
        &demo,
    );
    let created = stdout_json(&output);
    let task_id = created["TaskId"].as_u64().expect("TaskId");
    assert_eq!(emulator.arrivals(), before + 1);

    // A read with nested members finds the task just created, and only it.
    let task = task_id.to_string();
    let filters = format!(r#"[{{"Key":"TaskId","Value":"{task}"}}]"#);
    let read = generate(
        &[
            "--endpoint",
            &url,
            "--region",
            "ap-guangzhou",
            "DescribeFirmwareTasks",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters",
            &filters,
            "--generate-code",
            "python",
        ],
        &[],
    );
    let output = run(
        Command::new(&python).arg(write_temp(&scratch, "describe_firmware_tasks.py", &read)),
        &demo,
    );
    let found = stdout_json(&output);
    assert_eq!(found["Total"], 1, "{found}");
    assert_eq!(found["TaskInfos"][0]["TaskId"], task_id, "{found}");

    // An API error comes back as the program's exit status 1 with the code.
    let output = run(
        Command::new(&python).arg(write_temp(&scratch, "batch_update_firmware.py", &write)),
        &[
            ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
            ("TENCENTCLOUD_SECRET_KEY", "wrong-key"),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("AuthFailure.SignatureFailure"),
        "{output:?}"
    );
}

/// An HTTP proxy that answers every `CONNECT` with a tunnel to `target`, for as long as the
/// test runs.
fn tunnel_to(target: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let address = listener.local_addr().expect("proxy address");
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let target = target.clone();
            thread::spawn(move || tunnel(client, &target));
        }
    });
    format!("http://{address}")
}

fn tunnel(mut client: TcpStream, target: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Read the CONNECT request up to its blank line, byte by byte so nothing after it is
    // taken; a head longer than 8 KiB is not a CONNECT this test sends.
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    if !head.starts_with(b"CONNECT ") {
        return;
    }
    let Ok(mut server) = TcpStream::connect(target) else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (Ok(mut client_reader), Ok(mut server_writer)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let upstream = thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut server_writer);
        let _ = server_writer.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = upstream.join();
}

/// The official Node.js SDK signs the host without its port and takes the service from the
/// host's first label, so it cannot sign for `127.0.0.1:PORT`. The program is generated for
/// `http://iotexplorer.localhost` (port 80, where both rules hold) and its requests reach
/// the emulator through a tunnelling proxy, the SDK's `http_proxy`.
#[test]
fn node_programs_run_against_the_emulator() {
    let Some(modules) = sdk_node_modules() else {
        return;
    };
    let scratch = temp_dir("generate-code-node");
    let emulator = TestEmulator::start();
    let target = emulator.url().trim_start_matches("http://").to_owned();
    let proxy = tunnel_to(target);
    let program = generate(
        &[
            "--endpoint",
            "http://iotexplorer.localhost",
            "--region",
            "ap-guangzhou",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev003"]"#,
            "--generate-code",
            "node",
        ],
        &[],
    );
    let modules = modules.to_string_lossy().into_owned();
    let env = [
        ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
        ("TENCENTCLOUD_SECRET_KEY", DEMO_KEY),
        ("NODE_PATH", modules.as_str()),
        ("http_proxy", proxy.as_str()),
    ];
    let before = emulator.arrivals();
    let output = run(
        Command::new("node").arg(write_temp(&scratch, "batch_update_firmware.js", &program)),
        &env,
    );
    let created = stdout_json(&output);
    assert!(created["TaskId"].as_u64().is_some(), "{created}");
    assert_eq!(emulator.arrivals(), before + 1);

    let read = generate(
        &[
            "--endpoint",
            "http://iotexplorer.localhost",
            "--region",
            "ap-guangzhou",
            "DescribeFirmwareTasks",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters",
            &format!(r#"[{{"Key":"TaskId","Value":"{}"}}]"#, created["TaskId"]),
            "--generate-code",
            "node",
        ],
        &[],
    );
    let output = run(
        Command::new("node").arg(write_temp(&scratch, "describe_firmware_tasks.js", &read)),
        &env,
    );
    let found = stdout_json(&output);
    assert_eq!(found["Total"], 1, "{found}");
}

/// Java's own parser over a source file: exit 0 when it parses, 1 with the errors.
const JAVA_SYNTAX_CHECK: &str = r#"
import com.sun.source.util.JavacTask;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.tools.*;

public class SyntaxCheck {
    public static void main(String[] args) throws Exception {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        StandardJavaFileManager files =
            compiler.getStandardFileManager(diagnostics, null, StandardCharsets.US_ASCII);
        JavacTask task = (JavacTask) compiler.getTask(
            null, files, diagnostics, List.of("-proc:none"), null, files.getJavaFileObjects(args));
        task.parse();
        boolean failed = false;
        for (Diagnostic<? extends JavaFileObject> diagnostic : diagnostics.getDiagnostics()) {
            String file = diagnostic.getSource() == null ? "?" : diagnostic.getSource().getName();
            System.err.println(file + ":" + diagnostic.getLineNumber() + ": "
                + diagnostic.getMessage(null).replace('\n', ' '));
            failed |= diagnostic.getKind() == Diagnostic.Kind.ERROR;
        }
        System.exit(failed ? 1 : 0);
    }
}
"#;

/// Whether `program --version`-like `probe` runs here.
fn tool_runs(program: &str, probe: &str) -> bool {
    Command::new(program)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The calls the Java and Go checks cover: a write, a read with nested members, and text
/// that needs escaping.
fn sample_calls() -> Vec<Vec<&'static str>> {
    vec![
        EXAMPLES[2].1.to_vec(),
        vec![
            "--region",
            "ap-guangzhou",
            "--language",
            "zh-CN",
            "DescribeFirmwareTasks",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters",
            r#"[{"Key":"Status","Value":"1"}]"#,
            "--generate-code",
            "rust",
        ],
        vec![
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "固件 \"2\" `\\ 升级",
            "--TaskUserDefine",
            r#"{"note":"a \"quoted\" `tick` \\ 中文\n"}"#,
            "--generate-code",
            "rust",
        ],
    ]
}

fn with_language<'a>(args: &[&'a str], language: &'a str) -> Vec<&'a str> {
    let mut args = args.to_vec();
    if let Some(last) = args.last_mut() {
        *last = language;
    }
    args
}

#[test]
#[allow(clippy::print_stderr)]
fn java_programs_parse() {
    if !tool_runs("java", "-version") {
        eprintln!("skipped: no java here");
        return;
    }
    let scratch = temp_dir("generate-code-java");
    let checker = write_temp(&scratch, "SyntaxCheck.java", JAVA_SYNTAX_CHECK);
    let home = scratch.path().to_string_lossy().into_owned();
    let check = |path: &Path| {
        run(
            Command::new("java").arg(&checker).arg(path),
            &[("HOME", home.as_str())],
        )
    };
    // The checker itself must catch a broken program.
    let broken = write_temp(
        &scratch,
        "Broken.java",
        "public class Broken { void f() { int x = ; } }",
    );
    assert_eq!(check(&broken).status.code(), Some(1));
    for args in sample_calls() {
        let args = with_language(&args, "java");
        let program = generate(&args, &[]);
        assert!(program.is_ascii(), "Java source must be ASCII: {program}");
        let action = args
            .iter()
            .find(|arg| iotexplorer_model::find_action(arg).is_some())
            .expect("action");
        let path = write_temp(&scratch, &format!("{action}.java"), &program);
        let output = check(&path);
        assert!(
            output.status.success(),
            "{}\n{program}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
#[allow(clippy::print_stderr)]
fn go_programs_parse() {
    if !tool_runs("gofmt", "-l") {
        eprintln!("skipped: no gofmt here (install Go to check the Go programs)");
        return;
    }
    let scratch = temp_dir("generate-code-go");
    let broken = write_temp(
        &scratch,
        "broken.go",
        "package main\nfunc main() { x := }\n",
    );
    let status = run(Command::new("gofmt").arg("-e").arg(&broken), &[]).status;
    assert!(!status.success());
    for (index, args) in sample_calls().iter().enumerate() {
        let program = generate(&with_language(args, "go"), &[]);
        let path = write_temp(&scratch, &format!("main{index}.go"), &program);
        let output = run(Command::new("gofmt").arg("-e").arg("-d").arg(&path), &[]);
        assert!(
            output.status.success(),
            "{}\n{program}",
            String::from_utf8_lossy(&output.stderr)
        );
        // gofmt would leave the program as it is.
        assert!(
            output.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn node_and_python_programs_keep_every_value_exactly() {
    // Quotes, backquotes, backslashes, line breaks and Chinese, read back by each
    // language's own parser where one is here; else at least present as JSON escapes.
    let args = with_language(&sample_calls()[2], "python");
    let program = generate(&args, &[]);
    assert!(
        program.contains(r#""FirmwareVersion": "固件 \"2\" `\\ 升级","#),
        "{program}"
    );
    let args = with_language(&sample_calls()[2], "node");
    let program = generate(&args, &[]);
    assert!(
        program.contains(r#""FirmwareVersion": "固件 \"2\" `\\ 升级","#),
        "{program}"
    );
}

#[test]
fn curl_commands_make_the_call_when_revealed_and_are_masked_otherwise() {
    let emulator = TestEmulator::start();
    let url = emulator.url();
    let demo = [
        ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
        ("TENCENTCLOUD_SECRET_KEY", DEMO_KEY),
    ];
    let args = |reveal: bool| {
        let mut args = vec![
            "--endpoint",
            url.as_str(),
            "--region",
            "ap-guangzhou",
            "BatchUpdateFirmware",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--DeviceNames",
            r#"["dev004"]"#,
            "--TaskUserDefine",
            r#"{"it's":"quoted"}"#,
            "--generate-code",
            "curl",
        ];
        if reveal {
            args.push("--reveal-authorization");
        }
        args
    };
    let masked = generate(&args(false), &demo);
    assert!(masked.contains("Signature=** redacted **"), "{masked}");
    let limit = format!("({} s)", iotexplorer_model::SIGNATURE_MAX_AGE_SECS);
    assert!(masked.contains(&limit), "{masked}");
    assert!(!masked.contains(DEMO_KEY));
    let before = emulator.arrivals();
    assert_eq!(emulator.arrivals(), before, "generating sends nothing");

    let revealed = generate(&args(true), &demo);
    assert!(!revealed.contains("redacted"), "{revealed}");
    assert!(
        !revealed.contains(DEMO_KEY),
        "the key itself is never printed"
    );
    if !tool_runs("curl", "--version") {
        eprintln_skip("no curl here to run the command");
        return;
    }
    let output = run(Command::new("sh").arg("-c").arg(&revealed), &[]);
    let answer = stdout_json(&output);
    assert!(answer["Response"]["TaskId"].as_u64().is_some(), "{answer}");
    assert_eq!(emulator.arrivals(), before + 1);
    // The masked command reaches the service too, which refuses its signature.
    let output = run(Command::new("sh").arg("-c").arg(&masked), &[]);
    let answer = stdout_json(&output);
    assert!(
        answer["Response"]["Error"]["Code"]
            .as_str()
            .is_some_and(|code| code.starts_with("AuthFailure")),
        "{answer}"
    );
}

#[allow(clippy::print_stderr)]
fn eprintln_skip(why: &str) {
    eprintln!("skipped: {why}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any text a member can hold comes out of every program exactly: never a panic, never
    /// a literal that reads back as something else.
    #[test]
    fn every_language_keeps_any_text_exactly(
        version in "[^\u{0}-\u{1f}\u{7f}]{1,24}|\\PC{1,12}",
        note in "\\PC{0,24}",
    ) {
        let user_define = serde_json::json!({ "note": note }).to_string();
        for language in ["rust", "python", "node", "go", "java"] {
            let outcome = run_in_process(
                &[
                    "BatchUpdateFirmware",
                    "--ProductID",
                    "ABCDE12345",
                    "--FirmwareVersion",
                    &version,
                    "--TaskUserDefine",
                    &user_define,
                    "--generate-code",
                    language,
                ],
                &[],
                "",
            );
            proptest::prop_assert_eq!(outcome.code, 0, "{:?}", outcome);
            let program = outcome.stdout;
            let body = serde_json::json!({
                "ProductID": "ABCDE12345",
                "FirmwareVersion": version,
                "TaskUserDefine": user_define,
            })
            .to_string();
            let expected: Vec<String> = match language {
                "rust" => vec![format!("{version:?}"), format!("{user_define:?}")],
                "python" | "node" => vec![
                    Value::from(version.as_str()).to_string(),
                    Value::from(user_define.as_str()).to_string(),
                ],
                _ => Vec::new(),
            };
            for text in &expected {
                proptest::prop_assert!(program.contains(text.as_str()), "{} missing from {}", text, program);
            }
            // Go and Java carry the whole body as one string literal: it must read back as
            // exactly the body.
            let opening = match language {
                "go" => Some("request.FromJsonString("),
                "java" => Some("String params = "),
                _ => None,
            };
            if let Some(opening) = opening {
                let literal = program
                    .split(opening)
                    .nth(1)
                    .map(read_string_literal);
                proptest::prop_assert_eq!(literal.as_deref(), Some(body.as_str()), "{}", program);
            }
            if language == "java" {
                proptest::prop_assert!(program.is_ascii());
            }
        }
    }
}

#[test]
fn curl_reveals_the_session_token_only_when_asked_and_signs_get_queries() {
    let args = |reveal: bool| {
        let mut args = vec![
            "--endpoint",
            "http://127.0.0.1:9",
            "--region",
            "ap-guangzhou",
            "--method",
            "GET",
            "--secretId",
            "AKIDTOKENEXAMPLE",
            "--secretKey",
            "key-from-the-command-line",
            "--token",
            "session-token-value",
            "DescribeFirmwareTasks",
            "--ProductID",
            "ABCDE12345",
            "--FirmwareVersion",
            "2.0.0",
            "--Offset",
            "0",
            "--Limit",
            "10",
            "--Filters",
            r#"[{"Key":"Status","Value":"1"}]"#,
            "--generate-code",
            "curl",
        ];
        if reveal {
            args.push("--reveal-authorization");
        }
        args
    };
    let masked = generate(&args(false), &[]);
    assert!(!masked.contains("session-token-value"), "{masked}");
    assert!(
        masked.contains("-H 'X-TC-Token: ** redacted **'"),
        "{masked}"
    );
    assert!(masked.contains("Filters.0.Key=Status"), "{masked}");
    assert!(
        !masked.contains("--data-raw"),
        "a GET has no body: {masked}"
    );
    let revealed = generate(&args(true), &[]);
    assert!(
        revealed.contains("-H 'X-TC-Token: session-token-value'"),
        "{revealed}"
    );
    assert!(
        !revealed.contains("key-from-the-command-line"),
        "{revealed}"
    );
    let signature = revealed
        .split("Signature=")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a signature");
    assert_eq!(signature.len(), 64, "{revealed}");
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// Reads the Go or Java string literal at the start of `source` (raw Go strings between
/// backquotes too) back into its text.
fn read_string_literal(source: &str) -> String {
    let mut chars = source.chars();
    match chars.next() {
        Some('`') => return chars.take_while(|c| *c != '`').collect(),
        Some('"') => {}
        _ => return String::new(),
    }
    let mut units: Vec<u16> = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => units.push(u16::from(b'\n')),
                Some('r') => units.push(u16::from(b'\r')),
                Some('t') => units.push(u16::from(b'\t')),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    units.push(u16::from_str_radix(&hex, 16).unwrap_or(0xfffd));
                }
                Some(other) => units.extend(other.encode_utf16(&mut [0; 2]).iter()),
                None => break,
            },
            other => units.extend(other.encode_utf16(&mut [0; 2]).iter()),
        }
    }
    String::from_utf16_lossy(&units)
}

/// A value for `member` that its rules accept, with every member of structures set and
/// lists of two, nested at most `depth` deep.
fn sample_value(member: &iotexplorer_model::MemberMeta, depth: usize) -> Option<Value> {
    use iotexplorer_model::{Constraint, ValueType};
    let mut text = "x".to_owned();
    let mut number = 1i64;
    for constraint in member.constraints {
        match constraint {
            Constraint::OneOf(values) => number = values.first().copied().unwrap_or(1),
            Constraint::OneOfText(values) => {
                text = values.first().map_or("x", |v| v).to_owned();
            }
            Constraint::Range { min, .. } => number = min.unwrap_or(1).max(number),
            Constraint::Length { min, .. } => {
                text = "0".repeat(usize::try_from(min.unwrap_or(1)).unwrap_or(1).max(1));
            }
            Constraint::HexDigits => text = "0".repeat(text.len()),
            Constraint::JsonText => text = "{}".to_owned(),
            _ => {}
        }
    }
    let one = |index: usize| -> Option<Value> {
        Some(match member.value_type {
            ValueType::String => Value::from(if member.list {
                format!("{text}{index}")
            } else {
                text.clone()
            }),
            ValueType::Date => Value::from("2024-01-01"),
            ValueType::DateTimeIso => Value::from("2024-01-01T00:00:00Z"),
            ValueType::Int64 | ValueType::UInt64 => Value::from(number),
            ValueType::Float => Value::from(1.5),
            ValueType::Bool => Value::from(true),
            ValueType::Object(name) if depth > 0 => {
                let structure = iotexplorer_model::find_structure(name)?;
                let members = structure
                    .members
                    .iter()
                    .filter_map(|m| Some((m.name.to_owned(), sample_value(m, depth - 1)?)))
                    .collect();
                Value::Object(members)
            }
            _ => return None,
        })
    };
    if member.list {
        Some(Value::Array(vec![one(0)?, one(1)?]))
    } else {
        one(0)
    }
}

/// The body of a call of `meta` with every member set to a value its rules accept.
fn sample_body(meta: &iotexplorer_model::ActionMeta) -> String {
    let mut body: serde_json::Map<String, Value> = meta
        .input
        .iter()
        .filter_map(|m| Some((m.name.to_owned(), sample_value(m, 3)?)))
        .collect();
    for pair in meta.ordered {
        body.insert(pair.earlier.to_owned(), Value::from(1));
        body.insert(pair.later.to_owned(), Value::from(2));
    }
    Value::Object(body).to_string()
}

/// Every action's program in every language, with every member set, is read by that
/// language's own parser where it is here; the Rust ones come out as `cargo fmt` would leave
/// them (their layout follows rustfmt's rules rather than running it). Each check is first
/// shown a broken file, so that it can fail.
#[test]
#[allow(clippy::print_stderr)]
fn every_program_of_every_action_parses() {
    let scratch = temp_dir("generate-code-every-action");
    let dir = scratch.path();
    let languages = ["rust", "python", "node", "go", "java"];
    for language in languages {
        std::fs::create_dir_all(dir.join(language)).expect("temp dir");
    }
    let mut refused = Vec::new();
    let mut files: std::collections::HashMap<&str, Vec<PathBuf>> = Default::default();
    fn extension(language: &str) -> &str {
        match language {
            "rust" => "rs",
            "python" => "py",
            "node" => "js",
            other => other,
        }
    }
    for meta in iotexplorer_model::actions() {
        let body = sample_body(meta);
        for language in languages {
            let outcome = run_in_process(
                &[
                    "--region",
                    "ap-guangzhou",
                    meta.name,
                    "--cli-input-json",
                    &body,
                    "--generate-code",
                    language,
                ],
                &[],
                "",
            );
            if outcome.code != 0 {
                refused.push(format!("{} {language}: {}", meta.name, outcome.stderr));
                continue;
            }
            let path = dir
                .join(language)
                .join(format!("{}.{}", meta.name, extension(language)));
            std::fs::write(&path, &outcome.stdout).expect("write the program");
            files.entry(language).or_default().push(path);
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
    let broken = |language: &str, text: &str| {
        let path = dir
            .join(language)
            .join(format!("Broken.{}", extension(language)));
        std::fs::write(&path, text).expect("write");
        path
    };
    let failures_in = |report: &str, broken: &Path| -> Vec<String> {
        let name = broken
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("Broken");
        assert!(
            report.contains(name),
            "the check missed a broken file:\n{report}"
        );
        report
            .lines()
            .filter(|line| !line.contains(name) && !line.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };

    // Rust: rustfmt, which keeps the environment to find its toolchain under rustup.
    if tool_runs("rustfmt", "--version") {
        let sloppy = broken("rust", "fn  main(){}\n");
        let output = Command::new("rustfmt")
            .args(["--edition", "2024", "--check", "-l"])
            .arg(&sloppy)
            .args(&files["rust"])
            .output()
            .expect("rustfmt runs");
        let report = String::from_utf8_lossy(&output.stdout);
        let report: String = report
            .lines()
            .filter(|l| l.starts_with('/'))
            .collect::<Vec<_>>()
            .join("\n");
        let failures = failures_in(&report, &sloppy);
        assert!(
            failures.is_empty(),
            "not as rustfmt lays them out:\n{}",
            failures.join("\n")
        );
    } else {
        eprintln!("skipped: no rustfmt here");
    }

    // Python: its own parser over every file, in one process.
    if tool_runs("python3", "--version") {
        let bad = broken("python", "def main(:\n    pass\n");
        let script = "import ast, sys\n\
            for path in sys.argv[1:]:\n    \
            try:\n        ast.parse(open(path, encoding='utf-8').read(), path)\n    \
            except SyntaxError as err:\n        print(path, err)\n";
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&bad)
            .args(&files["python"])
            .output()
            .expect("python3 runs");
        let failures = failures_in(&String::from_utf8_lossy(&output.stdout), &bad);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    } else {
        eprintln!("skipped: no python3 here");
    }

    // Node.js: every program as the body of a function of one file, checked at once.
    if tool_runs("node", "--version") {
        for (index, with_broken) in [false, true].into_iter().enumerate() {
            let mut combined = String::new();
            for (number, path) in files["node"].iter().enumerate() {
                let program = std::fs::read_to_string(path).expect("read");
                combined.push_str(&format!("function program{number}() {{\n{program}\n}}\n"));
            }
            if with_broken {
                combined.push_str("function broken() { const = 1; }\n");
            }
            let path = dir.join("node").join(format!("all{index}.js"));
            std::fs::write(&path, combined).expect("write");
            let output = Command::new("node")
                .arg("--check")
                .arg(&path)
                .output()
                .expect("node runs");
            assert_eq!(
                output.status.success(),
                !with_broken,
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    } else {
        eprintln!("skipped: no node here");
    }

    // Java: javac's parser over every file, in one process.
    if tool_runs("java", "-version") {
        let checker = write_temp(&scratch, "SyntaxCheck.java", JAVA_SYNTAX_CHECK);
        let bad = broken("java", "public class Broken { void f() { int x = ; } }");
        let output = Command::new("java")
            .arg(&checker)
            .arg(&bad)
            .args(&files["java"])
            .output()
            .expect("java runs");
        let failures = failures_in(&String::from_utf8_lossy(&output.stderr), &bad);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    } else {
        eprintln!("skipped: no java here");
    }

    // Go: gofmt, which also says which files it would change.
    if tool_runs("gofmt", "-l") {
        let bad = broken("go", "package main\nfunc main() { x := }\n");
        let output = Command::new("gofmt")
            .arg("-l")
            .arg("-e")
            .arg(&bad)
            .args(&files["go"])
            .output()
            .expect("gofmt runs");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let failures = failures_in(&report, &bad);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    } else {
        eprintln!("skipped: no gofmt here (install Go to check the Go programs)");
    }
}

#[test]
fn reveal_refuses_a_role_before_anything_is_signed() {
    let outcome = run_in_process(
        &[
            "--endpoint",
            "http://127.0.0.1:9",
            "--role-arn",
            "qcs::cam::uin/1:roleName/fleet",
            "--role-session-name",
            "upgrade",
            "DescribeDevice",
            "--ProductId",
            "P",
            "--DeviceName",
            "d",
            "--generate-code",
            "curl",
            "--reveal-authorization",
        ],
        &[
            ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
            ("TENCENTCLOUD_SECRET_KEY", DEMO_KEY),
        ],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.contains("not with a role"), "{outcome:?}");
    assert!(outcome.stdout.is_empty());
}

#[test]
fn reveal_decides_on_the_tke_role_as_a_call_does() {
    // Blank TKE variables do not make a call sign with the role, so they must not make
    // --reveal-authorization refuse either; set ones do.
    let args = [
        "--endpoint",
        "http://127.0.0.1:9",
        "DescribeDevice",
        "--ProductId",
        "P",
        "--DeviceName",
        "d",
        "--generate-code",
        "curl",
        "--reveal-authorization",
    ];
    let keys = [
        ("TENCENTCLOUD_SECRET_ID", DEMO_ID),
        ("TENCENTCLOUD_SECRET_KEY", DEMO_KEY),
    ];
    let tke = |value: &'static str| {
        [
            ("TKE_REGION", value),
            ("TKE_PROVIDER_ID", value),
            ("TKE_WEB_IDENTITY_TOKEN_FILE", value),
            ("TKE_ROLE_ARN", value),
        ]
    };
    let blank: Vec<_> = keys.iter().copied().chain(tke(" ")).collect();
    let outcome = run_in_process(&args, &blank, "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stdout.contains("curl"), "{outcome:?}");
    let set: Vec<_> = keys.iter().copied().chain(tke("x")).collect();
    let outcome = run_in_process(&args, &set, "");
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.contains("not with a role"), "{outcome:?}");
}

#[test]
fn settings_come_from_the_tccli_profile_as_for_a_call() {
    let home = temp_dir("generate-code-home");
    std::fs::create_dir_all(home.path().join(".tccli")).expect("tccli dir");
    std::fs::write(
        home.path().join(".tccli/fleet.configure"),
        r#"{"_sys_param": {"region": "ap-shanghai", "language": "en-US"},
            "iotexplorer": {"endpoint": "iotexplorer.ap-shanghai.tencentcloudapi.com"}}"#,
    )
    .expect("configure file");
    let home_text = home.path().to_string_lossy().into_owned();
    let program = generate(
        &[
            "--profile",
            "fleet",
            "DescribeDevice",
            "--ProductId",
            "P",
            "--DeviceName",
            "d",
            "--generate-code",
            "rust",
        ],
        &[("HOME", home_text.as_str())],
    );
    assert!(program.contains(".region(\"ap-shanghai\")"), "{program}");
    assert!(program.contains(".language(Language::EnUs)"), "{program}");
    assert!(
        program.contains(".endpoint_url(\"https://iotexplorer.ap-shanghai.tencentcloudapi.com\")"),
        "{program}"
    );
    assert!(
        program.contains("DefaultCredentialsChain::builder().profile(\"fleet\")"),
        "{program}"
    );
}
