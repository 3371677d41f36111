//! The operations Ferrule performs on a device, independent of how bytes reach it.
//!
//! An implementation provides the session facts and [`DeviceSession::rpc`]; every NETCONF
//! operation has a default built on `rpc` that first checks the device announced the
//! capability it needs. Tests substitute their own implementation.

use std::future::Future;
use std::time::Duration;

use super::capabilities::{
    BASE_1_1, BaseVersion, CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1, Capabilities,
    STARTUP, VALIDATE_1_0, VALIDATE_1_1, WRITABLE_RUNNING, XPATH,
};
use super::error::ClientError;
use super::reply::{DataReply, ParsedReply};
use super::request::{self, Datastore, EditOptions, Filter};

/// A NETCONF session with one device. Operations take `&mut self`: one request at a time.
pub trait DeviceSession: Send + std::fmt::Debug {
    /// `host:port` of the device.
    fn address(&self) -> &str;

    /// The session id the device assigned in its hello.
    fn session_id(&self) -> u32;

    /// What the device announced in its hello.
    fn capabilities(&self) -> &Capabilities;

    /// The negotiated base version (framing).
    fn base_version(&self) -> BaseVersion;

    /// Whether the session can still carry requests (not closed, not broken by a timeout or a
    /// framing error, SSH connection alive).
    fn is_usable(&self) -> bool;

    /// Sends one operation (the XML inside `<rpc>`) and returns the reply. A reply carrying an
    /// rpc-error of severity error is returned as [`ClientError::Rpc`]; the operation name in
    /// that error is the operation's element name.
    fn rpc(
        &mut self,
        operation: &str,
    ) -> impl Future<Output = Result<ParsedReply, ClientError>> + Send;

    /// Ends the session politely (`<close-session/>`, then the SSH connection).
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// `<get-config>`.
    fn get_config(
        &mut self,
        source: Datastore,
        filter: Option<&Filter>,
    ) -> impl Future<Output = Result<DataReply, ClientError>> + Send {
        async move {
            self.require_datastore(source, "get-config")?;
            if matches!(filter, Some(Filter::XPath { .. })) {
                self.require(&[XPATH], "get-config with an XPath filter")?;
            }
            let reply = self.rpc(&request::get_config(source, filter)).await?;
            self.data_of(reply, "get-config")
        }
    }

    /// `<get>` (configuration and state).
    fn get(
        &mut self,
        filter: Option<&Filter>,
    ) -> impl Future<Output = Result<DataReply, ClientError>> + Send {
        async move {
            if matches!(filter, Some(Filter::XPath { .. })) {
                self.require(&[XPATH], "get with an XPath filter")?;
            }
            let reply = self.rpc(&request::get(filter)).await?;
            self.data_of(reply, "get")
        }
    }

