//! Group commit: transactions waiting for the same devices are coalesced into one.
//!
//! A device has one writer, so concurrent changes touching it queue up; committing them one by
//! one costs a full lock / edit / confirmed commit / confirm round per change. [`GroupCommit`]
//! wraps a [`NetworkTransactor`]: a change whose devices are free starts at once; changes that
//! wait behind a running transaction are merged, when that is safe, into the next one. Merging
//! is safe when the edits of every shared device combine without touching the same node in
//! different ways (see [`merge_edits`]); otherwise a change waits for a later batch. Changes
//! on disjoint devices run in parallel.
//!
//! A merged transaction is all-or-nothing for the whole group. When it fails, every change of
//! the group is retried alone, so one subscription's bad configuration never fails another's.
//!
//! Compensations merge the same way as edits. On a running-only device the merged
//! compensation is what undoes the merged edit, so a change whose compensation does not merge
//! cleanly with the batch's is not merged: it waits for a later batch. Compatible
//! compensations merge into one that applies each in turn; each only removes entries its own
//! edit created and restores its owner's values, so together they undo the merged edit (the
//! property `merged_compensations_undo_merged_edits` checks this). On candidate devices the
//! compensation is only recorded; one that does not merge is dropped there.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

use crate::provisioning::transactor::{
    ChangeSet, Committed, DevicePlan, NetworkPlan, NetworkTransactor, PlanError, TransactError,
};
use crate::render::{Datastore, Renderer};
use crate::southbound::tree::{Edit, Ident, Node, Operation};

use super::plan::ProfileSchema;

/// Most changes merged into one transaction.
pub const DEFAULT_MAX_BATCH: usize = 64;

/// A [`NetworkTransactor`] that coalesces changes waiting for the same devices.
pub struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<dyn NetworkTransactor>,
    renderer: Arc<Renderer>,
    max_batch: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Devices (`namespace/name`) a running transaction holds.
    busy: BTreeSet<String>,
    queue: VecDeque<Job>,
}

struct Job {
    plan: NetworkPlan,
    reply: oneshot::Sender<Result<Committed, TransactError>>,
}

impl Job {
    fn devices(&self) -> BTreeSet<String> {
        self.plan.pushed().map(|d| d.target.key()).collect()
    }
}

/// Changes merged into one transaction.
struct Batch {
    jobs: Vec<Job>,
    devices: BTreeSet<String>,
    /// Per device: its target, the merged edit and the merged compensation.
    edits: BTreeMap<String, (DevicePlan, Edit, Undo)>,
}

/// The merged compensation of one device.
#[derive(Debug, Clone)]
enum Undo {
    /// Nothing to undo.
    Nothing,
    /// The compensating edit.
    Edit(Edit),
    /// A change carries none (running-only devices then refuse the transaction).
    Missing,
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommit")
            .field("inner", &self.shared.inner)
            .field("max_batch", &self.shared.max_batch)
            .finish()
    }
}

impl GroupCommit {
    /// Wraps `inner`; `renderer`'s profiles say how each device's edits are read.
    pub fn new(inner: Arc<dyn NetworkTransactor>, renderer: Arc<Renderer>) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                renderer,
                max_batch: DEFAULT_MAX_BATCH,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

impl NetworkTransactor for GroupCommit {
    fn plan(&self, changes: &ChangeSet) -> Result<NetworkPlan, PlanError> {
        self.shared.inner.plan(changes)
    }

    fn apply<'a>(
        &'a self,
        plan: &'a NetworkPlan,
    ) -> BoxFuture<'a, Result<Committed, TransactError>> {
        Box::pin(async move {
            if plan.is_noop() {
                return self.shared.inner.apply(plan).await;
            }
            let (reply, answer) = oneshot::channel();
            if let Ok(mut state) = self.shared.state.lock() {
                state.queue.push_back(Job {
                    plan: plan.clone(),
                    reply,
                });
            }
            Shared::dispatch(&self.shared);
            answer.await.unwrap_or_else(|_| {
                Err(TransactError::Failed {
                    transaction: String::new(),
                    message: "the grouped transaction was abandoned".into(),
                })
            })
        })
    }
}

impl Shared {
    /// Starts every batch whose devices are free.
    fn dispatch(shared: &Arc<Shared>) {
        let Ok(mut state) = shared.state.lock() else {
            return;
        };
        while let Some(batch) = shared.take_batch(&mut state) {
            state.busy.extend(batch.devices.iter().cloned());
            let shared = shared.clone();
            tokio::spawn(async move {
                let devices = batch.devices.clone();
                shared.run(batch).await;
                if let Ok(mut state) = shared.state.lock() {
                    for device in &devices {
                        state.busy.remove(device);
                    }
                }
                Shared::dispatch(&shared);
            });
        }
    }

