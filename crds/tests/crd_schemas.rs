//! The generated CRDs carry the documented names, columns and constraints, and are schemas a
//! Kubernetes API server accepts.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use ferrule_crds::crdgen::all_crds;
use ferrule_crds::schema::{DocumentValidator, check_structural};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray,
};

fn crd(kind: &str) -> CustomResourceDefinition {
    all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn root(crd: &CustomResourceDefinition) -> JSONSchemaProps {
    crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.clone())
        .unwrap()
}

/// The schema at a dotted path; `[]` steps into array items.
fn at(kind: &str, path: &str) -> JSONSchemaProps {
    let mut node = root(&crd(kind));
    for step in path.split('.') {
        node = if step == "[]" {
            match node.items {
                Some(JSONSchemaPropsOrArray::Schema(items)) => *items,
                other => panic!("{path}: no items at {step}: {other:?}"),
            }
        } else {
            node.properties
                .and_then(|mut p| p.remove(step))
                .unwrap_or_else(|| panic!("{kind}: no property {step} in {path}"))
        };
    }
    node
}

fn required(kind: &str, path: &str) -> Vec<String> {
    at(kind, path).required.unwrap_or_default()
}

#[test]
fn names_scope_and_subresources() {
    let expected = [
        ("Customer", "bss.ferrule.dev", "customers", "cust"),
        ("Product", "bss.ferrule.dev", "products", "prod"),
        ("Subscription", "bss.ferrule.dev", "subscriptions", "sub"),
        ("ServiceOrder", "bss.ferrule.dev", "serviceorders", "so"),
        ("Device", "oss.ferrule.dev", "devices", "dev"),
        ("ResourcePool", "oss.ferrule.dev", "resourcepools", "pool"),
        (
            "ResourceClaim",
            "oss.ferrule.dev",
            "resourceclaims",
            "claim",
        ),
        ("Alarm", "oss.ferrule.dev", "alarms", "alarm"),
    ];
    assert_eq!(all_crds().len(), expected.len());
    for (kind, group, plural, short) in expected {
        let c = crd(kind);
        assert_eq!(c.spec.group, group);
        assert_eq!(c.spec.names.plural, plural);
        assert_eq!(
            c.metadata.name.as_deref(),
            Some(format!("{plural}.{group}").as_str())
        );
        let shorts = c.spec.names.short_names.clone().unwrap_or_default();
        assert_eq!(shorts.first().map(String::as_str), Some(short), "{kind}");
        if kind == "Subscription" {
            // `kubectl get subs,so,devices` reads naturally: "subs" is a short name too.
            assert_eq!(shorts, ["sub", "subs"]);
        } else {
            assert_eq!(shorts.len(), 1, "{kind}");
        }
        assert_eq!(c.spec.names.categories, Some(vec!["ferrule".to_owned()]));
        assert_eq!(c.spec.scope, "Namespaced");
        assert_eq!(c.spec.versions.len(), 1);
        let v = &c.spec.versions[0];
        assert_eq!(v.name, "v1alpha1");
        assert!(v.served && v.storage);
        assert!(
            v.subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{kind} status subresource"
        );
        let schema = root(&c);
        assert!(
            schema
                .description
                .is_some_and(|d| !d.starts_with("Auto-generated")),
            "{kind} doc"
        );
        assert!(schema.properties.as_ref().unwrap().contains_key("status"));
        assert!(
            at(kind, "status.conditions")
                .x_kubernetes_list_type
                .as_deref()
                == Some("map")
        );
        assert!(at(kind, "status.observedGeneration").type_.as_deref() == Some("integer"));
    }
}

