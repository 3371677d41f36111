//! One simulated device at run time: its identity, its state behind one mutex, and the
//! registries of its SSH connections and NETCONF sessions.
//!
//! The mutex is a `std::sync::Mutex` held only for short, synchronous sections (no `.await`
//! inside), so RPCs of one device are serialised like on a real box while hundreds of devices
//! run side by side on the shared runtime.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::auth::Accounts;
use super::capabilities::Capabilities;
use super::commit::Deadline;
use super::locks::SessionId;
use super::model::DeviceModel;
use super::persist::Persister;
use super::state::DeviceState;
use super::topology::DeviceSpec;

/// A simulated device shared by its listener, its sessions and the control API.
#[derive(Debug)]
pub struct Device {
    name: String,
    spec: DeviceSpec,
    addr: SocketAddr,
    fingerprint: String,
    accounts: Accounts,
    capabilities: Capabilities,
    model: Arc<DeviceModel>,
    ssh_config: Arc<russh::server::Config>,
    state: Mutex<DeviceState>,
    sessions: Mutex<HashMap<SessionId, SessionEntry>>,
    connections: Mutex<HashMap<u64, russh::server::Handle>>,
    next_session: AtomicU32,
    next_connection: AtomicU64,
    rpcs: AtomicU64,
    commits: AtomicU64,
    delayed_replies: AtomicU64,
    delayed_millis: AtomicU64,
    reachable: watch::Sender<bool>,
    shutdown: CancellationToken,
    persister: Option<Arc<Persister>>,
    weak_self: Weak<Device>,
}

/// A NETCONF session of the device, as seen from outside the session task.
#[derive(Debug)]
struct SessionEntry {
    user: String,
    started: Instant,
    cancel: CancellationToken,
}

/// What the control API reports about one session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The NETCONF session-id.
    pub session_id: SessionId,
    /// The SSH user.
    pub user: String,
    /// Seconds since the session started.
    pub age_seconds: u64,
}

/// Everything a [`Device`] is built from.
#[derive(Debug)]
pub(crate) struct DeviceParts {
    pub spec: DeviceSpec,
    pub addr: SocketAddr,
    pub fingerprint: String,
    pub accounts: Accounts,
    pub capabilities: Capabilities,
    pub model: Arc<DeviceModel>,
    pub ssh_config: Arc<russh::server::Config>,
    pub shutdown: CancellationToken,
    /// Keeps the configuration across restarts, when the simulator has a state folder.
    pub persister: Option<Arc<Persister>>,
}

// === impl Device ===

