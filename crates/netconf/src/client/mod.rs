//! NETCONF client sessions over SSH.
//!
//! Layers, bottom up: `transport` (russh: TCP, host key pinning, authentication, the
//! `netconf` subsystem) → [`session::NetconfSession`] (hello, capability negotiation,
//! lock-step requests with timeouts, on the pure core: [`crate::framing`],
//! [`crate::hello`], [`crate::rpc`], [`crate::reply`]) →
//! the [`DeviceSession`] operations (capability checks) → [`manager::SessionManager`] (one
//! pooled session and one writer per device, reconnect with backoff, connection bound, idle
//! close). Design notes and limits: docs/southbound.md.

pub mod backoff;
pub mod config;
pub mod credentials;
pub mod device_session;
pub mod error;
pub mod hostkey;
pub mod lease;
pub mod manager;
mod peer_env;
pub mod session;
mod transport;

pub use config::{SessionConfig, SessionOptions};
pub use credentials::{Credentials, CredentialsError};
pub use device_session::DeviceSession;
pub use error::{ClientError, no_pending_commit};
pub use hostkey::{HostKeyFingerprint, HostKeyPolicy};
pub use manager::{
    Connector, ManagerError, ManagerPolicy, SessionLease, SessionManager, SshConnector,
};
pub use peer_env::{PeerEnv, PeerEnvError};
pub use session::NetconfSession;
