//! Background cleanup, as Kubernetes' garbage collector, namespace controller and CRD
//! finalizer do it: dependents whose owners are all gone are deleted; owners in foreground
//! deletion wait for their dependents; orphaning removes owner references; a terminating
//! namespace or CRD deletes its objects and then goes away itself; events expire an hour
//! after they were last seen (Kubernetes' default `--event-ttl`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::context::Ctx;
use super::crd::CLEANUP_FINALIZER;
use super::metadata::{self, meta_str};
use super::registry::{Builtin, ResourceType};
use super::rest::{DeletePolicy, delete_object};
use super::status::ApiError;
use super::store::{ListOptions, ObjectKey, StoreError, WriteOp};

/// Finalizers handled here.
const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

/// How often a full sweep runs at least, even without a trigger (after a restart, for
/// example, or for a dependent written with owners already gone).
const SWEEP: Duration = Duration::from_secs(10);
/// Sweeps are spaced at least this many times the last pass's duration apart, so that the
/// periodic sweep costs at most about 1/20 of a core however many objects are stored.
const SWEEP_SPACING: u32 = 20;
/// How long an event is kept after it was last seen.
pub const EVENT_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Shortest pause between two passes, so that a burst of writes costs one pass.
const PAUSE: Duration = Duration::from_millis(100);

/// Runs passes until `shutdown` fires: one at start, then on every trigger and sweep.
pub async fn run(ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let started = Instant::now();
        if let Err(e) = pass(&ctx).await {
            tracing::warn!(error = %e, "garbage collection pass failed");
        }
        let sweep = sweep_after(started.elapsed());
        tokio::select! {
            _ = ctx.gc_triggered() => {}
            _ = tokio::time::sleep(sweep) => {}
            _ = shutdown.changed() => return,
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// How long until the next periodic sweep after a pass that took `took`.
fn sweep_after(took: Duration) -> Duration {
    SWEEP.max(took.saturating_mul(SWEEP_SPACING))
}

/// What a pass knows of one stored object: the metadata it reads, typed (a JSON map per
/// object would cost kilobytes each at tens of thousands of objects); namespaces and CRDs,
/// which are few and read further, in full.
struct Item {
    rt: Arc<ResourceType>,
    name: String,
    namespace: String,
    uid: String,
    rv: Option<u64>,
    deleting: bool,
    finalizers: Vec<String>,
    owners: Vec<String>,
    /// An event last seen more than [`EVENT_TTL`] before the pass read it.
    expired: bool,
    /// The whole object, for namespaces and CRDs.
    full: Option<Value>,
}

impl Item {
    fn key(&self) -> ObjectKey {
        ObjectKey::new(
            self.rt.storage_resource.clone(),
            &self.namespace,
            &self.name,
        )
    }

    fn uid(&self) -> &str {
        &self.uid
    }

    fn deleting(&self) -> bool {
        self.deleting
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn rv(obj: &Value) -> Option<u64> {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok())
}

/// Objects read per page by a pass: only one page of stored text is held at a time.
const PAGE: usize = 500;

/// Every object, as much of it as a pass reads ([`skeleton`]): a pass over tens of thousands
/// of objects every few seconds must not hold all of them in full, nor all their stored text
/// at once (the listing goes page by page).
async fn everything(
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    for rt in ctx.registry().storage_types() {
        let mut options = ListOptions::new(rt.storage_resource.clone());
        options.limit = Some(PAGE);
        loop {
            let page = ctx.store().list_json(&options).await?;
            for text in page.items {
                let item = skeleton(&rt, &text, now).map_err(|e| StoreError::Corrupt {
                    rv: 0,
                    message: e.to_string(),
                })?;
                items.push(item);
            }
            match page.continue_token {
                Some(token) => options.continue_token = Some(token),
                None => break,
            }
        }
    }
    Ok(items)
}

/// The fields of an object a pass reads.
#[derive(serde::Deserialize)]
struct Skeleton {
    metadata: SkeletonMeta,
}

/// The metadata fields a pass reads (not managedFields, labels or annotations, which are
/// most of a small object's size).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SkeletonMeta {
    name: String,
    namespace: String,
    uid: String,
    resource_version: Option<String>,
    deletion_timestamp: Option<Value>,
    finalizers: Vec<String>,
    owner_references: Vec<OwnerUid>,
}

/// The part of an owner reference a pass reads.
#[derive(serde::Deserialize)]
struct OwnerUid {
    uid: String,
}

/// The stored object `text` reduced to what a pass reads; namespaces and CRDs (few, and read
/// further) in full; an event's expiry decided on the whole event, which is then dropped.
/// Writes start from the full object ([`full`]).
fn skeleton(
    rt: &Arc<ResourceType>,
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Result<Item> {
    let parsed: Skeleton = serde_json::from_str(text)?;
    let full = matches!(rt.builtin, Some(Builtin::Namespace | Builtin::Crd))
        .then(|| serde_json::from_str(text))
        .transpose()?;
    let expired =
        rt.builtin == Some(Builtin::CoreEvent) && event_expired(&serde_json::from_str(text)?, now);
    let meta = parsed.metadata;
    Ok(Item {
        rt: rt.clone(),
        rv: meta.resource_version.and_then(|v| v.parse().ok()),
        deleting: meta.deletion_timestamp.is_some_and(|t| !t.is_null()),
        owners: meta.owner_references.into_iter().map(|o| o.uid).collect(),
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        finalizers: meta.finalizers,
        expired,
        full,
    })
}

/// The full stored object of `item`; `None` when it is gone.
async fn full(ctx: &Ctx, item: &Item) -> Result<Option<Value>, ApiError> {
    match ctx.store().get(&item.key()).await {
        Ok(obj) => Ok(Some(obj)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(internal(e)),
    }
}

/// Deletes `item` (read in full first) unless it is gone already.
async fn delete_item(ctx: &Arc<Ctx>, item: &Item, policy: DeletePolicy) -> Result<(), ApiError> {
    let Some(obj) = full(ctx, item).await? else {
        return Ok(());
    };
    ignore_api_races(delete_object(ctx, &item.rt, &item.key(), &obj, policy, false).await)
}

/// Writes `obj` back (compare-and-swap on its version), deleting it in the same
/// transaction when it is being deleted and has no finalizer left.
async fn write_back(
    ctx: &Ctx,
    rt: &ResourceType,
    key: ObjectKey,
    old: &Value,
    new: Value,
) -> Result<(), StoreError> {
    let done = new.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&new).is_empty();
    let mut ops = vec![WriteOp::Update {
        key: key.clone(),
        object: new.clone(),
        expected_rv: rv(old),
    }];
    if done {
        ops.push(WriteOp::Delete {
            key,
            expected_rv: None,
        });
    }
    ctx.store().transaction(ops).await?;
    ctx.after_write(rt, &new).await;
    Ok(())
}

async fn remove_finalizer(ctx: &Ctx, item: &Item, name: &str) -> Result<(), StoreError> {
    let old = ctx.store().get(&item.key()).await?;
    let mut new = old.clone();
    let remaining: Vec<String> = finalizers(&new).into_iter().filter(|f| f != name).collect();
    if let Some(meta) = metadata::meta_mut(&mut new) {
        if remaining.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), json!(remaining));
        }
    }
    write_back(ctx, &item.rt, item.key(), &old, new).await
}

