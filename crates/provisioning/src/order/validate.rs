//! Validate a ServiceOrder: the order as a whole, then each item against the graph, and the
//! change each valid item makes to its Subscription.
//!
//! Pure: the controller hands in the resources it read and carries out the [`ItemChange`]s.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrule_crds::bss::customer::CustomerPhase;
use ferrule_crds::bss::service_order::{ItemState, OrderAction, OrderItem, ServiceOrderStatus};
use ferrule_crds::bss::subscription::{Access, DesiredState, SubscriptionSpec};
use ferrule_crds::{Customer, Device, Product, ServiceOrder, Subscription};
use kube::ResourceExt;
use serde_json::{Map, Value, json};

use crate::subscription::validate::{InvalidIntent, check_port};
use ferrule_operator::reasons;

/// The resources an order is checked against (all of the order's namespace).
#[derive(Debug, Clone, Copy)]
pub struct OrderRefs<'a> {
    /// The ordering Customer, if it exists.
    pub customer: Option<&'a Customer>,
    /// Every Product.
    pub products: &'a [Arc<Product>],
    /// Every Device.
    pub devices: &'a [Arc<Device>],
    /// Every Subscription.
    pub subscriptions: &'a [Arc<Subscription>],
}

/// Why a whole order is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRejection {
    /// The Customer does not exist.
    #[error("Customer {0} does not exist")]
    UnknownCustomer(String),
    /// The Customer is Closed.
    #[error("Customer {0} is Closed")]
    CustomerClosed(String),
}

impl OrderRejection {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownCustomer(_) => ferrule_operator::reasons::UNKNOWN_CUSTOMER,
            Self::CustomerClosed(_) => ferrule_operator::reasons::CUSTOMER_CLOSED,
        }
    }
}

/// Why one item of an order is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemRejection {
    /// An earlier item of the order acts on the same Subscription.
    #[error("Subscription {0} appears in an earlier item of this order")]
    DuplicateSubscription(String),
    /// An earlier item of the order puts a Subscription on the same port.
    #[error("port {port} of Device {device} is used by an earlier item of this order")]
    PortInOrder {
        /// The Device.
        device: String,
        /// The port.
        port: String,
    },
    /// The Subscription belongs to another Customer.
    #[error("Subscription {subscription} belongs to Customer {customer}")]
    OtherCustomer {
        /// The Subscription.
        subscription: String,
        /// Its Customer.
        customer: String,
    },
    /// The Subscription the item acts on does not exist.
    #[error("Subscription {0} does not exist")]
    UnknownSubscription(String),
    /// The Subscription the item acts on is being deleted.
    #[error("Subscription {0} is being terminated")]
    Terminating(String),
    /// An Add without a product.
    #[error("Add needs a product")]
    AddWithoutProduct,
    /// An Add without access.
    #[error("Add needs access (device and port)")]
    AddWithoutAccess,
    /// A Modify that changes nothing.
    #[error("Modify needs at least one of product, access, vlan, ipv4, parameters")]
    EmptyModify,
    /// An Add of a Subscription that exists with another spec.
    #[error("Subscription {0} already exists with another spec; use Modify")]
    SubscriptionExists(String),
    /// The Product does not exist.
    #[error("Product {0} does not exist")]
    UnknownProduct(String),
    /// The access Device does not exist.
    #[error("Device {0} does not exist")]
    UnknownDevice(String),
    /// The port cannot carry subscribers (core device, port not on the device).
    #[error(transparent)]
    Port(#[from] InvalidIntent),
    /// Another Subscription holds the port.
    #[error("port {port} of Device {device} is used by Subscription {holder}")]
    PortInUse {
        /// The Device.
        device: String,
        /// The port.
        port: String,
        /// The Subscription holding it.
        holder: String,
    },
}

