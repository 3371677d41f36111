//! Allocate, the pure half: which values a subscription needs, which of its claims it keeps,
//! and where new values come from.
//!
//! The claims half ([`super::claims`]) creates the ResourceClaims; the API server's name
//! uniqueness makes each creation the lock on its value.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrule_crds::oss::resource_pool::PoolType;
use ferrule_crds::{Device, ResourceClaim, ResourcePool};
use kube::ResourceExt;

use crate::allocate::{Allocation, Ipv4Prefix as Subnet};
use crate::topology::{InvalidPool, ServingPool, serving_pools};
use ferrule_operator::reasons;
use ferrule_render::Ipv4Prefix;

/// What a subscription needs from one kind of pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// VLAN or IPv4.
    pub kind: PoolType,
    /// The device whose pools serve the need.
    pub device: Arc<Device>,
    /// The value pinned in the spec.
    pub pinned: Option<Allocation>,
    /// Whether rendering cannot do without the value.
    pub required: bool,
}

/// A value the subscription holds through one of its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Claim name.
    pub claim: String,
    /// Pool name.
    pub pool: String,
    /// The value as written in the claim.
    pub value: String,
}

/// Where a need is satisfied from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Nothing is needed (an optional address and no pool serves the device).
    Nothing,
    /// A claim the subscription holds already satisfies it.
    Keep {
        /// The claim.
        held: Held,
        /// Its value.
        value: Allocation,
    },
    /// Claim the pinned value in this pool.
    Pinned {
        /// Pool name.
        pool: String,
        /// The value.
        value: Allocation,
    },
    /// Use the pinned value without a claim: no serving pool contains it.
    Unclaimed(Allocation),
    /// Claim the lowest free value of the first pool that has one.
    Next(Vec<ServingPool>),
}

/// Why a subscription cannot get its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// No pool of the kind serves the device.
    #[error("no {kind} ResourcePool selects Device {device}")]
    NoPool {
        /// `VLAN` or `IPv4`.
        kind: &'static str,
        /// The device.
        device: String,
    },
    /// Every serving pool is exhausted.
    #[error("{kind} pools {pools} of Device {device} are exhausted")]
    Exhausted {
        /// `VLAN` or `IPv4`.
        kind: &'static str,
        /// The device.
        device: String,
        /// The pools tried, comma-separated.
        pools: String,
    },
    /// Every serving pool has an unusable spec.
    #[error("{0}")]
    InvalidPool(#[from] InvalidPool),
    /// The pinned value is claimed by another subscription.
    #[error("{value} in pool {pool} is claimed by Subscription {holder}")]
    PinnedTaken {
        /// Pool name.
        pool: String,
        /// The value.
        value: String,
        /// The subscription holding it.
        holder: String,
    },
}

impl AllocationError {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoPool { .. } => reasons::NO_POOL,
            Self::Exhausted { .. } => reasons::POOL_EXHAUSTED,
            Self::InvalidPool(_) => reasons::INVALID_POOL,
            Self::PinnedTaken { .. } => reasons::PINNED_VALUE_TAKEN,
        }
    }
}

/// The label every claim carries with the name of its subscription, so a subscription lists
/// its own claims with a label selector.
pub const SUBSCRIPTION_LABEL: &str = "provisioning.ferrule.dev/subscription";

/// `VLAN` / `IPv4`, for messages.
pub fn kind_name(kind: PoolType) -> &'static str {
    match kind {
        PoolType::Vlan => "VLAN",
        PoolType::Ipv4 => "IPv4",
    }
}

/// The pinned VLAN as an allocation.
pub fn pinned_vlan(vlan: Option<u16>) -> Option<Allocation> {
    vlan.map(Allocation::Vlan)
}

/// The pinned address as an allocation: the subnet it lies in.
pub fn pinned_subnet(ipv4: Option<&Ipv4Prefix>) -> Option<Allocation> {
    ipv4.and_then(|p| Subnet::new(p.address(), p.prefix_len()).ok())
        .map(Allocation::Ipv4)
}

