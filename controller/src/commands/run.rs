//! `ferrule run`: the controllers against an existing Kubernetes API — a real cluster in
//! production (in-cluster service account or a kubeconfig), or any compatible API server.
//!
//! The CRDs come from `crds/` (`kubectl apply -f crds/`), installed by the cluster's
//! administrator; `run` does not write them. It serves health (`/livez`, `/readyz`) and
//! `/metrics` on the HTTP port and stops on SIGTERM or Ctrl-C within a bounded time
//! ([`start::SHUTDOWN_GRACE`]): connection retries to devices stop at once, in-flight
//! reconciles get the grace period, and a transaction cut short is finished by the next
//! start's recovery pass. Kubernetes' default termination grace period (30 s) is more than
//! enough.
//!
//! One replica: the controllers assume they are the only writer of the devices they manage
//! (see docs/provisioning.md, crash safety); deploy/deployment.yaml runs one pod with the
//! Recreate strategy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::client::client;
use crate::http::HttpPort;
use ferrule_netconf::client::ManagerPolicy;
use ferrule_operator::cache::Scope;
use ferrule_provisioning::start;
use ferrule_render::{ProfileSet, Renderer};

/// Options of `ferrule run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Kubeconfig of the cluster (default: in-cluster service account, $KUBECONFIG, then
    /// ~/.kube/config).
    #[arg(long, env = "FERRULE_RUN_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Serve only this namespace (default: every namespace).
    #[arg(short, long, env = "FERRULE_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the HTTP port (health and metrics). In a pod, the pod's own IP
    /// (`$(POD_IP):8080`, as deploy/deployment.yaml does) lets the kubelet's probes and
    /// Prometheus in without listening on every interface.
    #[arg(long, env = "FERRULE_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Seconds between drift checks of a connected device.
    #[arg(long, env = "FERRULE_DRIFT_INTERVAL", default_value_t = 300)]
    pub drift_interval: u64,
    /// A folder of device profiles overriding and extending the built-in ones.
    #[arg(long, env = "FERRULE_PROFILES_DIR")]
    pub profiles: Option<PathBuf>,
    /// A folder of templates for those profiles.
    #[arg(long, env = "FERRULE_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,
    /// Deadlines and connection cap of the HTTP port.
    #[command(flatten)]
    pub limits: ferrule_apiserver::conn::ConnLimitArgs,
}

/// Runs the controllers until SIGTERM or Ctrl-C.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let profiles = ProfileSet::load(args.profiles.as_deref(), args.templates.as_deref())
        .context("loading device profiles")?;
    let renderer = Arc::new(Renderer::new(profiles).context("compiling templates")?);
    let client = client(args.kubeconfig.as_deref()).await?;
    let http = HttpPort::serve(args.http_listen, args.limits.limits()).await?;
    let edge = start::netconf_edge(client.clone(), renderer.clone(), ManagerPolicy::default());
    let options = start::Options {
        scope: args.namespace.clone().map_or(Scope::All, Scope::Namespace),
        drift_interval: Duration::from_secs(args.drift_interval.max(1)),
        ..Default::default()
    };
    let controllers = start::start(client, renderer, edge, http.metrics.clone(), options)
        .await
        .context("starting the controllers")?;
    http.readiness.set(true);
    let mut signal = crate::http::ShutdownSignal::install()?;
    println!(
        "ferrule is running: controllers for {}, HTTP http://{}",
        args.namespace.as_deref().map_or_else(
            || "every namespace".to_owned(),
            |ns| format!("namespace {ns}")
        ),
        http.addr
    );
    signal.recv().await;
    http.readiness.set(false);
    tracing::info!("shutting down");
    // Bounded by start::SHUTDOWN_GRACE.
    controllers.shutdown().await;
    http.task.abort();
    Ok(())
}
