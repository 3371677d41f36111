//! Checks that a CRD schema is *structural* and otherwise acceptable to a Kubernetes API server
//! (apiextensions.k8s.io/v1): every specified field has a type, value validations in
//! junctors (`allOf`, `anyOf`, `oneOf`, `not`) do not introduce structure, no unsupported
//! keywords, and every `default` validates and survives pruning.
//!
//! The embedded API server runs this when a CRD is created; the tests run it on Ferrule's own
//! CRDs so that a schema a real cluster would refuse never gets committed.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

use super::compile::Node;
use super::error::{BadValue, FieldError};
use super::path::FieldPath;
use super::{defaults, prune, validate};

/// Where in the tree a node sits; decides which rules apply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    /// A property, an additionalProperties schema or array items: must be typed.
    Field,
    /// Inside a junctor: may only carry value validations.
    Nested,
}

/// All violations found in `schema`, with paths below `prefix`
/// (e.g. `spec.versions[0].schema.openAPIV3Schema`). Empty when the schema is fine.
pub fn check_structural(schema: &JSONSchemaProps, prefix: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check(schema, prefix, Place::Root, &mut errors);
    errors
}

fn at(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

fn check(s: &JSONSchemaProps, path: &str, place: Place, errors: &mut Vec<FieldError>) {
    let int_or_string = s.x_kubernetes_int_or_string == Some(true);
    let preserve = s.x_kubernetes_preserve_unknown_fields == Some(true);
    let type_ = s.type_.as_deref().unwrap_or("");

    match place {
        Place::Root if type_.is_empty() => {
            errors.push(FieldError::required(
                &at(path, "type"),
                "must not be empty at the root",
            ));
        }
        Place::Root if type_ != "object" => {
            errors.push(FieldError::invalid(
                &at(path, "type"),
                BadValue::Str(type_),
                "must be object at the root",
            ));
        }
        Place::Field if type_.is_empty() && !int_or_string && !preserve => {
            errors.push(FieldError::required(
                &at(path, "type"),
                "must not be empty for specified fields",
            ));
        }
        Place::Nested => check_nested(s, path, errors),
        _ => {}
    }
    if int_or_string && !type_.is_empty() {
        errors.push(FieldError::invalid(
            &at(path, "type"),
            BadValue::Str(type_),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if s.x_kubernetes_preserve_unknown_fields == Some(false) {
        errors.push(FieldError::invalid(
            &at(path, "x-kubernetes-preserve-unknown-fields"),
            BadValue::Json(&Value::Bool(false)),
            "must be true or undefined",
        ));
    }
    forbid_unsupported(s, path, errors);
    if s.properties.is_some() && s.additional_properties.is_some() {
        errors.push(FieldError::forbidden(
            &at(path, "additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    if s.unique_items == Some(true) {
        errors.push(FieldError::forbidden(
            &at(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if type_ == "array" && s.items.is_none() && place != Place::Nested {
        errors.push(FieldError::required(
            &at(path, "items"),
            "must be specified",
        ));
    }
    if s.x_kubernetes_embedded_resource == Some(true) {
        if type_ != "object" {
            errors.push(FieldError::invalid(
                &at(path, "type"),
                BadValue::Str(type_),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
        if s.properties.is_none() && !preserve {
            errors.push(FieldError::required(
                &at(path, "properties"),
                "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
            ));
        }
    }
    check_list_type(s, path, errors);

    let child_place = if place == Place::Nested {
        Place::Nested
    } else {
        Place::Field
    };
    for (name, prop) in s.properties.iter().flatten() {
        check(
            prop,
            &format!("{path}.properties[{name}]"),
            child_place,
            errors,
        );
    }
    if let Some(JSONSchemaPropsOrBool::Schema(add)) = &s.additional_properties {
        check(add, &at(path, "additionalProperties"), child_place, errors);
    }
    match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => {
            check(items, &at(path, "items"), child_place, errors)
        }
        Some(JSONSchemaPropsOrArray::Schemas(_)) => errors.push(FieldError::forbidden(
            &at(path, "items"),
            "items must be a schema object and not an array",
        )),
        None => {}
    }
    for (name, list) in [
        ("allOf", &s.all_of),
        ("anyOf", &s.any_of),
        ("oneOf", &s.one_of),
    ] {
        for (i, sub) in list.iter().flatten().enumerate() {
            let sub_path = format!("{path}.{name}[{i}]");
            if int_or_string && is_int_or_string_branch(sub) {
                continue;
            }
            check(sub, &sub_path, Place::Nested, errors);
            check_junctor_fields_specified(sub, s, &sub_path, errors);
        }
    }
    if let Some(not) = &s.not {
        let sub_path = at(path, "not");
        check(not, &sub_path, Place::Nested, errors);
        check_junctor_fields_specified(not, s, &sub_path, errors);
    }
    if let Some(default) = &s.default {
        if place == Place::Root {
            errors.push(FieldError::forbidden(
                &at(path, "default"),
                "must not be set at the root",
            ));
        } else if place == Place::Field {
            check_default(s, &default.0, path, errors);
        }
    }
}

/// In a junctor only value validations are allowed.
fn check_nested(s: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let forbidden = [
        ("type", s.type_.is_some()),
        ("description", s.description.is_some()),
        ("default", s.default.is_some()),
        ("additionalProperties", s.additional_properties.is_some()),
        ("nullable", s.nullable.is_some()),
        (
            "x-kubernetes-preserve-unknown-fields",
            s.x_kubernetes_preserve_unknown_fields.is_some(),
        ),
        (
            "x-kubernetes-embedded-resource",
            s.x_kubernetes_embedded_resource.is_some(),
        ),
        (
            "x-kubernetes-int-or-string",
            s.x_kubernetes_int_or_string.is_some(),
        ),
    ];
    for (key, present) in forbidden {
        if present {
            errors.push(FieldError::forbidden(
                &at(path, key),
                "must be empty to be structural",
            ));
        }
    }
}

fn is_int_or_string_branch(s: &JSONSchemaProps) -> bool {
    matches!(s.type_.as_deref(), Some("integer" | "string"))
        && s.properties.is_none()
        && s.items.is_none()
        && s.all_of.is_none()
        && s.any_of.is_none()
}

/// Every property and items a junctor mentions must also be specified outside it.
fn check_junctor_fields_specified(
    sub: &JSONSchemaProps,
    outer: &JSONSchemaProps,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    for name in sub.properties.iter().flatten().map(|(name, _)| name) {
        let specified = outer
            .properties
            .as_ref()
            .is_some_and(|p| p.contains_key(name));
        if !specified {
            errors.push(FieldError::required(
                &format!("{path}.properties[{name}]"),
                "must have a corresponding property outside of the junctor",
            ));
        }
    }
    if sub.items.is_some() && outer.items.is_none() {
        errors.push(FieldError::required(
            &at(path, "items"),
            "must have corresponding items outside of the junctor",
        ));
    }
}

fn forbid_unsupported(s: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let unsupported = [
        ("$ref", s.ref_path.is_some()),
        ("$schema", s.schema.is_some()),
        ("id", s.id.is_some()),
        ("definitions", s.definitions.is_some()),
        ("dependencies", s.dependencies.is_some()),
        ("patternProperties", s.pattern_properties.is_some()),
        ("additionalItems", s.additional_items.is_some()),
    ];
    for (key, present) in unsupported {
        if present {
            errors.push(FieldError::forbidden(
                &at(path, key),
                &format!("{key} is not supported"),
            ));
        }
    }
}

fn check_list_type(s: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let Some(list_type) = s.x_kubernetes_list_type.as_deref() else {
        return;
    };
    let list_path = at(path, "x-kubernetes-list-type");
    if !matches!(list_type, "atomic" | "set" | "map") {
        let supported = ["atomic".to_owned(), "set".to_owned(), "map".to_owned()];
        errors.push(FieldError::not_supported(
            &list_path,
            BadValue::Str(list_type),
            &supported,
        ));
        return;
    }
    if s.type_.as_deref() != Some("array") {
        errors.push(FieldError::invalid(
            &list_path,
            BadValue::Str(list_type),
            "must only be used if type is array",
        ));
        return;
    }
    let items = match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => items,
        _ => return,
    };
    if list_type != "map" {
        return;
    }
    let keys = s.x_kubernetes_list_map_keys.as_deref().unwrap_or_default();
    if keys.is_empty() {
        errors.push(FieldError::required(
            &at(path, "x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
    }
    if items.type_.as_deref() != Some("object") {
        errors.push(FieldError::invalid(
            &at(path, "items.type"),
            BadValue::Str(items.type_.as_deref().unwrap_or("")),
            "must be object if parent array's x-kubernetes-list-type is map",
        ));
        return;
    }
    for key in keys {
        let prop = items.properties.as_ref().and_then(|p| p.get(key));
        let required = items.required.iter().flatten().any(|r| r == key);
        match prop {
            None => errors.push(FieldError::required(
                &format!("{path}.items.properties[{key}]"),
                "entries with x-kubernetes-list-map-keys must be specified as properties",
            )),
            Some(p) if !required && p.default.is_none() => errors.push(FieldError::required(
                &format!("{path}.items.required"),
                &format!("list map key {key:?} must be required or have a default"),
            )),
            Some(_) => {}
        }
    }
}

/// A default must survive pruning unchanged and pass validation of its own node.
fn check_default(s: &JSONSchemaProps, default: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let default_path = at(path, "default");
    let node = match Node::compile(s, path) {
        Ok(node) => node,
        Err(err) => {
            errors.push(FieldError::invalid(
                &default_path,
                BadValue::Str(""),
                &err.to_string(),
            ));
            return;
        }
    };
    let mut pruned_copy = default.clone();
    let mut pruned = Vec::new();
    prune::prune(
        Some(&node),
        &mut pruned_copy,
        &mut FieldPath::default(),
        false,
        &mut pruned,
    );
    for field in pruned {
        errors.push(FieldError::invalid(
            &default_path,
            BadValue::Json(default),
            &format!("must not have unknown fields, found {field:?}"),
        ));
    }
    defaults::apply_defaults(&node, &mut pruned_copy, false);
    validate::validate_at(&node, &pruned_copy, &default_path, false, errors);
}
