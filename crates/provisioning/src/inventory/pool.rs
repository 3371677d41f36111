//! The ResourcePool reconciler: `status.allocated` and `status.free` from the pool's claims,
//! and a Ready condition that says whether the pool's spec is usable.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferrule_crds::condition::{set_condition, types};
use ferrule_crds::oss::resource_pool::ResourcePoolStatus;
use ferrule_crds::{Condition, ConditionStatus, ResourceClaim, ResourcePool, Timestamp};
use futures::StreamExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::{Api, ResourceExt};

use crate::context::{Context, FIELD_MANAGER};
use crate::topology::pool_range;
use ferrule_operator::changes::Changes;
use ferrule_operator::context::now;
use ferrule_operator::patch::status_patch;

/// Controller name in metrics.
pub const CONTROLLER: &str = "resourcepool";

/// The next status of `pool` given the claims of its namespace (those of other pools are
/// ignored).
pub fn next_status(
    pool: &ResourcePool,
    claims: &[Arc<ResourceClaim>],
    now: Timestamp,
) -> ResourcePoolStatus {
    let mut status = pool.status.clone().unwrap_or_default();
    let generation = pool.metadata.generation;
    let name = pool.name_any();
    let mine = claims.iter().filter(|c| c.spec.pool == name);
    let condition = match pool_range(pool) {
        Ok(range) => {
            let allocated = mine
                .filter_map(|c| range.parse_value(&c.spec.value))
                .filter(|v| range.admits(v))
                .count() as u64;
            let free = range.capacity().saturating_sub(allocated);
            status.allocated = Some(i64::try_from(allocated).unwrap_or(i64::MAX));
            status.free = Some(i64::try_from(free).unwrap_or(i64::MAX));
            let (value, reason) = if free == 0 {
                (ConditionStatus::False, "Exhausted")
            } else {
                (ConditionStatus::True, "Available")
            };
            Condition::new(
                types::READY,
                value,
                reason,
                format!("{allocated} allocated, {free} free"),
                now,
                generation,
            )
        }
        Err(err) => {
            status.allocated = Some(i64::try_from(mine.count()).unwrap_or(i64::MAX));
            status.free = Some(0);
            Condition::new(
                types::READY,
                ConditionStatus::False,
                "InvalidPool",
                err.reason,
                now,
                generation,
            )
        }
    };
    status.observed_generation = generation;
    set_condition(&mut status.conditions, condition);
    status
}

/// Why a pool reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Reconciles one pool.
pub async fn reconcile(pool: Arc<ResourcePool>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile_started(CONTROLLER);
    let result = update(&pool, &ctx).await;
    timer.finish(if result.is_ok() { "success" } else { "error" });
    result
}

async fn update(pool: &ResourcePool, ctx: &Context) -> Result<Action, Error> {
    let ns = pool.namespace().unwrap_or_default();
    let api: Api<ResourcePool> = Api::namespaced(ctx.client.clone(), &ns);
    let claims = ctx.stores.claims_of_pool(&ns, &pool.name_any());
    let old = pool.status.clone().unwrap_or_default();
    let new = next_status(pool, &claims, now());
    let (Ok(old_json), Ok(new_json)) = (serde_json::to_value(&old), serde_json::to_value(&new))
    else {
        return Ok(Action::await_change());
    };
    if let Some(patch) = status_patch(pool.resource_version().as_deref(), &old_json, &new_json) {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..Default::default()
        };
        api.patch_status(&pool.name_any(), &params, &Patch::Merge(&patch))
            .await?;
    }
    Ok(Action::await_change())
}

/// Retries with backoff (a 409 means the cache lagged: the next try uses a fresher pool).
pub fn error_policy(pool: Arc<ResourcePool>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = format!(
        "{}/{}",
        pool.namespace().unwrap_or_default(),
        pool.name_any()
    );
    tracing::debug!(pool = %key, "pool status: {err}");
    Action::requeue(ctx.backoff.failed(&key))
}

/// How often every pool's counts are brought up to date with the claims cache. Claims come and
/// go in bursts; recounting from the cache on a tick keeps the counts current without one
/// reconcile per claim (and without reading a cache that lags behind the claim's own event).
pub const RECOUNT: Duration = Duration::from_secs(2);

/// Runs the ResourcePool controller until `shutdown` resolves: pool spec changes are handled
/// at once, claim changes on the next recount.
pub async fn run(
    ctx: Arc<Context>,
    changes: Changes<ResourcePool>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let recount = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECOUNT).await;
                for pool in ctx.stores.pools.state() {
                    if let Err(err) = update(&pool, &ctx).await {
                        tracing::debug!(pool = %pool.name_any(), "pool recount: {err}");
                    }
                }
            }
        })
    };
    Controller::for_shared_stream(changes.stream(), ctx.stores.pools.clone())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %err, "pool reconcile");
            }
        })
        .await;
    recount.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::condition::find_condition;

    #[test]
    fn counts_admitted_claims_of_the_pool() {
        let pool = mk_vlan_pool("v", 10, 12, &[]);
        let claims = vec![
            mk_claim("v", "10", "a"),
            mk_claim("v", "99", "b"),
            mk_claim("w", "11", "c"),
        ];
        let status = next_status(
            &pool,
            &claims,
            Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
        );
        assert_eq!((status.allocated, status.free), (Some(1), Some(2)));
        let ready = find_condition(&status.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.reason.as_str(), ready.message.as_str()),
            ("Available", "1 allocated, 2 free")
        );
    }

    #[test]
    fn exhausted_and_invalid_pools_are_not_ready() {
        let pool = mk_vlan_pool("v", 10, 10, &[]);
        let at = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let status = next_status(&pool, &[mk_claim("v", "10", "a")], at);
        assert_eq!(
            find_condition(&status.conditions, types::READY)
                .unwrap()
                .reason,
            "Exhausted"
        );
        let broken = mk_vlan_pool("v", 20, 10, &[]);
        let status = next_status(&broken, &[], at);
        assert_eq!(
            find_condition(&status.conditions, types::READY)
                .unwrap()
                .reason,
            "InvalidPool"
        );
    }
}
