//! The Subscription reconciler: runs the pipeline, writes status and Events, removes the
//! configuration when the subscription is deleted.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrule_crds::bss::subscription::{Allocations, DeviceConfig};
use ferrule_crds::oss::resource_pool::PoolType;
use ferrule_crds::{Customer, Device, Product, ResourceClaim, ResourcePool, Subscription};
use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer;
use kube::{Api, ResourceExt};

use crate::context::Context;
use crate::stores::Streams;
use crate::transactor::{Committed, NetworkPlan, TransactError};
use ferrule_operator::cache::named;
use ferrule_operator::metrics::ControllerLabel;
use ferrule_operator::reasons::{self, Remedy};

use super::allocation::{Need, pinned_subnet, pinned_vlan, releasable};
use super::applied::{self, APPLIED_ANNOTATION};
use super::claims::{self, Claimed};
use super::cleanup::cleanup;
use super::dereference::{Dereferenced, change_set, in_maintenance};
use super::drift;
use super::dry_run;
use super::error::Error;
use super::render::{self, Values};
use super::status::Outcome;
use super::triggers;
use super::validate::validate;
use super::writer::{StatusWriter, publish_transitions, report_gone};

/// The finalizer that keeps a deleted Subscription until its configuration is removed.
pub const FINALIZER: &str = "provisioning.ferrule.dev/cleanup";

/// Controller name in metrics and Events.
pub const CONTROLLER: &str = "subscription";

/// Reconciles one Subscription.
pub async fn reconcile(sub: Arc<Subscription>, ctx: Arc<Context>) -> Result<Action, Error> {
    // The failure's own status write triggers a reconcile at once; wait out the backoff.
    if sub.metadata.deletion_timestamp.is_none()
        && let Some(left) = ctx.backoff.hold(&key(&sub), sub.metadata.generation)
    {
        return Ok(Action::requeue(left));
    }
    let timer = ctx.metrics.reconcile_started(CONTROLLER);
    let ns = sub.namespace().unwrap_or_default();
    let api: Api<Subscription> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer::finalizer(&api, FINALIZER, sub.clone(), |event| async {
        match event {
            finalizer::Event::Apply(sub) => apply(&sub, &ctx).await,
            finalizer::Event::Cleanup(sub) => cleanup(&sub, &ctx).await,
        }
    })
    .await;
    let result = match result {
        // The object went away between the cleanup and the finalizer's removal.
        Err(finalizer::Error::RemoveFinalizer(kube::Error::Api(status)))
            if status.is_not_found() =>
        {
            Ok(Action::await_change())
        }
        other => other.map_err(|e| Error::Finalizer(Box::new(e))),
    };
    match &result {
        Ok(_) => {
            ctx.backoff.succeeded(&key(&sub));
            timer.finish("success");
        }
        Err(err) => {
            timer.finish(match err.remedy() {
                Remedy::FixSpec => "invalid",
                Remedy::Wait => "waiting",
                Remedy::Retry => "error",
            });
        }
    }
    result
}

/// Waits for a change when the user (or a device's maintenance) must act, retries with
/// backoff otherwise.
pub fn error_policy(sub: Arc<Subscription>, err: &Error, ctx: Arc<Context>) -> Action {
    if err.is_stale_view() {
        tracing::debug!(subscription = %key(&sub), "stale view, retrying: {err}");
        return Action::requeue(Duration::from_millis(500));
    }
    match err.remedy() {
        Remedy::FixSpec | Remedy::Wait => {
            tracing::info!(subscription = %key(&sub), reason = err.reason(), "waiting for a change: {err}");
            Action::await_change()
        }
        Remedy::Retry => {
            let delay = ctx.backoff.failed_at(&key(&sub), sub.metadata.generation);
            tracing::warn!(subscription = %key(&sub), retry_in = ?delay, "reconcile failed: {err}");
            Action::requeue(delay)
        }
    }
}

fn key(sub: &Subscription) -> String {
    format!("{}/{}", sub.namespace().unwrap_or_default(), sub.name_any())
}

// === apply ===

