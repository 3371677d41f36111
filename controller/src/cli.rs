//! Command-line interface: one clap struct per command, with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::apiserver::{self, ServeConfig, health};

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
    /// Print every Ferrule CustomResourceDefinition as a multi-document YAML stream, the
    /// content of `crds/*.yaml` (`ferrule crds | kubectl apply -f -`).
    Crds,
    /// Run simulated NETCONF devices from a topology file.
    Netsim(crate::netsim::command::NetsimArgs),
    /// Measure Ferrule against other clients and record the figures.
    Bench {
        #[command(subcommand)]
        bench: BenchCommand,
    },
}

/// What `ferrule bench` measures.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// NETCONF session setup and edit+commit rate against a real server, side by side with
    /// OpenSSH and ncclient (build with --release).
    Netconf(crate::southbound::bench::NetconfBenchArgs),
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
        Command::Up(args) => {
            init_tracing();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(up(args))
        }
        Command::Netsim(args) => crate::netsim::command::run(args),
        Command::Bench {
            bench: BenchCommand::Netconf(args),
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            print!(
                "{}",
                runtime.block_on(crate::southbound::bench::run(&args))?
            );
            Ok(())
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `ferrule up`: serves until interrupted.
pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    if !args.http_listen.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "refusing to listen on non-loopback address {} without --allow-remote",
            args.http_listen
        );
    }
    let readiness = health::Readiness::default();
    let (http_addr, http_task) = health::serve(args.http_listen, health::router(readiness.clone()))
        .await
        .with_context(|| format!("listening on {}", args.http_listen))?;
    let mut config = ServeConfig::new(&args.data, args.api_listen);
    config.kubeconfig_path = args.kubeconfig.clone();
    config.insecure_http = args.insecure_http;
    config.allow_remote = args.allow_remote;
    config.crds = ferrule_crds::crdgen::all_crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .context("encoding Ferrule's CRDs")?;
    let server = apiserver::serve(config)
        .await
        .context("starting the API server")?;
    readiness.set(true);
    println!(
        "ferrule is up: API {} (kubeconfig {}), HTTP http://{}",
        server.kubeconfig().server,
        server.kubeconfig_path().display(),
        http_addr
    );
    println!(
        "try: KUBECONFIG={} kubectl api-resources",
        server.kubeconfig_path().display()
    );
    shutdown_signal().await;
    readiness.set(false);
    tracing::info!("shutting down");
    server.shutdown().await;
    http_task.abort();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
