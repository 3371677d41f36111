//! Caches of the resources the controllers read, fed by watches.
//!
//! Reads of the graph (which devices exist, which pools serve them, which subscriptions hold
//! which ports and entries) come from these stores instead of a list call per reconcile.
//! Decisions that must not rely on a possibly stale cache go to the API server: a
//! subscription re-reads itself before changing a device, and a claim is only ever won by
//! creating it.
//!
//! Subscriptions and claims are also indexed ([`Index`]): a reconcile reads the subscriptions
//! on one device and the claims of one pool, not every object of the namespace.

use std::fmt;
use std::sync::Arc;

use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::{
    Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription,
};
use kube::runtime::reflector::{self, Store};
use kube::{Client, Resource};
use tokio::task::JoinHandle;

use ferrule_operator::cache::Scope;
use ferrule_operator::cache::{spawn_indexed, spawn_shared};

use ferrule_operator::changes::Changes;
use ferrule_operator::index::{Index, key};

/// The watched caches.
#[derive(Clone)]
pub struct Stores {
    /// Customers.
    pub customers: Store<Customer>,
    /// Products.
    pub products: Store<Product>,
    /// Devices.
    pub devices: Store<Device>,
    /// Resource pools.
    pub pools: Store<ResourcePool>,
    /// Resource claims.
    pub claims: Store<ResourceClaim>,
    /// Subscriptions.
    pub subscriptions: Store<Subscription>,
    /// Service orders.
    pub orders: Store<ServiceOrder>,
    /// Subscriptions by device, owned entry and the reason they are not Ready
    /// ([`subscription_keys`]).
    pub subscriptions_by: Index<Subscription>,
    /// Claims by pool.
    pub claims_by_pool: Index<ResourceClaim>,
    /// Orders still running, by the subscriptions their items name ([`order_keys`]).
    pub orders_by_subscription: Index<ServiceOrder>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("customers", &self.customers.len())
            .field("products", &self.products.len())
            .field("devices", &self.devices.len())
            .field("pools", &self.pools.len())
            .field("claims", &self.claims.len())
            .field("subscriptions", &self.subscriptions.len())
            .field("orders", &self.orders.len())
            .finish()
    }
}

/// The change streams of the shared caches, for the controllers' triggers: each kind is watched
/// and decoded once, whatever number of controllers react to it ([`Fanout`]).
pub struct Streams {
    /// Subscriptions.
    pub subscriptions: Changes<Subscription>,
    /// Devices.
    pub devices: Changes<Device>,
    /// Products.
    pub products: Changes<Product>,
    /// Customers.
    pub customers: Changes<Customer>,
    /// Resource pools.
    pub pools: Changes<ResourcePool>,
    /// Resource claims.
    pub claims: Changes<ResourceClaim>,
    /// Service orders.
    pub orders: Changes<ServiceOrder>,
}

impl fmt::Debug for Streams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streams").finish_non_exhaustive()
    }
}

impl Stores {
    /// Starts one watch per kind; the tasks run until aborted. The streams must go to the
    /// controllers (or be dropped).
    pub fn spawn(client: &Client, scope: &Scope) -> (Self, Streams, Vec<JoinHandle<()>>) {
        let (customers, customer_changes, a) = spawn_shared(scope.api(client.clone()));
        let (products, product_changes, b) = spawn_shared(scope.api(client.clone()));
        let (devices, device_changes, c) = spawn_shared(scope.api(client.clone()));
        let (pools, pool_changes, d) = spawn_shared(scope.api(client.clone()));
        let ((claims, claim_changes, e), claims_by_pool) =
            spawn_indexed(scope.api(client.clone()), claim_keys);
        let ((subscriptions, subscription_changes, f), subscriptions_by) =
            spawn_indexed(scope.api(client.clone()), subscription_keys);
        let ((orders, order_changes, g), orders_by_subscription) =
            spawn_indexed(scope.api(client.clone()), order_keys);
        let stores = Self {
            customers,
            products,
            devices,
            pools,
            claims,
            subscriptions,
            orders,
            subscriptions_by,
            claims_by_pool,
            orders_by_subscription,
        };
        let streams = Streams {
            subscriptions: subscription_changes,
            devices: device_changes,
            products: product_changes,
            customers: customer_changes,
            pools: pool_changes,
            claims: claim_changes,
            orders: order_changes,
        };
        (stores, streams, vec![a, b, c, d, e, f, g])
    }

