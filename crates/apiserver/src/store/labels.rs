//! The label index: `labels(resource, key, value, namespace, name)` holds every label of
//! every live object. The writer keeps it in the same transaction as `current`, so any read
//! snapshot sees both in step. A list at the newest version with an equality requirement
//! (`app=web`, `app==web`, `app in (web)`) reads only the objects carrying that label, in key
//! order, instead of parsing every object of the resource to test the selector: controllers
//! list by label all the time (a subscription's claims, for instance), and a full scan per
//! list grows with everything stored.
//!
//! The index only narrows the candidates: the whole selector is still tested on each of
//! them, so it never changes a result.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use super::ops::parse_stored;
use super::{ObjectKey, StoreError};
use crate::selector::{LabelSelector, Operator};

/// Statements creating the index; each is idempotent.
pub(super) const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS labels (
        resource  TEXT NOT NULL,
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name      TEXT NOT NULL,
        PRIMARY KEY (resource, key, value, namespace, name)
    ) STRICT, WITHOUT ROWID",
    // Removing an object's labels.
    "CREATE INDEX IF NOT EXISTS labels_object ON labels (resource, namespace, name)",
];

/// The string-valued labels of an object (a valid object has no others).
pub(super) fn labels_of(object: &Value) -> BTreeMap<&str, &str> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Keeps the index of `key` in step with a write: `old` is the object before it (`None` for
/// a creation), `new` after it (`None` for a deletion). Writes that leave the labels alone
/// cost nothing here.
pub(super) async fn update(
    conn: &mut SqliteConnection,
    key: &ObjectKey,
    old: Option<&Value>,
    new: Option<&Value>,
) -> Result<(), StoreError> {
    let before = old.map(labels_of).unwrap_or_default();
    let after = new.map(labels_of).unwrap_or_default();
    if before == after {
        return Ok(());
    }
    if !before.is_empty() {
        sqlx::query("DELETE FROM labels WHERE resource = ?1 AND namespace = ?2 AND name = ?3")
            .bind(&key.resource)
            .bind(&key.namespace)
            .bind(&key.name)
            .execute(&mut *conn)
            .await?;
    }
    insert(conn, key, &after).await
}

async fn insert(
    conn: &mut SqliteConnection,
    key: &ObjectKey,
    labels: &BTreeMap<&str, &str>,
) -> Result<(), StoreError> {
    for (label, value) in labels {
        sqlx::query(
            "INSERT INTO labels (resource, key, value, namespace, name)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&key.resource)
        .bind(label)
        .bind(value)
        .bind(&key.namespace)
        .bind(&key.name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Fills the index from every live object: for a database written before the index
/// existed. Returns the number of objects read.
pub(super) async fn backfill(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM labels")
        .execute(&mut *conn)
        .await?;
    let rows = sqlx::query(
        "SELECT c.resource, c.namespace, c.name, c.rv, l.object
         FROM current c JOIN log l ON l.rv = c.rv",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut objects = 0;
    for row in rows {
        let key = ObjectKey {
            resource: row.try_get(0)?,
            namespace: row.try_get(1)?,
            name: row.try_get(2)?,
        };
        let rv = super::key::from_sql(row.try_get(3)?);
        let object = parse_stored(rv, row.try_get(4)?)?;
        insert(conn, &key, &labels_of(&object)).await?;
        objects += 1;
    }
    Ok(objects)
}

/// A requirement of `selector` that the index can answer: a label that must have one given
/// value. With several, the first by key is used (the rest are tested on the candidates).
pub(super) fn indexed_requirement(selector: &LabelSelector) -> Option<(&str, &str)> {
    selector.requirements().iter().find_map(|r| {
        let single = r.values().len() == 1;
        match r.operator() {
            Operator::Equals | Operator::DoubleEquals | Operator::In if single => {
                r.values().iter().next().map(|v| (r.key(), v.as_str()))
            }
            _ => None,
        }
    })
}

/// The current objects of resource `?1` carrying label `?7` = `?8`, after `(?2, ?3)` in key
/// order, at most `?4` (the columns of the other current-state queries).
pub(super) const CURRENT_ALL: &str = "SELECT l.rv, x.namespace, x.name, l.object
    FROM labels x
    JOIN current c ON c.resource = x.resource AND c.namespace = x.namespace AND c.name = x.name
    JOIN log l ON l.rv = c.rv
    WHERE x.resource = ?1 AND x.key = ?7 AND x.value = ?8 AND (x.namespace, x.name) > (?2, ?3)
    ORDER BY x.namespace, x.name LIMIT ?4";

/// The same in namespace `?2`, after name `?3`.
pub(super) const CURRENT_NS: &str = "SELECT l.rv, x.namespace, x.name, l.object
    FROM labels x
    JOIN current c ON c.resource = x.resource AND c.namespace = x.namespace AND c.name = x.name
    JOIN log l ON l.rv = c.rv
    WHERE x.resource = ?1 AND x.key = ?7 AND x.value = ?8 AND x.namespace = ?2 AND x.name > ?3
    ORDER BY x.name LIMIT ?4";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_requirements_use_the_index() {
        let pick = |text: &str| {
            let selector = LabelSelector::parse(text).unwrap();
            indexed_requirement(&selector).map(|(k, v)| format!("{k}={v}"))
        };
        assert_eq!(pick("app=web"), Some("app=web".into()));
        assert_eq!(pick("app==web"), Some("app=web".into()));
        assert_eq!(pick("tier in (db)"), Some("tier=db".into()));
        assert_eq!(pick("env!=prod,b=1"), Some("b=1".into()));
        assert_eq!(pick("tier in (db,web)"), None);
        assert_eq!(pick("app,!x,env notin (a)"), None);
        assert_eq!(pick(""), None);
    }

    #[test]
    fn only_string_labels_are_indexed() {
        let object = json!({"metadata": {"labels": {"a": "1", "b": 2, "c": ""}}});
        let labels = labels_of(&object);
        assert_eq!(labels, BTreeMap::from([("a", "1"), ("c", "")]));
        assert!(labels_of(&json!({"metadata": {}})).is_empty());
    }
}
