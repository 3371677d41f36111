//! `ferrule bench store`: the raw SQLite object store without HTTP, JSON decoding or
//! validation, as the floor under `ferrule bench api`.

use std::fmt;

use clap::Args;

use ferrule_apiserver::store::{BenchConfig, BenchReport, Durability, run_benchmark};

use super::BenchError;
use super::stats::{Scratch, load_average};

/// Options of `ferrule bench store`.
#[derive(Debug, Clone, Args)]
pub struct StoreBenchArgs {
    /// Objects created, then listed.
    #[arg(long, default_value_t = 10_000)]
    pub objects: usize,
    /// Concurrent writer tasks.
    #[arg(long, default_value_t = 16)]
    pub writers: usize,
    /// Creates timed one at a time until their watch event arrives.
    #[arg(long, default_value_t = 1_000)]
    pub watch_samples: usize,
    /// Durability of the store under test.
    #[arg(long, value_enum, default_value_t = Durability::default())]
    pub durability: Durability,
}

/// The store's report and the machine's load during the run.
#[derive(Debug, Clone)]
pub struct StoreBenchReport {
    /// The figures.
    pub report: BenchReport,
    /// 1-minute load average before and after.
    pub load: (String, String),
}

impl fmt::Display for StoreBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.report)?;
        write!(
            f,
            "  load average {} before, {} after",
            self.load.0, self.load.1
        )
    }
}

/// Runs the store benchmark in a scratch directory.
pub async fn run(args: &StoreBenchArgs) -> Result<StoreBenchReport, BenchError> {
    let scratch = Scratch::new("store")?;
    let mut config = BenchConfig::new(scratch.path());
    config.objects = args.objects;
    config.writers = args.writers.max(1);
    config.watch_samples = args.watch_samples;
    config.durability = args.durability;
    let before = load_average();
    let report = run_benchmark(&config).await?;
    Ok(StoreBenchReport {
        report,
        load: (before, load_average()),
    })
}
