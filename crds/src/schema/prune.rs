//! Pruning of unknown fields with Kubernetes' structural-schema semantics.
//!
//! Object members the schema does not specify are removed and their paths reported, so the API
//! server can reject them (`fieldValidation=Strict`), warn (`Warn`) or drop them silently
//! (`Ignore`). Below `x-kubernetes-preserve-unknown-fields: true` unknown members are kept, but
//! members that do have a schema are still pruned inside. `apiVersion`, `kind` and `metadata`
//! of the resource and of embedded resources are always kept.

use serde_json::Value;

use super::compile::{Additional, Node};
use super::path::FieldPath;

/// Prunes `value` against `node` (`None`: no schema, everything inside objects is unknown);
/// appends the path of every removed member to `pruned`.
pub(crate) fn prune(
    node: Option<&Node>,
    value: &mut Value,
    path: &mut FieldPath,
    resource_root: bool,
    pruned: &mut Vec<String>,
) {
    let keeps_meta = resource_root || node.is_some_and(|n| n.embedded_resource);
    match value {
        Value::Object(map) => {
            let preserve = node.is_some_and(|n| n.preserve_unknown);
            map.retain(|key, child| {
                if keeps_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    return true;
                }
                let child_node = match node {
                    None => None,
                    Some(n) => match n.properties.get(key) {
                        Some(c) => Some(Some(c)),
                        None => match &n.additional {
                            Additional::Schema(c) => Some(Some(&**c)),
                            Additional::Any | Additional::Forbidden => Some(None),
                            Additional::Unspecified => None,
                        },
                    },
                };
                match child_node {
                    // A member with a schema (or under additionalProperties: true/false,
                    // which validation handles): keep it and prune inside it.
                    Some(Some(c)) => {
                        let mark = path.push_key(key);
                        prune(Some(c), child, path, c.embedded_resource, pruned);
                        path.pop(mark);
                        true
                    }
                    Some(None) => true,
                    None if preserve => true,
                    None => {
                        pruned.push(path.with_key(key));
                        false
                    }
                }
            });
        }
        Value::Array(items) => {
            let item_node = match node {
                Some(n) if n.preserve_unknown && n.items.is_none() => return,
                Some(n) => n.items.as_deref(),
                None => None,
            };
            for (i, item) in items.iter_mut().enumerate() {
                let mark = path.push_index(i);
                prune(
                    item_node,
                    item,
                    path,
                    item_node.is_some_and(|n| n.embedded_resource),
                    pruned,
                );
                path.pop(mark);
            }
        }
        _ => {}
    }
}
