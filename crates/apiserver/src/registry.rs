//! The resource types the server serves: the built-in kinds plus one entry per served version
//! of every stored CustomResourceDefinition. Rebuilt whenever a CRD is written.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// Which built-in behaviour a resource type has, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Secret.
    Secret,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Event (the stored form of events).
    CoreEvent,
    /// events.k8s.io/v1 Event (a view of the same objects).
    EventsV1Event,
    /// coordination.k8s.io/v1 Lease.
    Lease,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition.
    Crd,
}

/// An `additionalPrinterColumns` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: string, integer, number, boolean, date.
    pub type_: String,
    /// OpenAPI format hint.
    pub format: String,
    /// Column description.
    pub description: String,
    /// 0 for the default view, more for `-o wide`.
    pub priority: i64,
    /// The simple JSONPath evaluated against each object.
    pub json_path: String,
}

/// One served group/version/resource.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group, empty for core.
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Kind of the objects.
    pub kind: String,
    /// Kind of lists.
    pub list_kind: String,
    /// Plural resource name used in paths.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Short names (`so`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether `/status` is a subresource (status changes are then separated).
    pub status_subresource: bool,
    /// Printer columns for tables (custom resources).
    pub printer_columns: Vec<PrinterColumn>,
    /// The version's `openAPIV3Schema`, if any.
    pub schema: Option<Value>,
    /// Built-in behaviour, `None` for custom resources.
    pub builtin: Option<Builtin>,
    /// Storage identity: objects of every version of one resource share it.
    pub storage_resource: String,
    /// The apiVersion objects are stored with.
    pub storage_api_version: String,
}

impl ResourceType {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the type is a custom resource defined by a CRD.
    pub fn is_custom(&self) -> bool {
        self.builtin.is_none()
    }
}

/// All served types, indexed for lookups.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: Vec<Arc<ResourceType>>,
    /// Group name → versions in preference order.
    groups: BTreeMap<String, Vec<String>>,
    /// Group order as served in discovery: built-in groups first, then custom ones.
    group_order: Vec<String>,
}

