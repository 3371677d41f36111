//! The label index: lists narrowed by it give exactly what a full scan gives, through
//! relabelling, deletions, pagination and the upgrade of a database written without it.

use serde_json::json;

use super::*;
use crate::selector::LabelSelector;
use crate::store::{ListOptions, ListResult};

fn keys(result: &ListResult) -> Vec<String> {
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

/// The selector applied by hand to an unfiltered list (no index involved).
async fn scanned(store: &Store, namespace: Option<&str>, selector: &str) -> Vec<String> {
    let selector = LabelSelector::parse(selector).unwrap();
    let mut options = ListOptions::new(SUBS);
    options.namespace = namespace.map(str::to_owned);
    let all = store.list(&options).await.unwrap();
    let kept = all
        .items
        .into_iter()
        .filter(|o| selector.matches_object(o))
        .collect();
    keys(&ListResult { items: kept, ..all })
}

/// The selector given to the store, pages of `limit` followed to the end.
async fn selected(
    store: &Store,
    namespace: Option<&str>,
    selector: &str,
    limit: Option<usize>,
) -> Vec<String> {
    let mut options = ListOptions::new(SUBS);
    options.namespace = namespace.map(str::to_owned);
    options.label_selector = LabelSelector::parse(selector).unwrap();
    options.limit = limit;
    let mut out = Vec::new();
    loop {
        let page = store.list(&options).await.unwrap();
        out.extend(keys(&page));
        match page.continue_token {
            Some(token) => options.continue_token = Some(token),
            None => return out,
        }
    }
}

async fn assert_agrees(store: &Store) {
    for selector in [
        "sub=s1",
        "sub=s1,tier=gold",
        "tier in (gold)",
        "tier=none",
        "sub==s2",
    ] {
        for namespace in [None, Some("isp-1")] {
            let expected = scanned(store, namespace, selector).await;
            for limit in [None, Some(2)] {
                assert_eq!(
                    selected(store, namespace, selector, limit).await,
                    expected,
                    "{selector} in {namespace:?}, limit {limit:?}"
                );
            }
            let json: Vec<String> = {
                let mut options = ListOptions::new(SUBS);
                options.namespace = namespace.map(str::to_owned);
                options.label_selector = LabelSelector::parse(selector).unwrap();
                let page = store.list_json(&options).await.unwrap();
                let items = page
                    .items
                    .iter()
                    .map(|t| serde_json::from_str(t).unwrap())
                    .collect();
                keys(&ListResult {
                    items,
                    ..store.list(&options).await.unwrap()
                })
            };
            assert_eq!(json, expected, "list_json {selector} in {namespace:?}");
        }
    }
}

#[tokio::test]
async fn indexed_lists_agree_with_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..12 {
        let ns = format!("isp-{}", i % 2);
        let name = format!("c{i:02}");
        let labels =
            json!({"sub": format!("s{}", i % 3), "tier": if i % 4 == 0 {"gold"} else {"std"}});
        store
            .create(key(&ns, &name), obj(&ns, &name, labels, json!({})))
            .await
            .unwrap();
    }
    assert_agrees(&store).await;
    assert_eq!(selected(&store, None, "sub=s1", None).await.len(), 4);

    // Relabel one, strip another's labels, change only the spec of a third, delete a fourth.
    let relabelled = obj(
        "isp-1",
        "c01",
        json!({"sub": "s2", "tier": "gold"}),
        json!({}),
    );
    store
        .update(key("isp-1", "c01"), relabelled, None)
        .await
        .unwrap();
    let bare = obj("isp-0", "c04", json!({}), json!({}));
    store.update(key("isp-0", "c04"), bare, None).await.unwrap();
    let respec = obj(
        "isp-1",
        "c07",
        json!({"sub": "s1", "tier": "std"}),
        json!({"x": 1}),
    );
    store
        .update(key("isp-1", "c07"), respec, None)
        .await
        .unwrap();
    store.delete(key("isp-0", "c10"), None).await.unwrap();
    assert_agrees(&store).await;
    assert!(
        !selected(&store, None, "sub=s1", None)
            .await
            .contains(&"isp-1/c01".to_owned())
    );
    assert!(
        selected(&store, None, "sub=s2", None)
            .await
            .contains(&"isp-1/c01".to_owned())
    );
    assert!(
        !selected(&store, None, "tier=gold", None)
            .await
            .contains(&"isp-0/c04".to_owned())
    );

    // A name used again after its deletion carries only its new labels.
    let again = obj("isp-0", "c10", json!({"sub": "s0"}), json!({}));
    store.create(key("isp-0", "c10"), again).await.unwrap();
    assert_agrees(&store).await;
}

#[tokio::test]
async fn a_database_without_the_index_gets_it_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for i in 0..6 {
        let name = format!("c{i}");
        let labels = json!({"sub": format!("s{}", i % 2)});
        store
            .create(key("isp-1", &name), obj("isp-1", &name, labels, json!({})))
            .await
            .unwrap();
    }
    store.close().await;
    {
        // What a store of schema 1 looked like.
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("store.db"))
            .connect()
            .await
            .unwrap();
        for statement in ["DROP TABLE labels", "UPDATE meta SET schema_version = 1"] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    }
    let store = open(dir.path()).await;
    assert_eq!(
        selected(&store, None, "sub=s1", None).await,
        ["isp-1/c1", "isp-1/c3", "isp-1/c5"]
    );
    assert_agrees(&store).await;
}
