//! What the server does to an object before storing it: status/spec separation, server-set
//! metadata, generation, and the rules of each built-in type.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::crd;
use super::managed::Scope;
use super::metadata::{self, NameRule};
use super::registry::{Builtin, ResourceType};
use super::status::{ApiError, Cause};

/// Whether objects of the type carry `metadata.generation`.
pub fn uses_generation(rt: &ResourceType) -> bool {
    matches!(rt.builtin, None | Some(Builtin::Crd))
}

/// The request scope for a subresource.
pub fn scope(rt: &ResourceType, status: bool) -> Scope {
    if status {
        Scope::Status
    } else {
        Scope::Main {
            status_separate: rt.status_subresource,
        }
    }
}

fn without(obj: &Value, fields: &[&str]) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        for f in fields {
            m.remove(*f);
        }
    }
    o
}

/// Prepares a new object for storage. `now` is the RFC 3339 time of the request.
pub fn prepare_create(rt: &ResourceType, obj: &mut Value, now: &str) -> Result<(), ApiError> {
    metadata::prepare_create(obj, uses_generation(rt), now);
    if rt.status_subresource
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    type_rules(rt, None, obj, now)?;
    validate_meta(rt, obj)
}

/// Prepares an updated object: keeps what the request may not change (depending on
/// `scope`), carries immutable metadata over, bumps the generation on spec changes.
pub fn prepare_update(
    rt: &ResourceType,
    old: &Value,
    new: &mut Value,
    scope: Scope,
    now: &str,
) -> Result<(), ApiError> {
    match scope {
        Scope::Status => {
            let status = new.get("status").cloned();
            let mut next = old.clone();
            if let Some(m) = next.as_object_mut() {
                match status {
                    Some(s) => m.insert("status".into(), s),
                    None => m.remove("status"),
                };
            }
            // The caller's managedFields are considered by the field manager, not kept here.
            if let (Some(managed), Some(meta)) = (
                new.pointer("/metadata/managedFields").cloned(),
                metadata::meta_mut(&mut next),
            ) {
                meta.insert("managedFields".into(), managed);
            }
            *new = next;
        }
        Scope::Main {
            status_separate: true,
        } => {
            if let Some(m) = new.as_object_mut() {
                match old.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
        }
        Scope::Main {
            status_separate: false,
        }
        | Scope::All => {}
    }
    metadata::carry_over(old, new);
    forbid_new_finalizers_while_deleting(old, new)?;
    if uses_generation(rt) {
        let ignored: &[&str] = &["metadata", "status"];
        let changed = without(old, ignored) != without(new, ignored);
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        if let Some(meta) = metadata::meta_mut(new) {
            meta.insert(
                "generation".into(),
                json!(if changed { generation + 1 } else { generation }),
            );
        }
    }
    type_rules(rt, Some(old), new, now)?;
    validate_meta(rt, new)
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn forbid_new_finalizers_while_deleting(old: &Value, new: &Value) -> Result<(), ApiError> {
    if old.pointer("/metadata/deletionTimestamp").is_none() {
        return Ok(());
    }
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        "",
        "",
        metadata::meta_str(new, "name").unwrap_or(""),
        vec![Cause {
            reason: "FieldValueForbidden".into(),
            message: format!(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
            ),
            field: "metadata.finalizers".into(),
        }],
    ))
}

fn validate_meta(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let rule = if rt.builtin == Some(Builtin::Namespace) {
        NameRule::Label
    } else {
        NameRule::Subdomain
    };
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let causes = metadata::validate(&meta, rule);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid(rt, obj, causes))
    }
}

/// A 422 for `obj` of type `rt`.
pub fn invalid(rt: &ResourceType, obj: &Value, causes: Vec<Cause>) -> ApiError {
    ApiError::invalid(
        &rt.group,
        &rt.kind,
        metadata::meta_str(obj, "name").unwrap_or(""),
        causes,
    )
}

