//! Self reviews: `authorization.k8s.io/v1` SelfSubjectAccessReview and SelfSubjectRulesReview
//! (`kubectl auth can-i`, `can-i --list`) and `authentication.k8s.io/v1` SelfSubjectReview
//! (`kubectl auth whoami`).
//!
//! The server has one identity, the holder of the bearer token ([`super::token`]), and it may
//! do everything (no RBAC). The answers say exactly that: a review is allowed when the
//! resource and verb exist on this server, the rules list every served resource with its
//! verbs, and whoami names [`USERNAME`] in [`GROUPS`]. Reviews are not stored; like on a real
//! server they are create-only and answered `201 Created`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::context::Ctx;
use super::decode::{BodyFormat, MAX_BODY, body_format, decode_object};
use super::discovery::VERBS;
use super::registry::Registry;
use super::request::ResourcePath;
use super::response::json_with;
use super::rest::read_limited;
use super::status::ApiError;

/// The user the bearer token authenticates as.
pub const USERNAME: &str = "ferrule-admin";
/// The groups of that user: `system:masters` is Kubernetes' name for "may do everything".
pub const GROUPS: &[&str] = &["system:masters", "system:authenticated"];

/// The authorization API group.
pub const AUTHORIZATION: &str = "authorization.k8s.io";
/// The authentication API group.
pub const AUTHENTICATION: &str = "authentication.k8s.io";
/// The only version served of either group.
pub const VERSION: &str = "v1";

/// One create-only review resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewType {
    /// API group.
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
}

/// Every review resource, in discovery order.
pub const TYPES: &[ReviewType] = &[
    ReviewType {
        group: AUTHENTICATION,
        kind: "SelfSubjectReview",
        plural: "selfsubjectreviews",
    },
    ReviewType {
        group: AUTHORIZATION,
        kind: "SelfSubjectAccessReview",
        plural: "selfsubjectaccessreviews",
    },
    ReviewType {
        group: AUTHORIZATION,
        kind: "SelfSubjectRulesReview",
        plural: "selfsubjectrulesreviews",
    },
];

/// The verbs of a review resource.
pub const REVIEW_VERBS: &[&str] = &["create"];

/// The review groups (for discovery).
pub fn groups() -> [&'static str; 2] {
    [AUTHENTICATION, AUTHORIZATION]
}

/// Whether `group` is a review group.
pub fn is_review_group(group: &str) -> bool {
    group == AUTHORIZATION || group == AUTHENTICATION
}

/// The review resources of `group`/`version`.
pub fn types_of(group: &str, version: &str) -> Vec<ReviewType> {
    if version != VERSION {
        return Vec::new();
    }
    TYPES.iter().copied().filter(|t| t.group == group).collect()
}

/// Paths a `get` may be asked of besides resources.
const NON_RESOURCE_URLS: &[&str] = &[
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
];

