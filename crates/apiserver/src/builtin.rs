//! The built-in resource types: Namespace, Secret, ConfigMap, Event (core and events.k8s.io
//! views of one store), Lease and CustomResourceDefinition.

use std::sync::OnceLock;

use serde_json::{Value, json};

use super::registry::{Builtin, ResourceType};

struct Def {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    short: &'static [&'static str],
    namespaced: bool,
    status: bool,
    builtin: Builtin,
    storage_resource: &'static str,
    storage_api_version: &'static str,
}

const DEFS: &[Def] = &[
    Def {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        short: &["ns"],
        namespaced: false,
        status: true,
        builtin: Builtin::Namespace,
        storage_resource: "/namespaces",
        storage_api_version: "v1",
    },
    Def {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        short: &["cm"],
        namespaced: true,
        status: false,
        builtin: Builtin::ConfigMap,
        storage_resource: "/configmaps",
        storage_api_version: "v1",
    },
    Def {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        short: &[],
        namespaced: true,
        status: false,
        builtin: Builtin::Secret,
        storage_resource: "/secrets",
        storage_api_version: "v1",
    },
    Def {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        short: &["ev"],
        namespaced: true,
        status: false,
        builtin: Builtin::CoreEvent,
        storage_resource: "/events",
        storage_api_version: "v1",
    },
    Def {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        short: &["ev"],
        namespaced: true,
        status: false,
        builtin: Builtin::EventsV1Event,
        storage_resource: "/events",
        storage_api_version: "v1",
    },
    Def {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        short: &[],
        namespaced: true,
        status: false,
        builtin: Builtin::Lease,
        storage_resource: "coordination.k8s.io/leases",
        storage_api_version: "coordination.k8s.io/v1",
    },
    Def {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        short: &["crd", "crds"],
        namespaced: false,
        status: true,
        builtin: Builtin::Crd,
        storage_resource: "apiextensions.k8s.io/customresourcedefinitions",
        storage_api_version: "apiextensions.k8s.io/v1",
    },
];

/// The built-in resource types.
pub fn types() -> Vec<ResourceType> {
    DEFS.iter()
        .map(|d| ResourceType {
            group: d.group.to_string(),
            version: d.version.to_string(),
            kind: d.kind.to_string(),
            list_kind: format!("{}List", d.kind),
            plural: d.plural.to_string(),
            singular: d.kind.to_lowercase(),
            short_names: d.short.iter().map(|s| s.to_string()).collect(),
            categories: Vec::new(),
            namespaced: d.namespaced,
            status_subresource: d.status,
            printer_columns: Vec::new(),
            schema: Some(schema(d.builtin).clone()),
            builtin: Some(d.builtin),
            storage_resource: d.storage_resource.to_string(),
            storage_api_version: d.storage_api_version.to_string(),
        })
        .collect()
}

fn generate<T: schemars::JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .into_generator();
    let mut schema =
        serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or(Value::Null);
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("title");
        obj.remove("$schema");
        obj.remove("definitions");
        obj.remove("$defs");
    }
    schema
}

/// The OpenAPI v3 schema of a built-in type, generated once from the k8s-openapi types.
pub fn schema(builtin: Builtin) -> &'static Value {
    use k8s_openapi::api::{coordination, core, events};
    static SCHEMAS: OnceLock<Vec<(Builtin, Value)>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        vec![
            (Builtin::Namespace, generate::<core::v1::Namespace>()),
            (Builtin::ConfigMap, generate::<core::v1::ConfigMap>()),
            (Builtin::Secret, generate::<core::v1::Secret>()),
            (Builtin::CoreEvent, generate::<core::v1::Event>()),
            (Builtin::EventsV1Event, generate::<events::v1::Event>()),
            (Builtin::Lease, generate::<coordination::v1::Lease>()),
            (Builtin::Crd, crd_schema()),
        ]
    });
    static EMPTY: OnceLock<Value> = OnceLock::new();
    all.iter()
        .find(|(b, _)| *b == builtin)
        .map(|(_, s)| s)
        .unwrap_or_else(|| EMPTY.get_or_init(|| json!({"type": "object"})))
}

/// The CRD type's schema is recursive (JSONSchemaProps); a shallow description is enough for
/// `kubectl apply` and `kubectl explain`.
fn crd_schema() -> Value {
    json!({
        "description": "CustomResourceDefinition represents a resource that should be exposed on the API server.",
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "description": "spec describes how the user wants the resources to appear",
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true
            },
            "status": {
                "description": "status indicates the actual state of the CustomResourceDefinition",
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schemas_are_inline_object_schemas() {
        let cm = schema(Builtin::ConfigMap);
        assert_eq!(cm["type"], "object");
        assert_eq!(cm["properties"]["data"]["type"], "object");
        assert!(cm["properties"]["metadata"]["properties"]["labels"].is_object());
        let text = cm.to_string();
        assert!(!text.contains("$ref"), "schemas must be inline: {text}");
        let ns = schema(Builtin::Namespace);
        assert!(ns["properties"]["status"]["properties"]["phase"].is_object());
    }

    #[test]
    fn events_share_storage() {
        let t = types();
        let core = t
            .iter()
            .find(|x| x.builtin == Some(Builtin::CoreEvent))
            .unwrap();
        let v1 = t
            .iter()
            .find(|x| x.builtin == Some(Builtin::EventsV1Event))
            .unwrap();
        assert_eq!(core.storage_resource, v1.storage_resource);
        assert_eq!(v1.storage_api_version, "v1");
    }
}
