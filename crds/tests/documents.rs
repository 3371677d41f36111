//! Whole manifests through the validator with the real CRDs: valid ones pass and get their
//! defaults, invalid ones are rejected with the field path and the API server's message.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::LazyLock;

use ferrule_crds::crdgen::all_crds;
use ferrule_crds::schema::{Checked, DocumentValidator, FieldErrorKind, validate_document};
use ferrule_crds::{
    Alarm, Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription,
};
use serde_json::{Value, json};

static VALIDATOR: LazyLock<DocumentValidator> =
    LazyLock::new(|| DocumentValidator::new(&all_crds()).unwrap());

fn customer() -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer",
        "metadata": {"name": "acme", "namespace": "isp-a"},
        "spec": {
            "displayName": "ACME Corp",
            "contact": {"email": "billing@acme.example", "phone": "+41 44 123 45 67"},
            "billing": {"currency": "EUR", "cycleDay": 1},
            "notifications": {"webhook": {"url": "https://acme.example/hooks", "secretRef": {"name": "acme-hook"}}}
        }
    })
}

fn product() -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product",
        "metadata": {"name": "fiber-300"},
        "spec": {
            "displayName": "Fiber 300",
            "serviceType": "internet",
            "parameters": {"downMbps": 300, "upMbps": 100, "ipv6": true, "tier": "gold", "ratio": 0.5},
            "pricing": {"currency": "EUR", "monthly": "39.90",
                        "usage": {"unit": "GB", "included": 1000, "overagePerUnit": "0.05"}},
            "sla": {"availabilityPercent": "99.9", "creditPercent": "10"}
        }
    })
}

fn subscription() -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "acme-hq"},
        "spec": {"customer": "acme", "product": "fiber-300",
                 "access": {"device": "olt1", "port": "ge-0/0/1"}, "vlan": 1203, "ipv4": "100.64.0.5/24"}
    })
}

fn order() -> Value {
    json!({
        "apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "ServiceOrder",
        "metadata": {"name": "acme-order-1"},
        "spec": {"customer": "acme", "items": [
            {"action": "Add", "subscription": "acme-hq", "product": "fiber-300",
             "access": {"device": "olt1", "port": "ge-0/0/1"}},
            {"action": "Suspend", "subscription": "acme-branch"}
        ]}
    })
}

fn device() -> Value {
    json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
        "metadata": {"name": "olt1"},
        "spec": {"address": "olt1.lab.example:830", "profile": "ietf-interfaces",
                 "credentialsSecret": "olt1-credentials",
                 "hostKey": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
                 "role": "access", "site": "zurich", "ports": ["ge-0/0/1", "ge-0/0/2"], "bng": "bng1"}
    })
}

fn pool() -> Value {
    json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
        "metadata": {"name": "bng-v4"},
        "spec": {"type": "IPv4", "ipv4": {"cidr": "100.64.0.0/22", "prefixLength": 22, "reserved": ["100.64.0.1"]},
                 "selector": {"roles": ["bng"], "sites": ["zurich"]}}
    })
}

fn claim() -> Value {
    json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourceClaim",
        "metadata": {"name": "olt1-vlans.1203"},
        "spec": {"pool": "olt1-vlans", "value": "1203", "subscription": "acme-hq"}
    })
}

fn alarm() -> Value {
    json!({
        "apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Alarm",
        "metadata": {"name": "olt1-unreachable"},
        "spec": {},
        "status": {"severity": "Critical", "type": "DeviceUnreachable",
                   "source": {"kind": "Device", "name": "olt1"}, "affectedSubscriptions": ["acme-hq"],
                   "raisedAt": "2024-05-01T12:00:00Z", "count": 3,
                   "conditions": [{"type": "Ready", "status": "False", "reason": "Raised",
                                   "lastTransitionTime": "2024-05-01T12:00:00Z"}]}
    })
}

/// Sets (or adds) the value at a JSON pointer whose parent exists.
fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
    {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => panic!("{parent} is {other}"),
    }
    doc
}

fn without(mut doc: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
    doc
}

