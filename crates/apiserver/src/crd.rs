//! CustomResourceDefinition rules: validation of the definition and the status the server
//! maintains (NamesAccepted, Established, storedVersions).

use serde_json::{Value, json};

use super::status::Cause;

/// The finalizer that keeps a CRD until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
        field: field.into(),
    }
}

fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {value}: {detail}"),
        field: field.into(),
    }
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// Validates a CRD's spec; returns the causes of a 422.
pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    let kind = str_at(crd, "/spec/names/kind");
    for (value, field) in [
        (group, "spec.group"),
        (plural, "spec.names.plural"),
        (kind, "spec.names.kind"),
    ] {
        if value.is_empty() {
            causes.push(required(field));
        }
    }
    if !group.is_empty() && !group.contains('.') {
        causes.push(invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    if !plural.is_empty() && !super::metadata::dns1123_label_errors(plural).is_empty() {
        causes.push(invalid(
            "spec.names.plural",
            &json!(plural),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
        ));
    }
    let name = str_at(crd, "/metadata/name");
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    match str_at(crd, "/spec/scope") {
        "Namespaced" | "Cluster" => {}
        other => causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: {}: supported values: \"Cluster\", \"Namespaced\"",
                json!(other)
            ),
            field: "spec.scope".into(),
        }),
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(required("spec.versions"));
    } else {
        let storage = versions
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .count();
        if storage != 1 {
            causes.push(invalid(
                "spec.versions",
                &Value::Array(versions.clone()),
                "must have exactly one version marked as storage version",
            ));
        }
        for (i, v) in versions.iter().enumerate() {
            if str_at(v, "/name").is_empty() {
                causes.push(required(&format!("spec.versions[{i}].name")));
            }
            if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
                let path = format!("spec.versions[{i}].schema.openAPIV3Schema");
                if schema.is_object() {
                    causes.extend(super::validation::check_crd_schema(schema, &path));
                } else {
                    causes.push(invalid(&path, schema, "must be an object"));
                }
            }
        }
    }
    causes
}

/// Fills defaulted names (singular, listKind).
pub fn apply_defaults(crd: &mut Value) {
    let kind = str_at(crd, "/spec/names/kind").to_string();
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        if names
            .get("singular")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
}

fn condition(
    old: Option<&Value>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let previous = old
        .and_then(|o| o.pointer("/status/conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        });
    let time = match previous {
        Some(p) if p.get("status").and_then(Value::as_str) == Some(status) => p
            .get("lastTransitionTime")
            .cloned()
            .unwrap_or_else(|| json!(now)),
        _ => json!(now),
    };
    json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": time})
}

/// Computes the status the server reports for `crd` (given its previous state).
pub fn status(crd: &Value, old: Option<&Value>, now: &str) -> Value {
    let mut conditions = vec![
        condition(
            old,
            "NamesAccepted",
            "True",
            "NoConflicts",
            "no conflicts found",
            now,
        ),
        condition(
            old,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            now,
        ),
    ];
    if crd.pointer("/metadata/deletionTimestamp").is_some() {
        conditions.push(condition(
            old,
            "Terminating",
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
            now,
        ));
    }
    let mut stored: Vec<Value> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        })
        .and_then(|v| v.get("name"))
        && !stored.contains(storage)
    {
        stored.push(storage.clone());
    }
    json!({
        "acceptedNames": crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({})),
        "conditions": conditions,
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "serviceorders.net.example.io"},
            "spec": {"group": "net.example.io", "scope": "Namespaced",
                     "names": {"plural": "serviceorders", "kind": "ServiceOrder"},
                     "versions": [{"name": "v1alpha1", "served": true, "storage": true}]}
        })
    }

    #[test]
    fn valid_crd_gets_established() {
        let mut c = crd();
        assert!(validate(&c).is_empty());
        apply_defaults(&mut c);
        assert_eq!(c["spec"]["names"]["listKind"], "ServiceOrderList");
        let s = status(&c, None, "2026-01-01T00:00:00Z");
        assert_eq!(s["conditions"][1]["type"], "Established");
        assert_eq!(s["storedVersions"], json!(["v1alpha1"]));
        let mut old = c.clone();
        old["status"] = s;
        let again = status(&c, Some(&old), "2026-02-01T00:00:00Z");
        assert_eq!(
            again["conditions"][0]["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn invalid_crd_fields_are_reported() {
        let mut c = crd();
        c["metadata"]["name"] = json!("wrong");
        c["spec"]["scope"] = json!("Galaxy");
        c["spec"]["versions"][0]["storage"] = json!(false);
        let fields: Vec<String> = validate(&c).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["metadata.name", "spec.scope", "spec.versions"]);
    }
}
