//! Reading the running system for `ferrule plan`: the resources of the namespaces the
//! manifests touch, listed through a client, planned with the manifests laid on top.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context as _;
use ferrule_crds::{Customer, Device, Product, ResourceClaim, ResourcePool, Subscription};
use kube::api::ListParams;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use ferrule_render::Renderer;

use super::dryrun::{Graph, SubscriptionPlan, plan};
use super::manifests::Document;

/// Plans `docs` against what the cluster holds in their namespaces.
pub async fn plan_documents(
    client: &Client,
    renderer: &Renderer,
    docs: &[Document],
) -> anyhow::Result<Vec<SubscriptionPlan>> {
    let namespaces: BTreeSet<&str> = docs
        .iter()
        .filter(|d| matches!(d.kind(), "Subscription" | "ServiceOrder"))
        .map(Document::namespace)
        .collect();
    let mut plans = Vec::new();
    for ns in namespaces {
        let mut graph = read_graph(client, ns).await?;
        let mine: Vec<&Document> = docs.iter().filter(|d| d.namespace() == ns).collect();
        plans.extend(plan(renderer, &mut graph, &mine));
    }
    Ok(plans)
}

async fn list<K>(client: &Client, ns: &str) -> anyhow::Result<Vec<Arc<K>>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let list = api.list(&ListParams::default()).await.with_context(|| {
        format!(
            "listing {} in {ns} (are Ferrule's CRDs installed?)",
            K::plural(&())
        )
    })?;
    Ok(list.items.into_iter().map(Arc::new).collect())
}

async fn read_graph(client: &Client, ns: &str) -> anyhow::Result<Graph> {
    Ok(Graph {
        customers: list::<Customer>(client, ns).await?,
        products: list::<Product>(client, ns).await?,
        devices: list::<Device>(client, ns).await?,
        pools: list::<ResourcePool>(client, ns).await?,
        claims: list::<ResourceClaim>(client, ns).await?,
        subscriptions: list::<Subscription>(client, ns).await?,
    })
}
