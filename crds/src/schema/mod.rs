//! Structural schema validation, defaulting and pruning, as the Kubernetes API server does it
//! for custom resources.
//!
//! [`StructuralSchema`] compiles one `openAPIV3Schema` (regexes compiled once) and then
//! [`admits`](StructuralSchema::admit) documents in the API server's order: prune unknown
//! fields (reporting their paths), apply defaults, validate. Errors are [`FieldError`]s whose
//! path, kind and message match what a real API server answers, so `kubectl` users see the
//! same text against Ferrule's embedded server and against a cluster.
//!
//! [`validate_document`] checks a whole manifest against a set of CRDs, the way
//! `kubectl apply --validate=strict` would; [`check_structural`] checks that a CRD's schema is
//! one a Kubernetes API server accepts.
//!
//! Not covered: `x-kubernetes-validations` (CEL rules) are not evaluated, and `metadata` is
//! left to the API server's object-meta validation (see [`crate::names`]).

mod compile;
mod defaults;
mod document;
mod error;
mod formats;
pub mod gofmt;
mod path;
mod prune;
mod structural;
mod validate;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::Value;

pub use compile::SchemaError;
pub use document::{Checked, DocumentValidator, validate_document};
pub use error::{
    BadValue, FieldError, FieldErrorKind, invalid_message, strict_decoding_message,
    unknown_field_message,
};
pub use structural::check_structural;

use compile::Node;
use path::FieldPath;

/// One compiled `openAPIV3Schema` of a custom resource version.
#[derive(Debug)]
pub struct StructuralSchema {
    root: Node,
}

/// The outcome of admitting a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Admission {
    /// Paths of the unknown fields that were removed (`spec.foo`, `spec.items[0].bar`).
    pub pruned: Vec<String>,
    /// Validation errors of the pruned and defaulted document; empty when it is valid.
    pub errors: Vec<FieldError>,
}

impl Admission {
    /// Whether the document is valid (pruned fields do not count; see [`Admission::strict`]).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors under `fieldValidation=Strict`: validation errors plus one
    /// [`FieldErrorKind::UnknownField`] error per pruned field.
    pub fn strict(&self) -> Vec<FieldError> {
        let mut all: Vec<FieldError> = self
            .pruned
            .iter()
            .map(|p| FieldError::unknown_field(p))
            .collect();
        all.extend(self.errors.iter().cloned());
        all
    }
}

impl StructuralSchema {
    /// Compiles a schema. Fails on an invalid `pattern` or an unknown `type`.
    pub fn new(schema: &JSONSchemaProps) -> Result<StructuralSchema, SchemaError> {
        Ok(StructuralSchema {
            root: Node::compile(schema, "")?,
        })
    }

    /// Removes the fields the schema does not specify and returns their paths. The resource's
    /// `apiVersion`, `kind` and `metadata` are kept.
    pub fn prune(&self, document: &mut Value) -> Vec<String> {
        let mut pruned = Vec::new();
        prune::prune(
            Some(&self.root),
            document,
            &mut FieldPath::default(),
            true,
            &mut pruned,
        );
        pruned
    }

    /// Fills in `default` values of absent fields (and of non-nullable nulls).
    pub fn apply_defaults(&self, document: &mut Value) {
        defaults::apply_defaults(&self.root, document, true);
    }

    /// Validates a document (normally after pruning and defaulting).
    pub fn validate(&self, document: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validate::validate(&self.root, document, true, &mut errors);
        errors
    }

    /// Prunes, defaults and validates `document` in place, in the API server's order.
    pub fn admit(&self, document: &mut Value) -> Admission {
        let pruned = self.prune(document);
        self.apply_defaults(document);
        let errors = self.validate(document);
        Admission { pruned, errors }
    }
}

#[cfg(test)]
mod tests;
