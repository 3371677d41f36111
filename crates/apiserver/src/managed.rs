//! managedFields: who owns which field. Update operations (create, update, patch) give the
//! changed fields to their manager; fields that no longer exist leave every entry. Server-side
//! apply is in [`super::apply`].

use serde_json::{Map, Value, json};

use super::fieldset::{FieldSet, ListTypes, fields_of, value_at};

/// The operation recorded for a manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The apiVersion the manager used.
    pub api_version: String,
    /// When the entry last changed (RFC 3339).
    pub time: String,
    /// `status` for writes through the status subresource, else empty.
    pub subresource: String,
    /// The owned fields.
    pub fields: FieldSet,
}

/// Which part of an object a request may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main endpoint; `status_separate` when status is a subresource (then ignored).
    Main {
        /// Whether the type has a status subresource.
        status_separate: bool,
    },
    /// The `/status` subresource: only `status` changes.
    Status,
    /// Everything (used to know which fields exist at all).
    All,
}

/// The manager making a request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// fieldManager.
    pub manager: String,
    /// apiVersion of the request.
    pub api_version: String,
    /// Request scope.
    pub scope: Scope,
}

impl Actor {
    /// `status` for the status subresource, else empty.
    pub fn subresource(&self) -> &str {
        if self.scope == Scope::Status {
            "status"
        } else {
            ""
        }
    }
}

/// Decodes `metadata.managedFields`; malformed entries are dropped.
pub fn decode(managed: Option<&Value>) -> Vec<Entry> {
    let Some(Value::Array(items)) = managed else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let operation = match e.get("operation")?.as_str()? {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return None,
            };
            Some(Entry {
                manager: e
                    .get("manager")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                operation,
                api_version: e
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                time: e
                    .get("time")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                fields: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
            })
        })
        .collect()
}

/// Encodes entries as `metadata.managedFields`.
pub fn encode(entries: &[Entry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let mut v = json!({
                    "manager": e.manager,
                    "operation": match e.operation { Operation::Apply => "Apply", Operation::Update => "Update" },
                    "apiVersion": e.api_version,
                    "time": e.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": e.fields.to_fields_v1(),
                });
                if !e.subresource.is_empty() {
                    v["subresource"] = json!(e.subresource);
                }
                v
            })
            .collect(),
    )
}

