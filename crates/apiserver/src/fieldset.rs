//! Sets of field paths in the `FieldsV1` trie form used by managedFields, and the
//! schema-driven computation of which fields an object sets.
//!
//! Path elements are kept as their FieldsV1 keys: `f:name` (a field or map key),
//! `k:{"type":"Ready"}` (an item of an associative list), `v:"x"` (an item of a set),
//! `i:3` (an index; not produced here).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

/// How a list's items are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value.
    Atomic,
    /// Items are scalars identified by value.
    Set,
    /// Items are objects identified by these key fields.
    Map(Vec<String>),
}

impl FieldSet {
    /// Parses a `fieldsV1` object; anything malformed is ignored.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        if let Value::Object(m) = v {
            for (k, child) in m {
                if k == "." {
                    set.member = true;
                    continue;
                }
                let mut c = FieldSet::from_fields_v1(child);
                if c.children.is_empty() {
                    c.member = true;
                }
                set.children.insert(k.clone(), c);
            }
        }
        set
    }

    /// The `fieldsV1` object.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_fields_v1());
        }
        Value::Object(m)
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds one path.
    pub fn insert(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.member = true,
            Some((head, rest)) => self.children.entry(head.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is in the set.
    pub fn contains(&self, path: &[String]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((head, rest)) => self.children.get(head).is_some_and(|c| c.contains(rest)),
        }
    }

    fn pruned(mut self) -> FieldSet {
        self.children.retain(|_, c| !c.is_empty());
        self
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (k, c) in &other.children {
            let merged = match out.children.get(k) {
                Some(mine) => mine.union(c),
                None => c.clone(),
            };
            out.children.insert(k.clone(), merged);
        }
        out.pruned()
    }

    /// Paths of `self` not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            let d = match other.children.get(k) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            out.children.insert(k.clone(), d);
        }
        out.pruned()
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            if let Some(o) = other.children.get(k) {
                out.children.insert(k.clone(), c.intersection(o));
            }
        }
        out.pruned()
    }

    /// Every path in the set, in order.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    /// Paths that are members and have no member below them (the values that were set).
    pub fn leaves(&self) -> Vec<Vec<String>> {
        self.paths()
            .into_iter()
            .filter(|p| {
                self.node(p)
                    .is_some_and(|n| n.children.values().all(FieldSet::is_empty))
            })
            .collect()
    }

    /// Whether any path at or below `path` is in the set.
    pub fn has_any_under(&self, path: &[String]) -> bool {
        self.node(path).is_some_and(|n| !n.is_empty())
    }

    fn node(&self, path: &[String]) -> Option<&FieldSet> {
        match path.split_first() {
            None => Some(self),
            Some((head, rest)) => self.children.get(head)?.node(rest),
        }
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }
}

/// Renders a path as Kubernetes prints it in conflict messages: `.spec.x`,
/// `.status.conditions[type="Ready"]`, `.metadata.finalizers[="f"]`.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for e in path {
        if let Some(name) = e.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(key) = e.strip_prefix("k:") {
            let parts: Vec<String> = match serde_json::from_str::<Map<String, Value>>(key) {
                Ok(m) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                Err(_) => vec![key.to_string()],
            };
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = e.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        } else {
            out.push_str(e);
        }
    }
    out
}

/// Decides list types from an object's schema (with ObjectMeta's lists built in).
#[derive(Debug, Clone, Copy)]
pub struct ListTypes<'a> {
    schema: Option<&'a Value>,
}

impl<'a> ListTypes<'a> {
    /// List types from an `openAPIV3Schema` (or none: every list is atomic).
    pub fn new(schema: Option<&'a Value>) -> Self {
        ListTypes { schema }
    }

