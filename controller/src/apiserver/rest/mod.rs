//! The REST verbs on resources: get, list, watch, create, update, patch, delete and
//! deletecollection, over the object store.

mod body;
mod delete;
mod patch;
mod read;
pub mod view;
mod watch;
mod write;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use super::context::Ctx;
use super::decode::MAX_BODY;
use super::registry::ResourceType;
use super::request::{Query, ResourcePath, Want, negotiate};
use super::status::ApiError;
use super::store::ObjectKey;

pub use body::read_limited;
pub use delete::{DeletePolicy, delete_object};
pub use write::{Change, Managed, WriteOptions, Written, create_object, update_object};

/// One parsed request on a resource.
#[derive(Debug)]
pub struct Req {
    /// The served type.
    pub rt: Arc<ResourceType>,
    /// Namespace (namespaced types; `None` for all namespaces).
    pub namespace: Option<String>,
    /// Object name, if any.
    pub name: Option<String>,
    /// Whether the request is on the `status` subresource.
    pub status: bool,
    /// Query parameters.
    pub query: Query,
    /// Negotiated response representation.
    pub want: Want,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// `User-Agent`, for the default field manager.
    pub user_agent: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Req {
    /// The store key of the named object.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(
            self.rt.storage_resource.clone(),
            self.namespace.clone().unwrap_or_default(),
            self.name.clone().unwrap_or_default(),
        )
    }

    /// The object name (empty for collections).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// Serves a request on a resource path.
pub async fn handle(ctx: &Arc<Ctx>, path: ResourcePath, request: Request<Body>) -> Response {
    match route(ctx, path, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn header_string(request: &Request<Body>, name: header::HeaderName) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

async fn route(
    ctx: &Arc<Ctx>,
    path: ResourcePath,
    request: Request<Body>,
) -> Result<Response, ApiError> {
    let not_found =
        || ApiError::no_route(&format!("{}/{}/{}", path.group, path.version, path.plural));
    let rt = ctx
        .registry()
        .lookup(&path.group, &path.version, &path.plural)
        .ok_or_else(not_found)?;
    if rt.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(not_found());
    }
    if !rt.namespaced && path.namespace.is_some() {
        return Err(not_found());
    }
    let status = match path.subresource.as_deref() {
        None => false,
        Some("status") if rt.status_subresource => true,
        Some(_) => return Err(not_found()),
    };
    let method = request.method().clone();
    let query = Query::parse(request.uri().query());
    let accept = header_string(&request, header::ACCEPT);
    let want = negotiate(accept.as_deref())?;
    let content_type = header_string(&request, header::CONTENT_TYPE);
    let user_agent = header_string(&request, header::USER_AGENT);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    let body = body::read_limited(request.into_body(), MAX_BODY, declared).await?;
    let req = Req {
        rt,
        namespace: path.namespace,
        name: path.name,
        status,
        query,
        want,
        content_type,
        user_agent,
        body,
    };
    let has_name = req.name.is_some();
    match (method, has_name) {
        (Method::GET, true) => read::get(ctx, &req).await,
        (Method::GET, false) if req.query.flag("watch") => watch::watch(ctx, req).await,
        (Method::GET, false) => read::list(ctx, &req).await,
        (Method::POST, false) if !req.rt.namespaced || req.namespace.is_some() => {
            write::create(ctx, &req).await
        }
        (Method::PUT, true) => write::update(ctx, &req).await,
        (Method::PATCH, true) => patch::patch(ctx, &req).await,
        (Method::DELETE, true) if !req.status => delete::delete(ctx, &req).await,
        (Method::DELETE, false) => delete::delete_collection(ctx, &req).await,
        (m, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({m})"
        ))),
    }
}
