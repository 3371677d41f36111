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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

use crate::provisioning::transactor::{
    ChangeSet, Committed, DevicePlan, NetworkPlan, NetworkTransactor, PlanError, TransactError,
};
use crate::render::{Datastore, Renderer};
use crate::southbound::tree::Children;
use crate::southbound::tree::{Edit, Operation};

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
    /// Sequence number of the next job.
    next: u64,
    /// The tasks running batches, by batch number, for [`NetworkTransactor::abort_in_flight`].
    running: HashMap<u64, tokio::task::AbortHandle>,
    /// Number of the next batch.
    next_batch: u64,
}

/// A device's change as a job carries it, read once when the job is queued.
struct DeviceEdit {
    /// `namespace/name`.
    key: String,
    /// The device's plan.
    device: DevicePlan,
    /// The parsed edit.
    edit: Edit,
    /// The parsed compensation.
    undo: Undo,
    /// Whether the device edits running directly (its compensation must merge).
    running: bool,
}

struct Job {
    seq: u64,
    plan: NetworkPlan,
    /// The devices it pushes to.
    devices: BTreeSet<String>,
    /// Its edits, read once when it is queued; `None` when one cannot be read (the job then
    /// runs alone).
    edits: Option<Vec<DeviceEdit>>,
    reply: oneshot::Sender<Result<Committed, TransactError>>,
}

/// Which waiting jobs may have become startable.
enum Woken<'a> {
    /// Only the job just queued: the others were waiting before and no device was freed.
    Queued(u64),
    /// Those touching devices a finished transaction freed.
    Freed(&'a BTreeSet<String>),
}

