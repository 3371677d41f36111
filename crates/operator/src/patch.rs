//! Status writes that send only what changed and never overwrite another writer's change.
//!
//! The status of a resource is shared: provisioning writes phase and its conditions, billing
//! and assurance write theirs. A JSON merge patch replaces whole arrays (conditions), so every
//! status patch carries the `resourceVersion` it was computed from: when someone wrote in
//! between, the API server answers 409 Conflict and the reconcile is retried with fresh data.

use serde_json::{Map, Value};

/// The JSON merge patch (RFC 7386) turning `old` into `new`: changed members, `null` for
/// removed ones, nothing for equal ones. `None` when they are equal.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for (key, value) in new {
                match old.get(key) {
                    Some(previous) => {
                        if let Some(inner) = merge_diff(previous, value) {
                            patch.insert(key.clone(), inner);
                        }
                    }
                    None => {
                        patch.insert(key.clone(), strip_nulls(value));
                    }
                }
            }
            for key in old.keys() {
                if !new.contains_key(key) {
                    patch.insert(key.clone(), Value::Null);
                }
            }
            Some(Value::Object(patch))
        }
        _ => Some(strip_nulls(new)),
    }
}

/// Merge patches cannot carry `null` as a value (it means "remove"); a new member whose value
/// contains nulls is sent without them, which is what the object will hold anyway.
fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A status patch: the merge diff of the statuses, guarded by `resource_version`.
pub fn status_patch(resource_version: Option<&str>, old: &Value, new: &Value) -> Option<Value> {
    let status = merge_diff(old, new)?;
    let mut patch = Map::new();
    if let Some(rv) = resource_version {
        patch.insert(
            "metadata".into(),
            serde_json::json!({ "resourceVersion": rv }),
        );
    }
    patch.insert("status".into(), status);
    Some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changes_are_sent_and_removals_are_null() {
        let old =
            json!({"phase": "Active", "allocations": {"vlan": 10, "ipv4": "a"}, "devices": [1]});
        let new = json!({"phase": "Active", "allocations": {"vlan": 11}, "devices": [1, 2]});
        assert_eq!(
            merge_diff(&old, &new).unwrap(),
            json!({"allocations": {"vlan": 11, "ipv4": null}, "devices": [1, 2]})
        );
        assert_eq!(merge_diff(&old, &old), None);
    }

    #[test]
    fn a_new_member_is_sent_whole() {
        let old = json!({});
        let new = json!({"allocations": {"vlan": 10}});
        assert_eq!(merge_diff(&old, &new).unwrap(), new);
        assert_eq!(merge_diff(&Value::Null, &new).unwrap(), new);
    }

    #[test]
    fn status_patches_carry_the_resource_version() {
        let patch = status_patch(Some("42"), &json!({"a": 1}), &json!({"a": 2})).unwrap();
        assert_eq!(
            patch,
            json!({"metadata": {"resourceVersion": "42"}, "status": {"a": 2}})
        );
        assert!(status_patch(Some("42"), &json!({"a": 1}), &json!({"a": 1})).is_none());
    }

    #[test]
    fn applying_the_diff_gives_the_new_value() {
        let old = json!({"a": {"b": 1, "c": [1]}, "d": "x", "e": {"f": 1}});
        let new = json!({"a": {"b": 2}, "e": {"f": 1, "g": {"h": true}}, "i": 3});
        let patch = merge_diff(&old, &new).unwrap();
        let mut merged = old.clone();
        json_patch::merge(&mut merged, &patch);
        assert_eq!(merged, new);
    }
}
