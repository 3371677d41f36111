//! Writes: creation, compare-and-swap updates and deletes, transactions, concurrency.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::store::{Outcome, WatchOptions, WatchStart, WriteOp};

#[tokio::test]
async fn create_sets_resource_version_and_keeps_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut object = plain("isp-a", "s1");
    object["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
    object["metadata"]["resourceVersion"] = json!("999");
    let written = store.create(key("isp-a", "s1"), object).await.unwrap();
    assert_eq!(written.outcome, Outcome::Created);
    assert_eq!(written.resource_version, 1);
    let stored = store.get(&key("isp-a", "s1")).await.unwrap();
    assert_eq!(stored["metadata"]["resourceVersion"], json!("1"));
    assert_eq!(stored["metadata"]["uid"], json!("uid-isp-a-s1"));
    assert_eq!(stored["metadata"]["generation"], json!(1));
    assert_eq!(
        stored["metadata"]["creationTimestamp"],
        json!("2025-01-01T00:00:00Z")
    );
    assert_eq!(stored, *written.object);

    let again = store.create(key("isp-a", "s1"), plain("isp-a", "s1")).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists { .. })),
        "{again:?}"
    );
    assert_eq!(again.unwrap_err().status_code(), 409);
    // The same name in another namespace or resource is another object.
    store
        .create(key("isp-b", "s1"), plain("isp-b", "s1"))
        .await
        .unwrap();
    let other = ObjectKey::new("/configmaps", "isp-a", "s1");
    let written = store.create(other, plain("isp-a", "s1")).await.unwrap();
    assert_eq!(written.resource_version, 3, "one counter across resources");
}

