//! `--generate-code curl`: a TC3 signature cannot be worked out by hand, so instead of a
//! script this prints the request `--dry-run` signs, as a `curl` command. The service
//! accepts it for five minutes after its timestamp. The signature and any session token
//! are masked unless `--reveal-authorization` is given.

use std::fmt::Write as _;

use iotexplorer_http::{ProvideCredentials, RequestPreview};
use iotexplorer_model::SIGNATURE_MAX_AGE_SECS;
use tc3_sign::{Payload, SignableRequest, SignedHeaders, SigningParams, SigningSettings, sign};

use super::Call;
use super::literal::shell_word;
use crate::connect::{self, Provider};
use crate::failure::Failure;
use crate::settings::Connection;

/// The signed request as a `curl` command; with `reveal`, its real signature and token.
pub(crate) fn command(
    call: &Call<'_>,
    reveal: bool,
    connection: &Connection,
) -> Result<String, Failure> {
    if call.emulator {
        return Err(Failure::Usage(
            "--emulator stops when iotexplorer does, before curl could reach it; start \
             `iotexplorer emulator` and give its address with --endpoint"
                .to_owned(),
        ));
    }
    // Before anything is signed: a role's keys would be fetched only to be refused.
    if reveal && connection.credentials.signs_with_role() {
        return Err(Failure::Usage(
            "--reveal-authorization signs with keys only (--secretId and --secretKey, \
             TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or the profile's), not \
             with a role's temporary ones"
                .to_owned(),
        ));
    }
    let body = serde_json::Value::Object(call.body.clone());
    let (preview, secrets) = crate::runtime()?.block_on(async {
        let session = connect::Session::open(connection).await?;
        let preview = session
            .client
            .preview_json(call.meta, &body)
            .await
            .map_err(connect::failure_of);
        let secrets = match (&preview, reveal) {
            (Ok(preview), true) => Some(reveal_secrets(preview, &session.credentials).await),
            _ => None,
        };
        session.close().await;
        Ok::<_, Failure>((preview?, secrets.transpose()?))
    })?;
    Ok(render(call, &preview, secrets.as_ref()))
}

/// The real `Authorization` value and session token of a previewed request.
struct Secrets {
    authorization: String,
    token: Option<String>,
}

