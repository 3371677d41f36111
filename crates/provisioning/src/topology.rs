//! Which devices a subscription involves and which pools serve them.
//!
//! Pure functions over Device and ResourcePool specs: the BNG that serves an access device,
//! the role each device plays, and the pools whose selector matches a device.

use std::sync::Arc;

use ferrule_crds::oss::device::DeviceRole;
use ferrule_crds::oss::resource_pool::{PoolSelector, PoolType};
use ferrule_crds::{Device, ResourcePool};
use kube::ResourceExt;

use crate::allocate::PoolRange;

/// Why the BNG of an access device cannot be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BngError {
    /// `spec.bng` names a Device that does not exist.
    #[error("Device {access} names BNG {bng}, which does not exist")]
    Unknown {
        /// The access device.
        access: String,
        /// The missing BNG.
        bng: String,
    },
    /// `spec.bng` names a Device whose role is not `bng`.
    #[error(
        "Device {access} names {bng} as its BNG, but {bng} has role {role:?}; set its role to bng or name another device"
    )]
    NotABng {
        /// The access device.
        access: String,
        /// The named device.
        bng: String,
        /// Its role.
        role: DeviceRole,
    },
    /// Several bng-role Devices share the access device's site and none is named.
    #[error("site {site} has several BNGs ({candidates}); set spec.bng on Device {access}")]
    Ambiguous {
        /// The access device.
        access: String,
        /// Its site.
        site: String,
        /// The candidates, comma-separated.
        candidates: String,
    },
}

/// The BNG serving `access`: the Device named in its `spec.bng`, else the only bng-role Device
/// of its site, else none (the service is configured on the access device alone).
///
/// An access device that is itself a BNG has no other BNG in front of it.
pub fn bng_for<'a>(
    access: &Device,
    devices: &'a [Arc<Device>],
) -> Result<Option<&'a Arc<Device>>, BngError> {
    if access.spec.role == DeviceRole::Bng {
        return Ok(None);
    }
    let access_name = access.name_any();
    if let Some(bng) = &access.spec.bng {
        let found = devices
            .iter()
            .find(|d| d.name_any() == *bng)
            .ok_or_else(|| BngError::Unknown {
                access: access_name.clone(),
                bng: bng.clone(),
            })?;
        if found.spec.role != DeviceRole::Bng {
            return Err(BngError::NotABng {
                access: access_name,
                bng: bng.clone(),
                role: found.spec.role,
            });
        }
        return Ok(Some(found));
    }
    let Some(site) = &access.spec.site else {
        return Ok(None);
    };
    let mut candidates: Vec<&Arc<Device>> = devices
        .iter()
        .filter(|d| d.spec.role == DeviceRole::Bng && d.spec.site.as_ref() == Some(site))
        .collect();
    candidates.sort_by_key(|d| d.name_any());
    match candidates.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(only)),
        many => Err(BngError::Ambiguous {
            access: access_name,
            site: site.clone(),
            candidates: many
                .iter()
                .map(|d| d.name_any())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The BNG port facing `access`: its `spec.bngPort`, else a port named after the access
/// device (the documented default).
pub fn bng_port(access: &Device) -> String {
    access
        .spec
        .bng_port
        .clone()
        .unwrap_or_else(|| access.name_any())
}

/// Whether a pool's selector matches a device: every non-empty list must contain the
/// device's name, role or site. A pool without selector serves every device.
pub fn selects(selector: Option<&PoolSelector>, device: &Device) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let name = device.name_any();
    (selector.devices.is_empty() || selector.devices.contains(&name))
        && (selector.roles.is_empty() || selector.roles.contains(&device.spec.role))
        && (selector.sites.is_empty()
            || device
                .spec
                .site
                .as_ref()
                .is_some_and(|site| selector.sites.contains(site)))
}

/// A pool that serves a device, with its range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingPool {
    /// Pool name.
    pub name: String,
    /// Its values.
    pub range: PoolRange,
}

