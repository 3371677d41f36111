//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) with Kubernetes' `test` semantics, and
//! strategic merge patch for the built-in types.

use serde_json::{Map, Value};

use super::status::ApiError;

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies an RFC 6902 JSON patch. As in Kubernetes, a `test` of a path that does not exist
/// against `null` succeeds; a failed test is a 422, a malformed patch a 400.
pub fn json_patch(target: &mut Value, patch_body: &Value) -> Result<(), ApiError> {
    let ops: Vec<json_patch::PatchOperation> = serde_json::from_value(patch_body.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        if let json_patch::PatchOperation::Test(t) = op
            && t.value.is_null()
            && doc.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut doc, std::slice::from_ref(op)).map_err(|e| match e.kind {
            json_patch::PatchErrorKind::TestFailed => ApiError::unprocessable(format!(
                "the server rejected our request due to an error in our request: testing value {} failed (operation {i})",
                e.path
            )),
            _ => ApiError::unprocessable(format!("the JSON patch could not be applied: {e}")),
        })?;
    }
    *target = doc;
    Ok(())
}

/// How a list is merged by a strategic merge patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// The patch's list replaces the original.
    Replace,
    /// Primitive items are merged as a set (e.g. `metadata.finalizers`).
    MergePrimitive,
    /// Object items are merged by the given key (e.g. `metadata.ownerReferences` by `uid`).
    MergeByKey(&'static str),
}

/// The list strategies of the built-in types (ObjectMeta's lists; all others replace).
pub fn builtin_list_strategy(path: &[&str]) -> ListStrategy {
    match path {
        ["metadata", "finalizers"] => ListStrategy::MergePrimitive,
        ["metadata", "ownerReferences"] => ListStrategy::MergeByKey("uid"),
        _ => ListStrategy::Replace,
    }
}

const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch using `strategy` to decide how lists merge.
pub fn strategic_merge_patch(
    target: &mut Value,
    patch: &Value,
    strategy: &dyn Fn(&[&str]) -> ListStrategy,
) -> Result<(), ApiError> {
    let Value::Object(p) = patch else {
        return Err(ApiError::bad_request(
            "a strategic merge patch must be a JSON object",
        ));
    };
    let mut path = Vec::new();
    let merged = merge_map(
        target.as_object().cloned().unwrap_or_default(),
        p,
        &mut path,
        strategy,
    )?;
    *target = Value::Object(merged);
    Ok(())
}

fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
    strategy: &dyn Fn(&[&str]) -> ListStrategy,
) -> Result<Map<String, Value>, ApiError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = patch.clone();
            strip_directives(&mut replaced);
            return Ok(replaced);
        }
        Some("delete") => return Ok(Map::new()),
        Some("merge") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch type {other:?} in strategic merge patch"
            )));
        }
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        original.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE) {
            if let (Some(Value::Array(list)), Some(remove)) =
                (original.get_mut(field), value.as_array())
            {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        path.push(key.clone());
        let merged = match (original.remove(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    None
                } else {
                    Some(Value::Object(merge_map(o, p, path, strategy)?))
                }
            }
            (existing, Value::Array(p)) => {
                let refs: Vec<&str> = path.iter().map(String::as_str).collect();
                Some(Value::Array(merge_list(existing, p, strategy(&refs))))
            }
            (_, Value::Object(p)) => {
                let mut fresh = p.clone();
                strip_directives(&mut fresh);
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    None
                } else {
                    Some(Value::Object(fresh))
                }
            }
            (_, v) => Some(v.clone()),
        };
        path.pop();
        if let Some(v) = merged {
            original.insert(key.clone(), v);
        }
    }
    Ok(original)
}

fn strip_directives(map: &mut Map<String, Value>) {
    map.retain(|k, _| !k.starts_with('$'));
    for v in map.values_mut() {
        if let Value::Object(o) = v {
            strip_directives(o);
        }
    }
}

