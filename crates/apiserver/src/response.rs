//! Building HTTP responses with the media types Kubernetes clients expect.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// The media type of plain JSON responses.
pub const JSON: &str = "application/json";

/// A JSON response with an explicit `Content-Type`.
pub fn json_with(code: StatusCode, value: &Value, content_type: &str) -> Response {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = code;
    let ct = HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(JSON));
    resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    resp
}

/// A `200 OK` plain JSON response.
pub fn ok(value: &Value) -> Response {
    json_with(StatusCode::OK, value, JSON)
}

/// A plain-text response (health endpoints).
pub fn text(code: StatusCode, body: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The `Content-Type` of a Table response in the requested meta.k8s.io version.
pub fn table_media_type(version: &str) -> String {
    format!("application/json;as=Table;v={version};g=meta.k8s.io")
}

/// The `Content-Type` of an aggregated discovery response; clients ignore the body unless
/// it echoes the media type they asked for.
pub fn discovery_media_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// The `Content-Type` of PartialObjectMetadata responses.
pub fn metadata_media_type(version: &str, list: bool) -> String {
    let as_ = if list {
        "PartialObjectMetadataList"
    } else {
        "PartialObjectMetadata"
    };
    format!("application/json;as={as_};v={version};g=meta.k8s.io")
}
