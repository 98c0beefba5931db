//! `iotexplorer sign`: every stage of a signature, and which stage differs from another.

use std::fmt::Write as _;
use std::io::Read;

use tc3_sign::{
    Credentials, ParsedAuthorization, Payload, SignableRequest, SignedHeaders, SigningOutput,
    SigningParams, SigningSettings, sign,
};

use crate::bounded_read;
use crate::failure::Failure;
use crate::settings::SignSettings;

/// Standard input holding more than this is not a SecretKey.
const MAX_SECRET_KEY_BYTES: u64 = 4096;

/// Where the secret comes from: the environment, or standard input.
pub(crate) struct SecretSource<'a> {
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) stdin: &'a mut dyn Read,
}

/// Runs the debugger; `Ok(false)` when `--verify` found a difference.
pub(crate) fn run(
    settings: &SignSettings,
    source: &mut SecretSource<'_>,
    out: &mut String,
) -> Result<bool, Failure> {
    let credentials = credentials(settings, source)?;
    let method = settings.http_method.as_str();
    let (default_type, body, query) = if method == "GET" {
        if settings.body.is_some() {
            return Err(Failure::Usage(
                "a GET request has no body; use --query".to_owned(),
            ));
        }
        (
            tc3_sign::CONTENT_TYPE_FORM,
            "",
            settings.query.as_deref().unwrap_or_default(),
        )
    } else {
        if settings.query.is_some() {
            return Err(Failure::Usage(
                "a POST request is signed with an empty query string".to_owned(),
            ));
        }
        (
            tc3_sign::CONTENT_TYPE_JSON,
            settings.body.as_deref().unwrap_or_default(),
            "",
        )
    };
    let content_type = settings.content_type.as_deref().unwrap_or(default_type);

    let parsed = settings
        .verify
        .as_deref()
        .map(ParsedAuthorization::parse)
        .transpose()
        .map_err(|err| Failure::Usage(format!("--verify: {}", err.detail())))?;
    // Sign with the header list the other side used, so the comparison goes on past it.
    let sign_action = match &parsed {
        Some(theirs) => theirs.signed_headers().any(|name| name == "x-tc-action"),
        None => settings.flags.signed_headers()?.signs_action(),
    };
    let selection = if sign_action {
        SignedHeaders::AllGiven
    } else {
        SignedHeaders::ContentTypeAndHost
    };
    let request = SignableRequest::new(
        method,
        &settings.host,
        content_type,
        Payload::Bytes(body.as_bytes()),
    )
    .with_query(query)
    .with_header("X-TC-Action", &settings.action);
    let params = SigningParams::new(&credentials, &settings.service, settings.timestamp)
        .with_settings(SigningSettings::default().with_signed_headers(selection));
    let signed = sign(&request, &params).map_err(|err| Failure::Usage(err.to_string()))?;

    print_stages(out, &signed, settings.reveal_authorization);
    match parsed {
        Some(theirs) => Ok(compare(out, &signed, &theirs, &credentials)),
        None => Ok(true),
    }
}

fn credentials(
    settings: &SignSettings,
    source: &mut SecretSource<'_>,
) -> Result<Credentials, Failure> {
    let env_id = settings
        .flags
        .secret_id
        .clone()
        .or_else(|| (source.env)("TENCENTCLOUD_SECRET_ID"));
    let token = (source.env)("TENCENTCLOUD_SESSION_TOKEN");
    let with_token = |credentials: Credentials| match token {
        Some(token) => credentials.with_token(token),
        None => credentials,
    };
    if settings.secret_key_stdin {
        let id = env_id.ok_or_else(|| {
            Failure::Transport(
                "no SecretId: set TENCENTCLOUD_SECRET_ID or pass --secretId".to_owned(),
            )
        })?;
        let key =
            bounded_read::read_text(&mut *source.stdin, MAX_SECRET_KEY_BYTES).map_err(|err| {
                Failure::Transport(format!(
                    "cannot read the SecretKey from standard input: {err}"
                ))
            })?;
        return Ok(with_token(Credentials::new(
            id,
            key.trim_end_matches(['\r', '\n']),
        )));
    }
    if let (Some(id), Some(key)) = (env_id, (source.env)("TENCENTCLOUD_SECRET_KEY")) {
        return Ok(with_token(Credentials::new(id, key)));
    }
    profile_credentials(settings.flags.profile.as_deref(), source.env)
}

