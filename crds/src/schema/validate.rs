//! Value validation with the semantics and messages of the Kubernetes API server's OpenAPI
//! validator (kube-openapi) as converted to field errors by the apiextensions server.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::compile::{Additional, Bound, JsonType, ListType, Node};
use super::error::{BadValue, FieldError};
use super::gofmt::{go_float, go_number, json_type_name};
use super::path::FieldPath;
use crate::names;

/// The keys every resource (and embedded resource) carries outside its schema.
const RESOURCE_META_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Validates `value` against `node`; `resource_root` is true for the top of an object, whose
/// `apiVersion`, `kind` and `metadata` the API server checks itself.
pub(crate) fn validate(
    node: &Node,
    value: &Value,
    resource_root: bool,
    errors: &mut Vec<FieldError>,
) {
    validate_at(node, value, "", resource_root, errors);
}

/// Like [`validate`], with every path starting at `base`.
pub(crate) fn validate_at(
    node: &Node,
    value: &Value,
    base: &str,
    resource_root: bool,
    errors: &mut Vec<FieldError>,
) {
    let mut path = FieldPath::at(base);
    Walker { errors }.node(node, value, &mut path, resource_root);
}

struct Walker<'e> {
    errors: &'e mut Vec<FieldError>,
}

impl Walker<'_> {
    fn node(&mut self, node: &Node, value: &Value, path: &mut FieldPath, resource_root: bool) {
        if !self.check_type(node, value, path) {
            return;
        }
        if let Some(format) = node.format
            && !format.accepts(value)
        {
            let detail = match value {
                Value::String(s) => format!(
                    "{} in body must be of type {}: {}",
                    path.as_str(),
                    format.name(),
                    super::gofmt::go_quote(s)
                ),
                _ => format!(
                    "{} in body must be of type {}",
                    path.as_str(),
                    format.name()
                ),
            };
            self.errors.push(FieldError::type_invalid(
                path.as_str(),
                BadValue::Json(value),
                &detail,
            ));
        }
        if let Some(allowed) = &node.enum_values
            && !allowed.iter().any(|a| values_equal(a, value))
        {
            let supported: Vec<String> = allowed
                .iter()
                .map(|a| match a {
                    Value::String(s) => s.clone(),
                    other => serde_json::to_string(other).unwrap_or_default(),
                })
                .collect();
            self.errors.push(FieldError::not_supported(
                path.as_str(),
                BadValue::Json(value),
                &supported,
            ));
        }
        match value {
            Value::String(s) => self.string(node, value, s, path),
            Value::Number(_) => self.number(node, value, path),
            Value::Array(items) => self.array(node, items, path),
            Value::Object(map) => self.object(node, map, path, resource_root),
            Value::Null | Value::Bool(_) => {}
        }
        self.junctors(node, value, path, resource_root);
    }

    /// Checks the JSON type; false when the value is null-and-allowed or of the wrong type,
    /// in which case nothing else is checked.
    fn check_type(&mut self, node: &Node, value: &Value, path: &FieldPath) -> bool {
        let expected = if node.int_or_string {
            "integer,string"
        } else {
            match node.type_ {
                Some(t) => t.name(),
                None => return !value.is_null() || !node.nullable,
            }
        };
        if value.is_null() {
            if !node.nullable {
                let detail = format!(
                    "{} in body must be of type {expected}: \"null\"",
                    path.as_str()
                );
                self.errors.push(FieldError::type_invalid(
                    path.as_str(),
                    BadValue::Str("null"),
                    &detail,
                ));
            }
            return false;
        }
        let matches = if node.int_or_string {
            value.is_string() || is_integral(value)
        } else {
            match node.type_ {
                Some(JsonType::Object) => value.is_object(),
                Some(JsonType::Array) => value.is_array(),
                Some(JsonType::String) => value.is_string(),
                Some(JsonType::Boolean) => value.is_boolean(),
                Some(JsonType::Number) => value.is_number(),
                Some(JsonType::Integer) => is_integral(value),
                None => true,
            }
        };
        if !matches {
            let actual = json_type_name(value);
            let detail = format!(
                "{} in body must be of type {expected}: \"{actual}\"",
                path.as_str()
            );
            self.errors.push(FieldError::type_invalid(
                path.as_str(),
                BadValue::Str(actual),
                &detail,
            ));
        }
        matches
    }

    fn string(&mut self, node: &Node, value: &Value, s: &str, path: &FieldPath) {
        let p = path.as_str();
        if node.max_length.is_some() || node.min_length.is_some() {
            let chars = i64::try_from(s.chars().count()).unwrap_or(i64::MAX);
            if let Some(max) = node.max_length
                && chars > max
            {
                self.errors.push(FieldError::too_long(p, max));
            }
            if let Some(min) = node.min_length
                && chars < min
            {
                let detail = format!("{p} in body should be at least {min} chars long");
                self.errors
                    .push(FieldError::invalid(p, BadValue::Json(value), &detail));
            }
        }
        if let Some((pattern, regex)) = &node.pattern
            && !regex.is_match(s)
        {
            let detail = format!("{p} in body should match '{pattern}'");
            self.errors
                .push(FieldError::invalid(p, BadValue::Json(value), &detail));
        }
    }

    fn number(&mut self, node: &Node, value: &Value, path: &FieldPath) {
        let Value::Number(n) = value else { return };
        let p = path.as_str();
        if let Some(max) = node.maximum
            && let Some(bound) = violates(n, max, true)
        {
            let relation = if max.exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            let detail = format!("{p} in body should be {relation} {bound}");
            self.errors
                .push(FieldError::invalid(p, BadValue::Json(value), &detail));
        }
        if let Some(min) = node.minimum
            && let Some(bound) = violates(n, min, false)
        {
            let relation = if min.exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            let detail = format!("{p} in body should be {relation} {bound}");
            self.errors
                .push(FieldError::invalid(p, BadValue::Json(value), &detail));
        }
        if let Some(factor) = node.multiple_of
            && factor > 0.0
            && !is_multiple(n, factor)
        {
            let shown = if n.is_i64() && factor.fract() == 0.0 {
                (factor as i64).to_string()
            } else {
                go_float(factor)
            };
            let detail = format!("{p} in body should be a multiple of {shown}");
            self.errors
                .push(FieldError::invalid(p, BadValue::Json(value), &detail));
        }
    }

    fn array(&mut self, node: &Node, items: &[Value], path: &mut FieldPath) {
        if let Some(item_node) = &node.items {
            for (i, item) in items.iter().enumerate() {
                let mark = path.push_index(i);
                self.node(item_node, item, path, item_node.embedded_resource);
                path.pop(mark);
            }
        }
        let p = path.as_str();
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if let Some(min) = node.min_items
            && len < min
        {
            let detail = format!("{p} in body should have at least {min} items");
            self.errors
                .push(FieldError::invalid(p, BadValue::Int(len), &detail));
        }
        if let Some(max) = node.max_items
            && len > max
        {
            self.errors.push(FieldError::too_many(p, len, max));
        }
        if node.unique_items && has_duplicates(items) {
            let detail = format!("{p} in body shouldn't contain duplicates");
            self.errors
                .push(FieldError::invalid(p, BadValue::Str(""), &detail));
        }
        match &node.list_type {
            ListType::Atomic => {}
            ListType::Set => {
                let mut seen = HashSet::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if !seen.insert(canonical(item)) {
                        let mark = path.push_index(i);
                        self.errors
                            .push(FieldError::duplicate(path.as_str(), BadValue::Json(item)));
                        path.pop(mark);
                    }
                }
            }
            ListType::Map(keys) => {
                let mut seen = HashSet::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let Value::Object(obj) = item else { continue };
                    let key_values: Map<String, Value> = keys
                        .iter()
                        .filter_map(|k| obj.get(k).map(|v| (k.clone(), v.clone())))
                        .collect();
                    let key_values = Value::Object(key_values);
                    if !seen.insert(canonical(&key_values)) {
                        let mark = path.push_index(i);
                        self.errors.push(FieldError::duplicate(
                            path.as_str(),
                            BadValue::Json(&key_values),
                        ));
                        path.pop(mark);
                    }
                }
            }
        }
    }

    fn object(
        &mut self,
        node: &Node,
        map: &Map<String, Value>,
        path: &mut FieldPath,
        resource_root: bool,
    ) {
        let meta_keys_exempt = resource_root || node.embedded_resource;
        for name in &node.required {
            if meta_keys_exempt && RESOURCE_META_KEYS.contains(&name.as_str()) {
                continue;
            }
            if !map.contains_key(name) {
                self.errors
                    .push(FieldError::required(&path.with_key(name), ""));
            }
        }
        if node.embedded_resource {
            self.embedded_resource(map, path);
        }
        for (key, child) in map {
            if meta_keys_exempt && RESOURCE_META_KEYS.contains(&key.as_str()) {
                continue;
            }
            let child_node = match node.properties.get(key) {
                Some(child_node) => child_node,
                None => match &node.additional {
                    Additional::Schema(child_node) => child_node,
                    Additional::Forbidden => {
                        let detail =
                            format!("{} in body is a forbidden property", path.with_key(key));
                        self.errors.push(FieldError::invalid(
                            path.as_str(),
                            BadValue::Str(""),
                            &detail,
                        ));
                        continue;
                    }
                    Additional::Unspecified | Additional::Any => continue,
                },
            };
            let mark = path.push_key(key);
            self.node(child_node, child, path, child_node.embedded_resource);
            path.pop(mark);
        }
        let p = path.as_str();
        let count = i64::try_from(map.len()).unwrap_or(i64::MAX);
        if let Some(max) = node.max_properties
            && count > max
        {
            self.errors.push(FieldError::too_many(p, count, max));
        }
        if let Some(min) = node.min_properties
            && count < min
        {
            let detail = format!("{p} in body should have at least {min} properties");
            self.errors
                .push(FieldError::invalid(p, BadValue::Int(count), &detail));
        }
    }

    /// The checks Kubernetes applies to `x-kubernetes-embedded-resource` objects.
    fn embedded_resource(&mut self, map: &Map<String, Value>, path: &FieldPath) {
        for key in ["apiVersion", "kind"] {
            let field = path.with_key(key);
            match map.get(key) {
                None => self
                    .errors
                    .push(FieldError::required(&field, "must not be empty")),
                Some(Value::String(s)) if s.is_empty() => {
                    self.errors.push(FieldError::invalid(
                        &field,
                        BadValue::Str(s),
                        "must not be empty",
                    ));
                }
                Some(Value::String(s)) if key == "kind" => {
                    let problems = names::dns1035_label_errors(&s.to_ascii_lowercase());
                    if !problems.is_empty() {
                        let detail = format!(
                            "may have mixed case, but should otherwise match: {}",
                            problems.join(",")
                        );
                        self.errors
                            .push(FieldError::invalid(&field, BadValue::Str(s), &detail));
                    }
                }
                Some(Value::String(_)) => {}
                Some(other) => self.errors.push(FieldError::invalid(
                    &field,
                    BadValue::Json(other),
                    "must be a string",
                )),
            }
        }
    }

    fn junctors(&mut self, node: &Node, value: &Value, path: &mut FieldPath, resource_root: bool) {
        for sub in &node.all_of {
            self.node(sub, value, path, resource_root);
        }
        if node.any_of.is_empty() && node.one_of.is_empty() && node.not.is_none() {
            return;
        }
        let p = path.as_str().to_owned();
        if !node.any_of.is_empty()
            && !node
                .any_of
                .iter()
                .any(|sub| passes(sub, value, resource_root))
        {
            let detail = format!("{p} must validate at least one schema (anyOf)");
            self.errors
                .push(FieldError::invalid(&p, BadValue::Str(""), &detail));
        }
        if !node.one_of.is_empty() {
            let passing = node
                .one_of
                .iter()
                .filter(|sub| passes(sub, value, resource_root))
                .count();
            if passing != 1 {
                let detail = format!("{p} must validate one and only one schema (oneOf)");
                self.errors
                    .push(FieldError::invalid(&p, BadValue::Str(""), &detail));
            }
        }
        if let Some(not) = &node.not
            && passes(not, value, resource_root)
        {
            let detail = format!("{p} must not validate the schema (not)");
            self.errors
                .push(FieldError::invalid(&p, BadValue::Str(""), &detail));
        }
    }
}

