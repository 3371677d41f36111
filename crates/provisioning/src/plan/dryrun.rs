//! The dry run: what applying manifests would do to subscriptions, claims and devices.
//!
//! Pure. The graph is what the cluster holds with the manifests' objects laid over it; each
//! Subscription (declared, or changed by a ServiceOrder item) goes through the controller's
//! own steps — validate, allocate (without creating claims), render, plan — in manifest
//! order, so values taken by an earlier subscription of the plan are not handed out twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferrule_crds::bss::service_order::OrderAction;
use ferrule_crds::oss::resource_pool::PoolType;
use ferrule_crds::{
    Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription, claim_name,
};
use kube::ResourceExt;
use serde::Serialize;
use serde_json::Value;

use crate::allocate::Allocation;
use crate::netconf::plan_changes;
use crate::order::validate::{ItemChange, OrderRefs, check_items, check_order};
use crate::subscription::allocation::{
    AllocationError, Choice, Held, Need, choose, held_claims, kind_name, pinned_subnet,
    pinned_vlan, taken,
};
use crate::subscription::applied;
use crate::subscription::dereference::{Dereferenced, change_set, owned_by_other, shared_entries};
use crate::subscription::render::{self, Values};
use crate::subscription::validate::validate;
use crate::transactor::DevicePlan;
use ferrule_render::Renderer;

use super::manifests::Document;

/// The resources of one namespace.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Customers.
    pub customers: Vec<Arc<Customer>>,
    /// Products.
    pub products: Vec<Arc<Product>>,
    /// Devices.
    pub devices: Vec<Arc<Device>>,
    /// Resource pools.
    pub pools: Vec<Arc<ResourcePool>>,
    /// Resource claims.
    pub claims: Vec<Arc<ResourceClaim>>,
    /// Subscriptions.
    pub subscriptions: Vec<Arc<Subscription>>,
}

fn upsert<K: ResourceExt>(list: &mut Vec<Arc<K>>, object: K) {
    let name = object.name_any();
    list.retain(|o| o.name_any() != name);
    list.push(Arc::new(object));
    list.sort_by_key(|o| o.name_any());
}

fn named<'a, K: ResourceExt>(list: &'a [Arc<K>], name: &str) -> Option<&'a Arc<K>> {
    list.iter().find(|o| o.name_any() == name)
}

/// A manifest object that does not decode as its kind.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name} ({origin}): {source}")]
pub struct OverlayError {
    /// The object's kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Where it was read (`file` or `file#n`).
    pub origin: String,
    /// Why it does not decode.
    #[source]
    pub source: serde_json::Error,
}

impl Graph {
    /// Lays a manifest object over the graph (kinds the plan does not use are ignored);
    /// an error names the object that does not decode.
    pub fn overlay(&mut self, doc: &Document) -> Result<(), OverlayError> {
        fn decode<K: serde::de::DeserializeOwned>(doc: &Document) -> Result<K, OverlayError> {
            serde_json::from_value(doc.object.clone()).map_err(|source| OverlayError {
                kind: doc.kind().to_owned(),
                name: doc.name().to_owned(),
                origin: doc.origin.clone(),
                source,
            })
        }
        match doc.kind() {
            "Customer" => upsert(&mut self.customers, decode(doc)?),
            "Product" => upsert(&mut self.products, decode(doc)?),
            "Device" => upsert(&mut self.devices, decode(doc)?),
            "ResourcePool" => upsert(&mut self.pools, decode(doc)?),
            _ => {}
        }
        Ok(())
    }
}

/// What happens to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// It is created.
    Create,
    /// Its spec changes.
    Update,
    /// It stays as it is.
    Unchanged,
    /// It is deleted and its configuration removed.
    Delete,
}

/// A claim the plan would create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedClaim {
    /// Claim name.
    pub name: String,
    /// Pool.
    pub pool: String,
    /// Value.
    pub value: String,
}

/// The change of one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceEdit {
    /// Device name.
    pub device: String,
    /// `host:port`.
    pub address: String,
    /// Device profile.
    pub profile: String,
    /// The edit-config payload (inner `<config>`); `None` when the device needs nothing.
    pub payload: Option<String>,
}

/// The plan of one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionPlan {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Which manifest asks for it.
    pub origin: String,
    /// What happens to the Subscription object.
    pub action: Action,
    /// Why it cannot be carried out (condition reason and message), if so.
    pub problem: Option<(String, String)>,
    /// Claims created.
    pub claims: Vec<PlannedClaim>,
    /// Claims released.
    pub released: Vec<String>,
    /// The VLAN it gets.
    pub vlan: Option<u16>,
    /// The address it gets.
    pub ipv4: Option<String>,
    /// Per-device edits.
    pub devices: Vec<DeviceEdit>,
}

