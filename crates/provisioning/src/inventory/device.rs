//! The Device reconciler: connects, records capabilities and reachability, checks owned
//! configuration for drift on (re)connect and on an interval, raises the ConfigDrift alarm,
//! and repairs drift when the device's driftPolicy says so.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferrule_crds::bss::subscription::SubscriptionPhase;
use ferrule_crds::oss::alarm::AlarmSpec;
use ferrule_crds::oss::device::{DevicePhase, DeviceStatus, DriftPolicy};
use ferrule_crds::{Alarm, AlarmStatus, Device, Subscription};
use futures::{StreamExt, TryStreamExt};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;

use crate::context::{Context, FIELD_MANAGER};
use crate::netconf::plan::ProfileSchema;
use crate::transactor::{DevicePlan, DeviceTarget, NetworkPlan};
use ferrule_netconf::tree::{ConfigTree, ParseMode};
use ferrule_netconf::xml::XmlLimits;
use ferrule_operator::changes::Changes;
use ferrule_operator::context::now;
use ferrule_operator::metrics::PhaseLabel;
use ferrule_operator::patch::status_patch;

use super::agent::DeviceAgent;
use super::drift::{DriftReport, check, owned_on, owned_tree, subtree_filter};
use super::status::{
    DriftCheck, Probe, drift_alarm, drift_alarm_name, drift_due, drift_due_in, next_status,
    transitions,
};
use super::verified::{Verdict, Verified};

/// Controller name in metrics and Events.
pub const CONTROLLER: &str = "device";

/// How soon a drift check is retried when it was skipped because a transaction was running
/// (sooner when the drift interval itself is shorter).
const BUSY_RETRY: Duration = Duration::from_secs(15);

/// Shared state of the Device controller.
#[derive(Debug)]
pub struct DeviceContext {
    /// Client, renderer, transactor, caches, metrics, Events.
    pub base: Arc<Context>,
    /// Reads devices.
    pub agent: Arc<dyn DeviceAgent>,
    /// Time between drift checks of a connected device.
    pub drift_interval: Duration,
    /// What this run established about each device: a status from before the process started
    /// is not trusted to skip a check.
    pub verified: Arc<Verified>,
}

/// Why a Device reconcile failed (device problems are status, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// A guarded write met a newer version: retried at once with fresh data.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Kube(kube::Error::Api(s)) if s.code == 409)
    }
}

/// Reconciles one Device.
pub async fn reconcile(device: Arc<Device>, ctx: Arc<DeviceContext>) -> Result<Action, Error> {
    let timer = ctx.base.metrics.reconcile_started(CONTROLLER);
    let result = observe(&device, &ctx).await;
    timer.finish(if result.is_ok() { "success" } else { "error" });
    result
}

/// Retries with backoff.
pub fn error_policy(device: Arc<Device>, err: &Error, ctx: Arc<DeviceContext>) -> Action {
    let key = format!(
        "{}/{}",
        device.namespace().unwrap_or_default(),
        device.name_any()
    );
    let delay = ctx.base.backoff.failed(&key);
    tracing::warn!(device = %key, retry_in = ?delay, "device reconcile failed: {err}");
    Action::requeue(delay)
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..Default::default()
    }
}