/// Whether `value` satisfies `node` (used for anyOf/oneOf/not).
fn passes(node: &Node, value: &Value, resource_root: bool) -> bool {
    let mut errors = Vec::new();
    let mut path = FieldPath::default();
    Walker {
        errors: &mut errors,
    }
    .node(node, value, &mut path, resource_root);
    errors.is_empty()
}

/// Integers, and floats without a fractional part (Kubernetes accepts `2.0` as an integer).
fn is_integral(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// If `n` lies beyond `bound` (above it when `upper`), the bound as the message shows it.
///
/// Integers are compared with the bound truncated to an integer and the bound is shown as an
/// integer, floats with the exact bound shown in Go's float format, as kube-openapi does.
fn violates(n: &serde_json::Number, bound: Bound, upper: bool) -> Option<String> {
    if let Some(i) = n.as_i64() {
        let limit = bound.value.trunc() as i64;
        let beyond = match (upper, bound.exclusive) {
            (true, false) => i > limit,
            (true, true) => i >= limit,
            (false, false) => i < limit,
            (false, true) => i <= limit,
        };
        return beyond.then(|| limit.to_string());
    }
    let f = n.as_f64()?;
    let beyond = match (upper, bound.exclusive) {
        (true, false) => f > bound.value,
        (true, true) => f >= bound.value,
        (false, false) => f < bound.value,
        (false, true) => f <= bound.value,
    };
    beyond.then(|| go_float(bound.value))
}

fn is_multiple(n: &serde_json::Number, factor: f64) -> bool {
    if let Some(i) = n.as_i64()
        && factor.fract() == 0.0
        && factor < 9.2e18
    {
        return i % (factor as i64) == 0;
    }
    let quotient = n.as_f64().unwrap_or(f64::NAN) / factor;
    quotient.is_finite() && quotient.fract() == 0.0
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A canonical text of a value for duplicate detection (object keys sorted, numbers by value).
fn canonical(value: &Value) -> String {
    match value {
        Value::Number(n) => go_number(n),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, String)> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            entries.sort();
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k:?}:{v}"))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        other => other.to_string(),
    }
}

fn has_duplicates(items: &[Value]) -> bool {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().any(|item| !seen.insert(canonical(item)))
}
