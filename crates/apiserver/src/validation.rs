//! Schema admission of request bodies: custom resources go through
//! `ferrule_crds::schema` (prune unknown fields, default, validate); built-in types get an
//! unknown top-level field check. `fieldValidation` decides what unknown fields cause:
//! `Strict` a 400 strict decoding error, `Warn` a `Warning` header, `Ignore` nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferrule_crds::schema::{SchemaError, StructuralSchema, unknown_field_message};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::Value;

use super::builtin;
use super::registry::{Builtin, ResourceType};
use super::status::{ApiError, Cause};
use super::strategy;

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown fields are an error (400).
    Strict,
    /// Unknown fields are dropped with a warning (the server default).
    Warn,
    /// Unknown fields are dropped silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the parameter; absent means `Warn`.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            "Ignore" => Ok(FieldValidation::Ignore),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of Ignore, Warn or Strict, not {other:?}"
            ))),
        }
    }
}

/// Compiled schemas, one per served custom resource version, built on first use.
#[derive(Debug, Default)]
pub struct SchemaCache {
    compiled: Mutex<HashMap<String, Option<Arc<StructuralSchema>>>>,
}

impl SchemaCache {
    /// The compiled schema of `rt`, if it is a custom resource with a usable schema.
    pub fn get(&self, rt: &ResourceType) -> Option<Arc<StructuralSchema>> {
        if !rt.is_custom() {
            return None;
        }
        let key = format!("{}/{}", rt.api_version(), rt.kind);
        let mut map = self.compiled.lock().ok()?;
        map.entry(key)
            .or_insert_with(|| compile(rt.schema.as_ref()?).ok().map(Arc::new))
            .clone()
    }
}

/// Why an `openAPIV3Schema` value cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The value is not a JSONSchemaProps.
    #[error("{0}")]
    Read(#[source] serde_json::Error),
    /// The schema is not usable for validation.
    #[error("{0}")]
    Schema(#[source] SchemaError),
}

/// Compiles an `openAPIV3Schema` value.
pub fn compile(schema: &Value) -> Result<StructuralSchema, CompileError> {
    let props: JSONSchemaProps =
        serde_json::from_value(schema.clone()).map_err(CompileError::Read)?;
    StructuralSchema::new(&props).map_err(CompileError::Schema)
}

/// Checks a CRD version's schema as the API server does before accepting the CRD.
pub fn check_crd_schema(schema: &Value, path: &str) -> Vec<Cause> {
    let props: JSONSchemaProps = match serde_json::from_value(schema.clone()) {
        Ok(p) => p,
        Err(e) => {
            return vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: the schema could not be read: {e}"),
                field: path.into(),
            }];
        }
    };
    let mut causes: Vec<Cause> = ferrule_crds::schema::check_structural(&props, path)
        .into_iter()
        .map(|e| Cause {
            reason: e.kind.reason().into(),
            message: e.message,
            field: e.path,
        })
        .collect();
    if causes.is_empty()
        && let Err(e) = StructuralSchema::new(&props)
    {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {e}"),
            field: path.into(),
        });
    }
    causes
}

fn strict_error(rt: &ResourceType, unknown: &[String]) -> ApiError {
    let listed: Vec<String> = unknown.iter().map(|p| unknown_field_message(p)).collect();
    ApiError::bad_request(format!(
        "{} in version {:?} cannot be handled as a {}: strict decoding error: {}",
        rt.kind,
        rt.version,
        rt.kind,
        listed.join(", ")
    ))
}

