//! Server-side apply: the applied configuration's fields, conflicts with other managers
//! (409 with Kubernetes' message) unless forced, removal of fields the applier stopped
//! applying (unless someone else owns them), and the merge of the configuration into the
//! live object (maps recursively, associative lists by key, sets by value).

use serde_json::{Value, json};

use super::fieldset::{
    FieldSet, ListType, ListTypes, display_path, fields_of, item_key, remove_at, value_at,
};
use super::managed::{Actor, Entry, Operation, decode, is_entry_of, same, tracked};
use super::status::{ApiError, Cause};

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
    use crate::managed::fixtures::{NOW, actor, with_managed};
    use crate::managed::{Scope, encode, track_update};

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
}
