//! The `ferrule` command line.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = ferrule::cli::Cli::parse();
    ferrule::cli::run(cli)
}