/// Signs the previewed request again with the credentials the client signed it with and
/// checks that the result is the request the client signed (same credential scope and
/// signed headers), so that a revealed command is exactly the previewed one.
async fn reveal_secrets(preview: &RequestPreview, provider: &Provider) -> Result<Secrets, Failure> {
    let credentials = provider
        .provide_credentials()
        .await
        .map(|provided| provided.credentials().clone())
        .map_err(|err| Failure::Transport(format!("no credentials: {err}")))?;
    let header = |name: &str| {
        preview
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let missing = |name: &str| Failure::Transport(format!("the signed request has no {name}"));
    let host = header("host").ok_or_else(|| missing("Host"))?;
    let content_type = header("content-type").ok_or_else(|| missing("Content-Type"))?;
    let timestamp: i64 = header("x-tc-timestamp")
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| missing("X-TC-Timestamp"))?;
    let masked = header("authorization").ok_or_else(|| missing("Authorization"))?;
    let signed_headers = masked
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("content-type;host")
        .trim();
    let query = preview.url.split_once('?').map_or("", |(_, query)| query);
    let payload = if header("x-tc-content-sha256") == Some(tc3_sign::UNSIGNED_PAYLOAD) {
        Payload::Unsigned
    } else {
        Payload::Bytes(preview.body.as_bytes())
    };
    let mut request =
        SignableRequest::new(&preview.method, host, content_type, payload).with_query(query);
    let mut selection = SignedHeaders::ContentTypeAndHost;
    for name in signed_headers.split(';') {
        if name != "content-type" && name != "host" {
            let value = header(name).ok_or_else(|| missing(name))?;
            request = request.with_header(name, value);
            selection = SignedHeaders::AllGiven;
        }
    }
    let params = SigningParams::new(&credentials, iotexplorer_model::SERVICE, timestamp)
        .with_settings(SigningSettings::default().with_signed_headers(selection));
    let signed = sign(&request, &params).map_err(|err| Failure::Usage(err.to_string()))?;
    let prefix = |authorization: &str| {
        authorization
            .split("Signature=")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    if prefix(signed.authorization()) != prefix(masked) {
        return Err(Failure::Transport(
            "the keys --reveal-authorization reads are not the ones the request was signed \
             with (changed meanwhile, or the call signs with a role's): nothing revealed"
                .to_owned(),
        ));
    }
    Ok(Secrets {
        authorization: signed.authorization().to_owned(),
        token: credentials
            .token()
            .map(|token| token.expose_secret().to_owned()),
    })
}

fn render(call: &Call<'_>, preview: &RequestPreview, secrets: Option<&Secrets>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}: the signed request, as curl sends it.",
        call.title()
    );
    let timestamp = preview
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-tc-timestamp"))
        .and_then(|(_, value)| value.parse::<i64>().ok());
    if let Some(timestamp) = timestamp {
        let _ = writeln!(
            out,
            "# Signed at {}; the service accepts it until {} ({SIGNATURE_MAX_AGE_SECS} s).",
            utc_time(timestamp),
            utc_time(timestamp.saturating_add_unsigned(SIGNATURE_MAX_AGE_SECS))
        );
    }
    if secrets.is_some() {
        out.push_str(
            "# Anyone who holds this command can make this exact call until then: keep it private.\n",
        );
    } else {
        out.push_str(
            "# The signature is masked: add --reveal-authorization for a command that works.\n",
        );
    }
    let _ = write!(
        out,
        "curl -sS -X {} {}",
        preview.method,
        shell_word(&preview.url)
    );
    for (name, value) in &preview.headers {
        let value = match (name.to_ascii_lowercase().as_str(), secrets) {
            ("authorization", Some(secrets)) => secrets.authorization.as_str(),
            (
                "x-tc-token",
                Some(Secrets {
                    token: Some(token), ..
                }),
            ) => token.as_str(),
            _ => value.as_str(),
        };
        let _ = write!(
            out,
            " \\\n  -H {}",
            shell_word(&format!("{}: {value}", header_name(name)))
        );
    }
    if !preview.body.is_empty() {
        let _ = write!(out, " \\\n  --data-raw {}", shell_word(&preview.body));
    }
    out.push('\n');
    out
}

/// The headers of a call as Tencent's documentation spells them.
const HEADER_NAMES: &[&str] = &[
    "Authorization",
    "Content-Type",
    "Host",
    "X-TC-Action",
    "X-TC-Content-SHA256",
    "X-TC-Language",
    "X-TC-Region",
    "X-TC-RequestClient",
    "X-TC-Timestamp",
    "X-TC-Token",
    "X-TC-Version",
];

/// `x-tc-requestclient` -> `X-TC-RequestClient`; any other `a-b` -> `A-B`.
fn header_name(name: &str) -> String {
    if let Some(known) = HEADER_NAMES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
    {
        return (*known).to_owned();
    }
    name.split('-')
        .map(|part| {
            if part.eq_ignore_ascii_case("tc") {
                "TC".to_owned()
            } else {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                })
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// `2026-01-02 03:04:05 UTC` for a Unix timestamp.
fn utc_time(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let seconds = timestamp.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_civil() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(1_551_113_065), "2019-02-25 16:44:25 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_time(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn header_names_are_capitalised() {
        assert_eq!(header_name("x-tc-action"), "X-TC-Action");
        assert_eq!(header_name("content-type"), "Content-Type");
        assert_eq!(header_name("x-tc-requestclient"), "X-TC-RequestClient");
    }
}
