//! Which Subscriptions to reconcile when a related resource changes.
//!
//! Pure mappers over the cached subscriptions; the controller wires them to watches.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::oss::device::DeviceRole;
use ferrule_crds::{Customer, Device, Product, ResourceClaim, ResourcePool, Subscription};
use futures::{Stream, StreamExt, future};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use ferrule_operator::reasons;

use super::dry_run::DRY_RUN_ANNOTATION;

fn same_ns<'a, K: ResourceExt>(
    subs: &'a [Arc<Subscription>],
    obj: &'a K,
) -> impl Iterator<Item = &'a Arc<Subscription>> + 'a {
    let ns = obj.namespace();
    subs.iter().filter(move |s| s.namespace() == ns)
}

fn refs<'a>(subs: impl Iterator<Item = &'a Arc<Subscription>>) -> Vec<ObjectRef<Subscription>> {
    subs.map(|s| ObjectRef::from_obj(s.as_ref())).collect()
}

fn ready_reason(sub: &Subscription) -> Option<(bool, &str)> {
    let status = sub.status.as_ref()?;
    find_condition(&status.conditions, types::READY).map(|c| (c.is_true(), c.reason.as_str()))
}

fn not_ready(sub: &Subscription) -> bool {
    !ready_reason(sub).is_some_and(|(ready, _)| ready)
}

fn waits_for(sub: &Subscription, wanted: &[&str]) -> bool {
    ready_reason(sub).is_some_and(|(ready, reason)| !ready && wanted.contains(&reason))
}

/// Subscriptions affected by a change of `device`: those attached to it or configured on
/// it, those not ready yet, and, for a BNG, those whose access device it may serve.
pub fn for_device(
    device: &Device,
    subs: &[Arc<Subscription>],
    devices: &[Arc<Device>],
) -> Vec<ObjectRef<Subscription>> {
    let name = device.name_any();
    let served_by = |sub: &Subscription| {
        device.spec.role == DeviceRole::Bng
            && devices.iter().any(|access| {
                access.name_any() == sub.spec.access.device
                    && access.namespace() == device.namespace()
                    && (access.spec.bng.as_deref() == Some(name.as_str())
                        || (access.spec.site.is_some() && access.spec.site == device.spec.site))
            })
    };
    refs(same_ns(subs, device).filter(|s| {
        s.spec.access.device == name
            || s.status
                .as_ref()
                .is_some_and(|st| st.devices.iter().any(|d| d.name == name))
            || not_ready(s)
            || served_by(s)
    }))
}

/// What makes a change of a Subscription worth reconciling it: its spec (generation), its
/// finalizers, its deletion and the dry-run annotation. Its status and the applied record are
/// written by its own reconcile, which re-reads the subscription anyway; reconciling again on
/// those writes would only find nothing to do.
pub fn reconcile_trigger(sub: &Subscription) -> Option<u64> {
    let meta = &sub.metadata;
    let mut hasher = DefaultHasher::new();
    meta.uid.hash(&mut hasher);
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(DRY_RUN_ANNOTATION))
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Passes a subscription on only when its [`reconcile_trigger`] differs from the last one
/// passed for it (a shared change stream carries every change, the controller's own status
/// writes included). What it remembers of subscriptions that left `store` is dropped once it
/// holds twice as many entries as the store.
pub fn changes_only(
    changes: impl Stream<Item = Arc<Subscription>>,
    store: Store<Subscription>,
) -> impl Stream<Item = Arc<Subscription>> {
    let mut seen: HashMap<ObjectRef<Subscription>, u64> = HashMap::new();
    changes.filter(move |sub| {
        let pass = match reconcile_trigger(sub) {
            Some(hash) => seen.insert(ObjectRef::from_obj(sub.as_ref()), hash) != Some(hash),
            None => true,
        };
        if seen.len() > 2 * store.len() + 1024 {
            seen.retain(|key, _| store.get(key).is_some());
        }
        future::ready(pass)
    })
}

/// Subscriptions of a product.
pub fn for_product(product: &Product, subs: &[Arc<Subscription>]) -> Vec<ObjectRef<Subscription>> {
    let name = product.name_any();
    refs(same_ns(subs, product).filter(|s| s.spec.product == name))
}