impl Registry {
    /// Builds the registry from the built-ins and the stored CRD objects.
    pub fn build(crds: &[Value]) -> Self {
        let mut types: Vec<ResourceType> = super::builtin::types();
        let mut crds: Vec<&Value> = crds.iter().collect();
        crds.sort_by_key(|c| {
            c.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
        });
        // A terminating CRD stays served until its objects are gone, so that their finalizers
        // can still be removed.
        for crd in crds {
            let mut from_crd = types_from_crd(crd);
            // A CRD may not shadow a built-in resource.
            from_crd.retain(|t| {
                !types
                    .iter()
                    .any(|b| b.group == t.group && b.plural == t.plural)
            });
            types.extend(from_crd);
        }
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut group_order: Vec<String> = Vec::new();
        for t in &types {
            if !group_order.contains(&t.group) {
                group_order.push(t.group.clone());
            }
            let versions = groups.entry(t.group.clone()).or_default();
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        for versions in groups.values_mut() {
            versions.sort_by(|a, b| compare_versions(a, b));
        }
        Registry {
            types: types.into_iter().map(Arc::new).collect(),
            groups,
            group_order,
        }
    }

    /// Every served type.
    pub fn types(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    /// The type served at `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The type of `apiVersion` + `kind`.
    pub fn lookup_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    /// Whether `group/version` is served at all.
    pub fn serves_version(&self, group: &str, version: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|v| v.iter().any(|x| x == version))
    }

    /// Group names in discovery order, without the core group.
    pub fn named_groups(&self) -> Vec<&str> {
        self.group_order
            .iter()
            .filter(|g| !g.is_empty())
            .map(String::as_str)
            .collect()
    }

    /// Versions of `group`, preferred first.
    pub fn versions(&self, group: &str) -> &[String] {
        self.groups.get(group).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Types of one group/version.
    pub fn types_of(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.types
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Distinct storage resources (one per resource, not per version), with a representative
    /// type for each: the one whose version is the storage version.
    pub fn storage_types(&self) -> Vec<Arc<ResourceType>> {
        let mut out: Vec<Arc<ResourceType>> = Vec::new();
        for t in &self.types {
            if t.api_version() != t.storage_api_version {
                continue;
            }
            if !out.iter().any(|o| o.storage_resource == t.storage_resource) {
                out.push(t.clone());
            }
        }
        out
    }
}

/// Splits `group/version` (or `version` for core).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The served types described by one CRD object (one per served version).
pub fn types_from_crd(crd: &Value) -> Vec<ResourceType> {
    let group = str_at(crd, "/spec/group").to_string();
    let plural = str_at(crd, "/spec/names/plural").to_string();
    let kind = str_at(crd, "/spec/names/kind").to_string();
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Vec::new();
    }
    let singular = match str_at(crd, "/spec/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    let list_kind = match str_at(crd, "/spec/names/listKind") {
        "" => format!("{kind}List"),
        s => s.to_string(),
    };
    let namespaced = str_at(crd, "/spec/scope") != "Cluster";
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .or_else(|| versions.first())
        .map(|v| str_at(v, "/name").to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for v in &versions {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let version = str_at(v, "/name").to_string();
        if version.is_empty() {
            continue;
        }
        let printer_columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| cols.iter().filter_map(printer_column).collect::<Vec<_>>())
            .unwrap_or_default();
        out.push(ResourceType {
            group: group.clone(),
            version,
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: strings_at(crd, "/spec/names/shortNames"),
            categories: strings_at(crd, "/spec/names/categories"),
            namespaced,
            status_subresource: v.pointer("/subresources/status").is_some(),
            printer_columns,
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            builtin: None,
            storage_resource: super::store::resource_key(&group, &plural),
            storage_api_version: format!("{group}/{storage_version}"),
        });
    }
    out
}

fn printer_column(c: &Value) -> Option<PrinterColumn> {
    let name = c.get("name")?.as_str()?.to_string();
    let json_path = c.get("jsonPath")?.as_str()?.to_string();
    Some(PrinterColumn {
        name,
        type_: str_at(c, "/type").to_string(),
        format: str_at(c, "/format").to_string(),
        description: str_at(c, "/description").to_string(),
        priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
        json_path,
    })
}

/// Orders Kubernetes versions as the API server does: GA before beta before alpha, higher
/// numbers first, then anything else alphabetically.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(v: &str) -> (u8, i64, i64, String) {
        let parse = || -> Option<(u8, i64, i64)> {
            let rest = v.strip_prefix('v')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: i64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((0, -major, 0));
            }
            for (prefix, rank) in [("beta", 1u8), ("alpha", 2u8)] {
                if let Some(n) = tail.strip_prefix(prefix) {
                    let minor: i64 = n.parse().ok()?;
                    return Some((rank, -major, -minor));
                }
            }
            None
        };
        match parse() {
            Some((rank, major, minor)) => (rank, major, minor, String::new()),
            None => (3, 0, 0, v.to_string()),
        }
    }
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample_crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "serviceorders.net.example.io"},
            "spec": {
                "group": "net.example.io",
                "scope": "Namespaced",
                "names": {"plural": "serviceorders", "singular": "serviceorder", "kind": "ServiceOrder", "shortNames": ["so"], "categories": ["all"]},
                "versions": [
                    {"name": "v1alpha1", "served": true, "storage": true,
                     "subresources": {"status": {}},
                     "additionalPrinterColumns": [{"name": "Bandwidth", "type": "integer", "jsonPath": ".spec.bandwidthMbps"}],
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1beta1", "served": true, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v0", "served": false, "storage": false}
                ]
            }
        })
    }

    #[test]
    fn crd_versions_become_types() {
        let types = types_from_crd(&sample_crd());
        assert_eq!(types.len(), 2);
        assert_eq!(types[0].list_kind, "ServiceOrderList");
        assert!(types[0].status_subresource);
        assert!(!types[1].status_subresource);
        assert_eq!(types[1].storage_api_version, "net.example.io/v1alpha1");
        assert_eq!(types[0].printer_columns[0].json_path, ".spec.bandwidthMbps");
    }

    #[test]
    fn registry_orders_versions_and_finds_types() {
        let r = Registry::build(&[sample_crd()]);
        assert_eq!(r.versions("net.example.io"), ["v1beta1", "v1alpha1"]);
        assert!(
            r.lookup("net.example.io", "v1alpha1", "serviceorders")
                .is_some()
        );
        assert!(r.lookup("", "v1", "configmaps").is_some());
        assert!(r.lookup_kind("v1", "Secret").is_some());
        assert!(r.named_groups().contains(&"net.example.io"));
        let storage = r.storage_types();
        assert_eq!(
            storage
                .iter()
                .filter(|t| t.storage_resource == "net.example.io/serviceorders")
                .count(),
            1
        );
    }

    #[test]
    fn version_priority_matches_kubernetes() {
        let mut v = vec![
            "v1alpha1",
            "v2",
            "v1beta2",
            "v1",
            "foo",
            "v1beta1",
            "v10alpha1",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            [
                "v2",
                "v1",
                "v1beta2",
                "v1beta1",
                "v10alpha1",
                "v1alpha1",
                "foo"
            ]
        );
    }
}