fn builtin_unknown_fields(rt: &ResourceType, obj: &mut Value) -> Vec<String> {
    // Objects are admitted in their stored form: events.k8s.io events as core/v1 events.
    let schema = match rt.builtin {
        Some(Builtin::EventsV1Event) => Some(builtin::schema(Builtin::CoreEvent)),
        _ => rt.schema.as_ref(),
    };
    let known: Vec<String> = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let Some(m) = obj.as_object_mut() else {
        return Vec::new();
    };
    if known.is_empty() {
        return Vec::new();
    }
    let unknown: Vec<String> = m
        .keys()
        .filter(|k| !known.contains(k) && !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
        .cloned()
        .collect();
    for k in &unknown {
        m.remove(k);
    }
    unknown
}

/// Admits `obj` (stored form) of type `rt`: prunes, defaults and validates. Returns the
/// warnings to send, or the 400/422 to answer.
pub fn admit(
    rt: &ResourceType,
    schema: Option<&StructuralSchema>,
    obj: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let (pruned, errors) = match schema {
        Some(s) => {
            let admission = s.admit(obj);
            (admission.pruned, admission.errors)
        }
        None => (builtin_unknown_fields(rt, obj), Vec::new()),
    };
    let mut warnings = Vec::new();
    if !pruned.is_empty() {
        match mode {
            FieldValidation::Strict => return Err(strict_error(rt, &pruned)),
            FieldValidation::Warn => {
                warnings.extend(pruned.iter().map(|p| unknown_field_message(p)))
            }
            FieldValidation::Ignore => {}
        }
    }
    if !errors.is_empty() {
        let causes = errors
            .into_iter()
            .map(|e| Cause {
                reason: e.kind.reason().into(),
                message: e.message,
                field: e.path,
            })
            .collect();
        return Err(strategy::invalid(rt, obj, causes));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "serviceorders.net.example.io"},
            "spec": {"group": "net.example.io", "scope": "Namespaced",
                "names": {"plural": "serviceorders", "kind": "ServiceOrder"},
                "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "required": ["customer"], "properties": {
                            "customer": {"type": "string", "minLength": 1},
                            "bandwidthMbps": {"type": "integer", "minimum": 1},
                            "tier": {"type": "string", "default": "bronze", "enum": ["bronze", "gold"]}}}}}}}]}
        })
    }

    #[test]
    fn a_schema_that_cannot_be_read_keeps_the_json_error() {
        let schema = json!({"type": 5});
        let err = compile(&schema).unwrap_err();
        let json = serde_json::from_value::<JSONSchemaProps>(schema).unwrap_err();
        assert_eq!(err.to_string(), json.to_string());
        let source = std::error::Error::source(&err).expect("the JSON error is kept");
        assert!(source.is::<serde_json::Error>(), "{source:?}");
    }

    #[test]
    fn custom_resources_are_pruned_defaulted_and_validated() {
        let r = Registry::build(&[crd()]);
        let rt = r
            .lookup("net.example.io", "v1alpha1", "serviceorders")
            .unwrap();
        let cache = SchemaCache::default();
        let schema = cache.get(&rt).unwrap();
        let mut ok = json!({"apiVersion": "net.example.io/v1alpha1", "kind": "ServiceOrder",
                            "metadata": {"name": "x"}, "spec": {"customer": "acme", "foo": 1}});
        let warnings = admit(&rt, Some(&schema), &mut ok, FieldValidation::Warn).unwrap();
        assert_eq!(warnings, ["unknown field \"spec.foo\""]);
        assert_eq!(ok["spec"]["tier"], "bronze");
        assert!(ok["spec"].get("foo").is_none());

        let mut strict = json!({"metadata": {"name": "x"}, "spec": {"customer": "acme", "foo": 1}});
        let e = admit(&rt, Some(&schema), &mut strict, FieldValidation::Strict).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(
            e.message
                .ends_with("strict decoding error: unknown field \"spec.foo\""),
            "{}",
            e.message
        );

        let mut bad =
            json!({"metadata": {"name": "bad"}, "spec": {"customer": "acme", "bandwidthMbps": 0}});
        let e = admit(&rt, Some(&schema), &mut bad, FieldValidation::Strict).unwrap_err();
        assert_eq!(e.code, 422);
        let status = e.to_status();
        assert_eq!(
            status["details"]["causes"][0]["field"],
            "spec.bandwidthMbps"
        );
        assert_eq!(status["details"]["kind"], "ServiceOrder");
    }

    #[test]
    fn builtin_types_reject_unknown_top_level_fields() {
        let r = Registry::build(&[]);
        let rt = r.lookup("", "v1", "configmaps").unwrap();
        let mut cm = json!({"metadata": {"name": "c"}, "data": {}, "dta": {}});
        let e = admit(&rt, None, &mut cm.clone(), FieldValidation::Strict).unwrap_err();
        assert!(e.message.contains("unknown field \"dta\""));
        assert!(
            admit(&rt, None, &mut cm, FieldValidation::Ignore)
                .unwrap()
                .is_empty()
        );
        assert!(cm.get("dta").is_none());
    }

    #[test]
    fn crd_schemas_must_be_structural() {
        let bad = json!({"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}});
        assert!(!check_crd_schema(&bad, "spec.versions[0].schema.openAPIV3Schema").is_empty());
        let good = &crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert!(check_crd_schema(good, "x").is_empty());
        assert_eq!(FieldValidation::parse(None).unwrap(), FieldValidation::Warn);
        assert!(FieldValidation::parse(Some("Loose")).is_err());
    }
}
