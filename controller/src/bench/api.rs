//! `ferrule bench api`: the embedded API server measured from outside, through HTTPS (real
//! TLS, bearer token) with kube-rs clients, as the controllers and kubectl use it.
//!
//! 1. creates/s: `--clients` kube clients (each its own connection pool) create `--objects`
//!    Subscriptions between them, each client one request at a time. Subscriptions are custom
//!    resources, so every create is decoded, pruned, defaulted and validated against the CRD
//!    schema, and gets managedFields;
//! 2. list latency: `--lists` lists of every object, as typed kube-rs lists (what a
//!    controller's cache pays) and as raw bodies (server and transfer only);
//! 3. create-to-watch-event latency: a watch is open while one client creates
//!    `--watch-samples` objects at `--watch-rate` per second; the latency of one object runs
//!    from just before its create request is sent until its ADDED event is read.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Request;
use clap::Args;
use ferrule_crds::Subscription;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use ferrule_apiserver::{ApiServer, ServeConfig};

use super::BenchError;
use super::stats::{Latencies, Scratch, Verdict, load_average, mib, millis, peak_rss, rate};
use ferrule_apiserver::store::Durability;

/// Namespace of the created and listed objects.
const NAMESPACE: &str = "bench";
/// Namespace of the watched objects.
const WATCH_NAMESPACE: &str = "bench-watch";

/// Options of `ferrule bench api`.
#[derive(Debug, Clone, Args)]
pub struct ApiBenchArgs {
    /// Subscriptions created, then listed.
    #[arg(long, default_value_t = 10_000)]
    pub objects: usize,
    /// Concurrent kube-rs clients creating them.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Lists of every object timed.
    #[arg(long, default_value_t = 20)]
    pub lists: usize,
    /// Objects created while a watch is open, each timed until its event.
    #[arg(long, default_value_t = 1_000)]
    pub watch_samples: usize,
    /// Creates per second during the watch measurement.
    #[arg(long, default_value_t = 200)]
    pub watch_rate: u32,
    /// Durability of the server's store (default: what `ferrule up` uses).
    #[arg(long, value_enum)]
    pub durability: Option<Durability>,
}

impl ApiBenchArgs {
    /// Tiny sizes, for a smoke test.
    pub fn tiny() -> Self {
        Self {
            objects: 40,
            clients: 4,
            lists: 3,
            watch_samples: 20,
            watch_rate: 200,
            durability: Some(Durability::Normal),
        }
    }
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct ApiBenchReport {
    /// The parameters.
    pub args: ApiBenchArgs,
    /// The store's durability.
    pub durability: String,
    /// Wall time of all creates.
    pub create_time: Duration,
    /// Latency of one create request under the concurrent load.
    pub create_latency: Latencies,
    /// Typed kube-rs list of every object.
    pub list_typed: Latencies,
    /// Raw GET of the list body.
    pub list_raw: Latencies,
    /// Size of the list body.
    pub list_bytes: usize,
    /// Items in the list.
    pub list_items: usize,
    /// Create-to-watch-event latency.
    pub watch: Latencies,
    /// Peak resident set of the process (server and clients).
    pub peak_rss: Option<u64>,
    /// 1-minute load average before and after.
    pub load: (String, String),
}

impl ApiBenchReport {
    /// Creates per second.
    pub fn creates_per_second(&self) -> f64 {
        rate(self.args.objects, self.create_time)
    }

    /// The targets for this machine (2 cores) and whether they were met.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let cps = self.creates_per_second();
        vec![
            Verdict::new(
                format!("creates/s with {} clients >= 2000", self.args.clients),
                format!("{cps:.0}"),
                cps >= 2000.0,
            ),
            Verdict::new(
                format!("list of {} objects, median <= 250 ms", self.list_items),
                format!("{} ms", millis(self.list_typed.p50)),
                self.list_typed.p50 <= Duration::from_millis(250),
            ),
            Verdict::new(
                "create-to-watch-event p99 <= 50 ms",
                format!("{} ms", millis(self.watch.p99)),
                self.watch.p99 <= Duration::from_millis(50),
            ),
        ]
    }
}

