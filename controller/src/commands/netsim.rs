//! `ferrule netsim`: run a topology of simulated devices in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use ferrule_netsim::{Options, Topology, fingerprints, start_with};

/// Run simulated NETCONF devices in the foreground until interrupted.
#[derive(Debug, Clone, Args)]
pub struct NetsimArgs {
    /// The topology file (YAML; see docs/netsim.md).
    #[arg(long, env = "FERRULE_NETSIM_TOPOLOGY")]
    pub topology: PathBuf,
    /// Where the HTTP control API listens (loopback only).
    #[arg(long, env = "FERRULE_NETSIM_CONTROL_LISTEN", default_value = ferrule_netsim::DEFAULT_CONTROL_LISTEN)]
    pub control_listen: SocketAddr,
    /// Do not serve the HTTP control API.
    #[arg(long)]
    pub no_control: bool,
    /// Print `name SHA256:…` for every device and exit.
    #[arg(long)]
    pub print_fingerprints: bool,
    /// A folder of device profiles overriding and extending the built-in ones.
    #[arg(long, env = "FERRULE_PROFILES_DIR")]
    pub profiles: Option<PathBuf>,
    /// A folder of templates for those profiles.
    #[arg(long, env = "FERRULE_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,
    /// Keep each device's running configuration in this folder (`<device>.xml`, owner-only)
    /// and start from it, so a restart keeps the network; without it every device starts
    /// empty.
    #[arg(long, env = "FERRULE_NETSIM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// With --state-dir: forget the kept configuration and start every device empty.
    #[arg(long, requires = "state_dir")]
    pub fresh: bool,
}

/// Runs the command.
pub fn run(args: NetsimArgs) -> anyhow::Result<()> {
    let topology = Topology::load(&args.topology)?;
    if args.print_fingerprints {
        for (name, fingerprint) in fingerprints(&topology) {
            println!("{name} {fingerprint}");
        }
        return Ok(());
    }
    crate::logging::init_tracing("info");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let options = Options {
            control_listen: (!args.no_control).then_some(args.control_listen),
            profiles_dir: args.profiles,
            templates_dir: args.templates,
            state_dir: args.state_dir,
            fresh: args.fresh,
        };
        let net = start_with(topology, options).await?;
        for device in net.devices() {
            println!(
                "{} {} {} {}",
                device.name, device.address, device.profile, device.host_key
            );
        }
        if let Some(addr) = net.control_addr() {
            println!("control API on http://{addr}");
        }
        tracing::info!(
            devices = net.devices().len(),
            "netsim running; Ctrl-C stops it"
        );
        wait_for_signal().await?;
        net.shutdown().await;
        anyhow::Ok(())
    })
}

/// Waits for Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
