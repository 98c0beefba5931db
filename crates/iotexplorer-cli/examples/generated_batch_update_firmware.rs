// Printed by the `iotexplorer` command in tests/generate_code.rs, which checks that it
// still is; the attribute only quiets this workspace's lints on printing.
#![allow(clippy::print_stdout, clippy::print_stderr)]
//! BatchUpdateFirmware (批量升级固件): the call as a program.
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! iotexplorer-emulator = "0.1.0"
//! iotexplorer-http = "0.1.0"
//! iotexplorer-model = "0.1.0"
//! serde_json = "1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! It starts the local emulator with its demo fixture and sends there, with the
//! emulator's demo credentials, as `iotexplorer --emulator` does.
//! Exit codes: 0 success, 1 API error, 2 invalid request, 3 no answer.

use std::process::ExitCode;

use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture};
use iotexplorer_http::{Client, Error};
use iotexplorer_model::BatchUpdateFirmwareRequest;

#[tokio::main]
async fn main() -> ExitCode {
    let emulator = match Emulator::builder()
        .fixture(Fixture::demo())
        .start("127.0.0.1:0")
        .await
    {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("cannot start the emulator: {error}");
            return ExitCode::from(3);
        }
    };
    let client = match Client::builder()
        .endpoint_url(emulator.url())
        .static_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)
        .region("ap-guangzhou")
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot set up the client: {error}");
            return ExitCode::from(2);
        }
    };
    let code = call(&client).await;
    emulator.shutdown().await;
    code
}

/// Builds the request (`build()` checks every documented rule, so nothing invalid is
/// sent), sends it and reports the outcome.
async fn call(client: &Client) -> ExitCode {
    let request = match BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .device_names("dev001")
        .device_names("dev002")
        .task_user_define("{\"rollout\":\"example\"}")
        .build()
    {
        Ok(request) => request,
        Err(errors) => {
            eprintln!("invalid request: {errors}");
            return ExitCode::from(2);
        }
    };
    match client.send(&request).await {
        Ok(response) => {
            match serde_json::to_string_pretty(&response) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("cannot show the response: {error}"),
            }
            ExitCode::SUCCESS
        }
        // The request was sent and no answer came back: the service may have run it.
        // The client never resends such a call of an action that changes something;
        // look the task up (DescribeFirmwareTasks) before sending it again.
        Err(error @ Error::Ambiguous { .. }) => {
            eprintln!("outcome unknown, check before retrying: {error}");
            ExitCode::from(3)
        }
        // The service answered with an error code (throttling was already retried).
        Err(Error::Api {
            code,
            message,
            request_id,
            ..
        }) => {
            eprintln!(
                "{code}: {message} (RequestId {})",
                request_id.as_deref().unwrap_or("none")
            );
            ExitCode::from(1)
        }
        // Credentials, network or TLS before anything was sent, or an answer that is not
        // the API's.
        Err(error) => {
            eprintln!("the call failed: {error}");
            ExitCode::from(3)
        }
    }
}