fn type_rules(
    rt: &ResourceType,
    old: Option<&Value>,
    obj: &mut Value,
    now: &str,
) -> Result<(), ApiError> {
    match rt.builtin {
        Some(Builtin::Secret) => secret(rt, old, obj),
        Some(Builtin::ConfigMap) => immutable_data(rt, old, obj, &["data", "binaryData"]),
        Some(Builtin::Namespace) => {
            namespace(obj);
            Ok(())
        }
        Some(Builtin::Crd) => {
            let causes = crd::validate(obj);
            if !causes.is_empty() {
                return Err(invalid(rt, obj, causes));
            }
            crd::apply_defaults(obj);
            let status = crd::status(obj, old, now);
            obj["status"] = status;
            Ok(())
        }
        Some(Builtin::CoreEvent | Builtin::EventsV1Event | Builtin::Lease) | None => Ok(()),
    }
}

fn namespace(obj: &mut Value) {
    let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
    if obj.pointer("/spec/finalizers").is_none() && !deleting {
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
    }
    let phase = if deleting { "Terminating" } else { "Active" };
    match obj.get_mut("status").and_then(Value::as_object_mut) {
        Some(s) => {
            s.insert("phase".into(), json!(phase));
        }
        None => obj["status"] = json!({"phase": phase}),
    }
}

fn immutable_data(
    rt: &ResourceType,
    old: Option<&Value>,
    obj: &Value,
    fields: &[&str],
) -> Result<(), ApiError> {
    let Some(old) = old else {
        return Ok(());
    };
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let mut causes = Vec::new();
    for f in fields.iter().copied().chain(["immutable"]) {
        if old.get(f) != obj.get(f) {
            causes.push(Cause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: field is immutable when `immutable` is set".into(),
                field: f.into(),
            });
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid(rt, obj, causes))
    }
}