/// Subscriptions of a customer.
pub fn for_customer(
    customer: &Customer,
    subs: &[Arc<Subscription>],
) -> Vec<ObjectRef<Subscription>> {
    let name = customer.name_any();
    refs(same_ns(subs, customer).filter(|s| s.spec.customer == name))
}

/// Subscriptions waiting for a pool: not ready in the pool's namespace.
pub fn for_pool(pool: &ResourcePool, subs: &[Arc<Subscription>]) -> Vec<ObjectRef<Subscription>> {
    refs(same_ns(subs, pool).filter(|s| not_ready(s)))
}

/// Subscriptions waiting for a value to be released when a claim changes.
pub fn for_claim(
    claim: &ResourceClaim,
    subs: &[Arc<Subscription>],
) -> Vec<ObjectRef<Subscription>> {
    refs(
        same_ns(subs, claim)
            .filter(|s| waits_for(s, &[reasons::POOL_EXHAUSTED, reasons::PINNED_VALUE_TAKEN])),
    )
}

/// Subscriptions waiting for the port `changed` uses (or used).
pub fn for_port_holder(
    changed: &Subscription,
    subs: &[Arc<Subscription>],
) -> Vec<ObjectRef<Subscription>> {
    let name = changed.name_any();
    refs(same_ns(subs, changed).filter(|s| {
        s.name_any() != name
            && s.spec.access.device == changed.spec.access.device
            && waits_for(s, &[reasons::PORT_IN_USE])
    }))
}

/// Remembers a fingerprint per object so that only meaningful changes trigger (a Device's
/// status changes often; its spec rarely).
#[derive(Debug, Default, Clone)]
pub struct Fingerprints {
    seen: Arc<Mutex<HashMap<String, String>>>,
}

impl Fingerprints {
    /// Records `fingerprint` for `key`; true when it differs from the last one recorded.
    pub fn changed(&self, key: String, fingerprint: String) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        seen.insert(key, fingerprint.clone()).as_ref() != Some(&fingerprint)
    }
}

/// The fingerprint of an object: its kind, UID (a recreated object is new), spec generation
/// and `extra` (status fields that matter to subscriptions).
pub fn fingerprint<K: kube::Resource<DynamicType = ()>>(obj: &K, extra: &str) -> (String, String) {
    let meta = obj.meta();
    let key = format!(
        "{}/{}/{}",
        K::kind(&()),
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default()
    );
    let print = format!(
        "{}:{}:{extra}",
        meta.uid.clone().unwrap_or_default(),
        meta.generation.unwrap_or_default()
    );
    (key, print)
}

/// The fingerprint of a Device: its spec and the subscriptions its last drift check found
/// drifted (the rest of its status changes on every check).
pub fn device_fingerprint(device: &Device) -> (String, String) {
    let affected = device
        .status
        .as_ref()
        .and_then(|s| s.drift.as_ref())
        .filter(|d| d.detected)
        .map(|d| d.affected.join(","))
        .unwrap_or_default();
    fingerprint(device, &affected)
}