impl SubscriptionPlan {
    fn new(namespace: &str, name: &str, origin: &str, action: Action) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            origin: origin.to_owned(),
            action,
            problem: None,
            claims: Vec::new(),
            released: Vec::new(),
            vlan: None,
            ipv4: None,
            devices: Vec::new(),
        }
    }

    fn problem(mut self, reason: &str, message: impl ToString) -> Self {
        self.problem = Some((reason.to_owned(), message.to_string()));
        self
    }
}

/// Values taken by earlier subscriptions of the plan, per pool.
type Reserved = BTreeMap<String, BTreeSet<Allocation>>;

/// A satisfied need: the value, the held claim it keeps, the claim it would create.
type Allocated = (Option<Allocation>, Option<Held>, Option<PlannedClaim>);

/// Plans every Subscription and ServiceOrder of `docs` (one namespace) against `graph`.
pub fn plan(renderer: &Renderer, graph: &mut Graph, docs: &[&Document]) -> Vec<SubscriptionPlan> {
    for doc in docs {
        if let Err(message) = graph.overlay(doc) {
            let mut problem =
                SubscriptionPlan::new(doc.namespace(), doc.name(), &doc.origin, Action::Unchanged);
            problem.problem = Some(("InvalidManifest".into(), message.to_string()));
            return vec![problem];
        }
    }
    let mut reserved = Reserved::new();
    let mut plans = Vec::new();
    for doc in docs {
        match doc.kind() {
            "Subscription" => {
                let sub = match serde_json::from_value::<Subscription>(doc.object.clone()) {
                    Ok(sub) => sub,
                    Err(e) => {
                        plans.push(
                            SubscriptionPlan::new(
                                doc.namespace(),
                                doc.name(),
                                &doc.origin,
                                Action::Unchanged,
                            )
                            .problem("InvalidManifest", e),
                        );
                        continue;
                    }
                };
                plans.push(apply(
                    renderer,
                    graph,
                    merge_with_cluster(graph, sub),
                    &doc.origin,
                    &mut reserved,
                ));
            }
            "ServiceOrder" => plans.extend(order(renderer, graph, doc, &mut reserved)),
            _ => {}
        }
    }
    plans
}

/// Plans one subscription as it is (the dry-run annotation of a Subscription).
pub fn plan_subscription(
    renderer: &Renderer,
    graph: &mut Graph,
    sub: Subscription,
) -> SubscriptionPlan {
    let merged = merge_with_cluster(graph, sub);
    let mut reserved = Reserved::new();
    apply(renderer, graph, merged, "dry-run annotation", &mut reserved)
}

/// A manifest's subscription keeps the cluster object's status and annotations (what it
/// applied), with the manifest's spec.
fn merge_with_cluster(graph: &Graph, sub: Subscription) -> (Subscription, Action) {
    match named(&graph.subscriptions, &sub.name_any()) {
        Some(existing) => {
            let action = if existing.spec == sub.spec {
                Action::Unchanged
            } else {
                Action::Update
            };
            let mut merged = (**existing).clone();
            merged.spec = sub.spec;
            (merged, action)
        }
        None => (sub, Action::Create),
    }
}