/// A converged pipeline.
struct Converged {
    allocations: Allocations,
    devices: Vec<DeviceConfig>,
    message: String,
}

/// A failed pipeline, with the allocations made before the failure.
struct Failed {
    error: Error,
    allocations: Option<Allocations>,
}

impl<E: Into<Error>> From<E> for Failed {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            allocations: None,
        }
    }
}

async fn apply(sub: &Subscription, ctx: &Context) -> Result<Action, Error> {
    let api: Api<Subscription> =
        Api::namespaced(ctx.client.clone(), &sub.namespace().unwrap_or_default());
    // The cache may lag behind this controller's own last writes; the pipeline must start
    // from what was really applied.
    let Some(fresh) = api.get_opt(&sub.name_any()).await? else {
        return Ok(Action::await_change());
    };
    let mut writer = StatusWriter {
        api,
        current: fresh,
    };
    let before = writer.status();
    if dry_run::requested(&writer.current) {
        let action = dry_run::dry_run(ctx, &mut writer).await;
        publish_transitions(ctx, &writer.current, &before).await;
        return action;
    }
    let result = provision(ctx, &mut writer).await;
    let outcome = match &result {
        Ok(done) => {
            let ns = writer.current.namespace().unwrap_or_default();
            let drift = drift::drifted(&writer.current.name_any(), &done.devices, |name| {
                named(&ctx.stores.devices, &ns, name)
            });
            let outcome = match drift {
                Some(message) => Outcome::Drifted { message },
                None => Outcome::Converged {
                    message: done.message.clone(),
                },
            };
            writer
                .write(
                    &outcome,
                    Some(done.allocations.clone()),
                    Some(done.devices.clone()),
                )
                .await?;
            Ok(Action::await_change())
        }
        Err(failed) => {
            if failed.error.is_reportable() {
                let outcome = failure_outcome(&failed.error);
                writer
                    .write(&outcome, failed.allocations.clone(), None)
                    .await?;
            }
            Err(())
        }
    };
    publish_transitions(ctx, &writer.current, &before).await;
    match (outcome, result) {
        (Ok(action), _) => Ok(action),
        (Err(()), Err(failed)) => Err(failed.error),
        (Err(()), Ok(_)) => Ok(Action::await_change()),
    }
}

fn failure_outcome(error: &Error) -> Outcome {
    let reason = error.reason();
    let message = error.to_string();
    match error.remedy() {
        Remedy::FixSpec => Outcome::Invalid { reason, message },
        Remedy::Wait => Outcome::Waiting { reason, message },
        Remedy::Retry => Outcome::Failed { reason, message },
    }
}