    /// The list type of the field at `names` (field names only, list items skipped).
    pub fn list_type(&self, names: &[&str]) -> ListType {
        match names {
            ["metadata", "finalizers"] => return ListType::Set,
            ["metadata", "ownerReferences"] => return ListType::Map(vec!["uid".into()]),
            ["metadata", ..] => return ListType::Atomic,
            _ => {}
        }
        let Some(mut node) = self.schema else {
            return ListType::Atomic;
        };
        for name in names {
            while node.get("type").and_then(Value::as_str) == Some("array") {
                match node.get("items") {
                    Some(items) => node = items,
                    None => return ListType::Atomic,
                }
            }
            let next = node
                .pointer(&format!(
                    "/properties/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()));
            match next {
                Some(n) => node = n,
                None => return ListType::Atomic,
            }
        }
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let keys: Vec<String> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Atomic
                } else {
                    ListType::Map(keys)
                }
            }
            _ => ListType::Atomic,
        }
    }
}

/// The FieldsV1 key of a map-list item, if it has every key field.
pub fn item_key(item: &Value, keys: &[String]) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), item.get(k)?.clone());
    }
    Some(format!("k:{}", Value::Object(m)))
}

/// The set of fields `value` (an object) sets. `names` is the field path of `value`.
pub fn fields_of(value: &Value, names: &mut Vec<String>, lt: &ListTypes<'_>) -> FieldSet {
    let mut set = FieldSet::default();
    let Value::Object(m) = value else {
        return set;
    };
    for (k, v) in m {
        names.push(k.clone());
        let child = field_node(v, names, lt);
        names.pop();
        set.children.insert(format!("f:{k}"), child);
    }
    set
}

fn leaf() -> FieldSet {
    FieldSet {
        member: true,
        children: BTreeMap::new(),
    }
}

fn field_node(v: &Value, names: &mut Vec<String>, lt: &ListTypes<'_>) -> FieldSet {
    match v {
        Value::Object(m) if !m.is_empty() => fields_of(v, names, lt),
        Value::Array(items) if !items.is_empty() => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match lt.list_type(&refs) {
                ListType::Atomic => leaf(),
                ListType::Set => {
                    let mut node = FieldSet::default();
                    for item in items {
                        node.children.insert(format!("v:{item}"), leaf());
                    }
                    node
                }
                ListType::Map(keys) => {
                    let mut node = FieldSet::default();
                    for item in items {
                        let Some(key) = item_key(item, &keys) else {
                            return leaf();
                        };
                        let mut child = fields_of(item, names, lt);
                        child.member = true;
                        node.children.insert(key, child);
                    }
                    node
                }
            }
        }
        _ => leaf(),
    }
}

/// The value at a FieldsV1 path.
pub fn value_at<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut cur = root;
    for e in path {
        cur = step(cur, e)?;
    }
    Some(cur)
}

fn matches_key(item: &Value, key: &str) -> bool {
    match serde_json::from_str::<Map<String, Value>>(key) {
        Ok(m) => m.iter().all(|(k, v)| item.get(k) == Some(v)),
        Err(_) => false,
    }
}

fn step<'v>(cur: &'v Value, e: &str) -> Option<&'v Value> {
    if let Some(name) = e.strip_prefix("f:") {
        return cur.get(name);
    }
    let items = cur.as_array()?;
    if let Some(key) = e.strip_prefix("k:") {
        return items.iter().find(|i| matches_key(i, key));
    }
    if let Some(v) = e.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).ok()?;
        return items.iter().find(|i| **i == want);
    }
    if let Some(i) = e.strip_prefix("i:") {
        return items.get(i.parse::<usize>().ok()?);
    }
    None
}

