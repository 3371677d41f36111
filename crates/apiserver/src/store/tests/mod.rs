//! Tests of the store against real SQLite files in temporary directories.

mod bench;
mod cas;
mod compaction;
mod durability;
mod labels;
mod list;
mod restart;
mod watch;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Durability, ObjectKey, Retention, Store, StoreConfig, StoreError, Watch, WatchEvent};

/// Resource keys used by the tests.
const SUBS: &str = "bss.ferrule.dev/subscriptions";
const EVENTS: &str = "/events";
const NAMESPACES: &str = "/namespaces";

/// A config with no background compaction and fast (process-crash-safe) commits.
fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir.join("store.db"));
    config.retention = Retention::forever();
    config.durability = Durability::Normal;
    config
}

async fn open(dir: &Path) -> Store {
    Store::open(config(dir)).await.unwrap()
}

fn key(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(SUBS, ns, name)
}

/// A namespaced object with labels and a spec.
fn obj(ns: &str, name: &str, labels: Value, spec: Value) -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"),
                     "generation": 1, "labels": labels},
        "spec": spec,
    })
}

fn plain(ns: &str, name: &str) -> Value {
    obj(ns, name, json!({}), json!({}))
}

/// `metadata.resourceVersion` parsed.
fn rv_of(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap()
}

/// The next item of a watch, failing the test if none arrives within ten seconds.
async fn next_event(watch: &mut Watch) -> Result<WatchEvent, StoreError> {
    tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("no watch event within 10s")
        .expect("watch ended")
}

/// Asserts that no event arrives for a short while.
async fn assert_quiet(watch: &mut Watch) {
    let got = tokio::time::timeout(Duration::from_millis(150), watch.next()).await;
    assert!(got.is_err(), "unexpected watch item: {got:?}");
}

/// `(type, name, rv)` of an event, for compact assertions.
fn summary(event: &WatchEvent) -> (&'static str, String, u64) {
    match event.object() {
        Some(o) => (event.event_type(), name_of(o).to_string(), rv_of(o)),
        None => match event {
            WatchEvent::InitialEventsEnd { resource_version } => {
                (event.event_type(), String::new(), *resource_version)
            }
            _ => unreachable!(),
        },
    }
}

/// Counts the rows of the log table through a separate connection.
async fn log_rows(path: &Path) -> i64 {
    use sqlx::{ConnectOptions, Row};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let row = sqlx::query("SELECT COUNT(*) FROM log")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.get(0)
}