impl fmt::Display for ApiBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.args;
        writeln!(
            f,
            "API server benchmark (HTTPS, kube-rs clients, store durability {})",
            self.durability
        )?;
        writeln!(
            f,
            "  create {} Subscriptions with {} clients: {:.2} s, {:.0} creates/s; per request {}",
            a.objects,
            a.clients,
            self.create_time.as_secs_f64(),
            self.creates_per_second(),
            self.create_latency
        )?;
        writeln!(
            f,
            "  list {} objects ({}), typed kube-rs: {}",
            self.list_items,
            mib(self.list_bytes as u64),
            self.list_typed
        )?;
        writeln!(
            f,
            "  list {} objects, raw body: {}",
            self.list_items, self.list_raw
        )?;
        writeln!(
            f,
            "  create-to-watch-event at {}/s: {}",
            a.watch_rate, self.watch
        )?;
        if let Some(rss) = self.peak_rss {
            writeln!(f, "  peak RSS (server and clients): {}", mib(rss))?;
        }
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

/// A Subscription as a user would create it (the server validates it against the schema).
fn subscription(namespace: &str, name: &str, i: usize) -> Result<Subscription, BenchError> {
    serde_json::from_value(json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"bss.ferrule.dev/customer": format!("cust-{}", i % 97)},
        },
        "spec": {
            "customer": format!("cust-{}", i % 97),
            "product": "fibre-500",
            "state": "Active",
            "access": {"device": format!("olt{}", i % 200), "port": format!("ge-0/0/{}", i % 48)},
            "parameters": {"downMbps": 500, "upMbps": 100},
        },
    }))
    .map_err(|source| BenchError::Build {
        what: format!("Subscription {name}"),
        source,
    })
}

async fn create_namespace(client: &Client, name: &str) -> Result<(), BenchError> {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).map_err(|source| {
            BenchError::Build {
                what: format!("Namespace {name}"),
                source,
            }
        })?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Starts a server in a scratch directory, with Ferrule's CRDs.
pub async fn start_server(
    scratch: &Scratch,
    durability: Option<Durability>,
) -> Result<ApiServer, BenchError> {
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = ServeConfig::new(scratch.path(), listen);
    if let Some(durability) = durability {
        config.durability = durability;
    }
    config.crds = ferrule_crds::crdgen::all_crds()
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|source| BenchError::Build {
            what: "the CRDs".into(),
            source,
        })?;
    Ok(ferrule_apiserver::serve(config).await?)
}

/// Runs the benchmark against a fresh server.
pub async fn run(args: &ApiBenchArgs) -> Result<ApiBenchReport, BenchError> {
    let scratch = Scratch::new("api")?;
    let server = start_server(&scratch, args.durability).await?;
    let durability = format!("{:?}", server.store().config().durability);
    let load_before = load_average();
    let result = measure(&server, args).await;
    server.shutdown().await;
    let (create_time, create_latency, lists, watch) = result?;
    Ok(ApiBenchReport {
        args: args.clone(),
        durability,
        create_time,
        create_latency,
        list_typed: lists.typed,
        list_raw: lists.raw,
        list_bytes: lists.bytes,
        list_items: lists.items,
        watch,
        peak_rss: peak_rss(),
        load: (load_before, load_average()),
    })
}

type Measured = (Duration, Latencies, Lists, Latencies);

async fn measure(server: &ApiServer, args: &ApiBenchArgs) -> Result<Measured, BenchError> {
    let clients = args.clients.max(1);
    let mut pool = Vec::with_capacity(clients);
    for _ in 0..clients {
        pool.push(server.client().await?);
    }
    create_namespace(&pool[0], NAMESPACE).await?;
    create_namespace(&pool[0], WATCH_NAMESPACE).await?;
    let (create_time, create_latency) = create_all(&pool, args.objects).await?;
    let lists = list_all(&pool[0], args.lists.max(1)).await?;
    if lists.items != args.objects {
        return Err(BenchError::Parameters(format!(
            "the list returned {} objects, {} were created",
            lists.items, args.objects
        )));
    }
    let watch = watch_latency(&pool[0], args.watch_samples, args.watch_rate.max(1)).await?;
    Ok((create_time, create_latency, lists, watch))
}

