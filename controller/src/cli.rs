//! Command-line interface: one clap struct per command, with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::http::{HttpPort, ShutdownSignal};
use crate::logging::init_tracing;
use ferrule_apiserver::ServeConfig;
use ferrule_apiserver::conn::ConnLimitArgs;
use ferrule_apiserver::store::Durability;
use ferrule_netconf::client::ManagerPolicy;
use ferrule_provisioning::start;
use ferrule_render::Renderer;

/// Ferrule: intent-based OSS/BSS controller for Internet Service Providers.
#[derive(Debug, Parser)]
#[command(name = "ferrule", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of the `ferrule` binary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version of Ferrule.
    Version,
    /// Run everything on this machine: the embedded API server (state in SQLite), the
    /// controllers and the HTTP port. Writes a kubeconfig for kubectl.
    Up(UpArgs),
    /// Run the controllers against an existing Kubernetes API (a real cluster, with the CRDs
    /// of `crds/` installed); health and metrics on the HTTP port.
    Run(crate::commands::run::RunArgs),
    /// Print every Ferrule CustomResourceDefinition as a multi-document YAML stream, the
    /// content of `crds/*.yaml` (`ferrule crds | kubectl apply -f -`).
    Crds,
    /// Run simulated NETCONF devices from a topology file.
    Netsim(crate::commands::netsim::NetsimArgs),
    /// Dry run: show what applying manifests would do — the claims made and the exact
    /// NETCONF edit per device — against the running system, pushing nothing.
    Plan(crate::commands::plan::PlanArgs),
    /// Measure the API server, the store and provisioning on this machine (build with
    /// --release; figures in docs/performance.md).
    Bench(crate::bench::BenchArgs),
}

/// Options of `ferrule up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Data directory: database, certificates, token, kubeconfig.
    #[arg(long = "data", env = "FERRULE_DATA", default_value = ".ferrule")]
    pub data: PathBuf,
    /// Address of the Kubernetes API (HTTPS).
    #[arg(long, env = "FERRULE_API_LISTEN", default_value = "127.0.0.1:6443")]
    pub api_listen: SocketAddr,
    /// Address of the HTTP port (health, metrics, dashboard).
    #[arg(long, env = "FERRULE_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Where to write the kubeconfig (default: DATA/kubeconfig).
    #[arg(long, env = "FERRULE_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Serve the API over plain HTTP (loopback only; for debugging).
    #[arg(long, env = "FERRULE_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// Allow listening on non-loopback addresses.
    #[arg(long, env = "FERRULE_ALLOW_REMOTE")]
    pub allow_remote: bool,
    /// When the store acknowledges a write: `normal` (survives the process being killed) or
    /// `full` (also survives a power cut, at a third of the write rate).
    #[arg(long, env = "FERRULE_DURABILITY", value_enum, default_value_t = Durability::default())]
    pub durability: Durability,
    /// Seconds between drift checks of a connected device.
    #[arg(long, env = "FERRULE_DRIFT_INTERVAL", default_value_t = 300)]
    pub drift_interval: u64,
    /// Most NETCONF sessions open at once (one per device is kept while in use; give at least
    /// the number of devices for persistent sessions).
    #[arg(long, env = "FERRULE_MAX_DEVICE_SESSIONS", default_value_t = ManagerPolicy::DEFAULT_MAX_CONNECTIONS)]
    pub max_device_sessions: usize,
    /// Also run the simulated devices of this topology file (see docs/netsim.md).
    #[arg(long, env = "FERRULE_NETSIM")]
    pub netsim: Option<PathBuf>,
    /// Where the simulated network's fault-injection API listens (with --netsim).
    #[arg(
        long,
        env = "FERRULE_NETSIM_CONTROL_LISTEN",
        default_value = "127.0.0.1:18399"
    )]
    pub netsim_control_listen: SocketAddr,
    /// Start the simulated devices empty, forgetting the configuration they kept in
    /// DATA/netsim (with --netsim). Without it they start as the last run left them.
    #[arg(long, env = "FERRULE_NETSIM_FRESH")]
    pub netsim_fresh: bool,
    /// Apply these manifests (files, or folders like `kubectl apply -f DIR`) once the
    /// controllers run, wait for orders and subscriptions to settle and print a summary.
    #[arg(long, env = "FERRULE_APPLY", value_delimiter = ',')]
    pub apply: Vec<PathBuf>,
    /// How long to wait for the applied manifests to settle, in seconds.
    #[arg(long, env = "FERRULE_WAIT", default_value_t = 120)]
    pub wait: u64,
    /// Exit after printing the summary instead of serving until interrupted (non-zero exit
    /// when it did not settle).
    #[arg(long)]
    pub exit_after_apply: bool,
    /// Deadlines and connection cap of the API port and the HTTP port.
    #[command(flatten)]
    pub limits: ConnLimitArgs,
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("ferrule {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Crds => {
            print!("{}", ferrule_crds::crdgen::all_crds_yaml()?);
            Ok(())
        }
        Command::Up(args) => serve(up(args)),
        Command::Run(args) => serve(crate::commands::run::run(args)),
        Command::Netsim(args) => crate::commands::netsim::run(args),
        Command::Plan(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = runtime.block_on(crate::commands::plan::run(args))?;
            print!("{report}");
            Ok(())
        }
        Command::Bench(args) => {
            init_tracing("warn");
            Ok(crate::bench::run(args)?)
        }
    }
}

