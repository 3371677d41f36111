//! `ferrule bench provision`: the whole control plane as `ferrule up --netsim` runs it (the
//! embedded API server, the Subscription, ServiceOrder, Device and ResourcePool controllers
//! with the real NETCONF edge) and simulated devices, all in this process.
//!
//! The generated ISP (see `seed.rs`) is created first and the run waits until every Device
//! is Connected. Then `--clients` kube clients create `--subscriptions` Subscriptions as fast
//! as they can, while a watch records when each one first shows `Ready=True`. Reported: the
//! time from the first create to the last Ready, create-to-Ready latency, the peak resident
//! set of the process, `<commit>`s per device (counted by the simulator: a transaction's
//! confirmed commit and its confirming commit are two), API writes, reconciles and network
//! transactions per subscription.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use ferrule_crds::condition::{find_condition, types};
use ferrule_crds::oss::device::DevicePhase;
use ferrule_crds::{Device, Subscription};
use futures::StreamExt;
use kube::api::{DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::Value;

use ferrule_netconf::client::ManagerPolicy;
use ferrule_netsim::Netsim;
use ferrule_operator::cache::Scope;
use ferrule_operator::metrics::{Metrics, ReconcileLabels, TransactionLabels};
use ferrule_provisioning::start;
use ferrule_render::Renderer;

use super::BenchError;
use super::api::start_server;
use super::seed::{self, NAMESPACE, Reachable, Shape};
use super::stats::{Latencies, Scratch, Verdict, load_average, mib, peak_rss, rate};
use ferrule_apiserver::store::Durability;

/// Options of `ferrule bench provision`.
#[derive(Debug, Clone, Args)]
pub struct ProvisionBenchArgs {
    /// Subscriptions created.
    #[arg(long, default_value_t = 10_000)]
    pub subscriptions: usize,
    /// Simulated access devices.
    #[arg(long, default_value_t = 200)]
    pub devices: usize,
    /// Access devices per simulated BNG; 0 for none (services on the access devices alone).
    #[arg(long, default_value_t = 20)]
    pub access_per_bng: usize,
    /// Concurrent kube clients creating the subscriptions.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Give up when not every subscription is Ready after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Most NETCONF sessions open at once (default: what `ferrule up` uses).
    #[arg(long)]
    pub max_sessions: Option<usize>,
    /// Durability of the server's store (default: what `ferrule up` uses).
    #[arg(long, value_enum)]
    pub durability: Option<Durability>,
    /// Print progress to stderr every this many seconds (0: never).
    #[arg(long, default_value_t = 5)]
    pub progress: u64,
}

impl ProvisionBenchArgs {
    /// Tiny sizes, for a smoke test.
    pub fn tiny() -> Self {
        Self {
            subscriptions: 6,
            devices: 3,
            access_per_bng: 2,
            clients: 2,
            timeout: 120,
            max_sessions: None,
            durability: Some(Durability::Normal),
            progress: 0,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            subscriptions: self.subscriptions,
            devices: self.devices,
            per_bng: self.access_per_bng,
        }
    }
}

/// `<commit>`s counted by the simulator on some devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commits {
    /// Devices.
    pub devices: usize,
    /// Sum.
    pub total: u64,
    /// Fewest on one device.
    pub min: u64,
    /// Median.
    pub median: u64,
    /// Most on one device.
    pub max: u64,
}

impl Commits {
    /// The spread of `counts`.
    pub fn of(counts: &[u64]) -> Self {
        let mut sorted = counts.to_vec();
        sorted.sort_unstable();
        Self {
            devices: sorted.len(),
            total: sorted.iter().sum(),
            min: sorted.first().copied().unwrap_or_default(),
            median: sorted.get(sorted.len() / 2).copied().unwrap_or_default(),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Commits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} devices (per device min {}, median {}, max {})",
            self.total, self.devices, self.min, self.median, self.max
        )
    }
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct ProvisionBenchReport {
    /// The parameters.
    pub args: ProvisionBenchArgs,
    /// Store durability and session limit actually used.
    pub settings: String,
    /// From start of seeding until every Device was Connected.
    pub setup: Duration,
    /// Wall time of the creates.
    pub create_time: Duration,
    /// From the first create to the last subscription Ready.
    pub all_ready: Duration,
    /// Create-to-Ready latency of each subscription.
    pub ready: Latencies,
    /// Peak resident set of the process (API server, controllers, simulator, clients).
    pub peak_rss: Option<u64>,
    /// Commits on access devices.
    pub access_commits: Commits,
    /// Commits on BNGs.
    pub bng_commits: Commits,
    /// Store writes (resource versions) during the measured phase.
    pub writes: u64,
    /// Subscription reconciles by outcome.
    pub reconciles: Vec<(String, u64)>,
    /// Network transactions committed.
    pub transactions: u64,
    /// 1-minute load average before and after.
    pub load: (String, String),
}

