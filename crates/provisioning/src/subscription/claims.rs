//! Allocate, the API half: ResourceClaims are created, adopted and released here.
//!
//! Creating the claim `claim_name(pool, value)` is the lock on the value: the API server
//! accepts one object per name, so of two subscriptions racing for a value exactly one
//! succeeds and the other tries the next free one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use ferrule_crds::oss::resource_claim::ResourceClaimSpec;
use ferrule_crds::{ResourceClaim, Subscription, claim_name};
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, Resource, ResourceExt};

use crate::allocate::Allocation;
use crate::context::FIELD_MANAGER;

use super::allocation::{
    AllocationError, Choice, Held, Need, SUBSCRIPTION_LABEL, choose, held_claims, kind_name, taken,
};
use super::ledger::ClaimLedger;

/// Most claim creations lost to other subscriptions within one reconcile; beyond it the
/// reconcile is retried with a fresh view of the claims.
const MAX_CONFLICTS: usize = 64;

/// Why a value could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The user must change the spec or the pools.
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    /// Too many values were taken by others meanwhile; retried with a fresh view.
    #[error("{count} {kind} values were claimed by others meanwhile; retrying")]
    Contended {
        /// `VLAN` or `IPv4`.
        kind: &'static str,
        /// Lost creations.
        count: usize,
    },
    /// The API server failed.
    #[error("ResourceClaim: {0}")]
    Kube(#[from] kube::Error),
}

/// A value the subscription now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The value; `None` when nothing was needed.
    pub value: Option<Allocation>,
    /// The claim holding it; `None` for pinned values outside every pool.
    pub held: Option<Held>,
}

/// The claims of `sub`, read from the API server (not the cache: a claim created by the
/// previous reconcile must be seen).
pub async fn own_claims(
    api: &Api<ResourceClaim>,
    sub: &Subscription,
) -> Result<Vec<Held>, kube::Error> {
    let selector = format!("{SUBSCRIPTION_LABEL}={}", sub.name_any());
    let list = api.list(&ListParams::default().labels(&selector)).await?;
    let mine: Vec<ResourceClaim> = list
        .items
        .into_iter()
        .filter(|c| c.spec.subscription == sub.name_any())
        .collect();
    Ok(held_claims(&mine))
}

/// Satisfies `need`: keeps a held claim, claims a pinned value, or claims the lowest free
/// value of the serving pools. `cached_claims(pool)` are the claims of a pool the cache knows.
pub async fn acquire(
    api: &Api<ResourceClaim>,
    sub: &Subscription,
    need: &Need,
    pools: &[Arc<ferrule_crds::ResourcePool>],
    held: &[Held],
    cached_claims: &(dyn Fn(&str) -> Vec<Arc<ResourceClaim>> + Sync),
    ledger: &ClaimLedger,
) -> Result<Claimed, ClaimError> {
    match choose(need, pools, held)? {
        Choice::Nothing => Ok(Claimed {
            value: None,
            held: None,
        }),
        Choice::Keep { held, value } => Ok(Claimed {
            value: Some(value),
            held: Some(held),
        }),
        Choice::Unclaimed(value) => Ok(Claimed {
            value: Some(value),
            held: None,
        }),
        Choice::Pinned { pool, value } => match create(api, sub, &pool, &value).await? {
            Ok(held) => Ok(Claimed {
                value: Some(value),
                held: Some(held),
            }),
            Err(holder) => Err(AllocationError::PinnedTaken {
                pool,
                value: value.claim_value(),
                holder,
            }
            .into()),
        },
        Choice::Next(serving) => {
            let mut conflicts = 0;
            let ns = sub.namespace().unwrap_or_default();
            for pool in &serving {
                let key = format!("{ns}/{}", pool.name);
                let mut taken: BTreeSet<Allocation> = taken(pool, &cached_claims(&pool.name));
                while let Some(value) = ledger.reserve(&key, &pool.range, &taken, Instant::now()) {
                    let created = match create(api, sub, &pool.name, &value).await {
                        Ok(created) => created,
                        Err(err) => {
                            ledger.forget(&key, &value);
                            return Err(err.into());
                        }
                    };
                    match created {
                        Ok(held) => {
                            return Ok(Claimed {
                                value: Some(value),
                                held: Some(held),
                            });
                        }
                        Err(_) => {
                            taken.insert(value);
                            conflicts += 1;
                            if conflicts >= MAX_CONFLICTS {
                                return Err(ClaimError::Contended {
                                    kind: kind_name(need.kind),
                                    count: conflicts,
                                });
                            }
                        }
                    }
                }
            }
            Err(AllocationError::Exhausted {
                kind: kind_name(need.kind),
                device: need.device.name_any(),
                pools: serving
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into())
        }
    }
}

/// Creates the claim of `value` in `pool` for `sub`. `Ok(Err(holder))` when another
/// subscription holds it; a claim of `sub` itself (created by an earlier reconcile whose
/// result was lost) is adopted.
async fn create(
    api: &Api<ResourceClaim>,
    sub: &Subscription,
    pool: &str,
    value: &Allocation,
) -> Result<Result<Held, String>, kube::Error> {
    let text = value.claim_value();
    let name = claim_name(pool, &text);
    let claim = ResourceClaim {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: sub.namespace(),
            labels: Some([(SUBSCRIPTION_LABEL.to_owned(), sub.name_any())].into()),
            owner_references: sub.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        spec: ResourceClaimSpec {
            pool: pool.to_owned(),
            value: text.clone(),
            subscription: sub.name_any(),
        },
        status: None,
    };
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..Default::default()
    };
    let held = Held {
        claim: name.clone(),
        pool: pool.to_owned(),
        value: text,
    };
    match api.create(&params, &claim).await {
        Ok(_) => Ok(Ok(held)),
        Err(kube::Error::Api(status)) if status.is_already_exists() || status.code == 409 => {
            let existing = api.get_opt(&name).await?;
            match existing {
                Some(c) if c.spec.subscription == sub.name_any() => Ok(Ok(held)),
                Some(c) => Ok(Err(c.spec.subscription)),
                // Deleted in between: count it as taken; the next reconcile sees it free.
                None => Ok(Err("(released meanwhile)".to_owned())),
            }
        }
        Err(err) => Err(err),
    }
}

/// Deletes claims of the subscription; already deleted ones are fine.
pub async fn release(
    api: &Api<ResourceClaim>,
    claims: &[&Held],
    ledger: &ClaimLedger,
    namespace: &str,
) -> Result<(), kube::Error> {
    for held in claims {
        ledger.forget_text(&format!("{namespace}/{}", held.pool), &held.value);
        match api.delete(&held.claim, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.is_not_found() => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
