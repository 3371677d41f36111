//! A lease: exclusive use of one device's pooled session, returned to the pool on drop.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, OwnedMutexGuard};

use super::device_session::DeviceSession;
use super::error::ClientError;
use super::manager::Slot;
use crate::framing::Framing;
use crate::hello::Capabilities;
use crate::reply::RpcReply;
use crate::rpc::Rpc;

/// Exclusive use of a device's session. While it lives, every other lease of the same device
/// waits. It is itself a [`DeviceSession`]; a session that broke during the lease (timeout,
/// closed connection) is dropped when the lease ends and re-opened by the next lease.
#[derive(Debug)]
pub struct SessionLease<S: DeviceSession> {
    guard: OwnedMutexGuard<Slot<S>>,
    /// Returned while no session is open (after [`SessionLease::invalidate`]).
    no_capabilities: Capabilities,
    // Declared after the guard: fields drop in order, so the device is free when waiting
    // callers wake.
    _wake: Wake,
}

/// Wakes the callers waiting for a connection slot when dropped.
#[derive(Debug)]
pub(crate) struct Wake(pub(crate) Arc<Notify>);

impl Drop for Wake {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

impl<S: DeviceSession> SessionLease<S> {
    pub(crate) fn new(guard: OwnedMutexGuard<Slot<S>>, wake: Wake) -> Self {
        Self {
            guard,
            no_capabilities: Capabilities::default(),
            _wake: wake,
        }
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

    fn session(&self) -> Option<&S> {
        self.guard.open.as_ref().map(|o| &o.session)
    }
}

impl<S: DeviceSession> Drop for SessionLease<S> {
    fn drop(&mut self) {
        let unusable = self.session().is_some_and(|s| !s.is_usable());
        if unusable {
            // Dropping the session tears down its connection and frees the connection slot.
            self.guard.open = None;
        } else if let Some(open) = self.guard.open.as_mut() {
            open.last_used = Instant::now();
        }
    }
}

impl<S: DeviceSession> DeviceSession for SessionLease<S> {
    fn address(&self) -> &str {
        self.session()
            .map_or(self.guard.device.as_str(), |s| s.address())
    }

    fn session_id(&self) -> u32 {
        self.session().map_or(0, |s| s.session_id())
    }

    fn capabilities(&self) -> &Capabilities {
        self.session()
            .map_or(&self.no_capabilities, |s| s.capabilities())
    }

    fn framing(&self) -> Framing {
        self.session()
            .map_or(Framing::EndOfMessage, |s| s.framing())
    }

    fn is_usable(&self) -> bool {
        self.session().is_some_and(|s| s.is_usable())
    }

    async fn rpc(&mut self, rpc: &Rpc) -> Result<RpcReply, ClientError> {
        match self.guard.open.as_mut() {
            Some(open) => open.session.rpc(rpc).await,
            None => Err(closed(&self.guard.device)),
        }
    }

    /// Without a session the answer is [`ClientError::Closed`], not a missing capability.
    async fn request(&mut self, rpc: Rpc) -> Result<RpcReply, ClientError> {
        match self.guard.open.as_mut() {
            Some(open) => open.session.request(rpc).await,
            None => Err(closed(&self.guard.device)),
        }
    }

    async fn close(&mut self) {
        self.invalidate().await;
    }
}

fn closed(device: &str) -> ClientError {
    ClientError::Closed {
        address: device.to_owned(),
        reason: "the pooled session was dropped".into(),
    }
}