async fn observe(device: &Device, ctx: &DeviceContext) -> Result<Action, Error> {
    let ns = device.namespace().unwrap_or_default();
    let name = device.name_any();
    let api: Api<Device> = Api::namespaced(ctx.base.client.clone(), &ns);
    let Some(mut current) = api.get_opt(&name).await? else {
        return Ok(Action::await_change());
    };
    let key = format!("{ns}/{name}");
    let target = DeviceTarget::of(&current);
    let before = current.status.clone().unwrap_or_default();
    let generation = current.metadata.generation;
    let interval = i64::try_from(ctx.drift_interval.as_secs()).unwrap_or(i64::MAX);
    let last_transaction = ctx.base.last_transactions.get(&key);
    // A device not yet checked in this run, or not on its current session, is connected and
    // checked whatever its status remembers: the device may have restarted and lost its
    // configuration while nobody watched.
    let verified_here = ctx
        .verified
        .checked_on(&key, ctx.agent.sessions_opened(&target));
    if verified_here && let Some(wait) = drift_due_in(&before, generation, now(), interval) {
        // Connected, spec unchanged, no check due: nothing to ask the device (its session may
        // be busy with transactions), only the last transaction to publish.
        if let Some(id) = last_transaction.filter(|id| before.last_transaction.as_ref() != Some(id))
        {
            let mut next = before.clone();
            next.last_transaction = Some(id);
            write_status(&api, &mut current, &before, &next).await?;
        }
        return Ok(Action::requeue(wait));
    }
    let probe = match ctx.agent.connect(&target).await {
        Ok(capabilities) => Probe::Connected { capabilities },
        // Says nothing about the device: leave its status as it was for the next start.
        Err(err) if err.reason == crate::inventory::agent::SHUTTING_DOWN => {
            return Ok(Action::await_change());
        }
        // The failure that started the backoff is already in the status; keep its reason.
        Err(err)
            if before.phase == Some(DevicePhase::Unreachable)
                && before.observed_generation == generation
                && err.backing_off.is_some() =>
        {
            ctx.verified.record(
                &key,
                Verdict::Unreachable,
                ctx.agent.sessions_opened(&target),
            );
            return Ok(Action::requeue(err.backing_off.unwrap_or(BUSY_RETRY)));
        }
        Err(err) => Probe::Unreachable {
            reason: err.reason,
            message: err.message,
        },
    };
    let mut drift = None;
    let mut busy = false;
    if matches!(probe, Probe::Connected { .. })
        && (!verified_here || drift_due(&before, generation, now(), interval))
    {
        match check_drift(ctx, &current, &target).await? {
            Some((outcome, report)) => {
                update_alarm(ctx, &current, &outcome, &report).await?;
                drift = Some(outcome);
            }
            None => busy = true,
        }
    }
    let mut next = next_status(&before, &probe, drift.as_ref(), now(), generation);
    if last_transaction.is_some() {
        next.last_transaction = last_transaction;
    }
    write_status(&api, &mut current, &before, &next).await?;
    let reference = current.object_ref(&());
    for note in transitions(&before, &next) {
        ctx.base.publish(&reference, &note).await;
    }
    // Recorded once the status says it, so that whoever reads the verdict finds the status
    // (and the subscriptions it names) up to date.
    if let Some(verdict) = verdict(&probe, drift.as_ref()) {
        ctx.verified
            .record(&key, verdict, ctx.agent.sessions_opened(&target));
    }
    Ok(match probe {
        Probe::Connected { .. } => {
            ctx.base.backoff.succeeded(&key);
            Action::requeue(next_check_in(busy, ctx.drift_interval))
        }
        Probe::Unreachable { .. } => Action::requeue(ctx.base.backoff.failed(&key)),
    })
}

/// What this look established; `None` when the drift check still has to run (it was skipped
/// for a transaction in progress).
fn verdict(probe: &Probe, drift: Option<&DriftCheck>) -> Option<Verdict> {
    match (probe, drift) {
        (Probe::Unreachable { .. }, _) => Some(Verdict::Unreachable),
        (Probe::Connected { .. }, None) => None,
        (Probe::Connected { .. }, Some(DriftCheck::InSync | DriftCheck::Repaired { .. })) => {
            Some(Verdict::InSync)
        }
        (
            Probe::Connected { .. },
            Some(DriftCheck::Drifted { .. } | DriftCheck::NotRepaired { .. }),
        ) => Some(Verdict::Drifted),
        (Probe::Connected { .. }, Some(DriftCheck::Failed { .. })) => Some(Verdict::CheckFailed),
    }
}

/// When a connected device is looked at again: after the drift interval, and a check skipped
/// for a running transaction no later than that.
fn next_check_in(skipped: bool, drift_interval: Duration) -> Duration {
    if skipped {
        BUSY_RETRY.min(drift_interval)
    } else {
        drift_interval
    }
}

