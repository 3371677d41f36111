//! Validator behaviour on small hand-written schemas, one keyword at a time.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::{Value, json};

use super::*;

fn schema(spec: Value) -> StructuralSchema {
    let props: JSONSchemaProps = serde_json::from_value(json!({
        "type": "object",
        "properties": { "spec": spec },
    }))
    .unwrap();
    StructuralSchema::new(&props).unwrap()
}

fn messages(s: &StructuralSchema, spec: Value) -> Vec<String> {
    let mut doc =
        json!({ "apiVersion": "x.dev/v1", "kind": "X", "metadata": {"name": "a"}, "spec": spec });
    s.admit(&mut doc)
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn types() {
    let s = schema(json!({"type": "object", "properties": {
        "n": {"type": "integer"}, "f": {"type": "number"}, "s": {"type": "string"},
        "b": {"type": "boolean"}, "l": {"type": "array", "items": {"type": "string"}},
        "o": {"type": "object", "properties": {}}, "ios": {"x-kubernetes-int-or-string": true}
    }}));
    assert!(
        messages(
            &s,
            json!({"n": 2, "f": 2, "s": "x", "b": true, "l": [], "o": {}, "ios": 3})
        )
        .is_empty()
    );
    assert!(
        messages(&s, json!({"n": 2.0, "f": 1.5, "ios": "3"})).is_empty(),
        "2.0 is an integer"
    );
    assert_eq!(
        messages(&s, json!({"n": "2"})),
        ["spec.n: Invalid value: \"string\": spec.n in body must be of type integer: \"string\""]
    );
    assert_eq!(
        messages(&s, json!({"n": 2.5})),
        ["spec.n: Invalid value: \"number\": spec.n in body must be of type integer: \"number\""]
    );
    assert_eq!(
        messages(&s, json!({"l": "a"})),
        ["spec.l: Invalid value: \"string\": spec.l in body must be of type array: \"string\""]
    );
    assert_eq!(
        messages(&s, json!({"ios": true})),
        [
            "spec.ios: Invalid value: \"boolean\": spec.ios in body must be of type integer,string: \"boolean\""
        ]
    );
    assert_eq!(
        messages(&s, json!({"l": [null]})),
        ["spec.l[0]: Invalid value: \"null\": spec.l[0] in body must be of type string: \"null\""]
    );
}

#[test]
fn nulls_are_pruned_unless_nullable() {
    let s = schema(json!({"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string"}, "b": {"type": "string", "nullable": true},
        "c": {"type": "string", "default": "dflt"}
    }}));
    let mut doc = json!({"spec": {"a": null, "b": null, "c": null}});
    let admission = s.admit(&mut doc);
    assert_eq!(doc, json!({"spec": {"b": null, "c": "dflt"}}));
    assert_eq!(admission.errors[0].to_string(), "spec.a: Required value");
}

#[test]
fn numbers() {
    let s = schema(json!({"type": "object", "properties": {
        "day": {"type": "integer", "minimum": 1.0, "maximum": 28.0},
        "ratio": {"type": "number", "minimum": 0.0, "exclusiveMinimum": true, "maximum": 1.5},
        "step": {"type": "integer", "multipleOf": 5.0}
    }}));
    assert!(messages(&s, json!({"day": 28, "ratio": 1.5, "step": 10})).is_empty());
    assert_eq!(
        messages(&s, json!({"day": 31})),
        ["spec.day: Invalid value: 31: spec.day in body should be less than or equal to 28"]
    );
    assert_eq!(
        messages(&s, json!({"day": 0})),
        ["spec.day: Invalid value: 0: spec.day in body should be greater than or equal to 1"]
    );
    assert_eq!(
        messages(&s, json!({"ratio": 0})),
        ["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"]
    );
    assert_eq!(
        messages(&s, json!({"ratio": 1.75})),
        ["spec.ratio: Invalid value: 1.75: spec.ratio in body should be less than or equal to 1.5"]
    );
    assert_eq!(
        messages(&s, json!({"step": 7})),
        ["spec.step: Invalid value: 7: spec.step in body should be a multiple of 5"]
    );
}

