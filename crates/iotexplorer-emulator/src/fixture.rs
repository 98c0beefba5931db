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
    /// Whether it is offline (state 0) when a task begins, whatever the fleet's
    /// `offline_rate` draws: for some stages, or for as long as the task lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<DeviceOffline>,
}

/// How long a device stays offline when a task begins: `"never"` comes online, or
/// `{"for_steps": N}` comes online after `N` stages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum DeviceOffline {
    /// It stays offline until the task ends.
    Never,
    /// It comes online after this many stages.
    ForSteps(f64),
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
///
/// Every behaviour past `timeout_rate` is off by default, which keeps the timeline the
/// emulator always had; see the crate's README, "Device behaviour". Rates are
/// probabilities in `[0, 1]`, drawn per device when a task is created; durations are in
/// stages (`step_ms` each).
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
    /// Devices report every state: message sent (2) after pending, downloaded (20) after
    /// the download and processing (7) after burning, one stage each.
    #[serde(skip_serializing_if = "is_false")]
    pub detailed_stages: bool,
    /// Probability that a device is offline (0) when its task begins.
    #[serde(skip_serializing_if = "is_zero")]
    pub offline_rate: f64,
    /// An offline device comes online after a delay drawn evenly from 0 to this many
    /// stages.
    #[serde(skip_serializing_if = "is_zero")]
    pub online_after_steps: f64,
    /// Probability that an offline device never comes online: it stays 0 until its task
    /// ends, and the task keeps running.
    #[serde(skip_serializing_if = "is_zero")]
    pub never_online_rate: f64,
    /// In a task with `UpgradeMethod` 1, stages a device waits for its user's
    /// confirmation (8) after the message.
    #[serde(skip_serializing_if = "is_zero")]
    pub confirm_after_steps: f64,
    /// In a task with `UpgradeMethod` 1, probability that a user never confirms: the
    /// device stays 8 until its task ends, and the task keeps running.
    #[serde(skip_serializing_if = "is_zero")]
    pub never_confirm_rate: f64,
    /// Probability that a device reports done but keeps its old version, as when the
    /// firmware does not fit its module (`FwType`).
    #[serde(skip_serializing_if = "is_zero")]
    pub mismatch_rate: f64,
    /// Probability that a device fails late: after downloading and burning, instead of
    /// finishing.
    #[serde(skip_serializing_if = "is_zero")]
    pub late_failure_rate: f64,
}

