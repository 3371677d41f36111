//! Conversions between the stored form of objects and the served views, rendering of
//! objects and lists in the negotiated representation, and store errors as `Status`.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use crate::apiserver::events;
use crate::apiserver::field_selector::FieldSelector;
use crate::apiserver::registry::{Builtin, ResourceType};
use crate::apiserver::request::{Query, Want};
use crate::apiserver::response::{JSON, json_with, metadata_media_type, table_media_type};
use crate::apiserver::status::ApiError;
use crate::apiserver::store::StoreError;
use crate::apiserver::table::{self, IncludeObject};

/// The object as served by `rt` (events.k8s.io view, requested CR version).
pub fn to_view(rt: &ResourceType, stored: &Value) -> Value {
    match rt.builtin {
        Some(Builtin::EventsV1Event) => events::to_events_v1(stored),
        Some(Builtin::CoreEvent) => events::to_core(stored),
        None if rt.api_version() != rt.storage_api_version => {
            let mut v = stored.clone();
            v["apiVersion"] = json!(rt.api_version());
            v
        }
        _ => stored.clone(),
    }
}

/// Whether [`to_view`] serves the stored object unchanged.
pub fn view_is_stored(rt: &ResourceType) -> bool {
    match rt.builtin {
        Some(Builtin::EventsV1Event | Builtin::CoreEvent) => false,
        None => rt.api_version() == rt.storage_api_version,
        Some(_) => true,
    }
}

/// The stored form of an object received through `rt`.
pub fn to_storage(rt: &ResourceType, served: Value) -> Value {
    match rt.builtin {
        Some(Builtin::EventsV1Event) => events::from_events_v1(&served),
        Some(Builtin::CoreEvent) => events::from_core(served),
        None if rt.api_version() != rt.storage_api_version => {
            let mut v = served;
            v["apiVersion"] = json!(rt.storage_api_version);
            v
        }
        _ => served,
    }
}

/// Fills or checks `apiVersion` and `kind` of a request body.
pub fn check_type(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    let api_version = rt.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => obj["apiVersion"] = json!(api_version),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        None | Some("") => obj["kind"] = json!(rt.kind),
        Some(k) if k == rt.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
    }
    Ok(())
}

/// A store error as the `Status` the client sees, for an object `name` of `rt`.
pub fn store_error(rt: &ResourceType, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { .. } => ApiError::not_found(&rt.group, &rt.plural, name),
        StoreError::AlreadyExists { .. } => ApiError::already_exists(&rt.group, &rt.plural, name),
        StoreError::Conflict { .. } => ApiError::stale(&rt.group, &rt.plural, name),
        e @ (StoreError::Expired { .. }
        | StoreError::ContinueExpired { .. }
        | StoreError::WatchLagged { .. }) => ApiError::gone(e.to_string()),
        e @ StoreError::TooLargeResourceVersion { .. } => ApiError::timeout(e.to_string()),
        e @ (StoreError::InvalidResourceVersion { .. }
        | StoreError::InvalidContinue { .. }
        | StoreError::InvalidObject { .. }) => ApiError::bad_request(e.to_string()),
        e => ApiError::internal(e.to_string()),
    }
}

