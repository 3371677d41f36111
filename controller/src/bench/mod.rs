//! `ferrule bench`: figures for the embedded API server, the raw object store and end-to-end
//! provisioning, measured in process on this machine. What each figure means and the figures
//! recorded so far: docs/performance.md.
//!
//! Every benchmark starts what it measures from scratch (a fresh data directory in the
//! system's temporary directory, loopback ports picked by the kernel) and removes it at the
//! end. Build with `--release` for figures worth recording.

pub mod api;
pub mod netconf;
pub mod provision;
mod seed;
pub mod stats;
pub mod store;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use ferrule_apiserver::ServeError;
use ferrule_apiserver::store::StoreError;
use ferrule_netsim::NetsimError;
use ferrule_provisioning::start::StartError;
use ferrule_render::RenderError;

/// Options of `ferrule bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// What `ferrule bench` measures.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// The embedded API server through HTTPS with kube-rs clients: creates/s, list latency,
    /// create-to-watch-event latency.
    Api(api::ApiBenchArgs),
    /// The whole control plane with simulated devices: Subscriptions created at once until
    /// all are Ready; time, latency, peak memory, commits per device.
    Provision(provision::ProvisionBenchArgs),
    /// The raw SQLite object store, without HTTP.
    Store(store::StoreBenchArgs),
    /// NETCONF session setup and edit+commit rate against a real server (and simulated
    /// devices), side by side with OpenSSH lock-step and ncclient.
    Netconf(netconf::NetconfBenchArgs),
}

/// Why a benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The async runtime could not be started.
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The scratch data directory could not be created.
    #[error("scratch directory {path}: {source}")]
    Scratch {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded API server did not start.
    #[error("starting the API server: {0}")]
    Serve(#[from] ServeError),
    /// A request to the API server failed.
    #[error("API request: {0}")]
    Kube(#[from] kube::Error),
    /// The raw store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The simulated network did not start.
    #[error("simulated network: {0}")]
    Netsim(#[from] NetsimError),
    /// The device profiles could not be loaded.
    #[error("device profiles: {0}")]
    Render(#[from] RenderError),
    /// The controllers did not start.
    #[error("controllers: {0}")]
    Start(#[from] StartError),
    /// A generated object did not match its resource type (a bug in the benchmark).
    #[error("building {what}: {source}")]
    Build {
        /// The object.
        what: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The parameters cannot work (e.g. more subscriptions than ports).
    #[error("invalid parameters: {0}")]
    Parameters(String),
    /// The measured work did not finish in time; the message says what was still missing.
    #[error("gave up after {waited:?}: {message}")]
    Timeout {
        /// How long it waited.
        waited: std::time::Duration,
        /// What had not happened.
        message: String,
    },
    /// A watch stream ended or failed before the expected events arrived.
    #[error("watch: {0}")]
    Watch(String),
    /// A worker task panicked or was cancelled.
    #[error("worker task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The NETCONF benchmark failed.
    #[error("netconf: {0}")]
    Netconf(#[from] Box<netconf::BenchError>),
}

/// Runs one benchmark on a new multi-threaded runtime and prints its report.
pub fn run(args: BenchArgs) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let report = runtime.block_on(async move {
        match args.command {
            BenchCommand::Api(args) => api::run(&args).await.map(|r| r.to_string()),
            BenchCommand::Provision(args) => provision::run(&args).await.map(|r| r.to_string()),
            BenchCommand::Store(args) => store::run(&args).await.map(|r| r.to_string()),
            BenchCommand::Netconf(args) => netconf::run(&args)
                .await
                .map_err(|e| BenchError::Netconf(Box::new(e))),
        }
    })?;
    println!("{report}");
    Ok(())
}
