//! Dereference: what a subscription refers to, read from the caches, and the change set it
//! asks of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferrule_crds::{Customer, Device, Product, ResourceClaim, ResourcePool, Subscription};
use kube::ResourceExt;

use crate::provisioning::stores::{Stores, in_namespace, named};
use crate::provisioning::transactor::{AppliedConfig, ChangeSet, DeviceChange, DeviceTarget};

use super::render::Rendered;
use super::validate::References;

/// The resources of a subscription's namespace that its reconcile reads.
#[derive(Debug, Clone, Default)]
pub struct Dereferenced {
    /// Its Customer.
    pub customer: Option<Arc<Customer>>,
    /// Its Product.
    pub product: Option<Arc<Product>>,
    /// Every Device of the namespace.
    pub devices: Vec<Arc<Device>>,
    /// Every Subscription of the namespace.
    pub subscriptions: Vec<Arc<Subscription>>,
    /// Every ResourcePool of the namespace.
    pub pools: Vec<Arc<ResourcePool>>,
    /// Every ResourceClaim of the namespace.
    pub claims: Vec<Arc<ResourceClaim>>,
}

impl Dereferenced {
    /// Reads from the caches.
    pub fn read(sub: &Subscription, stores: &Stores) -> Self {
        let ns = sub.namespace().unwrap_or_default();
        Self {
            customer: named(&stores.customers, &ns, &sub.spec.customer),
            product: named(&stores.products, &ns, &sub.spec.product),
            devices: in_namespace(&stores.devices, &ns),
            subscriptions: in_namespace(&stores.subscriptions, &ns),
            pools: in_namespace(&stores.pools, &ns),
            claims: in_namespace(&stores.claims, &ns),
        }
    }

    /// The view the validate step takes.
    pub fn references(&self) -> References<'_> {
        References {
            customer: self.customer.as_deref(),
            product: self.product.as_deref(),
            devices: &self.devices,
            subscriptions: &self.subscriptions,
        }
    }

    /// The Device named `name`.
    pub fn device(&self, name: &str) -> Option<&Arc<Device>> {
        self.devices.iter().find(|d| d.name_any() == name)
    }
}

/// Entries that subscriptions other than `me` own on `device`, from their status.
pub fn held_by_others(
    subscriptions: &[Arc<Subscription>],
    me: &str,
    device: &str,
) -> BTreeSet<String> {
    subscriptions
        .iter()
        .filter(|s| s.name_any() != me)
        .filter_map(|s| s.status.as_ref())
        .flat_map(|status| status.devices.iter())
        .filter(|d| d.name == device)
        .flat_map(|d| d.owned.iter().cloned())
        .collect()
}

/// The change set of a subscription: the rendered payload on each of its devices, and the
/// removal of what it has on devices it no longer uses. Devices that no longer exist cannot
/// be changed; their names are returned next to the change set.
pub fn change_set(
    sub: &Subscription,
    rendered: Vec<Rendered>,
    previous: &BTreeMap<String, AppliedConfig>,
    deref: &Dereferenced,
) -> (ChangeSet, Vec<String>) {
    let me = sub.name_any();
    let owner = format!("{}/{}", sub.namespace().unwrap_or_default(), me);
    let others = |device: &str| held_by_others(&deref.subscriptions, &me, device);
    let wanted: BTreeSet<String> = rendered.iter().map(|r| r.target.name.clone()).collect();
    let mut changes: Vec<DeviceChange> = rendered
        .into_iter()
        .map(|r| DeviceChange {
            held_by_others: others(&r.target.name),
            previous: previous.get(&r.target.name).cloned(),
            desired: Some(r.payload),
            target: r.target,
        })
        .collect();
    let mut gone = Vec::new();
    for (name, applied) in previous {
        if wanted.contains(name) {
            continue;
        }
        match deref.device(name) {
            Some(device) => changes.push(DeviceChange {
                target: DeviceTarget::of(device),
                desired: None,
                previous: Some(applied.clone()),
                held_by_others: others(name),
            }),
            None => gone.push(name.clone()),
        }
    }
    (ChangeSet { owner, changes }, gone)
}