    /// `<edit-config>`; `config` is the content of `<config>` (the `nc` prefix is declared).
    fn edit_config(
        &mut self,
        target: Datastore,
        config: &str,
        options: EditOptions,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            match target {
                Datastore::Running => {
                    self.require(&[WRITABLE_RUNNING], "edit-config on running")?
                }
                other => self.require_datastore(other, "edit-config")?,
            }
            request::check_fragment(config).map_err(ClientError::BadPayload)?;
            self.rpc(&request::edit_config(target, config, options))
                .await
                .map(drop)
        }
    }

    /// `<lock>`.
    fn lock(&mut self, target: Datastore) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require_datastore(target, "lock")?;
            self.rpc(&request::lock(target)).await.map(drop)
        }
    }

    /// `<unlock>`.
    fn unlock(
        &mut self,
        target: Datastore,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require_datastore(target, "unlock")?;
            self.rpc(&request::unlock(target)).await.map(drop)
        }
    }

    /// `<commit/>`: candidate becomes running (also confirms a pending non-persistent
    /// confirmed commit of this session).
    fn commit(&mut self) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require(&[CANDIDATE], "commit")?;
            self.rpc(&request::commit(None)).await.map(drop)
        }
    }

    /// A confirmed commit the device rolls back after `timeout` (rounded up to whole seconds)
    /// unless confirmed. With `persist`, the pending commit survives this session and is
    /// confirmed or cancelled by that id (needs `:confirmed-commit:1.1`).
    fn commit_confirmed(
        &mut self,
        timeout: Duration,
        persist: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require(&[CANDIDATE], "confirmed commit")?;
            if persist.is_some() {
                self.require_1_1(&[CONFIRMED_COMMIT_1_1], "confirmed commit with persist")?;
            } else {
                self.require_any(
                    &[CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1],
                    "confirmed commit",
                )?;
            }
            let secs = confirm_timeout_secs(timeout);
            self.rpc(&request::commit_confirmed(secs, persist))
                .await
                .map(drop)
        }
    }

    /// The confirming commit: `<commit/>`, or `<commit><persist-id>` for a persistent one.
    fn confirm_commit(
        &mut self,
        persist_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require(&[CANDIDATE], "confirming commit")?;
            if persist_id.is_some() {
                self.require_1_1(&[CONFIRMED_COMMIT_1_1], "confirming commit with persist-id")?;
            }
            self.rpc(&request::commit(persist_id)).await.map(drop)
        }
    }

    /// `<cancel-commit>`: rolls back a pending confirmed commit now.
    fn cancel_commit(
        &mut self,
        persist_id: Option<&str>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require_1_1(&[CONFIRMED_COMMIT_1_1], "cancel-commit")?;
            self.rpc(&request::cancel_commit(persist_id))
                .await
                .map(drop)
        }
    }

    /// `<discard-changes/>`: candidate reverts to running.
    fn discard_changes(&mut self) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require(&[CANDIDATE], "discard-changes")?;
            self.rpc(&request::discard_changes()).await.map(drop)
        }
    }

    /// `<validate>`.
    fn validate(
        &mut self,
        source: Datastore,
    ) -> impl Future<Output = Result<(), ClientError>> + Send {
        async move {
            self.require_any(&[VALIDATE_1_0, VALIDATE_1_1], "validate")?;
            self.require_datastore(source, "validate")?;
            self.rpc(&request::validate(source)).await.map(drop)
        }
    }

    /// Fails with [`ClientError::MissingCapability`] unless every capability was announced.
    fn require(&self, capabilities: &[&str], operation: &str) -> Result<(), ClientError> {
        match capabilities.iter().find(|c| !self.capabilities().has(c)) {
            None => Ok(()),
            Some(missing) => Err(ClientError::MissingCapability {
                address: self.address().to_string(),
                capability: (*missing).to_string(),
                operation: operation.to_string(),
            }),
        }
    }

    /// Like [`DeviceSession::require`], and the session must run base:1.1: the 1.1 additions
    /// of confirmed commit (`persist`, `persist-id`, `cancel-commit`) only exist there, and
    /// netconfd rejects them on a base:1.0 session although it announces the capability.
    fn require_1_1(&self, capabilities: &[&str], operation: &str) -> Result<(), ClientError> {
        self.require(capabilities, operation)?;
        if self.base_version() == BaseVersion::V1_1 {
            return Ok(());
        }
        Err(ClientError::MissingCapability {
            address: self.address().to_string(),
            capability: format!("{BASE_1_1} (this session runs base:1.0)"),
            operation: operation.to_string(),
        })
    }

    /// Fails with [`ClientError::MissingCapability`] unless one of the capabilities was
    /// announced.
    fn require_any(&self, capabilities: &[&str], operation: &str) -> Result<(), ClientError> {
        if capabilities.iter().any(|c| self.capabilities().has(c)) {
            return Ok(());
        }
        Err(ClientError::MissingCapability {
            address: self.address().to_string(),
            capability: capabilities.join(" or "),
            operation: operation.to_string(),
        })
    }

    /// Checks that a datastore other than running exists on the device.
    fn require_datastore(&self, datastore: Datastore, operation: &str) -> Result<(), ClientError> {
        match datastore {
            Datastore::Running => Ok(()),
            Datastore::Candidate => self.require(&[CANDIDATE], operation),
            Datastore::Startup => self.require(&[STARTUP], operation),
        }
    }

    /// The `<data>` of a reply, or an error naming the operation when it is missing.
    fn data_of(&self, reply: ParsedReply, operation: &str) -> Result<DataReply, ClientError> {
        reply.data.ok_or_else(|| ClientError::MalformedReply {
            address: self.address().to_string(),
            reason: format!("{operation} reply has no <data>"),
        })
    }
}

/// Whole seconds for `<confirm-timeout>`: rounded up, at least 1.
pub fn confirm_timeout_secs(timeout: Duration) -> u32 {
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_timeout_rounds_up() {
        assert_eq!(confirm_timeout_secs(Duration::ZERO), 1);
        assert_eq!(confirm_timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(confirm_timeout_secs(Duration::from_secs(600)), 600);
        assert_eq!(
            confirm_timeout_secs(Duration::from_secs(u64::MAX)),
            u32::MAX
        );
    }
}
