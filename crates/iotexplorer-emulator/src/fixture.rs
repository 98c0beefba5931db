//! The fixture: credentials, products, firmware, devices and optional settings, as JSON.

use serde::{Deserialize, Serialize};

use crate::faults::FaultRule;

/// Everything the emulator starts with.
///
/// Only `credentials` and `products` are needed; the other keys are optional.
///
/// ```
/// let fixture = iotexplorer_emulator::Fixture::from_json(
///     r#"{"credentials": [{"secret_id": "AKID1", "secret_key": "k", "token": null}],
///         "products": [{"product_id": "P1", "firmwares": [{"version": "1.0.0", "fw_type": "mcu"}],
///                       "devices": [{"name": "d1", "firmware_version": "1.0.0"}]}]}"#,
/// )?;
/// assert_eq!(fixture.products[0].devices[0].name, "d1");
/// # Ok::<(), iotexplorer_emulator::FixtureError>(())
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fixture {
    /// The key pairs the emulator accepts.
    pub credentials: Vec<CredentialFixture>,
    /// The products with their firmware and devices.
    pub products: Vec<ProductFixture>,
    /// Device-list files that `BatchUpdateFirmware` may name with `FileName`.
    #[serde(default)]
    pub device_lists: Vec<DeviceListFixture>,
    /// How devices progress through an update.
    #[serde(default)]
    pub progress: Option<ProgressSettings>,
    /// Faults active from the start.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// The seed everything random comes from (see [`crate::EmulatorBuilder::seed`], which
    /// wins over it); picked at random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// One accepted key pair; `token` makes it temporary (the request must send `X-TC-Token`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CredentialFixture {
    /// The SecretId.
    pub secret_id: String,
    /// The SecretKey.
    pub secret_key: String,
    /// The session token of temporary credentials.
    #[serde(default)]
    pub token: Option<String>,
    /// The account the key pair belongs to; absent for the one default account. A request
    /// sees and changes only the products of its SecretId's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl CredentialFixture {
    /// Long-term credentials.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
            account: None,
        }
    }

    /// The same credentials, of `account` rather than the default account.
    #[must_use]
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The same credentials made temporary with `token`.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub(crate) fn to_credentials(&self) -> tc3_sign::Credentials {
        self.with_secret_key(&self.secret_key)
    }

    /// The same SecretId and token with an empty SecretKey, with which no signature can be
    /// computed: for the checks that come before the signature.
    pub(crate) fn without_secret_key(&self) -> tc3_sign::Credentials {
        self.with_secret_key("")
    }

    fn with_secret_key(&self, secret_key: &str) -> tc3_sign::Credentials {
        let credentials = tc3_sign::Credentials::new(&self.secret_id, secret_key);
        match &self.token {
            Some(token) => credentials.with_token(token),
            None => credentials,
        }
    }
}

// Secrets never print, not even in a debug dump of the fixture.
impl std::fmt::Debug for CredentialFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFixture")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"** redacted **")
            .field("token", &self.token.as_ref().map(|_| "** redacted **"))
            .field("account", &self.account)
            .finish()
    }
}

/// A product.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProductFixture {
    /// The product ID, e.g. `ABCDE12345`.
    pub product_id: String,
    /// Its display name; defaults to the ID.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Firmware versions already uploaded.
    #[serde(default)]
    pub firmwares: Vec<FirmwareFixture>,
    /// Its devices.
    #[serde(default)]
    pub devices: Vec<DeviceFixture>,
    /// The account that owns it; absent for the one default account. Only SecretIds of
    /// that account see it, its firmware, devices and tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A firmware version of a product.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FirmwareFixture {
    /// The version, e.g. `2.0.0`.
    pub version: String,
    /// The firmware type, e.g. `mcu`.
    #[serde(default = "default_fw_type")]
    pub fw_type: String,
}

/// The firmware module when a fixture or an upload names none.
pub(crate) const DEFAULT_FW_TYPE: &str = "mcu";

fn default_fw_type() -> String {
    DEFAULT_FW_TYPE.to_owned()
}

/// A device and the firmware it runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeviceFixture {
    /// The device name.
    pub name: String,
    /// The firmware version it runs.
    pub firmware_version: String,
}

/// A device-list file, as if uploaded through the console: one device name per line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DeviceListFixture {
    /// The product it belongs to.
    pub product_id: String,
    /// The file name `BatchUpdateFirmware` sends as `FileName`.
    pub file_name: String,
    /// The devices; the file's content is these names joined by `\n`, which fixes its MD5
    /// and size.
    pub devices: Vec<String>,
}

