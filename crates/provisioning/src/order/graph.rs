//! The resources an order is checked against: the controller's caches, or the API server
//! itself when a check would reject something.
//!
//! A rejection is final (a Rejected order or item is never looked at again), while a cache
//! may not yet hold a Customer, Product or Device created just before the order, nor a
//! Customer's close. So a rejection found in the caches is confirmed by reading the API
//! server before it is written, and the first decision on an order reads its Customer there.

use std::sync::Arc;

use ferrule_crds::{Customer, Device, Product, Subscription};
use kube::api::ListParams;
use kube::{Api, Client};

use crate::stores::Stores;
use ferrule_operator::cache::{in_namespace, named};

use super::validate::OrderRefs;

/// The ordering Customer and the Products and Devices of the order's namespace.
#[derive(Debug, Clone)]
pub struct Graph {
    customer: Option<Arc<Customer>>,
    products: Vec<Arc<Product>>,
    devices: Vec<Arc<Device>>,
}

// === impl Graph ===

impl Graph {
    /// As the caches hold it.
    pub fn cached(stores: &Stores, ns: &str, customer: &str) -> Self {
        Self {
            customer: named(&stores.customers, ns, customer),
            products: in_namespace(&stores.products, ns),
            devices: in_namespace(&stores.devices, ns),
        }
    }

    /// As the API server holds it now.
    pub async fn read(client: &Client, ns: &str, customer: &str) -> Result<Self, kube::Error> {
        let customer = read_customer(client, ns, customer).await?;
        let products = Api::<Product>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await?;
        let devices = Api::<Device>::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await?;
        Ok(Self {
            customer,
            products: products.items.into_iter().map(Arc::new).collect(),
            devices: devices.items.into_iter().map(Arc::new).collect(),
        })
    }

    /// Takes the Customer from the API server: the first decision on an order accepts or
    /// rejects it for its customer, and accepting one whose close the cache has not seen yet
    /// would create its subscriptions.
    pub async fn read_customer(
        &mut self,
        client: &Client,
        ns: &str,
        customer: &str,
    ) -> Result<(), kube::Error> {
        self.customer = read_customer(client, ns, customer).await?;
        Ok(())
    }

    /// The references of a check, with the namespace's `subscriptions`.
    pub fn refs<'a>(&'a self, subscriptions: &'a [Arc<Subscription>]) -> OrderRefs<'a> {
        OrderRefs {
            customer: self.customer.as_deref(),
            products: &self.products,
            devices: &self.devices,
            subscriptions,
        }
    }
}

async fn read_customer(
    client: &Client,
    ns: &str,
    name: &str,
) -> Result<Option<Arc<Customer>>, kube::Error> {
    Ok(Api::<Customer>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await?
        .map(Arc::new))
}