impl ItemRejection {
    /// The machine-readable reason, recorded in the item's status.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DuplicateSubscription(_) => reasons::DUPLICATE_SUBSCRIPTION,
            Self::PortInOrder { .. } | Self::PortInUse { .. } => reasons::PORT_IN_USE,
            Self::OtherCustomer { .. } => reasons::SUBSCRIPTION_OF_OTHER_CUSTOMER,
            Self::UnknownSubscription(_) => reasons::UNKNOWN_SUBSCRIPTION,
            Self::Terminating(_) => reasons::TERMINATING,
            Self::AddWithoutProduct | Self::AddWithoutAccess | Self::EmptyModify => {
                reasons::INCOMPLETE_ITEM
            }
            Self::SubscriptionExists(_) => reasons::SUBSCRIPTION_EXISTS,
            Self::UnknownProduct(_) => reasons::UNKNOWN_PRODUCT,
            Self::UnknownDevice(_) => reasons::UNKNOWN_DEVICE,
            Self::Port(invalid) => invalid.reason(),
        }
    }
}

/// What a valid item does to its Subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemChange {
    /// Create it with this spec.
    Create(SubscriptionSpec),
    /// It exists as the item asks already (an Add applied again); nothing to do.
    Nothing,
    /// Merge-patch its spec with this value (`{"spec": {...}}`).
    Patch(Value),
    /// Delete it.
    Delete,
}

/// Checks the order as a whole.
pub fn check_order(order: &ServiceOrder, refs: OrderRefs<'_>) -> Result<(), OrderRejection> {
    let name = &order.spec.customer;
    let customer = refs
        .customer
        .ok_or_else(|| OrderRejection::UnknownCustomer(name.clone()))?;
    if customer.status.as_ref().and_then(|s| s.phase) == Some(CustomerPhase::Closed) {
        return Err(OrderRejection::CustomerClosed(name.clone()));
    }
    Ok(())
}

/// Whether checking the order now would reject it (before its first decision) or one of the
/// items still pending. Rejections are final, so the controller confirms them against the
/// API server rather than its caches.
pub fn rejects_anything(
    order: &ServiceOrder,
    status: &ServiceOrderStatus,
    refs: OrderRefs<'_>,
) -> bool {
    if status.state.is_none() && check_order(order, refs).is_err() {
        return true;
    }
    check_items(order, refs)
        .iter()
        .enumerate()
        .any(|(index, result)| {
            result.is_err()
                && status
                    .items
                    .get(index)
                    .is_none_or(|item| item.state == ItemState::Pending)
        })
}

/// Checks every item, in order. An item is also checked against the items before it: two
/// items may not act on one subscription, nor put two subscriptions on one port.
pub fn check_items(
    order: &ServiceOrder,
    refs: OrderRefs<'_>,
) -> Vec<Result<ItemChange, ItemRejection>> {
    let mut seen_subs = BTreeSet::new();
    let mut seen_ports: BTreeSet<(String, String)> = BTreeSet::new();
    order
        .spec
        .items
        .iter()
        .map(|item| {
            if !seen_subs.insert(item.subscription.clone()) {
                return Err(ItemRejection::DuplicateSubscription(
                    item.subscription.clone(),
                ));
            }
            let change = check_item(&order.spec.customer, item, refs)?;
            if let Some(access) = new_access(item) {
                let key = (access.device.clone(), access.port.clone());
                if !seen_ports.insert(key) {
                    return Err(ItemRejection::PortInOrder {
                        device: access.device.clone(),
                        port: access.port.clone(),
                    });
                }
            }
            Ok(change)
        })
        .collect()
}

fn new_access(item: &OrderItem) -> Option<&Access> {
    match item.action {
        OrderAction::Add | OrderAction::Modify => item.access.as_ref(),
        _ => None,
    }
}

