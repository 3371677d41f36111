//! Acknowledged writes survive `kill -9`: a child process (this test binary, running the
//! ignored `durability_child` test) writes in a loop and prints each acknowledged version; the
//! parent kills it with SIGKILL mid-stream, reopens the file and checks every acknowledged
//! write.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::*;

const PATH_ENV: &str = "FERRULE_STORE_DURABILITY_CHILD_DB";
const MODE_ENV: &str = "FERRULE_STORE_DURABILITY_CHILD_MODE";
const CHILD_TEST: &str = "store::tests::durability::durability_child";
const WRITERS: usize = 4;

fn durability(mode: &str) -> Durability {
    if mode == "normal" {
        Durability::Normal
    } else {
        Durability::Full
    }
}

/// The writing child. Does nothing unless started by the parent test with its environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of kill_dash_nine_loses_no_acknowledged_write"]
async fn durability_child() {
    let (Ok(path), Ok(mode)) = (std::env::var(PATH_ENV), std::env::var(MODE_ENV)) else {
        return;
    };
    let mut config = StoreConfig::new(path);
    config.durability = durability(&mode);
    config.retention = Retention::forever();
    let store = Store::open(config).await.unwrap();
    let counter = key("isp-a", "counter");
    store
        .create(
            counter.clone(),
            obj("isp-a", "counter", json!({}), json!({"count": 0})),
        )
        .await
        .unwrap();
    println!("ACK count 0 1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while tokio::time::Instant::now() < deadline {
                let name = format!("w{w}-{i}");
                let written = store
                    .create(key("isp-a", &name), plain("isp-a", &name))
                    .await
                    .unwrap();
                println!("ACK create {name} {}", written.resource_version);
                if i % 3 == 0 {
                    loop {
                        let mut current = store.get(&counter).await.unwrap();
                        let count = current["spec"]["count"].as_u64().unwrap() + 1;
                        current["spec"]["count"] = json!(count);
                        match store
                            .update(counter.clone(), current.clone(), Some(rv_of(&current)))
                            .await
                        {
                            Ok(w) => {
                                println!("ACK count {count} {}", w.resource_version);
                                break;
                            }
                            Err(StoreError::Conflict { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                i += 1;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[derive(Debug, Default)]
struct Acks {
    creates: BTreeMap<String, u64>,
    max_count: u64,
    max_count_rv: u64,
    max_rv: u64,
}

impl Acks {
    fn record(&mut self, line: &str) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["ACK", "create", name, rv] => {
                let rv = rv.parse().unwrap();
                self.creates.insert(name.to_string(), rv);
                self.max_rv = self.max_rv.max(rv);
            }
            ["ACK", "count", count, rv] => {
                let (count, rv): (u64, u64) = (count.parse().unwrap(), rv.parse().unwrap());
                self.max_count = self.max_count.max(count);
                self.max_count_rv = self.max_count_rv.max(rv);
                self.max_rv = self.max_rv.max(rv);
            }
            // A line cut by the kill, or the test harness's own output.
            _ => {}
        }
    }

    fn len(&self) -> usize {
        self.creates.len()
    }
}

async fn kill_mid_stream(mode: &str, kill_after: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PATH_ENV, &path)
        .env(MODE_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acks = Acks::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while acks.len() < kill_after {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("the child acknowledged too few writes in time")
            .unwrap()
            .expect("the child exited before it was killed");
        acks.record(&line);
    }
    // SIGKILL while the writers are in full swing.
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "{status:?}");
    // Lines already in the pipe were acknowledged before the kill, too.
    while let Some(line) = lines.next_line().await.unwrap() {
        acks.record(&line);
    }

    let mut config = StoreConfig::new(&path);
    config.durability = durability(mode);
    config.retention = Retention::forever();
    let store = Store::open(config).await.unwrap();
    for (name, rv) in &acks.creates {
        let object = store
            .get(&key("isp-a", name))
            .await
            .unwrap_or_else(|e| panic!("acknowledged {name} at {rv} is lost ({mode}): {e}"));
        assert_eq!(rv_of(&object), *rv, "{name}");
    }
    let counter = store.get(&key("isp-a", "counter")).await.unwrap();
    assert!(counter["spec"]["count"].as_u64().unwrap() >= acks.max_count);
    assert!(rv_of(&counter) >= acks.max_count_rv);
    assert!(store.current_resource_version() >= acks.max_rv);
    let next = store
        .create(key("isp-a", "after"), plain("isp-a", "after"))
        .await
        .unwrap();
    assert!(
        next.resource_version > acks.max_rv,
        "versions are never reused"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_no_acknowledged_write() {
    kill_mid_stream("full", 300).await;
    kill_mid_stream("normal", 700).await;
}