const TRACKED_METADATA: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// The object reduced to the fields managers can own within `scope`.
pub fn tracked(obj: &Value, scope: Scope) -> Value {
    let mut out = Map::new();
    let Value::Object(m) = obj else {
        return Value::Object(out);
    };
    for (k, v) in m {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                if scope == Scope::Status {
                    continue;
                }
                let mut meta = Map::new();
                for f in TRACKED_METADATA {
                    if let Some(x) = v.get(*f) {
                        meta.insert((*f).to_string(), x.clone());
                    }
                }
                if !meta.is_empty() {
                    out.insert(k.clone(), Value::Object(meta));
                }
            }
            "status" => {
                if matches!(
                    scope,
                    Scope::Status
                        | Scope::All
                        | Scope::Main {
                            status_separate: false
                        }
                ) {
                    out.insert(k.clone(), v.clone());
                }
            }
            _ => {
                if scope != Scope::Status {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// Whether two values at a field path are equal (numbers compared by value).
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether `e` is the entry of `actor` for operation `op`.
pub(crate) fn is_entry_of(e: &Entry, actor: &Actor, op: Operation) -> bool {
    e.manager == actor.manager
        && e.operation == op
        && e.subresource == actor.subresource()
        && (op == Operation::Apply || e.api_version == actor.api_version)
}

/// Records an update by `actor` from `old` to `new`: the changed fields move to the actor's
/// Update entry; fields that no longer exist leave every entry. When the request itself
/// changed managedFields, those are taken as the starting point, as Kubernetes does.
pub fn track_update(
    old: Option<&Value>,
    new: &Value,
    actor: &Actor,
    lt: &ListTypes<'_>,
    now: &str,
) -> Vec<Entry> {
    let old_managed = old.and_then(|o| o.pointer("/metadata/managedFields"));
    let new_managed = new.pointer("/metadata/managedFields");
    let mut entries = if new_managed.is_some() && new_managed != old_managed {
        decode(new_managed)
    } else {
        decode(old_managed)
    };
    let empty = json!({});
    let old_t = tracked(old.unwrap_or(&empty), actor.scope);
    let new_t = tracked(new, actor.scope);
    let new_set = fields_of(&new_t, &mut Vec::new(), lt);
    let all_new = fields_of(&tracked(new, Scope::All), &mut Vec::new(), lt);
    let mut changed = FieldSet::default();
    let leaves = new_set.leaves();
    for path in new_set.paths() {
        let (before, after) = (value_at(&old_t, &path), value_at(&new_t, &path));
        let is_leaf = leaves.contains(&path);
        if (is_leaf && !same(before, after)) || before.is_none() {
            changed.insert(&path);
        }
    }
    let mut mine: Option<Entry> = None;
    for e in entries.iter_mut() {
        if mine.is_none() && is_entry_of(e, actor, Operation::Update) {
            mine = Some(e.clone());
            e.fields = FieldSet::default();
            continue;
        }
        e.fields = e.fields.difference(&changed).intersection(&all_new);
    }
    entries.retain(|e| !e.fields.is_empty());
    if !changed.is_empty() || mine.is_some() {
        let previous = mine.as_ref().map(|m| m.fields.clone()).unwrap_or_default();
        let fields = previous.union(&changed).intersection(&all_new);
        if !fields.is_empty() {
            let time = if changed.is_empty() {
                mine.as_ref()
                    .map(|m| m.time.clone())
                    .unwrap_or_else(|| now.to_string())
            } else {
                now.to_string()
            };
            let entry = Entry {
                manager: actor.manager.clone(),
                operation: Operation::Update,
                api_version: actor.api_version.clone(),
                time,
                subresource: actor.subresource().to_string(),
                fields,
            };
            entries.push(entry);
        }
    }
    entries
}

/// Fixtures shared by the managed-fields and apply tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub(crate) const NOW: &str = "2026-01-01T00:00:00Z";

    /// A main-resource writer with a separate status.
    pub(crate) fn actor(manager: &str) -> Actor {
        Actor {
            manager: manager.into(),
            api_version: "net.example.io/v1alpha1".into(),
            scope: Scope::Main {
                status_separate: true,
            },
        }
    }

    /// `obj` with `entries` as its managedFields.
    pub(crate) fn with_managed(mut obj: Value, entries: &[Entry]) -> Value {
        obj["metadata"]["managedFields"] = encode(entries);
        obj
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn create_gives_every_field_to_the_creator() {
        let lt = ListTypes::new(None);
        let obj = json!({"apiVersion": "v", "kind": "K", "metadata": {"name": "x", "labels": {"app": "demo"}},
                         "spec": {"customer": "acme", "tier": "bronze"}, "status": {"phase": "A"}});
        let entries = track_update(None, &obj, &actor("kubectl-client-side-apply"), &lt, NOW);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].fields.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:customer": {}, "f:tier": {}}})
        );
        let encoded = encode(&entries);
        assert_eq!(encoded[0]["operation"], "Update");
        assert_eq!(decode(Some(&encoded)), entries);
    }

    #[test]
    fn updates_move_changed_fields_between_managers() {
        let lt = ListTypes::new(None);
        let old = json!({"metadata": {"name": "x"}, "spec": {"a": 1, "b": 2}});
        let entries = track_update(None, &old, &actor("one"), &lt, NOW);
        let old = with_managed(old, &entries);
        let mut new = old.clone();
        new["spec"]["a"] = json!(5);
        new["spec"].as_object_mut().unwrap().remove("b");
        let entries = track_update(Some(&old), &new, &actor("two"), &lt, NOW);
        assert_eq!(entries.len(), 1, "one lost a and b: {entries:?}");
        assert_eq!(entries[0].manager, "two");
        assert_eq!(
            entries[0].fields.to_fields_v1(),
            json!({"f:spec": {"f:a": {}}})
        );
    }

    #[test]
    fn user_supplied_managed_fields_are_taken() {
        let lt = ListTypes::new(None);
        let old = json!({"metadata": {"name": "x"}, "spec": {"a": 1}});
        let entries = track_update(None, &old, &actor("one"), &lt, NOW);
        let old = with_managed(old, &entries);
        let mut renamed = entries.clone();
        renamed[0].manager = "kubectl".into();
        renamed[0].operation = Operation::Apply;
        let new = with_managed(old.clone(), &renamed);
        let result = track_update(Some(&old), &new, &actor("kubectl"), &lt, NOW);
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].manager, "kubectl");
        assert_eq!(result[0].operation, Operation::Apply);
    }
}
