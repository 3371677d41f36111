//! The `ferrule` command line.

use clap::Parser;

/// mimalloc instead of the system allocator: the control plane allocates from many threads
/// at once (API server, controllers, SSH sessions), where glibc's allocator spends a quarter
/// of the CPU in its own locks and consolidation (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = ferrule::cli::Cli::parse();
    ferrule::cli::run(cli)
}
