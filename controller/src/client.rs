//! The Kubernetes client of the commands that work against an existing API (`run`, `plan`).

use std::path::Path;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A client for the cluster of `kubeconfig`, or of the environment when `None`.
pub async fn client(kubeconfig: Option<&Path>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?
        }
        None => Config::infer().await.context(
            "no cluster configuration found (in-cluster, $KUBECONFIG or ~/.kube/config)",
        )?,
    };
    Ok(Client::try_from(config)?)
}
