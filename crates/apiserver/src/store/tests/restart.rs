//! Reopening a store file: counters, horizon and resumable watches persist.

use serde_json::json;

use super::*;
use crate::store::{WatchOptions, WatchStart};

#[tokio::test]
async fn reopen_continues_the_counter_and_keeps_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..5 {
        store
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    store.delete(key("isp-a", "s4"), None).await.unwrap();
    // Compacting away the newest row (a tombstone) must not let its version be reused.
    assert_eq!(store.compact_to(6).await.unwrap().horizon, 6);
    store.close().await;

    let store = open(dir.path()).await;
    assert_eq!(store.current_resource_version(), 6);
    assert_eq!(store.oldest_resource_version(), 6);
    assert_eq!(rv_of(&store.get(&key("isp-a", "s2")).await.unwrap()), 3);
    let written = store
        .create(key("isp-a", "s4"), plain("isp-a", "s4"))
        .await
        .unwrap();
    assert_eq!(written.resource_version, 7);
}

#[tokio::test]
async fn watches_resume_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let k = key("isp-a", "s");
    store.create(k.clone(), plain("isp-a", "s")).await.unwrap();
    let mut watch = store
        .watch(WatchOptions::new(SUBS, WatchStart::After(1)))
        .unwrap();
    store
        .update(
            k.clone(),
            obj("isp-a", "s", json!({}), json!({"v": 2})),
            None,
        )
        .await
        .unwrap();
    let seen = next_event(&mut watch).await.unwrap();
    let resume_from = summary(&seen).2;
    assert_eq!(resume_from, 2);
    // Two more changes happen; the process stops before the watcher reads them.
    store
        .update(
            k.clone(),
            obj("isp-a", "s", json!({}), json!({"v": 3})),
            None,
        )
        .await
        .unwrap();
    store.delete(k.clone(), None).await.unwrap();
    drop(watch);
    store.close().await;

    let store = open(dir.path()).await;
    let mut watch = store
        .watch(WatchOptions::new(SUBS, WatchStart::After(resume_from)))
        .unwrap();
    let first = next_event(&mut watch).await.unwrap();
    assert_eq!(summary(&first), ("MODIFIED", "s".to_string(), 3));
    assert_eq!(first.object().unwrap()["spec"]["v"], json!(3));
    assert_eq!(
        summary(&next_event(&mut watch).await.unwrap()),
        ("DELETED", "s".to_string(), 4)
    );
    store.create(k, plain("isp-a", "s")).await.unwrap();
    assert_eq!(
        summary(&next_event(&mut watch).await.unwrap()),
        ("ADDED", "s".to_string(), 5)
    );
}

#[tokio::test]
async fn one_open_store_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let err = Store::open(config(dir.path())).await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    store.close().await;
    let again = open(dir.path()).await;
    again.create(key("a", "b"), plain("a", "b")).await.unwrap();
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.close().await;
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("store.db"))
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE meta SET schema_version = 99")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let err = Store::open(config(dir.path())).await.unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedSchema { found: 99 }),
        "{err:?}"
    );
}
