//! What `tccli configure` (and tccli's login commands) write, read as tccli reads it:
//! `~/.tccli/<profile>.credential` (JSON: `secretId`, `secretKey`, optional `token`,
//! `type`, `expiresAt`, `role-arn`, `role-session-name`) and `~/.tccli/<profile>.configure`
//! (JSON: `_sys_param` with `region`, `output`, `language`, `request-client`, `warning`;
//! per-service sections such as `iotexplorer.endpoint` and `iotexplorer.version`;
//! `sts.endpoint`; `waiter.timeout` and `waiter.interval`).
//!
//! The profile is `--profile` (before or after the action), else `TCCLI_PROFILE`, else
//! `default`. A missing file is an empty one, as in tccli.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::bounded_read;

use crate::failure::Failure;

/// The service's section in a `.configure` file.
const SERVICE_SECTION: &str = "iotexplorer";
/// A configuration file larger than this is not one `tccli configure` wrote.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The profile a run uses, and what its files hold.
#[derive(Debug, Default)]
pub(crate) struct TccliProfile {
    /// The profile's name.
    pub(crate) name: String,
    /// Named with `--profile`: tccli then ignores the credential and region variables.
    pub(crate) explicit: bool,
    /// The `.credential` file, when there is one.
    pub(crate) credential: Option<CredentialFile>,
    /// The `.configure` file (empty when there is none).
    pub(crate) configure: ConfigureFile,
}

/// The credential file of a profile. Its secrets are never shown.
#[derive(Default, Clone)]
pub(crate) struct CredentialFile {
    pub(crate) path: PathBuf,
    pub(crate) secret_id: Option<String>,
    pub(crate) secret_key: Option<String>,
    pub(crate) token: Option<String>,
    /// `type`: absent for keys, `cvm-role`, or a login (`oauth`, `sso`).
    pub(crate) kind: Option<String>,
    /// `expiresAt`, Unix seconds, for temporary credentials of a login.
    pub(crate) expires_at: Option<i64>,
    pub(crate) role_arn: Option<String>,
    pub(crate) role_session_name: Option<String>,
}

impl std::fmt::Debug for CredentialFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFile")
            .field("path", &self.path)
            .field("secret_id", &self.secret_id)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The settings of a profile's `.configure` file that this tool uses.
#[derive(Debug, Default)]
pub(crate) struct ConfigureFile {
    pub(crate) region: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) request_client: Option<String>,
    /// `warning: "on"`.
    pub(crate) warning: bool,
    /// `iotexplorer.endpoint`: a host name, as tccli writes it, or a URL.
    pub(crate) endpoint: Option<String>,
    /// `iotexplorer.version`.
    pub(crate) version: Option<String>,
    /// `sts.endpoint`, for `--role-arn` and the TKE OIDC role.
    pub(crate) sts_endpoint: Option<String>,
    /// `waiter.timeout` and `waiter.interval`, the defaults of `--waiter`.
    pub(crate) waiter_timeout: Option<f64>,
    pub(crate) waiter_interval: Option<f64>,
}

impl TccliProfile {
    /// Reads the profile named by `--profile`, `TCCLI_PROFILE` or `default`.
    pub(crate) fn load(
        flag: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Failure> {
        let explicit = flag.is_some();
        let name = flag
            .map(str::to_owned)
            .or_else(|| env("TCCLI_PROFILE").filter(|name| !name.is_empty()))
            .unwrap_or_else(|| "default".to_owned());
        // The name becomes part of a path: it must not leave the directory.
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name == "." || name == ".." {
            return Err(Failure::Usage(format!("invalid profile name {name:?}")));
        }
        let Some(home) = env("HOME").filter(|home| !home.is_empty()) else {
            return Ok(Self {
                name,
                explicit,
                ..Self::default()
            });
        };
        let dir = Path::new(&home).join(".tccli");
        let credential = read_json(&dir.join(format!("{name}.credential")))
            .map_err(Failure::Transport)?
            .map(|(path, object)| credential_file(path, &object))
            .transpose()
            .map_err(Failure::Transport)?;
        let configure = read_json(&dir.join(format!("{name}.configure")))
            .map_err(Failure::Usage)?
            .map(|(_, object)| configure_file(&object))
            .unwrap_or_default();
        Ok(Self {
            name,
            explicit,
            credential,
            configure,
        })
    }
}

/// The JSON object in `path`; `None` when there is no such file.
/// A file read, and the JSON object it holds.
type JsonFile = (PathBuf, Map<String, Value>);

fn read_json(path: &Path) -> Result<Option<JsonFile>, String> {
    let text = match bounded_read::read_file(path, MAX_FILE_BYTES) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    // The parser's message is not shown: it may quote a secret.
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Ok(Some((path.to_owned(), object))),
        _ => Err(format!("{} is not a JSON object", path.display())),
    }
}