/// The error strings for `doc`, which must be invalid.
fn errors(doc: &Value) -> Vec<String> {
    match VALIDATOR.check(doc) {
        Ok(checked) => panic!("expected errors, got {checked:?} for {doc:#}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Admits `doc` as the API server would and returns the stored form.
fn admitted(doc: &Value) -> Value {
    let api_version = doc["apiVersion"].as_str().unwrap();
    let kind = doc["kind"].as_str().unwrap();
    let schema = VALIDATOR.schema_for(api_version, kind).unwrap();
    let mut stored = doc.clone();
    let admission = schema.admit(&mut stored);
    assert!(
        admission.pruned.is_empty() && admission.is_valid(),
        "{admission:#?}"
    );
    stored
}

#[test]
fn valid_documents_pass() {
    for doc in [
        customer(),
        product(),
        subscription(),
        order(),
        device(),
        pool(),
        claim(),
        alarm(),
    ] {
        assert_eq!(VALIDATOR.check(&doc), Ok(Checked::Valid), "{}", doc["kind"]);
        assert_eq!(validate_document(&all_crds(), &doc), Ok(Checked::Valid));
    }
}

#[test]
fn defaults_are_filled_in() {
    let c = admitted(&customer());
    assert_eq!(c["spec"]["billing"]["paymentTermsDays"], 14);
    assert_eq!(c["spec"]["billing"]["graceDays"], 7);
    assert_eq!(c["spec"]["billing"]["taxRatePercent"], "0");
    assert_eq!(
        c["spec"]["notifications"]["webhook"]["secretRef"]["key"],
        "secret"
    );
    let p = admitted(&product());
    assert_eq!(p["spec"]["pricing"]["setupFee"], "0.00");
    assert_eq!(p["spec"]["planChange"], "Immediate");
    assert_eq!(admitted(&subscription())["spec"]["state"], "Active");
    let d = admitted(&device());
    assert_eq!(d["spec"]["driftPolicy"], "Report");
    assert_eq!(d["spec"]["maintenance"], false);
    assert_eq!(d["spec"]["insecureSkipHostKeyVerification"], false);
    assert_eq!(admitted(&alarm())["spec"]["acknowledged"], false);
    assert_eq!(admitted(&alarm())["status"]["conditions"][0]["message"], "");
}

/// What the API server stores decodes into the Rust types, and what the Rust types write
/// passes the schema: the two cannot drift apart.
#[test]
fn stored_documents_round_trip_through_the_types() {
    fn round_trip<K: serde::de::DeserializeOwned + serde::Serialize>(doc: Value) {
        let stored = admitted(&doc);
        let typed: K = serde_json::from_value(stored.clone()).unwrap();
        let written = serde_json::to_value(&typed).unwrap();
        assert_eq!(VALIDATOR.check(&written), Ok(Checked::Valid), "{written:#}");
        assert_eq!(admitted(&written), written, "re-admitting changes nothing");
    }
    round_trip::<Customer>(customer());
    round_trip::<Product>(product());
    round_trip::<Subscription>(subscription());
    round_trip::<ServiceOrder>(order());
    round_trip::<Device>(device());
    round_trip::<ResourcePool>(pool());
    round_trip::<ResourceClaim>(claim());
    round_trip::<Alarm>(alarm());
}

#[test]
fn bad_currency() {
    assert_eq!(
        errors(&with(customer(), "/spec/billing/currency", json!("usd"))),
        [
            "spec.billing.currency: Invalid value: \"usd\": spec.billing.currency in body should match '^[A-Z]{3}$'"
        ]
    );
}

#[test]
fn money_with_three_decimals() {
    assert_eq!(
        errors(&with(product(), "/spec/pricing/monthly", json!("39.901"))),
        [
            r#"spec.pricing.monthly: Invalid value: "39.901": spec.pricing.monthly in body should match '^[0-9]{1,12}(\.[0-9]{1,2})?$'"#
        ]
    );
}

#[test]
fn vlan_out_of_range() {
    assert_eq!(
        errors(&with(subscription(), "/spec/vlan", json!(5000))),
        ["spec.vlan: Invalid value: 5000: spec.vlan in body should be less than or equal to 4094"]
    );
    assert_eq!(
        errors(&with(subscription(), "/spec/vlan", json!(0))),
        ["spec.vlan: Invalid value: 0: spec.vlan in body should be greater than or equal to 1"]
    );
}

#[test]
fn cycle_day_31() {
    let e = VALIDATOR
        .check(&with(customer(), "/spec/billing/cycleDay", json!(31)))
        .unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].path, "spec.billing.cycleDay");
    assert_eq!(e[0].kind, FieldErrorKind::Invalid);
    assert_eq!(e[0].kind.reason(), "FieldValueInvalid");
    assert_eq!(
        e[0].message,
        "Invalid value: 31: spec.billing.cycleDay in body should be less than or equal to 28"
    );
}

#[test]
fn unknown_enum_value() {
    let e = VALIDATOR
        .check(&with(order(), "/spec/items/0/action", json!("Bogus")))
        .unwrap_err();
    assert_eq!(e[0].kind, FieldErrorKind::NotSupported);
    assert_eq!(
        e[0].to_string(),
        "spec.items[0].action: Unsupported value: \"Bogus\": supported values: \"Add\", \"Modify\", \"Suspend\", \"Resume\", \"Terminate\""
    );
    assert_eq!(
        errors(&with(device(), "/spec/role", json!("Access"))),
        [
            "spec.role: Unsupported value: \"Access\": supported values: \"access\", \"bng\", \"core\""
        ]
    );
}

#[test]
fn missing_required_fields() {
    assert_eq!(
        errors(&without(customer(), "/spec/contact/email")),
        ["spec.contact.email: Required value"]
    );
    assert_eq!(
        errors(&without(subscription(), "/spec/access")),
        ["spec.access: Required value"]
    );
    assert_eq!(errors(&without(claim(), "/spec")), ["spec: Required value"]);
    let e = VALIDATOR
        .check(&without(device(), "/spec/role"))
        .unwrap_err();
    assert_eq!(e[0].kind, FieldErrorKind::Required);
    assert_eq!(e[0].kind.reason(), "FieldValueRequired");
}

#[test]
fn wrong_types() {
    let e = VALIDATOR
        .check(&with(customer(), "/spec/billing/cycleDay", json!("1")))
        .unwrap_err();
    assert_eq!(e[0].kind, FieldErrorKind::TypeInvalid);
    assert_eq!(
        e[0].to_string(),
        "spec.billing.cycleDay: Invalid value: \"string\": spec.billing.cycleDay in body must be of type integer: \"string\""
    );
    // As on a real API server, the members of an object where a list belongs are unknown.
    assert_eq!(
        errors(&with(order(), "/spec/items", json!({"action": "Add"}))),
        [
            "spec.items.action: unknown field \"spec.items.action\"",
            "spec.items: Invalid value: \"object\": spec.items in body must be of type array: \"object\""
        ]
    );
    assert_eq!(
        errors(&with(device(), "/spec/maintenance", json!("yes"))),
        [
            "spec.maintenance: Invalid value: \"string\": spec.maintenance in body must be of type boolean: \"string\""
        ]
    );
}

#[test]
fn other_constraints() {
    assert_eq!(
        errors(&with(order(), "/spec/items", json!([]))),
        ["spec.items: Invalid value: 0: spec.items in body should have at least 1 items"]
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"action": "Resume", "subscription": format!("s{i}")}))
        .collect();
    assert_eq!(
        errors(&with(order(), "/spec/items", Value::Array(many))),
        ["spec.items: Too many: 101: must have at most 100 items"]
    );
    assert_eq!(
        errors(&with(customer(), "/spec/displayName", json!(""))),
        [
            "spec.displayName: Invalid value: \"\": spec.displayName in body should be at least 1 chars long"
        ]
    );
    assert_eq!(
        errors(&with(
            device(),
            "/spec/ports",
            json!(["ge-0/0/1", "ge-0/0/1"])
        )),
        ["spec.ports[1]: Duplicate value: \"ge-0/0/1\""]
    );
    assert!(
        VALIDATOR
            .check(&with(device(), "/spec/address", json!("[2001:db8::1]:830")))
            .is_ok()
    );
    assert_eq!(
        errors(&with(device(), "/spec/address", json!("olt1"))).len(),
        1
    );
    assert_eq!(
        errors(&with(
            subscription(),
            "/spec/ipv4",
            json!("100.64.0.300/24")
        ))
        .len(),
        1
    );
    assert_eq!(
        errors(&with(
            product(),
            "/spec/sla/availabilityPercent",
            json!("100.1")
        ))
        .len(),
        1
    );
    assert_eq!(
        errors(&with(alarm(), "/status/raisedAt", json!("yesterday"))),
        [
            "status.raisedAt: Invalid value: \"yesterday\": status.raisedAt in body must be of type date-time: \"yesterday\""
        ]
    );
}

