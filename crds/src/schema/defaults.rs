//! Defaulting with Kubernetes' structural-schema semantics.
//!
//! A property that is absent, or `null` where the schema does not allow null, gets a deep copy
//! of its `default`; a non-nullable `null` without a default is dropped, so that it reads as
//! absent. Defaulting then continues inside every value, including freshly defaulted ones, so
//! defaults of nested fields apply too. `metadata` of the resource is left alone.

use serde_json::Value;

use super::compile::{Additional, Node};

/// Applies defaults below `node` to `value`; `resource_root` protects `metadata`.
pub(crate) fn apply_defaults(node: &Node, value: &mut Value, resource_root: bool) {
    match value {
        Value::Object(map) => {
            for (key, prop) in &node.properties {
                if resource_root && key == "metadata" {
                    continue;
                }
                let Some(default) = &prop.default else {
                    continue;
                };
                match map.get(key) {
                    None => {
                        map.insert(key.clone(), default.clone());
                    }
                    Some(Value::Null) if !prop.nullable => {
                        map.insert(key.clone(), default.clone());
                    }
                    Some(_) => {}
                }
            }
            if let Additional::Schema(schema) = &node.additional
                && let Some(default) = &schema.default
            {
                for (key, v) in map.iter_mut() {
                    if v.is_null() && !schema.nullable && !node.properties.contains_key(key) {
                        *v = default.clone();
                    }
                }
            }
            // Non-nullable nulls without a default are pruned so they read as absent.
            map.retain(|key, v| {
                if !v.is_null() || (resource_root && key == "metadata") {
                    return true;
                }
                match node.properties.get(key) {
                    Some(prop) => prop.nullable || prop.type_.is_none() && !prop.int_or_string,
                    None => match &node.additional {
                        Additional::Schema(schema) => {
                            schema.nullable || schema.type_.is_none() && !schema.int_or_string
                        }
                        _ => true,
                    },
                }
            });
            for (key, v) in map.iter_mut() {
                if resource_root && key == "metadata" {
                    continue;
                }
                if let Some(child) = node.child(key) {
                    apply_defaults(child, v, child.embedded_resource);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_node) = &node.items {
                for item in items.iter_mut() {
                    if item.is_null()
                        && !item_node.nullable
                        && let Some(default) = &item_node.default
                    {
                        *item = default.clone();
                    }
                    apply_defaults(item_node, item, item_node.embedded_resource);
                }
            }
        }
        _ => {}
    }
}