/// Removes the value at a FieldsV1 path, if present.
pub fn remove_at(root: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for e in parent_path {
        let next = if let Some(name) = e.strip_prefix("f:") {
            cur.get_mut(name)
        } else if let Some(key) = e.strip_prefix("k:") {
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| matches_key(i, key)))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(name) = last.strip_prefix("f:") {
        if let Value::Object(m) = cur {
            m.remove(name);
        }
    } else if let Some(key) = last.strip_prefix("k:") {
        if let Value::Array(a) = cur {
            a.retain(|i| !matches_key(i, key));
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let Ok(want) = serde_json::from_str::<Value>(v)
        && let Value::Array(a) = cur
    {
        a.retain(|i| *i != want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge_patch::tests::any_json;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        // managedFields may come from clients: any JSON must be handled.
        #[test]
        fn fields_v1_and_paths_never_panic(fields in any_json(), obj in any_json()) {
            let set = FieldSet::from_fields_v1(&fields);
            let _ = set.to_fields_v1();
            for p in set.paths() {
                let _ = display_path(&p);
                let _ = value_at(&obj, &p);
                let mut o = obj.clone();
                remove_at(&mut o, &p);
            }
            let lt = ListTypes::new(Some(&fields));
            let _ = fields_of(&obj, &mut Vec::new(), &lt);
        }
    }

    fn p(elems: &[&str]) -> Vec<String> {
        elems.iter().map(|s| s.to_string()).collect()
    }

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "status": {"type": "object", "properties": {
                "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {"type": "object", "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}}}},
            "spec": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                                                       "ports": {"type": "array", "items": {"type": "string"}}}}
        }})
    }

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({"f:metadata": {"f:labels": {"f:app": {}}},
                       "f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}}}}});
        let set = FieldSet::from_fields_v1(&v);
        assert_eq!(set.to_fields_v1(), v);
        assert!(set.contains(&p(&["f:metadata", "f:labels", "f:app"])));
        assert!(set.contains(&p(&["f:status", "f:conditions", "k:{\"type\":\"Ready\"}"])));
        assert!(!set.contains(&p(&["f:metadata"])));
    }

    #[test]
    fn fields_follow_list_types() {
        let s = schema();
        let lt = ListTypes::new(Some(&s));
        let obj = json!({
            "metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"tags": ["t1"], "ports": ["p"], "empty": {}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}
        });
        let set = fields_of(&obj, &mut Vec::new(), &lt);
        let fv = set.to_fields_v1();
        assert_eq!(
            fv,
            json!({
                "f:metadata": {"f:labels": {"f:a": {}}, "f:finalizers": {"v:\"x\"": {}}},
                "f:spec": {"f:tags": {"v:\"t1\"": {}}, "f:ports": {}, "f:empty": {}},
                "f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:type": {}, "f:status": {}}}}
            })
        );
        let ready = p(&[
            "f:status",
            "f:conditions",
            "k:{\"type\":\"Ready\"}",
            "f:status",
        ]);
        assert_eq!(value_at(&obj, &ready), Some(&json!("True")));
        assert_eq!(
            display_path(&ready),
            ".status.conditions[type=\"Ready\"].status"
        );
        assert_eq!(
            display_path(&p(&["f:metadata", "f:finalizers", "v:\"x\""])),
            ".metadata.finalizers[=\"x\"]"
        );
    }

    #[test]
    fn set_algebra() {
        let mut a = FieldSet::default();
        a.insert(&p(&["f:spec", "f:a"]));
        a.insert(&p(&["f:spec", "f:b"]));
        let mut b = FieldSet::default();
        b.insert(&p(&["f:spec", "f:b"]));
        b.insert(&p(&["f:spec", "f:c"]));
        assert_eq!(a.intersection(&b).paths(), vec![p(&["f:spec", "f:b"])]);
        assert_eq!(a.difference(&b).paths(), vec![p(&["f:spec", "f:a"])]);
        assert_eq!(a.union(&b).paths().len(), 3);
        assert!(a.difference(&a).is_empty());
        assert_eq!(a.leaves().len(), 2);
    }

    #[test]
    fn removal_by_path() {
        let mut obj = json!({"spec": {"a": 1, "b": 2}, "status": {"conditions": [{"type": "Ready"}, {"type": "X"}]},
                             "metadata": {"finalizers": ["f", "g"]}});
        remove_at(&mut obj, &p(&["f:spec", "f:a"]));
        remove_at(
            &mut obj,
            &p(&["f:status", "f:conditions", "k:{\"type\":\"X\"}"]),
        );
        remove_at(&mut obj, &p(&["f:metadata", "f:finalizers", "v:\"g\""]));
        remove_at(&mut obj, &p(&["f:nothing", "f:here"]));
        assert_eq!(
            obj,
            json!({"spec": {"b": 2}, "status": {"conditions": [{"type": "Ready"}]}, "metadata": {"finalizers": ["f"]}})
        );
    }
}
