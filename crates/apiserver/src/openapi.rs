//! OpenAPI v3 documents: an index and one document per group/version, generated from the CRD
//! schemas and the built-in types. `kubectl apply` requires every PATCH operation to carry
//! `x-kubernetes-group-version-kind` and a `fieldValidation` parameter; `kubectl explain`
//! reads the component schemas.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::registry::{Builtin, Registry, ResourceType};

/// The generated documents, keyed by `api/v1` or `apis/G/V`, with their hashes.
#[derive(Debug, Clone, Default)]
pub struct OpenApiDocs {
    docs: BTreeMap<String, (Value, String)>,
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

impl OpenApiDocs {
    /// Generates every document of `registry`.
    pub fn generate(registry: &Registry) -> Self {
        let mut keys: Vec<(String, String)> = Vec::new();
        for t in registry.types() {
            let gv = (t.group.clone(), t.version.clone());
            if !keys.contains(&gv) {
                keys.push(gv);
            }
        }
        let docs = keys
            .into_iter()
            .map(|(g, v)| {
                let doc = document(&registry.types_of(&g, &v), &g, &v);
                let hash = hex::encode_upper(Sha256::digest(doc.to_string().as_bytes()));
                (doc_key(&g, &v), (doc, hash))
            })
            .collect();
        OpenApiDocs { docs }
    }

    /// The `/openapi/v3` index.
    pub fn index(&self) -> Value {
        let paths: Map<String, Value> = self
            .docs
            .iter()
            .map(|(k, (_, hash))| {
                (
                    k.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={hash}")}),
                )
            })
            .collect();
        json!({ "paths": paths })
    }

    /// The document of one group/version.
    pub fn document(&self, group: &str, version: &str) -> Option<&Value> {
        self.docs.get(&doc_key(group, version)).map(|(d, _)| d)
    }
}

fn doc_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The component name of a type, as Kubernetes names them.
pub fn schema_name(t: &ResourceType) -> String {
    match t.builtin {
        Some(Builtin::Namespace | Builtin::Secret | Builtin::ConfigMap | Builtin::CoreEvent) => {
            format!("io.k8s.api.core.v1.{}", t.kind)
        }
        Some(Builtin::EventsV1Event) => "io.k8s.api.events.v1.Event".to_string(),
        Some(Builtin::Lease) => "io.k8s.api.coordination.v1.Lease".to_string(),
        Some(Builtin::Crd) => {
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"
                .to_string()
        }
        None => {
            let reversed: Vec<&str> = t.group.split('.').rev().collect();
            format!("{}.{}.{}", reversed.join("."), t.version, t.kind)
        }
    }
}

fn object_meta_schema() -> &'static Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(|| {
        let generator = schemars::generate::SchemaSettings::openapi3()
            .with(|s| {
                s.inline_subschemas = true;
                s.meta_schema = None;
            })
            .into_generator();
        let mut schema = serde_json::to_value(
            generator
                .into_root_schema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(
                ),
        )
        .unwrap_or_else(|_| json!({"type": "object"}));
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("title");
            obj.remove("$schema");
        }
        schema
    })
}

fn gvk(t: &ResourceType) -> Value {
    json!({"group": t.group, "version": t.version, "kind": t.kind})
}

fn param(name: &str, type_: &str) -> Value {
    json!({"name": name, "in": "query", "description": "", "schema": {"type": type_, "uniqueItems": true}})
}

fn operation(t: &ResourceType, action: &str, op_id: &str, body: Option<Value>) -> Value {
    let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(t))});
    let content = json!({"application/json": {"schema": reference}});
    let mut op = json!({
        "operationId": format!("{op_id}{}", t.kind),
        "description": format!("{action} {}", t.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(t),
        "responses": {
            "200": {"description": "OK", "content": content},
            "201": {"description": "Created", "content": content},
        },
        "tags": [if t.group.is_empty() { "core_v1".to_string() } else { t.group.clone() }],
    });
    let mut params = Vec::new();
    match action {
        "list" => {
            for p in [
                "labelSelector",
                "fieldSelector",
                "continue",
                "resourceVersion",
            ] {
                params.push(param(p, "string"));
            }
            params.push(param("limit", "integer"));
            params.push(param("watch", "boolean"));
        }
        "post" | "put" | "patch" => {
            for p in ["dryRun", "fieldManager", "fieldValidation"] {
                params.push(param(p, "string"));
            }
            if action == "patch" {
                params.push(param("force", "boolean"));
            }
        }
        _ => {}
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(body) = body {
        op["requestBody"] = json!({"content": body, "required": true});
    }
    op
}

fn path_params(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect(),
    )
}