/// A string member; numbers are taken as their text, as tccli passes them on.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn credential_file(path: PathBuf, object: &Map<String, Value>) -> Result<CredentialFile, String> {
    let expires_at = match object.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|seconds| seconds as i64)),
        Some(_) => {
            return Err(format!(
                "{}: expiresAt is not a number of seconds",
                path.display()
            ));
        }
    };
    Ok(CredentialFile {
        secret_id: text(object, "secretId"),
        secret_key: text(object, "secretKey"),
        token: text(object, "token"),
        kind: text(object, "type"),
        expires_at,
        role_arn: text(object, "role-arn"),
        role_session_name: text(object, "role-session-name"),
        path,
    })
}

fn configure_file(object: &Map<String, Value>) -> ConfigureFile {
    let section = |name: &str| object.get(name).and_then(Value::as_object);
    // Older tccli versions kept the general settings at the top level.
    let general = |key: &str| {
        section("_sys_param")
            .and_then(|sys| text(sys, key))
            .or_else(|| text(object, key))
    };
    let number = |section_name: &str, key: &str| {
        section(section_name)
            .and_then(|s| s.get(key))
            .and_then(|value| match value {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            })
    };
    ConfigureFile {
        region: general("region"),
        output: general("output"),
        language: general("language"),
        request_client: general("request-client"),
        warning: general("warning").is_some_and(|value| value == "on"),
        endpoint: section(SERVICE_SECTION).and_then(|s| text(s, "endpoint")),
        version: section(SERVICE_SECTION).and_then(|s| text(s, "version")),
        sts_endpoint: section("sts").and_then(|s| text(s, "endpoint")),
        waiter_timeout: number("waiter", "timeout"),
        waiter_interval: number("waiter", "interval"),
    }
}

impl CredentialFile {
    /// Whether the file names the CVM role (`"type": "cvm-role"`).
    pub(crate) fn is_cvm_role(&self) -> bool {
        self.kind.as_deref() == Some("cvm-role")
    }

    /// The key pair and token, refusing temporary credentials that have expired: tccli
    /// refreshes those through its own login service, which this tool does not call.
    pub(crate) fn keys(
        &self,
        profile: &str,
    ) -> Result<Option<(String, String, Option<String>)>, Failure> {
        let (Some(id), Some(key)) = (&self.secret_id, &self.secret_key) else {
            if self.secret_id.is_some() || self.secret_key.is_some() {
                return Err(Failure::Transport(format!(
                    "{} has a secretId or a secretKey without the other",
                    self.path.display()
                )));
            }
            return Ok(None);
        };
        if let Some(expires_at) = self.expires_at {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs());
            if expires_at <= i64::try_from(now).unwrap_or(i64::MAX) {
                let login = match self.kind.as_deref() {
                    Some("sso") => "tccli sso login",
                    _ => "tccli auth login",
                };
                return Err(Failure::Transport(format!(
                    "the temporary credentials of profile {profile} in {} expired at Unix time \
                     {expires_at}; renew them with `{login}` (or any tccli call) and try again",
                    self.path.display()
                )));
            }
        }
        Ok(Some((id.clone(), key.clone(), self.token.clone())))
    }
}

/// A `.configure` endpoint as a URL: tccli stores a host name and calls it over https.
pub(crate) fn endpoint_url(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_layouts_of_the_configure_file() {
        let current = serde_json::json!({
            "_sys_param": {"region": "ap-shanghai", "output": "text", "warning": "on"},
            "iotexplorer": {"endpoint": "iotexplorer.ap-shanghai.tencentcloudapi.com", "version": "2019-04-23"},
            "waiter": {"timeout": 60, "interval": "2"}
        });
        let configure = configure_file(current.as_object().expect("object"));
        assert_eq!(configure.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(configure.output.as_deref(), Some("text"));
        assert!(configure.warning);
        assert_eq!(configure.version.as_deref(), Some("2019-04-23"));
        assert_eq!(configure.waiter_timeout, Some(60.0));
        assert_eq!(configure.waiter_interval, Some(2.0));
        let old = serde_json::json!({"region": "ap-beijing", "output": "table"});
        let configure = configure_file(old.as_object().expect("object"));
        assert_eq!(configure.region.as_deref(), Some("ap-beijing"));
        assert!(!configure.warning);
        assert_eq!(
            endpoint_url("iotexplorer.tencentcloudapi.com"),
            "https://iotexplorer.tencentcloudapi.com"
        );
        assert_eq!(
            endpoint_url("http://127.0.0.1:9555"),
            "http://127.0.0.1:9555"
        );
    }
}