/// The pipeline: dereference → validate → allocate → render → plan → transact.
async fn provision(ctx: &Context, writer: &mut StatusWriter) -> Result<Converged, Failed> {
    let sub = writer.current.clone();
    let deref = Dereferenced::read(&sub, &ctx.stores);
    let intent = validate(&sub, deref.references())?;

    // Allocate.
    let claims_api: Api<ResourceClaim> = Api::namespaced(ctx.client.clone(), &intent.namespace);
    let held = claims::own_claims(&claims_api, &sub).await?;
    let cached_claims = |pool: &str| ctx.stores.claims_of_pool(&intent.namespace, pool);
    let vlan_need = Need {
        kind: PoolType::Vlan,
        device: intent.access.device.clone(),
        pinned: pinned_vlan(intent.pinned_vlan),
        required: true,
    };
    let ipv4_need = Need {
        kind: PoolType::Ipv4,
        device: intent.address_device().clone(),
        pinned: pinned_subnet(intent.pinned_ipv4.as_ref()),
        required: render::ipv4_required(&ctx.renderer, &intent),
    };
    let vlan = claims::acquire(
        &claims_api,
        &sub,
        &vlan_need,
        &deref.pools,
        &held,
        &cached_claims,
        &ctx.ledger,
    )
    .await?;
    let ipv4 = claims::acquire(
        &claims_api,
        &sub,
        &ipv4_need,
        &deref.pools,
        &held,
        &cached_claims,
        &ctx.ledger,
    )
    .await;
    let vlan_id = match vlan.value {
        Some(crate::allocate::Allocation::Vlan(id)) => id,
        _ => 0,
    };
    let partial = Allocations {
        vlan: Some(i32::from(vlan_id)),
        ipv4: None,
    };
    let ipv4 = ipv4.map_err(|error| Failed {
        error: error.into(),
        allocations: Some(partial.clone()),
    })?;
    let address = match (&intent.pinned_ipv4, &ipv4.value) {
        (Some(pinned), _) => Some(*pinned),
        (None, Some(value)) => value.interface_address().and_then(|a| a.parse().ok()),
        (None, None) => None,
    };
    let allocations = Allocations {
        vlan: Some(i32::from(vlan_id)),
        ipv4: address.map(|a| a.to_string()),
    };
    let failed = |error: Error| Failed {
        error,
        allocations: Some(allocations.clone()),
    };

    // Render and plan.
    let values = Values {
        vlan: vlan_id,
        ipv4: address,
    };
    let rendered = render::render(&ctx.renderer, &intent, &values).map_err(|e| failed(e.into()))?;
    let previous = applied::previous(&sub);
    let (changes, gone) = change_set(&sub, rendered, &previous, &deref);
    report_gone(ctx, &sub, &gone).await;
    let plan = ctx
        .transactor
        .plan(&changes)
        .map_err(|e| failed(e.into()))?;
    if let Some(device) = in_maintenance(plan.pushed().map(|d| d.target.name.as_str()), &deref) {
        return Err(failed(Error::Maintenance(device)));
    }

    // Transact.
    let committed = push(ctx, writer, &plan).await.map_err(failed)?;
    let before = writer.status().devices;
    let devices = applied::device_status(
        &plan.devices,
        committed.as_ref().map(|c| c.transaction.as_str()),
        &before,
    );

    // Release what is no longer used.
    let kept: Vec<&super::allocation::Held> = [&vlan, &ipv4]
        .into_iter()
        .filter_map(|c: &Claimed| c.held.as_ref())
        .collect();
    let unused = releasable(&held, &kept);
    claims::release(&claims_api, &unused, &ctx.ledger, &intent.namespace)
        .await
        .map_err(|e| failed(e.into()))?;

    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    Ok(Converged {
        allocations,
        message: format!("configured on {}", names.join(", ")),
        devices,
    })
}

/// Runs the transaction of `plan` when it changes anything, and records what it applied.
async fn push(
    ctx: &Context,
    writer: &mut StatusWriter,
    plan: &NetworkPlan,
) -> Result<Option<Committed>, Error> {
    if plan.is_noop() {
        ctx.metrics.transaction("noop");
        if writer
            .current
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(APPLIED_ANNOTATION))
            .is_none()
            && plan.devices.iter().any(|d| d.applied.is_some())
        {
            writer.record_applied(plan).await?;
        }
        return Ok(None);
    }
    let names: Vec<&str> = plan.pushed().map(|d| d.target.name.as_str()).collect();
    writer
        .write(
            &Outcome::Provisioning {
                message: format!("pushing configuration to {}", names.join(", ")),
            },
            None,
            None,
        )
        .await?;
    let started = Instant::now();
    let result = ctx.transactor.apply(plan).await;
    ctx.metrics
        .transaction_duration
        .observe(started.elapsed().as_secs_f64());
    let committed = match result {
        Ok(committed) => committed,
        Err(err) => {
            ctx.metrics.transaction(match &err {
                TransactError::Unreachable { .. } => "unreachable",
                TransactError::Rejected { .. } => "rejected",
                TransactError::Failed { .. } => "failed",
            });
            return Err(err.into());
        }
    };
    ctx.metrics.transaction("committed");
    writer.record_applied(plan).await?;
    record_device_transactions(ctx, plan, &committed);
    Ok(Some(committed))
}

/// Records the commit for the devices' `status.lastTransaction` (published by the Device
/// controller).
fn record_device_transactions(ctx: &Context, plan: &NetworkPlan, committed: &Committed) {
    for device in plan.pushed() {
        ctx.last_transactions
            .record(&device.target.key(), &committed.transaction);
    }
}