fn paths_for(t: &ResourceType, paths: &mut Map<String, Value>) {
    let reference = json!({"$ref": format!("#/components/schemas/{}", schema_name(t))});
    let object_body = json!({
        "application/json": {"schema": reference},
        "application/yaml": {"schema": reference},
    });
    // kubectl's client-side apply sends a strategic merge patch exactly when the PATCH
    // operation lists that media type: built-in types only, as in Kubernetes.
    let mut patch_body = json!({
        "application/json-patch+json": {"schema": {"type": "object"}},
        "application/merge-patch+json": {"schema": {"type": "object"}},
        "application/apply-patch+yaml": {"schema": {"type": "object"}},
    });
    if !t.is_custom() {
        patch_body["application/strategic-merge-patch+json"] =
            json!({"schema": {"type": "object"}});
    }
    let prefix = if t.group.is_empty() {
        format!("/api/{}", t.version)
    } else {
        format!("/apis/{}/{}", t.group, t.version)
    };
    let (collection, scope_params): (String, Vec<&str>) = if t.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", t.plural),
            vec!["namespace"],
        )
    } else {
        (format!("{prefix}/{}", t.plural), vec![])
    };
    paths.insert(
        collection.clone(),
        json!({
            "get": operation(t, "list", "list", None),
            "post": operation(t, "post", "create", Some(object_body.clone())),
            "delete": operation(t, "deletecollection", "deleteCollection", None),
            "parameters": path_params(&scope_params),
        }),
    );
    if t.namespaced {
        paths.insert(
            format!("{prefix}/{}", t.plural),
            json!({"get": operation(t, "list", "listAllNamespaces", None)}),
        );
    }
    let mut item_params = vec!["name"];
    item_params.extend(scope_params.iter().copied());
    paths.insert(
        format!("{collection}/{{name}}"),
        json!({
            "get": operation(t, "get", "read", None),
            "put": operation(t, "put", "replace", Some(object_body.clone())),
            "patch": operation(t, "patch", "patch", Some(patch_body.clone())),
            "delete": operation(t, "delete", "delete", None),
            "parameters": path_params(&item_params),
        }),
    );
    if t.status_subresource {
        paths.insert(
            format!("{collection}/{{name}}/status"),
            json!({
                "get": operation(t, "get", "readStatus", None),
                "put": operation(t, "put", "replaceStatus", Some(object_body)),
                "patch": operation(t, "patch", "patchStatus", Some(patch_body)),
                "parameters": path_params(&item_params),
            }),
        );
    }
}

fn component_schema(t: &ResourceType) -> Value {
    let mut schema = t
        .schema
        .clone()
        .unwrap_or_else(|| json!({"type": "object"}));
    if !schema.is_object() {
        schema = json!({"type": "object"});
    }
    if t.is_custom() {
        let props = schema
            .as_object_mut()
            .map(|o| o.entry("properties").or_insert_with(|| json!({})));
        if let Some(Value::Object(props)) = props {
            props.entry("apiVersion").or_insert_with(|| json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
            props.entry("kind").or_insert_with(|| json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
            props.insert(
                "metadata".into(),
                json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}], "default": {}, "description": "Standard object's metadata."}),
            );
        }
    }
    schema["x-kubernetes-group-version-kind"] = json!([gvk(t)]);
    schema
}

fn list_schema(t: &ResourceType) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "items": {"type": "array", "items": {"allOf": [{"$ref": format!("#/components/schemas/{}", schema_name(t))}], "default": {}}},
            "metadata": {"type": "object"},
        },
        "x-kubernetes-group-version-kind": [{"group": t.group, "version": t.version, "kind": t.list_kind}],
    })
}

/// The OpenAPI v3 document of one group/version.
pub fn document(types: &[std::sync::Arc<ResourceType>], group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in types {
        paths_for(t, &mut paths);
        let name = schema_name(t);
        schemas.insert(format!("{name}List"), list_schema(t));
        schemas.insert(name, component_schema(t));
    }
    schemas.insert(OBJECT_META.into(), object_meta_schema().clone());
    let _ = (group, version);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "serviceorders.net.example.io"},
            "spec": {
                "group": "net.example.io", "scope": "Namespaced",
                "names": {"plural": "serviceorders", "kind": "ServiceOrder"},
                "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                  "subresources": {"status": {}},
                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"tier": {"type": "string"}}}}}}}]
            }
        })
    }

    #[test]
    fn patch_operations_carry_gvk_and_field_validation() {
        let docs = OpenApiDocs::generate(&Registry::build(&[crd()]));
        let doc = docs.document("net.example.io", "v1alpha1").unwrap();
        let patch = &doc["paths"]["/apis/net.example.io/v1alpha1/namespaces/{namespace}/serviceorders/{name}"]
            ["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "ServiceOrder"
        );
        let params: Vec<&str> = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(params.contains(&"fieldValidation"));
        let content = &patch["requestBody"]["content"];
        assert!(content.get("application/merge-patch+json").is_some());
        assert!(
            content
                .get("application/strategic-merge-patch+json")
                .is_none()
        );
        let core = docs.document("", "v1").unwrap();
        let cm_patch = &core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
        assert!(
            cm_patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_some()
        );
        let schema = &doc["components"]["schemas"]["io.example.net.v1alpha1.ServiceOrder"];
        assert_eq!(
            schema["properties"]["spec"]["properties"]["tier"]["type"],
            "string"
        );
        assert_eq!(
            schema["x-kubernetes-group-version-kind"][0]["version"],
            "v1alpha1"
        );
        assert!(doc["components"]["schemas"][OBJECT_META]["properties"]["labels"].is_object());
        assert!(doc["paths"]["/apis/net.example.io/v1alpha1/namespaces/{namespace}/serviceorders/{name}/status"].is_object());
    }

    #[test]
    fn index_links_every_group_version_with_a_hash() {
        let docs = OpenApiDocs::generate(&Registry::build(&[crd()]));
        let index = docs.index();
        let url = index["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="));
        assert!(index["paths"]["apis/net.example.io/v1alpha1"].is_object());
        assert!(docs.document("", "v1").unwrap()["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"].is_object());
    }
}
