//! Sessions to Devices: connection settings from the Device and its credentials Secret, one
//! pooled session (and one writer) per device from the [`SessionManager`].

use std::collections::BTreeMap;
use std::fmt;

use ferrule_crds::CREDENTIALS_SECRET_TYPE;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::provisioning::transactor::DeviceTarget;
use crate::southbound::client::{
    ClientError, Connector, Credentials, CredentialsError, HostKeyPolicy, ManagerError,
    SessionConfig, SessionLease, SessionManager,
};

/// Why no session to a device could be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The credentials Secret could not be read.
    #[error("Secret {name}: {source}")]
    Secret {
        /// Secret name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The credentials Secret has not opted in to being sent to devices: it is not of type
    /// [`CREDENTIALS_SECRET_TYPE`]. Nothing was sent to the Device's address.
    #[error(
        "Secret {name} is of type {actual:?}, not {CREDENTIALS_SECRET_TYPE:?}: only Secrets \
         of type {CREDENTIALS_SECRET_TYPE} are sent to devices; recreate it with \
         `type: {CREDENTIALS_SECRET_TYPE}`"
    )]
    NotPermitted {
        /// Secret name.
        name: String,
        /// The Secret's type.
        actual: String,
    },
    /// The credentials Secret lacks a usable login.
    #[error("Secret {name}: {source}")]
    Credentials {
        /// Secret name.
        name: String,
        /// What is missing.
        #[source]
        source: CredentialsError,
    },
    /// The Device's address or host key settings are unusable.
    #[error(transparent)]
    Settings(#[from] ClientError),
    /// Connecting failed.
    #[error(transparent)]
    Connect(#[from] ManagerError),
}

impl SessionError {
    /// Whether trying again later may help without anyone changing the Device or Secret.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Secret { source, .. } => {
                !matches!(source, kube::Error::Api(s) if s.is_not_found() || s.is_forbidden())
            }
            Self::NotPermitted { .. } | Self::Credentials { .. } => false,
            Self::Settings(e) => e.is_transient(),
            Self::Connect(e) => e.is_transient(),
        }
    }
}

/// Pooled sessions to devices, opened with credentials read from Secrets.
pub struct DeviceSessions<C: Connector> {
    client: Client,
    manager: SessionManager<C>,
}

impl<C: Connector> fmt::Debug for DeviceSessions<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSessions")
            .field("open", &self.manager.open_connections())
            .finish()
    }
}

impl<C: Connector> DeviceSessions<C> {
    /// Sessions through `manager`, credentials read with `client`.
    pub fn new(client: Client, manager: SessionManager<C>) -> Self {
        Self { client, manager }
    }

    /// The session manager.
    pub fn manager(&self) -> &SessionManager<C> {
        &self.manager
    }

    /// The settings to reach `target`.
    pub async fn config(&self, target: &DeviceTarget) -> Result<SessionConfig, SessionError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &target.namespace);
        let name = &target.credentials_secret;
        let secret = api.get(name).await.map_err(|source| SessionError::Secret {
            name: name.clone(),
            source,
        })?;
        if let Err(actual) = permitted(&secret) {
            return Err(SessionError::NotPermitted {
                name: name.clone(),
                actual,
            });
        }
        let credentials =
            Credentials::from_secret_data(&secret_data(&secret)).map_err(|source| {
                SessionError::Credentials {
                    name: name.clone(),
                    source,
                }
            })?;
        let host_key = HostKeyPolicy::from_device(
            target.host_key.as_deref(),
            target.insecure_skip_host_key_verification,
        )?;
        Ok(SessionConfig::new(&target.address, credentials, host_key)?)
    }

    /// Exclusive use of the session to `target`, opening it when needed.
    pub async fn lease(
        &self,
        target: &DeviceTarget,
    ) -> Result<SessionLease<C::Session>, SessionError> {
        let config = self.config(target).await?;
        Ok(self.manager.lease(&target.key(), &config).await?)
    }

    /// Exclusive use of the sessions to every target at once (one transaction), in the order
    /// given ([`SessionManager::lease_all`]). The error names the device it is about.
    pub async fn lease_all(
        &self,
        targets: &[&DeviceTarget],
    ) -> Result<Vec<SessionLease<C::Session>>, (String, SessionError)> {
        let mut configs = Vec::with_capacity(targets.len());
        for target in targets {
            let config = self
                .config(target)
                .await
                .map_err(|e| (target.name.clone(), e))?;
            configs.push(config);
        }
        let keys: Vec<String> = targets.iter().map(|t| t.key()).collect();
        let pairs: Vec<(&str, &SessionConfig)> =
            keys.iter().map(String::as_str).zip(&configs).collect();
        self.manager.lease_all(&pairs).await.map_err(|e| {
            let device = e
                .device()
                .and_then(|key| keys.iter().position(|k| k == key))
                .map_or_else(
                    || {
                        targets
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    |i| targets[i].name.clone(),
                );
            (device, SessionError::Connect(e))
        })
    }
}

/// Whether `secret` opted in to being a device's credentials (see
/// [`CREDENTIALS_SECRET_TYPE`]); its type when it did not. A Device author may name any
/// Secret of the namespace and any address, so only Secrets made for devices may be sent.
pub fn permitted(secret: &Secret) -> Result<(), String> {
    let actual = secret.type_.as_deref().unwrap_or("Opaque");
    if actual == CREDENTIALS_SECRET_TYPE {
        Ok(())
    } else {
        Err(actual.to_owned())
    }
}

/// The Secret's data, with `stringData` (which an API server folds into `data` on write)
/// taken into account for servers that return it as written.
pub fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (key, value) in secret.string_data.iter().flatten() {
        data.entry(key.clone())
            .or_insert_with(|| value.clone().into_bytes());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn typed(type_: Option<&str>) -> Secret {
        Secret {
            type_: type_.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn only_device_credential_secrets_are_permitted() {
        assert!(permitted(&typed(Some(CREDENTIALS_SECRET_TYPE))).is_ok());
        for other in [None, Some("Opaque"), Some("kubernetes.io/basic-auth")] {
            let actual = permitted(&typed(other)).unwrap_err();
            assert_eq!(actual, other.unwrap_or("Opaque"));
            let err = SessionError::NotPermitted {
                name: "db-password".into(),
                actual,
            };
            assert!(!err.is_transient());
            let text = err.to_string();
            assert!(text.contains("db-password"), "{text}");
            assert!(
                text.contains("type: ferrule.dev/device-credentials"),
                "{text}"
            );
        }
    }

    #[test]
    fn data_wins_over_string_data() {
        let secret = Secret {
            data: Some([("username".to_owned(), ByteString(b"admin".to_vec()))].into()),
            string_data: Some(
                [
                    ("username".to_owned(), "other".to_owned()),
                    ("password".to_owned(), "pw".to_owned()),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let data = secret_data(&secret);
        assert_eq!(data["username"], b"admin");
        assert_eq!(data["password"], b"pw");
    }
}