impl ProvisionBenchReport {
    /// The targets for this machine (2 cores; 10 000 subscriptions on 200 devices) and whether
    /// they were met.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let n = self.args.subscriptions;
        let mut out = vec![
            Verdict::new(
                format!("{n} subscriptions all Ready <= 60 s"),
                format!("{:.1} s", self.all_ready.as_secs_f64()),
                self.all_ready <= Duration::from_secs(60),
            ),
            Verdict::new(
                "create-to-Ready p99 <= 5 s",
                format!("{:.2} s", self.ready.p99.as_secs_f64()),
                self.ready.p99 <= Duration::from_secs(5),
            ),
        ];
        if let Some(rss) = self.peak_rss {
            out.push(Verdict::new(
                "peak RSS <= 500 MB",
                mib(rss),
                rss <= 500 * 1000 * 1000,
            ));
        }
        out
    }
}

impl fmt::Display for ProvisionBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.args;
        let n = a.subscriptions.max(1) as f64;
        writeln!(
            f,
            "provisioning benchmark: {} subscriptions, {} access devices, {} BNGs ({})",
            a.subscriptions,
            a.devices,
            a.shape().bngs(),
            self.settings
        )?;
        writeln!(
            f,
            "  setup (seed, every Device Connected): {:.2} s",
            self.setup.as_secs_f64()
        )?;
        writeln!(
            f,
            "  created through the API (POST over HTTPS) by {} kube clients in {:.2} s ({:.0}/s)",
            a.clients,
            self.create_time.as_secs_f64(),
            rate(a.subscriptions, self.create_time)
        )?;
        writeln!(
            f,
            "  all Ready after {:.2} s ({:.0} subscriptions/s)",
            self.all_ready.as_secs_f64(),
            rate(a.subscriptions, self.all_ready)
        )?;
        writeln!(f, "  create-to-Ready: {}", self.ready)?;
        if let Some(rss) = self.peak_rss {
            writeln!(f, "  peak RSS (whole process): {}", mib(rss))?;
        }
        writeln!(f, "  commits on access devices: {}", self.access_commits)?;
        if self.bng_commits.devices > 0 {
            writeln!(f, "  commits on BNGs: {}", self.bng_commits)?;
        }
        writeln!(
            f,
            "  network transactions committed: {} ({:.2} per subscription)",
            self.transactions,
            self.transactions as f64 / n
        )?;
        let reconciles: u64 = self.reconciles.iter().map(|(_, c)| c).sum();
        let outcomes: Vec<String> = self
            .reconciles
            .iter()
            .map(|(o, c)| format!("{o} {c}"))
            .collect();
        writeln!(
            f,
            "  subscription reconciles: {reconciles} ({:.2} per subscription: {})",
            reconciles as f64 / n,
            outcomes.join(", ")
        )?;
        writeln!(
            f,
            "  API writes: {} ({:.1} per subscription)",
            self.writes,
            self.writes as f64 / n
        )?;
        writeln!(
            f,
            "  load average {} before, {} after",
            self.load.0, self.load.1
        )?;
        for verdict in self.verdicts() {
            writeln!(f, "{verdict}")?;
        }
        Ok(())
    }
}

