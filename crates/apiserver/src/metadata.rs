//! Object metadata: the server-set fields on create and update, and validation of names,
//! labels and annotations with the API server's messages.

use std::sync::OnceLock;

use rand::Rng;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::status::Cause;

/// Largest total size of an object's annotations, as in Kubernetes.
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

const QUALIFIED_NAME: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

fn compiled(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(&format!("^(?:{pattern})$")).ok())
        .as_ref()
}

fn matches(cell: &'static OnceLock<Option<Regex>>, pattern: &str, value: &str) -> bool {
    compiled(cell, pattern).is_some_and(|r| r.is_match(value))
}

fn is_qualified(value: &str) -> bool {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    matches(&R, QUALIFIED_NAME, value)
}

fn is_label_value(value: &str) -> bool {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    matches(&R, LABEL_VALUE, value)
}

fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {}: {detail}", json!(value)),
        field: field.into(),
    }
}

/// Errors of a DNS-1123 label (namespace names).
pub fn dns1123_label_errors(value: &str) -> Vec<String> {
    ferrule_crds::names::dns1123_label_errors(value)
}

/// Errors of a DNS-1123 subdomain (most object names).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    ferrule_crds::names::dns1123_subdomain_errors(value)
}

/// Errors of a qualified name (`[prefix/]name`), used for label and annotation keys.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let (prefix, name) = match value.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    let mut errs = Vec::new();
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            errs.extend(
                dns1123_subdomain_errors(p)
                    .into_iter()
                    .map(|e| format!("prefix part {e}")),
            );
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    }
    if !name.is_empty() && !is_qualified(name) {
        errs.push(format!("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED_NAME}')"));
    }
    errs
}

/// Errors of a label value.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_label_value(value) {
        errs.push(format!("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE}')"));
    }
    errs
}

/// How an object's name must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 label (namespaces).
    Label,
    /// A DNS-1123 subdomain (everything else).
    Subdomain,
}

/// Validates `metadata`: name, labels, annotations, finalizers, ownerReferences.
pub fn validate(meta: &Value, rule: NameRule) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value: name or generateName is required".into(),
            field: "metadata.name".into(),
        });
    } else {
        let errs = match rule {
            NameRule::Label => dns1123_label_errors(name),
            NameRule::Subdomain => dns1123_subdomain_errors(name),
        };
        causes.extend(errs.iter().map(|e| invalid("metadata.name", name, e)));
    }
    if let Some(labels) = meta.get("labels") {
        match labels.as_object() {
            None if !labels.is_null() => {
                causes.push(invalid("metadata.labels", "", "must be a map of strings"))
            }
            None => {}
            Some(m) => {
                for (k, v) in m {
                    causes.extend(
                        qualified_name_errors(k)
                            .iter()
                            .map(|e| invalid("metadata.labels", k, e)),
                    );
                    match v.as_str() {
                        Some(s) => causes.extend(
                            label_value_errors(s)
                                .iter()
                                .map(|e| invalid("metadata.labels", s, e)),
                        ),
                        None => causes.push(invalid(
                            &format!("metadata.labels.{k}"),
                            &v.to_string(),
                            "must be a string",
                        )),
                    }
                }
            }
        }
    }
    if let Some(annotations) = meta.get("annotations") {
        match annotations.as_object() {
            None if !annotations.is_null() => causes.push(invalid(
                "metadata.annotations",
                "",
                "must be a map of strings",
            )),
            None => {}
            Some(m) => {
                let mut total = 0;
                for (k, v) in m {
                    causes.extend(
                        qualified_name_errors(&k.to_lowercase())
                            .iter()
                            .map(|e| invalid("metadata.annotations", k, e)),
                    );
                    match v.as_str() {
                        Some(s) => total += k.len() + s.len(),
                        None => causes.push(invalid(
                            &format!("metadata.annotations.{k}"),
                            &v.to_string(),
                            "must be a string",
                        )),
                    }
                }
                if total > MAX_ANNOTATIONS_BYTES {
                    causes.push(Cause {
                        reason: "FieldValueTooLong".into(),
                        message: format!(
                            "Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes"
                        ),
                        field: "metadata.annotations".into(),
                    });
                }
            }
        }
    }
    if let Some(finalizers) = meta.get("finalizers") {
        match finalizers.as_array() {
            Some(items) => {
                for (i, f) in items.iter().enumerate() {
                    let field = format!("metadata.finalizers[{i}]");
                    match f.as_str() {
                        Some(s) => causes.extend(
                            qualified_name_errors(s)
                                .iter()
                                .map(|e| invalid(&field, s, e)),
                        ),
                        None => causes.push(invalid(&field, &f.to_string(), "must be a string")),
                    }
                }
            }
            None if !finalizers.is_null() => causes.push(invalid(
                "metadata.finalizers",
                "",
                "must be a list of strings",
            )),
            None => {}
        }
    }
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        for (i, o) in owners.iter().enumerate() {
            for f in ["apiVersion", "kind", "name", "uid"] {
                if o.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                    causes.push(Cause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value".into(),
                        field: format!("metadata.ownerReferences[{i}].{f}"),
                    });
                }
            }
        }
    }
    causes
}