fn secret(rt: &ResourceType, old: Option<&Value>, obj: &mut Value) -> Result<(), ApiError> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut causes = Vec::new();
    if let Some(m) = obj.as_object_mut() {
        let string_data = m.remove("stringData");
        if let Some(Value::Object(sd)) = string_data {
            let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
            if !data.is_object() {
                *data = Value::Object(Map::new());
            }
            if let Some(d) = data.as_object_mut() {
                for (k, v) in sd {
                    let text = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    d.insert(k, json!(engine.encode(text.as_bytes())));
                }
            }
        }
        if m.get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            m.insert("type".into(), json!("Opaque"));
        }
        if let Some(Value::Object(d)) = m.get("data") {
            for (k, v) in d {
                let ok = v.as_str().is_some_and(|s| engine.decode(s).is_ok());
                if !ok {
                    causes.push(Cause {
                        reason: "FieldValueInvalid".into(),
                        message: format!("Invalid value: {v}: illegal base64 data"),
                        field: format!("data[{k}]"),
                    });
                }
            }
        }
    }
    // As in Kubernetes, a Secret's type never changes after creation (what makes a type an
    // opt-in that a patch cannot give to an existing Secret).
    if let Some(old) = old
        && old.get("type") != obj.get("type")
    {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: field is immutable".into(),
            field: "type".into(),
        });
    }
    if !causes.is_empty() {
        return Err(invalid(rt, obj, causes));
    }
    immutable_data(rt, old, obj, &["data", "type"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry::Registry;

    const NOW: &str = "2026-01-01T00:00:00Z";

    fn cr_type() -> ResourceType {
        let mut t = Registry::build(&[])
            .lookup("", "v1", "configmaps")
            .unwrap()
            .as_ref()
            .clone();
        t.builtin = None;
        t.status_subresource = true;
        t
    }

    #[test]
    fn status_is_separate_and_generation_follows_spec() {
        let rt = cr_type();
        let mut created = json!({"metadata": {"name": "x"}, "spec": {"a": 1}, "status": {"p": 1}});
        prepare_create(&rt, &mut created, NOW).unwrap();
        assert!(created.get("status").is_none());
        assert_eq!(created["metadata"]["generation"], 1);
        let mut old = created.clone();
        old["status"] = json!({"p": "old"});

        let mut main = old.clone();
        main["spec"]["a"] = json!(2);
        main["status"] = json!({"p": "ignored"});
        prepare_update(&rt, &old, &mut main, scope(&rt, false), NOW).unwrap();
        assert_eq!(main["status"]["p"], "old");
        assert_eq!(main["metadata"]["generation"], 2);

        let mut label_only = old.clone();
        label_only["metadata"]["labels"] = json!({"a": "b"});
        prepare_update(&rt, &old, &mut label_only, scope(&rt, false), NOW).unwrap();
        assert_eq!(label_only["metadata"]["generation"], 1);

        let mut status = old.clone();
        status["spec"]["a"] = json!(9);
        status["status"] = json!({"p": "new"});
        prepare_update(&rt, &old, &mut status, scope(&rt, true), NOW).unwrap();
        assert_eq!(status["spec"]["a"], 1);
        assert_eq!(status["status"]["p"], "new");
        assert_eq!(status["metadata"]["generation"], 1);
    }

    #[test]
    fn no_new_finalizers_while_deleting() {
        let rt = cr_type();
        let old = json!({"metadata": {"name": "x", "deletionTimestamp": NOW, "finalizers": ["a"]}});
        let mut new = json!({"metadata": {"name": "x", "finalizers": ["a", "b"]}});
        let e = prepare_update(&rt, &old, &mut new, scope(&rt, false), NOW).unwrap_err();
        assert_eq!(e.code, 422);
        let mut removed = json!({"metadata": {"name": "x", "finalizers": []}});
        prepare_update(&rt, &old, &mut removed, scope(&rt, false), NOW).unwrap();
        assert_eq!(removed["metadata"]["deletionTimestamp"], NOW);
    }

    #[test]
    fn secrets_merge_string_data() {
        let r = Registry::build(&[]);
        let rt = r.lookup("", "v1", "secrets").unwrap();
        let mut s =
            json!({"metadata": {"name": "s"}, "data": {"a": "YQ=="}, "stringData": {"b": "hello"}});
        prepare_create(&rt, &mut s, NOW).unwrap();
        assert_eq!(s["data"], json!({"a": "YQ==", "b": "aGVsbG8="}));
        assert!(s.get("stringData").is_none());
        assert_eq!(s["type"], "Opaque");
        let mut bad = json!({"metadata": {"name": "s"}, "data": {"a": "!!"}});
        let e = prepare_create(&rt, &mut bad, NOW).unwrap_err();
        assert_eq!(e.to_status()["details"]["causes"][0]["field"], "data[a]");
    }

    #[test]
    fn a_secrets_type_cannot_change() {
        let r = Registry::build(&[]);
        let rt = r.lookup("", "v1", "secrets").unwrap();
        let mut old = json!({"metadata": {"name": "s"}, "data": {"a": "YQ=="}});
        prepare_create(&rt, &mut old, NOW).unwrap();
        let mut retyped = old.clone();
        retyped["type"] = json!("ferrule.dev/device-credentials");
        let e = prepare_update(&rt, &old, &mut retyped, scope(&rt, false), NOW).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(e.to_status()["details"]["causes"][0]["field"], "type");
        // Unset on update means the default, as on create: no change.
        let mut same = old.clone();
        same.as_object_mut().unwrap().remove("type");
        same["data"] = json!({"a": "Yg=="});
        prepare_update(&rt, &old, &mut same, scope(&rt, false), NOW).unwrap();
        assert_eq!(same["type"], "Opaque");
    }

    #[test]
    fn namespaces_get_phase_and_finalizer() {
        let r = Registry::build(&[]);
        let rt = r.lookup("", "v1", "namespaces").unwrap();
        let mut ns = json!({"metadata": {"name": "shop"}});
        prepare_create(&rt, &mut ns, NOW).unwrap();
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        let mut bad = json!({"metadata": {"name": "a.b"}});
        assert_eq!(prepare_create(&rt, &mut bad, NOW).unwrap_err().code, 422);
    }
}