fn merge_list(existing: Option<Value>, patch: &[Value], strategy: ListStrategy) -> Vec<Value> {
    let original = match existing {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    match strategy {
        ListStrategy::Replace => patch
            .iter()
            .filter(|v| v.get("$patch").is_none())
            .cloned()
            .collect(),
        ListStrategy::MergePrimitive => {
            let mut out = original;
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            out
        }
        ListStrategy::MergeByKey(key) => {
            let mut out = original;
            for item in patch {
                let Some(k) = item.get(key) else {
                    continue;
                };
                let pos = out.iter().position(|o| o.get(key) == Some(k));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let (Value::Object(o), Value::Object(p)) = (&mut out[i], item) {
                            for (pk, pv) in p {
                                if pv.is_null() {
                                    o.remove(pk);
                                } else {
                                    o.insert(pk.clone(), pv.clone());
                                }
                            }
                        }
                    }
                    (None, false) => {
                        let mut fresh = item.clone();
                        if let Value::Object(o) = &mut fresh {
                            strip_directives(o);
                        }
                        out.push(fresh);
                    }
                }
            }
            out
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Arbitrary JSON values, a few levels deep, with the keys patches use.
    pub(crate) fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z$/]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("$patch".to_string()),
                        Just("$retainKeys".to_string()),
                        Just("$deleteFromPrimitiveList/finalizers".to_string()),
                        Just("metadata".to_string()),
                        Just("finalizers".to_string()),
                        Just("ownerReferences".to_string()),
                        Just("uid".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn patches_never_panic(target in any_json(), patch in any_json()) {
            let mut t = target.clone();
            merge_patch(&mut t, &patch);
            let mut t = target.clone();
            let _ = strategic_merge_patch(&mut t, &patch, &builtin_list_strategy);
            let mut t = target;
            let _ = json_patch(&mut t, &patch);
        }

        #[test]
        fn json_patch_operations_never_panic(
            target in any_json(),
            op in prop_oneof![Just("add"), Just("remove"), Just("replace"), Just("move"), Just("copy"), Just("test")],
            path in "(/[a-z0-9~-]{0,3}){0,4}",
            value in any_json(),
        ) {
            let mut t = target;
            let _ = json_patch(&mut t, &json!([{"op": op, "path": path, "from": path, "value": value}]));
        }
    }

    #[test]
    fn merge_patch_removes_nulls_and_merges_maps() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut v, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(v, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn json_patch_test_semantics() {
        let mut v = json!({"metadata": {"name": "x"}});
        // kube-rs' finalizer() tests a missing list against null before adding it.
        json_patch(
            &mut v,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
            ]),
        )
        .unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["f"]));
        let before = v.clone();
        let e = json_patch(
            &mut v,
            &json!([
                {"op": "remove", "path": "/metadata/finalizers/0"},
                {"op": "test", "path": "/metadata/name", "value": "other"}
            ]),
        )
        .unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(v, before, "a failed patch leaves the object alone");
        assert_eq!(
            json_patch(&mut v, &json!({"op": "x"})).unwrap_err().code,
            400
        );
        let e = json_patch(&mut v, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert_eq!(e.code, 422);
    }

    #[test]
    fn strategic_merge_patch_directives_and_lists() {
        let mut v = json!({
            "metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}],
                         "annotations": {"k": "v"}},
            "data": {"a": "1", "b": "2"}
        });
        let patch = json!({
            "$setElementOrder/finalizers": ["a", "b"],
            "metadata": {"finalizers": ["b"], "ownerReferences": [{"uid": "2", "name": "y"}, {"uid": "1", "$patch": "delete"}],
                         "annotations": {"k": null, "n": "m"}},
            "data": {"b": null, "c": "3"}
        });
        strategic_merge_patch(&mut v, &patch, &builtin_list_strategy).unwrap();
        assert_eq!(
            v,
            json!({
                "metadata": {"finalizers": ["a", "b"], "ownerReferences": [{"uid": "2", "name": "y"}],
                             "annotations": {"n": "m"}},
                "data": {"a": "1", "c": "3"}
            })
        );
        strategic_merge_patch(
            &mut v,
            &json!({"data": {"$patch": "replace", "z": "9"}}),
            &builtin_list_strategy,
        )
        .unwrap();
        assert_eq!(v["data"], json!({"z": "9"}));
        strategic_merge_patch(
            &mut v,
            &json!({"$deleteFromPrimitiveList/finalizers": ["a"], "metadata": {}}),
            &builtin_list_strategy,
        )
        .unwrap();
        strategic_merge_patch(
            &mut v,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            &builtin_list_strategy,
        )
        .unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(
            strategic_merge_patch(&mut v, &json!([1]), &builtin_list_strategy)
                .unwrap_err()
                .code,
            400
        );
    }
}