/// Serves a request on a review resource.
pub async fn handle(ctx: &Arc<Ctx>, path: ResourcePath, request: Request<Body>) -> Response {
    match review(ctx, path, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn review(
    ctx: &Arc<Ctx>,
    path: ResourcePath,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::no_route(&format!("{}/{}/{}", path.group, path.version, path.plural));
    let rt = types_of(&path.group, &path.version)
        .into_iter()
        .find(|t| t.plural == path.plural)
        .ok_or_else(not_found)?;
    if path.namespace.is_some() || path.name.is_some() || path.subresource.is_some() {
        return Err(not_found());
    }
    if request.method() != Method::POST {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({}); {} only supports create",
            request.method(),
            rt.plural
        )));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let format = body_format(content_type.as_deref())?;
    if !matches!(
        format,
        BodyFormat::Json | BodyFormat::Yaml | BodyFormat::Protobuf
    ) {
        return Err(ApiError::unsupported_media_type(
            content_type.as_deref().unwrap_or(""),
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    let body = read_limited(request.into_body(), MAX_BODY, declared).await?;
    let object = decode_object(format, &body)?;
    let api_version = format!("{}/{}", rt.group, VERSION);
    for (field, expected) in [("apiVersion", api_version.as_str()), ("kind", rt.kind)] {
        if let Some(found) = object.get(field).and_then(Value::as_str)
            && found != expected
        {
            return Err(ApiError::bad_request(format!(
                "{field} {found:?} does not match the resource: expected {expected:?}"
            )));
        }
    }
    let spec = object.get("spec").cloned().unwrap_or_else(|| json!({}));
    let registry = ctx.registry();
    let status = match rt.kind {
        "SelfSubjectAccessReview" => access(&registry, &spec)?,
        "SelfSubjectRulesReview" => rules(&registry),
        _ => json!({"userInfo": {"username": USERNAME, "groups": GROUPS}}),
    };
    let mut answer = json!({
        "kind": rt.kind,
        "apiVersion": api_version,
        "metadata": {"creationTimestamp": null},
        "status": status,
    });
    if rt.kind != "SelfSubjectReview" {
        answer["spec"] = spec;
    }
    Ok(json_with(StatusCode::CREATED, &answer, "application/json"))
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The status of a SelfSubjectAccessReview with `spec`.
fn access(registry: &Registry, spec: &Value) -> Result<Value, ApiError> {
    let (allowed, reason) = if let Some(attrs) = spec.get("resourceAttributes") {
        resource_allowed(registry, attrs)
    } else if let Some(attrs) = spec.get("nonResourceAttributes") {
        let verb = text(attrs, "verb");
        if matches!(verb, "get" | "head" | "*") {
            (true, "the token's user may do everything".to_string())
        } else {
            (
                false,
                format!("non-resource URLs are only read here, not with verb {verb:?}"),
            )
        }
    } else {
        return Err(ApiError::invalid(
            AUTHORIZATION,
            "SelfSubjectAccessReview",
            "",
            vec![super::status::Cause {
                reason: "FieldValueRequired".into(),
                message:
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified"
                        .into(),
                field: "spec.resourceAttributes".into(),
            }],
        ));
    };
    Ok(json!({"allowed": allowed, "reason": reason}))
}

/// Whether `attrs` (ResourceAttributes) names a resource and verb this server serves.
fn resource_allowed(registry: &Registry, attrs: &Value) -> (bool, String) {
    let group = text(attrs, "group");
    let resource = text(attrs, "resource");
    let subresource = text(attrs, "subresource");
    let verb = text(attrs, "verb");
    let version = text(attrs, "version");
    let wildcard = |s: &str| s == "*";
    if wildcard(resource) || wildcard(group) {
        return (true, "the token's user may do everything".into());
    }
    // The verbs each matching resource supports.
    let mut verbs: Option<Vec<&str>> = None;
    for t in registry.types() {
        let matches = t.group == group
            && t.plural == resource
            && (version.is_empty() || wildcard(version) || t.version == version);
        if !matches {
            continue;
        }
        verbs = Some(match subresource {
            "" => VERBS.to_vec(),
            "status" if t.status_subresource => vec!["get", "patch", "update"],
            _ => continue,
        });
    }
    for t in TYPES {
        if t.group == group
            && t.plural == resource
            && subresource.is_empty()
            && (version.is_empty() || wildcard(version) || version == VERSION)
        {
            verbs = Some(REVIEW_VERBS.to_vec());
        }
    }
    let what = if subresource.is_empty() {
        super::status::qualified(resource, group)
    } else {
        format!(
            "{}/{subresource}",
            super::status::qualified(resource, group)
        )
    };
    match verbs {
        None => (false, format!("the server does not serve {what}")),
        Some(v) if wildcard(verb) || v.contains(&verb) => {
            (true, "the token's user may do everything".into())
        }
        Some(_) => (false, format!("{what} does not support the verb {verb:?}")),
    }
}

/// The status of a SelfSubjectRulesReview: every served resource with its verbs (the same in
/// every namespace; cluster-scoped resources are listed too, as Kubernetes does).
fn rules(registry: &Registry) -> Value {
    // (group, verbs) -> resources
    let mut by_verbs: BTreeMap<(String, Vec<&str>), Vec<String>> = BTreeMap::new();
    for t in registry.types() {
        by_verbs
            .entry((t.group.clone(), VERBS.to_vec()))
            .or_default()
            .push(t.plural.clone());
        if t.status_subresource {
            by_verbs
                .entry((t.group.clone(), vec!["get", "patch", "update"]))
                .or_default()
                .push(format!("{}/status", t.plural));
        }
    }
    for t in TYPES {
        by_verbs
            .entry((t.group.to_string(), REVIEW_VERBS.to_vec()))
            .or_default()
            .push(t.plural.to_string());
    }
    let resource_rules: Vec<Value> = by_verbs
        .into_iter()
        .map(|((group, verbs), mut resources)| {
            resources.sort();
            resources.dedup();
            json!({"verbs": verbs, "apiGroups": [group], "resources": resources})
        })
        .collect();
    json!({
        "resourceRules": resource_rules,
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": NON_RESOURCE_URLS}],
        "incomplete": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(group: &str, resource: &str, sub: &str, verb: &str) -> Value {
        json!({"group": group, "resource": resource, "subresource": sub, "verb": verb})
    }

    #[test]
    fn served_resources_and_verbs_are_allowed_others_not() {
        let r = Registry::build(&[]);
        assert!(resource_allowed(&r, &attrs("", "configmaps", "", "create")).0);
        assert!(resource_allowed(&r, &attrs("", "namespaces", "status", "patch")).0);
        assert!(
            resource_allowed(
                &r,
                &attrs(AUTHORIZATION, "selfsubjectaccessreviews", "", "create")
            )
            .0
        );
        assert!(resource_allowed(&r, &attrs("*", "*", "", "*")).0);
        assert!(!resource_allowed(&r, &attrs("", "pods", "", "get")).0);
        assert!(!resource_allowed(&r, &attrs("", "configmaps", "", "escalate")).0);
        assert!(!resource_allowed(&r, &attrs("", "configmaps", "status", "get")).0);
        assert!(
            !resource_allowed(
                &r,
                &attrs(AUTHORIZATION, "selfsubjectaccessreviews", "", "list")
            )
            .0
        );
    }

    #[test]
    fn rules_list_every_served_resource() {
        let r = Registry::build(&[]);
        let status = rules(&r);
        let rules = status["resourceRules"].as_array().unwrap();
        let core = rules
            .iter()
            .find(|x| {
                x["apiGroups"][0] == "" && x["verbs"].as_array().unwrap().len() == VERBS.len()
            })
            .unwrap();
        assert!(
            core["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("configmaps"))
        );
        assert!(rules.iter().any(|x| {
            x["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("namespaces/status"))
        }));
        assert!(
            rules
                .iter()
                .any(|x| x["apiGroups"][0] == AUTHENTICATION && x["verbs"] == json!(["create"]))
        );
        assert_eq!(status["incomplete"], false);
    }
}
