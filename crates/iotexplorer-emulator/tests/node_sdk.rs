//! Tencent's official Node.js SDK (`tencentcloud-sdk-nodejs`, its common client) against
//! the emulator on a random port, unchanged: POST and GET, with long-term and temporary
//! credentials.
//!
//! The SDK is the one `.ci/run` installs, found through `IOTEXPLORER_SDK_NODE_MODULES`;
//! the test is skipped, saying so, where it or `node` is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iotexplorer_emulator::{CredentialFixture, Emulator, Fixture, RunningEmulator};
use serde_json::Value;

/// Calls `ListFirmwares` with the SDK's common client: `node program PORT METHOD SECRET_ID
/// SECRET_KEY [TOKEN]`. The endpoint is `iotexplorer.localhost:PORT`, since the SDK takes
/// the service name from the endpoint's first label; the agent sends it to 127.0.0.1,
/// since not every resolver knows `*.localhost`.
const PROGRAM: &str = r#"
const http = require("http");
const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common");

const [port, method, secretId, secretKey, token] = process.argv.slice(2);
const agent = new http.Agent({
  lookup: (hostname, options, callback) =>
    options && options.all
      ? callback(null, [{ address: "127.0.0.1", family: 4 }])
      : callback(null, "127.0.0.1", 4),
});
const client = new CommonClient(`iotexplorer.localhost:${port}`, "2019-04-23", {
  credential: { secretId, secretKey, token },
  region: "ap-guangzhou",
  profile: { httpProfile: { protocol: "http://", reqMethod: method, agent, reqTimeout: 10 } },
});
client
  .request("ListFirmwares", { ProductID: "ABCDE12345", PageNum: 1, PageSize: 10 })
  .then((response) => console.log(JSON.stringify(response)))
  .catch((error) => {
    console.error(`${error.code || ""} ${error.message}`);
    process.exit(1);
  });
"#;

const TEMPORARY_ID: &str = "AKIDTEMPORARY";
const TEMPORARY_KEY: &str = "temporary-key";
const TEMPORARY_TOKEN: &str = "session-token";

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

async fn start() -> RunningEmulator {
    let fixture = Fixture::demo().with_credentials(
        CredentialFixture::new(TEMPORARY_ID, TEMPORARY_KEY).with_token(TEMPORARY_TOKEN),
    );
    Emulator::builder()
        .fixture(fixture)
        .rate_limit(0)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

/// Runs the program once; `args` follow the port.
async fn run(program: &Path, modules: &Path, port: u16, args: &[&str]) -> Output {
    let mut command = Command::new("node");
    command
        .arg(program)
        .arg(port.to_string())
        .args(args)
        .env("NODE_PATH", modules)
        // The SDK would take a proxy from the environment; the emulator is reached directly.
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    tokio::task::spawn_blocking(move || command.output().expect("run node"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_node_sdk_is_served_on_any_port() {
    let Some(modules) = sdk_node_modules() else {
        return;
    };
    let emulator = start().await;
    let port = emulator.addr().port();
    let dir = tempfile::Builder::new()
        .prefix("iotexplorer-node-sdk-")
        .tempdir()
        .expect("temp dir");
    let program = dir.path().join("list_firmwares.js");
    std::fs::write(&program, PROGRAM).expect("write the program");

    let long_term = [
        iotexplorer_emulator::DEMO_SECRET_ID,
        iotexplorer_emulator::DEMO_SECRET_KEY,
    ];
    let temporary = [TEMPORARY_ID, TEMPORARY_KEY, TEMPORARY_TOKEN];
    let calls: [(&str, &[&str]); 4] = [
        ("POST", &long_term),
        ("GET", &long_term),
        ("POST", &temporary),
        ("GET", &temporary),
    ];
    for (method, credentials) in calls {
        let before = emulator.arrivals();
        let mut args = vec![method];
        args.extend_from_slice(credentials);
        let output = run(&program, &modules, port, &args).await;
        assert!(
            output.status.success(),
            "{method} with {} failed: {}",
            credentials[0],
            String::from_utf8_lossy(&output.stderr)
        );
        let response: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
        assert_eq!(response["TotalCount"], 2, "{response}");
        assert_eq!(emulator.arrivals(), before + 1, "{method}");
    }

    // A wrong key is still refused, as is a wrong token.
    let refusals: [(&[&str], &str); 2] = [
        (
            &[iotexplorer_emulator::DEMO_SECRET_ID, "wrong-key"],
            "AuthFailure.SignatureFailure",
        ),
        (
            &[TEMPORARY_ID, TEMPORARY_KEY, "wrong-token"],
            "AuthFailure.TokenFailure",
        ),
    ];
    for (credentials, code) in refusals {
        for method in ["POST", "GET"] {
            let mut args = vec![method];
            args.extend_from_slice(credentials);
            let output = run(&program, &modules, port, &args).await;
            assert_eq!(output.status.code(), Some(1), "{output:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(code), "{method}: {stderr}");
        }
    }
    emulator.shutdown().await;
}