#[test]
fn every_schema_is_structural_and_every_default_valid() {
    for c in all_crds() {
        let name = c.metadata.name.clone().unwrap();
        let errors = check_structural(&root(&c), "spec.versions[0].schema.openAPIV3Schema");
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    DocumentValidator::new(&all_crds()).expect("every pattern compiles");
}

/// `kubectl explain` shows descriptions: every field of every kind has one.
#[test]
fn every_field_is_documented() {
    fn walk(node: &JSONSchemaProps, path: &str, missing: &mut Vec<String>) {
        for (name, prop) in node.properties.iter().flatten() {
            let p = format!("{path}.{name}");
            if prop.description.as_deref().is_none_or(str::is_empty) {
                missing.push(p.clone());
            }
            walk(prop, &p, missing);
            if let Some(JSONSchemaPropsOrArray::Schema(items)) = &prop.items {
                walk(items, &format!("{p}[]"), missing);
            }
        }
    }
    let mut missing = Vec::new();
    for c in all_crds() {
        walk(&root(&c), &c.spec.names.kind, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without description: {missing:#?}"
    );
}

#[test]
fn printer_columns() {
    let columns = |kind: &str| -> Vec<(String, String, i32)> {
        crd(kind).spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.json_path, c.priority.unwrap_or(0)))
            .collect()
    };
    let names = |kind: &str| -> Vec<String> { columns(kind).into_iter().map(|c| c.0).collect() };
    assert_eq!(
        names("Customer"),
        ["Phase", "Currency", "Balance", "Subs", "Age"]
    );
    assert_eq!(names("Product"), ["Service", "Monthly", "Currency", "Age"]);
    assert_eq!(
        names("Subscription"),
        [
            "Customer", "Product", "State", "Phase", "Device", "Port", "VLAN", "IPv4", "Age"
        ]
    );
    assert_eq!(names("ServiceOrder"), ["Customer", "State", "Age"]);
    assert_eq!(
        names("Device"),
        ["Role", "Site", "Profile", "Address", "Phase", "Age"]
    );
    assert_eq!(names("ResourcePool"), ["Type", "Allocated", "Free", "Age"]);
    assert_eq!(
        names("ResourceClaim"),
        ["Pool", "Value", "Subscription", "Age"]
    );
    assert_eq!(
        names("Alarm"),
        ["Severity", "Type", "Source", "Acked", "Age"]
    );
    assert!(columns("Subscription").contains(&(
        "IPv4".into(),
        ".status.allocations.ipv4".into(),
        1
    )));
    assert!(columns("Device").contains(&("Address".into(), ".spec.address".into(), 1)));
    assert!(columns("Subscription").contains(&(
        "VLAN".into(),
        ".status.allocations.vlan".into(),
        0
    )));
    assert!(columns("Alarm").contains(&("Source".into(), ".status.source.name".into(), 0)));
}

#[test]
fn customer_constraints() {
    let day = at("Customer", "spec.billing.cycleDay");
    assert_eq!((day.minimum, day.maximum), (Some(1.0), Some(28.0)));
    assert_eq!(
        at("Customer", "spec.billing.currency").pattern.as_deref(),
        Some("^[A-Z]{3}$")
    );
    let terms = at("Customer", "spec.billing.paymentTermsDays");
    assert_eq!(terms.default.map(|d| d.0), Some(serde_json::json!(14)));
    assert_eq!(
        at("Customer", "spec.billing.graceDays")
            .default
            .map(|d| d.0),
        Some(serde_json::json!(7))
    );
    assert_eq!(
        at("Customer", "spec.billing.taxRatePercent")
            .default
            .map(|d| d.0),
        Some(serde_json::json!("0"))
    );
    assert_eq!(at("Customer", "spec.displayName").max_length, Some(253));
    assert_eq!(
        at("Customer", "spec.contact.phone").pattern.as_deref(),
        Some(r"^\+?[0-9][0-9 ()-]{2,31}$")
    );
    assert_eq!(
        at("Customer", "spec.notifications.webhook.secretRef.key")
            .default
            .map(|d| d.0),
        Some(serde_json::json!("secret"))
    );
    assert_eq!(
        required("Customer", "spec"),
        ["billing", "contact", "displayName"]
    );
    assert_eq!(
        required("Customer", "spec.billing"),
        ["currency", "cycleDay"]
    );
    let phase = at("Customer", "status.phase").enum_.unwrap();
    assert_eq!(phase.len(), 4);
    assert_eq!(
        at("Customer", "status.balance").pattern.as_deref(),
        Some(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")
    );
}

#[test]
fn product_constraints() {
    assert_eq!(
        at("Product", "spec.pricing.monthly").pattern.as_deref(),
        Some(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
    );
    assert_eq!(
        at("Product", "spec.pricing.setupFee").default.map(|d| d.0),
        Some(serde_json::json!("0.00"))
    );
    assert_eq!(
        at("Product", "spec.planChange").default.map(|d| d.0),
        Some(serde_json::json!("Immediate"))
    );
    let unit = at("Product", "spec.pricing.usage.unit").enum_.unwrap();
    assert_eq!(unit[0].0, serde_json::json!("GB"));
    assert_eq!(
        at("Product", "spec.pricing.usage.included").minimum,
        Some(0.0)
    );
    let params = at("Product", "spec.parameters");
    assert_eq!(params.type_.as_deref(), Some("object"));
    assert!(params.properties.is_none());
    assert_eq!(
        required("Product", "spec"),
        ["displayName", "pricing", "serviceType"]
    );
    assert_eq!(
        at("Product", "spec.sla.availabilityPercent")
            .pattern
            .as_deref(),
        Some(r"^(100(\.0{1,3})?|[0-9]{1,2}(\.[0-9]{1,3})?)$")
    );
}

#[test]
fn subscription_and_order_constraints() {
    let vlan = at("Subscription", "spec.vlan");
    assert_eq!((vlan.minimum, vlan.maximum), (Some(1.0), Some(4094.0)));
    assert!(
        at("Subscription", "spec.ipv4")
            .pattern
            .unwrap()
            .ends_with("/(3[0-2]|[12]?[0-9])$")
    );
    assert_eq!(
        at("Subscription", "spec.state").default.map(|d| d.0),
        Some(serde_json::json!("Active"))
    );
    assert_eq!(
        required("Subscription", "spec"),
        ["access", "customer", "product"]
    );
    assert_eq!(required("Subscription", "spec.access"), ["device", "port"]);
    assert_eq!(at("Subscription", "status.phase").enum_.unwrap().len(), 6);
    assert_eq!(
        at("Subscription", "status.activatedAt").format.as_deref(),
        Some("date-time")
    );
    assert_eq!(
        required("Subscription", "status.devices.[]"),
        ["digest", "name", "transaction"]
    );
    let items = at("ServiceOrder", "spec.items");
    assert_eq!((items.min_items, items.max_items), (Some(1), Some(100)));
    let actions: Vec<_> = at("ServiceOrder", "spec.items.[].action")
        .enum_
        .unwrap()
        .into_iter()
        .map(|j| j.0)
        .collect();
    assert_eq!(actions, ["Add", "Modify", "Suspend", "Resume", "Terminate"]);
    assert_eq!(at("ServiceOrder", "status.state").enum_.unwrap().len(), 6);
    assert_eq!(
        at("ServiceOrder", "status.items.[].state")
            .enum_
            .unwrap()
            .len(),
        5
    );
}

#[test]
fn oss_constraints() {
    let roles: Vec<_> = at("Device", "spec.role")
        .enum_
        .unwrap()
        .into_iter()
        .map(|j| j.0)
        .collect();
    assert_eq!(roles, ["access", "bng", "core"]);
    assert_eq!(
        at("Device", "spec.insecureSkipHostKeyVerification")
            .default
            .map(|d| d.0),
        Some(serde_json::json!(false))
    );
    assert_eq!(
        at("Device", "spec.driftPolicy").default.map(|d| d.0),
        Some(serde_json::json!("Report"))
    );
    assert_eq!(
        at("Device", "spec.maintenance").default.map(|d| d.0),
        Some(serde_json::json!(false))
    );
    assert_eq!(
        at("Device", "spec.hostKey").pattern.as_deref(),
        Some("^SHA256:[A-Za-z0-9+/]{43}=?$")
    );
    assert_eq!(
        required("Device", "spec"),
        ["address", "credentialsSecret", "profile", "role"]
    );
    let types: Vec<_> = at("ResourcePool", "spec.type")
        .enum_
        .unwrap()
        .into_iter()
        .map(|j| j.0)
        .collect();
    assert_eq!(types, ["Vlan", "IPv4"]);
    let prefix = at("ResourcePool", "spec.ipv4.prefixLength");
    assert_eq!((prefix.minimum, prefix.maximum), (Some(8.0), Some(32.0)));
    assert!(
        at("ResourcePool", "spec.ipv4.reserved.[]")
            .pattern
            .is_some()
    );
    assert_eq!(
        required("ResourceClaim", "spec"),
        ["pool", "subscription", "value"]
    );
    assert_eq!(
        at("Alarm", "spec.acknowledged").default.map(|d| d.0),
        Some(serde_json::json!(false))
    );
    assert_eq!(at("Alarm", "status.severity").enum_.unwrap().len(), 5);
    assert_eq!(at("Alarm", "status.type").enum_.unwrap().len(), 5);
}