fn order(
    renderer: &Renderer,
    graph: &mut Graph,
    doc: &Document,
    reserved: &mut Reserved,
) -> Vec<SubscriptionPlan> {
    let order: ServiceOrder = match serde_json::from_value(doc.object.clone()) {
        Ok(order) => order,
        Err(e) => {
            return vec![
                SubscriptionPlan::new(doc.namespace(), doc.name(), &doc.origin, Action::Unchanged)
                    .problem("InvalidManifest", e),
            ];
        }
    };
    let ns = doc.namespace();
    let origin = |i: usize, action: OrderAction| {
        format!(
            "ServiceOrder {} item {} ({action:?}), {}",
            order.name_any(),
            i + 1,
            doc.origin
        )
    };
    let customer = named(&graph.customers, &order.spec.customer).cloned();
    let refs = OrderRefs {
        customer: customer.as_deref(),
        products: &graph.products,
        devices: &graph.devices,
        subscriptions: &graph.subscriptions,
    };
    if let Err(rejection) = check_order(&order, refs) {
        return order
            .spec
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                SubscriptionPlan::new(
                    ns,
                    &item.subscription,
                    &origin(i, item.action),
                    Action::Unchanged,
                )
                .problem(rejection.reason(), &rejection)
            })
            .collect();
    }
    let checks = check_items(&order, refs);
    let mut plans = Vec::new();
    for (i, (item, check)) in order.spec.items.iter().zip(checks).enumerate() {
        let origin = origin(i, item.action);
        let existing = named(&graph.subscriptions, &item.subscription).cloned();
        let plan = match (check, existing) {
            (Err(message), _) => {
                SubscriptionPlan::new(ns, &item.subscription, &origin, Action::Unchanged)
                    .problem("ItemRejected", message)
            }
            (Ok(ItemChange::Create(spec)), _) => {
                let mut sub = Subscription::new(&item.subscription, spec);
                sub.metadata.namespace = Some(ns.to_owned());
                apply(renderer, graph, (sub, Action::Create), &origin, reserved)
            }
            (Ok(ItemChange::Nothing), Some(existing)) => apply(
                renderer,
                graph,
                ((*existing).clone(), Action::Unchanged),
                &origin,
                reserved,
            ),
            (Ok(ItemChange::Patch(patch)), Some(existing)) => match patched(&existing, &patch) {
                Ok(sub) => {
                    let action = if sub.spec == existing.spec {
                        Action::Unchanged
                    } else {
                        Action::Update
                    };
                    apply(renderer, graph, (sub, action), &origin, reserved)
                }
                Err(e) => SubscriptionPlan::new(ns, &item.subscription, &origin, Action::Unchanged)
                    .problem("ItemRejected", e),
            },
            (Ok(ItemChange::Delete), Some(existing)) => delete(renderer, graph, &existing, &origin),
            (Ok(_), None) => {
                SubscriptionPlan::new(ns, &item.subscription, &origin, Action::Unchanged).problem(
                    "ItemRejected",
                    format!("Subscription {} does not exist", item.subscription),
                )
            }
        };
        plans.push(plan);
    }
    plans
}

fn patched(existing: &Subscription, patch: &Value) -> Result<Subscription, serde_json::Error> {
    let mut json = serde_json::to_value(existing)?;
    json_patch::merge(&mut json, patch);
    serde_json::from_value(json)
}

fn dereferenced(graph: &Graph, sub: &Subscription) -> Dereferenced {
    let me = sub.name_any();
    Dereferenced {
        customer: named(&graph.customers, &sub.spec.customer).cloned(),
        product: named(&graph.products, &sub.spec.product).cloned(),
        devices: graph.devices.clone(),
        subscriptions: graph.subscriptions.clone(),
        shared: shared_entries(sub, |device, entry| {
            owned_by_other(&graph.subscriptions, &me, device, entry)
        }),
        pools: graph.pools.clone(),
    }
}

fn own_claims(graph: &Graph, name: &str) -> Vec<Held> {
    let mine: Vec<ResourceClaim> = graph
        .claims
        .iter()
        .filter(|c| c.spec.subscription == name)
        .map(|c| (**c).clone())
        .collect();
    held_claims(&mine)
}

/// Satisfies a need without creating claims; returns the value and the claim it would use.
fn allocate(
    graph: &Graph,
    name: &str,
    need: &Need,
    held: &[Held],
    reserved: &mut Reserved,
) -> Result<Allocated, AllocationError> {
    let new_claim = |pool: &str, value: &Allocation| {
        let text = value.claim_value();
        PlannedClaim {
            name: claim_name(pool, &text),
            pool: pool.to_owned(),
            value: text,
        }
    };
    match choose(need, &graph.pools, held)? {
        Choice::Nothing => Ok((None, None, None)),
        Choice::Keep { held, value } => Ok((Some(value), Some(held), None)),
        Choice::Unclaimed(value) => Ok((Some(value), None, None)),
        Choice::Pinned { pool, value } => {
            let claim = new_claim(&pool, &value);
            let holder = graph
                .claims
                .iter()
                .find(|c| c.name_any() == claim.name && c.spec.subscription != name)
                .map(|c| c.spec.subscription.clone());
            let planned = reserved.get(&pool).is_some_and(|r| r.contains(&value));
            if let Some(holder) =
                holder.or_else(|| planned.then(|| "(another subscription of this plan)".to_owned()))
            {
                return Err(AllocationError::PinnedTaken {
                    pool,
                    value: value.claim_value(),
                    holder,
                });
            }
            reserved.entry(pool).or_default().insert(value);
            Ok((Some(value), None, Some(claim)))
        }
        Choice::Next(serving) => {
            for pool in &serving {
                let mut used = taken(pool, &graph.claims);
                used.extend(reserved.get(&pool.name).into_iter().flatten().copied());
                if let Some(value) = pool.range.next_free(&used) {
                    reserved.entry(pool.name.clone()).or_default().insert(value);
                    return Ok((Some(value), None, Some(new_claim(&pool.name, &value))));
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
            })
        }
    }
}