/// Decides where `need` is satisfied from, given the pools of the namespace and the claims the
/// subscription holds.
pub fn choose(
    need: &Need,
    pools: &[Arc<ResourcePool>],
    held: &[Held],
) -> Result<Choice, AllocationError> {
    let (serving, invalid) = serving_pools(pools, need.kind, &need.device);
    if serving.is_empty() {
        if let Some(err) = invalid.into_iter().next() {
            return Err(err.into());
        }
        return match (need.pinned, need.required) {
            (Some(value), _) => Ok(Choice::Unclaimed(value)),
            (None, false) => Ok(Choice::Nothing),
            (None, true) => Err(AllocationError::NoPool {
                kind: kind_name(need.kind),
                device: need.device.name_any(),
            }),
        };
    }
    let held_value = |pool: &ServingPool| {
        held.iter().filter(|h| h.pool == pool.name).find_map(|h| {
            let value = pool.range.parse_value(&h.value)?;
            pool.range.admits(&value).then(|| (h.clone(), value))
        })
    };
    if let Some(pinned) = need.pinned {
        let Some(pool) = serving.iter().find(|p| p.range.admits(&pinned)) else {
            return Ok(Choice::Unclaimed(pinned));
        };
        return Ok(match held_value(pool) {
            Some((held, value)) if value == pinned => Choice::Keep { held, value },
            _ => Choice::Pinned {
                pool: pool.name.clone(),
                value: pinned,
            },
        });
    }
    if let Some((held, value)) = serving.iter().find_map(held_value) {
        return Ok(Choice::Keep { held, value });
    }
    Ok(Choice::Next(serving))
}

/// The values of `pool` claimed by anyone, as far as the caller's view of the claims goes.
pub fn taken(pool: &ServingPool, claims: &[Arc<ResourceClaim>]) -> BTreeSet<Allocation> {
    claims
        .iter()
        .filter(|c| c.spec.pool == pool.name)
        .filter_map(|c| pool.range.parse_value(&c.spec.value))
        .collect()
}

/// Claims of the subscription that are no longer needed once `kept` are.
pub fn releasable<'a>(held: &'a [Held], kept: &[&Held]) -> Vec<&'a Held> {
    held.iter().filter(|h| !kept.contains(h)).collect()
}

