//! Field errors in the shape and wording of Kubernetes' `field.Error`.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause;
use serde_json::Value;

use super::gofmt;

/// What kind of problem a [`FieldError`] reports; maps 1:1 to a Kubernetes
/// `StatusCause.reason` (see [`FieldErrorKind::reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// A referenced value does not exist (`FieldValueNotFound`).
    NotFound,
    /// A required value is missing (`FieldValueRequired`).
    Required,
    /// A value that must be unique occurs twice (`FieldValueDuplicate`).
    Duplicate,
    /// A malformed or out-of-range value (`FieldValueInvalid`).
    Invalid,
    /// A value outside an enumeration (`FieldValueNotSupported`).
    NotSupported,
    /// A value not permitted here (`FieldValueForbidden`).
    Forbidden,
    /// A string longer than allowed (`FieldValueTooLong`).
    TooLong,
    /// A list with more items than allowed (`FieldValueTooMany`).
    TooMany,
    /// A value of the wrong JSON type (`FieldValueTypeInvalid`).
    TypeInvalid,
    /// A problem not caused by the input (`InternalError`).
    Internal,
    /// A field the schema does not know. Not a `StatusCause`: the API server reports unknown
    /// fields as a strict decoding error (400) or a warning, depending on `fieldValidation`.
    UnknownField,
}

impl FieldErrorKind {
    /// The Kubernetes `StatusCause.reason` (`metav1.CauseType`) of this kind.
    pub fn reason(&self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "FieldValueNotFound",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::Internal => "InternalError",
            FieldErrorKind::UnknownField => "FieldValueUnknown",
        }
    }

    /// The human label Kubernetes starts the message with (`Invalid value`, ...).
    fn label(&self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "Not found",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Internal => "Internal error",
            FieldErrorKind::UnknownField => "Unknown field",
        }
    }
}

/// One problem with one field of a document.
///
/// `Display` prints `path: message`, exactly like Kubernetes' `field.Error`, e.g.
/// `spec.billing.cycleDay: Invalid value: 31: spec.billing.cycleDay in body should be less
/// than or equal to 28`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, with `[i]` for list items: `spec.items[0].action`.
    pub path: String,
    /// What kind of problem it is.
    pub kind: FieldErrorKind,
    /// The message without the path (Kubernetes' `ErrorBody`), e.g. `Required value`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// The offending value of an error, rendered the way Kubernetes renders it.
#[derive(Clone, Copy, Debug)]
pub enum BadValue<'a> {
    /// A JSON value from the document.
    Json(&'a Value),
    /// A string (quoted in the message).
    Str(&'a str),
    /// An integer.
    Int(i64),
}

impl BadValue<'_> {
    fn render(&self) -> String {
        match self {
            BadValue::Json(v) => gofmt::go_value(v),
            BadValue::Str(s) => gofmt::go_quote(s),
            BadValue::Int(i) => i.to_string(),
        }
    }
}

impl FieldError {
    fn build(path: &str, kind: FieldErrorKind, value: Option<BadValue<'_>>, detail: &str) -> Self {
        let mut message = kind.label().to_owned();
        if let Some(value) = value {
            message.push_str(": ");
            message.push_str(&value.render());
        }
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldError {
            path: path.to_owned(),
            kind,
            message,
        }
    }

    /// `Required value` (with an optional detail).
    pub fn required(path: &str, detail: &str) -> Self {
        Self::build(path, FieldErrorKind::Required, None, detail)
    }

    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(path: &str, value: BadValue<'_>, detail: &str) -> Self {
        Self::build(path, FieldErrorKind::Invalid, Some(value), detail)
    }

    /// `Invalid value: <value>: <detail>` for a value of the wrong type.
    pub fn type_invalid(path: &str, value: BadValue<'_>, detail: &str) -> Self {
        Self::build(path, FieldErrorKind::TypeInvalid, Some(value), detail)
    }

    /// `Unsupported value: <value>: supported values: "A", "B"`.
    pub fn not_supported(path: &str, value: BadValue<'_>, supported: &[String]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| gofmt::go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::build(path, FieldErrorKind::NotSupported, Some(value), &detail)
    }

