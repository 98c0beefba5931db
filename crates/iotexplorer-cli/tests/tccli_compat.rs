//! A tccli user's setup and habits, unchanged: `~/.tccli` profiles, tccli's variables,
//! its global options, `--filter`, `--waiter`, `--cli-unfold-argument`, no colour off a
//! terminal, and help grouped as global options and the action's members.

mod support;

use iotexplorer_emulator::{
    CredentialFixture, DEMO_SECRET_ID, DEMO_SECRET_KEY, Fixture, ProgressSettings,
};
use serde_json::{Value, json};
use support::{Outcome, TestEmulator, run_binary, run_in_process, temp_dir};

const LIST_TASKS: &[&str] = &[
    "DescribeFirmwareTasks",
    "--ProductID",
    "ABCDE12345",
    "--FirmwareVersion",
    "2.0.0",
    "--Offset",
    "0",
    "--Limit",
    "10",
];

/// A home directory, removed when dropped.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// The directory as `HOME` gives it.
    fn as_str(&self) -> &str {
        self.dir
            .path()
            .to_str()
            .expect("a UTF-8 temporary directory")
    }
}

/// A home directory holding `~/.tccli/<profile>.credential` and `.configure`.
fn tccli_home(name: &str, files: &[(&str, Value)]) -> Home {
    let dir = temp_dir(name);
    let tccli = dir.path().join(".tccli");
    std::fs::create_dir_all(&tccli).expect("~/.tccli");
    for (file, content) in files {
        std::fs::write(tccli.join(file), content.to_string()).expect("profile file");
    }
    Home { dir }
}

fn demo_credential() -> Value {
    json!({"secretId": DEMO_SECRET_ID, "secretKey": DEMO_SECRET_KEY})
}

fn endpoint(emulator: &TestEmulator) -> Vec<String> {
    vec!["--endpoint".into(), emulator.url()]
}

fn with(prefix: &[String], args: &[&str]) -> Vec<String> {
    let mut all = prefix.to_vec();
    all.extend(args.iter().map(|arg| (*arg).to_owned()));
    all
}

fn run(args: &[String], env: &[(&str, &str)]) -> Outcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_binary(&args, env, "")
}

