//! Pooled device sessions: one session per device reused across operations, exactly one user
//! of a device's session at a time, reconnect with exponential backoff, a bound on open
//! connections, and closing of idle sessions.
//!
//! A device's slot is guarded by an async mutex that is held for the whole lease, so callers
//! of the same device queue (in arrival order) while different devices proceed in parallel.
//!
//! Connection slots are never waited for while holding anything: a caller that needs a new
//! connection when every slot is taken by a leased session lets go of all it holds (its own
//! device slots included), waits until a session becomes idle or a connection closes, and
//! starts over. Otherwise transactions holding some devices and waiting for a slot to open
//! the next one could wait for each other until the connect timeout (devices are leased in a
//! fixed order, which only rules out cycles among the device slots themselves).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::config::SessionConfig;
use super::error::ClientError;
use super::session::NetconfSession;

use super::device_session::DeviceSession;
pub use super::lease::SessionLease;
use super::lease::Wake;

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

impl ManagerPolicy {
    /// The default bound on open connections: enough for one persistent session to each of a
    /// few hundred devices. Below the number of devices that are changed together, sessions
    /// are closed and reopened all the time (an SSH handshake each) and transactions queue
    /// for connection slots.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
}

impl Default for ManagerPolicy {
    fn default() -> Self {
        Self {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
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
    /// The pool is shutting down ([`SessionManager::shut_down`]): no new connection is opened
    /// and no retry or backoff is waited for; the next start tries again.
    #[error("not connecting to device {device}: the controller is shutting down")]
    ShuttingDown {
        /// The device key.
        device: String,
    },
    /// One operation needs more devices at once than connections are allowed; raise
    /// `max_connections` or split the operation.
    #[error("{devices} devices leased at once need more than the {max} connections allowed")]
    TooManyDevices {
        /// Devices asked for.
        devices: usize,
        /// The connection bound.
        max: usize,
    },
}

impl ManagerError {
    /// Whether a later attempt may succeed without a change to the Device or its Secret.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { source, .. } => source.is_transient(),
            Self::BackingOff { .. } | Self::NoConnectionSlot { .. } | Self::ShuttingDown { .. } => {
                true
            }
            Self::TooManyDevices { .. } => false,
        }
    }

