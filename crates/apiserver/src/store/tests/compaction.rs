//! Compaction: bounded log, preserved snapshots, horizon and 410s.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::store::{ListOptions, ListVersion, WatchOptions, WatchStart};

/// One object updated many times, some created and deleted: the log keeps the live objects
/// plus the retained window.
#[tokio::test]
async fn version_retention_bounds_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.retention = Retention {
        versions: Some(10),
        duration: None,
    };
    config.compaction_interval = Duration::from_secs(3600);
    let path = config.path.clone();
    let store = Store::open(config).await.unwrap();
    store
        .create(key("isp-a", "cold"), plain("isp-a", "cold"))
        .await
        .unwrap();
    let k = key("isp-a", "hot");
    store
        .create(k.clone(), plain("isp-a", "hot"))
        .await
        .unwrap();
    for i in 0..200 {
        store
            .update(
                k.clone(),
                obj("isp-a", "hot", json!({}), json!({"i": i})),
                None,
            )
            .await
            .unwrap();
    }
    for i in 0..50 {
        let name = format!("tmp{i}");
        store
            .create(key("isp-a", &name), plain("isp-a", &name))
            .await
            .unwrap();
        store.delete(key("isp-a", &name), None).await.unwrap();
    }
    let last = store.current_resource_version();
    assert_eq!(last, 302);
    assert_eq!(log_rows(&path).await, 302);

    let report = store.compact().await.unwrap();
    assert_eq!(report.horizon, last - 10);
    assert_eq!(store.oldest_resource_version(), last - 10);
    let rows = log_rows(&path).await;
    // The ten newest versions plus the live objects' current versions, at most.
    assert!(rows <= 12, "{rows} rows left");
    assert_eq!(report.removed as i64, 302 - rows);

    let hot = store.get(&k).await.unwrap();
    assert_eq!(hot["spec"]["i"], json!(199));
    let cold = store.get(&key("isp-a", "cold")).await.unwrap();
    assert_eq!(
        rv_of(&cold),
        1,
        "old current versions are kept whatever their age"
    );
    let names: Vec<String> = store
        .list(&ListOptions::new(SUBS))
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| name_of(o).to_string())
        .collect();
    assert_eq!(names, ["cold", "hot"]);

    // Watching from the horizon replays the ten kept events; before it is a 410.
    let mut watch = store
        .watch(WatchOptions::new(SUBS, WatchStart::After(last - 10)))
        .unwrap();
    for expected in last - 9..=last {
        assert_eq!(summary(&next_event(&mut watch).await.unwrap()).2, expected);
    }
    let mut old = store
        .watch(WatchOptions::new(SUBS, WatchStart::After(last - 11)))
        .unwrap();
    assert!(matches!(
        next_event(&mut old).await,
        Err(StoreError::Expired { .. })
    ));
}

/// Lists at any version at or after the horizon still show exactly that version's state.
#[tokio::test]
async fn snapshots_at_or_after_the_horizon_survive() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..20 {
        let name = format!("s{}", i % 5);
        let k = key("isp-a", &name);
        match i % 4 {
            0 | 1 => {
                let _ = store.delete(k.clone(), None).await;
                store
                    .create(k, obj("isp-a", &name, json!({}), json!({"i": i})))
                    .await
                    .unwrap();
            }
            2 => {
                let _ = store
                    .update(k, obj("isp-a", &name, json!({}), json!({"i": i})), None)
                    .await;
            }
            _ => {
                let _ = store.delete(k, None).await;
            }
        }
    }
    let last = store.current_resource_version();
    let mut snapshots = Vec::new();
    for rv in 0..=last {
        let mut options = ListOptions::new(SUBS);
        options.version = ListVersion::Exact(rv);
        snapshots.push(store.list(&options).await.unwrap().items);
    }
    for horizon in [3, 9, last - 2, last] {
        store.compact_to(horizon).await.unwrap();
        for rv in horizon..=last {
            let mut options = ListOptions::new(SUBS);
            options.version = ListVersion::Exact(rv);
            let items = store.list(&options).await.unwrap().items;
            assert_eq!(
                items, snapshots[rv as usize],
                "state at {rv} after compacting to {horizon}"
            );
        }
    }
    assert_eq!(
        store.list(&ListOptions::new(SUBS)).await.unwrap().items,
        snapshots[last as usize]
    );
}

#[tokio::test]
async fn time_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.retention = Retention {
        versions: None,
        duration: Some(Duration::from_secs(3600)),
    };
    config.compaction_interval = Duration::from_secs(3600);
    let store = Store::open(config.clone()).await.unwrap();
    for i in 0..5 {
        store
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store.compact().await.unwrap().horizon,
        0,
        "nothing is an hour old"
    );
    store.close().await;

    config.retention.duration = Some(Duration::ZERO);
    let store = Store::open(config.clone()).await.unwrap();
    assert_eq!(
        store.compact().await.unwrap().horizon,
        5,
        "everything is old enough"
    );

    // Combined with a version count, the more generous limit wins.
    config.retention.versions = Some(3);
    let store2 = {
        store.close().await;
        Store::open(config).await.unwrap()
    };
    for i in 5..10 {
        store2
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(store2.compact().await.unwrap().horizon, 7);
}

#[tokio::test]
async fn background_compactor_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.retention = Retention {
        versions: Some(5),
        duration: None,
    };
    config.compaction_interval = Duration::from_millis(100);
    let store = Store::open(config).await.unwrap();
    for i in 0..30 {
        store
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.oldest_resource_version() != 25 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "compactor did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn horizon_never_moves_back_or_past_the_newest_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..4 {
        store
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.compact_to(100).await.unwrap().horizon, 4);
    assert_eq!(store.compact_to(2).await.unwrap().horizon, 4);
    // Large jumps are done in several steps.
    let ops = (0..12_000)
        .map(|i| crate::store::WriteOp::Create {
            key: key("isp-b", &format!("t{i}")),
            object: plain("isp-b", &format!("t{i}")),
        })
        .collect();
    store.transaction(ops).await.unwrap();
    let ops = (0..12_000)
        .map(|i| crate::store::WriteOp::Delete {
            key: key("isp-b", &format!("t{i}")),
            expected_rv: None,
        })
        .collect();
    store.transaction(ops).await.unwrap();
    let report = store
        .compact_to(store.current_resource_version())
        .await
        .unwrap();
    assert_eq!(report.horizon, 24_004);
    assert_eq!(report.removed, 24_000);
}
