//! The [`NetworkTransactor`] over NETCONF: config trees plan the edits, pooled sessions carry
//! them, and the southbound transaction commits them on every device or on none.
//!
//! A transaction's devices are leased together (in a fixed order, letting go of all of them
//! while waiting for a connection slot), so two transactions sharing devices never wait for
//! each other in a cycle; a lease also makes this process the only writer of the device while
//! the transaction runs.

pub mod compensate;
pub mod group;
pub mod journal;
pub mod plan;
pub mod recovery;
pub mod sessions;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::transactor::{
    ChangeSet, Committed, DevicePlan, DeviceRpcError, DeviceTarget, NetworkPlan, NetworkTransactor,
    PlanError, TransactError,
};
use ferrule_netconf::client::{ClientError, Connector};
use ferrule_netconf::rpc_error::RpcErrors;
use ferrule_netconf::transaction::{
    self, CommitMode, DeviceEdit, Transaction, TransactionError, needs_recovery,
};
use ferrule_render::Datastore as ProfileDatastore;
use ferrule_render::Renderer;

use journal::{ApiJournal, InFlight};
use plan::{ProfileSchema, plan_device};
use sessions::DeviceSessions;

/// How long devices wait for the confirming commit before rolling back by themselves.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);

/// Network transactions over NETCONF sessions, each recorded in the durable journal
/// ([`journal`]) while it may hold devices.
pub struct NetconfTransactor<C: Connector> {
    renderer: Arc<Renderer>,
    sessions: Arc<DeviceSessions<C>>,
    client: kube::Client,
    in_flight: InFlight,
    confirm_timeout: Duration,
}

impl<C: Connector> std::fmt::Debug for NetconfTransactor<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetconfTransactor")
            .field("sessions", &self.sessions)
            .field("confirm_timeout", &self.confirm_timeout)
            .finish()
    }
}

impl<C: Connector> NetconfTransactor<C> {
    /// A transactor rendering with `renderer`'s profiles, pushing through `sessions` and
    /// journaling through `client`.
    pub fn new(
        renderer: Arc<Renderer>,
        sessions: Arc<DeviceSessions<C>>,
        client: kube::Client,
    ) -> Self {
        Self {
            renderer,
            sessions,
            client,
            in_flight: InFlight::default(),
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        }
    }

    /// The transactions running now (for [`recovery`] to leave alone).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// Changes the confirm timeout.
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }

    fn edit(&self, plan: &DevicePlan) -> DeviceEdit {
        let profile = self.renderer.profiles().get(&plan.target.profile);
        // Running-only devices are edited in place; the plan's compensation undoes their edit
        // when another device fails (a plan without one is refused by the transaction).
        let mode = match profile.map(|p| p.datastore()) {
            Some(ProfileDatastore::Running) => CommitMode::Running,
            _ => CommitMode::Candidate {
                validate: profile.is_some_and(|p| p.validate()),
                lock_running: false,
            },
        };
        DeviceEdit {
            device: plan.target.name.clone(),
            mode,
            edit: plan.edit.clone().unwrap_or_default(),
            compensation: plan.compensation.clone(),
        }
    }

    async fn run(&self, plan: &NetworkPlan) -> Result<Committed, TransactError> {
        let id = format!("ferrule-{}", uuid::Uuid::new_v4());
        let mut pushed: Vec<&DevicePlan> = plan.pushed().collect();
        pushed.sort_by_key(|d| d.target.key());
        let targets: Vec<&DeviceTarget> = pushed.iter().map(|d| &d.target).collect();
        let mut leases = self
            .sessions
            .lease_all(&targets)
            .await
            .map_err(|(device, e)| TransactError::Unreachable {
                device,
                message: e.to_string(),
            })?;
        let tx = Transaction {
            id: id.clone(),
            confirm_timeout: self.confirm_timeout,
            edits: pushed.iter().map(|d| self.edit(d)).collect(),
        };
        let _running = self.in_flight.enter(&id);
        let keys = pushed.iter().map(|d| d.target.key()).collect();
        let mut journal = ApiJournal::new(self.client.clone(), keys);
        let mut sessions: Vec<_> = leases.iter_mut().collect();
        let result = transaction::apply(&tx, &mut sessions, &mut journal).await;
        drop(sessions);
        drop(leases);
        // The record goes once nothing is left to finish; otherwise recovery finishes it.
        let finished = match &result {
            Ok(_) => true,
            Err(e) => e.record().is_none_or(|r| needs_recovery(r).is_empty()),
        };
        if finished && let Err(e) = journal.discard(&id).await {
            tracing::warn!(transaction = %id, error = %e, "cannot delete the transaction record; recovery will");
        }
        result.map_err(transaction_error)?;
        Ok(Committed {
            transaction: id,
            devices: pushed.iter().map(|d| d.target.name.clone()).collect(),
        })
    }
}

