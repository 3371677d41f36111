//! `ferrule bench netconf`: Ferrule's NETCONF client measured side by side, in one run against
//! one real server, with the protocol's floor (OpenSSH's `ssh -s netconf` driven lock-step
//! with the same bytes) and with ncclient (stock, and with its 100 ms poll cut to 1 ms).
//!
//! Every client logs in with the same public key, pins the server's host key, and measures
//! session setup as connect + authenticate + hellos + one `<discard-changes/>` reply, then
//! edit-config + commit pairs on one session, creating and rewriting one interface that it
//! deletes at the end. Figures and how to read them: docs/performance.md.

mod clients;
mod netsim;
mod openssh;
mod report;

use std::path::PathBuf;

pub use report::{Figures, Spread, table, verdicts};

use ferrule_netconf::client::{ClientError, PeerEnv, PeerEnvError};
use ferrule_netconf::transaction::TransactionError;

/// `ferrule bench netconf`.
#[derive(Debug, Clone, clap::Args)]
pub struct NetconfBenchArgs {
    /// The `peer.env` of the NETCONF server to measure against (as written by
    /// `.ci/netconf-peer.sh start PORT DIR`).
    #[arg(long, env = "FERRULE_BENCH_PEER_ENV")]
    pub peer_env: PathBuf,
    /// Session setups per client.
    #[arg(long, default_value_t = 10)]
    pub setups: u32,
    /// edit-config + commit pairs per client, on one session.
    #[arg(long, default_value_t = 200)]
    pub pairs: u32,
    /// Pairs for stock ncclient, whose 100 ms poll makes every reply wait.
    #[arg(long, default_value_t = 20)]
    pub stock_ncclient_pairs: u32,
    /// One-device transactions through the transaction layer (lock, discard, edit,
    /// confirmed commit, confirming commit, unlock).
    #[arg(long, default_value_t = 100)]
    pub transactions: u32,
    /// The Python interpreter that has ncclient.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Also measure Ferrule against simulated devices started in this process: one device,
    /// and one transaction across 200.
    #[arg(long)]
    pub netsim: bool,
}

/// Why the benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The peer description is unusable.
    #[error(transparent)]
    Peer(#[from] PeerEnvError),
    /// Ferrule's client failed.
    #[error("Ferrule client: {0}")]
    Client(#[from] ClientError),
    /// A transaction failed.
    #[error("Ferrule transaction: {0}")]
    Transaction(#[from] Box<TransactionError>),
    /// A helper program could not be run (`ssh`, Python).
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The OpenSSH-driven session went wrong.
    #[error("OpenSSH session: {0}")]
    Protocol(String),
    /// The ncclient script failed (is ncclient installed? `pip install ncclient`).
    #[error("ncclient script exited with {status}: {stderr}")]
    Script {
        /// The exit status.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// The ncclient script's output was not the expected JSON.
    #[error("ncclient script output: {0}")]
    Output(#[from] serde_json::Error),
    /// The network simulator failed.
    #[error("network simulator: {0}")]
    Netsim(#[from] ferrule_netsim::NetsimError),
}

/// Runs every client against the peer and returns the report (Markdown).
pub async fn run(args: &NetconfBenchArgs) -> Result<String, BenchError> {
    let peer = PeerEnv::load(&args.peer_env)?;
    let load_before = load_average();
    let (ferrule, mut session) = clients::ferrule("Ferrule", &peer.config_key()?, args).await?;
    let transactions_time = clients::ferrule_transactions(&mut session, args.transactions).await?;
    clients::ferrule_cleanup(session).await?;
    let floor = clients::openssh(&peer, args).await?;
    let ncclient_fast = clients::ncclient(&peer, args, Some(0.001), args.pairs).await?;
    let ncclient_stock = clients::ncclient(&peer, args, None, args.stock_ncclient_pairs).await?;
    let load_after = load_average();

    let mut out = format!(
        "NETCONF against {} ({} setups, {} pairs per client; load average {load_before} before, \
         {load_after} after)\n\n",
        peer.address(),
        args.setups,
        args.pairs
    );
    out.push_str(&table(&[
        ferrule.clone(),
        floor.clone(),
        ncclient_fast.clone(),
        ncclient_stock,
    ]));
    out.push_str(&format!(
        "\nFerrule one-device transactions (lock, discard, edit, confirmed commit, confirm, \
         unlock): {:.1}/s ({} in {:.2} s)\n\n",
        f64::from(args.transactions) / transactions_time.as_secs_f64().max(f64::EPSILON),
        args.transactions,
        transactions_time.as_secs_f64()
    ));
    for line in verdicts(&ferrule, &floor, &ncclient_fast) {
        out.push_str(&line);
        out.push('\n');
    }
    if args.netsim {
        out.push_str("\nSimulated devices (ferrule netsim, in this process)\n\n");
        out.push_str(&netsim::report(&netsim::measure(args).await?));
    }
    Ok(out)
}

/// The 1-minute load average, for the report (the machine is shared).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}