/// The first device of `changes` that is in maintenance and would be changed.
pub fn in_maintenance<'a>(
    devices: impl IntoIterator<Item = &'a str>,
    deref: &Dereferenced,
) -> Option<String> {
    devices
        .into_iter()
        .find(|name| deref.device(name).is_some_and(|d| d.spec.maintenance))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::fixtures::*;
    use crate::render::Role;
    use ferrule_crds::SubscriptionStatus;
    use ferrule_crds::bss::subscription::DeviceConfig;
    use ferrule_crds::oss::device::DeviceRole;

    fn with_owned(name: &str, device: &str, owned: &[&str]) -> Arc<Subscription> {
        let mut sub = mk_subscription(name, "c", "p", device, "ge-0/0/1");
        sub.status = Some(SubscriptionStatus {
            devices: vec![DeviceConfig {
                name: device.into(),
                transaction: "t".into(),
                digest: "d".into(),
                owned: owned.iter().map(|o| (*o).to_owned()).collect(),
            }],
            ..Default::default()
        });
        Arc::new(sub)
    }

    fn applied(owned: &str) -> AppliedConfig {
        AppliedConfig {
            canonical: "<c/>".into(),
            digest: "d".into(),
            owned: vec![owned.into()],
        }
    }

    #[test]
    fn others_entries_are_collected_per_device() {
        let subs = vec![
            with_owned("me", "olt1", &["/mine"]),
            with_owned("a", "olt1", &["/x", "/shared"]),
            with_owned("b", "olt1", &["/shared"]),
            with_owned("c", "olt2", &["/y"]),
        ];
        assert_eq!(
            held_by_others(&subs, "me", "olt1"),
            ["/shared".to_owned(), "/x".to_owned()].into()
        );
    }

    #[test]
    fn devices_left_behind_are_removed_and_vanished_ones_reported() {
        let olt1 = mk_device("olt1", DeviceRole::Access, None);
        let olt2 = mk_device("olt2", DeviceRole::Access, None);
        let deref = Dereferenced {
            devices: vec![olt1.clone(), olt2.clone()],
            subscriptions: vec![with_owned("other", "olt2", &["/o"])],
            ..Default::default()
        };
        let sub = mk_subscription("me", "c", "p", "olt1", "ge-0/0/1");
        let rendered = vec![Rendered {
            target: DeviceTarget::of(&olt1),
            role: Role::Standalone,
            payload: "<new/>".into(),
        }];
        let previous: BTreeMap<String, AppliedConfig> = [
            ("olt1".to_owned(), applied("/a")),
            ("olt2".to_owned(), applied("/b")),
            ("olt-gone".to_owned(), applied("/c")),
        ]
        .into();
        let (set, gone) = change_set(&sub, rendered, &previous, &deref);
        assert_eq!(set.owner, "isp/me");
        assert_eq!(gone, ["olt-gone"]);
        assert_eq!(set.changes.len(), 2);
        assert_eq!(set.changes[0].desired.as_deref(), Some("<new/>"));
        assert_eq!(set.changes[0].previous.as_ref().unwrap().owned, ["/a"]);
        assert_eq!(set.changes[1].target.name, "olt2");
        assert_eq!(set.changes[1].desired, None);
        assert_eq!(set.changes[1].held_by_others, ["/o".to_owned()].into());
    }

    #[test]
    fn maintenance_is_found_among_changed_devices() {
        let mut olt = (*mk_device("olt1", DeviceRole::Access, None)).clone();
        olt.spec.maintenance = true;
        let deref = Dereferenced {
            devices: vec![Arc::new(olt), mk_device("bng1", DeviceRole::Bng, None)],
            ..Default::default()
        };
        assert_eq!(
            in_maintenance(["bng1", "olt1"], &deref).as_deref(),
            Some("olt1")
        );
        assert_eq!(in_maintenance(["bng1"], &deref), None);
    }
}
