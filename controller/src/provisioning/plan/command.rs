//! `ferrule plan -f <file or folder>`: reads the running system through a kubeconfig, plans
//! the manifests, prints the result; writes nothing anywhere.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferrule_crds::{Customer, Device, Product, ResourceClaim, ResourcePool, Subscription};
use kube::api::ListParams;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::render::{ProfileSet, Renderer};

use super::dryrun::{Graph, SubscriptionPlan, plan};
use super::manifests::{Document, files, load};
use super::report;

/// Output format of `ferrule plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// Options of `ferrule plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Manifest files or folders (their *.yaml, *.yml and *.json files), as for kubectl apply.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Kubeconfig of the running system (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "FERRULE_PLAN_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of documents that name none.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// A folder of device profiles overriding and extending the built-in ones.
    #[arg(long, env = "FERRULE_PROFILES_DIR")]
    pub profiles: Option<PathBuf>,
    /// A folder of templates for those profiles.
    #[arg(long, env = "FERRULE_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,
}

/// Runs `ferrule plan`; returns the report to print.
pub async fn run(args: PlanArgs) -> anyhow::Result<String> {
    let profiles = ProfileSet::load(args.profiles.as_deref(), args.templates.as_deref())
        .context("loading device profiles")?;
    let renderer = Arc::new(Renderer::new(profiles).context("compiling templates")?);
    let docs = load(&files(&args.files)?, &args.namespace)?;
    let client = crate::run::client(args.kubeconfig.as_deref()).await?;
    let plans = plan_documents(&client, &renderer, &docs).await?;
    Ok(match args.output {
        Output::Text => report::text(&renderer, &plans),
        Output::Json => report::json(&plans),
    })
}

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
