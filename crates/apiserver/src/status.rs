//! Kubernetes `Status` errors: every failed request is answered with one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One cause of a failure, printed by kubectl as `* field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable reason, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// The field path, e.g. `spec.bandwidthMbps`.
    pub field: String,
}

/// A failed request: the HTTP code and the `Status` body that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// The `reason` field (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// The human-readable message.
    pub message: String,
    /// The `details` object, if any.
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// `resource.group` as Kubernetes prints it (`configmaps` for the core group).
pub fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = json!({ "kind": kind });
    if !name.is_empty() {
        d["name"] = json!(name);
    }
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404: the named object does not exist.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(resource, group)),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 404 for a path that names no resource at all.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409: an object with that name exists already.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(resource, group)),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 409: the write was based on a stale resourceVersion.
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(resource, group)
            ),
        );
        e.details = Some(details(name, group, resource));
        e
    }

    /// 409: the stale-resourceVersion message of Kubernetes.
    pub fn stale(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 from server-side apply: fields owned by other managers.
    pub fn apply_conflict(message: String, causes: Vec<Cause>) -> Self {
        let mut e = Self::new(409, "Conflict", message);
        e.details = Some(json!({ "causes": causes_json(&causes) }));
        e
    }

    /// 422: the object failed validation.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let listed: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let summary = if listed.len() == 1 {
            listed[0].clone()
        } else {
            format!("[{}]", listed.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {summary}",
                qualified(kind, group)
            ),
        );
        let mut d = details(name, group, kind);
        d["causes"] = causes_json(&causes);
        e.details = Some(d);
        e
    }

    /// 422 with a single message and no field (failed JSON patch test, bad patch).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401: no or wrong bearer token.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403: the operation is refused (for example writes into a terminating namespace).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 405: the verb is not supported on this path.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 406: no acceptable response media type.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 410: the requested resourceVersion has been compacted away.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 504: the request could not be served in time (a resourceVersion from the future).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// 413: the request body is larger than the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 415: the request body's media type is not supported.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
        )
    }

    /// 415 with a specific message.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 500: something failed inside the server (storage, encoding).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// 503: the server is starting or stopping.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
            .collect(),
    )
}

/// A `Status` of success, returned by deletes that remove the object at once for some
/// resources and by deletecollection.
pub fn success_status(details: Value) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_status().to_string();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_kubernetes_shape() {
        let s = ApiError::not_found("net.example.io", "serviceorders", "nope").to_status();
        assert_eq!(
            s["message"],
            "serviceorders.net.example.io \"nope\" not found"
        );
        assert_eq!(s["details"]["kind"], "serviceorders");
        assert_eq!(s["details"]["group"], "net.example.io");
        assert_eq!(s["code"], 404);
        let core = ApiError::not_found("", "configmaps", "x").to_status();
        assert_eq!(core["message"], "configmaps \"x\" not found");
        assert!(core["details"].get("group").is_none());
    }

    #[test]
    fn invalid_lists_causes() {
        let causes = vec![
            Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 0: must be at least 1".into(),
                field: "spec.a".into(),
            },
            Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.b".into(),
            },
        ];
        let e = ApiError::invalid("net.example.io", "ServiceOrder", "bad", causes);
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "ServiceOrder.net.example.io \"bad\" is invalid: [spec.a: Invalid value: 0: must be at least 1, spec.b: Required value]"
        );
        let s = e.to_status();
        assert_eq!(s["details"]["causes"][1]["field"], "spec.b");
    }
}
