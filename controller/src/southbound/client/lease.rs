//! A lease: exclusive use of one device's pooled session, returned to the pool on drop.

use std::time::{Duration, Instant};

use tokio::sync::OwnedMutexGuard;

use super::capabilities::{BaseVersion, Capabilities};
use super::device_session::DeviceSession;
use super::error::ClientError;
use super::manager::Slot;
use super::reply::{DataReply, ParsedReply};
use super::request::{Datastore, EditOptions, Filter};

static NO_CAPABILITIES: Capabilities = Capabilities::new(Vec::new());

/// Exclusive use of a device's session. While it lives, every other lease of the same device
/// waits. It is itself a [`DeviceSession`]; a session that broke during the lease (timeout,
/// closed connection) is dropped when the lease ends and re-opened by the next lease.
#[derive(Debug)]
pub struct SessionLease<S: DeviceSession> {
    guard: OwnedMutexGuard<Slot<S>>,
}

impl<S: DeviceSession> SessionLease<S> {
    pub(crate) fn new(guard: OwnedMutexGuard<Slot<S>>) -> Self {
        Self { guard }
    }

    /// The device key this lease is for.
    pub fn device(&self) -> &str {
        &self.guard.device
    }

    /// Drops the session now (it will be re-opened by the next lease), e.g. after an outcome
    /// that leaves the device's session state unknown.
    pub async fn invalidate(&mut self) {
        if let Some(mut open) = self.guard.open.take() {
            open.session.close().await;
        }
    }

    fn closed(&self) -> ClientError {
        ClientError::Closed {
            address: self.address().to_string(),
            reason: "the pooled session was dropped".into(),
        }
    }
}

impl<S: DeviceSession> Drop for SessionLease<S> {
    fn drop(&mut self) {
        let unusable = self
            .guard
            .open
            .as_ref()
            .is_some_and(|o| !o.session.is_usable());
        if unusable {
            // Dropping the session tears down its connection and frees the connection slot.
            self.guard.open = None;
        } else if let Some(open) = self.guard.open.as_mut() {
            open.last_used = Instant::now();
        }
    }
}

/// Delegates to the leased session, or fails with [`ClientError::Closed`] after
/// [`SessionLease::invalidate`].
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self.guard.open.as_mut() {
            Some(open) => {
                let $s = &mut open.session;
                $call.await
            }
            None => Err($self.closed()),
        }
    };
}

impl<S: DeviceSession> DeviceSession for SessionLease<S> {
    fn address(&self) -> &str {
        self.guard
            .open
            .as_ref()
            .map_or(self.guard.device.as_str(), |o| o.session.address())
    }

    fn session_id(&self) -> u32 {
        self.guard
            .open
            .as_ref()
            .map_or(0, |o| o.session.session_id())
    }

    fn capabilities(&self) -> &Capabilities {
        self.guard
            .open
            .as_ref()
            .map_or(&NO_CAPABILITIES, |o| o.session.capabilities())
    }

    fn base_version(&self) -> BaseVersion {
        self.guard
            .open
            .as_ref()
            .map_or(BaseVersion::V1_0, |o| o.session.base_version())
    }

    fn is_usable(&self) -> bool {
        self.guard
            .open
            .as_ref()
            .is_some_and(|o| o.session.is_usable())
    }

    async fn rpc(&mut self, operation: &str) -> Result<ParsedReply, ClientError> {
        delegate!(self, s => s.rpc(operation))
    }

    async fn close(&mut self) {
        self.invalidate().await;
    }

    async fn get_config(
        &mut self,
        source: Datastore,
        filter: Option<&Filter>,
    ) -> Result<DataReply, ClientError> {
        delegate!(self, s => s.get_config(source, filter))
    }

    async fn get(&mut self, filter: Option<&Filter>) -> Result<DataReply, ClientError> {
        delegate!(self, s => s.get(filter))
    }

    async fn edit_config(
        &mut self,
        target: Datastore,
        config: &str,
        options: EditOptions,
    ) -> Result<(), ClientError> {
        delegate!(self, s => s.edit_config(target, config, options))
    }

    async fn lock(&mut self, target: Datastore) -> Result<(), ClientError> {
        delegate!(self, s => s.lock(target))
    }

    async fn unlock(&mut self, target: Datastore) -> Result<(), ClientError> {
        delegate!(self, s => s.unlock(target))
    }

    async fn commit(&mut self) -> Result<(), ClientError> {
        delegate!(self, s => s.commit())
    }

    async fn commit_confirmed(
        &mut self,
        timeout: Duration,
        persist: Option<&str>,
    ) -> Result<(), ClientError> {
        delegate!(self, s => s.commit_confirmed(timeout, persist))
    }

    async fn confirm_commit(&mut self, persist_id: Option<&str>) -> Result<(), ClientError> {
        delegate!(self, s => s.confirm_commit(persist_id))
    }

    async fn cancel_commit(&mut self, persist_id: Option<&str>) -> Result<(), ClientError> {
        delegate!(self, s => s.cancel_commit(persist_id))
    }

    async fn discard_changes(&mut self) -> Result<(), ClientError> {
        delegate!(self, s => s.discard_changes())
    }

    async fn validate(&mut self, source: Datastore) -> Result<(), ClientError> {
        delegate!(self, s => s.validate(source))
    }
}
