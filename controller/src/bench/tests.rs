//! Each benchmark runs end to end with tiny sizes. No figure is asserted (timings depend on
//! the machine); only that everything that was measured happened.

use super::api::{self, ApiBenchArgs};
use super::provision::{self, ProvisionBenchArgs};
use super::store::{self, StoreBenchArgs};
use ferrule_apiserver::store::Durability;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bench_runs() {
    let args = ApiBenchArgs::tiny();
    let report = api::run(&args).await.unwrap();
    assert_eq!(report.list_items, args.objects);
    assert_eq!(report.create_latency.count, args.objects);
    assert_eq!(report.list_typed.count, args.lists);
    assert_eq!(report.watch.count, args.watch_samples);
    assert_eq!(report.durability, "Normal");
    assert!(report.list_bytes > 0);
    assert_eq!(report.verdicts().len(), 3);
    assert!(report.to_string().contains("creates/s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_bench_runs() {
    let args = ProvisionBenchArgs::tiny();
    let report = provision::run(&args).await.unwrap();
    assert_eq!(report.ready.count, args.subscriptions);
    // Every access device carries two subscriptions, each committed there.
    assert_eq!(report.access_commits.devices, 3);
    assert!(report.access_commits.min >= 2, "{report}");
    assert_eq!(report.bng_commits.devices, 2);
    assert!(report.transactions >= args.subscriptions as u64, "{report}");
    assert!(report.writes > 0);
}

#[tokio::test]
async fn store_bench_runs() {
    let args = StoreBenchArgs {
        objects: 30,
        writers: 3,
        watch_samples: 5,
        durability: Durability::Normal,
    };
    let report = store::run(&args).await.unwrap();
    assert_eq!(report.report.list_items, 30);
}

/// A benchmark's scratch directory holds a database, keys and a token: it is its owner's
/// only, so the data-directory check at start has nothing to tighten.
#[test]
fn scratch_directories_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = super::stats::Scratch::new("mode-check").unwrap();
    let mode = std::fs::metadata(scratch.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "scratch directory mode {mode:o}");
}