#[test]
fn strings() {
    let s = schema(json!({"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 3},
        "money": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
        "when": {"type": "string", "format": "date-time"},
        "action": {"type": "string", "enum": ["Add", "Modify"]}
    }}));
    assert!(
        messages(
            &s,
            json!({"name": "été", "money": "1.5", "when": "2024-01-01T00:00:00Z", "action": "Add"})
        )
        .is_empty()
    );
    assert_eq!(
        messages(&s, json!({"name": "abcd"})),
        ["spec.name: Too long: may not be more than 3 bytes"]
    );
    assert_eq!(
        messages(&s, json!({"name": ""})),
        ["spec.name: Invalid value: \"\": spec.name in body should be at least 1 chars long"]
    );
    assert_eq!(
        messages(&s, json!({"money": "1.234"})),
        [
            "spec.money: Invalid value: \"1.234\": spec.money in body should match '^[0-9]+(\\.[0-9]{1,2})?$'"
        ]
    );
    assert_eq!(
        messages(&s, json!({"when": "soon"})),
        [
            "spec.when: Invalid value: \"soon\": spec.when in body must be of type date-time: \"soon\""
        ]
    );
    assert_eq!(
        messages(&s, json!({"action": "Bogus"})),
        ["spec.action: Unsupported value: \"Bogus\": supported values: \"Add\", \"Modify\""]
    );
}

#[test]
fn arrays() {
    let s = schema(json!({"type": "object", "properties": {
        "items": {"type": "array", "minItems": 1, "maxItems": 2,
                  "items": {"type": "object", "required": ["action"], "properties": {"action": {"type": "string"}}}},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "conds": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                  "items": {"type": "object", "properties": {"type": {"type": "string"}}}},
        "uniq": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true}
    }}));
    assert_eq!(
        messages(&s, json!({"items": []})),
        ["spec.items: Invalid value: 0: spec.items in body should have at least 1 items"]
    );
    assert_eq!(
        messages(
            &s,
            json!({"items": [{"action": "a"}, {"action": "b"}, {"action": "c"}]})
        ),
        ["spec.items: Too many: 3: must have at most 2 items"]
    );
    assert_eq!(
        messages(&s, json!({"items": [{}]})),
        ["spec.items[0].action: Required value"]
    );
    assert_eq!(
        messages(&s, json!({"tags": ["a", "b", "a"]})),
        ["spec.tags[2]: Duplicate value: \"a\""]
    );
    assert_eq!(
        messages(&s, json!({"conds": [{"type": "Ready"}, {"type": "Ready"}]})),
        ["spec.conds[1]: Duplicate value: {\"type\":\"Ready\"}"]
    );
    assert_eq!(
        messages(&s, json!({"uniq": [1, 1.0]})),
        ["spec.uniq: Invalid value: \"\": spec.uniq in body shouldn't contain duplicates"]
    );
}

#[test]
fn objects_and_maps() {
    let s = schema(json!({"type": "object", "maxProperties": 3, "properties": {
        "params": {"type": "object", "additionalProperties": {"type": "integer", "maximum": 10.0}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                 "properties": {"known": {"type": "object", "properties": {"a": {"type": "string"}}}}}
    }}));
    assert_eq!(
        messages(&s, json!({"params": {"a": 1, "b": 11}})),
        [
            "spec.params.b: Invalid value: 11: spec.params.b in body should be less than or equal to 10"
        ]
    );
    let mut doc = json!({"spec": {"free": {"anything": {"x": 1}, "known": {"a": "x", "b": "y"}}, "bogus": 1}});
    let admission = s.admit(&mut doc);
    assert_eq!(admission.pruned, ["spec.bogus", "spec.free.known.b"]);
    assert_eq!(
        doc,
        json!({"spec": {"free": {"anything": {"x": 1}, "known": {"a": "x"}}}})
    );
    assert!(admission.errors.is_empty());
    assert_eq!(
        admission.strict()[0].to_string(),
        "spec.bogus: unknown field \"spec.bogus\""
    );
}