#[test]
fn tccli_profiles_give_credentials_region_and_output() {
    let emulator = TestEmulator::start();
    let configure = json!({
        "_sys_param": {"region": "ap-guangzhou", "output": "json"},
        "iotexplorer": {"endpoint": "iotexplorer.tencentcloudapi.com", "version": "2019-04-23"}
    });
    let ops_configure = json!({"_sys_param": {"region": "ap-guangzhou", "output": "text"}});
    let home = tccli_home(
        "profiles",
        &[
            ("default.credential", demo_credential()),
            ("default.configure", configure),
            ("ops.credential", demo_credential()),
            ("ops.configure", ops_configure),
            (
                "bad.credential",
                json!({"secretId": "AKIDunknown0000", "secretKey": "nope"}),
            ),
        ],
    );
    let env = [("HOME", home.as_str())];
    // The default profile: no flag, no variable.
    let outcome = run(&with(&endpoint(&emulator), LIST_TASKS), &env);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.starts_with("{\n    \""),
        "{}",
        outcome.stdout
    );
    // --profile before or after the action, and TCCLI_PROFILE; the profile's output.
    for args in [
        with(
            &endpoint(&emulator),
            &[&["--profile", "ops"], LIST_TASKS].concat(),
        ),
        with(
            &endpoint(&emulator),
            &[LIST_TASKS, &["--profile", "ops"]].concat(),
        ),
    ] {
        let outcome = run(&args, &env);
        assert_eq!(outcome.code, 0, "{outcome:?}");
        assert!(
            !outcome.stdout.starts_with('{'),
            "text output: {}",
            outcome.stdout
        );
    }
    let outcome = run(
        &with(&endpoint(&emulator), LIST_TASKS),
        &[("HOME", home.as_str()), ("TCCLI_PROFILE", "ops")],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(!outcome.stdout.starts_with('{'), "{}", outcome.stdout);
    // The profile's keys are the ones used: an unknown pair is refused by the service.
    let outcome = run(
        &with(
            &endpoint(&emulator),
            &[
                &["--profile", "bad", "--region", "ap-guangzhou"],
                LIST_TASKS,
            ]
            .concat(),
        ),
        &env,
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        outcome.stderr.contains("AuthFailure.SecretIdNotFound"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("nope"));
    // A profile that does not exist: no credentials anywhere.
    let outcome = run(
        &with(
            &endpoint(&emulator),
            &[
                &["--profile", "none", "--region", "ap-guangzhou"],
                LIST_TASKS,
            ]
            .concat(),
        ),
        &[("HOME", home.as_str())],
    );
    assert_ne!(outcome.code, 0, "{outcome:?}");
}

#[test]
fn temporary_credentials_come_with_tcclis_token_name() {
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new("AKIDtemporary000001", "temporary-key").with_token("tccli-token"),
    );
    let emulator = TestEmulator::start_with(fixture, ProgressSettings::default());
    let home = tccli_home("token", &[]);
    let region = with(&endpoint(&emulator), &["--region", "ap-guangzhou"]);
    let outcome = run(
        &with(&region, LIST_TASKS),
        &[
            ("HOME", home.as_str()),
            ("TENCENTCLOUD_SECRET_ID", "AKIDtemporary000001"),
            ("TENCENTCLOUD_SECRET_KEY", "temporary-key"),
            ("TENCENTCLOUD_TOKEN", "tccli-token"),
        ],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    // The same from a profile written by a tccli login, still valid.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600;
    let login = json!({"type": "oauth", "secretId": "AKIDtemporary000001", "secretKey": "temporary-key", "token": "tccli-token", "expiresAt": later});
    let home = tccli_home("login", &[("default.credential", login)]);
    let outcome = run(&with(&region, LIST_TASKS), &[("HOME", home.as_str())]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    // Expired: refused before sending, with what to do.
    let expired = json!({"type": "oauth", "secretId": "AKIDtemporary000001", "secretKey": "temporary-key", "token": "tccli-token", "expiresAt": 1_000_000});
    let home = tccli_home("expired", &[("default.credential", expired)]);
    let before = emulator.arrivals();
    let outcome = run(&with(&region, LIST_TASKS), &[("HOME", home.as_str())]);
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(
        outcome.stderr.contains("tccli auth login"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("temporary-key") && !outcome.stderr.contains("tccli-token"));
    assert_eq!(emulator.arrivals(), before);
}

#[test]
fn a_named_profile_wins_over_the_variables_as_in_tccli() {
    let emulator = TestEmulator::start();
    let home = tccli_home("named", &[("ops.credential", demo_credential())]);
    let wrong_keys = [
        ("HOME", home.as_str()),
        ("TENCENTCLOUD_SECRET_ID", "AKIDwrong00000000"),
        ("TENCENTCLOUD_SECRET_KEY", "wrong"),
    ];
    let region = with(&endpoint(&emulator), &["--region", "ap-guangzhou"]);
    let outcome = run(
        &with(&region, &[&["--profile", "ops"], LIST_TASKS].concat()),
        &wrong_keys,
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    // Without --profile the variables come first.
    let outcome = run(&with(&region, LIST_TASKS), &wrong_keys);
    assert_eq!(outcome.code, 1, "{outcome:?}");
}

#[test]
fn no_colour_off_a_terminal() {
    // The real binary, with stderr a pipe: clap's errors and help carry no escapes.
    for (args, env) in [
        (vec!["BatchUpdateFirmware", "--NoSuchMember", "x"], vec![]),
        (vec!["NoSuchAction"], vec![]),
        (vec!["BatchUpdateFirmware", "--help"], vec![]),
        (vec!["--bogus"], vec![("NO_COLOR", "1")]),
    ] {
        let outcome = run_binary(&args, &env, "");
        for text in [&outcome.stdout, &outcome.stderr] {
            assert!(!text.contains('\u{1b}'), "{args:?}: {text:?}");
        }
    }
    // On a terminal colour is allowed, unless NO_COLOR says otherwise.
    let coloured = |no_color: Option<&str>| {
        let env: std::collections::HashMap<&str, &str> = no_color
            .map(|value| ("NO_COLOR", value))
            .into_iter()
            .collect();
        let lookup = move |name: &str| env.get(name).map(|value| (*value).to_owned());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let args: Vec<std::ffi::OsString> = vec!["iotexplorer".into(), "--bogus".into()];
        iotexplorer_cli::run_with_terminals(
            &args,
            &mut iotexplorer_cli::Io {
                env: &lookup,
                stdin: &mut std::io::empty(),
                stdout: &mut stdout,
                stderr: &mut stderr,
            },
            iotexplorer_cli::Terminals::new(true, true),
        );
        String::from_utf8_lossy(&stderr).contains('\u{1b}')
    };
    assert!(coloured(None));
    assert!(!coloured(Some("1")));
    assert!(coloured(Some("")), "an empty NO_COLOR does not count");
}

#[test]
fn filter_selects_from_the_answer_before_printing() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let upgrade = [
        "BatchUpdateFirmware",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
        "--DeviceNames",
        r#"["dev001","dev002"]"#,
    ];
    let outcome = run(
        &with(
            &globals,
            &[&upgrade[..], &["--filter", "TaskId", "--output", "text"]].concat(),
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let task_id = outcome.stdout.trim_end().to_owned();
    assert!(task_id.parse::<u64>().is_ok(), "{:?}", outcome.stdout);
    let outcome = run(
        &with(
            &globals,
            &[
                "DescribeFirmwareTaskDevices",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--filter",
                "sort(Devices[?DeviceName!='dev002'].DeviceName)",
            ],
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&outcome.stdout).ok(),
        Some(json!(["dev001"])),
        "{}",
        outcome.stdout
    );
    // A malformed expression is refused before anything is sent.
    let before = emulator.arrivals();
    let outcome = run(
        &with(
            &globals,
            &[LIST_TASKS, &["--filter", "TaskInfos[?"]].concat(),
        ),
        &[],
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert_eq!(emulator.arrivals(), before);
}

/// Each way of nesting a JMESPath expression, `depth` levels deep.
fn nested_filters(depth: usize) -> Vec<String> {
    vec![
        format!("{}FirmwareVersion", "!".repeat(depth)),
        format!("FirmwareVersion{}", ".a".repeat(depth)),
        format!("{}FirmwareVersion{}", "(".repeat(depth), ")".repeat(depth)),
        format!("FirmwareVersion{}", "[0]".repeat(depth)),
        format!("FirmwareVersion{}", "|@".repeat(depth)),
        format!("{}FirmwareVersion{}", "[".repeat(depth), "]".repeat(depth)),
        format!(
            "{}FirmwareVersion{}",
            "{a:".repeat(depth),
            "}".repeat(depth)
        ),
    ]
}

#[test]
fn a_filter_nested_deeper_than_a_person_writes_is_refused_not_a_crash() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let describe = [
        "DescribeFirmware",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
    ];
    let filtered = |filter: &str| {
        run(
            &with(&globals, &[&describe[..], &["--filter", filter]].concat()),
            &[],
        )
    };
    // The bound, as a refusal states it ("at most N").
    let refusal = filtered(&nested_filters(20_000)[0]);
    let bound: usize = refusal
        .stderr
        .split("at most ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no bound in {:?}", refusal.stderr));
    // As deep as allowed: parsed, run on the answer and printed by this (debug) build.
    // The waiter compiles and runs its expression the same way.
    for filter in nested_filters(bound) {
        let outcome = filtered(&filter);
        assert_eq!(outcome.code, 0, "{}: {outcome:?}", &filter[..40]);
    }
    // Long but flat, as a script would write one: 200 alternatives, as in tccli.
    let alternatives: Vec<String> = (0..200).map(|n| format!("Version=='{n}.0.0'")).collect();
    let outcome = filtered(&alternatives.join(" || "));
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(outcome.stdout.trim(), "true", "{outcome:?}");
    // A long malformed one is told by its position, not repeated whole.
    let outcome = filtered(&format!("{}[?", "a.".repeat(3000)));
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.len() < 1000, "{}", outcome.stderr);
    // Far deeper: refused before anything is sent, where the parser once overflowed the
    // stack and aborted the process.
    let before = emulator.arrivals();
    for filter in nested_filters(20_000) {
        let outcome = run(
            &with(&globals, &[&describe[..], &["--filter", &filter]].concat()),
            &[],
        );
        assert_eq!(outcome.code, 2, "{}: {outcome:?}", &filter[..40]);
        assert!(
            outcome.stderr.contains("too deeply nested"),
            "{}",
            outcome.stderr
        );
        assert!(outcome.stderr.len() < 1000, "{}", outcome.stderr);
    }
    assert_eq!(emulator.arrivals(), before);
}

#[test]
fn unfolded_arguments_and_tcclis_other_globals_are_accepted() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let outcome = run(
        &with(
            &globals,
            &[
                "--cli-unfold-argument",
                "BatchUpdateFirmware",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--DeviceNames",
                "dev001",
                "dev002",
                "--version",
                "2019-04-23",
                "--warning",
                "--request-client",
                "nightly-job",
                "--dry-run",
            ],
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let shown: Value = serde_json::from_str(&outcome.stdout).expect("JSON");
    let body: Value = match &shown["Body"] {
        Value::String(text) => serde_json::from_str(text).expect("JSON body"),
        other => other.clone(),
    };
    assert_eq!(body["DeviceNames"], json!(["dev001", "dev002"]), "{shown}");
    let client = shown["Headers"]["x-tc-requestclient"]
        .as_str()
        .unwrap_or_default();
    assert!(
        client.starts_with("SDK_RUST_") && client.ends_with("; nightly-job"),
        "{shown}"
    );
    let outcome = run(
        &with(
            &globals,
            &[
                "DescribeFirmwareTasks",
                "--cli-unfold-argument",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--Offset",
                "0",
                "--Filters.0.Key",
                "Status",
                "--Filters.0.Value",
                "1",
                "--Limit",
                "5",
            ],
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    // --version alone prints the tool's version; another API version is refused.
    let outcome = run_in_process(&["--version"], &[], "");
    assert_eq!(outcome.code, 0);
    assert!(outcome.stdout.starts_with("iotexplorer "), "{outcome:?}");
    let outcome = run_in_process(
        &[
            "DescribeFirmware",
            "--version",
            "2017-03-12",
            "--ProductID",
            "P",
            "--FirmwareVersion",
            "1",
        ],
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    // --https-proxy goes where it says: an unreachable proxy is a transport error.
    let outcome = run(
        &[
            "--region",
            "ap-guangzhou",
            "--secretId",
            DEMO_SECRET_ID,
            "--secretKey",
            DEMO_SECRET_KEY,
            "--https-proxy",
            "http://127.0.0.1:9",
            "--timeout",
            "5",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .chain(LIST_TASKS.iter().map(|arg| (*arg).to_owned()))
        .collect::<Vec<_>>(),
        &[],
    );
    assert_eq!(outcome.code, 3, "{outcome:?}");
    // --role-arn needs its session name.
    let outcome = run_in_process(
        &[
            &["--role-arn", "qcs::cam::uin/1:roleName/x", "--region", "r"],
            LIST_TASKS,
        ]
        .concat(),
        &[],
        "",
    );
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(
        outcome.stderr.contains("--role-session-name"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn help_groups_global_options_and_the_actions_members() {
    for args in [
        &["BatchUpdateFirmware", "--help"][..],
        &["BatchUpdateFirmware", "help"],
    ] {
        let outcome = run_in_process(args, &[], "");
        assert_eq!(outcome.code, 0, "{outcome:?}");
        let help = &outcome.stdout;
        let members = help.find("Members of BatchUpdateFirmware:").expect(help);
        let globals = help.find("Global options:").expect(help);
        let product = help.find("--ProductID").expect(help);
        let region = help.find("--region").expect(help);
        assert!(
            members < product && product < globals && globals < region,
            "{help}"
        );
        assert!(
            help.contains("exit 2, nothing sent")
                || help.contains("nothing is sent")
                || help.contains("before anything is sent"),
            "{help}"
        );
    }
    let outcome = run_in_process(&["BatchUpdateFirmware", "help", "--detail"], &[], "");
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(
        outcome.stdout.contains("Documented error codes:"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_profiles_waiter_setting_that_is_no_wait_is_refused_before_anything_is_sent() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let describe = [
        "DescribeFirmwareTask",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
        "--TaskId",
        "1",
        "--waiter",
        "{'expr':'Status','to':2}",
    ];
    for (name, waiter) in [
        ("waiter-negative", json!({"timeout": -5})),
        ("waiter-nan", json!({"timeout": "NaN"})),
        ("waiter-interval", json!({"interval": -1})),
        ("waiter-long", json!({"timeout": 1e9})),
    ] {
        let home = tccli_home(name, &[("default.configure", json!({"waiter": waiter}))]);
        let before = emulator.arrivals();
        let outcome = run(&with(&globals, &describe), &[("HOME", home.as_str())]);
        assert_eq!(outcome.code, 2, "{waiter}: {outcome:?}");
        assert!(
            outcome.stderr.contains("of the profile's .configure file"),
            "{}",
            outcome.stderr
        );
        assert_eq!(emulator.arrivals(), before, "{waiter}");
    }
}

#[test]
fn a_waiter_on_an_action_that_changes_the_service_is_refused_before_anything_is_sent() {
    let emulator = TestEmulator::start();
    let globals = emulator.globals();
    let upgrade = [
        "BatchUpdateFirmware",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
        "--DeviceNames",
        r#"["dev001"]"#,
    ];
    // Each poll would have created a task.
    let waiter = [
        "--waiter",
        "{'expr':'TaskId','to':'x','timeout':4,'interval':1}",
    ];
    let outcome = run(&with(&globals, &[&upgrade[..], &waiter[..]].concat()), &[]);
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(
        outcome
            .stderr
            .contains("--waiter cannot be used with BatchUpdateFirmware")
            && outcome.stderr.contains("not read-only"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    assert_eq!(emulator.arrivals(), 0);
    // A profile's waiter defaults are no waiter: the write is sent once.
    let home = tccli_home(
        "waiter-defaults",
        &[(
            "default.configure",
            json!({"waiter": {"timeout": 4, "interval": 1}}),
        )],
    );
    let outcome = run(&with(&globals, &upgrade), &[("HOME", home.as_str())]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(emulator.arrivals(), 1);
}

#[test]
fn the_waiter_calls_until_the_task_is_done() {
    // Slow enough that the task is still running when the second process starts, even
    // on a busy machine; fast enough to finish within the wait.
    let emulator = TestEmulator::start_with(
        Fixture::demo(),
        ProgressSettings::default().with_step_ms(150),
    );
    let globals = emulator.globals();
    let outcome = run(
        &with(
            &globals,
            &[
                "BatchUpdateFirmware",
                "--ProductID",
                "ABCDE12345",
                "--FirmwareVersion",
                "2.0.0",
                "--DeviceNames",
                r#"["dev001","dev002"]"#,
                "--filter",
                "TaskId",
                "--output",
                "text",
            ],
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let task_id = outcome.stdout.trim().to_owned();
    let describe = [
        "DescribeFirmwareTask",
        "--ProductID",
        "ABCDE12345",
        "--FirmwareVersion",
        "2.0.0",
        "--TaskId",
        task_id.as_str(),
    ];
    let before = emulator.arrivals();
    let outcome = run(
        &with(
            &globals,
            &[
                &describe[..],
                &[
                    "--waiter",
                    "{'expr':'Status','to':5,'timeout':20,'interval':0.05}",
                    "--filter",
                    "Status",
                    "--output",
                    "text",
                ],
            ]
            .concat(),
        ),
        &[],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(outcome.stdout, "5\n", "only the answer on stdout");
    let calls = emulator.arrivals() - before;
    assert!(
        calls >= 2,
        "it had to wait: {calls} calls; {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("Inquiry result is 1."),
        "{}",
        outcome.stderr
    );
    // A state never reached: a bounded wait, then a failure naming the last value.
    let outcome = run(
        &with(
            &globals,
            &[
                &describe[..],
                &[
                    "--waiter",
                    "{'expr':'Status','to':7,'timeout':0.3,'interval':0.1}",
                ],
            ]
            .concat(),
        ),
        &[],
    );
    assert_eq!(outcome.code, 3, "{outcome:?}");
    assert!(
        outcome.stderr.contains("last value: 5"),
        "{}",
        outcome.stderr
    );
}

/// An HTTP/1.1 server on a free loopback port that answers each request (head and body,
/// as text) with `answer`'s status and JSON body, keeps every request, and stops after
/// `limit` connections.
struct LoopbackServer {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LoopbackServer {
    fn start(limit: usize, answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(limit) {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The head, then as much body as it declares.
                let complete = loop {
                    let Ok(read) = stream.read(&mut buffer) else {
                        break None;
                    };
                    if read == 0 {
                        break None;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break Some(text);
                        }
                    }
                };
                let Some(text) = complete else { continue };
                let (status, body) = answer(&text);
                kept.lock().expect("lock").push(text);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Unix seconds an hour from now.
fn in_an_hour() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600
}

/// A stand-in for STS: answers every request with the role's temporary keys.
struct TestSts;

impl TestSts {
    fn start(
        secret_id: &'static str,
        secret_key: &'static str,
        token: &'static str,
    ) -> LoopbackServer {
        LoopbackServer::start(8, move |_| {
            let body = json!({"Response": {
                "Credentials": {"TmpSecretId": secret_id, "TmpSecretKey": secret_key, "Token": token},
                "ExpiredTime": in_an_hour(), "Expiration": "2099-01-01T00:00:00Z",
                "RequestId": "sts-request"}});
            (200, body.to_string())
        })
    }
}

/// A stand-in for the CVM instance metadata service: the role `upgrader` and its
/// temporary keys, at the paths the real service uses.
fn test_metadata(
    secret_id: &'static str,
    secret_key: &'static str,
    token: &'static str,
) -> LoopbackServer {
    const PATH: &str = "/latest/meta-data/cam/security-credentials/";
    LoopbackServer::start(16, move |request| {
        let path = request
            .lines()
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .unwrap_or_default();
        match path.strip_prefix(PATH) {
            Some("") => (200, "upgrader".to_owned()),
            Some("upgrader") => {
                let body = json!({
                    "TmpSecretId": secret_id, "TmpSecretKey": secret_key, "Token": token,
                    "ExpiredTime": in_an_hour(), "Expiration": "2099-01-01T00:00:00Z",
                    "Code": "Success"});
                (200, body.to_string())
            }
            _ => (404, String::new()),
        }
    })
}

#[test]
fn the_cvm_role_signs_the_call_with_the_metadata_services_keys() {
    // The emulator knows only the role's temporary keys and token: the call succeeds only
    // when it is signed with what the metadata service handed out.
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new("AKIDcvmrole000000001", "cvm-role-key").with_token("cvm-token"),
    );
    let emulator = TestEmulator::start_with(fixture, ProgressSettings::default());
    let metadata = test_metadata("AKIDcvmrole000000001", "cvm-role-key", "cvm-token");
    let home = tccli_home("cvm-role", &[]);
    let base = with(&endpoint(&emulator), &["--region", "ap-guangzhou"]);
    let call = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = with(&base, extra);
        args.extend(LIST_TASKS.iter().map(|arg| (*arg).to_owned()));
        let mut env = env.to_vec();
        env.push(("HOME", home.as_str()));
        run(&args, &env)
    };
    let variable = "TENCENTCLOUD_CVM_METADATA_ENDPOINT";

    let outcome = call(&["--use-cvm-role"], &[(variable, metadata.url.as_str())]);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let paths: Vec<String> = metadata
        .seen()
        .iter()
        .filter_map(|request| request.lines().next().map(str::to_owned))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /latest/meta-data/cam/security-credentials/ HTTP/1.1",
            "GET /latest/meta-data/cam/security-credentials/upgrader HTTP/1.1"
        ]
    );
    assert!(
        !outcome.stderr.contains("cvm-role-key") && !outcome.stderr.contains("cvm-token"),
        "{outcome:?}"
    );

    // A profile whose credential file says `"type": "cvm-role"`, as tccli writes it.
    let profile_home = tccli_home(
        "cvm-role-profile",
        &[("default.credential", json!({"type": "cvm-role"}))],
    );
    let mut args = base.clone();
    args.extend(LIST_TASKS.iter().map(|arg| (*arg).to_owned()));
    let outcome = run(
        &args,
        &[
            (variable, metadata.url.as_str()),
            ("HOME", profile_home.as_str()),
        ],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(metadata.seen().len(), 4);

    // Plain http:// to another host would carry the role's keys in the clear: refused
    // before anything is sent, naming the variable's value.
    let before = emulator.arrivals();
    let outcome = call(&["--use-cvm-role"], &[(variable, "http://192.0.2.1:80")]);
    assert_eq!(outcome.code, 2, "{outcome:?}");
    assert!(outcome.stderr.contains("192.0.2.1"), "{outcome:?}");
    assert!(outcome.stderr.contains("loopback"), "{outcome:?}");
    assert_eq!(emulator.arrivals(), before);
    assert_eq!(metadata.seen().len(), 4);

    // The role's keys without its token are refused by the service: the token went too.
    let outcome = call(
        &[
            "--secretId",
            "AKIDcvmrole000000001",
            "--secretKey",
            "cvm-role-key",
        ],
        &[(variable, metadata.url.as_str())],
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stderr.contains("AuthFailure"), "{outcome:?}");
}

#[test]
fn a_role_arn_is_assumed_with_the_given_keys_and_its_keys_sign_the_call() {
    // The emulator knows only the role's temporary keys: the call succeeds only when it
    // is signed with them, not with the keys that assumed the role.
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new("AKIDrole000000000001", "role-key").with_token("role-token"),
    );
    let emulator = TestEmulator::start_with(fixture, ProgressSettings::default());
    let sts = TestSts::start("AKIDrole000000000001", "role-key", "role-token");
    let configure = json!({"sts": {"endpoint": sts.url}});
    let home = tccli_home("role", &[("default.configure", configure)]);
    let base = with(
        &endpoint(&emulator),
        &[
            "--region",
            "ap-guangzhou",
            "--secretId",
            "AKIDsource0000000001",
            "--secretKey",
            "source-key",
        ],
    );
    let outcome = run(
        &with(
            &base,
            &[
                "--role-arn",
                "qcs::cam::uin/100000000001:roleName/upgrader",
                "--role-session-name",
                "nightly",
            ],
        )
        .into_iter()
        .chain(LIST_TASKS.iter().map(|arg| (*arg).to_owned()))
        .collect::<Vec<_>>(),
        &[("HOME", home.as_str())],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let seen = sts.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let request = seen[0].to_ascii_lowercase();
    assert!(request.contains("x-tc-action: assumerole"), "{request}");
    assert!(
        request.contains("credential=akidsource0000000001/"),
        "{request}"
    );
    assert!(
        seen[0].contains("qcs::cam::uin/100000000001:roleName/upgrader")
            && seen[0].contains("nightly"),
        "{}",
        seen[0]
    );
    assert!(
        !seen[0].contains("source-key"),
        "the secret key went over the wire"
    );

    // The same from the variables tccli reads.
    let outcome = run(
        &base
            .iter()
            .cloned()
            .chain(LIST_TASKS.iter().map(|arg| (*arg).to_owned()))
            .collect::<Vec<_>>(),
        &[
            ("HOME", home.as_str()),
            (
                "TENCENTCLOUD_ROLE_ARN",
                "qcs::cam::uin/100000000001:roleName/upgrader",
            ),
            ("TENCENTCLOUD_ROLE_SESSION_NAME", "nightly"),
        ],
    );
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(sts.seen().len(), 2);

    // Without the role, the source keys alone are refused by the service.
    let outcome = run(
        &base
            .iter()
            .cloned()
            .chain(LIST_TASKS.iter().map(|arg| (*arg).to_owned()))
            .collect::<Vec<_>>(),
        &[("HOME", home.as_str())],
    );
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stderr.contains("AuthFailure"), "{outcome:?}");
}