    /// `Too long: may not be more than <max> bytes`.
    pub fn too_long(path: &str, max: i64) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        Self::build(
            path,
            FieldErrorKind::TooLong,
            None,
            &format!("may not be more than {max} {unit}"),
        )
    }

    /// `Too many: <actual>: must have at most <max> items`.
    pub fn too_many(path: &str, actual: i64, max: i64) -> Self {
        let unit = if max == 1 { "item" } else { "items" };
        Self::build(
            path,
            FieldErrorKind::TooMany,
            Some(BadValue::Int(actual)),
            &format!("must have at most {max} {unit}"),
        )
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(path: &str, value: BadValue<'_>) -> Self {
        Self::build(path, FieldErrorKind::Duplicate, Some(value), "")
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: &str, detail: &str) -> Self {
        Self::build(path, FieldErrorKind::Forbidden, None, detail)
    }

    /// `Not found: <value>`.
    pub fn not_found(path: &str, value: BadValue<'_>) -> Self {
        Self::build(path, FieldErrorKind::NotFound, Some(value), "")
    }

    /// `Internal error: <detail>`.
    pub fn internal(path: &str, detail: &str) -> Self {
        Self::build(path, FieldErrorKind::Internal, None, detail)
    }

    /// A field that was pruned because the schema does not know it; the message is the one of
    /// the API server's strict decoding error: `unknown field "spec.foo"`.
    pub fn unknown_field(path: &str) -> Self {
        FieldError {
            path: path.to_owned(),
            kind: FieldErrorKind::UnknownField,
            message: unknown_field_message(path),
        }
    }
}

impl FieldError {
    /// The `StatusCause` of a 422 Invalid response: reason, the message without the path,
    /// and the path as `field`.
    pub fn to_status_cause(&self) -> StatusCause {
        StatusCause {
            field: Some(self.path.clone()),
            message: Some(self.message.clone()),
            reason: Some(self.kind.reason().to_owned()),
        }
    }
}

/// The `message` of the API server's 422 Invalid response for an object:
/// `Customer.bss.ferrule.dev "acme" is invalid: spec.billing.cycleDay: Invalid value: ...`,
/// with several errors as `[first, second]` (repeated messages listed once).
pub fn invalid_message(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let mut seen = std::collections::HashSet::new();
    let messages: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    let name = gofmt::go_quote(name);
    match messages.as_slice() {
        [] => format!("{qualified} {name} is invalid"),
        [one] => format!("{qualified} {name} is invalid: {one}"),
        many => format!("{qualified} {name} is invalid: [{}]", many.join(", ")),
    }
}

/// The API server's wording for a pruned field, used both for `fieldValidation=Strict`
/// errors (`strict decoding error: unknown field "spec.foo"`) and for `Warn` warnings.
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", gofmt::go_quote(path))
}

/// The API server's error for unknown fields under `fieldValidation=Strict`:
/// `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"`.
pub fn strict_decoding_message(pruned: &[String]) -> String {
    let fields: Vec<String> = pruned.iter().map(|p| unknown_field_message(p)).collect();
    format!("strict decoding error: {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_kubernetes() {
        let e = FieldError::invalid(
            "spec.billing.cycleDay",
            BadValue::Json(&serde_json::json!(31)),
            "spec.billing.cycleDay in body should be less than or equal to 28",
        );
        assert_eq!(
            e.to_string(),
            "spec.billing.cycleDay: Invalid value: 31: spec.billing.cycleDay in body should be less than or equal to 28"
        );
        assert_eq!(e.kind.reason(), "FieldValueInvalid");
        let e = FieldError::not_supported(
            "spec.items[0].action",
            BadValue::Str("Bogus"),
            &["Add".to_owned(), "Modify".to_owned()],
        );
        assert_eq!(
            e.message,
            "Unsupported value: \"Bogus\": supported values: \"Add\", \"Modify\""
        );
        assert_eq!(
            FieldError::required("spec.customer", "").to_string(),
            "spec.customer: Required value"
        );
        assert_eq!(
            FieldError::too_long("spec.x", 253).message,
            "Too long: may not be more than 253 bytes"
        );
        assert_eq!(
            FieldError::too_many("spec.items", 101, 100).message,
            "Too many: 101: must have at most 100 items"
        );
        assert_eq!(
            FieldError::unknown_field("spec.foo").message,
            "unknown field \"spec.foo\""
        );
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(
            strict_decoding_message(&["spec.foo".to_owned(), "spec.items[0].bar".to_owned()]),
            "strict decoding error: unknown field \"spec.foo\", unknown field \"spec.items[0].bar\""
        );
    }

    #[test]
    fn invalid_responses() {
        let required = FieldError::required("spec.customer", "");
        let cause = required.to_status_cause();
        assert_eq!(cause.reason.as_deref(), Some("FieldValueRequired"));
        assert_eq!(cause.field.as_deref(), Some("spec.customer"));
        assert_eq!(cause.message.as_deref(), Some("Required value"));
        assert_eq!(
            invalid_message(
                "bss.ferrule.dev",
                "Subscription",
                "acme-hq",
                std::slice::from_ref(&required)
            ),
            "Subscription.bss.ferrule.dev \"acme-hq\" is invalid: spec.customer: Required value"
        );
        let other = FieldError::required("spec.product", "");
        assert_eq!(
            invalid_message(
                "bss.ferrule.dev",
                "Subscription",
                "x",
                &[required.clone(), other, required]
            ),
            "Subscription.bss.ferrule.dev \"x\" is invalid: [spec.customer: Required value, spec.product: Required value]"
        );
        assert_eq!(
            invalid_message("", "Secret", "s", &[]),
            "Secret \"s\" is invalid"
        );
    }
}
