//! Errors while starting the API server.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::pki;
use super::status::ApiError;
use super::store::StoreError;

/// Errors while starting the API server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address is not a loopback address and remote access was not allowed; pass
    /// `--allow-remote` to serve other hosts.
    #[error("refusing to listen on non-loopback address {0} without --allow-remote")]
    RemoteRefused(SocketAddr),
    /// Plain HTTP is only offered on loopback.
    #[error("--insecure-http only listens on loopback addresses, not {0}")]
    InsecureRemote(SocketAddr),
    /// A file in the data directory could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The data directory is not safe to use (owned by another user, writable by others) or
    /// could not be prepared.
    #[error(transparent)]
    DataDir(#[from] ferrule_datadir::DataDirError),
    /// Certificates could not be created or loaded.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    /// The storage could not be opened.
    #[error("opening the store: {0}")]
    Store(#[source] StoreError),
    /// Creating what the server needs at start (the default namespace, the configured CRDs)
    /// failed.
    #[error("installing {name}: {error}")]
    Install {
        /// What was being installed.
        name: String,
        /// Why it failed.
        error: ApiError,
    },
    /// The kubeconfig could not be serialised.
    #[error("rendering the kubeconfig: {0}")]
    RenderKubeconfig(#[source] serde_saphyr::SerializeError),
    /// The generated kubeconfig was not accepted by kube-rs.
    #[error("client configuration: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// A kube-rs client could not be built.
    #[error("client: {0}")]
    Client(#[from] kube::Error),
}
