//! Lists: ordering, namespaces, selectors, consistent pagination, versions.

use serde_json::json;

use super::*;
use crate::field_selector::FieldSelector;
use crate::selector::LabelSelector;
use crate::store::{ListOptions, ListResult, ListVersion};

fn names(result: &ListResult) -> Vec<String> {
    result
        .items
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                name_of(o)
            )
        })
        .collect()
}

/// Creates `count` subscriptions spread over three namespaces; label `n` is the index mod 3.
async fn fill(store: &Store, count: usize) {
    for i in 0..count {
        let ns = format!("isp-{}", i % 3);
        let name = format!("s{i:03}");
        let object = obj(
            &ns,
            &name,
            json!({"n": (i % 3).to_string()}),
            json!({"i": i}),
        );
        store.create(key(&ns, &name), object).await.unwrap();
    }
}

/// Follows continue tokens to the end; returns the pages.
async fn all_pages(store: &Store, mut options: ListOptions) -> Vec<ListResult> {
    let mut pages = Vec::new();
    loop {
        let page = store.list(&options).await.unwrap();
        let next = page.continue_token.clone();
        pages.push(page);
        match next {
            Some(token) => options.continue_token = Some(token),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn lists_in_key_order_with_namespace_and_selectors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 9).await;
    store
        .create(
            ObjectKey::new("/configmaps", "isp-0", "cm"),
            plain("isp-0", "cm"),
        )
        .await
        .unwrap();

    let all = store.list(&ListOptions::new(SUBS)).await.unwrap();
    assert_eq!(all.resource_version, 10);
    assert!(all.continue_token.is_none());
    assert_eq!(
        names(&all),
        [
            "isp-0/s000",
            "isp-0/s003",
            "isp-0/s006",
            "isp-1/s001",
            "isp-1/s004",
            "isp-1/s007",
            "isp-2/s002",
            "isp-2/s005",
            "isp-2/s008"
        ]
    );

    let mut options = ListOptions::new(SUBS);
    options.namespace = Some("isp-1".into());
    assert_eq!(
        names(&store.list(&options).await.unwrap()),
        ["isp-1/s001", "isp-1/s004", "isp-1/s007"]
    );

    let mut options = ListOptions::new(SUBS);
    options.label_selector = LabelSelector::parse("n in (0,2)").unwrap();
    options.field_selector = FieldSelector::parse("metadata.name!=s000,spec.i!=8").unwrap();
    assert_eq!(
        names(&store.list(&options).await.unwrap()),
        ["isp-0/s003", "isp-0/s006", "isp-2/s002", "isp-2/s005"]
    );

    let mut options = ListOptions::new(SUBS);
    options.namespace = Some("isp-9".into());
    assert!(store.list(&options).await.unwrap().items.is_empty());
    assert!(
        store
            .list(&ListOptions::new("other/things"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn field_selectors_on_event_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for (name, involved) in [("e1", "sub-1"), ("e2", "sub-2"), ("e3", "sub-1")] {
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "isp-a"},
            "involvedObject": {"kind": "Subscription", "name": involved},
            "reason": "Provisioned",
        });
        store
            .create(ObjectKey::new(EVENTS, "isp-a", name), event)
            .await
            .unwrap();
    }
    let mut options = ListOptions::new(EVENTS);
    options.field_selector =
        FieldSelector::parse("involvedObject.name=sub-1,involvedObject.kind=Subscription").unwrap();
    assert_eq!(
        names(&store.list(&options).await.unwrap()),
        ["isp-a/e1", "isp-a/e3"]
    );
    options.field_selector = FieldSelector::parse("metadata.namespace=isp-b").unwrap();
    assert!(store.list(&options).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn pagination_reads_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 25).await;
    let mut options = ListOptions::new(SUBS);
    options.limit = Some(10);
    let first = store.list(&options).await.unwrap();
    assert_eq!(first.items.len(), 10);
    let snapshot = first.resource_version;
    let expected = names(&store.list(&ListOptions::new(SUBS)).await.unwrap());

    // Change the world between pages: delete an object of a later page, modify another,
    // add one that sorts into a later page.
    store.delete(key("isp-2", "s020"), None).await.unwrap();
    let mut modified = store.get(&key("isp-2", "s023")).await.unwrap();
    modified["spec"]["i"] = json!("changed");
    store
        .update(key("isp-2", "s023"), modified, None)
        .await
        .unwrap();
    store
        .create(key("isp-2", "s999"), plain("isp-2", "s999"))
        .await
        .unwrap();

    options.continue_token = first.continue_token.clone();
    let rest = all_pages(&store, options).await;
    assert_eq!(rest.len(), 2);
    let mut got = names(&first);
    for page in &rest {
        assert_eq!(
            page.resource_version, snapshot,
            "every page is at the first page's version"
        );
        got.extend(names(page));
    }
    assert_eq!(got, expected);
    let s023 = rest
        .iter()
        .flat_map(|p| p.items.iter())
        .find(|o| name_of(o) == "s023")
        .unwrap();
    assert_eq!(
        s023["spec"]["i"],
        json!(23),
        "the snapshot's content, not the newer one"
    );
    assert!(rv_of(s023) <= snapshot);

    // A fresh list sees the changes.
    let now = names(&store.list(&ListOptions::new(SUBS)).await.unwrap());
    assert!(now.contains(&"isp-2/s999".to_string()));
    assert!(!now.contains(&"isp-2/s020".to_string()));
}

#[tokio::test]
async fn pagination_with_selectors_and_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 30).await;
    let mut options = ListOptions::new(SUBS);
    options.label_selector = LabelSelector::parse("n=1").unwrap();
    options.limit = Some(4);
    let pages = all_pages(&store, options).await;
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    let got: Vec<String> = pages.iter().flat_map(names).collect();
    let expected: Vec<String> = (0..30)
        .filter(|i| i % 3 == 1)
        .map(|i| format!("isp-1/s{i:03}"))
        .collect();
    assert_eq!(got, expected);

    let mut options = ListOptions::new(SUBS);
    options.namespace = Some("isp-2".into());
    options.limit = Some(3);
    let pages = all_pages(&store, options).await;
    let got: Vec<String> = pages.iter().flat_map(names).collect();
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|n| n.starts_with("isp-2/")));
    // An exact multiple of the limit: the last page is full and has no token.
    assert_eq!(pages.len(), 4);
    assert!(pages[3].continue_token.is_none());
}