    /// The first waiting job whose devices are free, with every later waiting job that shares
    /// a device with it and merges cleanly.
    fn take_batch(&self, state: &mut State) -> Option<Batch> {
        let free = |job: &Job, busy: &BTreeSet<String>| job.devices().is_disjoint(busy);
        let first = state.queue.iter().position(|job| free(job, &state.busy))?;
        let job = state.queue.remove(first)?;
        let mut batch = Batch {
            devices: job.devices(),
            edits: BTreeMap::new(),
            jobs: Vec::new(),
        };
        if !self.absorb(&mut batch, &job.plan) {
            // Not mergeable at all (unknown profile, unreadable edit): it runs alone.
            batch.jobs.push(job);
            return Some(batch);
        }
        batch.jobs.push(job);
        let mut index = 0;
        while index < state.queue.len() && batch.jobs.len() < self.max_batch {
            let candidate = &state.queue[index];
            let devices = candidate.devices();
            let joins = !devices.is_disjoint(&batch.devices) && devices.is_disjoint(&state.busy);
            if joins && self.absorb(&mut batch, &candidate.plan) {
                batch.devices.extend(devices);
                if let Some(job) = state.queue.remove(index) {
                    batch.jobs.push(job);
                }
            } else {
                index += 1;
            }
        }
        Some(batch)
    }

    /// Merges `plan`'s edits and compensations into the batch; leaves the batch unchanged and
    /// returns false when any device's edits, or a running-only device's compensations,
    /// conflict.
    fn absorb(&self, batch: &mut Batch, plan: &NetworkPlan) -> bool {
        let mut merged = batch.edits.clone();
        for device in plan.pushed() {
            let Some(xml) = &device.edit else {
                continue;
            };
            let Some(profile) = self.renderer.profiles().get(&device.target.profile) else {
                return false;
            };
            let Ok(schema) = ProfileSchema::of(profile) else {
                return false;
            };
            let Ok(edit) = Edit::parse(xml, &schema.schema) else {
                return false;
            };
            let undo = match device.compensation.as_deref() {
                None => Undo::Missing,
                Some(xml) if xml.trim().is_empty() => Undo::Nothing,
                Some(xml) => match Edit::parse(xml, &schema.schema) {
                    Ok(undo) => Undo::Edit(undo),
                    Err(_) => return false,
                },
            };
            match merged.get_mut(&device.target.key()) {
                Some((_, existing, existing_undo)) => {
                    if !merge_edits(existing, &edit) {
                        return false;
                    }
                    match merge_undo(existing_undo, undo) {
                        Some(both) => *existing_undo = both,
                        None if profile.datastore() == Datastore::Running => return false,
                        None => *existing_undo = Undo::Missing,
                    }
                }
                None => {
                    merged.insert(device.target.key(), (device.clone(), edit, undo));
                }
            }
        }
        batch.edits = merged;
        true
    }

    async fn run(&self, batch: Batch) {
        if batch.jobs.len() == 1 {
            for job in batch.jobs {
                let result = self.inner.apply(&job.plan).await;
                let _ = job.reply.send(result);
            }
            return;
        }
        let owners: Vec<&str> = batch.jobs.iter().map(|j| j.plan.owner.as_str()).collect();
        let merged = NetworkPlan {
            owner: owners.join(", "),
            devices: batch
                .edits
                .values()
                .map(|(device, edit, undo)| DevicePlan {
                    target: device.target.clone(),
                    edit: Some(edit.to_xml()),
                    compensation: match undo {
                        Undo::Nothing => Some(String::new()),
                        Undo::Edit(undo) => Some(undo.to_xml()),
                        Undo::Missing => None,
                    },
                    applied: None,
                })
                .collect(),
        };
        match self.inner.apply(&merged).await {
            Ok(committed) => {
                for job in batch.jobs {
                    let devices = job.plan.pushed().map(|d| d.target.name.clone()).collect();
                    let _ = job.reply.send(Ok(Committed {
                        transaction: committed.transaction.clone(),
                        devices,
                    }));
                }
            }
            Err(err) => {
                tracing::info!(changes = batch.jobs.len(), error = %err, "grouped transaction failed; retrying each change alone");
                for job in batch.jobs {
                    let result = self.inner.apply(&job.plan).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// The compensation undoing two merged changes, `None` when the two do not merge.
fn merge_undo(existing: &Undo, other: Undo) -> Option<Undo> {
    match (existing, other) {
        (Undo::Missing, _) | (_, Undo::Missing) => Some(Undo::Missing),
        (undo, Undo::Nothing) => Some(undo.clone()),
        (Undo::Nothing, undo) => Some(undo),
        (Undo::Edit(a), Undo::Edit(b)) => {
            let mut a = a.clone();
            merge_edits(&mut a, &b).then_some(Undo::Edit(a))
        }
    }
}

/// Merges `other` into `edit` when applying the result equals applying both in turn: shared
/// nodes must be equal, or both carry no operation or both `merge` with equal values (their
/// children are then merged the same way). Returns false, leaving `edit` unchanged, otherwise.
pub fn merge_edits(edit: &mut Edit, other: &Edit) -> bool {
    let mut roots = edit.tree.roots.clone();
    if merge_children(&mut roots, &other.tree.roots) {
        edit.tree.roots = roots;
        true
    } else {
        false
    }
}

fn merge_children(into: &mut BTreeMap<Ident, Node>, from: &BTreeMap<Ident, Node>) -> bool {
    for (ident, node) in from {
        match into.get_mut(ident) {
            None => {
                into.insert(ident.clone(), node.clone());
            }
            Some(existing) if existing == node => {}
            Some(existing) => {
                let compatible = existing.op == node.op
                    && matches!(node.op, None | Some(Operation::Merge))
                    && existing.value == node.value;
                if !compatible || !merge_children(&mut existing.children, &node.children) {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
