//! Caches of the resources the controllers read, fed by watches.
//!
//! Reads of the graph (which devices exist, which pools serve them, which subscriptions hold
//! which ports and entries) come from these stores instead of a list call per reconcile.
//! Decisions that must not rely on a possibly stale cache go to the API server: a
//! subscription re-reads itself before changing a device, and a claim is only ever won by
//! creating it.

use std::fmt;
use std::sync::Arc;

use ferrule_crds::{
    Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription,
};
use futures::StreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

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

fn spawn_reflector<K>(api: Api<K>) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            if let Err(err) = event {
                tracing::warn!(error = %err, kind = %K::kind(&()), "watch failed; retrying");
            }
        }
    });
    (reader, task)
}

impl Stores {
    /// Starts one watch per kind; the tasks run until aborted.
    pub fn spawn(client: &Client, scope: &Scope) -> (Self, Vec<JoinHandle<()>>) {
        let (customers, a) = spawn_reflector(scope.api(client.clone()));
        let (products, b) = spawn_reflector(scope.api(client.clone()));
        let (devices, c) = spawn_reflector(scope.api(client.clone()));
        let (pools, d) = spawn_reflector(scope.api(client.clone()));
        let (claims, e) = spawn_reflector(scope.api(client.clone()));
        let (subscriptions, f) = spawn_reflector(scope.api(client.clone()));
        let (orders, g) = spawn_reflector(scope.api(client.clone()));
        let stores = Self {
            customers,
            products,
            devices,
            pools,
            claims,
            subscriptions,
            orders,
        };
        (stores, vec![a, b, c, d, e, f, g])
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