// Plain functions because serde's `skip_serializing_if` takes a path; a setting at its
// default is left out, so a state file keeps the shape it had before the setting existed.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl Default for ProgressSettings {
    fn default() -> Self {
        Self {
            step_ms: 1000,
            seconds_per_step: 30,
            failure_rate: 0.0,
            timeout_rate: 0.0,
            detailed_stages: false,
            offline_rate: 0.0,
            online_after_steps: 0.0,
            never_online_rate: 0.0,
            confirm_after_steps: 0.0,
            never_confirm_rate: 0.0,
            mismatch_rate: 0.0,
            late_failure_rate: 0.0,
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

    /// The settings with `detailed_stages` replaced.
    #[must_use]
    pub fn with_detailed_stages(mut self, detailed: bool) -> Self {
        self.detailed_stages = detailed;
        self
    }

    /// The settings with `offline_rate`, `online_after_steps` and `never_online_rate`
    /// replaced.
    #[must_use]
    pub fn with_offline(
        mut self,
        rate: f64,
        online_after_steps: f64,
        never_online_rate: f64,
    ) -> Self {
        self.offline_rate = rate;
        self.online_after_steps = online_after_steps;
        self.never_online_rate = never_online_rate;
        self
    }

    /// The settings with `confirm_after_steps` and `never_confirm_rate` replaced.
    #[must_use]
    pub fn with_confirmation(mut self, after_steps: f64, never_rate: f64) -> Self {
        self.confirm_after_steps = after_steps;
        self.never_confirm_rate = never_rate;
        self
    }

    /// The settings with `mismatch_rate` replaced.
    #[must_use]
    pub fn with_mismatch_rate(mut self, mismatch_rate: f64) -> Self {
        self.mismatch_rate = mismatch_rate;
        self
    }

    /// The settings with `late_failure_rate` replaced.
    #[must_use]
    pub fn with_late_failure_rate(mut self, late_failure_rate: f64) -> Self {
        self.late_failure_rate = late_failure_rate;
        self
    }

    /// What is wrong with these settings, if anything: a rate outside `[0, 1]` or a
    /// duration that is negative or not a number.
    pub fn problem(&self) -> Option<String> {
        let rates = [
            ("failure_rate", self.failure_rate),
            ("timeout_rate", self.timeout_rate),
            ("offline_rate", self.offline_rate),
            ("never_online_rate", self.never_online_rate),
            ("never_confirm_rate", self.never_confirm_rate),
            ("mismatch_rate", self.mismatch_rate),
            ("late_failure_rate", self.late_failure_rate),
        ];
        let durations = [
            ("online_after_steps", self.online_after_steps),
            ("confirm_after_steps", self.confirm_after_steps),
        ];
        rates
            .iter()
            .find(|(_, rate)| !(0.0..=1.0).contains(rate))
            .map(|(name, rate)| format!("{name} must be a probability from 0 to 1, not {rate}"))
            .or_else(|| {
                durations
                    .iter()
                    .find(|(_, steps)| !(steps.is_finite() && *steps >= 0.0))
                    .map(|(name, steps)| {
                        format!("{name} must be a number of stages, 0 or more, not {steps}")
                    })
            })
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
    #[error("the fixture is not valid: {}", without_value(.0))]
    Json(#[from] serde_json::Error),
    /// A value in the fixture cannot work, e.g. a rate above 1.
    #[error("the fixture is not valid: {0}")]
    Value(String),
}

/// serde_json's message without the value it quotes (`invalid type: string "AKID:key",
/// expected ...` becomes `invalid type: string, expected ...`): a fixture's values include
/// its secrets. Field names, the expectation and the position stay.
fn without_value(err: &serde_json::Error) -> String {
    let message = err.to_string();
    for prefix in ["invalid type: ", "invalid value: "] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        // The last one: the quoted value may hold the same words.
        if let Some(expected) = rest.rfind(", expected ") {
            let kind = rest[..expected]
                .split(['"', '`'])
                .next()
                .unwrap_or_default()
                .trim();
            return format!("{prefix}{kind}{}", &rest[expected..]);
        }
    }
    message
}

/// The largest fixture file [`Fixture::from_file`] reads: room for millions of devices.
pub const MAX_FIXTURE_BYTES: u64 = 256 * 1024 * 1024;

/// The SecretId of [`Fixture::demo`].
pub const DEMO_SECRET_ID: &str = "AKIDEMULATOREXAMPLE";
/// The SecretKey of [`Fixture::demo`]; it protects nothing but the local emulator.
pub const DEMO_SECRET_KEY: &str = "emulator-demo-secret-key-not-for-production";
/// The product of [`Fixture::demo`].
pub const DEMO_PRODUCT_ID: &str = "ABCDE12345";

impl Fixture {
    /// Reads a fixture from JSON text.
    pub fn from_json(text: &str) -> Result<Self, FixtureError> {
        let fixture: Self = serde_json::from_str(text)?;
        match fixture.problem() {
            Some(problem) => Err(FixtureError::Value(problem)),
            None => Ok(fixture),
        }
    }

    /// What is wrong with the fixture's values, if anything.
    fn problem(&self) -> Option<String> {
        let progress = self
            .progress
            .and_then(|progress| progress.problem())
            .map(|problem| format!("progress: {problem}"));
        progress.or_else(|| {
            self.products
                .iter()
                .flat_map(|product| &product.devices)
                .find_map(|device| match device.offline {
                    Some(DeviceOffline::ForSteps(steps)) if !(steps.is_finite() && steps >= 0.0) => {
                        Some(format!(
                            "device {}: offline for_steps must be a number of stages, 0 or more, not {steps}",
                            device.name
                        ))
                    }
                    _ => None,
                })
        })
    }

    /// Reads a fixture file, refusing one larger than [`MAX_FIXTURE_BYTES`] (a wrong path
    /// such as `/dev/zero` would otherwise fill memory): a regular file by its length,
    /// unread; a pipe or a device once it has given one byte more.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, FixtureError> {
        use std::io::{Error, ErrorKind, Read as _};
        let too_large = || {
            FixtureError::Io(Error::new(
                ErrorKind::FileTooLarge,
                format!("more than {MAX_FIXTURE_BYTES} bytes"),
            ))
        };
        let file = std::fs::File::open(path)?;
        let metadata = file.metadata()?;
        // A regular file by its length, unread; a pipe or device no further than the bound.
        if metadata.is_file() && metadata.len() > MAX_FIXTURE_BYTES {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        file.take(MAX_FIXTURE_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FIXTURE_BYTES {
            return Err(too_large());
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| FixtureError::Io(Error::new(ErrorKind::InvalidData, "not UTF-8 text")))?;
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
                offline: None,
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
