//! managedFields: who owns which field. Update operations (create, update, patch) give the
//! changed fields to their manager; server-side apply computes the applied configuration's
//! fields, reports conflicts with other managers (409) unless forced, removes fields the
//! applier stopped applying, and merges the configuration into the live object.

use serde_json::{Map, Value, json};

use super::fieldset::{
    FieldSet, ListType, ListTypes, display_path, fields_of, item_key, remove_at, value_at,
};
use super::status::{ApiError, Cause};

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
    fn subresource(&self) -> &str {
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

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn is_entry_of(e: &Entry, actor: &Actor, op: Operation) -> bool {
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

fn print_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        s.push_str(&format!(" with subresource {:?}", e.subresource));
    }
    if e.operation == Operation::Update {
        s.push_str(&format!(" using {}", e.api_version));
    }
    s
}

/// Server-side apply of `config` by `actor` onto `live` (absent when creating). Returns the
/// new object and managedFields, or a 409 listing the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    actor: &Actor,
    force: bool,
    lt: &ListTypes<'_>,
    now: &str,
) -> Result<(Value, Vec<Entry>), ApiError> {
    let mut entries = decode(live.and_then(|l| l.pointer("/metadata/managedFields")));
    let config_t = tracked(config, actor.scope);
    let config_set = fields_of(&config_t, &mut Vec::new(), lt);
    let mut base = match live {
        Some(l) => l.clone(),
        None => {
            let mut b = json!({
                "apiVersion": config.get("apiVersion").cloned().unwrap_or(Value::Null),
                "kind": config.get("kind").cloned().unwrap_or(Value::Null),
                "metadata": {},
            });
            for f in ["name", "namespace", "generateName"] {
                if let Some(v) = config.pointer(&format!("/metadata/{f}")) {
                    b["metadata"][f] = v.clone();
                }
            }
            b
        }
    };
    let base_t = tracked(&base, actor.scope);

    let mut conflicts: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if is_entry_of(e, actor, Operation::Apply) {
            continue;
        }
        for path in e.fields.intersection(&config_set).leaves() {
            if !same(value_at(&base_t, &path), value_at(&config_t, &path)) {
                conflicts.push((i, path));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&entries, &conflicts));
        }
        for (i, path) in &conflicts {
            let mut drop = FieldSet::default();
            drop.insert(path);
            entries[*i].fields = entries[*i].fields.difference(&drop);
        }
    }

    let previous = entries
        .iter()
        .find(|e| is_entry_of(e, actor, Operation::Apply))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others = entries
        .iter()
        .filter(|e| !is_entry_of(e, actor, Operation::Apply))
        .fold(FieldSet::default(), |acc, e| acc.union(&e.fields));
    let removed = previous.difference(&config_set);
    let mut doomed: Vec<Vec<String>> = removed
        .paths()
        .into_iter()
        .filter(|p| !others.has_any_under(p))
        .collect();
    // Deepest first, so removing an item does not hide its fields.
    doomed.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in doomed {
        remove_at(&mut base, &p);
    }

    merge_into(&mut base, &config_t, &mut Vec::new(), lt);

    entries.retain(|e| !is_entry_of(e, actor, Operation::Apply));
    entries.retain(|e| !e.fields.is_empty());
    if !config_set.is_empty() {
        entries.push(Entry {
            manager: actor.manager.clone(),
            operation: Operation::Apply,
            api_version: actor.api_version.clone(),
            time: now.to_string(),
            subresource: actor.subresource().to_string(),
            fields: config_set,
        });
    }
    Ok((base, entries))
}

fn conflict_error(entries: &[Entry], conflicts: &[(usize, Vec<String>)]) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(i, p)| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", print_manager(&entries[*i])),
            field: display_path(p),
        })
        .collect();
    let message = if let [(i, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            print_manager(&entries[*i]),
            display_path(p)
        )
    } else {
        let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
        for (i, p) in conflicts {
            let m = print_manager(&entries[*i]);
            match by_manager.iter_mut().find(|(x, _)| *x == m) {
                Some((_, paths)) => paths.push(display_path(p)),
                None => by_manager.push((m, vec![display_path(p)])),
            }
        }
        by_manager.sort_by(|a, b| a.0.cmp(&b.0));
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::apply_conflict(message, causes)
}