/// Creates `objects` Subscriptions, each client one at a time; returns the wall time and the
/// latency of each request.
async fn create_all(pool: &[Client], objects: usize) -> Result<(Duration, Latencies), BenchError> {
    let n = pool.len();
    let mut batches = Vec::with_capacity(n);
    for c in 0..n {
        let batch = (c..objects)
            .step_by(n)
            .map(|i| subscription(NAMESPACE, &format!("sub-{i:06}"), i))
            .collect::<Result<Vec<_>, _>>()?;
        batches.push(batch);
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (client, batch) in pool.iter().zip(batches) {
        let api: Api<Subscription> = Api::namespaced(client.clone(), NAMESPACE);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(batch.len());
            for sub in batch {
                let sent = Instant::now();
                api.create(&PostParams::default(), &sub).await?;
                samples.push(sent.elapsed());
            }
            Ok::<_, BenchError>(samples)
        }));
    }
    let mut samples = Vec::with_capacity(objects);
    for task in tasks {
        samples.extend(task.await??);
    }
    Ok((started.elapsed(), Latencies::of(&samples)))
}

/// List figures.
#[derive(Debug, Clone, Copy)]
struct Lists {
    typed: Latencies,
    raw: Latencies,
    bytes: usize,
    items: usize,
}

async fn list_all(client: &Client, lists: usize) -> Result<Lists, BenchError> {
    let api: Api<Subscription> = Api::namespaced(client.clone(), NAMESPACE);
    let mut typed = Vec::with_capacity(lists);
    let mut items = 0;
    for _ in 0..lists {
        let started = Instant::now();
        let list = api.list(&ListParams::default()).await?;
        typed.push(started.elapsed());
        items = list.items.len();
    }
    let path = format!("/apis/bss.ferrule.dev/v1alpha1/namespaces/{NAMESPACE}/subscriptions");
    let mut raw = Vec::with_capacity(lists);
    let mut bytes = 0;
    for _ in 0..lists {
        let request = Request::get(&path)
            .body(Vec::new())
            .map_err(|e| BenchError::Parameters(e.to_string()))?;
        let started = Instant::now();
        let body = client.request_text(request).await?;
        raw.push(started.elapsed());
        bytes = body.len();
    }
    Ok(Lists {
        typed: Latencies::of(&typed),
        raw: Latencies::of(&raw),
        bytes,
        items,
    })
}

/// Creates `samples` objects at `per_second` while a watch is open; returns the latency from
/// each create request to its ADDED event.
async fn watch_latency(
    client: &Client,
    samples: usize,
    per_second: u32,
) -> Result<Latencies, BenchError> {
    let api: Api<Subscription> = Api::namespaced(client.clone(), WATCH_NAMESPACE);
    let version = api
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_else(|| "0".to_owned());
    let stream = api
        .watch(&WatchParams::default().timeout(290), &version)
        .await?;
    let reader = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut arrivals = HashMap::with_capacity(samples);
        while arrivals.len() < samples {
            match stream.next().await {
                Some(Ok(WatchEvent::Added(sub))) => {
                    arrivals.insert(sub.name_any(), Instant::now());
                }
                Some(Ok(WatchEvent::Error(status))) => {
                    return Err(BenchError::Watch(status.message));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(BenchError::Watch(e.to_string())),
                None => return Err(BenchError::Watch("the stream ended".into())),
            }
        }
        Ok(arrivals)
    });

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(per_second)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut creates = Vec::with_capacity(samples);
    for i in 0..samples {
        ticker.tick().await;
        let name = format!("probe-{i:06}");
        let sub = subscription(WATCH_NAMESPACE, &name, i)?;
        let (api, sent) = (api.clone(), sent.clone());
        creates.push(tokio::spawn(async move {
            if let Ok(mut sent) = sent.lock() {
                sent.insert(name, Instant::now());
            }
            api.create(&PostParams::default(), &sub).await
        }));
    }
    for create in creates {
        create.await??;
    }
    let waited = Duration::from_secs(30);
    let arrivals = match tokio::time::timeout(waited, reader).await {
        Ok(joined) => joined??,
        Err(_) => {
            return Err(BenchError::Timeout {
                waited,
                message: "not every watch event arrived".into(),
            });
        }
    };
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let latencies: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(name, at)| sent.get(name).map(|s| at.saturating_duration_since(*s)))
        .collect();
    Ok(Latencies::of(&latencies))
}