fn ignore_races(r: Result<(), StoreError>) -> Result<(), StoreError> {
    match r {
        Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

fn ignore_api_races(r: Result<Value, ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// One pass over every object.
pub async fn pass(ctx: &Arc<Ctx>) -> Result<(), ApiError> {
    let now = chrono::Utc::now();
    let items = everything(ctx, now)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let uids: HashSet<&str> = items.iter().map(Item::uid).collect();
    ctx.owners_seen(
        items
            .iter()
            .flat_map(|item| item.owners().iter().map(String::as_str)),
    );
    let mut dependents: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in &items {
        for owner in item.owners() {
            if let Some(k) = uids.get(owner.as_str()) {
                dependents.entry(*k).or_default().push(item);
            }
        }
    }

    for item in &items {
        if item.expired {
            match ctx.store().delete(item.key(), item.rv).await {
                Ok(_) | Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
                Err(e) => return Err(internal(e)),
            }
            continue;
        }
        // Dependents whose owners are all gone.
        let owners = item.owners();
        if !owners.is_empty()
            && !item.deleting()
            && owners.iter().all(|o| !uids.contains(o.as_str()))
        {
            delete_item(ctx, item, DeletePolicy::Background).await?;
            continue;
        }
        if !item.deleting() {
            continue;
        }
        let deps = dependents.get(item.uid()).cloned().unwrap_or_default();
        if item.has_finalizer(ORPHAN) {
            for dep in &deps {
                let Some(old) = full(ctx, dep).await? else {
                    continue;
                };
                let mut new = old.clone();
                let uid = item.uid().to_string();
                if let Some(refs) = new
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                }
                ignore_races(write_back(ctx, &dep.rt, dep.key(), &old, new).await)
                    .map_err(internal)?;
            }
            ignore_races(remove_finalizer(ctx, item, ORPHAN).await).map_err(internal)?;
            continue;
        }
        if item.has_finalizer(FOREGROUND) {
            if deps.is_empty() {
                ignore_races(remove_finalizer(ctx, item, FOREGROUND).await).map_err(internal)?;
            } else {
                for dep in deps.iter().filter(|d| !d.deleting()) {
                    delete_item(ctx, dep, DeletePolicy::Foreground).await?;
                }
            }
            continue;
        }
        match item.rt.builtin {
            Some(Builtin::Namespace) => namespace(ctx, item, &items).await?,
            Some(Builtin::Crd) if item.has_finalizer(CLEANUP_FINALIZER) => {
                crd_cleanup(ctx, item).await?
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether an event was last seen more than [`EVENT_TTL`] before `now`.
pub fn event_expired(event: &Value, now: chrono::DateTime<chrono::Utc>) -> bool {
    let last_seen = [
        "/series/lastObservedTime",
        "/lastTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .filter_map(|p| event.pointer(p).and_then(Value::as_str))
    .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    .map(|t| t.with_timezone(&chrono::Utc))
    .max();
    last_seen.is_some_and(|t| now - t > EVENT_TTL)
}

fn internal(e: StoreError) -> ApiError {
    ApiError::internal(e.to_string())
}

async fn namespace(ctx: &Arc<Ctx>, ns: &Item, items: &[Item]) -> Result<(), ApiError> {
    let name = ns.name.as_str();
    let contents: Vec<&Item> = items
        .iter()
        .filter(|i| i.rt.namespaced && i.namespace == name)
        .collect();
    if contents.is_empty() {
        if ns.finalizers.is_empty() {
            match ctx.store().delete(ns.key(), ns.rv).await {
                Ok(w) => ctx.after_delete(&ns.rt, &w.object).await,
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {}
                Err(e) => return Err(internal(e)),
            }
        }
        return Ok(());
    }
    for item in contents.into_iter().filter(|i| !i.deleting()) {
        delete_item(ctx, item, DeletePolicy::Background).await?;
    }
    Ok(())
}

async fn crd_cleanup(ctx: &Arc<Ctx>, crd: &Item) -> Result<(), ApiError> {
    let Some(obj) = &crd.full else {
        return Ok(());
    };
    let group = obj
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let plural = obj
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    let registry = ctx.registry();
    let Some(rt) = registry
        .storage_types()
        .into_iter()
        .find(|t| t.group == group && t.plural == plural)
    else {
        return ignore_races(remove_finalizer(ctx, crd, CLEANUP_FINALIZER).await).map_err(internal);
    };
    let objects = ctx
        .store()
        .list(&ListOptions::new(rt.storage_resource.clone()))
        .await
        .map_err(internal)?
        .items;
    if objects.is_empty() {
        return ignore_races(remove_finalizer(ctx, crd, CLEANUP_FINALIZER).await).map_err(internal);
    }
    for obj in objects {
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let key = ObjectKey::new(
            rt.storage_resource.clone(),
            meta_str(&obj, "namespace").unwrap_or(""),
            meta_str(&obj, "name").unwrap_or(""),
        );
        ignore_api_races(
            delete_object(ctx, &rt, &key, &obj, DeletePolicy::Background, false).await,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skeleton_keeps_what_a_pass_reads() {
        let text = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                         "creationTimestamp": "2026-01-01T10:00:00Z",
                         "deletionTimestamp": "2026-01-01T11:00:00Z", "finalizers": ["f"],
                         "ownerReferences": [{"uid": "u0", "name": "p"}],
                         "managedFields": [{"manager": "m"}], "annotations": {"a": "b"}},
            "data": {"big": "x"}, "lastTimestamp": "2026-01-01T10:30:00Z"
        })
        .to_string();
        let registry = crate::registry::Registry::build(&[]);
        let rt = registry
            .storage_types()
            .into_iter()
            .find(|t| t.plural == "configmaps")
            .unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let item = skeleton(&rt, &text, now).unwrap();
        assert_eq!(item.uid(), "u1");
        assert_eq!(item.owners(), ["u0"]);
        assert!(item.deleting() && item.has_finalizer("f"));
        assert_eq!(item.rv, Some(7));
        assert_eq!(item.key().name, "a");
        assert_eq!(item.key().namespace, "ns");
        assert!(item.full.is_none() && !item.expired, "not an event");
        let events = registry
            .storage_types()
            .into_iter()
            .find(|t| t.builtin == Some(Builtin::CoreEvent))
            .unwrap();
        assert!(
            skeleton(&events, &text, now).unwrap().expired,
            "last seen 10:30"
        );
        let namespaces = registry
            .storage_types()
            .into_iter()
            .find(|t| t.builtin == Some(Builtin::Namespace))
            .unwrap();
        let ns = skeleton(&namespaces, &text, now).unwrap();
        assert_eq!(
            ns.full.unwrap()["data"]["big"],
            "x",
            "namespaces are kept whole"
        );
    }

    #[test]
    fn sweeps_are_spaced_by_the_cost_of_a_pass() {
        assert_eq!(sweep_after(Duration::from_millis(50)), SWEEP);
        assert_eq!(sweep_after(Duration::from_secs(2)), Duration::from_secs(40));
    }

    #[test]
    fn events_expire_an_hour_after_they_were_last_seen() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let old = json!({"metadata": {"creationTimestamp": "2026-01-01T10:00:00Z"}, "lastTimestamp": "2026-01-01T10:30:00Z"});
        assert!(event_expired(&old, now));
        let recurring = json!({"metadata": {"creationTimestamp": "2026-01-01T10:00:00Z"},
                               "series": {"lastObservedTime": "2026-01-01T11:30:00.000000Z"}});
        assert!(!event_expired(&recurring, now));
        assert!(!event_expired(&json!({"metadata": {}}), now));
    }
}
