//! Validating whole manifests against a set of CRDs, as `kubectl apply` with strict field
//! validation would against a cluster that has them installed.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::error::{BadValue, FieldError};
use super::{SchemaError, StructuralSchema};
use crate::names;

/// The result of checking a document that did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The document is a custom resource of one of the CRDs and is valid.
    Valid,
    /// The document's kind is not defined by any of the CRDs (a Namespace, Secret,
    /// ConfigMap...); it was not checked.
    NotOurs,
}

/// One served version of one CRD.
#[derive(Debug)]
struct Version {
    name: String,
    schema: StructuralSchema,
}

/// The compiled schemas of one CRD.
#[derive(Debug)]
struct Kind {
    group: String,
    kind: String,
    versions: Vec<Version>,
}

/// Compiled schemas of a set of CRDs, to check many documents cheaply.
#[derive(Debug)]
pub struct DocumentValidator {
    kinds: Vec<Kind>,
}

impl DocumentValidator {
    /// Compiles every served version of every CRD.
    pub fn new(crds: &[CustomResourceDefinition]) -> Result<DocumentValidator, SchemaError> {
        let mut kinds = Vec::with_capacity(crds.len());
        for crd in crds {
            let mut versions = Vec::new();
            for version in crd.spec.versions.iter().filter(|v| v.served) {
                let schema = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .ok_or_else(|| SchemaError::MissingSchema {
                        crd: crd.metadata.name.clone().unwrap_or_default(),
                        version: version.name.clone(),
                    })?;
                versions.push(Version {
                    name: version.name.clone(),
                    schema: StructuralSchema::new(schema)?,
                });
            }
            kinds.push(Kind {
                group: crd.spec.group.clone(),
                kind: crd.spec.names.kind.clone(),
                versions,
            });
        }
        Ok(DocumentValidator { kinds })
    }

    /// The compiled schema for `apiVersion` and `kind`, if one of the CRDs serves it.
    pub fn schema_for(&self, api_version: &str, kind: &str) -> Option<&StructuralSchema> {
        let (group, version) = split_api_version(api_version);
        self.kinds
            .iter()
            .find(|k| k.group == group && k.kind == kind)?
            .versions
            .iter()
            .find(|v| v.name == version)
            .map(|v| &v.schema)
    }

    /// Checks one document (a parsed manifest) with strict field validation: unknown fields,
    /// schema violations and an invalid `metadata.name` are errors.
    pub fn check(&self, document: &Value) -> Result<Checked, Vec<FieldError>> {
        let api_version = document
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut errors = Vec::new();
        if api_version.is_empty() {
            errors.push(FieldError::required("apiVersion", ""));
        }
        if kind.is_empty() {
            errors.push(FieldError::required("kind", ""));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (group, version) = split_api_version(api_version);
        let Some(defined) = self
            .kinds
            .iter()
            .find(|k| k.group == group && k.kind == kind)
        else {
            return Ok(Checked::NotOurs);
        };
        let Some(served) = defined.versions.iter().find(|v| v.name == version) else {
            let supported: Vec<String> = defined
                .versions
                .iter()
                .map(|v| format!("{}/{}", defined.group, v.name))
                .collect();
            return Err(vec![FieldError::not_supported(
                "apiVersion",
                BadValue::Str(api_version),
                &supported,
            )]);
        };
        let name = document
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .or_else(|| {
                document
                    .pointer("/metadata/generateName")
                    .and_then(Value::as_str)
                    .map(|_| "generated")
            })
            .unwrap_or("");
        errors.extend(names::validate_object_name("metadata.name", name));
        let mut copy = document.clone();
        errors.extend(served.schema.admit(&mut copy).strict());
        if errors.is_empty() {
            Ok(Checked::Valid)
        } else {
            Err(errors)
        }
    }
}

/// `bss.ferrule.dev/v1alpha1` → (`bss.ferrule.dev`, `v1alpha1`); `v1` → (``, `v1`).
fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Checks one document against `crds` with strict field validation.
///
/// Returns `Ok(Checked::NotOurs)` for kinds none of the CRDs defines (Namespace, Secret...),
/// so callers can skip them; `Ok(Checked::Valid)` for a valid custom resource; otherwise every
/// problem as a [`FieldError`] (unknown fields included, as `unknown field "spec.foo"`).
/// Compiles the CRDs on every call: use [`DocumentValidator`] for many documents.
pub fn validate_document(
    crds: &[CustomResourceDefinition],
    document: &Value,
) -> Result<Checked, Vec<FieldError>> {
    let validator =
        DocumentValidator::new(crds).map_err(|e| vec![FieldError::internal("", &e.to_string())])?;
    validator.check(document)
}