/// Reads the claims of a subscription.
pub fn held_claims(claims: &[ResourceClaim]) -> Vec<Held> {
    let mut held: Vec<Held> = claims
        .iter()
        .map(|c| Held {
            claim: c.name_any(),
            pool: c.spec.pool.clone(),
            value: c.spec.value.clone(),
        })
        .collect();
    held.sort_by(|a, b| a.claim.cmp(&b.claim));
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::oss::device::DeviceRole;

    fn need(kind: PoolType, device: &Arc<Device>, pinned: Option<Allocation>) -> Need {
        Need {
            kind,
            device: device.clone(),
            pinned,
            required: true,
        }
    }

    fn held(pool: &str, value: &str) -> Held {
        Held {
            claim: ferrule_crds::claim_name(pool, value),
            pool: pool.into(),
            value: value.into(),
        }
    }

    #[test]
    fn without_claims_the_serving_pools_are_tried_in_order() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let pools = vec![
            mk_vlan_pool("b", 20, 29, &["olt1"]),
            mk_vlan_pool("a", 10, 19, &["olt1"]),
        ];
        match choose(&need(PoolType::Vlan, &olt, None), &pools, &[]).unwrap() {
            Choice::Next(serving) => {
                assert_eq!(
                    serving.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
                    ["a", "b"]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_held_claim_in_a_serving_pool_is_kept() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let pools = vec![mk_vlan_pool("a", 10, 19, &["olt1"])];
        let mine = [held("a", "12"), held("gone-pool", "5")];
        let choice = choose(&need(PoolType::Vlan, &olt, None), &pools, &mine).unwrap();
        assert_eq!(
            choice,
            Choice::Keep {
                held: mine[0].clone(),
                value: Allocation::Vlan(12)
            }
        );
        let kept = [&mine[0]];
        assert_eq!(releasable(&mine, &kept), vec![&mine[1]]);
    }

    #[test]
    fn a_claim_outside_the_current_range_is_not_kept() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let pools = vec![mk_vlan_pool("a", 10, 19, &["olt1"])];
        let mine = [held("a", "25")];
        assert!(matches!(
            choose(&need(PoolType::Vlan, &olt, None), &pools, &mine).unwrap(),
            Choice::Next(_)
        ));
    }

    #[test]
    fn pinned_values_are_claimed_kept_or_used_unclaimed() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let pools = vec![mk_vlan_pool("a", 10, 19, &["olt1"])];
        let pin = need(PoolType::Vlan, &olt, Some(Allocation::Vlan(15)));
        assert_eq!(
            choose(&pin, &pools, &[]).unwrap(),
            Choice::Pinned {
                pool: "a".into(),
                value: Allocation::Vlan(15)
            }
        );
        // A held claim of another value does not satisfy the pin.
        assert!(matches!(
            choose(&pin, &pools, &[held("a", "12")]).unwrap(),
            Choice::Pinned { .. }
        ));
        assert!(matches!(
            choose(&pin, &pools, &[held("a", "15")]).unwrap(),
            Choice::Keep { .. }
        ));
        let outside = need(PoolType::Vlan, &olt, Some(Allocation::Vlan(900)));
        assert_eq!(
            choose(&outside, &pools, &[]).unwrap(),
            Choice::Unclaimed(Allocation::Vlan(900))
        );
        assert_eq!(
            choose(&outside, &[], &[]).unwrap(),
            Choice::Unclaimed(Allocation::Vlan(900))
        );
    }

    #[test]
    fn missing_pools_fail_only_when_required() {
        let bng = mk_device("bng1", DeviceRole::Bng, None);
        let mut n = need(PoolType::Ipv4, &bng, None);
        let err = choose(&n, &[], &[]).unwrap_err();
        assert_eq!(err.reason(), reasons::NO_POOL);
        assert_eq!(err.to_string(), "no IPv4 ResourcePool selects Device bng1");
        n.required = false;
        assert_eq!(choose(&n, &[], &[]).unwrap(), Choice::Nothing);
    }

    #[test]
    fn unusable_pools_are_reported() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let pools = vec![mk_vlan_pool("a", 19, 10, &["olt1"])];
        let err = choose(&need(PoolType::Vlan, &olt, None), &pools, &[]).unwrap_err();
        assert_eq!(err.reason(), reasons::INVALID_POOL);
    }

    #[test]
    fn pinned_addresses_map_to_their_subnet() {
        let pinned: Ipv4Prefix = "100.64.0.5/30".parse().unwrap();
        assert_eq!(
            pinned_subnet(Some(&pinned)).unwrap().claim_value(),
            "100.64.0.4/30"
        );
        let bng = mk_device("bng1", DeviceRole::Bng, None);
        let pools = vec![mk_ipv4_pool("v4", "100.64.0.0/24", 30, &[DeviceRole::Bng])];
        let choice = choose(
            &need(PoolType::Ipv4, &bng, pinned_subnet(Some(&pinned))),
            &pools,
            &[],
        );
        assert!(matches!(choice.unwrap(), Choice::Pinned { pool, .. } if pool == "v4"));
    }

    #[test]
    fn taken_reads_claims_of_one_pool() {
        let pools = vec![mk_vlan_pool("a", 10, 19, &[])];
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let (serving, _) = serving_pools(&pools, PoolType::Vlan, &olt);
        let claims = vec![
            mk_claim("a", "10", "x"),
            mk_claim("b", "11", "y"),
            mk_claim("a", "junk", "z"),
        ];
        assert_eq!(taken(&serving[0], &claims), [Allocation::Vlan(10)].into());
    }
}
