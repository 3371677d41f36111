//! The benchmark entry point: a small run checks it works; the full run is ignored and meant
//! for `cargo test --release -- --ignored --nocapture store_benchmark`.

use crate::store::{BenchConfig, Durability, run_benchmark};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_benchmark_runs_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BenchConfig::new(dir.path());
    config.objects = 60;
    config.writers = 4;
    config.watch_samples = 10;
    config.durability = Durability::Normal;
    let report = run_benchmark(&config).await.unwrap();
    assert_eq!(report.list_items, 60);
    assert!(report.watch_p50 <= report.watch_p99);
    assert!(report.to_string().contains("create 60 objects"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "database removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release mode with --ignored --nocapture"]
async fn store_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    for durability in [Durability::Full, Durability::Normal] {
        for writers in [1, 16] {
            let mut config = BenchConfig::new(dir.path());
            config.durability = durability;
            config.writers = writers;
            println!("{}", run_benchmark(&config).await.unwrap());
        }
    }
}
