// Printed by the `iotexplorer` command in tests/generate_code.rs, which checks that it
// still is; the attribute only quiets this workspace's lints on printing.
#![allow(clippy::print_stdout, clippy::print_stderr)]
//! BatchUpdateFirmware (批量升级固件): the call as a program.
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! iotexplorer-http = "0.1.0"
//! iotexplorer-model = "0.1.0"
//! serde_json = "1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Credentials: `TENCENTCLOUD_SECRET_ID` and `TENCENTCLOUD_SECRET_KEY` (with
//! `TENCENTCLOUD_SESSION_TOKEN` for temporary ones), else the profile file
//! `~/.tencentcloud/credentials`, else the CVM instance role.
//! Exit codes: 0 success, 1 API error, 2 invalid request, 3 no answer.

use std::process::ExitCode;
use std::time::Duration;

use iotexplorer_http::credentials::DefaultCredentialsChain;
use iotexplorer_http::{Client, Error, HttpMethod, Language, SignedHeaderSet};
use iotexplorer_model::{BatchUpdateFirmwareRequest, FirmwareTaskType};

#[tokio::main]
async fn main() -> ExitCode {
    let client = match Client::builder()
        .endpoint_url("http://127.0.0.1:9555")
        .credentials(DefaultCredentialsChain::builder().profile("fleet").build())
        .region("ap-guangzhou")
        .language(Language::EnUs)
        .call_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_secs(10))
        .signed_headers(SignedHeaderSet::ContentTypeAndHost)
        .method(HttpMethod::Get)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot set up the client: {error}");
            return ExitCode::from(2);
        }
    };
    call(&client).await
}

/// Builds the request (`build()` checks every documented rule, so nothing invalid is
/// sent), sends it and reports the outcome.
async fn call(client: &Client) -> ExitCode {
    let request = match BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .timeout_interval(300)
        .r#type(FirmwareTaskType::Dynamic)
        .fw_type("mcu")
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
