//! Watches: initial state, replay then follow, selector transitions, lag, expiry.

use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::selector::LabelSelector;
use crate::store::{LagPolicy, ListOptions, WatchOptions, WatchStart};

fn watch_from(store: &Store, start: WatchStart) -> Watch {
    store.watch(WatchOptions::new(SUBS, start)).unwrap()
}

#[test]
fn start_from_resource_version_parameter() {
    assert_eq!(
        WatchStart::from_resource_version(None).unwrap(),
        WatchStart::InitialState
    );
    assert_eq!(
        WatchStart::from_resource_version(Some("")).unwrap(),
        WatchStart::InitialState
    );
    assert_eq!(
        WatchStart::from_resource_version(Some("0")).unwrap(),
        WatchStart::InitialState
    );
    assert_eq!(
        WatchStart::from_resource_version(Some("17")).unwrap(),
        WatchStart::After(17)
    );
    assert!(matches!(
        WatchStart::from_resource_version(Some("x1")),
        Err(StoreError::InvalidResourceVersion { .. })
    ));
}

#[tokio::test]
async fn initial_state_then_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..3 {
        store
            .create(
                key("isp-a", &format!("s{i}")),
                plain("isp-a", &format!("s{i}")),
            )
            .await
            .unwrap();
    }
    store.delete(key("isp-a", "s1"), None).await.unwrap();
    let mut options = WatchOptions::new(SUBS, WatchStart::InitialState);
    options.initial_events_end = true;
    let mut watch = store.watch(options).unwrap();
    assert_eq!(
        watch.progress(),
        None,
        "no bookmark before the initial events are out"
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(summary(&next_event(&mut watch).await.unwrap()));
    }
    assert_eq!(
        seen,
        vec![
            ("ADDED", "s0".to_string(), 1),
            ("ADDED", "s2".to_string(), 3),
            ("BOOKMARK", String::new(), 4),
        ]
    );
    assert_eq!(watch.progress(), Some(4));
    store
        .create(key("isp-a", "s3"), plain("isp-a", "s3"))
        .await
        .unwrap();
    assert_eq!(
        summary(&next_event(&mut watch).await.unwrap()),
        ("ADDED", "s3".to_string(), 5)
    );
    assert_quiet(&mut watch).await;
}

#[tokio::test]
async fn initial_state_spans_several_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let ops = (0..1200)
        .map(|i| crate::store::WriteOp::Create {
            key: key("isp-a", &format!("s{i:05}")),
            object: plain("isp-a", &format!("s{i:05}")),
        })
        .collect();
    store.transaction(ops).await.unwrap();
    let mut watch = watch_from(&store, WatchStart::InitialState);
    let mut names = Vec::new();
    for i in 0..1200 {
        let event = next_event(&mut watch).await.unwrap();
        names.push(name_of(event.object().unwrap()).to_string());
        if i == 700 {
            // A change during the initial events arrives after them, once.
            store.delete(key("isp-a", "s00000"), None).await.unwrap();
        }
    }
    let expected: Vec<String> = (0..1200).map(|i| format!("s{i:05}")).collect();
    assert_eq!(names, expected);
    assert_eq!(
        summary(&next_event(&mut watch).await.unwrap()),
        ("DELETED", "s00000".to_string(), 1201)
    );
    assert_quiet(&mut watch).await;
}

/// Writers run while a watch replays from the log and switches to live events: it must see
/// each version after its start exactly once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_then_follow_is_gapless_under_concurrent_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.replay_page = 7;
    let store = Store::open(config).await.unwrap();
    for i in 0..50 {
        store
            .create(
                key("isp-a", &format!("pre{i}")),
                plain("isp-a", &format!("pre{i}")),
            )
            .await
            .unwrap();
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let ns = format!("isp-{}", i % 4);
                store
                    .create(
                        key(&ns, &format!("live{i}")),
                        plain(&ns, &format!("live{i}")),
                    )
                    .await
                    .unwrap();
                if i % 3 == 0 {
                    store
                        .delete(key(&ns, &format!("live{i}")), None)
                        .await
                        .unwrap();
                }
            }
        })
    };
    // Watches start at different points while the writer runs.
    let mut watchers = Vec::new();
    for start in [10u64, 30, 49] {
        let store = store.clone();
        watchers.push(tokio::spawn(async move {
            let mut watch = watch_from(&store, WatchStart::After(start));
            let mut versions = Vec::new();
            while versions.last().copied() != Some(450) {
                let event = next_event(&mut watch).await.unwrap();
                versions.push(rv_of(event.object().unwrap()));
            }
            (start, versions)
        }));
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    assert_eq!(store.current_resource_version(), 450);
    for task in watchers {
        let (start, versions) = task.await.unwrap();
        let expected: Vec<u64> = (start + 1..=450).collect();
        assert_eq!(versions, expected, "watch from {start}");
    }
}