fn apply(
    renderer: &Renderer,
    graph: &mut Graph,
    (sub, action): (Subscription, Action),
    origin: &str,
    reserved: &mut Reserved,
) -> SubscriptionPlan {
    let ns = sub.namespace().unwrap_or_default();
    let name = sub.name_any();
    let plan = SubscriptionPlan::new(&ns, &name, origin, action);
    let deref = dereferenced(graph, &sub);
    let intent = match validate(&sub, deref.references()) {
        Ok(intent) => intent,
        Err(e) => return plan.problem(e.reason(), &e),
    };
    let held = own_claims(graph, &name);
    let needs = [
        Need {
            kind: PoolType::Vlan,
            device: intent.access.device.clone(),
            pinned: pinned_vlan(intent.pinned_vlan),
            required: true,
        },
        Need {
            kind: PoolType::Ipv4,
            device: intent.address_device().clone(),
            pinned: pinned_subnet(intent.pinned_ipv4.as_ref()),
            required: render::ipv4_required(renderer, &intent),
        },
    ];
    let mut plan = plan;
    let mut kept = Vec::new();
    let mut values = Vec::new();
    for need in &needs {
        match allocate(graph, &name, need, &held, reserved) {
            Ok((value, keep, claim)) => {
                values.push(value);
                kept.extend(keep);
                plan.claims.extend(claim);
            }
            Err(e) => return plan.problem(e.reason(), &e),
        }
    }
    let vlan = match values.first().copied().flatten() {
        Some(Allocation::Vlan(id)) => id,
        _ => 0,
    };
    let address = match (&intent.pinned_ipv4, values.get(1).copied().flatten()) {
        (Some(pinned), _) => Some(*pinned),
        (None, Some(value)) => value.interface_address().and_then(|a| a.parse().ok()),
        (None, None) => None,
    };
    plan.vlan = Some(vlan);
    plan.ipv4 = address.map(|a| a.to_string());
    plan.released = held
        .iter()
        .filter(|h| !kept.contains(h))
        .map(|h| h.claim.clone())
        .collect();
    let rendered = match render::render(
        renderer,
        &intent,
        &Values {
            vlan,
            ipv4: address,
        },
    ) {
        Ok(rendered) => rendered,
        Err(e) => return plan.problem(e.reason(), &e),
    };
    let previous = applied::previous(&sub);
    let (changes, _gone) = change_set(&sub, rendered, &previous, &deref);
    match plan_changes(renderer, &changes) {
        Ok(network) => plan.devices = network.devices.iter().map(edit).collect(),
        Err(e) => return plan.problem(ferrule_operator::reasons::INVALID_CONFIG, &e),
    }
    upsert(&mut graph.subscriptions, sub);
    plan
}

fn delete(
    renderer: &Renderer,
    graph: &mut Graph,
    sub: &Subscription,
    origin: &str,
) -> SubscriptionPlan {
    let ns = sub.namespace().unwrap_or_default();
    let name = sub.name_any();
    let mut plan = SubscriptionPlan::new(&ns, &name, origin, Action::Delete);
    plan.released = own_claims(graph, &name)
        .into_iter()
        .map(|h| h.claim)
        .collect();
    let deref = dereferenced(graph, sub);
    let (changes, _gone) = change_set(sub, Vec::new(), &applied::previous(sub), &deref);
    match plan_changes(renderer, &changes) {
        Ok(network) => plan.devices = network.devices.iter().map(edit).collect(),
        Err(e) => return plan.problem(ferrule_operator::reasons::INVALID_CONFIG, &e),
    }
    graph.subscriptions.retain(|s| s.name_any() != name);
    plan
}

fn edit(device: &DevicePlan) -> DeviceEdit {
    DeviceEdit {
        device: device.target.name.clone(),
        address: device.target.address.clone(),
        profile: device.target.profile.clone(),
        payload: device.edit.clone(),
    }
}

#[cfg(test)]
#[path = "dryrun_tests.rs"]
mod tests;
