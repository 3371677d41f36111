//! The SSH leg of a session (russh): TCP connect, host key check, authentication, and the
//! `netconf` subsystem channel. Bytes in, bytes out; NETCONF framing lives elsewhere.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use russh::client::{self, AuthResult, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{Channel, ChannelMsg, Disconnect};
use tokio::net::TcpStream;

use super::config::SessionConfig;
use super::error::ClientError;
use super::hostkey::{HostKeyFingerprint, HostKeyPolicy};

/// russh callback that applies the host key policy. A refusal is recorded so the caller can
/// report it instead of russh's generic "unknown key" error.
#[derive(Debug)]
struct Verifier {
    policy: HostKeyPolicy,
    address: String,
    refusal: Arc<Mutex<Option<ClientError>>>,
    presented: Arc<Mutex<Option<HostKeyFingerprint>>>,
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // For a certificate the certified subject key is what the key exchange was signed
        // with; the pin applies to it (the certificate's CA grants nothing here).
        let fingerprint = HostKeyFingerprint::of(&key.public_key());
        if let Ok(mut slot) = self.presented.lock() {
            *slot = Some(fingerprint.clone());
        }
        match self.policy.check(&self.address, &fingerprint) {
            Ok(()) => {
                if self.policy == HostKeyPolicy::InsecureAcceptAny {
                    tracing::warn!(
                        address = %self.address,
                        fingerprint = %fingerprint,
                        "accepting SSH host key without verification (device opted out)"
                    );
                }
                Ok(true)
            }
            Err(err) => {
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(err);
                }
                Ok(false)
            }
        }
    }
}

/// An open `netconf` subsystem channel.
pub(crate) struct SshChannel {
    handle: Handle<Verifier>,
    channel: Channel<client::Msg>,
    address: String,
    host_key: Option<HostKeyFingerprint>,
}

impl std::fmt::Debug for SshChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshChannel")
            .field("address", &self.address)
            .field("host_key", &self.host_key)
            .finish_non_exhaustive()
    }
}

impl SshChannel {
    /// Connects, verifies the host key, authenticates and opens the subsystem. Not bounded
    /// in time: the caller applies the connect timeout around the whole session setup.
    pub(crate) async fn open(config: &SessionConfig) -> Result<Self, ClientError> {
        let address = config.address();
        let opts = &config.options;
        let ssh_config = client::Config {
            keepalive_interval: opts.keepalive_interval,
            keepalive_max: opts.keepalive_max,
            // Request/reply traffic of small messages: Nagle's algorithm would add delay.
            nodelay: true,
            inactivity_timeout: None,
            ..Default::default()
        };

        let tcp = TcpStream::connect((config.host.as_str(), config.port))
            .await
            .map_err(|source| ClientError::Connect {
                address: address.clone(),
                source,
            })?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%address, error = %e, "cannot disable Nagle's algorithm");
        }

        let refusal = Arc::new(Mutex::new(None));
        let presented = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            policy: config.host_key.clone(),
            address: address.clone(),
            refusal: refusal.clone(),
            presented: presented.clone(),
        };
        let mut handle = client::connect_stream(Arc::new(ssh_config), tcp, verifier)
            .await
            .map_err(|source| {
                refusal
                    .lock()
                    .ok()
                    .and_then(|mut slot| slot.take())
                    .unwrap_or(ClientError::Ssh {
                        address: address.clone(),
                        source,
                    })
            })?;
        let host_key = presented.lock().ok().and_then(|slot| slot.clone());

        authenticate(&mut handle, config, &address).await?;

        let ssh_err = |source| ClientError::Ssh {
            address: address.clone(),
            source,
        };
        let mut channel = handle.channel_open_session().await.map_err(ssh_err)?;
        channel
            .request_subsystem(true, "netconf")
            .await
            .map_err(ssh_err)?;
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => break,
                Some(ChannelMsg::Failure) => {
                    return Err(ClientError::SubsystemRefused { address });
                }
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                    return Err(ClientError::Closed {
                        address,
                        reason: "channel closed while requesting the netconf subsystem".into(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(Self {
            handle,
            channel,
            address,
            host_key,
        })
    }

    /// The fingerprint of the host key the device presented.
    pub(crate) fn host_key(&self) -> Option<&HostKeyFingerprint> {
        self.host_key.as_ref()
    }

    /// Sends bytes on the channel (waits for SSH flow-control window as needed).
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.channel
            .data(bytes)
            .await
            .map_err(|source| ClientError::Ssh {
                address: self.address.clone(),
                source,
            })
    }

    /// Receives the next data from the device; `None` when the channel or connection ended.
    pub(crate) async fn recv(&mut self) -> Option<Bytes> {
        loop {
            match self.channel.wait().await? {
                ChannelMsg::Data { data } => return Some(data),
                ChannelMsg::ExtendedData { data, .. } => {
                    tracing::debug!(
                        address = %self.address,
                        stderr = %String::from_utf8_lossy(&data),
                        "device wrote to the channel's stderr"
                    );
                }
                ChannelMsg::Eof | ChannelMsg::Close => return None,
                _ => {}
            }
        }
    }

    /// Whether the SSH connection is gone (e.g. keepalives went unanswered).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Closes the channel and the connection; errors are irrelevant at this point.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "session closed", "en")
            .await;
    }
}

/// Public key first (if configured), then password (if configured).
async fn authenticate(
    handle: &mut Handle<Verifier>,
    config: &SessionConfig,
    address: &str,
) -> Result<(), ClientError> {
    let creds = &config.credentials;
    let user = creds.username();
    let ssh_err = |source| ClientError::Ssh {
        address: address.to_string(),
        source,
    };
    let mut tried = Vec::new();
    if let Some(key) = creds.decode_private_key()? {
        tried.push("publickey");
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(ssh_err)?
            .flatten();
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(ssh_err)?;
        if matches!(result, AuthResult::Success) {
            return Ok(());
        }
    }
    if let Some(password) = creds.password_text() {
        tried.push("password");
        let result = handle
            .authenticate_password(user, password)
            .await
            .map_err(ssh_err)?;
        if matches!(result, AuthResult::Success) {
            return Ok(());
        }
    }
    Err(ClientError::AuthRejected {
        address: address.to_string(),
        user: user.to_string(),
        tried: tried.join(", "),
    })
}
