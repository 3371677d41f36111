//! Orders racing for the same pools: created all at once, they never share a VLAN or an
//! address, every claim matches one allocation, and the devices carry each VLAN once. When the
//! pools are smaller than the demand, the orders beyond them fail with PoolExhausted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::oss::resource_pool::PoolType;
use ferrule_crds::{Device, ResourceClaim, ResourcePool, ServiceOrder, Subscription};
use ferrule_e2e::eventually;
use ferrule_netsim::DeviceSpec;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde_json::json;

use crate::lab::{Lab, NS};
use crate::readback::{distinct_units, interfaces_in_xml};

/// Orders in the first race; the VLAN pool holds exactly as many values.
const RACERS: u16 = 50;
/// Orders in the second race, on a device whose VLAN pool holds [`SMALL_POOL`] values.
const LATECOMERS: u16 = 20;
const SMALL_POOL: u16 = 16;
/// Subnets of the seeded IPv4 pool lis-v4 (100.64.0.0/24 in /30s).
const SUBNETS: usize = 64;
/// Time for a whole race to settle.
const SETTLE: Duration = Duration::from_secs(90);

fn ports(count: u16) -> Vec<String> {
    (1..=count).map(|i| format!("ge-1/0/{i}")).collect()
}

fn olt(name: &str, count: u16) -> anyhow::Result<DeviceSpec> {
    let mut spec = DeviceSpec::new(name, "127.0.0.1:0".parse()?);
    spec.ports = ports(count);
    Ok(spec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_orders_never_share_a_vlan_or_an_address() -> anyhow::Result<()> {
    let extra = vec![olt("olt3", RACERS)?, olt("olt4", LATECOMERS)?];
    Lab::run_with(extra, racing_orders_scenario).await
}

async fn racing_orders_scenario(lab: &Lab) -> anyhow::Result<()> {
    for (name, count, bng_port, from, to) in [
        ("olt3", RACERS, "xe-0/0/3", 2000, 2000 + RACERS - 1),
        ("olt4", LATECOMERS, "xe-0/0/4", 2100, 2100 + SMALL_POOL - 1),
    ] {
        let extra = json!({"ports": ports(count), "bng": "bng1", "bngPort": bng_port});
        lab.create::<Device>(lab.device(name, "access", extra)?)
            .await?;
        lab.create::<ResourcePool>(json!({
            "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
            "metadata": {"name": format!("{name}-vlans"), "namespace": NS},
            "spec": {"type": "Vlan", "vlan": {"from": from, "to": to},
                     "selector": {"devices": [name]}}
        }))
        .await?;
    }

    // As many orders as VLANs: every one completes with its own values.
    let outcome = race(lab, "r", "olt3", RACERS).await?;
    ensure!(
        outcome.completed == usize::from(RACERS),
        "{} of {RACERS} completed",
        outcome.completed
    );
    let subs = subscriptions(lab, "r").await?;
    let vlans: BTreeSet<i32> = subs.iter().filter_map(|s| allocation(s).0).collect();
    let expected: BTreeSet<i32> = (2000..2000 + i32::from(RACERS)).collect();
    assert_eq!(vlans, expected, "each racer has its own VLAN");
    let subnets: BTreeSet<String> = subs.iter().filter_map(|s| allocation(s).1).collect();
    assert_eq!(
        subnets.len(),
        usize::from(RACERS),
        "each racer has its own subnet"
    );
    for sub in &subs {
        assert_eq!(ready(sub).0, "Active", "{}", sub.name_any());
    }
    claims_match_allocations(lab).await?;
    let olt3 = interfaces_in_xml(&lab.running("olt3"))?;
    assert_eq!(distinct_units("olt3", &olt3)?.len(), usize::from(RACERS));
    for sub in &subs {
        let (vlan, _) = allocation(sub);
        let unit = format!("{}.{}", sub.spec.access.port, vlan.unwrap_or_default());
        ensure!(
            olt3.iter().any(|i| i.name == unit),
            "olt3 lacks {unit} of {}",
            sub.name_any()
        );
    }
    let bng = interfaces_in_xml(&lab.running("bng1"))?;
    assert_eq!(distinct_units("bng1", &bng)?.len(), usize::from(RACERS));

    // More orders than VLANs, and more than the subnets left: the first SMALL_POOL take the
    // VLANs, of those the first to claim take the remaining subnets; the others fail.
    let subnets_left = SUBNETS - usize::from(RACERS);
    let outcome = race(lab, "x", "olt4", LATECOMERS).await?;
    ensure!(
        outcome.completed == subnets_left,
        "{} completed, {} failed; expected {subnets_left} completed",
        outcome.completed,
        outcome.failed
    );
    ensure!(outcome.failed == usize::from(LATECOMERS) - subnets_left);
    let late = subscriptions(lab, "x").await?;
    let mut reasons: BTreeMap<(String, String), usize> = BTreeMap::new();
    for sub in &late {
        let (reason, message) = ready(sub);
        *reasons.entry((reason, message)).or_default() += 1;
    }
    let vlan_exhausted = (
        "PoolExhausted".to_owned(),
        "VLAN pools olt4-vlans of Device olt4 are exhausted".to_owned(),
    );
    let ipv4_exhausted = (
        "PoolExhausted".to_owned(),
        "IPv4 pools lis-v4 of Device bng1 are exhausted".to_owned(),
    );
    let active = reasons
        .iter()
        .filter(|((reason, _), _)| reason == "Active")
        .map(|(_, n)| n)
        .sum::<usize>();
    assert_eq!(active, subnets_left, "{reasons:?}");
    assert_eq!(
        reasons.get(&vlan_exhausted).copied(),
        Some(usize::from(LATECOMERS - SMALL_POOL)),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.get(&ipv4_exhausted).copied(),
        Some(usize::from(SMALL_POOL) - subnets_left),
        "{reasons:?}"
    );
    claims_match_allocations(lab).await?;
    let olt4 = interfaces_in_xml(&lab.running("olt4"))?;
    assert_eq!(distinct_units("olt4", &olt4)?.len(), subnets_left);
    let bng = interfaces_in_xml(&lab.running("bng1"))?;
    distinct_units("bng1", &bng)?;
    let addresses: BTreeSet<&String> = bng.iter().flat_map(|i| &i.addresses).collect();
    assert_eq!(
        addresses.len(),
        SUBNETS,
        "every subnet configured once on bng1"
    );

    for (pool, allocated) in [
        ("olt3-vlans", i64::from(RACERS)),
        ("olt4-vlans", i64::from(SMALL_POOL)),
        ("lis-v4", i64::try_from(SUBNETS)?),
    ] {
        eventually(SETTLE, || async {
            let status = lab.get::<ResourcePool>(pool).await?.status?;
            (status.allocated == Some(allocated) && status.free == Some(0)).then_some(())
        })
        .await
        .with_context(|| format!("{pool} shows {allocated} allocated and none free"))?;
    }
    Ok(())
}

/// How a race ended.
struct Outcome {
    completed: usize,
    failed: usize,
}

/// Creates `count` one-item orders at once (`{prefix}-order-N` adding Subscription
/// `{prefix}N` on port N of `device`) and waits until every one has ended.
async fn race(lab: &Lab, prefix: &str, device: &str, count: u16) -> anyhow::Result<Outcome> {
    let creates = (1..=count).map(|i| async move {
        let item = json!({"action": "Add", "subscription": format!("{prefix}{i}"),
            "product": "fibre-500", "access": {"device": device, "port": format!("ge-1/0/{i}")}});
        lab.order(&format!("{prefix}-order-{i}"), json!([item]))
            .await
    });
    futures::future::try_join_all(creates).await?;
    let api: Api<ServiceOrder> = Api::namespaced(lab.client.clone(), NS);
    let states = eventually(SETTLE, || async {
        let orders = api.list(&ListParams::default()).await.ok()?.items;
        let states: Vec<String> = orders
            .iter()
            .filter(|o| o.name_any().starts_with(&format!("{prefix}-order-")))
            .filter_map(|o| {
                let state = o.status.as_ref()?.state?;
                Some(serde_json::to_value(state).ok()?.as_str()?.to_owned())
            })
            .filter(|s| !matches!(s.as_str(), "Acknowledged" | "InProgress"))
            .collect();
        (states.len() == usize::from(count)).then_some(states)
    })
    .await;
    let states = match states {
        Ok(states) => states,
        Err(err) => return Err(err.context(format!("the {prefix} orders did not all end"))),
    };
    let count_of = |state: &str| states.iter().filter(|s| *s == state).count();
    Ok(Outcome {
        completed: count_of("Completed"),
        failed: count_of("Failed"),
    })
}

/// The subscriptions whose name starts with `prefix`.
async fn subscriptions(lab: &Lab, prefix: &str) -> anyhow::Result<Vec<Subscription>> {
    let api: Api<Subscription> = Api::namespaced(lab.client.clone(), NS);
    let mut subs: Vec<Subscription> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|s| s.name_any().starts_with(prefix))
        .collect();
    subs.sort_by_key(ResourceExt::name_any);
    Ok(subs)
}

/// The Ready condition's reason and message.
fn ready(sub: &Subscription) -> (String, String) {
    sub.status
        .as_ref()
        .and_then(|s| find_condition(&s.conditions, types::READY))
        .map(|c| (c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

/// The allocated VLAN and the allocated subnet (`100.64.0.4/30` for `100.64.0.5/30`).
fn allocation(sub: &Subscription) -> (Option<i32>, Option<String>) {
    let Some(allocations) = sub.status.as_ref().and_then(|s| s.allocations.as_ref()) else {
        return (None, None);
    };
    let subnet = allocations.ipv4.as_deref().and_then(|text| {
        let (ip, len) = text.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let len: u32 = len.parse().ok()?;
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        Some(format!("{}/{len}", Ipv4Addr::from(u32::from(ip) & mask)))
    });
    (allocations.vlan.filter(|v| *v != 0), subnet)
}

/// Every claim names a subscription that was allocated its value, and every allocated value
/// has exactly one claim: per pool type, `(subscription, value)` pairs are equal both ways,
/// and no value appears twice.
async fn claims_match_allocations(lab: &Lab) -> anyhow::Result<()> {
    let pools: Api<ResourcePool> = Api::namespaced(lab.client.clone(), NS);
    let kinds: BTreeMap<String, PoolType> = pools
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|p| (p.name_any(), p.spec.type_))
        .collect();
    let claims: Api<ResourceClaim> = Api::namespaced(lab.client.clone(), NS);
    let mut claimed: HashMap<PoolType, Vec<(String, String)>> = HashMap::new();
    for claim in claims.list(&ListParams::default()).await?.items {
        let kind = *kinds
            .get(&claim.spec.pool)
            .context("claim of an unknown pool")?;
        claimed
            .entry(kind)
            .or_default()
            .push((claim.spec.subscription.clone(), claim.spec.value.clone()));
    }
    let mut allocated: HashMap<PoolType, Vec<(String, String)>> = HashMap::new();
    for sub in subscriptions(lab, "").await? {
        let (vlan, subnet) = allocation(&sub);
        if let Some(vlan) = vlan {
            allocated
                .entry(PoolType::Vlan)
                .or_default()
                .push((sub.name_any(), vlan.to_string()));
        }
        if let Some(subnet) = subnet {
            allocated
                .entry(PoolType::Ipv4)
                .or_default()
                .push((sub.name_any(), subnet));
        }
    }
    for kind in [PoolType::Vlan, PoolType::Ipv4] {
        let mut claimed = claimed.remove(&kind).unwrap_or_default();
        let mut allocated = allocated.remove(&kind).unwrap_or_default();
        claimed.sort();
        allocated.sort();
        ensure!(
            claimed == allocated,
            "{kind:?} claims {claimed:?}\ndiffer from allocations {allocated:?}"
        );
        let values: BTreeSet<&String> = claimed.iter().map(|(_, v)| v).collect();
        ensure!(
            values.len() == claimed.len(),
            "{kind:?} values shared: {claimed:?}"
        );
    }
    Ok(())
}