#[test]
fn pruning_keeps_resource_meta_and_embedded_resources() {
    let s = schema(json!({"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}},
        "list": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}
    }}));
    let mut doc = json!({
        "apiVersion": "x.dev/v1", "kind": "X", "metadata": {"name": "a", "labels": {"k": "v"}},
        "spec": {"template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}, "spec": {"x": "1", "y": 2}},
                 "list": [{"a": "x", "b": 1}]}
    });
    let admission = s.admit(&mut doc);
    assert_eq!(admission.pruned, ["spec.list[0].b", "spec.template.spec.y"]);
    assert_eq!(doc["metadata"]["labels"]["k"], "v");
    assert_eq!(doc["spec"]["template"]["kind"], "ConfigMap");
    assert!(admission.errors.is_empty(), "{:?}", admission.errors);
    assert_eq!(
        messages(&s, json!({"template": {"kind": "Bad Kind"}})),
        [
            "spec.template.apiVersion: Required value: must not be empty",
            "spec.template.kind: Invalid value: \"Bad Kind\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
}

#[test]
fn defaults_apply_recursively() {
    let s = schema(json!({"type": "object", "properties": {
        "billing": {"type": "object", "default": {}, "properties": {
            "terms": {"type": "integer", "default": 14},
            "key": {"type": "object", "default": {"name": "x"}, "properties": {
                "name": {"type": "string"}, "key": {"type": "string", "default": "secret"}}}
        }},
        "list": {"type": "array", "items": {"type": "object", "properties": {"p": {"type": "integer", "default": 1}}}},
        "kept": {"type": "integer", "default": 5}
    }}));
    let mut doc = json!({"spec": {"list": [{}, {"p": 2}], "kept": 7}});
    s.admit(&mut doc);
    assert_eq!(
        doc["spec"],
        json!({"billing": {"terms": 14, "key": {"name": "x", "key": "secret"}}, "list": [{"p": 1}, {"p": 2}], "kept": 7})
    );
}

#[test]
fn junctors() {
    let s = schema(json!({"type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
        "not": {"required": ["c"]}
    }));
    assert!(messages(&s, json!({"a": "x"})).is_empty());
    assert_eq!(
        messages(&s, json!({"a": "x", "b": "y"})),
        ["spec: Invalid value: \"\": spec must validate one and only one schema (oneOf)"]
    );
    let s = schema(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
        "anyOf": [{"required": ["a"]}, {"properties": {"a": {"pattern": "^x"}}}]}),
    );
    assert!(messages(&s, json!({"a": "y"})).is_empty());
    let s = schema(
        json!({"type": "object", "properties": {"a": {"type": "string"}},
        "allOf": [{"properties": {"a": {"maxLength": 1}}}]}),
    );
    assert_eq!(
        messages(&s, json!({"a": "yy"})),
        ["spec.a: Too long: may not be more than 1 byte"]
    );
}

#[test]
fn invalid_patterns_are_reported_when_compiling() {
    let props: JSONSchemaProps = serde_json::from_value(
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}),
    )
    .unwrap();
    let err = StructuralSchema::new(&props).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("a.pattern: invalid regular expression \"(\""),
        "{err}"
    );
}

#[test]
fn structural_checks() {
    let bad: JSONSchemaProps = serde_json::from_value(json!({
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "list": {"type": "array"},
            "both": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "string"}},
            "junctor": {"type": "object", "properties": {"a": {"type": "string"}},
                        "anyOf": [{"type": "object", "properties": {"b": {"pattern": "x"}}}]},
            "dflt": {"type": "integer", "maximum": 3.0, "default": 5},
            "ok": {"x-kubernetes-int-or-string": true,
                   "anyOf": [{"type": "integer"}, {"type": "string"}]}
        }
    }))
    .unwrap();
    let errors: Vec<String> = check_structural(&bad, "schema")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "schema.properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            "schema.properties[dflt].default: Invalid value: 5: schema.properties[dflt].default in body should be less than or equal to 3",
            "schema.properties[junctor].anyOf[0].type: Forbidden: must be empty to be structural",
            "schema.properties[junctor].anyOf[0].properties[b]: Required value: must have a corresponding property outside of the junctor",
            "schema.properties[list].items: Required value: must be specified",
            "schema.properties[untyped].type: Required value: must not be empty for specified fields",
        ]
    );
}

#[test]
fn compiled_schemas_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StructuralSchema>();
    assert_send_sync::<DocumentValidator>();
}