/// Runs the benchmark on a fresh control plane and simulated network.
pub async fn run(args: &ProvisionBenchArgs) -> Result<ProvisionBenchReport, BenchError> {
    let shape = args.shape();
    shape.check().map_err(BenchError::Parameters)?;
    let scratch = Scratch::new("provision")?;
    let load_before = load_average();
    let started = Instant::now();
    let netsim = ferrule_netsim::start(seed::netsim_topology(&shape)?).await?;
    let server = start_server(&scratch, args.durability).await?;
    let policy = match args.max_sessions {
        Some(max) => ManagerPolicy {
            max_connections: max.max(1),
            ..Default::default()
        },
        None => ManagerPolicy::default(),
    };
    let settings = format!(
        "store durability {:?}, at most {} NETCONF sessions",
        server.store().config().durability,
        policy.max_connections
    );
    let client = server.client().await?;
    let metrics = Arc::new(Metrics::new());
    let result = async {
        seed_inventory(&client, &shape, &netsim).await?;
        let renderer = Arc::new(Renderer::builtin()?);
        let edge = start::netconf_edge(client.clone(), renderer.clone(), policy);
        let options = start::Options {
            scope: Scope::Namespace(NAMESPACE.into()),
            ..Default::default()
        };
        let controllers =
            start::start(client.clone(), renderer, edge, metrics.clone(), options).await?;
        let measured = async {
            wait_connected(&client, shape.devices + shape.bngs(), args.timeout).await?;
            let setup = started.elapsed();
            let writes_before = server.store().current_resource_version();
            let (create_time, all_ready, ready) = provision_all(&server, args, &shape).await?;
            let writes = server.store().current_resource_version() - writes_before;
            Ok::<_, BenchError>((setup, create_time, all_ready, ready, writes))
        }
        .await;
        controllers.shutdown().await;
        measured
    }
    .await;
    let commits = commit_counts(&netsim, &shape);
    server.shutdown().await;
    netsim.shutdown().await;
    let (setup, create_time, all_ready, ready, writes) = result?;
    let (access_commits, bng_commits) = commits;
    Ok(ProvisionBenchReport {
        args: args.clone(),
        settings,
        setup,
        create_time,
        all_ready,
        ready,
        peak_rss: peak_rss(),
        access_commits,
        bng_commits,
        writes,
        reconciles: reconcile_counts(&metrics),
        transactions: metrics
            .transactions
            .get_or_create(&TransactionLabels {
                outcome: "committed".into(),
            })
            .get(),
        load: (load_before, load_average()),
    })
}

fn commit_counts(netsim: &Netsim, shape: &Shape) -> (Commits, Commits) {
    let count = |name: String| {
        netsim
            .control()
            .device(&name)
            .map(|d| d.commit_count())
            .unwrap_or_default()
    };
    let access: Vec<u64> = (0..shape.devices)
        .map(Shape::access_name)
        .map(count)
        .collect();
    let bngs: Vec<u64> = (0..shape.bngs()).map(Shape::bng_name).map(count).collect();
    (Commits::of(&access), Commits::of(&bngs))
}