    /// Subscriptions of namespace `ns` attached to `device` or configured on it.
    pub fn subscriptions_on(&self, ns: &str, device: &str) -> Vec<Arc<Subscription>> {
        self.subscriptions_by.get(&key(&["device", ns, device]))
    }

    /// Whether a subscription of `ns` other than `me` owns `entry` on `device`.
    pub fn entry_held_by_other(&self, ns: &str, device: &str, entry: &str, me: &str) -> bool {
        self.subscriptions_by
            .any_other(&key(&["entry", ns, device, entry]), me)
    }

    /// Subscriptions of `ns` whose Ready condition is False with `reason`.
    pub fn subscriptions_waiting(&self, ns: &str, reason: &str) -> Vec<Arc<Subscription>> {
        self.subscriptions_by.get(&key(&["waiting", ns, reason]))
    }

    /// Claims of the pool `pool` of `ns`.
    pub fn claims_of_pool(&self, ns: &str, pool: &str) -> Vec<Arc<ResourceClaim>> {
        self.claims_by_pool.get(&key(&["pool", ns, pool]))
    }

    /// Orders of `ns` still running that name the subscription `sub` in an item.
    pub fn orders_naming(&self, ns: &str, sub: &str) -> Vec<Arc<ServiceOrder>> {
        self.orders_by_subscription
            .get(&key(&["subscription", ns, sub]))
    }

    /// Waits until every cache holds its first full list.
    pub async fn wait_ready(&self) -> Result<(), reflector::store::WriterDropped> {
        self.customers.wait_until_ready().await?;
        self.products.wait_until_ready().await?;
        self.devices.wait_until_ready().await?;
        self.pools.wait_until_ready().await?;
        self.claims.wait_until_ready().await?;
        self.subscriptions.wait_until_ready().await?;
        self.orders.wait_until_ready().await
    }
}

/// Index keys of a subscription: the devices it is attached to or configured on, each entry it
/// owns there, and the reason of a False Ready condition.
pub fn subscription_keys(sub: &Subscription) -> Vec<String> {
    let ns = sub.meta().namespace.as_deref().unwrap_or_default();
    let mut keys = vec![key(&["device", ns, &sub.spec.access.device])];
    if let Some(status) = &sub.status {
        for device in &status.devices {
            keys.push(key(&["device", ns, &device.name]));
            keys.extend(
                device
                    .owned
                    .iter()
                    .map(|entry| key(&["entry", ns, &device.name, entry])),
            );
        }
        if let Some(ready) = find_condition(&status.conditions, types::READY)
            && !ready.is_true()
        {
            keys.push(key(&["waiting", ns, &ready.reason]));
        }
    }
    keys
}

/// Index keys of an order still running: the subscriptions its items name. A finished order
/// has none (nothing a subscription does changes it any more).
pub fn order_keys(order: &ServiceOrder) -> Vec<String> {
    let finished = order
        .status
        .as_ref()
        .and_then(|s| s.state)
        .is_some_and(super::order::progress::is_final);
    if finished {
        return Vec::new();
    }
    let ns = order.meta().namespace.as_deref().unwrap_or_default();
    order
        .spec
        .items
        .iter()
        .map(|item| key(&["subscription", ns, &item.subscription]))
        .collect()
}

/// Index keys of a claim: its pool.
pub fn claim_keys(claim: &ResourceClaim) -> Vec<String> {
    let ns = claim.meta().namespace.as_deref().unwrap_or_default();
    vec![key(&["pool", ns, &claim.spec.pool])]
}
