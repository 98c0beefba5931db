//! From the typed connection settings to a ready client: endpoint, credentials, region,
//! timeouts, and with `--emulator` an emulator started in-process for the client to talk
//! to.

use std::sync::Arc;

use iotexplorer_emulator::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Emulator, Fixture, RunningEmulator};
use iotexplorer_http::credentials::{
    CvmRoleCredentials, DefaultCredentialsChain, EnvironmentCredentials, StsAssumeRole,
    TkeOidcRoleCredentials,
};
use iotexplorer_http::{Client, ProvideCredentials, StaticCredentials};

use crate::command::ROLE_ARN;
use crate::failure::Failure;
use crate::settings::{Connection, CredentialSources};

/// A source of credentials, shared by the client and whoever else must sign as it does.
pub(crate) type Provider = Arc<dyn ProvideCredentials>;

/// Keys given outright, with their token when there is one.
fn static_keys(id: String, key: String, token: Option<String>) -> Provider {
    let credentials = StaticCredentials::new(id, key);
    Arc::new(match token.filter(|token| !token.is_empty()) {
        Some(token) => credentials.with_token(token),
        None => credentials,
    })
}

/// A client, the credentials it signs with, and the emulator it talks to when
/// `--emulator` was given.
pub(crate) struct Session {
    pub(crate) client: Client,
    /// The credentials the client signs with.
    pub(crate) credentials: Provider,
    emulator: Option<RunningEmulator>,
}

