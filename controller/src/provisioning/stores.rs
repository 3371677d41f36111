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
use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::changes::{Changes, Fanout};
use super::index::{Index, KeyFn, key};

/// Which namespaces the controllers serve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// Every namespace (every ISP tenant).
    #[default]
    All,
    /// One namespace.
    Namespace(String),
}

impl Scope {
    /// The API of `K` in this scope.
    pub fn api<K>(&self, client: Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match self {
            Self::All => Api::all(client),
            Self::Namespace(ns) => Api::namespaced(client, ns),
        }
    }
}

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

type Shared<K> = (Store<K>, Changes<K>, JoinHandle<()>);

fn spawn_shared<K>(api: Api<K>) -> Shared<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let fanout = Fanout::new(reader.clone());
    let changes = fanout.subscribe();
    (reader, changes, spawn_watch(api, writer, fanout, |_| {}))
}

/// A shared cache and an index under `keys`, fed by the same watch.
fn spawn_indexed<K>(api: Api<K>, keys: KeyFn<K>) -> (Shared<K>, Index<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let fanout = Fanout::new(reader.clone());
    let changes = fanout.subscribe();
    let index = Index::new(reader.clone(), keys);
    let feed = index.clone();
    let task = spawn_watch(api, writer, fanout, move |event| feed.apply(event));
    ((reader, changes, task), index)
}

/// Watches `api` into `writer`; `then` sees every event after the cache applied it, and
/// `fanout` passes the change on to the controllers.
fn spawn_watch<K>(
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    fanout: Fanout<K>,
    then: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> JoinHandle<()>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(strip_managed_fields)
        .reflect(writer);
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    then(&event);
                    fanout.publish(&event);
                }
                Err(err) => {
                    tracing::warn!(error = %err, kind = %K::kind(&()), "watch failed; retrying");
                }
            }
        }
    })
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

/// The objects of `store` in namespace `ns`.
pub fn in_namespace<K>(store: &Store<K>, ns: &str) -> Vec<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    // Borrowed names and namespaces: this runs on every reconcile over whole caches, and
    // `namespace()` / `name_any()` would allocate a String per object and per comparison.
    let mut objects = store.state_filter(|o| o.meta().namespace.as_deref() == Some(ns));
    objects.sort_unstable_by(|a, b| a.meta().name.cmp(&b.meta().name));
    objects
}

/// The object of `store` named `name` in namespace `ns`.
pub fn named<K>(store: &Store<K>, ns: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&reflector::ObjectRef::new(name).within(ns))
}

/// Drops `metadata.managedFields` before an object is cached: no controller reads them, and
/// they are the largest part of a small object's metadata (one entry per field manager, each
/// with its field set).
pub fn strip_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
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