impl Device {
    pub(crate) fn new(parts: DeviceParts) -> Arc<Self> {
        let state = DeviceState::new(
            parts.model.clone(),
            parts.capabilities.features,
            &parts.spec,
        );
        let (reachable, _) = watch::channel(true);
        Arc::new_cyclic(|weak_self| Self {
            name: parts.spec.name.clone(),
            spec: parts.spec,
            addr: parts.addr,
            fingerprint: parts.fingerprint,
            accounts: parts.accounts,
            capabilities: parts.capabilities,
            model: parts.model,
            ssh_config: parts.ssh_config,
            state: Mutex::new(state),
            sessions: Mutex::new(HashMap::new()),
            connections: Mutex::new(HashMap::new()),
            next_session: AtomicU32::new(1),
            next_connection: AtomicU64::new(1),
            rpcs: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            delayed_replies: AtomicU64::new(0),
            delayed_millis: AtomicU64::new(0),
            reachable,
            shutdown: parts.shutdown,
            persister: parts.persister,
            weak_self: weak_self.clone(),
        })
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The topology entry it was built from.
    pub fn spec(&self) -> &DeviceSpec {
        &self.spec
    }

    /// The address its SSH server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its host key fingerprint (`SHA256:…`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The capabilities of its hello.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// What the device profile says about its data.
    pub fn model(&self) -> &DeviceModel {
        &self.model
    }

    /// How many RPCs it has answered.
    pub fn rpc_count(&self) -> u64 {
        self.rpcs.load(Ordering::Relaxed)
    }

    pub(crate) fn count_rpc(&self) {
        self.rpcs.fetch_add(1, Ordering::Relaxed);
    }

    /// How many `<commit>` RPCs succeeded (confirmed and confirming commits count one each).
    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    pub(crate) fn count_commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    /// How many replies the latency fault has held back, and for how long in all (ms).
    pub fn delayed_replies(&self) -> (u64, u64) {
        (
            self.delayed_replies.load(Ordering::Relaxed),
            self.delayed_millis.load(Ordering::Relaxed),
        )
    }

    /// Records a reply held back by `latency` (once the wait is over, before it is sent).
    pub(crate) fn count_delay(&self, latency: Duration) {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.delayed_millis.fetch_add(millis, Ordering::Relaxed);
        self.delayed_replies.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub(crate) fn ssh_config(&self) -> Arc<russh::server::Config> {
        self.ssh_config.clone()
    }

    pub(crate) fn persister(&self) -> Option<Arc<Persister>> {
        self.persister.clone()
    }

    /// The running configuration may have changed: the state writer (if any) looks.
    pub(crate) fn config_touched(&self) {
        if let Some(persister) = &self.persister {
            persister.touch();
        }
    }

    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Locks the device state. A panic while the lock was held cannot leave the datastores
    /// half-written (every change is computed first and stored at once), so a poisoned lock
    /// is recovered rather than taking the device down.
    pub(crate) fn state(&self) -> MutexGuard<'_, DeviceState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // --- reachability ---

    /// Whether the device accepts connections.
    pub fn is_reachable(&self) -> bool {
        *self.reachable.borrow()
    }

    pub(crate) fn watch_reachable(&self) -> watch::Receiver<bool> {
        self.reachable.subscribe()
    }

    /// Makes the device unreachable (every session and connection is dropped, new connections
    /// are refused) or reachable again.
    pub fn set_reachable(&self, reachable: bool) {
        self.state().faults.unreachable = !reachable;
        self.reachable.send_replace(reachable);
        if !reachable {
            self.drop_everything();
        }
    }

    /// Ends every session and SSH connection, as a crash or a cut link would.
    pub(crate) fn drop_everything(&self) {
        let ids: Vec<SessionId> = lock(&self.sessions).keys().copied().collect();
        for id in ids {
            self.end_session(id);
        }
        let handles: Vec<russh::server::Handle> = lock(&self.connections)
            .drain()
            .map(|(_, handle)| handle)
            .collect();
        // Without a runtime (a drop after it stopped) the connections are gone already.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for handle in handles {
            runtime.spawn(async move {
                let _ = handle
                    .disconnect(
                        russh::Disconnect::ByApplication,
                        "device unreachable".to_owned(),
                        "en".to_owned(),
                    )
                    .await;
            });
        }
    }

    // --- connections ---

    pub(crate) fn register_connection(&self, handle: russh::server::Handle) -> u64 {
        let id = self.next_connection.fetch_add(1, Ordering::Relaxed);
        lock(&self.connections).insert(id, handle);
        id
    }

    pub(crate) fn unregister_connection(&self, id: u64) {
        lock(&self.connections).remove(&id);
    }

    // --- sessions ---

    /// Registers a new NETCONF session; returns its id and the token that ends it.
    pub(crate) fn open_session(&self, user: &str) -> (SessionId, CancellationToken) {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed).max(1);
        let cancel = self.shutdown.child_token();
        lock(&self.sessions).insert(
            id,
            SessionEntry {
                user: user.to_owned(),
                started: Instant::now(),
                cancel: cancel.clone(),
            },
        );
        (id, cancel)
    }

    /// Ends a session: releases its locks, discards what it left in a locked candidate, rolls
    /// back its unconfirmed (non-persist) commit and stops its task. Idempotent.
    pub(crate) fn end_session(&self, id: SessionId) -> bool {
        let Some(entry) = lock(&self.sessions).remove(&id) else {
            return false;
        };
        entry.cancel.cancel();
        self.state().session_closed(id, Instant::now());
        self.config_touched();
        true
    }

    /// The open sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut list: Vec<SessionInfo> = lock(&self.sessions)
            .iter()
            .map(|(id, entry)| SessionInfo {
                session_id: *id,
                user: entry.user.clone(),
                age_seconds: entry.started.elapsed().as_secs(),
            })
            .collect();
        list.sort_by_key(|s| s.session_id);
        list
    }

    // --- confirmed-commit timers ---

    /// Arms the rollback timer of a confirmed commit.
    pub(crate) fn arm_confirm_timer(&self, deadline: Deadline) {
        let weak = self.weak_self.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(deadline.after) => {
                    if let Some(device) = weak.upgrade()
                        && device.state().expire_confirmed(deadline.generation, Instant::now())
                    {
                        device.config_touched();
                        tracing::info!(device = device.name(), "confirmed commit timed out; rolled back");
                    }
                }
            }
        });
    }

    /// The latency fault: how long to wait before each reply.
    pub(crate) fn latency(&self) -> Duration {
        self.state().faults.latency
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