const NAME_SUFFIX_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A name from `generateName`: the prefix (shortened to leave room) plus five random
/// characters, as Kubernetes generates them.
pub fn generate_name(prefix: &str) -> String {
    let prefix: String = prefix.chars().take(58).collect();
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| NAME_SUFFIX_CHARS[rng.random_range(0..NAME_SUFFIX_CHARS.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// A timestamp in the RFC 3339 second precision of metadata.
pub fn timestamp(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The object's `metadata` map, created if missing; `None` if `obj` is not an object.
pub fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let root = obj.as_object_mut()?;
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut()
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Fills the server-set fields of a new object: uid, creationTimestamp, generation; clears
/// the ones clients may not set.
pub fn prepare_create(obj: &mut Value, with_generation: bool, now: &str) {
    let Some(meta) = meta_mut(obj) else {
        return;
    };
    for f in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        meta.remove(f);
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now));
    if with_generation {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
}

/// Keeps the fields of `old` that an update cannot change: uid, creationTimestamp,
/// generation, deletion state, name and namespace.
pub fn carry_over(old: &Value, new: &mut Value) {
    let keep = [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "name",
        "namespace",
    ];
    let old_meta = old
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(meta) = meta_mut(new) else {
        return;
    };
    meta.remove("selfLink");
    for f in keep {
        match old_meta.get(f) {
            Some(v) => {
                meta.insert(f.into(), v.clone());
            }
            None => {
                meta.remove(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(dns1123_subdomain_errors("serviceorders.net.example.io").is_empty());
        assert!(dns1123_subdomain_errors("x.18eb654b1881a622").is_empty());
        assert_eq!(dns1123_subdomain_errors("Bad_Name").len(), 1);
        assert!(dns1123_label_errors("shop").is_empty());
        assert!(!dns1123_label_errors("a.b").is_empty());
        assert!(!dns1123_label_errors(&"a".repeat(64)).is_empty());
    }

    #[test]
    fn metadata_causes_name_fields() {
        let meta = json!({"name": "Bad_Name", "labels": {"app": "demo", "bad key": "x", "ok": "bad value!"},
                          "annotations": {"example.com/a": "1"}, "finalizers": ["kubernetes", "a/b"]});
        let causes = validate(&meta, NameRule::Subdomain);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.labels", "metadata.labels"]
        );
        assert!(
            causes[0]
                .message
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
        assert!(validate(&json!({"name": "ok"}), NameRule::Label).is_empty());
        assert_eq!(
            validate(&json!({}), NameRule::Label)[0].reason,
            "FieldValueRequired"
        );
        let owners = json!({"name": "x", "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "n"}]});
        assert_eq!(
            validate(&owners, NameRule::Subdomain)[0].field,
            "metadata.ownerReferences[0].uid"
        );
    }

    #[test]
    fn generated_names_have_a_random_suffix() {
        let n = generate_name("order-");
        assert!(n.starts_with("order-") && n.len() == 11);
        assert!(dns1123_subdomain_errors(&n).is_empty());
        assert_eq!(generate_name(&"a".repeat(100)).len(), 63);
    }

    #[test]
    fn create_and_update_metadata() {
        let mut o = json!({"metadata": {"name": "x", "resourceVersion": "5", "uid": "client"}});
        prepare_create(&mut o, true, "2026-01-01T00:00:00Z");
        assert_ne!(o["metadata"]["uid"], "client");
        assert_eq!(o["metadata"]["generation"], 1);
        assert!(o["metadata"].get("resourceVersion").is_none());
        let mut n = json!({"metadata": {"name": "x", "uid": "other", "labels": {"a": "b"}}});
        carry_over(&o, &mut n);
        assert_eq!(n["metadata"]["uid"], o["metadata"]["uid"]);
        assert_eq!(n["metadata"]["labels"]["a"], "b");
    }
}
