//! `peer.env`: how `.ci/netconf-peer.sh` describes a running NETCONF peer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{ClientError, Credentials, CredentialsError, HostKeyPolicy, SessionConfig};

/// One peer: address, login, client key, pinned host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEnv {
    /// `NETCONF_HOST`.
    pub host: String,
    /// `NETCONF_PORT`.
    pub port: u16,
    /// `NETCONF_USER`.
    pub user: String,
    /// `NETCONF_PASSWORD`.
    pub password: String,
    /// `NETCONF_KEY`: the client's private key file.
    pub key: PathBuf,
    /// `NETCONF_KNOWN_HOSTS`: an OpenSSH known_hosts file with the peer's host key.
    pub known_hosts: PathBuf,
    /// `NETCONF_HOST_KEY_FINGERPRINT`, OpenSSH `SHA256:` form.
    pub fingerprint: String,
}

/// Why a peer description is unusable.
#[derive(Debug, thiserror::Error)]
pub enum PeerEnvError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A variable is missing or malformed; start the peer with `.ci/netconf-peer.sh`.
    #[error("peer description: {0}")]
    Invalid(String),
    /// The client key cannot be used.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The session settings are unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
}

// === impl PeerEnv ===

impl PeerEnv {
    /// Reads a `peer.env` file.
    pub fn load(path: &Path) -> Result<Self, PeerEnvError> {
        Self::parse(&read(path)?)
    }

    /// Parses `KEY=value` lines.
    pub fn parse(text: &str) -> Result<Self, PeerEnvError> {
        let vars: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |k: &str| {
            vars.get(k)
                .map(|v| (*v).to_owned())
                .ok_or_else(|| PeerEnvError::Invalid(format!("{k} is missing")))
        };
        let port = get("NETCONF_PORT")?;
        Ok(Self {
            host: get("NETCONF_HOST")?,
            port: port
                .parse()
                .map_err(|_| PeerEnvError::Invalid(format!("NETCONF_PORT {port:?}")))?,
            user: get("NETCONF_USER")?,
            password: get("NETCONF_PASSWORD")?,
            key: get("NETCONF_KEY")?.into(),
            known_hosts: get("NETCONF_KNOWN_HOSTS")?.into(),
            fingerprint: get("NETCONF_HOST_KEY_FINGERPRINT")?,
        })
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The client's private key, as a Secret would hold it.
    pub fn private_key(&self) -> Result<String, PeerEnvError> {
        read(&self.key)
    }

    /// Password login with the host key pinned.
    pub fn config_password(&self) -> Result<SessionConfig, PeerEnvError> {
        self.config(Credentials::password(&self.user, &self.password))
    }

    /// Public key login (the key read into memory, as from a Secret), host key pinned.
    pub fn config_key(&self) -> Result<SessionConfig, PeerEnvError> {
        let data = BTreeMap::from([
            ("username".to_owned(), self.user.clone().into_bytes()),
            ("privateKey".to_owned(), self.private_key()?.into_bytes()),
        ]);
        self.config(Credentials::from_secret_data(&data)?)
    }

    fn config(&self, credentials: Credentials) -> Result<SessionConfig, PeerEnvError> {
        let policy = HostKeyPolicy::from_device(Some(&self.fingerprint), false)?;
        Ok(SessionConfig::new(&self.address(), credentials, policy)?)
    }

    /// The base64 public host key from the known_hosts file (what ncclient pins).
    pub fn host_key_base64(&self) -> Result<String, PeerEnvError> {
        let text = read(&self.known_hosts)?;
        host_key_in(&text, &self.host, self.port).ok_or_else(|| {
            PeerEnvError::Invalid(format!(
                "{} has no key for {}",
                self.known_hosts.display(),
                self.address()
            ))
        })
    }
}

/// The base64 key of the first known_hosts line naming `host` on `port`.
fn host_key_in(known_hosts: &str, host: &str, port: u16) -> Option<String> {
    let names = [format!("[{host}]:{port}"), host.to_owned()];
    known_hosts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let hosts = fields.next()?;
        let _key_type = fields.next()?;
        let key = fields.next()?;
        let wanted = if port == 22 { &names[..] } else { &names[..1] };
        hosts
            .split(',')
            .any(|h| wanted.iter().any(|w| w == h))
            .then(|| key.to_owned())
    })
}

fn read(path: &Path) -> Result<String, PeerEnvError> {
    std::fs::read_to_string(path).map_err(|source| PeerEnvError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "NETCONF_HOST=127.0.0.1\nNETCONF_PORT=18591\nNETCONF_USER=netconf\n\
        NETCONF_PASSWORD=pw\nNETCONF_KEY=/s/client_key\nNETCONF_KNOWN_HOSTS=/s/known_hosts\n\
        NETCONF_HOST_KEY_FINGERPRINT=SHA256:maYmtdOiWQLI8FKE7O55mhE7JWJZ4eUoN4DbOVP1Gq0\n\
        NETCONF_TARGET=candidate\n";

    #[test]
    fn parses_what_the_peer_script_writes() {
        let peer = PeerEnv::parse(ENV).unwrap();
        assert_eq!(peer.address(), "127.0.0.1:18591");
        assert_eq!(peer.key, Path::new("/s/client_key"));
        assert!(peer.config_password().is_ok());
        let broken = ENV.replace("NETCONF_PORT=18591", "NETCONF_PORT=x");
        assert!(PeerEnv::parse(&broken).is_err());
        assert!(PeerEnv::parse("NETCONF_HOST=h").is_err());
    }

    #[test]
    fn host_key_is_found_by_bracketed_host_and_port() {
        let known = "[127.0.0.1]:18592 ssh-ed25519 BBBB\n[127.0.0.1]:18591 ssh-ed25519 AAAA c\n";
        assert_eq!(
            host_key_in(known, "127.0.0.1", 18591).as_deref(),
            Some("AAAA")
        );
        assert_eq!(host_key_in(known, "127.0.0.1", 1), None);
        assert_eq!(
            host_key_in("h,127.0.0.1 ssh-ed25519 CCCC", "127.0.0.1", 22).as_deref(),
            Some("CCCC")
        );
    }
}