/// A list followed by a watch from the list's version sees every object exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_then_watch_sees_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..400 {
                store
                    .create(
                        key("isp-a", &format!("s{i:03}")),
                        plain("isp-a", &format!("s{i:03}")),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let list = store.list(&ListOptions::new(SUBS)).await.unwrap();
    let mut seen: BTreeSet<String> = list.items.iter().map(|o| name_of(o).to_string()).collect();
    let mut watch = watch_from(&store, WatchStart::After(list.resource_version));
    while seen.len() < 400 {
        let event = next_event(&mut watch).await.unwrap();
        let object = event.object().unwrap();
        assert!(rv_of(object) > list.resource_version);
        assert!(
            seen.insert(name_of(object).to_string()),
            "duplicate {}",
            name_of(object)
        );
    }
    writer.await.unwrap();
    assert_quiet(&mut watch).await;
}

/// Objects entering a selection are ADDED, leaving it DELETED, as in Kubernetes; the live
/// path and the replay path agree.
#[tokio::test]
async fn selector_transitions_live_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let selected = |start| {
        let mut options = WatchOptions::new(SUBS, start);
        options.label_selector = LabelSelector::parse("app=web").unwrap();
        store.watch(options).unwrap()
    };
    let mut live = selected(WatchStart::After(0));
    let k = key("isp-a", "s");
    let label = |app: &str, spec: i64| obj("isp-a", "s", json!({"app": app}), json!({"v": spec}));
    store.create(k.clone(), label("db", 0)).await.unwrap(); // 1: not selected
    store
        .update(k.clone(), label("web", 0), None)
        .await
        .unwrap(); // 2: enters
    store
        .update(k.clone(), label("web", 1), None)
        .await
        .unwrap(); // 3: stays
    store.update(k.clone(), label("db", 1), None).await.unwrap(); // 4: leaves
    store.update(k.clone(), label("db", 2), None).await.unwrap(); // 5: still out
    store
        .update(k.clone(), label("web", 2), None)
        .await
        .unwrap(); // 6: enters again
    store.delete(k.clone(), None).await.unwrap(); // 7: deleted while selected
    store.create(k.clone(), label("db", 3)).await.unwrap(); // 8: not selected
    store.delete(k.clone(), None).await.unwrap(); // 9: deleted while not selected
    store
        .create(
            key("isp-a", "end"),
            obj("isp-a", "end", json!({"app": "web"}), json!({})),
        )
        .await
        .unwrap(); // 10

    let expected = vec![
        ("ADDED", "s".to_string(), 2),
        ("MODIFIED", "s".to_string(), 3),
        ("DELETED", "s".to_string(), 4),
        ("ADDED", "s".to_string(), 6),
        ("DELETED", "s".to_string(), 7),
        ("ADDED", "end".to_string(), 10),
    ];
    let mut replayed = selected(WatchStart::After(0));
    for watch in [&mut live, &mut replayed] {
        let mut events = Vec::new();
        for _ in 0..expected.len() {
            events.push(next_event(watch).await.unwrap());
        }
        let got: Vec<_> = events.iter().map(summary).collect();
        assert_eq!(got, expected);
        // Leaving the selection shows the last selected state at the change's version.
        let left = events[2].object().unwrap();
        assert_eq!(left["metadata"]["labels"]["app"], json!("web"));
        assert_eq!(left["spec"]["v"], json!(1));
        assert_quiet(watch).await;
    }
}

#[tokio::test]
async fn namespace_filter_and_progress_over_other_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut options = WatchOptions::new(SUBS, WatchStart::Now);
    options.namespace = Some("isp-b".into());
    let mut watch = store.watch(options).unwrap();
    assert_eq!(watch.progress(), Some(0));
    store
        .create(key("isp-a", "x"), plain("isp-a", "x"))
        .await
        .unwrap();
    store
        .create(
            ObjectKey::new("/configmaps", "isp-b", "cm"),
            plain("isp-b", "cm"),
        )
        .await
        .unwrap();
    store
        .create(key("isp-b", "y"), plain("isp-b", "y"))
        .await
        .unwrap();
    assert_eq!(
        summary(&next_event(&mut watch).await.unwrap()),
        ("ADDED", "y".to_string(), 3)
    );
    assert_eq!(watch.progress(), Some(3));
    // Changes nobody selected still move the bookmark position once they are processed.
    store
        .create(
            ObjectKey::new("/configmaps", "isp-b", "cm2"),
            plain("isp-b", "cm2"),
        )
        .await
        .unwrap();
    assert_quiet(&mut watch).await;
    assert_eq!(watch.progress(), Some(4));
}