/// A pool whose spec cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ResourcePool {pool}: {reason}")]
pub struct InvalidPool {
    /// The pool.
    pub pool: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a pool's range from its spec.
pub fn pool_range(pool: &ResourcePool) -> Result<PoolRange, InvalidPool> {
    let invalid = |reason: String| InvalidPool {
        pool: pool.name_any(),
        reason,
    };
    match pool.spec.type_ {
        PoolType::Vlan => {
            let range = pool
                .spec
                .vlan
                .as_ref()
                .ok_or_else(|| invalid("type Vlan needs spec.vlan".to_owned()))?;
            let id = |v: i32| u16::try_from(v).unwrap_or(0);
            PoolRange::vlan(id(range.from), id(range.to)).map_err(|e| invalid(e.to_string()))
        }
        PoolType::Ipv4 => {
            let range = pool
                .spec
                .ipv4
                .as_ref()
                .ok_or_else(|| invalid("type IPv4 needs spec.ipv4".to_owned()))?;
            let len = u8::try_from(range.prefix_length).map_err(|_| {
                invalid(format!(
                    "prefixLength {} is outside 0-32",
                    range.prefix_length
                ))
            })?;
            let mut reserved = Vec::new();
            for text in range.reserved.iter().flatten() {
                let addr = text
                    .parse()
                    .map_err(|_| invalid(format!("reserved address {text:?} is not IPv4")))?;
                reserved.push(addr);
            }
            PoolRange::ipv4(&range.cidr, len, &reserved).map_err(|e| invalid(e.to_string()))
        }
    }
}

/// The pools of `type_` that serve `device`, in name order (the first has precedence; the
/// next ones are used when it is exhausted). Pools whose spec is unusable are returned as
/// errors next to the usable ones so the caller can report them.
pub fn serving_pools(
    pools: &[Arc<ResourcePool>],
    type_: PoolType,
    device: &Device,
) -> (Vec<ServingPool>, Vec<InvalidPool>) {
    let mut matching: Vec<&Arc<ResourcePool>> = pools
        .iter()
        .filter(|p| p.spec.type_ == type_ && selects(p.spec.selector.as_ref(), device))
        .collect();
    matching.sort_by_key(|p| p.name_any());
    let mut usable = Vec::new();
    let mut invalid = Vec::new();
    for pool in matching {
        match pool_range(pool) {
            Ok(range) => usable.push(ServingPool {
                name: pool.name_any(),
                range,
            }),
            Err(err) => invalid.push(err),
        }
    }
    (usable, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    fn with_bng(device: &Arc<Device>, bng: &str) -> Arc<Device> {
        let mut d = (**device).clone();
        d.spec.bng = Some(bng.into());
        Arc::new(d)
    }

    #[test]
    fn named_bng_wins_and_must_be_a_bng() {
        let olt = mk_device("olt1", DeviceRole::Access, Some("lis"));
        let bng = mk_device("bng9", DeviceRole::Bng, Some("elsewhere"));
        let core = mk_device("core1", DeviceRole::Core, Some("lis"));
        let devices = vec![olt.clone(), bng.clone(), core.clone()];
        let named = with_bng(&olt, "bng9");
        assert_eq!(
            bng_for(&named, &devices).unwrap().unwrap().name_any(),
            "bng9"
        );
        let wrong = with_bng(&olt, "core1");
        assert!(matches!(
            bng_for(&wrong, &devices),
            Err(BngError::NotABng { .. })
        ));
        let missing = with_bng(&olt, "nope");
        assert!(matches!(
            bng_for(&missing, &devices),
            Err(BngError::Unknown { .. })
        ));
    }

    #[test]
    fn site_bng_is_used_when_unique() {
        let olt = mk_device("olt1", DeviceRole::Access, Some("lis"));
        let bng = mk_device("bng1", DeviceRole::Bng, Some("lis"));
        let other = mk_device("bng2", DeviceRole::Bng, Some("opo"));
        let devices = vec![olt.clone(), bng, other];
        assert_eq!(bng_for(&olt, &devices).unwrap().unwrap().name_any(), "bng1");
        let second = mk_device("bng3", DeviceRole::Bng, Some("lis"));
        let mut more = devices.clone();
        more.push(second);
        let err = bng_for(&olt, &more).unwrap_err();
        assert!(err.to_string().contains("bng1, bng3"), "{err}");
    }

    #[test]
    fn no_bng_means_standalone() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        let bng = mk_device("bng1", DeviceRole::Bng, Some("lis"));
        assert!(
            bng_for(&olt, &[olt.clone(), bng.clone()])
                .unwrap()
                .is_none()
        );
        assert!(bng_for(&bng, std::slice::from_ref(&bng)).unwrap().is_none());
    }

    #[test]
    fn bng_port_comes_from_the_access_device() {
        let olt = mk_device("olt1", DeviceRole::Access, None);
        assert_eq!(bng_port(&olt), "olt1");
        let mut wired = (*olt).clone();
        wired.spec.bng_port = Some("xe-0/0/7".into());
        assert_eq!(bng_port(&wired), "xe-0/0/7");
    }

    #[test]
    fn selectors_match_every_non_empty_list() {
        let olt = mk_device("olt1", DeviceRole::Access, Some("lis"));
        assert!(selects(None, &olt));
        assert!(selects(Some(&PoolSelector::default()), &olt));
        let by_role_and_site = PoolSelector {
            roles: vec![DeviceRole::Access],
            sites: vec!["lis".into()],
            ..Default::default()
        };
        assert!(selects(Some(&by_role_and_site), &olt));
        let other_site = PoolSelector {
            roles: vec![DeviceRole::Access],
            sites: vec!["opo".into()],
            ..Default::default()
        };
        assert!(!selects(Some(&other_site), &olt));
        let siteless = mk_device("olt2", DeviceRole::Access, None);
        assert!(!selects(Some(&by_role_and_site), &siteless));
    }

    #[test]
    fn serving_pools_are_sorted_and_invalid_ones_reported() {
        let olt = mk_device("olt1", DeviceRole::Access, Some("lis"));
        let b = mk_vlan_pool("b-vlans", 200, 299, &["olt1"]);
        let a = mk_vlan_pool("a-vlans", 100, 199, &["olt1"]);
        let other = mk_vlan_pool("c-vlans", 300, 399, &["olt2"]);
        let broken = mk_vlan_pool("d-vlans", 500, 400, &["olt1"]);
        let v4 = mk_ipv4_pool("v4", "100.64.0.0/24", 30, &[DeviceRole::Access]);
        let pools = vec![b, a, other, broken, v4];
        let (usable, invalid) = serving_pools(&pools, PoolType::Vlan, &olt);
        let names: Vec<_> = usable.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a-vlans", "b-vlans"]);
        assert_eq!(invalid.len(), 1);
        assert_eq!(invalid[0].pool, "d-vlans");
        let (v4s, _) = serving_pools(&pools, PoolType::Ipv4, &olt);
        assert_eq!(v4s.len(), 1);
        assert_eq!(v4s[0].range.capacity(), 64);
    }
}