/// Fields each type may be selected by; events also by their involved object.
fn allowed_field(rt: &ResourceType, path: &str) -> bool {
    if matches!(path, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match rt.builtin {
        Some(Builtin::CoreEvent) => {
            path.starts_with("involvedObject.")
                || matches!(path, "reason" | "reportingComponent" | "source" | "type")
        }
        Some(Builtin::EventsV1Event) => {
            path.starts_with("regarding.")
                || matches!(
                    path,
                    "reason" | "reportingController" | "type" | "deprecatedSource"
                )
        }
        Some(Builtin::Namespace) => path == "status.phase",
        Some(Builtin::Secret) => path == "type",
        _ => false,
    }
}

/// Parses and checks `fieldSelector`, translated to the stored form.
pub fn field_selector(rt: &ResourceType, query: &Query) -> Result<FieldSelector, ApiError> {
    let Some(text) = query.non_empty("fieldSelector") else {
        return Ok(FieldSelector::everything());
    };
    let selector = FieldSelector::parse(text)
        .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?;
    if let Some(bad) = selector.paths().find(|p| !allowed_field(rt, p)) {
        return Err(ApiError::bad_request(format!(
            "field label not supported: {bad}"
        )));
    }
    Ok(if rt.builtin == Some(Builtin::EventsV1Event) {
        selector.map_paths(events::v1_field_to_core)
    } else {
        selector
    })
}

/// Renders one object (already in its served view) in the negotiated representation.
pub fn render_object(
    rt: &ResourceType,
    want: &Want,
    query: &Query,
    obj: &Value,
    code: StatusCode,
) -> Response {
    match want {
        Want::Table(v) => {
            let rv = obj
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            let include = IncludeObject::parse(query.get("includeObject"));
            let t = table::table(
                rt,
                std::slice::from_ref(obj),
                json!({"resourceVersion": rv}),
                v,
                include,
                Utc::now(),
            );
            json_with(code, &t, &table_media_type(v))
        }
        Want::Metadata(v) => json_with(
            code,
            &table::partial_metadata(obj, v),
            &metadata_media_type(v, false),
        ),
        Want::Json | Want::Discovery(_) => json_with(code, obj, JSON),
    }
}

/// Renders a list (items in their served view).
pub fn render_list(
    rt: &ResourceType,
    want: &Want,
    query: &Query,
    items: Vec<Value>,
    resource_version: u64,
    continue_token: Option<String>,
) -> Response {
    let mut meta = json!({"resourceVersion": resource_version.to_string()});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    match want {
        Want::Table(v) => {
            let include = IncludeObject::parse(query.get("includeObject"));
            let t = table::table(rt, &items, meta, v, include, Utc::now());
            json_with(StatusCode::OK, &t, &table_media_type(v))
        }
        Want::Metadata(v) => json_with(
            StatusCode::OK,
            &table::partial_metadata_list(&items, meta, v),
            &metadata_media_type(v, true),
        ),
        Want::Json | Want::Discovery(_) => {
            let list = json!({
                "apiVersion": rt.api_version(),
                "kind": rt.list_kind,
                "metadata": meta,
                "items": items,
            });
            json_with(StatusCode::OK, &list, JSON)
        }
    }
}

/// A JSON list whose items are stored JSON texts served as they are (see
/// [`view_is_stored`]): the objects are copied into the body without being parsed.
pub fn render_json_list(
    rt: &ResourceType,
    items: &[String],
    resource_version: u64,
    continue_token: Option<String>,
) -> Response {
    let mut meta = json!({"resourceVersion": resource_version.to_string()});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    let head = json!({"apiVersion": rt.api_version(), "kind": rt.list_kind, "metadata": meta});
    let head = head.to_string();
    let size = head.len() + items.iter().map(|i| i.len() + 1).sum::<usize>() + 16;
    let mut body = String::with_capacity(size);
    // `head` is a JSON object: reopen it to append the items.
    body.push_str(head.strip_suffix('}').unwrap_or(&head));
    body.push_str(",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}");
    let mut resp = Response::new(axum::body::Body::from(body));
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(JSON),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry::Registry;

    #[test]
    fn event_views_and_selectors() {
        let r = Registry::build(&[]);
        let v1 = r.lookup("events.k8s.io", "v1", "events").unwrap();
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"name": "x"}, "message": "m"});
        let view = to_view(&v1, &core);
        assert_eq!(view["regarding"]["name"], "x");
        assert_eq!(to_storage(&v1, view), core);
        let q = Query::parse(Some("fieldSelector=regarding.name%3Dx"));
        let sel = field_selector(&v1, &q).unwrap();
        assert!(sel.matches_object(&core));
        let ce = r.lookup("", "v1", "events").unwrap();
        let q = Query::parse(Some(
            "fieldSelector=involvedObject.kind%3DServiceOrder,involvedObject.uid%3Du",
        ));
        assert!(field_selector(&ce, &q).is_ok());
        let cm = r.lookup("", "v1", "configmaps").unwrap();
        let q = Query::parse(Some("fieldSelector=data.x%3D1"));
        assert_eq!(
            field_selector(&cm, &q).unwrap_err().message,
            "field label not supported: data.x"
        );
    }

    async fn body_json(resp: Response) -> Value {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn stored_texts_make_the_same_list() {
        let r = Registry::build(&[]);
        let cm = r.lookup("", "v1", "configmaps").unwrap();
        assert!(view_is_stored(&cm));
        assert!(!view_is_stored(
            &r.lookup("events.k8s.io", "v1", "events").unwrap()
        ));
        let items = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "a", "resourceVersion": "7"}, "data": {"k": "\"quoted\" ü"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}),
        ];
        let texts: Vec<String> = items.iter().map(Value::to_string).collect();
        let query = Query::parse(None);
        for (items, texts) in [(items.clone(), texts.clone()), (Vec::new(), Vec::new())] {
            let token = Some("next".to_owned());
            let fast = body_json(render_json_list(&cm, &texts, 9, token.clone())).await;
            let slow = body_json(render_list(&cm, &Want::Json, &query, items, 9, token)).await;
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn type_checks() {
        let r = Registry::build(&[]);
        let cm = r.lookup("", "v1", "configmaps").unwrap();
        let mut o = json!({"metadata": {"name": "x"}});
        check_type(&cm, &mut o).unwrap();
        assert_eq!(o["kind"], "ConfigMap");
        let mut wrong = json!({"apiVersion": "v1", "kind": "Secret"});
        assert_eq!(check_type(&cm, &mut wrong).unwrap_err().code, 400);
    }
}