    /// The device key the error is about, when it is about one device.
    pub fn device(&self) -> Option<&str> {
        match self {
            Self::Connect { device, .. }
            | Self::BackingOff { device, .. }
            | Self::NoConnectionSlot { device, .. }
            | Self::ShuttingDown { device } => Some(device),
            Self::TooManyDevices { .. } => None,
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
    _permit: ConnectionPermit,
}

/// A connection slot; when it is given back (the session closed), waiting callers look again.
#[derive(Debug)]
struct ConnectionPermit {
    _permit: OwnedSemaphorePermit,
    // Declared after the permit: fields drop in order, so the slot is free when they wake.
    _wake: Wake,
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
    /// Signalled when a lease ends or a connection closes: a caller waiting for a connection
    /// slot may find one now.
    freed: Arc<Notify>,
    /// How many times each device's session was opened or found lost: a new number is a new
    /// session (or none), which may reach a device that restarted (and lost its configuration)
    /// since the last one.
    opened: std::sync::Mutex<HashMap<String, u64>>,
    /// The device of every session opened or lost, for whoever watches (the Device controller
    /// checks a device again on a new session).
    opened_tx: tokio::sync::broadcast::Sender<String>,
    /// Cancelled by [`SessionManager::shut_down`]: connection attempts, backoff delays and
    /// waits for a connection slot end at once.
    closing: CancellationToken,
}

/// How many session openings a slow watcher may fall behind by before it misses some.
const OPENED_BACKLOG: usize = 4096;

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
                freed: Arc::new(Notify::new()),
                opened: std::sync::Mutex::new(HashMap::new()),
                opened_tx: tokio::sync::broadcast::channel(OPENED_BACKLOG).0,
                closing: CancellationToken::new(),
            }),
        }
    }

    /// The pool's policy.
    pub fn policy(&self) -> &ManagerPolicy {
        &self.inner.policy
    }

    /// How many times a session to `device` was opened or found lost so far (0: none yet).
    pub fn sessions_opened(&self, device: &str) -> u64 {
        self.inner
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(device)
            .copied()
            .unwrap_or(0)
    }

    /// The device key of every session opened or found lost from now on.
    pub fn watch_opened(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.opened_tx.subscribe()
    }

    fn session_changed(&self, device: &str) {
        *self
            .inner
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(device.to_owned())
            .or_default() += 1;
        let _ = self.inner.opened_tx.send(device.to_owned());
    }

    /// Drops the idle sessions whose connection is gone (the device closed it, restarted or
    /// went away) and announces them, so that whoever watches looks at the device now rather
    /// than at its next use. Sessions in use are skipped. Returns how many were dropped.
    pub async fn sweep_lost(&self) -> usize {
        let mut lost = 0;
        for slot in self.all_slots() {
            let Ok(mut guard) = slot.try_lock_owned() else {
                continue;
            };
            if guard.open.as_ref().is_some_and(|o| !o.session.is_usable())
                && let Some(mut open) = guard.open.take()
            {
                open.session.close().await;
                self.session_changed(&guard.device);
                self.inner.freed.notify_waiters();
                lost += 1;
            }
        }
        lost
    }

    /// Stops opening connections, for a bounded shutdown: connection attempts in progress are
    /// dropped, backoff delays between attempts and waits for a connection slot end at once,
    /// and every later lease of a device without an open session fails with
    /// [`ManagerError::ShuttingDown`]. Sessions already open stay usable, so a transaction
    /// that holds its devices can finish its current step.
    pub fn shut_down(&self) {
        self.inner.closing.cancel();
    }

    /// A token whose cancellation is [`SessionManager::shut_down`] (for whoever stops the
    /// controllers without holding the pool itself).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.closing.clone()
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
        let mut leases = self.lease_all(&[(device, config)]).await?;
        leases.pop().ok_or_else(|| ManagerError::TooManyDevices {
            devices: 1,
            max: self.inner.policy.max_connections,
        })
    }

    /// Exclusive use of the sessions to several distinct devices at once (one transaction),
    /// in the order given. Devices are taken in name order; when a new connection is needed
    /// and every slot is leased, everything taken so far is let go and the whole set is tried
    /// again once a session becomes idle or a connection closes, up to the connect timeout.
    pub async fn lease_all(
        &self,
        devices: &[(&str, &SessionConfig)],
    ) -> Result<Vec<SessionLease<C::Session>>, ManagerError> {
        let max = self.inner.policy.max_connections.max(1);
        let names: Vec<&str> = devices.iter().map(|(d, _)| *d).collect();
        if names.len() > max {
            return Err(ManagerError::TooManyDevices {
                devices: names.len(),
                max,
            });
        }
        let mut order: Vec<usize> = (0..devices.len()).collect();
        order.sort_by_key(|&i| devices[i].0);
        let mut deadline: Option<Instant> = None;
        loop {
            let mut held: Vec<Option<SessionLease<C::Session>>> =
                devices.iter().map(|_| None).collect();
            let mut blocked = None;
            for &i in &order {
                let (device, config) = devices[i];
                match self.try_lease(device, config, &names).await? {
                    Some(lease) => held[i] = Some(lease),
                    None => {
                        blocked = Some(i);
                        break;
                    }
                }
            }
            let Some(blocked) = blocked else {
                return Ok(held.into_iter().flatten().collect());
            };
            drop(held);
            let (device, config) = devices[blocked];
            let waited = config.options.connect_timeout;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + waited);
            let no_slot = || ManagerError::NoConnectionSlot {
                device: device.to_string(),
                waited,
                max: self.inner.policy.max_connections,
            };
            // Registered before looking, so a release in between is not missed.
            let freed = self.inner.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if Instant::now() >= deadline {
                return Err(no_slot());
            }
            if self.slot_obtainable(&names) {
                continue;
            }
            tokio::select! {
                waited = tokio::time::timeout_at(deadline.into(), freed) => {
                    if waited.is_err() {
                        return Err(no_slot());
                    }
                }
                () = self.inner.closing.cancelled() => {
                    return Err(ManagerError::ShuttingDown { device: device.to_string() });
                }
            }
        }
    }

    /// Leases one device without waiting for a connection slot: `None` when a new connection
    /// is needed and no slot is free or can be freed (sessions of `ours` are not evicted).
    async fn try_lease(
        &self,
        device: &str,
        config: &SessionConfig,
        ours: &[&str],
    ) -> Result<Option<SessionLease<C::Session>>, ManagerError> {
        let slot = self.slot(device);
        let mut guard = slot.lock_owned().await;
        let wake = || Wake(self.inner.freed.clone());

        if let Some(open) = guard.open.as_mut() {
            if open.session.is_usable() && open.config == *config {
                open.last_used = Instant::now();
                return Ok(Some(SessionLease::new(guard, wake())));
            }
            if let Some(mut stale) = guard.open.take() {
                stale.session.close().await;
            }
        }

        if self.inner.closing.is_cancelled() {
            return Err(ManagerError::ShuttingDown {
                device: device.to_string(),
            });
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
        if self.connect_into(&mut guard, config, ours).await? {
            Ok(Some(SessionLease::new(guard, wake())))
        } else {
            Ok(None)
        }
    }

    /// Opens the session; false when no connection slot could be had without waiting.
    async fn connect_into(
        &self,
        guard: &mut OwnedMutexGuard<Slot<C::Session>>,
        config: &SessionConfig,
        ours: &[&str],
    ) -> Result<bool, ManagerError> {
        let policy = &self.inner.policy;
        let attempts = policy.connect_attempts.max(1);
        let mut made = 0;
        loop {
            made += 1;
            let Some(permit) = self.try_permit(ours).await else {
                return Ok(false);
            };
            let connected = tokio::select! {
                connected = self.inner.connector.connect(config) => connected,
                () = self.inner.closing.cancelled() => {
                    return Err(ManagerError::ShuttingDown { device: guard.device.clone() });
                }
            };
            match connected {
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
                    self.session_changed(&guard.device);
                    return Ok(true);
                }
                Err(err) => {
                    drop(permit);
                    guard.failures = guard.failures.saturating_add(1);
                    guard.last_error = Some(err.to_string());
                    guard.failed_config = Some(config.clone());
                    let delay = policy.backoff.delay_random(guard.failures);
                    tracing::warn!(
                        device = %guard.device,
                        attempt = made,
                        failures = guard.failures,
                        error = %err,
                        "session open failed"
                    );
                    if made >= attempts || !err.is_transient() {
                        guard.retry_at = Some(Instant::now() + delay);
                        return Err(ManagerError::Connect {
                            device: guard.device.clone(),
                            attempts: made,
                            source: err,
                        });
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.inner.closing.cancelled() => {
                            return Err(ManagerError::ShuttingDown { device: guard.device.clone() });
                        }
                    }
                }
            }
        }
    }

    /// A free connection slot, or one freed by closing the least recently used idle session
    /// of a device not in `ours`; `None` when neither exists.
    async fn try_permit(&self, ours: &[&str]) -> Option<ConnectionPermit> {
        loop {
            if let Ok(permit) = self.inner.permits.clone().try_acquire_owned() {
                return Some(ConnectionPermit {
                    _permit: permit,
                    _wake: Wake(self.inner.freed.clone()),
                });
            }
            if !self.evict_least_recently_used(ours).await {
                return None;
            }
        }
    }

    /// Whether a connection slot is free or an idle session of a device not in `ours` could
    /// be closed for one.
    fn slot_obtainable(&self, ours: &[&str]) -> bool {
        self.inner.permits.available_permits() > 0
            || self.slots_map().iter().any(|(device, slot)| {
                !ours.contains(&device.as_str())
                    && slot.try_lock().is_ok_and(|guard| guard.open.is_some())
            })
    }

    /// Closes the least recently used session not currently leased and not of a device in
    /// `ours`; false if there is none.
    async fn evict_least_recently_used(&self, ours: &[&str]) -> bool {
        let candidates: Vec<SlotRef<C::Session>> = self
            .slots_map()
            .iter()
            .filter(|(device, _)| !ours.contains(&device.as_str()))
            .map(|(_, slot)| slot.clone())
            .collect();
        let mut idle: Vec<OwnedMutexGuard<Slot<C::Session>>> = candidates
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
mod tests;