/// Checks one item and says what it changes.
pub fn check_item(
    customer: &str,
    item: &OrderItem,
    refs: OrderRefs<'_>,
) -> Result<ItemChange, ItemRejection> {
    let existing = refs
        .subscriptions
        .iter()
        .find(|s| s.name_any() == item.subscription);
    if let Some(sub) = existing
        && sub.spec.customer != customer
    {
        return Err(ItemRejection::OtherCustomer {
            subscription: item.subscription.clone(),
            customer: sub.spec.customer.clone(),
        });
    }
    let terminating = existing.is_some_and(|s| s.metadata.deletion_timestamp.is_some());
    match item.action {
        OrderAction::Add => check_add(customer, item, existing, refs),
        OrderAction::Terminate => match existing {
            Some(_) => Ok(ItemChange::Delete),
            None => Err(ItemRejection::UnknownSubscription(
                item.subscription.clone(),
            )),
        },
        _ if existing.is_none() => Err(ItemRejection::UnknownSubscription(
            item.subscription.clone(),
        )),
        _ if terminating => Err(ItemRejection::Terminating(item.subscription.clone())),
        OrderAction::Modify => check_modify(item, refs),
        OrderAction::Suspend => Ok(ItemChange::Patch(
            json!({"spec": {"state": DesiredState::Suspended}}),
        )),
        OrderAction::Resume => Ok(ItemChange::Patch(
            json!({"spec": {"state": DesiredState::Active}}),
        )),
    }
}

fn check_add(
    customer: &str,
    item: &OrderItem,
    existing: Option<&Arc<Subscription>>,
    refs: OrderRefs<'_>,
) -> Result<ItemChange, ItemRejection> {
    let product = item
        .product
        .as_ref()
        .ok_or(ItemRejection::AddWithoutProduct)?;
    let access = item
        .access
        .as_ref()
        .ok_or(ItemRejection::AddWithoutAccess)?;
    check_product(product, refs)?;
    let spec = SubscriptionSpec {
        customer: customer.to_owned(),
        product: product.clone(),
        state: DesiredState::Active,
        access: access.clone(),
        vlan: item.vlan,
        ipv4: item.ipv4.clone(),
        parameters: item.parameters.clone(),
    };
    if let Some(sub) = existing {
        return if sub.spec == spec {
            Ok(ItemChange::Nothing)
        } else {
            Err(ItemRejection::SubscriptionExists(item.subscription.clone()))
        };
    }
    check_access(&item.subscription, access, refs)?;
    Ok(ItemChange::Create(spec))
}

fn check_modify(item: &OrderItem, refs: OrderRefs<'_>) -> Result<ItemChange, ItemRejection> {
    let mut spec = Map::new();
    if let Some(product) = &item.product {
        check_product(product, refs)?;
        spec.insert("product".into(), json!(product));
    }
    if let Some(access) = &item.access {
        check_access(&item.subscription, access, refs)?;
        spec.insert("access".into(), json!(access));
    }
    if let Some(vlan) = item.vlan {
        spec.insert("vlan".into(), json!(vlan));
    }
    if let Some(ipv4) = &item.ipv4 {
        spec.insert("ipv4".into(), json!(ipv4));
    }
    if let Some(parameters) = &item.parameters {
        spec.insert("parameters".into(), json!(parameters));
    }
    if spec.is_empty() {
        return Err(ItemRejection::EmptyModify);
    }
    Ok(ItemChange::Patch(json!({ "spec": spec })))
}

fn check_product(product: &str, refs: OrderRefs<'_>) -> Result<(), ItemRejection> {
    if refs.products.iter().any(|p| p.name_any() == product) {
        Ok(())
    } else {
        Err(ItemRejection::UnknownProduct(product.to_owned()))
    }
}