/// How long the runtime waits, once a long-lived command returned, for tasks that are still
/// running (a dropped transaction's batch, a closing SSH session) before the process exits.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(1);

/// Runs a long-lived command (`up`, `run`) on a multi-threaded runtime, logging at info.
fn serve(command: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    init_tracing("info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(command);
    // Dropping the runtime would wait for blocking work without limit.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    result
}

/// `ferrule up`: serves until interrupted.
pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    if !args.http_listen.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "refusing to listen on non-loopback address {} without --allow-remote",
            args.http_listen
        );
    }
    // Manifests are read before anything starts, so a typo fails fast.
    let mut manifests = Vec::new();
    for path in &args.apply {
        manifests.extend(crate::manifests::load(path)?);
    }
    let netsim = match &args.netsim {
        Some(path) => {
            // The simulator keeps its devices' configuration in the data directory: check the
            // directory (owner, modes) before anything in it is read.
            ferrule_datadir::prepare_data_dir(&args.data)
                .with_context(|| format!("preparing the data directory {}", args.data.display()))?;
            let topology = ferrule_netsim::Topology::load(path)?;
            let options = ferrule_netsim::Options {
                control_listen: Some(args.netsim_control_listen),
                state_dir: Some(args.data.join("netsim")),
                fresh: args.netsim_fresh,
                ..Default::default()
            };
            let netsim = ferrule_netsim::start_with(topology, options)
                .await
                .with_context(|| format!("starting the simulated network of {}", path.display()))?;
            let control = netsim
                .control_addr()
                .map_or_else(|| "none".to_owned(), |a| format!("http://{a}"));
            println!(
                "simulated network: {} devices from {} (fault control {control})",
                netsim.devices().len(),
                path.display(),
            );
            Some(netsim)
        }
        None => None,
    };
    let HttpPort {
        readiness,
        metrics,
        addr: http_addr,
        task: http_task,
    } = HttpPort::serve(args.http_listen, args.limits.limits()).await?;
    let mut config = ServeConfig::new(&args.data, args.api_listen);
    config.kubeconfig_path = args.kubeconfig.clone();
    config.insecure_http = args.insecure_http;
    config.allow_remote = args.allow_remote;
    config.limits = args.limits.limits();
    config.durability = args.durability;
    config.crds = ferrule_crds::crdgen::all_crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .context("encoding Ferrule's CRDs")?;
    let server = ferrule_apiserver::serve(config)
        .await
        .context("starting the API server")?;
    let client = server
        .client()
        .await
        .context("connecting to the API server")?;
    let renderer = Arc::new(Renderer::builtin().context("loading the device profiles")?);
    let policy = ManagerPolicy {
        max_connections: args.max_device_sessions.max(1),
        ..ManagerPolicy::default()
    };
    let edge = start::netconf_edge(client.clone(), renderer.clone(), policy);
    let options = start::Options {
        drift_interval: Duration::from_secs(args.drift_interval.max(1)),
        ..Default::default()
    };
    let controllers = start::start(client.clone(), renderer, edge, metrics, options)
        .await
        .context("starting the controllers")?;
    readiness.set(true);
    // Before saying so: from here on, Ctrl-C stops everything in order.
    let mut signal = ShutdownSignal::install()?;
    println!(
        "ferrule is up: API {} (kubeconfig {}), HTTP http://{}",
        server.kubeconfig().server,
        server.kubeconfig_path().display(),
        http_addr
    );
    let mut settled = true;
    let mut interrupted = false;
    if !manifests.is_empty() {
        let apply = async {
            let applied = crate::manifests::apply(&client, &manifests).await?;
            println!("applied {} objects", applied.len());
            let (summary, ok) = crate::summary::Summary::wait_settled(
                &client,
                Some(controllers.verified()),
                Duration::from_secs(args.wait),
            )
            .await?;
            if !ok {
                println!("not settled after {} s:", args.wait);
            }
            println!("{summary}");
            anyhow::Ok(ok)
        };
        tokio::select! {
            ok = apply => settled = ok?,
            () = signal.recv() => interrupted = true,
        }
    }
    if !interrupted {
        println!(
            "try: KUBECONFIG={} kubectl get subs,so,devices -A",
            server.kubeconfig_path().display()
        );
        if !args.exit_after_apply {
            signal.recv().await;
        }
    }
    readiness.set(false);
    tracing::info!("shutting down");
    // Bounded (start::SHUTDOWN_GRACE); the API server stays up until the controllers are
    // stopped, so a journal write in flight is applied whole or not at all.
    controllers.shutdown().await;
    server.shutdown().await;
    if let Some(netsim) = netsim {
        netsim.shutdown().await;
    }
    http_task.abort();
    if !settled && !interrupted {
        anyhow::bail!(
            "the applied manifests did not settle within {} s",
            args.wait
        );
    }
    Ok(())
}
