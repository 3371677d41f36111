//! API discovery: legacy (`APIVersions`, `APIGroupList`, `APIResourceList`) and aggregated
//! (`APIGroupDiscoveryList`, apidiscovery.k8s.io/v2 and v2beta1) documents.

use serde_json::{Value, json};

use super::registry::{Registry, ResourceType};
use super::review;

/// The verbs every served resource supports.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `/api`: the legacy core versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_version(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

/// `/apis`: the named groups.
pub fn api_group_list(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .named_groups()
        .into_iter()
        .chain(review::groups())
        .map(|g| api_group(registry, g))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/G`: one group.
pub fn api_group(registry: &Registry, group: &str) -> Value {
    let review_versions = [review::VERSION.to_string()];
    let versions = if review::is_review_group(group) {
        &review_versions[..]
    } else {
        registry.versions(group)
    };
    let listed: Vec<Value> = versions.iter().map(|v| group_version(group, v)).collect();
    let preferred = versions
        .first()
        .map(|v| group_version(group, v))
        .unwrap_or(Value::Null);
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": listed,
        "preferredVersion": preferred,
    })
}

/// `/api/v1` or `/apis/G/V`: the resources of one group/version.
pub fn api_resource_list(registry: &Registry, group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for t in registry.types_of(group, version) {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    for t in review::types_of(group, version) {
        resources.push(json!({
            "name": t.plural,
            "singularName": t.kind.to_lowercase(),
            "namespaced": false,
            "kind": t.kind,
            "verbs": review::REVIEW_VERBS,
        }));
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    })
}

fn discovery_resource(t: &ResourceType) -> Value {
    let mut r = json!({
        "resource": t.plural,
        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "verbs": VERBS,
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    if t.status_subresource {
        r["subresources"] = json!([{
            "subresource": "status",
            "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
            "verbs": ["get", "patch", "update"],
        }]);
    }
    r
}

fn discovery_group(registry: &Registry, group: &str) -> Value {
    let versions: Vec<Value> = registry
        .versions(group)
        .iter()
        .map(|v| {
            let resources: Vec<Value> = registry
                .types_of(group, v)
                .iter()
                .map(|t| discovery_resource(t))
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !group.is_empty() {
        metadata["name"] = json!(group);
    }
    json!({"metadata": metadata, "versions": versions})
}

/// The aggregated discovery entry of a review group: create-only, cluster-scoped resources.
fn review_discovery_group(group: &str) -> Value {
    let resources: Vec<Value> = review::types_of(group, review::VERSION)
        .iter()
        .map(|t| {
            json!({
                "resource": t.plural,
                "responseKind": {"group": t.group, "version": review::VERSION, "kind": t.kind},
                "scope": "Cluster",
                "singularResource": t.kind.to_lowercase(),
                "verbs": review::REVIEW_VERBS,
            })
        })
        .collect();
    json!({
        "metadata": {"name": group, "creationTimestamp": null},
        "versions": [{"version": review::VERSION, "resources": resources, "freshness": "Current"}],
    })
}

/// Aggregated discovery for `/api` (`legacy = true`) or `/apis`, in the requested
/// apidiscovery version (`v2` or `v2beta1`).
pub fn aggregated(registry: &Registry, legacy: bool, api_version: &str) -> Value {
    let items: Vec<Value> = if legacy {
        vec![discovery_group(registry, "")]
    } else {
        registry
            .named_groups()
            .into_iter()
            .map(|g| discovery_group(registry, g))
            .chain(review::groups().into_iter().map(review_discovery_group))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{api_version}"),
        "metadata": {},
        "items": items,
    })
}

/// `/version`: the server reports Kubernetes 1.32, which the kubectl dispatcher relies on.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-ferrule",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "n/a",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_core_group_lists_builtin_resources() {
        let r = Registry::build(&[]);
        let doc = aggregated(&r, true, "v2");
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        let resources = doc["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = resources
            .iter()
            .map(|r| r["resource"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"configmaps") && names.contains(&"namespaces"));
        let ns = resources
            .iter()
            .find(|r| r["resource"] == "namespaces")
            .unwrap();
        assert_eq!(ns["scope"], "Cluster");
        assert_eq!(ns["subresources"][0]["subresource"], "status");
    }

    #[test]
    fn legacy_documents_describe_groups_and_resources() {
        let r = Registry::build(&[]);
        let groups = api_group_list(&r);
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "events.k8s.io",
                "coordination.k8s.io",
                "apiextensions.k8s.io",
                "authentication.k8s.io",
                "authorization.k8s.io"
            ]
        );
        let list = api_resource_list(&r, "apiextensions.k8s.io", "v1");
        assert_eq!(list["groupVersion"], "apiextensions.k8s.io/v1");
        assert_eq!(
            list["resources"][1]["name"],
            "customresourcedefinitions/status"
        );
        assert_eq!(version()["minor"], "32");
    }
}
