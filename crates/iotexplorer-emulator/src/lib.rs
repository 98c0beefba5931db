//! A local, stateful stand-in for the Tencent Cloud IoT Explorer firmware-update (OTA)
//! API (`iotexplorer`, version `2019-04-23`).
//!
//! It checks TC3-HMAC-SHA256 signatures (and legacy v1 ones) with `tc3-sign`, validates
//! members with `iotexplorer-model`, and answers with Tencent's envelope and error codes,
//! so any correct client works against it unchanged. Tasks created with
//! `BatchUpdateFirmware` progress on a clock the emulator owns, fast enough to watch a
//! rollout finish in seconds. Faults (delays, dropped connections, 502 pages, truncated
//! JSON, forced error codes) can be injected from the fixture or at run time.
//!
//! [`serve`] runs it in the foreground on typed [`ServeSettings`]; the `cli` feature adds
//! `cli::ServeFlags`, the command-line flags of the `iotexplorer-emulator` binary and of
//! `iotexplorer emulator`, parsed into those settings. Without it the crate pulls in no
//! command-line parser.
//!
//! ```
//! use iotexplorer_emulator::{Emulator, Fixture, ProgressSettings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let running = Emulator::builder()
//!         .fixture(Fixture::demo())
//!         .rate_limit(20)
//!         .max_skew(300)
//!         .progress(ProgressSettings::default().with_step_ms(50))
//!         .start("127.0.0.1:0")
//!         .await?;
//!     assert!(running.url().starts_with("http://127.0.0.1:"));
//!     assert_eq!(running.arrivals(), 0);
//!     running.shutdown().await;
//!     Ok(())
//! })
//! # }
//! ```

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

mod actions;
mod admission;
mod auth;
mod body;
mod budget;
mod change;
#[cfg(feature = "cli")]
pub mod cli;
mod connection;
mod device_clock;
mod disk;
mod faults;
mod fixture;
mod limits;
mod persist;
mod random;
mod rate_limit;
mod request;
mod respond;
mod schedule;
mod serve;
mod server;
mod state;
mod state_log;
mod task_devices;

pub use disk::StorageFaults;
pub use faults::{FaultKind, FaultRule, Faults};
pub use fixture::{
    CredentialFixture, DEMO_PRODUCT_ID, DEMO_SECRET_ID, DEMO_SECRET_KEY, DeviceFixture,
    DeviceListFixture, DeviceOffline, FirmwareFixture, Fixture, FixtureError, MAX_FIXTURE_BYTES,
    ProductFixture, ProgressSettings,
};
pub use limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_CONNECTIONS, MAX_TIMEOUT,
};
pub use serve::{DEFAULT_LISTEN, ServeSettings, ServeSettingsBuilder, SettingsError, serve};
pub use server::{
    DEFAULT_MAX_SKEW, DEFAULT_RATE_LIMIT, Emulator, EmulatorBuilder, RunningEmulator, StartError,
};
