//! Cleanup of a deleted subscription: exactly its entries leave its devices, in one
//! transaction, then its claims are released.

use std::time::Instant;

use ferrule_crds::{ResourceClaim, Subscription};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::context::Context;

use super::applied;
use super::claims;
use super::dereference::{Dereferenced, change_set, in_maintenance};
use super::error::Error;
use super::status::Outcome;
use super::writer::{StatusWriter, publish_transitions, report_gone};

/// The finalizer's cleanup: removes the configuration, then releases the claims.
pub(super) async fn cleanup(sub: &Subscription, ctx: &Context) -> Result<Action, Error> {
    let ns = sub.namespace().unwrap_or_default();
    let api: Api<Subscription> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(fresh) = api.get_opt(&sub.name_any()).await? else {
        return Ok(Action::await_change());
    };
    let mut writer = StatusWriter {
        api,
        current: fresh,
    };
    let before = writer.status();
    let result = remove(ctx, &mut writer).await;
    if let Err(err) = &result
        && err.is_reportable()
    {
        let message = format!("removing configuration: {err}");
        writer
            .write(&Outcome::Terminating { message }, None, None)
            .await?;
    }
    publish_transitions(ctx, &writer.current, &before).await;
    result?;
    let claims_api: Api<ResourceClaim> = Api::namespaced(ctx.client.clone(), &ns);
    let held = claims::own_claims(&claims_api, &writer.current).await?;
    let held: Vec<_> = held.iter().collect();
    claims::release(&claims_api, &held, &ctx.ledger, &ns).await?;
    Ok(Action::await_change())
}

/// Removes exactly the subscription's entries from every device it has configuration on.
async fn remove(ctx: &Context, writer: &mut StatusWriter) -> Result<(), Error> {
    let sub = writer.current.clone();
    let previous = applied::previous(&sub);
    if previous.is_empty() {
        return Ok(());
    }
    let deref = Dereferenced::read(&sub, &ctx.stores);
    let (changes, gone) = change_set(&sub, Vec::new(), &previous, &deref);
    report_gone(ctx, &sub, &gone).await;
    let plan = ctx.transactor.plan(&changes)?;
    if let Some(device) = in_maintenance(plan.pushed().map(|d| d.target.name.as_str()), &deref) {
        return Err(Error::Maintenance(device));
    }
    if !plan.is_noop() {
        let names: Vec<&str> = plan.pushed().map(|d| d.target.name.as_str()).collect();
        let message = format!("removing configuration from {}", names.join(", "));
        writer
            .write(&Outcome::Terminating { message }, None, None)
            .await?;
        let started = Instant::now();
        let result = ctx.transactor.apply(&plan).await;
        ctx.metrics
            .transaction_duration
            .observe(started.elapsed().as_secs_f64());
        ctx.metrics.transaction(if result.is_ok() {
            "committed"
        } else {
            "failed"
        });
        result?;
    }
    // Recorded before the finalizer goes, so a retry does not remove anything twice.
    let message = "configuration removed".to_owned();
    writer
        .write(&Outcome::Terminating { message }, None, Some(Vec::new()))
        .await?;
    Ok(())
}
