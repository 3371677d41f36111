//! NETCONF client sessions over SSH.
//!
//! Layers, bottom up: [`transport`] (russh: TCP, host key pinning, authentication, the
//! `netconf` subsystem) → [`framing`] (base:1.0 end-of-message and base:1.1 chunks, size
//! limits) → [`session::NetconfSession`] (hello, capability negotiation, lock-step requests
//! with timeouts) → the [`DeviceSession`] operations → [`manager::SessionManager`] (one
//! pooled session and one writer per device, reconnect with backoff, connection bound, idle
//! close). Design notes and limits: docs/southbound.md.

pub mod backoff;
pub mod capabilities;
pub mod config;
pub mod credentials;
pub mod device_session;
pub mod error;
pub mod framing;
pub mod hostkey;
pub mod lease;
pub mod manager;
pub mod reply;
pub mod request;
pub mod session;
pub mod transaction;
mod transport;

pub use capabilities::{BaseVersion, Capabilities};
pub use config::{SessionConfig, SessionOptions};
pub use credentials::{Credentials, CredentialsError};
pub use device_session::DeviceSession;
pub use error::{ClientError, RpcError, RpcErrors};
pub use hostkey::{HostKeyFingerprint, HostKeyPolicy};
pub use manager::{
    Connector, ManagerError, ManagerPolicy, SessionLease, SessionManager, SshConnector,
};
pub use reply::{DataReply, ParsedReply};
pub use request::{Datastore, DefaultOperation, EditOptions, ErrorOption, Filter, TestOption};
pub use session::NetconfSession;
