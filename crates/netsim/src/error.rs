//! Errors of the network simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not load its topology or start.
#[derive(Debug, thiserror::Error)]
pub enum NetsimError {
    /// The topology file could not be read; check the path and its permissions.
    #[error("cannot read topology {path}: {source}")]
    ReadTopology {
        /// The file that was read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The topology file is larger than the simulator accepts.
    #[error("topology is {size} bytes, more than the limit of {limit}")]
    TopologyTooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The topology is not valid YAML of the expected shape; the message says where.
    #[error("topology is not valid: {0}")]
    ParseTopology(#[from] serde_saphyr::Error),
    /// The topology parsed but says something the simulator cannot do; fix the named device.
    #[error("device {device}: {reason}")]
    InvalidDevice {
        /// The device (or generator prefix) at fault.
        device: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The device profiles could not be loaded; the message names the file and field.
    #[error("device profiles: {0}")]
    Profiles(#[from] ferrule_render::ProfileError),
    /// The topology names a device profile the simulator does not know.
    #[error("device {device}: unknown profile {profile:?}")]
    UnknownProfile {
        /// The device naming the profile.
        device: String,
        /// The profile name.
        profile: String,
    },
    /// A listening socket could not be opened; another process may hold the port.
    #[error("device {device}: cannot listen on {addr}: {source}")]
    Bind {
        /// The device (or `control` for the HTTP control API).
        device: String,
        /// The address that was asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A device named in a control request does not exist in the topology.
    #[error("no device named {0:?}")]
    NoSuchDevice(String),
    /// An authorized public key in the topology is not in OpenSSH format.
    #[error(
        "device {device}: authorized key of user {user} is not an OpenSSH public key: {reason}"
    )]
    AuthorizedKey {
        /// The device.
        device: String,
        /// The user the key belongs to.
        user: String,
        /// What the parser said.
        reason: String,
    },
    /// A configuration change made through the control API was refused by the datastore.
    #[error("device {device}: {message}")]
    Datastore {
        /// The device.
        device: String,
        /// The rpc-error message the change produced.
        message: String,
    },
    /// The folder or file keeping the devices' configuration across restarts could not be
    /// created, read or written; check the path and its permissions.
    #[error("simulator state {path}: {source}")]
    State {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A kept configuration could not be read back; move the file away (or start with
    /// `--netsim-fresh`) to start that device empty.
    #[error(
        "simulator state {path} is not a configuration of this device ({reason}); move it away, or start fresh (--netsim-fresh, or `ferrule netsim --fresh`)"
    )]
    InvalidState {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
}