fn reconcile_counts(metrics: &Metrics) -> Vec<(String, u64)> {
    ["success", "waiting", "invalid", "error"]
        .into_iter()
        .map(|outcome| {
            let labels = ReconcileLabels {
                controller: ferrule_provisioning::subscription::controller::CONTROLLER.into(),
                outcome: outcome.into(),
            };
            (
                outcome.to_owned(),
                metrics.reconciles.get_or_create(&labels).get(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Creates the inventory with plain creates, in order.
async fn seed_inventory(client: &Client, shape: &Shape, netsim: &Netsim) -> Result<(), BenchError> {
    let reach = |name: &str| {
        Some(Reachable {
            address: netsim.addr(name)?.to_string(),
            host_key: netsim.fingerprint(name)?.to_owned(),
        })
    };
    let objects = seed::inventory(shape, reach).map_err(BenchError::Parameters)?;
    for object in &objects {
        create_value(client, object).await?;
    }
    Ok(())
}

/// Creates one object given as JSON, of any kind the server serves.
async fn create_value(client: &Client, object: &Value) -> Result<(), BenchError> {
    let build = |source| BenchError::Build {
        what: object["metadata"]["name"].to_string(),
        source,
    };
    let dynamic: DynamicObject = serde_json::from_value(object.clone()).map_err(build)?;
    let types = dynamic.types.clone().unwrap_or_default();
    let (group, version) = match types.api_version.split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (String::new(), types.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
    let resource = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> = match dynamic.namespace() {
        Some(ns) => Api::namespaced_with(client.clone(), &ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.create(&PostParams::default(), &dynamic).await?;
    Ok(())
}

/// Waits until `expected` Devices report phase Connected.
async fn wait_connected(client: &Client, expected: usize, timeout: u64) -> Result<(), BenchError> {
    let api: Api<Device> = Api::namespaced(client.clone(), NAMESPACE);
    let waited = Duration::from_secs(timeout);
    let deadline = Instant::now() + waited;
    loop {
        let devices = api.list(&ListParams::default()).await?;
        let connected = devices
            .items
            .iter()
            .filter(|d| {
                d.status
                    .as_ref()
                    .is_some_and(|s| s.phase == Some(DevicePhase::Connected))
            })
            .count();
        if connected >= expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Timeout {
                waited,
                message: format!("{connected} of {expected} Devices Connected"),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

type Sent = Arc<Mutex<HashMap<String, Instant>>>;

/// Creates every subscription and waits until each is Ready; returns the create time, the
/// time to the last Ready and the create-to-Ready latencies.
async fn provision_all(
    server: &ferrule_apiserver::ApiServer,
    args: &ProvisionBenchArgs,
    shape: &Shape,
) -> Result<(Duration, Duration, Latencies), BenchError> {
    let n = args.subscriptions;
    let watch_client = server.client().await?;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let api: Api<Subscription> = Api::namespaced(watch_client, NAMESPACE);
    let watch = tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()));
        while let Some(event) = stream.next().await {
            let sub = match event {
                Ok(watcher::Event::Apply(sub) | watcher::Event::InitApply(sub)) => sub,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "benchmark watch");
                    continue;
                }
            };
            let ready = sub.status.as_ref().is_some_and(|s| {
                find_condition(&s.conditions, types::READY).is_some_and(|c| c.is_true())
            });
            if ready && ready_tx.send((sub.name_any(), Instant::now())).is_err() {
                return;
            }
        }
    });

    let clients = args.clients.max(1);
    let mut pool = Vec::with_capacity(clients);
    for _ in 0..clients {
        pool.push(server.client().await?);
    }
    let mut batches = Vec::with_capacity(clients);
    for c in 0..clients {
        let batch = (c..n)
            .step_by(clients)
            .map(|i| {
                let value = seed::subscription(shape, i);
                serde_json::from_value::<Subscription>(value).map_err(|source| BenchError::Build {
                    what: seed::subscription_name(i),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        batches.push(batch);
    }
    let sent: Sent = Arc::default();
    let first = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for (client, batch) in pool.into_iter().zip(batches) {
        let api: Api<Subscription> = Api::namespaced(client, NAMESPACE);
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            for sub in batch {
                if let Ok(mut sent) = sent.lock() {
                    sent.insert(sub.name_any(), Instant::now());
                }
                api.create(&PostParams::default(), &sub).await?;
            }
            Ok::<_, BenchError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let create_time = first.elapsed();

    let waited = Duration::from_secs(args.timeout);
    let deadline = tokio::time::Instant::now() + waited;
    let mut ready: HashMap<String, Instant> = HashMap::with_capacity(n);
    let mut last_report = Instant::now();
    let progress = Duration::from_secs(args.progress);
    while ready.len() < n {
        let next = tokio::time::timeout_at(deadline, ready_rx.recv()).await;
        match next {
            Ok(Some((name, at))) => {
                ready.entry(name).or_insert(at);
            }
            Ok(None) => {
                return Err(BenchError::Watch("the watch ended".into()));
            }
            Err(_) => {
                watch.abort();
                return Err(BenchError::Timeout {
                    waited,
                    message: format!(
                        "{} of {n} subscriptions Ready; {}",
                        ready.len(),
                        not_ready_summary(server).await
                    ),
                });
            }
        }
        if !progress.is_zero() && last_report.elapsed() >= progress {
            last_report = Instant::now();
            eprintln!(
                "  {:>6.1} s: {} of {n} Ready",
                first.elapsed().as_secs_f64(),
                ready.len()
            );
        }
    }
    watch.abort();
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let last = ready.values().max().copied().unwrap_or(first);
    let latencies: Vec<Duration> = ready
        .iter()
        .filter_map(|(name, at)| sent.get(name).map(|s| at.saturating_duration_since(*s)))
        .collect();
    Ok((
        create_time,
        last.saturating_duration_since(first),
        Latencies::of(&latencies),
    ))
}

/// Why subscriptions are not Ready, counted by the reason of their Ready condition.
async fn not_ready_summary(server: &ferrule_apiserver::ApiServer) -> String {
    let Ok(client) = server.client().await else {
        return String::new();
    };
    let api: Api<Subscription> = Api::namespaced(client, NAMESPACE);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return String::new();
    };
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for sub in &list.items {
        let condition = sub
            .status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, types::READY));
        if condition.is_some_and(|c| c.is_true()) {
            continue;
        }
        let reason = condition.map_or("no Ready condition".to_owned(), |c| c.reason.clone());
        *reasons.entry(reason).or_default() += 1;
    }
    let mut reasons: Vec<String> = reasons
        .into_iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect();
    reasons.sort();
    format!("not Ready by reason: {}", reasons.join(", "))
}