impl DeviceListFixture {
    /// A device-list file.
    pub fn new(
        product_id: impl Into<String>,
        file_name: impl Into<String>,
        devices: Vec<String>,
    ) -> Self {
        Self {
            product_id: product_id.into(),
            file_name: file_name.into(),
            devices,
        }
    }

    /// The file's content.
    pub fn content(&self) -> String {
        self.devices.join("\n")
    }

    /// The lowercase hexadecimal MD5 of the content, as `FileMd5` must give it.
    pub fn md5_hex(&self) -> String {
        use md5::Digest;
        let digest = md5::Md5::digest(self.content().as_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The content's size in bytes, as `FileSize` must give it.
    pub fn size(&self) -> u64 {
        self.content().len() as u64
    }
}

/// How fast devices move through an update, and how often they fail.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProgressSettings {
    /// Real milliseconds per stage (pending, two download halves, burning).
    pub step_ms: u64,
    /// Emulated seconds one stage stands for; `TimeoutInterval` is measured in these.
    pub seconds_per_step: u64,
    /// Probability in `[0, 1]` that one attempt of one device fails.
    pub failure_rate: f64,
    /// Probability in `[0, 1]` that a device stalls while downloading and times out.
    pub timeout_rate: f64,
}

impl Default for ProgressSettings {
    fn default() -> Self {
        Self {
            step_ms: 1000,
            seconds_per_step: 30,
            failure_rate: 0.0,
            timeout_rate: 0.0,
        }
    }
}

impl ProgressSettings {
    /// The default speed with `step_ms` replaced.
    #[must_use]
    pub fn with_step_ms(mut self, step_ms: u64) -> Self {
        self.step_ms = step_ms;
        self
    }

    /// The settings with `failure_rate` replaced.
    #[must_use]
    pub fn with_failure_rate(mut self, failure_rate: f64) -> Self {
        self.failure_rate = failure_rate;
        self
    }

    /// The settings with `timeout_rate` replaced.
    #[must_use]
    pub fn with_timeout_rate(mut self, timeout_rate: f64) -> Self {
        self.timeout_rate = timeout_rate;
        self
    }
}

/// Why a fixture could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read the fixture file: {0}")]
    Io(#[from] std::io::Error),
    /// The JSON does not describe a fixture.
    #[error("the fixture is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

/// The SecretId of [`Fixture::demo`].
pub const DEMO_SECRET_ID: &str = "AKIDEMULATOREXAMPLE";
/// The SecretKey of [`Fixture::demo`]; it protects nothing but the local emulator.
pub const DEMO_SECRET_KEY: &str = "emulator-demo-secret-key-not-for-production";
/// The product of [`Fixture::demo`].
pub const DEMO_PRODUCT_ID: &str = "ABCDE12345";

impl Fixture {
    /// Reads a fixture from JSON text.
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads a fixture file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_json(&text)
    }

    /// The demo: product `ABCDE12345` with `mcu` firmware `1.0.0` and `2.0.0`, devices
    /// `dev001`..`dev010` on `1.0.0`, credentials [`DEMO_SECRET_ID`] / [`DEMO_SECRET_KEY`],
    /// and a device-list file `devices.txt` holding `dev001`..`dev005`.
    pub fn demo() -> Self {
        let devices: Vec<DeviceFixture> = (1..=10)
            .map(|n| DeviceFixture {
                name: format!("dev{n:03}"),
                firmware_version: "1.0.0".to_owned(),
            })
            .collect();
        let list = (1..=5).map(|n| format!("dev{n:03}")).collect();
        Self {
            credentials: vec![CredentialFixture::new(DEMO_SECRET_ID, DEMO_SECRET_KEY)],
            products: vec![ProductFixture {
                product_id: DEMO_PRODUCT_ID.to_owned(),
                product_name: Some("demo".to_owned()),
                firmwares: ["1.0.0", "2.0.0"]
                    .iter()
                    .map(|version| FirmwareFixture {
                        version: (*version).to_owned(),
                        fw_type: default_fw_type(),
                    })
                    .collect(),
                devices,
                account: None,
            }],
            device_lists: vec![DeviceListFixture::new(DEMO_PRODUCT_ID, "devices.txt", list)],
            progress: None,
            faults: Vec::new(),
            seed: None,
        }
    }

    /// Adds accepted credentials.
    #[must_use]
    pub fn with_credentials(mut self, credentials: CredentialFixture) -> Self {
        self.credentials.push(credentials);
        self
    }

    /// Adds a device-list file.
    #[must_use]
    pub fn with_device_list(mut self, list: DeviceListFixture) -> Self {
        self.device_lists.push(list);
        self
    }
}