#[test]
fn unknown_fields_are_pruned_and_reported() {
    let doc = with(customer(), "/spec/billing/discount", json!("10%"));
    let doc = with(doc, "/spec/foo", json!({"bar": 1}));
    assert_eq!(
        errors(&doc),
        [
            "spec.billing.discount: unknown field \"spec.billing.discount\"",
            "spec.foo: unknown field \"spec.foo\""
        ]
    );
    let schema = VALIDATOR
        .schema_for("bss.ferrule.dev/v1alpha1", "Customer")
        .unwrap();
    let mut stored = doc.clone();
    let admission = schema.admit(&mut stored);
    assert_eq!(admission.pruned, ["spec.billing.discount", "spec.foo"]);
    assert!(admission.is_valid(), "pruning leaves a valid object");
    assert!(stored["spec"].get("foo").is_none());
    assert_eq!(admission.strict()[0].kind, FieldErrorKind::UnknownField);
    // Service parameters keep anything: they are free-form by design.
    assert_eq!(
        VALIDATOR.check(&with(product(), "/spec/parameters/newKnob", json!(1))),
        Ok(Checked::Valid)
    );
}

#[test]
fn other_kinds_are_not_ours() {
    for doc in [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "isp-a"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "olt1-credentials"}, "stringData": {"username": "admin"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}),
    ] {
        assert_eq!(validate_document(&all_crds(), &doc), Ok(Checked::NotOurs));
    }
}

#[test]
fn envelope_problems() {
    assert_eq!(
        errors(&json!({"kind": "Customer"})),
        ["apiVersion: Required value"]
    );
    assert_eq!(
        errors(&with(
            customer(),
            "/apiVersion",
            json!("bss.ferrule.dev/v1")
        )),
        [
            "apiVersion: Unsupported value: \"bss.ferrule.dev/v1\": supported values: \"bss.ferrule.dev/v1alpha1\""
        ]
    );
    let e = errors(&with(customer(), "/metadata/name", json!("ACME Corp")));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "metadata.name: Invalid value: \"ACME Corp\": a lowercase RFC 1123 subdomain"
        ),
        "{e:?}"
    );
}
