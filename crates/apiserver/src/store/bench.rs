//! A micro-benchmark of the store, for `ferrule bench`: create throughput with concurrent
//! writers, the latency of listing every object, and create-to-watch-event latency.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    Durability, ListOptions, ObjectKey, Retention, Store, StoreConfig, StoreError, WatchEvent,
    WatchOptions, WatchStart,
};

/// Parameters of a benchmark run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// An existing directory; the run creates its database there and removes it afterwards.
    pub dir: PathBuf,
    /// Objects created (and then listed).
    pub objects: usize,
    /// Concurrent writer tasks.
    pub writers: usize,
    /// Creates timed one at a time, each until its watch event arrives.
    pub watch_samples: usize,
    /// Durability of the store under test.
    pub durability: Durability,
}

impl BenchConfig {
    /// 10 000 objects, 16 writers, 1 000 latency samples, default durability.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            objects: 10_000,
            writers: 16,
            watch_samples: 1_000,
            durability: Durability::default(),
        }
    }
}

/// Results of a benchmark run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The parameters.
    pub config: BenchConfig,
    /// Wall time to create every object.
    pub create_time: Duration,
    /// Objects created per second.
    pub creates_per_second: f64,
    /// Median time to list every object (of five lists).
    pub list_median: Duration,
    /// Objects the list returned.
    pub list_items: usize,
    /// Median time from calling `create` to receiving its watch event.
    pub watch_p50: Duration,
    /// 99th percentile of the same.
    pub watch_p99: Duration,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "store benchmark ({:?} durability, {} writers)",
            self.config.durability, self.config.writers
        )?;
        writeln!(
            f,
            "  create {} objects: {:.2?} ({:.0} creates/s)",
            self.config.objects, self.create_time, self.creates_per_second
        )?;
        writeln!(
            f,
            "  list {} objects: {:.2?} (median of 5)",
            self.list_items, self.list_median
        )?;
        write!(
            f,
            "  create-to-watch-event latency over {} creates: p50 {:.2?}, p99 {:.2?}",
            self.config.watch_samples, self.watch_p50, self.watch_p99
        )
    }
}

const RESOURCE: &str = "bench.ferrule.dev/subscriptions";
const LATENCY_RESOURCE: &str = "bench.ferrule.dev/latency";

/// A Subscription-sized object (about 700 bytes of JSON).
fn sample_object(namespace: &str, name: &str, i: usize) -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": format!("00000000-0000-4000-8000-{i:012}"),
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"bss.ferrule.dev/customer": format!("cust-{}", i % 97), "tier": "residential"},
        },
        "spec": {
            "customer": format!("cust-{}", i % 97),
            "product": "fiber-500",
            "state": "Active",
            "access": {"device": format!("olt{}", i % 8), "port": format!("gpon0/{}", i % 64)},
            "parameters": {"downMbps": 500, "upMbps": 100},
        },
        "status": {
            "phase": "Active",
            "allocations": {"vlan": 1000 + i % 3000, "ipv4": format!("100.64.{}.{}/32", (i / 250) % 256, i % 250)},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned",
                            "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": 1}],
        },
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let last = sorted.len() - 1;
    // Nearest-rank percentile on a sorted sample; the float only picks an index.
    let rank = ((p / 100.0) * last as f64).round() as usize;
    sorted[rank.min(last)]
}

/// Runs the benchmark in a fresh database under `config.dir`.
pub async fn run_benchmark(config: &BenchConfig) -> Result<BenchReport, StoreError> {
    let path = config.dir.join(format!(
        "ferrule-store-bench-{}-{}.db",
        std::process::id(),
        super::writer::now_millis()
    ));
    let mut store_config = StoreConfig::new(&path);
    store_config.durability = config.durability;
    store_config.retention = Retention::forever();
    let store = Store::open(store_config).await?;
    let result = measure(&store, config).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    result
}

async fn measure(store: &Store, config: &BenchConfig) -> Result<BenchReport, StoreError> {
    let writers = config.writers.max(1);
    let objects = config.objects;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..objects).step_by(writers) {
                let namespace = format!("isp-{}", i % 10);
                let name = format!("sub-{i:06}");
                let object = sample_object(&namespace, &name, i);
                store
                    .create(ObjectKey::new(RESOURCE, namespace, name), object)
                    .await?;
            }
            Ok::<(), StoreError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|_| StoreError::Closed)??;
    }
    let create_time = started.elapsed();
    let creates_per_second = objects as f64 / create_time.as_secs_f64().max(1e-9);

    let mut list_times = Vec::with_capacity(5);
    let mut list_items = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let list = store.list(&ListOptions::new(RESOURCE)).await?;
        list_times.push(started.elapsed());
        list_items = list.items.len();
    }
    list_times.sort();

    let mut watch = store.watch(WatchOptions::new(LATENCY_RESOURCE, WatchStart::Now))?;
    let mut samples = Vec::with_capacity(config.watch_samples);
    for i in 0..config.watch_samples {
        let name = format!("probe-{i:06}");
        let object = sample_object("bench", &name, i);
        let started = Instant::now();
        let written = store
            .create(ObjectKey::new(LATENCY_RESOURCE, "bench", name), object)
            .await?;
        loop {
            match watch.next().await {
                Some(Ok(WatchEvent::Added(o)))
                    if Arc::ptr_eq(&o, &written.object) || o == written.object =>
                {
                    break;
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Err(StoreError::Closed),
            }
        }
        samples.push(started.elapsed());
    }
    samples.sort();

    Ok(BenchReport {
        config: config.clone(),
        create_time,
        creates_per_second,
        list_median: list_times[list_times.len() / 2],
        list_items,
        watch_p50: percentile(&samples, 50.0),
        watch_p99: percentile(&samples, 99.0),
    })
}