// === run ===

/// Runs the Subscription controller until `shutdown` resolves, triggered by the shared
/// caches' change streams.
pub async fn run(
    ctx: Arc<Context>,
    streams: Streams,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let Streams {
        subscriptions,
        devices: device_changes,
        products,
        customers,
        pools,
        claims,
        orders,
    } = streams;
    // Not a trigger here.
    drop(orders);
    let stores = ctx.stores.clone();
    let (subs, devices) = (stores.subscriptions.clone(), stores.devices.clone());
    let prints = triggers::Fingerprints::default();
    let device_trigger = {
        let (subs, devices) = (subs.clone(), devices.clone());
        move |device: Arc<Device>| {
            let (key, print) = triggers::device_fingerprint(&device);
            if !prints.changed(key, print) {
                return Vec::new();
            }
            triggers::for_device(&device, &subs.state(), &devices.state())
        }
    };
    let queue = spawn_queue_gauge(ctx.clone());
    let (s1, s2, s3) = (subs.clone(), subs.clone(), subs.clone());
    let (s4, s5) = (stores.clone(), stores.clone());
    let (p1, p2, p3) = (
        triggers::Fingerprints::default(),
        triggers::Fingerprints::default(),
        triggers::Fingerprints::default(),
    );
    let port_holders = subscriptions.split().stream();
    let trigger = triggers::changes_only(subscriptions.stream(), subs.clone());
    Controller::for_shared_stream(trigger, subs.clone())
        .watches_shared_stream(device_changes.stream(), device_trigger)
        .watches_shared_stream(products.stream(), move |p: Arc<Product>| {
            let (key, print) = triggers::fingerprint(p.as_ref(), "");
            if !p1.changed(key, print) {
                return Vec::new();
            }
            triggers::for_product(&p, &s1.state())
        })
        .watches_shared_stream(customers.stream(), move |c: Arc<Customer>| {
            let (key, print) = triggers::customer_fingerprint(&c);
            if !p2.changed(key, print) {
                return Vec::new();
            }
            triggers::for_customer(&c, &s2.state())
        })
        .watches_shared_stream(pools.stream(), move |p: Arc<ResourcePool>| {
            // Status (allocated/free) changes with every claim; only the spec matters.
            let (key, print) = triggers::fingerprint(p.as_ref(), "");
            if !p3.changed(key, print) {
                return Vec::new();
            }
            triggers::for_pool(&p, &s3.state())
        })
        .watches_shared_stream(claims.stream(), move |c: Arc<ResourceClaim>| {
            // Only subscriptions waiting for a value can be helped by a claim's change.
            let ns = c.metadata.namespace.as_deref().unwrap_or_default();
            let mut waiting = s4.subscriptions_waiting(ns, reasons::POOL_EXHAUSTED);
            waiting.extend(s4.subscriptions_waiting(ns, reasons::PINNED_VALUE_TAKEN));
            triggers::for_claim(&c, &waiting)
        })
        .watches_shared_stream(port_holders, move |s: Arc<Subscription>| {
            let ns = s.metadata.namespace.as_deref().unwrap_or_default();
            let on_device = s5.subscriptions_on(ns, &s.spec.access.device);
            triggers::for_port_holder(&s, &on_device)
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %err, "subscription reconcile");
            }
        })
        .await;
    queue.abort();
}

/// Updates the queue-depth gauge from the cache every few seconds.
fn spawn_queue_gauge(ctx: Arc<Context>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let label = ControllerLabel {
            controller: CONTROLLER.to_owned(),
        };
        loop {
            let behind = ctx
                .stores
                .subscriptions
                .state()
                .iter()
                .filter(|s| {
                    let observed = s.status.as_ref().and_then(|st| st.observed_generation);
                    observed.is_none() || observed < s.metadata.generation
                })
                .count();
            ctx.metrics
                .queue_depth
                .get_or_create(&label)
                .set(i64::try_from(behind).unwrap_or(i64::MAX));
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    })
}