#[tokio::test]
async fn continue_tokens_expire_with_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 6).await;
    let mut options = ListOptions::new(SUBS);
    options.limit = Some(2);
    let first = store.list(&options).await.unwrap();
    store
        .create(key("isp-0", "late"), plain("isp-0", "late"))
        .await
        .unwrap();
    store.compact_to(first.resource_version).await.unwrap();
    options.continue_token = first.continue_token.clone();
    assert_eq!(
        store.list(&options).await.unwrap().items.len(),
        2,
        "horizon == snapshot is kept"
    );

    store.compact_to(first.resource_version + 1).await.unwrap();
    let err = store.list(&options).await.unwrap_err();
    assert!(matches!(err, StoreError::ContinueExpired { .. }), "{err:?}");
    assert_eq!(err.status_code(), 410);
    assert_eq!(err.reason(), "Expired");
}

#[tokio::test]
async fn list_versions_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 3).await;
    store.delete(key("isp-1", "s001"), None).await.unwrap();
    let mut options = ListOptions::new(SUBS);

    options.version = ListVersion::Exact(2);
    let at2 = store.list(&options).await.unwrap();
    assert_eq!(names(&at2), ["isp-0/s000", "isp-1/s001"]);
    assert_eq!(at2.resource_version, 2);
    options.version = ListVersion::Exact(0);
    assert!(store.list(&options).await.unwrap().items.is_empty());

    options.version = ListVersion::NotOlderThan(3);
    let latest = store.list(&options).await.unwrap();
    assert_eq!(latest.resource_version, 4);
    assert_eq!(names(&latest), ["isp-0/s000", "isp-2/s002"]);

    options.version = ListVersion::NotOlderThan(5);
    let err = store.list(&options).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooLargeResourceVersion { .. }),
        "{err:?}"
    );
    options.version = ListVersion::Exact(9);
    assert!(matches!(
        store.list(&options).await,
        Err(StoreError::TooLargeResourceVersion { .. })
    ));

    store.compact_to(3).await.unwrap();
    options.version = ListVersion::Exact(2);
    let err = store.list(&options).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Expired {
                requested: 2,
                oldest: 3
            }
        ),
        "{err:?}"
    );
    options.version = ListVersion::Exact(3);
    assert_eq!(
        names(&store.list(&options).await.unwrap()),
        ["isp-0/s000", "isp-1/s001", "isp-2/s002"]
    );

    let mut options = ListOptions::new(SUBS);
    options.continue_token = Some("garbage!".into());
    assert!(matches!(
        store.list(&options).await,
        Err(StoreError::InvalidContinue { .. })
    ));
    options.continue_token = Some(
        crate::store::continue_token::ContinueToken::new(99, String::new(), String::new()).encode(),
    );
    assert!(matches!(
        store.list(&options).await,
        Err(StoreError::InvalidContinue { .. })
    ));
    options.version = ListVersion::Exact(3);
    assert!(matches!(
        store.list(&options).await,
        Err(StoreError::InvalidContinue { .. })
    ));
}

#[tokio::test]
async fn keys_of_a_namespace_across_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    fill(&store, 6).await;
    store
        .create(
            ObjectKey::new("/configmaps", "isp-1", "cm"),
            plain("isp-1", "cm"),
        )
        .await
        .unwrap();
    store.delete(key("isp-1", "s004"), None).await.unwrap();
    let keys = store.keys_in_namespace("isp-1").await.unwrap();
    assert_eq!(
        keys,
        vec![
            ObjectKey::new("/configmaps", "isp-1", "cm"),
            key("isp-1", "s001"),
        ]
    );
    assert!(store.keys_in_namespace("none").await.unwrap().is_empty());
}

#[tokio::test]
async fn cluster_scoped_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for name in ["b", "a", "c"] {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        store
            .create(ObjectKey::new(NAMESPACES, "", name), ns)
            .await
            .unwrap();
    }
    let mut options = ListOptions::new(NAMESPACES);
    options.limit = Some(2);
    let pages = all_pages(&store, options).await;
    let got: Vec<String> = pages.iter().flat_map(names).collect();
    assert_eq!(got, ["/a", "/b", "/c"]);
}