/// The profile file, as the client reads it: `TENCENTCLOUD_CREDENTIALS_FILE`,
/// `~/.tencentcloud/credentials`, then `/etc/tencentcloud/credentials`.
fn profile_credentials(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, Failure> {
    use iotexplorer_http::ProvideCredentials;
    use iotexplorer_http::credentials::{EnvLookup, ProfileCredentials};

    let pairs: Vec<(String, String)> = ["HOME", "TENCENTCLOUD_CREDENTIALS_FILE"]
        .iter()
        .filter_map(|name| env(name).map(|value| ((*name).to_owned(), value)))
        .collect();
    let mut provider = ProfileCredentials::from_lookup(EnvLookup::from_pairs(pairs));
    if let Some(profile) = profile {
        provider = provider.with_profile(profile);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| Failure::Transport(format!("cannot start the async runtime: {err}")))?;
    let provided = runtime.block_on(provider.provide_credentials());
    // Not waiting for a name lookup that never answers (see `RunRuntime`).
    runtime.shutdown_background();
    provided
        .map(|provided| provided.credentials().clone())
        .map_err(|err| {
            Failure::Transport(format!(
                "no credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, \
                 pass --secret-key-stdin, or write a profile file ({err})"
            ))
        })
}

/// Every stage; the signature only when revealed, since with the request it is the
/// Authorization header, whether printed on its own or in the header.
fn print_stages(out: &mut String, signed: &SigningOutput, reveal: bool) {
    let _ = writeln!(out, "CanonicalRequest:\n{}\n", signed.canonical_request());
    let _ = writeln!(
        out,
        "HashedCanonicalRequest: {}",
        signed.hashed_canonical_request()
    );
    let _ = writeln!(out, "\nStringToSign:\n{}\n", signed.string_to_sign());
    if reveal {
        let _ = writeln!(out, "Signature: {}", signed.signature());
        let _ = writeln!(out, "Authorization: {}", signed.authorization());
    } else {
        let _ = writeln!(
            out,
            "Signature: ** redacted ** (--reveal-authorization prints it)"
        );
        let _ = writeln!(out, "Authorization: {}", signed.redacted_authorization());
    }
}

/// Reports the first stage at which `theirs` departs from ours; `true` when none does.
fn compare(
    out: &mut String,
    ours: &SigningOutput,
    theirs: &ParsedAuthorization<'_>,
    credentials: &Credentials,
) -> bool {
    let scope = ours.credential_scope();
    let mut ours_scope = scope.split('/');
    let (our_date, our_service) = (
        ours_scope.next().unwrap_or_default(),
        ours_scope.next().unwrap_or_default(),
    );
    let differences = [
        (
            theirs.secret_id() != credentials.secret_id(),
            format!(
                "SecretId: theirs {}, ours {}",
                theirs.secret_id(),
                credentials.secret_id()
            ),
        ),
        (
            theirs.date() != our_date,
            format!(
                "credential date: theirs {}, ours {our_date} (the UTC date of X-TC-Timestamp {})",
                theirs.date(),
                ours.timestamp()
            ),
        ),
        (
            theirs.service() != our_service,
            format!("service: theirs {}, ours {our_service}", theirs.service()),
        ),
        (
            theirs.signed_headers_text() != ours.signed_headers(),
            format!(
                "SignedHeaders: theirs {}, ours {}",
                theirs.signed_headers_text(),
                ours.signed_headers()
            ),
        ),
    ];
    if let Some((_, difference)) = differences.iter().find(|(differs, _)| *differs) {
        let _ = writeln!(
            out,
            "\nMISMATCH in the credential scope or headers: {difference}"
        );
        return false;
    }
    match ParsedAuthorization::parse(ours.authorization()) {
        Ok(ours_parsed) if ours_parsed == *theirs => {
            let _ = writeln!(
                out,
                "\nMATCH: the Authorization header is the one computed above."
            );
            true
        }
        _ => {
            let _ = writeln!(
                out,
                "\nMISMATCH in the signature: scope and signed headers agree, so the canonical \
                 request (method, host, content type, query string, body bytes, X-TC-Action) \
                 or the SecretKey differs. Compare the canonical request above with the \
                 sender's, line by line."
            );
            false
        }
    }
}