/// The fingerprint of a Customer: its spec and phase (Closed matters; balances do not).
pub fn customer_fingerprint(customer: &Customer) -> (String, String) {
    let phase = customer
        .status
        .as_ref()
        .and_then(|s| s.phase)
        .map(|p| format!("{p:?}"))
        .unwrap_or_default();
    fingerprint(customer, &phase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::{Condition, ConditionStatus, SubscriptionStatus, Timestamp};

    fn with_ready(mut sub: Subscription, ready: bool, reason: &str) -> Arc<Subscription> {
        sub.status = Some(SubscriptionStatus {
            conditions: vec![Condition::new(
                types::READY,
                if ready {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                },
                reason,
                "",
                Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
                None,
            )],
            ..Default::default()
        });
        Arc::new(sub)
    }

    fn names(refs: Vec<ObjectRef<Subscription>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn device_changes_reach_attached_waiting_and_served_subscriptions() {
        let olt1 = mk_device("olt1", DeviceRole::Access, Some("lis"));
        let olt2 = mk_device("olt2", DeviceRole::Access, Some("opo"));
        let bng = mk_device("bng1", DeviceRole::Bng, Some("lis"));
        let devices = vec![olt1.clone(), olt2.clone(), bng.clone()];
        let subs = vec![
            with_ready(
                mk_subscription("a", "c", "p", "olt1", "ge-0/0/1"),
                true,
                "Active",
            ),
            with_ready(
                mk_subscription("b", "c", "p", "olt2", "ge-0/0/1"),
                true,
                "Active",
            ),
            with_ready(
                mk_subscription("w", "c", "p", "olt2", "ge-0/0/2"),
                false,
                "Maintenance",
            ),
        ];
        assert_eq!(names(for_device(&olt1, &subs, &devices)), ["a", "w"]);
        assert_eq!(names(for_device(&bng, &subs, &devices)), ["a", "w"]);
        assert_eq!(names(for_device(&olt2, &subs, &devices)), ["b", "w"]);
    }

    #[test]
    fn claims_and_ports_wake_only_those_waiting_for_them() {
        let subs = vec![
            with_ready(
                mk_subscription("full", "c", "p", "olt1", "ge-0/0/1"),
                false,
                reasons::POOL_EXHAUSTED,
            ),
            with_ready(
                mk_subscription("port", "c", "p", "olt1", "ge-0/0/2"),
                false,
                reasons::PORT_IN_USE,
            ),
            with_ready(
                mk_subscription("ok", "c", "p", "olt1", "ge-0/0/3"),
                true,
                "Active",
            ),
        ];
        let claim = mk_claim("pool", "1200", "x");
        assert_eq!(names(for_claim(&claim, &subs)), ["full"]);
        let holder = mk_subscription("holder", "c", "p", "olt1", "ge-0/0/2");
        assert_eq!(names(for_port_holder(&holder, &subs)), ["port"]);
        let product = mk_product("p", 1, 1);
        assert_eq!(for_product(&product, &subs).len(), 3);
        assert_eq!(
            names(for_pool(&mk_vlan_pool("v", 1, 2, &[]), &subs)),
            ["full", "port"]
        );
    }

    #[test]
    fn own_status_and_applied_writes_do_not_trigger_a_reconcile() {
        let sub = mk_subscription("a", "c", "p", "olt1", "ge-0/0/1");
        let base = reconcile_trigger(&sub);
        let mut written = sub.clone();
        written.status = Some(SubscriptionStatus::default());
        written.metadata.resource_version = Some("99".into());
        written.metadata.annotations = Some(
            [(
                super::super::applied::APPLIED_ANNOTATION.to_owned(),
                "{}".to_owned(),
            )]
            .into(),
        );
        assert_eq!(reconcile_trigger(&written), base);

        let changes: Vec<fn(&mut Subscription)> = vec![
            |s| s.metadata.generation = Some(7),
            |s| s.metadata.finalizers = Some(vec!["x".into()]),
            |s| {
                s.metadata.deletion_timestamp = Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
                )
            },
            |s| {
                s.metadata.annotations =
                    Some([(DRY_RUN_ANNOTATION.to_owned(), "true".to_owned())].into())
            },
            |s| s.metadata.uid = Some("other".into()),
        ];
        for change in changes {
            let mut changed = written.clone();
            change(&mut changed);
            assert_ne!(reconcile_trigger(&changed), base, "{:?}", changed.metadata);
        }
    }

    #[test]
    fn fingerprints_detect_spec_changes_only() {
        let prints = Fingerprints::default();
        let device = mk_device("olt1", DeviceRole::Access, None);
        let (key, print) = device_fingerprint(&device);
        assert!(prints.changed(key.clone(), print.clone()));
        assert!(!prints.changed(key.clone(), print));
        let mut changed = (*device).clone();
        changed.metadata.generation = Some(2);
        let (_, print) = device_fingerprint(&changed);
        assert!(prints.changed(key, print));
        let customer = mk_customer("ana", None);
        let closed = mk_customer(
            "ana",
            Some(ferrule_crds::bss::customer::CustomerPhase::Closed),
        );
        let (key, print) = customer_fingerprint(&customer);
        assert!(prints.changed(key.clone(), print.clone()));
        assert!(!prints.changed(key.clone(), print));
        assert!(prints.changed(key, customer_fingerprint(&closed).1));
    }
}