/// A watcher that does not read while many events are written must neither block the writer
/// nor lose events: with `CatchUp` it re-reads them from the log.
#[tokio::test]
async fn lagging_watcher_catches_up_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.event_buffer = 16;
    let store = Store::open(config).await.unwrap();
    let mut watch = watch_from(&store, WatchStart::Now);
    let mut other = store
        .watch(WatchOptions::new("/configmaps", WatchStart::Now))
        .unwrap();
    for i in 0..200 {
        store
            .create(
                key("isp-a", &format!("s{i:03}")),
                plain("isp-a", &format!("s{i:03}")),
            )
            .await
            .unwrap();
    }
    let mut versions = Vec::new();
    for _ in 0..200 {
        versions.push(rv_of(
            next_event(&mut watch).await.unwrap().object().unwrap(),
        ));
    }
    assert_eq!(versions, (1..=200).collect::<Vec<u64>>());
    assert_quiet(&mut watch).await;
    assert_quiet(&mut other).await;
    assert_eq!(other.progress(), Some(200));
}

#[tokio::test]
async fn lagging_watcher_expires_with_expire_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.event_buffer = 16;
    config.lag_policy = LagPolicy::Expire;
    let store = Store::open(config).await.unwrap();
    let mut watch = watch_from(&store, WatchStart::Now);
    for i in 0..100 {
        store
            .create(
                key("isp-a", &format!("s{i:03}")),
                plain("isp-a", &format!("s{i:03}")),
            )
            .await
            .unwrap();
    }
    let err = next_event(&mut watch).await.unwrap_err();
    assert!(matches!(err, StoreError::WatchLagged { .. }), "{err:?}");
    assert_eq!(err.status_code(), 410);
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(5), watch.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn compacted_and_future_versions_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..10 {
        let k = key("isp-a", "s");
        if i == 0 {
            store.create(k, plain("isp-a", "s")).await.unwrap();
        } else {
            store
                .update(k, obj("isp-a", "s", json!({}), json!({"i": i})), None)
                .await
                .unwrap();
        }
    }
    store.compact_to(6).await.unwrap();
    let err = next_event(&mut watch_from(&store, WatchStart::After(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Expired {
                requested: 5,
                oldest: 6
            }
        ),
        "{err:?}"
    );
    assert!(err.is_expired());
    let mut ok = watch_from(&store, WatchStart::After(6));
    let got: Vec<u64> = [
        next_event(&mut ok).await.unwrap(),
        next_event(&mut ok).await.unwrap(),
        next_event(&mut ok).await.unwrap(),
        next_event(&mut ok).await.unwrap(),
    ]
    .iter()
    .map(|e| summary(e).2)
    .collect();
    assert_eq!(got, vec![7, 8, 9, 10]);

    let err = next_event(&mut watch_from(&store, WatchStart::After(11)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLargeResourceVersion { .. }),
        "{err:?}"
    );
    assert_eq!(err.status_code(), 504);
}

#[tokio::test]
async fn next_is_cancel_safe() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.replay_page = 3;
    let store = Store::open(config).await.unwrap();
    for i in 0..20 {
        store
            .create(
                key("isp-a", &format!("s{i:02}")),
                plain("isp-a", &format!("s{i:02}")),
            )
            .await
            .unwrap();
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 20..80 {
                store
                    .create(
                        key("isp-a", &format!("s{i:02}")),
                        plain("isp-a", &format!("s{i:02}")),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let mut watch = watch_from(&store, WatchStart::After(0));
    let mut versions = Vec::new();
    let mut cancelled = 0;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while versions.len() < 80 && tokio::time::Instant::now() < deadline {
        tokio::select! {
            item = watch.next() => versions.push(rv_of(item.unwrap().unwrap().object().unwrap())),
            _ = tokio::task::yield_now() => cancelled += 1,
        }
    }
    writer.await.unwrap();
    assert_eq!(versions, (1..=80).collect::<Vec<u64>>());
    assert!(cancelled > 0, "the race must have cancelled some calls");
}

#[tokio::test]
async fn closing_the_store_ends_watches() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let mut watch = watch_from(&store, WatchStart::Now);
    store.close().await;
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), watch.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn watch_as_stream() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .create(key("isp-a", "a"), plain("isp-a", "a"))
        .await
        .unwrap();
    let mut stream = Box::pin(watch_from(&store, WatchStart::InitialState).into_stream());
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(summary(&first), ("ADDED", "a".to_string(), 1));
    store.delete(key("isp-a", "a"), None).await.unwrap();
    let second = stream.next().await.unwrap().unwrap();
    assert_eq!(summary(&second), ("DELETED", "a".to_string(), 2));
}