impl Session {
    /// Builds the client `connection` describes.
    pub(crate) async fn open(connection: &Connection) -> Result<Session, Failure> {
        let emulator = if connection.emulator {
            let running = Emulator::builder()
                .fixture(Fixture::demo())
                .start("127.0.0.1:0")
                .await
                .map_err(|err| Failure::Transport(format!("cannot start the emulator: {err}")))?;
            Some(running)
        } else {
            None
        };
        let mut builder = Client::builder().proxy(connection.proxy.clone());
        if let Some(url) = connection.endpoint_url(emulator.as_ref().map(RunningEmulator::url)) {
            builder = builder.endpoint_url(url);
        }
        if let Some(region) = &connection.region {
            builder = builder.region(region.clone());
        }
        let credentials: Provider = if emulator.is_some() {
            // The variables, a profile and the roles hold credentials of the real service,
            // which the emulator does not know: only keys given outright are the caller's
            // choice for it.
            match connection.credentials.given_keys() {
                Some(keys) => keys,
                None => Arc::new(StaticCredentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY)),
            }
        } else {
            match connection.credentials.provider(connection)? {
                Some(provider) => provider,
                None => Arc::new(connection.credentials.chain()),
            }
        };
        builder = builder.credentials(Arc::clone(&credentials));
        if let Some(language) = connection.language {
            builder = builder.language(language);
        }
        if let Some(timeout) = connection.call_timeout {
            builder = builder.call_timeout(timeout);
        }
        if let Some(timeout) = connection.attempt_timeout {
            builder = builder.request_timeout(timeout);
        }
        builder = builder
            .signed_headers(connection.signed_headers)
            .method(connection.method);
        if let Some(name) = &connection.request_client {
            builder = builder.request_client(name.clone());
        }
        let client = builder
            .build()
            .map_err(|err| Failure::Usage(err.to_string()))?;
        Ok(Session {
            client,
            credentials,
            emulator,
        })
    }

    /// Stops the emulator, if one was started.
    pub(crate) async fn close(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

impl CredentialSources {
    /// The credentials to sign with, in tccli's order: `--use-cvm-role`; a role to
    /// assume (`--role-arn` and `--role-session-name`, their variables, or the profile's);
    /// the TKE OIDC role when its variables are set; then the keys of `--secretId` and
    /// `--secretKey`, the variables, or the profile's credential file (or its CVM role).
    /// `None` when none of these is there: the SDKs' chain then. (With `--emulator` only
    /// the keys given outright count, see [`Self::given_keys`].)
    pub(crate) fn provider(&self, connection: &Connection) -> Result<Option<Provider>, Failure> {
        let keys = self.keys()?;
        if self.use_cvm_role {
            return Ok(Some(Arc::new(self.cvm_role()?)));
        }
        if let Some(role) = &self.role {
            let source: Provider = match keys {
                Some(keys) => keys,
                None => Arc::new(self.chain()),
            };
            let mut assume = StsAssumeRole::builder(source, &role.arn, &role.session_name)
                .proxy(connection.proxy.clone());
            if let Some(url) = &self.sts_endpoint {
                assume = assume.endpoint_url(url.clone());
            }
            if let Some(region) = &connection.region {
                assume = assume.region(region);
            }
            let assume = assume
                .build()
                .map_err(|err| Failure::Usage(format!("--{ROLE_ARN}: {err}")))?;
            return Ok(Some(Arc::new(assume)));
        }
        if self.tke {
            let mut tke = TkeOidcRoleCredentials::from_lookup(self.lookup.clone())
                .with_proxy(connection.proxy.clone());
            if let Some(url) = &self.sts_endpoint {
                tke = tke.with_endpoint_url(url.clone());
            }
            return Ok(Some(Arc::new(tke)));
        }
        if let Some(keys) = keys {
            return Ok(Some(keys));
        }
        if self
            .file
            .as_ref()
            .is_some_and(crate::tccli_config::CredentialFile::is_cvm_role)
        {
            return Ok(Some(Arc::new(self.cvm_role()?)));
        }
        Ok(None)
    }

    /// Keys given outright: the flags, else the variables (when no profile was named),
    /// else the profile's credential file.
    pub(crate) fn keys(&self) -> Result<Option<Provider>, Failure> {
        if let Some(given) = self.given_keys() {
            return Ok(Some(given));
        }
        if self.variables {
            return Ok(Some(Arc::new(EnvironmentCredentials::from_lookup(
                self.lookup.clone(),
            ))));
        }
        let Some(file) = &self.file else {
            return Ok(None);
        };
        Ok(file
            .keys(&self.profile_name)?
            .map(|(id, key, token)| static_keys(id, key, token)))
    }

    /// The keys of `--secretId` and `--secretKey` (with `--token`), when given.
    pub(crate) fn given_keys(&self) -> Option<Provider> {
        let given = self.given.as_ref()?;
        Some(static_keys(
            given.secret_id.clone(),
            given.secret_key.clone(),
            given.token.clone(),
        ))
    }

    /// The CVM instance role, from `TENCENTCLOUD_CVM_METADATA_ENDPOINT` when it is set.
    fn cvm_role(&self) -> Result<CvmRoleCredentials, Failure> {
        let mut builder = CvmRoleCredentials::builder();
        if let Some(url) = &self.cvm_metadata_endpoint {
            builder = builder.metadata_endpoint(url.clone());
        }
        builder
            .build()
            .map_err(|err| Failure::Usage(err.to_string()))
    }

    /// The SDKs' chain, with the profile's name for the INI profile file.
    pub(crate) fn chain(&self) -> DefaultCredentialsChain {
        let mut chain = DefaultCredentialsChain::builder()
            .env(self.lookup.clone())
            .profile(self.profile_name.clone());
        if let Some(url) = &self.sts_endpoint {
            chain = chain.sts_endpoint_url(url.clone());
        }
        chain.build()
    }
}

/// How a client error ends the run: API errors exit 1, anything that was refused before
/// sending exits 2, everything else (credentials, network, TLS, timeouts) exits 3. A
/// call whose outcome is unknown also exits 3, and its message says that the request may
/// have been processed and must be checked before it is sent again.
pub(crate) fn failure_of(error: iotexplorer_http::Error) -> Failure {
    use iotexplorer_http::Error as E;
    match error {
        E::Api {
            code,
            message,
            request_id,
            ..
        } => Failure::Api {
            code: code.as_str().to_owned(),
            message,
            request_id,
        },
        E::Validation { .. } | E::UnknownAction { .. } => Failure::Usage(error.to_string()),
        other => {
            let mut message = other.to_string();
            // The answers of this service's actions: a credentials answer, whose excerpt
            // would show secrets, never reaches here.
            if let Some(excerpt) = other.unreadable_excerpt() {
                message.push_str("; the answer began: ");
                message.push_str(excerpt);
            }
            if other.is_ambiguous() {
                message.push_str(
                    "\nCheck its effect before sending it again (for BatchUpdateFirmware, look \
                     for the task with DescribeFirmwareTasks).",
                );
            }
            Failure::Transport(message)
        }
    }
}