async fn write_status(
    api: &Api<Device>,
    current: &mut Device,
    old: &DeviceStatus,
    new: &DeviceStatus,
) -> Result<(), kube::Error> {
    let (Ok(old_json), Ok(new_json)) = (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Ok(());
    };
    let Some(patch) = status_patch(current.resource_version().as_deref(), &old_json, &new_json)
    else {
        return Ok(());
    };
    *current = api
        .patch_status(&current.name_any(), &params(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Most subscriptions read at once by one drift check.
const FRESH_READS: usize = 16;

/// The subscriptions attached to or configured on `device`, read from the API server: a drift
/// check must not judge the device by a cache that lags behind a transaction. Which
/// subscriptions to read comes from the cache's index; each is then read on its own (a list of
/// the whole namespace would be every subscription of the ISP, for each device, on every
/// check). A subscription configured on the device so recently that the index does not know it
/// yet only owns entries the check then does not look at; one that left the device reads back
/// without them (or not at all).
async fn fresh_subscriptions(
    ctx: &DeviceContext,
    ns: &str,
    device: &str,
) -> Result<Vec<Arc<Subscription>>, kube::Error> {
    let api: Api<Subscription> = Api::namespaced(ctx.base.client.clone(), ns);
    let names: Vec<String> = ctx
        .base
        .stores
        .subscriptions_on(ns, device)
        .iter()
        .map(|s| s.name_any())
        .collect();
    let fresh: Vec<Option<Subscription>> = futures::stream::iter(names)
        .map(|name| {
            let api = api.clone();
            async move { api.get_opt(&name).await }
        })
        .buffered(FRESH_READS)
        .try_collect()
        .await?;
    Ok(fresh.into_iter().flatten().map(Arc::new).collect())
}

fn busy_on(subs: &[Arc<Subscription>], device: &str) -> bool {
    subs.iter().any(|s| {
        let status = s.status.as_ref();
        let involved = s.spec.access.device == device
            || status.is_some_and(|st| st.devices.iter().any(|d| d.name == device));
        let moving = status.and_then(|st| st.phase).is_some_and(|p| {
            matches!(
                p,
                SubscriptionPhase::Provisioning | SubscriptionPhase::Terminating
            )
        });
        involved && moving
    })
}

fn versions(subs: &[Arc<Subscription>]) -> Vec<Option<String>> {
    subs.iter().map(|s| s.resource_version()).collect()
}

/// Runs a drift check (and a repair when the policy says so). `None` when a transaction on
/// the device is in progress: the check is retried shortly.
async fn check_drift(
    ctx: &DeviceContext,
    device: &Device,
    target: &DeviceTarget,
) -> Result<Option<(DriftCheck, DriftReport)>, kube::Error> {
    let failed = |message: String| {
        Ok(Some((
            DriftCheck::Failed { message },
            DriftReport::default(),
        )))
    };
    let Some(profile) = ctx.base.renderer.profiles().get(&target.profile) else {
        return failed(format!("unknown device profile {}", target.profile));
    };
    let ps = match ProfileSchema::of(profile) {
        Ok(ps) => ps,
        Err(err) => return failed(err.to_string()),
    };
    let subs = fresh_subscriptions(ctx, &target.namespace, &target.name).await?;
    if busy_on(&subs, &target.name) {
        return Ok(None);
    }
    let owned = match owned_on(&target.name, &target.namespace, &subs, &ps) {
        Ok(owned) => owned,
        Err(err) => return failed(err.to_string()),
    };
    let merged = match owned_tree(&owned, &ps) {
        Ok(merged) => merged,
        Err(err) => return failed(err.to_string()),
    };
    let Some(filter) = subtree_filter(&merged) else {
        return Ok(Some((DriftCheck::InSync, DriftReport::default())));
    };
    let running = match ctx.agent.running(target, Some(filter)).await {
        Ok(xml) if xml.trim().is_empty() => ConfigTree::new(),
        Ok(xml) => {
            match ConfigTree::parse_with(&xml, &ps.schema, &XmlLimits::default(), ParseMode::Device)
            {
                Ok(tree) => tree,
                Err(err) => return failed(format!("running configuration: {err}")),
            }
        }
        Err(err) => return failed(err.message),
    };
    let report = check(&owned, &merged, &running, &ps);
    if !report.detected() {
        return Ok(Some((DriftCheck::InSync, report)));
    }
    ctx.base.metrics.drift_detected.inc();
    let entries = report.entries.clone();
    let outcome = match (device.spec.drift_policy, &report.repair) {
        (DriftPolicy::Repair, Some(_)) if device.spec.maintenance => DriftCheck::NotRepaired {
            entries,
            affected: report.affected.clone(),
            why: "the device is in maintenance".into(),
        },
        (DriftPolicy::Repair, Some(edit)) => {
            // Repair only if no subscription changed since the check read them.
            let again = fresh_subscriptions(ctx, &target.namespace, &target.name).await?;
            if versions(&again) != versions(&subs) || busy_on(&again, &target.name) {
                return Ok(None);
            }
            let plan = NetworkPlan {
                owner: format!("{}/{} (drift repair)", target.namespace, target.name),
                devices: vec![DevicePlan {
                    target: target.clone(),
                    edit: Some(edit.clone()),
                    // A repair only puts owned configuration back; on a running-only device
                    // there is nothing to take back if it fails.
                    compensation: Some(String::new()),
                    applied: None,
                }],
            };
            match ctx.base.transactor.apply(&plan).await {
                Ok(_) => {
                    ctx.base.metrics.transaction("committed");
                    DriftCheck::Repaired { entries }
                }
                Err(err) => DriftCheck::NotRepaired {
                    entries,
                    affected: report.affected.clone(),
                    why: err.to_string(),
                },
            }
        }
        _ => DriftCheck::Drifted {
            entries,
            affected: report.affected.clone(),
        },
    };
    Ok(Some((outcome, report)))
}

/// Raises, counts or clears the device's ConfigDrift alarm.
async fn update_alarm(
    ctx: &DeviceContext,
    device: &Device,
    outcome: &DriftCheck,
    report: &DriftReport,
) -> Result<(), kube::Error> {
    if matches!(outcome, DriftCheck::Failed { .. }) {
        return Ok(());
    }
    let ns = device.namespace().unwrap_or_default();
    let name = drift_alarm_name(&device.name_any());
    let api: Api<Alarm> = Api::namespaced(ctx.base.client.clone(), &ns);
    let existing = api.get_opt(&name).await?;
    let current = existing.as_ref().and_then(|a| a.status.clone());
    let detected = report
        .detected()
        .then_some((report.entries.as_slice(), report.affected.as_slice()));
    let mut next = drift_alarm(current.as_ref(), &device.name_any(), detected, now());
    if matches!(outcome, DriftCheck::Repaired { .. })
        && let Some(raised) = next.clone()
    {
        // Repaired at once: the alarm records the occurrence and is cleared with it.
        next = drift_alarm(Some(&raised), &device.name_any(), None, now());
    }
    let Some(next) = next else {
        return Ok(());
    };
    let mut alarm = match existing {
        Some(alarm) => alarm,
        None => {
            let alarm = Alarm {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    owner_references: device.controller_owner_ref(&()).map(|o| vec![o]),
                    ..Default::default()
                },
                spec: AlarmSpec::default(),
                status: None,
            };
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..Default::default()
            };
            api.create(&params, &alarm).await?
        }
    };
    let old = alarm.status.clone().unwrap_or_default();
    patch_alarm(&api, &mut alarm, &old, &next).await
}

async fn patch_alarm(
    api: &Api<Alarm>,
    alarm: &mut Alarm,
    old: &AlarmStatus,
    new: &AlarmStatus,
) -> Result<(), kube::Error> {
    let (Ok(old_json), Ok(new_json)) = (to_json(old), to_json(new)) else {
        return Ok(());
    };
    if let Some(patch) = status_patch(alarm.resource_version().as_deref(), &old_json, &new_json) {
        *alarm = api
            .patch_status(&alarm.name_any(), &params(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Result<serde_json::Value> {
    serde_json::to_value(value)
}

/// Runs the Device controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<DeviceContext>,
    changes: Changes<Device>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let gauge = spawn_session_gauge(ctx.clone());
    let sweeper = spawn_lost_session_sweeper(ctx.clone());
    let mut controller =
        Controller::for_shared_stream(changes.stream(), ctx.base.stores.devices.clone());
    if let Some(opened) = ctx.agent.watch_opened() {
        // A new session (the first, or one after the device went away) gets the device
        // checked at once, not at the next drift interval.
        controller = controller.reconcile_on(session_openings(opened));
    }
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %err, "device reconcile");
            }
        })
        .await;
    gauge.abort();
    sweeper.abort();
}

