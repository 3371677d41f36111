//! Starting the provisioning and inventory controllers against a Kubernetes API.
//!
//! ```text
//! let edge = netconf_edge(client.clone(), renderer.clone(), ManagerPolicy::default());
//! let running = start(client, renderer, edge, metrics, Options::default()).await?;
//! ...
//! running.shutdown().await;
//! ```
//!
//! Shutdown is bounded ([`SHUTDOWN_GRACE`]): connection attempts and backoff delays end at
//! once, in-flight reconciles get the grace period to finish their current step, and what is
//! still running then is dropped. A network transaction cut short that way keeps its journal
//! record (written before every step that can change a device), which the next start's
//! recovery pass finishes; see docs/security.md ("Shutdown") and docs/provisioning.md.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::inventory::agent::{DeviceAgent, NetconfAgent};
use crate::inventory::device::{self, DeviceContext};
use crate::inventory::pool;
use crate::inventory::verified::Verified;
use ferrule_netconf::client::{ManagerPolicy, SessionManager, SshConnector};
use ferrule_operator::metrics::Metrics;
use ferrule_render::Renderer;

use super::context::{Context, LastTransactions};
use super::netconf::NetconfTransactor;
use super::netconf::group::GroupCommit;
use super::netconf::recovery::{NetconfRecovery, TransactionRecovery};
use super::netconf::sessions::DeviceSessions;
use super::order;
use super::stores::Stores;
use super::subscription;
use super::transactor::NetworkTransactor;
use ferrule_operator::cache::Scope;

/// How the controllers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Which namespaces they serve.
    pub scope: Scope,
    /// Time between drift checks of a connected device.
    pub drift_interval: Duration,
    /// How long to wait for the caches' first lists before giving up.
    pub ready_timeout: Duration,
    /// Time between recovery passes over the transaction journal (the first runs before the
    /// controllers start).
    pub recovery_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scope: Scope::All,
            drift_interval: Duration::from_secs(300),
            ready_timeout: Duration::from_secs(60),
            recovery_interval: Duration::from_secs(10),
        }
    }
}

/// The device-facing edge over real NETCONF sessions: one session pool shared by the
/// transactions and the Device controller, so each device has one session and one writer.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Network transactions.
    pub transactor: Arc<dyn NetworkTransactor>,
    /// Device reads.
    pub agent: Arc<dyn DeviceAgent>,
    /// Finishing transactions left in the journal; `None` for transactors that keep none.
    pub recovery: Option<Arc<dyn TransactionRecovery>>,
    /// Cancelled when the controllers stop: the session pool opens no more connections and
    /// waits for no retry or backoff ([`SessionManager::shut_down`]).
    pub stop: CancellationToken,
}

/// The NETCONF-over-SSH edge, with credentials read through `client`. Changes waiting for the
/// same devices are committed together ([`GroupCommit`]).
pub fn netconf_edge(client: Client, renderer: Arc<Renderer>, policy: ManagerPolicy) -> Edge {
    let manager = SessionManager::new(SshConnector, policy);
    let stop = manager.shutdown_token();
    let sessions = Arc::new(DeviceSessions::new(client.clone(), manager));
    let transactor = Arc::new(NetconfTransactor::new(
        renderer.clone(),
        sessions.clone(),
        client.clone(),
    ));
    let recovery = NetconfRecovery::new(client, sessions.clone(), transactor.in_flight());
    Edge {
        transactor: Arc::new(GroupCommit::new(transactor, renderer)),
        agent: Arc::new(NetconfAgent::new(sessions)),
        recovery: Some(Arc::new(recovery)),
        stop,
    }
}

/// Why the controllers did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The caches did not fill in time; is the API server reachable and are the CRDs
    /// installed?
    #[error(
        "the resource caches did not fill within {0:?}; check the API server and that Ferrule's CRDs are installed"
    )]
    NotReady(Duration),
}

/// How long [`Running::shutdown`] lets in-flight reconciles finish before dropping them.
/// Long enough for a transaction on responsive devices to get through its current step,
/// short enough that stopping `ferrule up` or a pod does not hang on unreachable devices.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The running controllers.
#[derive(Debug)]
pub struct Running {
    shutdown: watch::Sender<bool>,
    stop: CancellationToken,
    transactor: Arc<dyn NetworkTransactor>,
    controllers: Vec<JoinHandle<()>>,
    reflectors: Vec<JoinHandle<()>>,
    stores: Stores,
    verified: Arc<Verified>,
}

impl Running {
    /// The caches the controllers read.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// What the Device controller has verified about each device in this run.
    pub fn verified(&self) -> &Arc<Verified> {
        &self.verified
    }

    /// Stops the controllers and the caches within [`SHUTDOWN_GRACE`]; see
    /// [`Running::shutdown_within`].
    pub async fn shutdown(self) -> Stopped {
        self.shutdown_within(SHUTDOWN_GRACE).await
    }

