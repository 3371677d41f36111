//! The dry-run annotation: a Subscription annotated `provisioning.ferrule.dev/dry-run: "true"`
//! is planned but not provisioned. The plan (claims and per-device payloads, as
//! `ferrule plan` prints it) goes into the annotation `provisioning.ferrule.dev/plan`; no claim
//! is created and nothing is pushed until the dry-run annotation is removed.

use ferrule_crds::Subscription;
use kube::ResourceExt;
use kube::api::Patch;
use kube::runtime::controller::Action;
use serde_json::json;

use crate::context::Context;
use crate::plan::dryrun::{Graph, plan_subscription};
use crate::plan::report;
use ferrule_operator::cache::in_namespace;
use ferrule_operator::context::truncate;
use ferrule_operator::reasons::DRY_RUN;

use super::error::Error;
use super::status::Outcome;
use super::writer::StatusWriter;

/// Set to `"true"` to plan without provisioning.
pub const DRY_RUN_ANNOTATION: &str = "provisioning.ferrule.dev/dry-run";
/// Where the plan is written.
pub const PLAN_ANNOTATION: &str = "provisioning.ferrule.dev/plan";
/// Longest plan kept in the annotation.
const MAX_PLAN_BYTES: usize = 64 * 1024;

/// Whether the subscription asks for a dry run.
pub fn requested(sub: &Subscription) -> bool {
    sub.annotations()
        .get(DRY_RUN_ANNOTATION)
        .map(String::as_str)
        == Some("true")
}

/// Plans the subscription and records the plan; changes nothing else.
pub(super) async fn dry_run(ctx: &Context, writer: &mut StatusWriter) -> Result<Action, Error> {
    let sub = writer.current.clone();
    let ns = sub.namespace().unwrap_or_default();
    let stores = &ctx.stores;
    let mut graph = Graph {
        customers: in_namespace(&stores.customers, &ns),
        products: in_namespace(&stores.products, &ns),
        devices: in_namespace(&stores.devices, &ns),
        pools: in_namespace(&stores.pools, &ns),
        claims: in_namespace(&stores.claims, &ns),
        subscriptions: in_namespace(&stores.subscriptions, &ns),
    };
    let plan = plan_subscription(&ctx.renderer, &mut graph, sub.clone());
    let text = truncate(
        &report::text(&ctx.renderer, std::slice::from_ref(&plan)),
        MAX_PLAN_BYTES,
    );
    if sub.annotations().get(PLAN_ANNOTATION) != Some(&text) {
        let patch = json!({"metadata": {"annotations": {PLAN_ANNOTATION: text}}});
        writer.current = writer
            .api
            .patch(
                &sub.name_any(),
                &StatusWriter::params(),
                &Patch::Merge(&patch),
            )
            .await?;
    }
    let edits = plan.devices.iter().filter(|d| d.payload.is_some()).count();
    let message = match &plan.problem {
        Some((reason, message)) => format!("dry run: {reason}: {message}"),
        None => format!(
            "dry run: {} claim(s) to create, {edits} device edit(s); see the annotation {PLAN_ANNOTATION}",
            plan.claims.len()
        ),
    };
    writer
        .write(
            &Outcome::Waiting {
                reason: DRY_RUN,
                message,
            },
            None,
            None,
        )
        .await?;
    Ok(Action::await_change())
}
