//! Property tests: the validator takes untrusted documents, so arbitrary JSON in any place of
//! any Ferrule kind must never panic, and admission must be idempotent.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::LazyLock;

use ferrule_crds::crdgen::all_crds;
use ferrule_crds::schema::StructuralSchema;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

static SCHEMAS: LazyLock<Vec<(String, String, StructuralSchema)>> = LazyLock::new(|| {
    all_crds()
        .iter()
        .map(|crd| {
            let schema = crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .unwrap();
            (
                format!("{}/{}", crd.spec.group, crd.spec.versions[0].name),
                crd.spec.names.kind.clone(),
                StructuralSchema::new(schema).unwrap(),
            )
        })
        .collect()
});

/// Keys that occur in Ferrule's schemas, so that generated objects hit real fields.
const KEYS: &[&str] = &[
    "spec",
    "status",
    "billing",
    "currency",
    "cycleDay",
    "items",
    "action",
    "vlan",
    "ipv4",
    "parameters",
    "access",
    "device",
    "port",
    "conditions",
    "type",
    "reason",
    "pricing",
    "monthly",
    "selector",
    "roles",
    "devices",
    "owned",
    "unknown",
    "metadata",
    "name",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6_f64..1e6).prop_map(Value::from),
        "[A-Za-z0-9 ./:-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "Add",
            "EUR",
            "39.90",
            "True",
            "Ready",
            "2024-01-01T00:00:00Z"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|entries| {
                let map: Map<String, Value> = entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                Value::Object(map)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_documents_never_panic_and_admission_is_idempotent(
        which in 0_usize..8,
        spec in json_value(),
        status in json_value(),
    ) {
        let (api_version, kind, schema) = &SCHEMAS[which];
        let mut doc = json!({
            "apiVersion": api_version, "kind": kind, "metadata": {"name": "x"},
            "spec": spec, "status": status,
        });
        let first = schema.admit(&mut doc);
        let again = doc.clone();
        let mut second_doc = doc.clone();
        let second = schema.admit(&mut second_doc);
        prop_assert!(second.pruned.is_empty(), "pruning twice removed {:?}", second.pruned);
        prop_assert_eq!(&second_doc, &again, "defaulting twice changed the document");
        prop_assert_eq!(second.errors, first.errors);
        prop_assert_eq!(&doc["metadata"], &json!({"name": "x"}));
    }
}