/// Plans a change set with the keyed lists of each device's profile in `renderer`. Pure: this
/// is what [`NetconfTransactor::plan`] does, and what `ferrule plan` shows.
pub fn plan_changes(renderer: &Renderer, changes: &ChangeSet) -> Result<NetworkPlan, PlanError> {
    let devices = changes
        .changes
        .iter()
        .map(|change| {
            let device = &change.target.name;
            let error = |message: String| PlanError {
                device: device.clone(),
                message,
            };
            let profile = renderer
                .profiles()
                .get(&change.target.profile)
                .ok_or_else(|| {
                    error(format!("unknown device profile {}", change.target.profile))
                })?;
            let ps = ProfileSchema::of(profile).map_err(|e| error(e.to_string()))?;
            plan_device(change, &ps).map_err(|e| error(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(NetworkPlan {
        owner: changes.owner.clone(),
        devices,
    })
}

impl<C: Connector> NetworkTransactor for NetconfTransactor<C> {
    fn plan(&self, changes: &ChangeSet) -> Result<NetworkPlan, PlanError> {
        plan_changes(&self.renderer, changes)
    }

    fn apply<'a>(
        &'a self,
        plan: &'a NetworkPlan,
    ) -> BoxFuture<'a, Result<Committed, TransactError>> {
        Box::pin(self.run(plan))
    }
}

/// The device's errors, verbatim.
pub fn rpc_errors(errors: &RpcErrors) -> Vec<DeviceRpcError> {
    errors
        .0
        .iter()
        .filter(|e| !e.is_warning())
        .map(|e| DeviceRpcError {
            error_type: e.error_type.as_str().to_owned(),
            tag: e.error_tag.as_str().to_owned(),
            path: e.error_path.clone(),
            message: e.error_message.as_ref().map(|m| m.text.clone()),
            app_tag: e.error_app_tag.clone(),
        })
        .collect()
}

fn transaction_error(err: TransactionError) -> TransactError {
    match &err {
        TransactionError::RolledBack {
            device,
            phase,
            source,
            ..
        } => match &**source {
            ClientError::Rpc { errors, .. } if !source.is_transient() => TransactError::Rejected {
                device: device.clone(),
                phase: phase.to_string(),
                errors: rpc_errors(errors),
            },
            _ if source.breaks_session() => TransactError::Unreachable {
                device: device.clone(),
                message: err.to_string(),
            },
            _ => TransactError::Failed {
                transaction: transaction_id(&err),
                message: err.to_string(),
            },
        },
        _ => TransactError::Failed {
            transaction: transaction_id(&err),
            message: err.to_string(),
        },
    }
}

fn transaction_id(err: &TransactionError) -> String {
    match err {
        TransactionError::Invalid { id, .. }
        | TransactionError::RolledBack { id, .. }
        | TransactionError::Journal { id, .. }
        | TransactionError::ConfirmIncomplete { id, .. }
        | TransactionError::Session { id, .. } => id.clone(),
    }
}