/// The device exists, has the port, and no subscription other than `subscription` uses it.
fn check_access(
    subscription: &str,
    access: &Access,
    refs: OrderRefs<'_>,
) -> Result<(), ItemRejection> {
    let device = refs
        .devices
        .iter()
        .find(|d| d.name_any() == access.device)
        .ok_or_else(|| ItemRejection::UnknownDevice(access.device.clone()))?;
    check_port(device, &access.port)?;
    if let Some(holder) = refs
        .subscriptions
        .iter()
        .find(|s| s.name_any() != subscription && s.spec.access == *access)
    {
        return Err(ItemRejection::PortInUse {
            device: access.device.clone(),
            port: access.port.clone(),
            holder: holder.name_any(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::bss::service_order::{ItemStatus, OrderState};
    use ferrule_crds::oss::device::DeviceRole;

    struct World {
        customer: Arc<Customer>,
        products: Vec<Arc<Product>>,
        devices: Vec<Arc<Device>>,
        subs: Vec<Arc<Subscription>>,
    }

    impl World {
        fn new() -> Self {
            Self {
                customer: mk_customer("ana", None),
                products: vec![
                    mk_product("fibre-500", 500, 100),
                    mk_product("fibre-1000", 1000, 200),
                ],
                devices: vec![mk_device("olt1", DeviceRole::Access, None)],
                subs: vec![Arc::new(mk_subscription(
                    "bob-home",
                    "bob",
                    "fibre-500",
                    "olt1",
                    "ge-0/0/2",
                ))],
            }
        }

        fn refs(&self) -> OrderRefs<'_> {
            OrderRefs {
                customer: Some(&self.customer),
                products: &self.products,
                devices: &self.devices,
                subscriptions: &self.subs,
            }
        }
    }

    fn add(sub: &str, port: &str) -> Value {
        json!({"action": "Add", "subscription": sub, "product": "fibre-500",
               "access": {"device": "olt1", "port": port}})
    }

    #[test]
    fn whole_order_needs_an_open_customer() {
        let world = World::new();
        let order = mk_order("o1", "ana", json!([add("ana-home", "ge-0/0/1")]));
        assert!(check_order(&order, world.refs()).is_ok());
        let none = OrderRefs {
            customer: None,
            ..world.refs()
        };
        assert_eq!(
            check_order(&order, none).unwrap_err().to_string(),
            "Customer ana does not exist"
        );
        let closed = mk_customer("ana", Some(CustomerPhase::Closed));
        let refs = OrderRefs {
            customer: Some(&closed),
            ..world.refs()
        };
        assert!(matches!(
            check_order(&order, refs),
            Err(OrderRejection::CustomerClosed(_))
        ));
    }

    #[test]
    fn add_creates_with_the_order_customer() {
        let world = World::new();
        let order = mk_order("o1", "ana", json!([add("ana-home", "ge-0/0/1")]));
        let results = check_items(&order, world.refs());
        match &results[0] {
            Ok(ItemChange::Create(spec)) => {
                assert_eq!(spec.customer, "ana");
                assert_eq!(spec.access.port, "ge-0/0/1");
                assert_eq!(spec.state, DesiredState::Active);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn add_is_rejected_per_item_with_a_reason() {
        let world = World::new();
        let order = mk_order(
            "o1",
            "ana",
            json!([
                add("a", "ge-0/0/2"),
                add("b", "ge-0/0/9"),
                {"action": "Add", "subscription": "c", "product": "nope",
                 "access": {"device": "olt1", "port": "ge-0/0/1"}},
                {"action": "Add", "subscription": "d", "product": "fibre-500",
                 "access": {"device": "olt7", "port": "ge-0/0/1"}},
                add("e", "ge-0/0/1"),
                add("f", "ge-0/0/1"),
                add("e", "ge-0/0/1"),
            ]),
        );
        let messages: Vec<String> = check_items(&order, world.refs())
            .into_iter()
            .map(|r| r.err().map_or_else(|| "ok".into(), |e| e.to_string()))
            .collect();
        assert_eq!(
            messages,
            [
                "port ge-0/0/2 of Device olt1 is used by Subscription bob-home",
                "port ge-0/0/9 is not a subscriber port of Device olt1 (its ports: ge-0/0/1, ge-0/0/2)",
                "Product nope does not exist",
                "Device olt7 does not exist",
                "ok",
                "port ge-0/0/1 of Device olt1 is used by an earlier item of this order",
                "Subscription e appears in an earlier item of this order",
            ]
        );
    }

    #[test]
    fn every_item_rejection_has_its_reason_code() {
        let mut world = World::new();
        world
            .devices
            .push(mk_device("core1", DeviceRole::Core, None));
        let mut leaving = mk_subscription("ana-old", "ana", "fibre-500", "olt9", "ge-0/0/1");
        leaving.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
        );
        world.subs.push(Arc::new(leaving));
        let order = mk_order(
            "o1",
            "ana",
            json!([
                add("a", "ge-0/0/2"),
                add("b", "ge-0/0/9"),
                {"action": "Add", "subscription": "c", "product": "nope",
                 "access": {"device": "olt1", "port": "ge-0/0/1"}},
                {"action": "Add", "subscription": "d", "product": "fibre-500",
                 "access": {"device": "olt7", "port": "ge-0/0/1"}},
                {"action": "Add", "subscription": "e", "product": "fibre-500",
                 "access": {"device": "core1", "port": "ge-0/0/1"}},
                {"action": "Add", "subscription": "f",
                 "access": {"device": "olt1", "port": "ge-0/0/1"}},
                {"action": "Add", "subscription": "g", "product": "fibre-500"},
                {"action": "Modify", "subscription": "ana-old"},
                {"action": "Suspend", "subscription": "nope"},
                {"action": "Terminate", "subscription": "bob-home"},
                {"action": "Suspend", "subscription": "a"},
                add("h", "ge-0/0/1"),
                add("i", "ge-0/0/1"),
            ]),
        );
        let reasons: Vec<&str> = check_items(&order, world.refs())
            .iter()
            .map(|r| r.as_ref().err().map_or("ok", ItemRejection::reason))
            .collect();
        assert_eq!(
            reasons,
            [
                "PortInUse",
                "PortNotOnDevice",
                "UnknownProduct",
                "UnknownDevice",
                "NotAnAccessDevice",
                "IncompleteItem",
                "IncompleteItem",
                "Terminating",
                "UnknownSubscription",
                "SubscriptionOfOtherCustomer",
                "DuplicateSubscription",
                "ok",
                "PortInUse",
            ]
        );
        let item = |v: Value| -> OrderItem { serde_json::from_value(v).unwrap() };
        let empty = check_item(
            "ana",
            &item(json!({"action": "Modify", "subscription": "bob-home"})),
            OrderRefs {
                subscriptions: &[Arc::new(mk_subscription(
                    "bob-home",
                    "ana",
                    "fibre-500",
                    "olt1",
                    "ge-0/0/2",
                ))],
                ..world.refs()
            },
        )
        .unwrap_err();
        assert_eq!(empty, ItemRejection::EmptyModify);
        assert_eq!(empty.reason(), "IncompleteItem");
        let other_spec = item(json!({"action": "Add", "subscription": "bob-home",
            "product": "fibre-1000", "access": {"device": "olt1", "port": "ge-0/0/2"}}));
        let exists = check_item("bob", &other_spec, world.refs()).unwrap_err();
        assert_eq!(exists.reason(), "SubscriptionExists");
    }

    #[test]
    fn re_applying_an_add_is_idempotent() {
        let mut world = World::new();
        let order = mk_order("o1", "ana", json!([add("ana-home", "ge-0/0/1")]));
        let Ok(ItemChange::Create(spec)) = &check_items(&order, world.refs())[0] else {
            panic!("not a create");
        };
        let mut sub = mk_subscription("ana-home", "ana", "fibre-500", "olt1", "ge-0/0/1");
        sub.spec = spec.clone();
        world.subs.push(Arc::new(sub));
        assert_eq!(
            check_items(&order, world.refs())[0],
            Ok(ItemChange::Nothing)
        );
        let other = mk_order(
            "o2",
            "ana",
            json!([{"action": "Add", "subscription": "ana-home",
            "product": "fibre-1000", "access": {"device": "olt1", "port": "ge-0/0/1"}}]),
        );
        assert!(
            check_items(&other, world.refs())[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("use Modify")
        );
    }

    #[test]
    fn actions_on_existing_subscriptions() {
        let mut world = World::new();
        world.subs.push(Arc::new(mk_subscription(
            "ana-home",
            "ana",
            "fibre-500",
            "olt1",
            "ge-0/0/1",
        )));
        let item = |v: Value| -> OrderItem { serde_json::from_value(v).unwrap() };
        let check = |v: Value| check_item("ana", &item(v), world.refs());
        assert_eq!(
            check(json!({"action": "Suspend", "subscription": "ana-home"})),
            Ok(ItemChange::Patch(json!({"spec": {"state": "Suspended"}})))
        );
        assert_eq!(
            check(json!({"action": "Resume", "subscription": "ana-home"})),
            Ok(ItemChange::Patch(json!({"spec": {"state": "Active"}})))
        );
        assert_eq!(
            check(json!({"action": "Terminate", "subscription": "ana-home"})),
            Ok(ItemChange::Delete)
        );
        assert_eq!(
            check(
                json!({"action": "Modify", "subscription": "ana-home", "product": "fibre-1000",
                         "parameters": {"upMbps": 300}})
            ),
            Ok(ItemChange::Patch(
                json!({"spec": {"product": "fibre-1000", "parameters": {"upMbps": 300}}})
            ))
        );
        // Moving to its own port is no conflict; to another's port is.
        assert!(
            check(json!({"action": "Modify", "subscription": "ana-home",
                             "access": {"device": "olt1", "port": "ge-0/0/1"}}))
            .is_ok()
        );
        assert!(
            check(json!({"action": "Modify", "subscription": "ana-home",
                             "access": {"device": "olt1", "port": "ge-0/0/2"}}))
            .is_err()
        );
        assert!(
            check(json!({"action": "Modify", "subscription": "ana-home"}))
                .unwrap_err()
                .to_string()
                .contains("at least one")
        );
        assert_eq!(
            check(json!({"action": "Suspend", "subscription": "nope"}))
                .unwrap_err()
                .to_string(),
            "Subscription nope does not exist"
        );
        assert_eq!(
            check(json!({"action": "Terminate", "subscription": "bob-home"}))
                .unwrap_err()
                .to_string(),
            "Subscription bob-home belongs to Customer bob"
        );
    }

    #[test]
    fn rejections_to_confirm_are_those_of_the_first_decision_or_of_pending_items() {
        let world = World::new();
        let order = mk_order(
            "o1",
            "ana",
            json!([add("ana-home", "ge-0/0/1"), add("ana-bad", "ge-0/0/9")]),
        );
        let undecided = ServiceOrderStatus::default();
        assert!(rejects_anything(&order, &undecided, world.refs()));
        let item = |sub: &str, state| ItemStatus {
            subscription: sub.into(),
            state,
            message: None,
            reason: None,
        };
        let mut decided = ServiceOrderStatus {
            state: Some(OrderState::InProgress),
            items: vec![
                item("ana-home", ItemState::InProgress),
                item("ana-bad", ItemState::Pending),
            ],
            ..Default::default()
        };
        assert!(
            rejects_anything(&order, &decided, world.refs()),
            "a port not on the device, still pending"
        );
        decided.items[1].state = ItemState::Rejected;
        assert!(
            !rejects_anything(&order, &decided, world.refs()),
            "already rejected: nothing new to confirm"
        );

        let good = mk_order("o2", "ana", json!([add("ana-home", "ge-0/0/1")]));
        assert!(!rejects_anything(&good, &undecided, world.refs()));
        let closed = mk_customer("ana", Some(CustomerPhase::Closed));
        let refs = OrderRefs {
            customer: Some(&closed),
            ..world.refs()
        };
        assert!(rejects_anything(&good, &undecided, refs));
        let acknowledged = ServiceOrderStatus {
            state: Some(OrderState::Acknowledged),
            items: vec![item("ana-home", ItemState::InProgress)],
            ..Default::default()
        };
        assert!(
            !rejects_anything(&good, &acknowledged, refs),
            "the customer is checked at the first decision only"
        );
    }
}