/// How often idle sessions are looked at for a connection that is gone.
const LOST_SWEEP: Duration = Duration::from_secs(2);

/// Drops lost idle sessions every [`LOST_SWEEP`]; each one announced gets its device
/// reconciled (reconnected and checked, or reported Unreachable) at once. Only flags are read:
/// nothing is sent to the devices.
fn spawn_lost_session_sweeper(ctx: Arc<DeviceContext>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LOST_SWEEP).await;
            let lost = ctx.agent.sweep_lost().await;
            if lost > 0 {
                tracing::info!(lost, "device sessions lost; checking those devices again");
            }
        }
    })
}

/// The Devices of the sessions opened, from the session pool's `namespace/name` keys; a
/// watcher that fell behind skips what it missed (those devices are checked at their next
/// interval).
fn session_openings(
    opened: tokio::sync::broadcast::Receiver<String>,
) -> impl futures::Stream<Item = ObjectRef<Device>> + Send + 'static {
    futures::stream::unfold(opened, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(key) => {
                    let Some((ns, name)) = key.split_once('/') else {
                        continue;
                    };
                    return Some((ObjectRef::new(name).within(ns), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// Updates the devices-by-phase gauge from the cache every few seconds.
fn spawn_session_gauge(ctx: Arc<DeviceContext>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let devices = ctx.base.stores.devices.state();
            for phase in [
                DevicePhase::Pending,
                DevicePhase::Connected,
                DevicePhase::Unreachable,
            ] {
                let count = devices
                    .iter()
                    .filter(|d| {
                        d.status
                            .as_ref()
                            .and_then(|s| s.phase)
                            .unwrap_or(DevicePhase::Pending)
                            == phase
                    })
                    .count();
                ctx.base
                    .metrics
                    .device_sessions
                    .get_or_create(&PhaseLabel {
                        phase: format!("{phase:?}"),
                    })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::SubscriptionStatus;

    #[test]
    fn drift_checks_wait_for_transactions_on_the_device() {
        let mut moving = mk_subscription("a", "c", "p", "olt1", "ge-0/0/1");
        moving.status = Some(SubscriptionStatus {
            phase: Some(SubscriptionPhase::Provisioning),
            ..Default::default()
        });
        let mut idle = mk_subscription("b", "c", "p", "olt2", "ge-0/0/1");
        idle.status = Some(SubscriptionStatus {
            phase: Some(SubscriptionPhase::Provisioning),
            ..Default::default()
        });
        let subs = vec![Arc::new(moving), Arc::new(idle)];
        assert!(busy_on(&subs, "olt1"));
        assert!(!busy_on(&subs, "bng1"));
    }

    #[test]
    fn a_skipped_check_is_retried_no_later_than_the_next_regular_one() {
        let minutes = Duration::from_secs(300);
        assert_eq!(next_check_in(false, minutes), minutes);
        assert_eq!(next_check_in(true, minutes), BUSY_RETRY);
        let seconds = Duration::from_secs(2);
        assert_eq!(next_check_in(true, seconds), seconds);
        assert_eq!(next_check_in(false, seconds), seconds);
    }
}
