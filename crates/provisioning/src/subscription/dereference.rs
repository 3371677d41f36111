//! Dereference: what a subscription refers to, read from the caches, and the change set it
//! asks of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferrule_crds::{Customer, Device, Product, ResourcePool, Subscription};
use kube::ResourceExt;

use crate::stores::Stores;
use crate::transactor::{AppliedConfig, ChangeSet, DeviceChange, DeviceTarget};
use ferrule_operator::cache::{in_namespace, named};

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
    /// The Subscriptions that may hold its port: at least every one attached to its access
    /// device (it may be among them).
    pub subscriptions: Vec<Arc<Subscription>>,
    /// Per device it has configuration on, the entries it owns there that other subscriptions
    /// own too ([`shared_entries`]).
    pub shared: BTreeMap<String, BTreeSet<String>>,
    /// Every ResourcePool of the namespace.
    pub pools: Vec<Arc<ResourcePool>>,
}

impl Dereferenced {
    /// Reads from the caches and their indexes.
    pub fn read(sub: &Subscription, stores: &Stores) -> Self {
        let ns = sub.namespace().unwrap_or_default();
        let me = sub.name_any();
        Self {
            customer: named(&stores.customers, &ns, &sub.spec.customer),
            product: named(&stores.products, &ns, &sub.spec.product),
            devices: in_namespace(&stores.devices, &ns),
            subscriptions: stores.subscriptions_on(&ns, &sub.spec.access.device),
            shared: shared_entries(sub, |device, entry| {
                stores.entry_held_by_other(&ns, device, entry, &me)
            }),
            pools: in_namespace(&stores.pools, &ns),
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

/// Per device `sub` has configuration on (by its status), the entries it owns there that
/// `held_by_other(device, entry)` says another subscription owns too.
///
/// These are the only entries of others a change can touch: it starts from what the
/// subscription had, so only its own entries can be removed, and those others still own are
/// kept. Owned entries are compared as status records them (one canonical text per entry,
/// written with the device profile's prefixes).
pub fn shared_entries(
    sub: &Subscription,
    held_by_other: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, BTreeSet<String>> {
    let devices = sub.status.iter().flat_map(|status| status.devices.iter());
    devices
        .map(|device| {
            let shared = device
                .owned
                .iter()
                .filter(|entry| held_by_other(&device.name, entry))
                .cloned()
                .collect();
            (device.name.clone(), shared)
        })
        .collect()
}

/// Whether a subscription of `subscriptions` other than `me` owns `entry` on `device`, by its
/// status.
pub fn owned_by_other(
    subscriptions: &[Arc<Subscription>],
    me: &str,
    device: &str,
    entry: &str,
) -> bool {
    subscriptions
        .iter()
        .filter(|s| s.metadata.name.as_deref() != Some(me))
        .filter_map(|s| s.status.as_ref())
        .flat_map(|status| status.devices.iter())
        .any(|d| d.name == device && d.owned.iter().any(|o| o == entry))
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
    let others = |device: &str| deref.shared.get(device).cloned().unwrap_or_default();
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
    use crate::fixtures::*;
    use ferrule_crds::SubscriptionStatus;
    use ferrule_crds::bss::subscription::DeviceConfig;
    use ferrule_crds::oss::device::DeviceRole;
    use ferrule_render::Role;

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
    fn shared_entries_are_the_own_ones_others_also_hold() {
        let subs = vec![
            with_owned("me", "olt1", &["/mine", "/shared", "/other-device"]),
            with_owned("a", "olt1", &["/x", "/shared"]),
            with_owned("b", "olt1", &["/shared"]),
            with_owned("c", "olt2", &["/y", "/other-device"]),
        ];
        let me = &subs[0];
        let shared = shared_entries(me, |device, entry| {
            owned_by_other(&subs, "me", device, entry)
        });
        // "/x" is another's but not ours: no change of ours can touch it.
        assert_eq!(
            shared,
            [("olt1".to_owned(), ["/shared".to_owned()].into())].into()
        );
        assert!(owned_by_other(&subs, "me", "olt2", "/y"));
        assert!(!owned_by_other(&subs, "a", "olt1", "/x"));
    }

    #[test]
    fn devices_left_behind_are_removed_and_vanished_ones_reported() {
        let olt1 = mk_device("olt1", DeviceRole::Access, None);
        let olt2 = mk_device("olt2", DeviceRole::Access, None);
        let deref = Dereferenced {
            devices: vec![olt1.clone(), olt2.clone()],
            subscriptions: vec![with_owned("other", "olt2", &["/b"])],
            shared: [("olt2".to_owned(), ["/b".to_owned()].into())].into(),
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
        assert_eq!(set.changes[1].held_by_others, ["/b".to_owned()].into());
        assert!(set.changes[0].held_by_others.is_empty());
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
