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
    /// Print every Ferrule CustomResourceDefinition as a multi-document YAML stream, the
    /// content of `crds/*.yaml` (`ferrule crds | kubectl apply -f -`).
    Crds,
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