#[tokio::test]
async fn compare_and_swap_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let k = key("isp-a", "s1");
    let v1 = store.create(k.clone(), plain("isp-a", "s1")).await.unwrap();

    let changed = obj("isp-a", "s1", json!({}), json!({"state": "Suspended"}));
    let v2 = store
        .update(k.clone(), changed.clone(), Some(v1.resource_version))
        .await
        .unwrap();
    assert_eq!(v2.outcome, Outcome::Updated);
    assert_eq!(v2.resource_version, 2);

    let stale = obj("isp-a", "s1", json!({}), json!({"state": "Active"}));
    let err = store
        .update(k.clone(), stale.clone(), Some(v1.resource_version))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.get(&k).await.unwrap()["spec"]["state"],
        json!("Suspended")
    );

    // Unconditional update (no precondition) wins.
    let v3 = store.update(k.clone(), stale, None).await.unwrap();
    assert_eq!(v3.resource_version, 3);

    let err = store.delete(k.clone(), Some(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let deleted = store.delete(k.clone(), Some(3)).await.unwrap();
    assert_eq!(deleted.outcome, Outcome::Deleted);
    assert_eq!(deleted.resource_version, 4);
    assert_eq!(deleted.object["metadata"]["resourceVersion"], json!("4"));
    assert_eq!(deleted.object["spec"]["state"], json!("Active"));

    let err = store.get(&k).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert_eq!(err.status_code(), 404);
    assert!(matches!(
        store.update(k.clone(), plain("isp-a", "s1"), None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete(k.clone(), None).await,
        Err(StoreError::NotFound { .. })
    ));
    // The name is free again.
    let again = store.create(k.clone(), plain("isp-a", "s1")).await.unwrap();
    assert_eq!(again.resource_version, 5);
}

#[tokio::test]
async fn unchanged_update_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let k = key("isp-a", "s1");
    let object = obj("isp-a", "s1", json!({"a": "1"}), json!({"x": 1}));
    let v1 = store.create(k.clone(), object.clone()).await.unwrap();
    let mut watch = store
        .watch(WatchOptions::new(
            SUBS,
            WatchStart::After(v1.resource_version),
        ))
        .unwrap();

    // The client may send back the version it read or none at all.
    let same = store
        .update(k.clone(), object.clone(), Some(1))
        .await
        .unwrap();
    assert_eq!(same.outcome, Outcome::Unchanged);
    assert_eq!(same.resource_version, 1);
    assert_eq!(store.current_resource_version(), 1);
    let mut with_rv = (*v1.object).clone();
    with_rv["metadata"]["resourceVersion"] = json!("1");
    let same = store.update(k.clone(), with_rv, None).await.unwrap();
    assert_eq!(same.outcome, Outcome::Unchanged);

    store
        .create(key("isp-a", "s2"), plain("isp-a", "s2"))
        .await
        .unwrap();
    let event = next_event(&mut watch).await.unwrap();
    assert_eq!(summary(&event), ("ADDED", "s2".to_string(), 2));
}

#[tokio::test]
async fn objects_must_match_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let cases = [
        (key("isp-a", "s1"), plain("isp-a", "other")),
        (key("isp-a", "s1"), plain("isp-b", "s1")),
        (ObjectKey::new(NAMESPACES, "", "n1"), plain("isp-a", "n1")),
        (key("isp-a", "s1"), json!({"spec": {}})),
        (key("isp-a", "s1"), json!("not an object")),
    ];
    for (k, object) in cases {
        let err = store.create(k, object).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidObject { .. }), "{err:?}");
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"}});
    store
        .create(ObjectKey::new(NAMESPACES, "", "n1"), ns)
        .await
        .unwrap();
    assert_eq!(
        store.current_resource_version(),
        1,
        "failed writes use no version"
    );
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .create(key("isp-a", "taken"), plain("isp-a", "taken"))
        .await
        .unwrap();
    let mut watch = store
        .watch(WatchOptions::new(SUBS, WatchStart::After(1)))
        .unwrap();

    let failing = vec![
        WriteOp::Create {
            key: key("isp-a", "new"),
            object: plain("isp-a", "new"),
        },
        WriteOp::Delete {
            key: key("isp-a", "taken"),
            expected_rv: None,
        },
        WriteOp::Create {
            key: key("isp-a", "taken"),
            object: plain("isp-a", "taken"),
        },
        WriteOp::Create {
            key: key("isp-a", "new"),
            object: plain("isp-a", "new"),
        },
    ];
    let err = store.transaction(failing).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { ref key } if key.name == "new"),
        "{err:?}"
    );
    assert!(matches!(
        store.get(&key("isp-a", "new")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(rv_of(&store.get(&key("isp-a", "taken")).await.unwrap()), 1);
    assert_eq!(store.current_resource_version(), 1);

    // Operations see the ones before them: delete and re-create in one transaction.
    let ops = vec![
        WriteOp::Delete {
            key: key("isp-a", "taken"),
            expected_rv: Some(1),
        },
        WriteOp::Create {
            key: key("isp-a", "taken"),
            object: obj("isp-a", "taken", json!({}), json!({"v": 2})),
        },
        WriteOp::Create {
            key: key("isp-a", "new"),
            object: plain("isp-a", "new"),
        },
    ];
    let written = store.transaction(ops).await.unwrap();
    let versions: Vec<u64> = written.iter().map(|w| w.resource_version).collect();
    assert_eq!(versions, vec![2, 3, 4]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(summary(&next_event(&mut watch).await.unwrap()));
    }
    assert_eq!(
        seen,
        vec![
            ("DELETED", "taken".to_string(), 2),
            ("ADDED", "taken".to_string(), 3),
            ("ADDED", "new".to_string(), 4),
        ]
    );
    assert!(store.transaction(Vec::new()).await.unwrap().is_empty());
}

/// Sixteen tasks increment one counter with read-modify-write and retry on conflict; group
/// commit puts many of their requests in one transaction, where the losers must fail alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_never_lose_an_update() {
    const TASKS: u64 = 16;
    const INCREMENTS: u64 = 25;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.durability = Durability::Full;
    let store = Store::open(config).await.unwrap();
    let k = key("isp-a", "counter");
    store
        .create(
            k.clone(),
            obj("isp-a", "counter", json!({}), json!({"count": 0})),
        )
        .await
        .unwrap();
    let conflicts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let store = store.clone();
        let k = k.clone();
        let conflicts = Arc::clone(&conflicts);
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for _ in 0..INCREMENTS {
                loop {
                    let mut current = store.get(&k).await.unwrap();
                    let rv = rv_of(&current);
                    let count = current["spec"]["count"].as_u64().unwrap();
                    current["spec"]["count"] = json!(count + 1);
                    match store.update(k.clone(), current, Some(rv)).await {
                        Ok(w) => {
                            versions.push(w.resource_version);
                            break;
                        }
                        Err(StoreError::Conflict { .. }) => {
                            conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => panic!("unexpected error {e}"),
                    }
                }
            }
            versions
        }));
    }
    let mut all_versions = Vec::new();
    for task in tasks {
        all_versions.extend(task.await.unwrap());
    }
    let final_object = store.get(&k).await.unwrap();
    assert_eq!(final_object["spec"]["count"], json!(TASKS * INCREMENTS));
    all_versions.sort();
    all_versions.dedup();
    assert_eq!(
        all_versions.len() as u64,
        TASKS * INCREMENTS,
        "versions are unique"
    );
    assert_eq!(rv_of(&final_object), 1 + TASKS * INCREMENTS);
    assert_eq!(store.current_resource_version(), 1 + TASKS * INCREMENTS);
    // With sixteen racing tasks some attempts must have lost.
    assert!(conflicts.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn closed_store_refuses_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create(key("a", "b"), plain("a", "b")).await.unwrap();
    let other_handle = store.clone();
    store.close().await;
    assert!(matches!(
        other_handle.create(key("a", "c"), plain("a", "c")).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        other_handle.get(&key("a", "b")).await,
        Err(StoreError::Closed)
    ));
    assert!(
        other_handle
            .watch(WatchOptions::new(SUBS, WatchStart::Now))
            .is_err()
    );
}

/// Many two-operation transactions submitted at once land in shared batches; all but one
/// fail on their second operation and must leave nothing behind, while their neighbours in
/// the batch commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_requests_in_a_batch_roll_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.durability = Durability::Full;
    let store = Store::open(config).await.unwrap();
    let attempts = (0..64).map(|i| {
        let store = store.clone();
        async move {
            let ops = vec![
                WriteOp::Create {
                    key: key("isp-a", &format!("own-{i}")),
                    object: plain("isp-a", &format!("own-{i}")),
                },
                WriteOp::Create {
                    key: key("isp-a", "shared"),
                    object: plain("isp-a", "shared"),
                },
            ];
            (i, store.transaction(ops).await)
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(winners.len(), 1);
    let (winner, written) = winners[0];
    let versions: Vec<u64> = written
        .as_ref()
        .unwrap()
        .iter()
        .map(|w| w.resource_version)
        .collect();
    assert_eq!(versions, vec![1, 2]);
    for (i, result) in &results {
        if i != winner {
            assert!(
                matches!(result, Err(StoreError::AlreadyExists { .. })),
                "{result:?}"
            );
            assert!(matches!(
                store.get(&key("isp-a", &format!("own-{i}"))).await,
                Err(StoreError::NotFound { .. })
            ));
        }
    }
    assert_eq!(store.current_resource_version(), 2);
    // Versions continue without a gap after the failures.
    let next = store
        .create(key("isp-a", "next"), plain("isp-a", "next"))
        .await
        .unwrap();
    assert_eq!(next.resource_version, 3);
}