/// Merges an applied configuration into an object: maps recursively, associative lists by
/// key, sets by value, everything else replaced.
pub fn merge_into(target: &mut Value, config: &Value, names: &mut Vec<String>, lt: &ListTypes<'_>) {
    let (Value::Object(t), Value::Object(c)) = (&mut *target, config) else {
        *target = config.clone();
        return;
    };
    for (k, cv) in c {
        names.push(k.clone());
        match (t.get_mut(k), cv) {
            (_, Value::Null) => {
                t.remove(k);
            }
            (Some(tv @ Value::Object(_)), Value::Object(_)) => merge_into(tv, cv, names, lt),
            (Some(Value::Array(items)), Value::Array(new_items)) => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                match lt.list_type(&refs) {
                    ListType::Atomic => *items = new_items.clone(),
                    ListType::Set => {
                        for i in new_items {
                            if !items.contains(i) {
                                items.push(i.clone());
                            }
                        }
                    }
                    ListType::Map(keys) => {
                        for ni in new_items {
                            let key = item_key(ni, &keys);
                            let pos = key.as_ref().and_then(|k| {
                                items
                                    .iter()
                                    .position(|i| item_key(i, &keys).as_ref() == Some(k))
                            });
                            match pos {
                                Some(p) => merge_into(&mut items[p], ni, names, lt),
                                None => items.push(ni.clone()),
                            }
                        }
                    }
                }
            }
            _ => {
                t.insert(k.clone(), cv.clone());
            }
        }
        names.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn actor(manager: &str) -> Actor {
        Actor {
            manager: manager.into(),
            api_version: "net.example.io/v1alpha1".into(),
            scope: Scope::Main {
                status_separate: true,
            },
        }
    }

    fn with_managed(mut obj: Value, entries: &[Entry]) -> Value {
        obj["metadata"]["managedFields"] = encode(entries);
        obj
    }

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
    fn apply_conflicts_then_force_takes_ownership() {
        let lt = ListTypes::new(None);
        let live = json!({"apiVersion": "net.example.io/v1alpha1", "kind": "K", "metadata": {"name": "x"},
                          "spec": {"bandwidthMbps": 100, "customer": "acme"}});
        let entries = track_update(None, &live, &actor("kubectl-client-side-apply"), &lt, NOW);
        let live = with_managed(live, &entries);
        let config = json!({"apiVersion": "net.example.io/v1alpha1", "kind": "K", "metadata": {"name": "x"},
                            "spec": {"bandwidthMbps": 200, "customer": "acme"}});
        let e = apply(Some(&live), &config, &actor("kubectl"), false, &lt, NOW).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using net.example.io/v1alpha1: .spec.bandwidthMbps"
        );
        assert_eq!(
            e.to_status()["details"]["causes"][0]["field"],
            ".spec.bandwidthMbps"
        );

        let (obj, entries) =
            apply(Some(&live), &config, &actor("kubectl"), true, &lt, NOW).unwrap();
        assert_eq!(obj["spec"]["bandwidthMbps"], 200);
        let csa = entries
            .iter()
            .find(|e| e.manager == "kubectl-client-side-apply")
            .unwrap();
        assert_eq!(
            csa.fields.to_fields_v1(),
            json!({"f:spec": {"f:customer": {}}})
        );
        let ssa = entries.iter().find(|e| e.manager == "kubectl").unwrap();
        assert_eq!(ssa.operation, Operation::Apply);
        assert!(
            ssa.fields
                .contains(&["f:spec".into(), "f:bandwidthMbps".into()])
        );
    }

    #[test]
    fn apply_removes_fields_no_longer_applied_unless_shared() {
        let lt = ListTypes::new(None);
        let config1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
                             "data": {"x": "1", "y": "2"}});
        let (obj, entries) = apply(None, &config1, &actor("mgr"), false, &lt, NOW).unwrap();
        assert_eq!(obj["data"], json!({"x": "1", "y": "2"}));
        let live = with_managed(obj, &entries);
        // Another manager also sets y to the same value: shared ownership, no conflict.
        let (obj2, entries2) = apply(
            Some(&live),
            &json!({"metadata": {"name": "c"}, "data": {"y": "2"}}),
            &actor("other"),
            false,
            &lt,
            NOW,
        )
        .unwrap();
        let live = with_managed(obj2, &entries2);
        let config2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"z": "3"}});
        let (obj, _) = apply(Some(&live), &config2, &actor("mgr"), false, &lt, NOW).unwrap();
        assert_eq!(
            obj["data"],
            json!({"y": "2", "z": "3"}),
            "x removed, y kept for other"
        );
        assert!(
            obj["metadata"]
                .get("labels")
                .map(|l| l.as_object().unwrap().is_empty())
                .unwrap_or(true)
        );
        assert_eq!(obj["metadata"]["name"], "c");
    }

    #[test]
    fn status_applies_touch_only_status_and_merge_conditions_by_type() {
        let schema = json!({"type": "object", "properties": {"status": {"type": "object", "properties": {
            "conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                           "items": {"type": "object"}}}}}});
        let lt = ListTypes::new(Some(&schema));
        let status_actor = Actor {
            scope: Scope::Status,
            ..actor("ctrl")
        };
        let live = json!({"metadata": {"name": "x"}, "spec": {"a": 1},
                          "status": {"conditions": [{"type": "Other", "status": "True"}]}});
        let config = json!({"metadata": {"name": "x"}, "spec": {"a": 2},
                            "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        let (obj, entries) = apply(Some(&live), &config, &status_actor, false, &lt, NOW).unwrap();
        assert_eq!(obj["spec"]["a"], 1, "spec is not changed through /status");
        assert_eq!(obj["status"]["conditions"].as_array().unwrap().len(), 2);
        assert_eq!(entries[0].subresource, "status");
        let encoded = encode(&entries);
        assert_eq!(encoded[0]["subresource"], "status");
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
