//! Pooled device sessions: one session per device reused across operations, exactly one user
//! of a device's session at a time, reconnect with exponential backoff, a bound on open
//! connections, and closing of idle sessions.
//!
//! A device's slot is guarded by an async mutex that is held for the whole lease, so callers
//! of the same device queue (in arrival order) while different devices proceed in parallel.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::backoff::Backoff;
use super::config::SessionConfig;
use super::error::ClientError;
use super::session::NetconfSession;

use super::device_session::DeviceSession;
pub use super::lease::SessionLease;

/// Opens sessions; [`SshConnector`] in production, a fake in tests.
pub trait Connector: Send + Sync + 'static {
    /// The session type produced.
    type Session: DeviceSession + 'static;

    /// Opens a session to the device described by `config`.
    fn connect(
        &self,
        config: &SessionConfig,
    ) -> impl Future<Output = Result<Self::Session, ClientError>> + Send;
}

/// Opens real NETCONF-over-SSH sessions.
#[derive(Debug, Clone, Copy, Default)]
pub struct SshConnector;

impl Connector for SshConnector {
    type Session = NetconfSession;

    async fn connect(&self, config: &SessionConfig) -> Result<NetconfSession, ClientError> {
        NetconfSession::connect(config).await
    }
}

/// Limits and timing of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerPolicy {
    /// Most SSH connections open at once across all devices.
    pub max_connections: usize,
    /// A session unused for this long is closed by [`SessionManager::reap_idle`].
    pub idle_timeout: Duration,
    /// Connection attempts within one [`SessionManager::lease`] call (transient errors only).
    pub connect_attempts: u32,
    /// Delay between attempts, and after a failed lease before the next one may try.
    pub backoff: Backoff,
}

impl Default for ManagerPolicy {
    fn default() -> Self {
        Self {
            max_connections: 64,
            idle_timeout: Duration::from_secs(300),
            connect_attempts: 3,
            backoff: Backoff::default(),
        }
    }
}

/// Why no session could be leased.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// Connecting failed; `source` says why (and whether trying later can help).
    #[error("cannot open a session to device {device} after {attempts} attempt(s): {source}")]
    Connect {
        /// The device key.
        device: String,
        /// Attempts made in this call.
        attempts: u32,
        /// The last error.
        source: ClientError,
    },
    /// The device failed recently and its backoff delay has not passed; try again later.
    #[error("device {device} is backing off for another {retry_in:?} after: {last_error}")]
    BackingOff {
        /// The device key.
        device: String,
        /// Time until the next attempt is allowed.
        retry_in: Duration,
        /// The error that caused the backoff.
        last_error: String,
    },
    /// Every connection slot stayed busy for the whole connect timeout; raise
    /// `max_connections` or try again later.
    #[error("no free connection slot for device {device} within {waited:?} ({max} in use)")]
    NoConnectionSlot {
        /// The device key.
        device: String,
        /// How long we waited.
        waited: Duration,
        /// The connection bound.
        max: usize,
    },
}