    /// Stops the controllers and the caches, waiting at most `grace` for in-flight work.
    ///
    /// No new reconcile starts; the session pool stops connecting, so reconciles waiting for
    /// an unreachable device (connection attempts, backoff delays) end at once; reconciles
    /// busy with responsive devices get `grace` to finish. What still runs after `grace` is
    /// dropped: a transaction cut short keeps its journal record for the next start's
    /// recovery pass, and the API server, still up, has every journal write either applied
    /// whole or not at all.
    pub async fn shutdown_within(self, grace: Duration) -> Stopped {
        let _ = self.shutdown.send(true);
        self.stop.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        let mut cut_short = 0;
        for mut task in self.controllers {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
                cut_short += 1;
            }
        }
        // Batches of transactions run on tasks of their own: none may go on talking to devices
        // once the controllers are gone.
        self.transactor.abort_in_flight();
        for task in self.reflectors {
            task.abort();
        }
        if cut_short > 0 {
            tracing::warn!(
                controllers = cut_short,
                ?grace,
                "in-flight work did not finish within the shutdown grace period and was dropped; transactions cut short are finished from the journal at the next start"
            );
            Stopped::CutShort
        } else {
            Stopped::Finished
        }
    }
}

/// How [`Running::shutdown`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every controller finished its in-flight work.
    Finished,
    /// Some in-flight work was dropped at the end of the grace period.
    CutShort,
}

/// Starts the Subscription, ServiceOrder, Device and ResourcePool controllers, after a first
/// recovery pass has finished the transactions a previous process left in the journal.
pub async fn start(
    client: Client,
    renderer: Arc<Renderer>,
    edge: Edge,
    metrics: Arc<Metrics>,
    options: Options,
) -> Result<Running, StartError> {
    let Edge {
        transactor,
        agent,
        recovery,
        stop,
    } = edge;
    let (stores, streams, reflectors) = Stores::spawn(&client, &options.scope);
    let ready = tokio::time::timeout(options.ready_timeout, stores.wait_ready()).await;
    if !matches!(ready, Ok(Ok(()))) {
        for task in reflectors {
            task.abort();
        }
        return Err(StartError::NotReady(options.ready_timeout));
    }
    if let Some(recovery) = &recovery {
        // Bounded, so unreachable devices do not hold the start: what is left is retried by
        // the periodic passes (and devices roll back unconfirmed commits by themselves).
        let bound = options.recovery_interval.max(Duration::from_secs(30));
        match tokio::time::timeout(bound, recovery.recover_all(&options.scope)).await {
            Ok(report) if !report.finished.is_empty() || !report.left.is_empty() => {
                tracing::info!(
                    finished = report.finished.len(),
                    left = report.left.len(),
                    "transactions recovered from the journal"
                );
            }
            Ok(_) => {}
            Err(_) => tracing::warn!(
                "the first recovery pass did not finish within {bound:?}; the controllers start and later passes go on"
            ),
        }
    }
    let (shutdown, signal) = watch::channel(false);
    let stopped = move || {
        let mut signal = signal.clone();
        async move {
            let _ = signal.wait_for(|stop| *stop).await;
        }
    };
    let last_transactions = Arc::new(LastTransactions::default());
    let context = |name: &str| {
        Arc::new(
            Context::new(
                client.clone(),
                renderer.clone(),
                transactor.clone(),
                metrics.clone(),
                stores.clone(),
                name,
            )
            .with_last_transactions(last_transactions.clone()),
        )
    };
    let subscriptions = context("ferrule-provisioning");
    let orders = context("ferrule-orders");
    let pools = context("ferrule-inventory");
    let verified = Arc::new(Verified::default());
    let devices = Arc::new(DeviceContext {
        base: context("ferrule-inventory"),
        agent,
        drift_interval: options.drift_interval,
        verified: verified.clone(),
    });
    let scope = options.scope;
    let mut controllers = vec![
        tokio::spawn(order::controller::run(
            orders,
            streams.orders.split(),
            streams.subscriptions.split(),
            stopped(),
        )),
        tokio::spawn(device::run(devices, streams.devices.split(), stopped())),
        tokio::spawn(pool::run(pools, streams.pools.split(), stopped())),
        tokio::spawn(subscription::controller::run(
            subscriptions,
            streams,
            stopped(),
        )),
    ];
    if let Some(recovery) = recovery {
        controllers.push(tokio::spawn(recover_periodically(
            recovery,
            scope,
            options.recovery_interval,
            stopped(),
        )));
    }
    Ok(Running {
        shutdown,
        stop,
        transactor,
        controllers,
        reflectors,
        stores,
        verified,
    })
}

/// Recovery passes every `interval` until `stopped` completes. A pass in progress then is
/// dropped: each of its steps is safe to repeat, and the records it did not finish stay in
/// the journal for the next pass.
async fn recover_periodically(
    recovery: Arc<dyn TransactionRecovery>,
    scope: Scope,
    interval: Duration,
    stopped: impl std::future::Future<Output = ()>,
) {
    let mut stopped = std::pin::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(interval) => {}
        }
        tokio::select! {
            () = &mut stopped => return,
            _ = recovery.recover_all(&scope) => {}
        }
    }
}
