//! Command-line interface: one clap struct per command, with environment fallbacks.

use clap::{Parser, Subcommand};

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
    /// Run simulated NETCONF devices from a topology file.
    Netsim(crate::netsim::command::NetsimArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            println!("ferrule {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Netsim(args) => crate::netsim::command::run(args),
    }
}