impl ManagerError {
    /// Whether a later attempt may succeed without a change to the Device or its Secret.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { source, .. } => source.is_transient(),
            Self::BackingOff { .. } | Self::NoConnectionSlot { .. } => true,
        }
    }

    /// The retry delay the caller should wait, when known.
    pub fn retry_in(&self) -> Option<Duration> {
        match self {
            Self::BackingOff { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }
}

/// An open session in a slot, with the config it was opened with and its connection permit.
#[derive(Debug)]
pub(crate) struct Open<S> {
    pub(crate) session: S,
    pub(crate) config: SessionConfig,
    pub(crate) last_used: Instant,
    _permit: OwnedSemaphorePermit,
}

/// Per-device state.
#[derive(Debug)]
pub(crate) struct Slot<S> {
    pub(crate) device: String,
    pub(crate) open: Option<Open<S>>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// The config the failures were counted for; a changed config starts afresh.
    failed_config: Option<SessionConfig>,
}

impl<S> Slot<S> {
    fn new(device: &str) -> Self {
        Self {
            device: device.to_string(),
            open: None,
            failures: 0,
            retry_at: None,
            last_error: None,
            failed_config: None,
        }
    }
}

/// Whether an open session should be closed by the idle reaper.
pub fn should_reap(last_used: Instant, now: Instant, idle_timeout: Duration, usable: bool) -> bool {
    !usable || now.saturating_duration_since(last_used) >= idle_timeout
}

type SlotRef<S> = Arc<tokio::sync::Mutex<Slot<S>>>;

/// The pool of device sessions. Cheap to clone (shared state).
pub struct SessionManager<C: Connector> {
    inner: Arc<Inner<C>>,
}

impl<C: Connector> Clone for SessionManager<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<C: Connector> std::fmt::Debug for SessionManager<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("policy", &self.inner.policy)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

struct Inner<C: Connector> {
    connector: C,
    policy: ManagerPolicy,
    permits: Arc<Semaphore>,
    slots: Mutex<HashMap<String, SlotRef<C::Session>>>,
}

impl<C: Connector> SessionManager<C> {
    /// A pool that opens sessions with `connector`.
    pub fn new(connector: C, policy: ManagerPolicy) -> Self {
        let permits = Arc::new(Semaphore::new(policy.max_connections.max(1)));
        Self {
            inner: Arc::new(Inner {
                connector,
                policy,
                permits,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The pool's policy.
    pub fn policy(&self) -> &ManagerPolicy {
        &self.inner.policy
    }

    /// SSH connections currently open.
    pub fn open_connections(&self) -> usize {
        self.inner.policy.max_connections.max(1) - self.inner.permits.available_permits()
    }

    /// Exclusive use of the session to `device` (a stable key such as `namespace/name`),
    /// opening or re-opening it as needed. Waits while another caller holds the device.
    /// A session opened with a different `config` (new address, credentials or host key) is
    /// closed and replaced.
    pub async fn lease(
        &self,
        device: &str,
        config: &SessionConfig,
    ) -> Result<SessionLease<C::Session>, ManagerError> {
        let slot = self.slot(device);
        let mut guard = slot.lock_owned().await;

        if let Some(open) = guard.open.as_mut() {
            if open.session.is_usable() && open.config == *config {
                open.last_used = Instant::now();
                return Ok(SessionLease::new(guard));
            }
            if let Some(mut stale) = guard.open.take() {
                stale.session.close().await;
            }
        }

        if guard.failed_config.as_ref() != Some(config) {
            guard.failures = 0;
            guard.retry_at = None;
        }
        if let Some(retry_at) = guard.retry_at {
            let now = Instant::now();
            if retry_at > now {
                return Err(ManagerError::BackingOff {
                    device: device.to_string(),
                    retry_in: retry_at - now,
                    last_error: guard.last_error.clone().unwrap_or_default(),
                });
            }
        }
        self.connect_into(&mut guard, config).await?;
        Ok(SessionLease::new(guard))
    }

    async fn connect_into(
        &self,
        guard: &mut OwnedMutexGuard<Slot<C::Session>>,
        config: &SessionConfig,
    ) -> Result<(), ManagerError> {
        let policy = &self.inner.policy;
        let attempts = policy.connect_attempts.max(1);
        let mut made = 0;
        loop {
            made += 1;
            let permit = self.acquire_permit(&guard.device, config).await?;
            match self.inner.connector.connect(config).await {
                Ok(session) => {
                    guard.open = Some(Open {
                        session,
                        config: config.clone(),
                        last_used: Instant::now(),
                        _permit: permit,
                    });
                    guard.failures = 0;
                    guard.retry_at = None;
                    guard.last_error = None;
                    guard.failed_config = None;
                    return Ok(());
                }
                Err(err) => {
                    drop(permit);
                    guard.failures = guard.failures.saturating_add(1);
                    guard.last_error = Some(err.to_string());
                    guard.failed_config = Some(config.clone());
                    let delay = policy.backoff.delay_random(guard.failures);
                    tracing::warn!(device = %guard.device, attempt = made, error = %err, "session open failed");
                    if made >= attempts || !err.is_transient() {
                        guard.retry_at = Some(Instant::now() + delay);
                        return Err(ManagerError::Connect {
                            device: guard.device.clone(),
                            attempts: made,
                            source: err,
                        });
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// A connection permit; when none is free, closes the least recently used idle session of
    /// another device, else waits up to the connect timeout.
    async fn acquire_permit(
        &self,
        device: &str,
        config: &SessionConfig,
    ) -> Result<OwnedSemaphorePermit, ManagerError> {
        let permits = &self.inner.permits;
        loop {
            if let Ok(permit) = permits.clone().try_acquire_owned() {
                return Ok(permit);
            }
            if !self.evict_least_recently_used().await {
                break;
            }
        }
        let waited = config.options.connect_timeout;
        match tokio::time::timeout(waited, permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ManagerError::NoConnectionSlot {
                device: device.to_string(),
                waited,
                max: self.inner.policy.max_connections,
            }),
        }
    }

    /// Closes the least recently used session not currently leased; false if there is none.
    async fn evict_least_recently_used(&self) -> bool {
        let mut idle: Vec<OwnedMutexGuard<Slot<C::Session>>> = self
            .all_slots()
            .into_iter()
            .filter_map(|slot| slot.try_lock_owned().ok())
            .filter(|guard| guard.open.is_some())
            .collect();
        let oldest = idle
            .iter()
            .enumerate()
            .min_by_key(|(_, g)| g.open.as_ref().map(|o| o.last_used))
            .map(|(i, _)| i);
        let Some(index) = oldest else {
            return false;
        };
        let mut victim = idle.swap_remove(index);
        drop(idle);
        if let Some(mut open) = victim.open.take() {
            tracing::debug!(device = %victim.device, "closing idle session to free a connection slot");
            open.session.close().await;
        }
        true
    }

    /// Closes sessions idle for longer than the idle timeout (and broken ones). Devices in use
    /// are skipped. Returns how many were closed.
    pub async fn reap_idle(&self) -> usize {
        let now = Instant::now();
        let idle_timeout = self.inner.policy.idle_timeout;
        let mut closed = 0;
        for slot in self.all_slots() {
            let Ok(mut guard) = slot.try_lock_owned() else {
                continue;
            };
            let reap = guard.open.as_ref().is_some_and(|o| {
                should_reap(o.last_used, now, idle_timeout, o.session.is_usable())
            });
            if reap && let Some(mut open) = guard.open.take() {
                open.session.close().await;
                closed += 1;
            }
        }
        closed
    }

    /// Runs [`SessionManager::reap_idle`] every `every` until the returned task is aborted.
    pub fn spawn_idle_reaper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let manager = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let closed = manager.reap_idle().await;
                if closed > 0 {
                    tracing::debug!(closed, "closed idle device sessions");
                }
            }
        })
    }

    /// Closes the device's session (waiting for a current user to finish) and forgets the
    /// device, e.g. when the Device is deleted.
    pub async fn remove(&self, device: &str) {
        let slot = self.slots_map().remove(device);
        if let Some(slot) = slot {
            let mut guard = slot.lock().await;
            if let Some(mut open) = guard.open.take() {
                open.session.close().await;
            }
        }
    }

    /// Closes every session (waiting for current users).
    pub async fn close_all(&self) {
        for slot in self.all_slots() {
            let mut guard = slot.lock().await;
            if let Some(mut open) = guard.open.take() {
                open.session.close().await;
            }
        }
    }

    fn slot(&self, device: &str) -> SlotRef<C::Session> {
        self.slots_map()
            .entry(device.to_string())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Slot::new(device))))
            .clone()
    }

    fn all_slots(&self) -> Vec<SlotRef<C::Session>> {
        self.slots_map().values().cloned().collect()
    }

    /// The map of slots. The lock is only held for map lookups, which cannot panic halfway, so
    /// a poisoned lock still guards a consistent map.
    fn slots_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SlotRef<C::Session>>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