impl Woken<'_> {
    fn covers(&self, job: &Job) -> bool {
        match self {
            Self::Queued(seq) => job.seq == *seq,
            Self::Freed(devices) => !job.devices.is_disjoint(devices),
        }
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

    fn abort_in_flight(&self) {
        let Ok(mut state) = self.shared.state.lock() else {
            return;
        };
        // Waiting jobs are dropped with their reply channels; their callers are gone.
        state.queue.clear();
        for (_, task) in state.running.drain() {
            task.abort();
        }
        state.busy.clear();
        drop(state);
        self.shared.inner.abort_in_flight();
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
            let devices = plan.pushed().map(|d| d.target.key()).collect();
            let edits = self.shared.read_edits(plan);
            let queued = self.shared.state.lock().ok().map(|mut state| {
                let seq = state.next;
                state.next += 1;
                state.queue.push_back(Job {
                    seq,
                    plan: plan.clone(),
                    devices,
                    edits,
                    reply,
                });
                seq
            });
            if let Some(seq) = queued {
                Shared::dispatch(&self.shared, &Woken::Queued(seq));
            }
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
    /// The parsed edit and compensation of every pushed device of `plan`; `None` when one
    /// cannot be read.
    fn read_edits(&self, plan: &NetworkPlan) -> Option<Vec<DeviceEdit>> {
        plan.pushed()
            .filter_map(|device| Some((device, device.edit.as_ref()?)))
            .map(|(device, xml)| {
                let profile = self.renderer.profiles().get(&device.target.profile)?;
                let schema = ProfileSchema::of(profile).ok()?;
                let edit = Edit::parse(xml, &schema.schema).ok()?;
                let undo = match device.compensation.as_deref() {
                    None => Undo::Missing,
                    Some(xml) if xml.trim().is_empty() => Undo::Nothing,
                    Some(xml) => Undo::Edit(Edit::parse(xml, &schema.schema).ok()?),
                };
                Some(DeviceEdit {
                    key: device.target.key(),
                    device: device.clone(),
                    edit,
                    undo,
                    running: profile.datastore() == Datastore::Running,
                })
            })
            .collect()
    }

    /// Starts every batch that `woken` may have made possible. Jobs not covered were waiting
    /// for a busy device before and still are: no device became free for them.
    fn dispatch(shared: &Arc<Shared>, woken: &Woken<'_>) {
        let Ok(mut state) = shared.state.lock() else {
            return;
        };
        while let Some(batch) = shared.take_batch(&mut state, woken) {
            state.busy.extend(batch.devices.iter().cloned());
            let shared = shared.clone();
            let number = state.next_batch;
            state.next_batch += 1;
            // The task removes itself under the state lock, which is held here until it is
            // registered.
            let task = tokio::spawn(async move {
                let devices = batch.devices.clone();
                shared.run(batch).await;
                if let Ok(mut state) = shared.state.lock() {
                    state.running.remove(&number);
                    for device in &devices {
                        state.busy.remove(device);
                    }
                }
                Shared::dispatch(&shared, &Woken::Freed(&devices));
            });
            state.running.insert(number, task.abort_handle());
        }
    }

    /// The first waiting job `woken` covers whose devices are free, with every waiting job
    /// that shares a device with it, has no busy device and merges cleanly.
    fn take_batch(&self, state: &mut State, woken: &Woken<'_>) -> Option<Batch> {
        let first = state
            .queue
            .iter()
            .position(|job| woken.covers(job) && job.devices.is_disjoint(&state.busy))?;
        let job = state.queue.remove(first)?;
        let mut batch = Batch {
            devices: job.devices.clone(),
            edits: BTreeMap::new(),
            jobs: Vec::new(),
        };
        if !absorb(&mut batch, &job) {
            // Not mergeable at all (unknown profile, unreadable edit): it runs alone.
            batch.jobs.push(job);
            return Some(batch);
        }
        batch.jobs.push(job);
        let mut index = 0;
        while index < state.queue.len() && batch.jobs.len() < self.max_batch {
            let candidate = &state.queue[index];
            let joins = !candidate.devices.is_disjoint(&batch.devices)
                && candidate.devices.is_disjoint(&state.busy);
            if joins && absorb(&mut batch, candidate) {
                if let Some(job) = state.queue.remove(index) {
                    batch.devices.extend(job.devices.iter().cloned());
                    batch.jobs.push(job);
                }
            } else {
                index += 1;
            }
        }
        Some(batch)
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

/// Merges `job`'s edits and compensations into the batch; leaves the batch unchanged and
/// returns false when the job's edits cannot be read, or any device's edits, or a running-only
/// device's compensations, conflict.
fn absorb(batch: &mut Batch, job: &Job) -> bool {
    let Some(edits) = &job.edits else {
        return false;
    };
    let mut undos = Vec::with_capacity(edits.len());
    for change in edits {
        let undo = match batch.edits.get(&change.key) {
            None => change.undo.clone(),
            Some((_, existing, existing_undo)) => {
                if !can_merge(&existing.tree.roots, &change.edit.tree.roots) {
                    return false;
                }
                match merge_undo(existing_undo, &change.undo) {
                    Some(both) => both,
                    None if change.running => return false,
                    None => Undo::Missing,
                }
            }
        };
        undos.push(undo);
    }
    for (change, undo) in edits.iter().zip(undos) {
        match batch.edits.get_mut(&change.key) {
            Some((_, existing, existing_undo)) => {
                merge_into(&mut existing.tree.roots, &change.edit.tree.roots);
                *existing_undo = undo;
            }
            None => {
                batch.edits.insert(
                    change.key.clone(),
                    (change.device.clone(), change.edit.clone(), undo),
                );
            }
        }
    }
    true
}

/// The compensation undoing two merged changes, `None` when the two do not merge.
fn merge_undo(existing: &Undo, other: &Undo) -> Option<Undo> {
    match (existing, other) {
        (Undo::Missing, _) | (_, Undo::Missing) => Some(Undo::Missing),
        (undo, Undo::Nothing) => Some(undo.clone()),
        (Undo::Nothing, undo) => Some(undo.clone()),
        (Undo::Edit(a), Undo::Edit(b)) => {
            let mut a = a.clone();
            merge_edits(&mut a, b).then_some(Undo::Edit(a))
        }
    }
}

/// Merges `other` into `edit` when applying the result equals applying both in turn: shared
/// nodes must be equal, or both carry no operation or both `merge` with equal values (their
/// children are then merged the same way). Returns false, leaving `edit` unchanged, otherwise.
pub fn merge_edits(edit: &mut Edit, other: &Edit) -> bool {
    if !can_merge(&edit.tree.roots, &other.tree.roots) {
        return false;
    }
    merge_into(&mut edit.tree.roots, &other.tree.roots);
    true
}

/// Whether [`merge_into`] keeps the meaning of both: see [`merge_edits`].
fn can_merge(into: &Children, from: &Children) -> bool {
    from.iter().all(|(ident, node)| match into.get(ident) {
        None => true,
        Some(existing) if existing == node => true,
        Some(existing) => {
            existing.op == node.op
                && matches!(node.op, None | Some(Operation::Merge))
                && existing.value == node.value
                && can_merge(&existing.children, &node.children)
        }
    })
}

/// Adds `from`'s nodes to `into`; shared nodes are merged child by child. Only meaningful when
/// [`can_merge`] holds.
fn merge_into(into: &mut Children, from: &Children) {
    for (ident, node) in from {
        match into.get_mut(ident) {
            None => {
                into.insert(ident.clone(), node.clone());
            }
            Some(existing) => {
                if existing != node {
                    merge_into(&mut existing.children, &node.children);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
