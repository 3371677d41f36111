//! The Device controller's view of a device: connect (verifying the host key) and read the
//! running configuration. The NETCONF implementation uses the same pooled sessions as the
//! transactions, so a device has one session and one writer.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::netconf::sessions::{DeviceSessions, SessionError};
use crate::transactor::DeviceTarget;
use ferrule_netconf::client::{ClientError, Connector, DeviceSession, ManagerError};
use ferrule_netconf::rpc::{Datastore, Filter};

/// Why the device could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AgentError {
    /// Condition reason: `ConnectFailed`, `HostKeyMismatch`, `HostKeyNotPinned`,
    /// `AuthenticationFailed`, `CredentialsNotPermitted`, `CredentialsInvalid`, `ReadFailed`.
    pub reason: &'static str,
    /// The error, verbatim.
    pub message: String,
    /// Set when no attempt was made because the device is backing off after a failure
    /// (whose reason the caller already knows): how long until the next attempt.
    pub backing_off: Option<std::time::Duration>,
}

impl AgentError {
    fn of_session(err: &SessionError) -> Self {
        let backing_off = match err {
            SessionError::Connect(e @ ManagerError::BackingOff { .. }) => e.retry_in(),
            _ => None,
        };
        Self {
            reason: session_reason(err),
            message: err.to_string(),
            backing_off,
        }
    }
}

/// Reads devices.
pub trait DeviceAgent: Send + Sync + fmt::Debug {
    /// Opens (or reuses) the session; returns the capabilities the device announced.
    fn connect<'a>(
        &'a self,
        target: &'a DeviceTarget,
    ) -> BoxFuture<'a, Result<Vec<String>, AgentError>>;

    /// The running configuration (content of `<data>`), restricted by a subtree filter.
    fn running<'a>(
        &'a self,
        target: &'a DeviceTarget,
        filter: Option<String>,
    ) -> BoxFuture<'a, Result<String, AgentError>>;

    /// How many times a session to the device was opened or lost so far: a new number means
    /// a new session (or none), on which the device's configuration has not been checked yet.
    fn sessions_opened(&self, _target: &DeviceTarget) -> u64 {
        0
    }

    /// The device key (`namespace/name`) of every session opened or lost from now on, when
    /// the agent can tell.
    fn watch_opened(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }

    /// Drops idle sessions whose connection is gone, announcing them to
    /// [`DeviceAgent::watch_opened`]; returns how many.
    fn sweep_lost(&self) -> BoxFuture<'_, usize> {
        Box::pin(async { 0 })
    }
}

/// [`DeviceAgent`] over NETCONF.
pub struct NetconfAgent<C: Connector> {
    sessions: Arc<DeviceSessions<C>>,
}

impl<C: Connector> fmt::Debug for NetconfAgent<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetconfAgent")
            .field("sessions", &self.sessions)
            .finish()
    }
}

impl<C: Connector> NetconfAgent<C> {
    /// An agent using `sessions`.
    pub fn new(sessions: Arc<DeviceSessions<C>>) -> Self {
        Self { sessions }
    }
}

/// The reason of an [`AgentError`] that only says the controller is stopping: not a fact
/// about the device, so nothing is written to its status.
pub const SHUTTING_DOWN: &str = "ShuttingDown";

/// The condition reason of a session failure.
pub fn session_reason(err: &SessionError) -> &'static str {
    let client = match err {
        SessionError::NotPermitted { .. } => return "CredentialsNotPermitted",
        SessionError::Secret { .. } | SessionError::Credentials { .. } => {
            return "CredentialsInvalid";
        }
        SessionError::Settings(e) => e,
        SessionError::Connect(ManagerError::Connect { source, .. }) => source,
        SessionError::Connect(ManagerError::ShuttingDown { .. }) => return SHUTTING_DOWN,
        SessionError::Connect(_) => return "ConnectFailed",
    };
    match client {
        ClientError::HostKeyMismatch { .. } => "HostKeyMismatch",
        ClientError::HostKeyNotPinned { .. } => "HostKeyNotPinned",
        ClientError::AuthRejected { .. } => "AuthenticationFailed",
        ClientError::InvalidConfig(_) | ClientError::Credentials(_) => "InvalidSettings",
        _ => "ConnectFailed",
    }
}

impl<C: Connector> DeviceAgent for NetconfAgent<C> {
    fn sessions_opened(&self, target: &DeviceTarget) -> u64 {
        self.sessions.manager().sessions_opened(&target.key())
    }

    fn watch_opened(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        Some(self.sessions.manager().watch_opened())
    }

    fn sweep_lost(&self) -> BoxFuture<'_, usize> {
        Box::pin(self.sessions.manager().sweep_lost())
    }

    fn connect<'a>(
        &'a self,
        target: &'a DeviceTarget,
    ) -> BoxFuture<'a, Result<Vec<String>, AgentError>> {
        Box::pin(async move {
            let lease = self
                .sessions
                .lease(target)
                .await
                .map_err(|e| AgentError::of_session(&e))?;
            Ok(lease.capabilities().iter().map(str::to_owned).collect())
        })
    }

    fn running<'a>(
        &'a self,
        target: &'a DeviceTarget,
        filter: Option<String>,
    ) -> BoxFuture<'a, Result<String, AgentError>> {
        Box::pin(async move {
            let mut lease = self
                .sessions
                .lease(target)
                .await
                .map_err(|e| AgentError::of_session(&e))?;
            let filter = filter.map(Filter::Subtree);
            let reply = lease
                .get_config(Datastore::Running, filter)
                .await
                .map_err(|e| AgentError {
                    reason: "ReadFailed",
                    message: e.to_string(),
                    backing_off: None,
                })?;
            Ok(reply.iter().map(|element| element.to_xml()).collect())
        })
    }
}
