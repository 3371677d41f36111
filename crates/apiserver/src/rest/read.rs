//! get and list.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;

use super::Req;
use super::view::{
    field_selector, render_json_list, render_list, render_object, store_error, to_view,
    view_is_stored,
};
use crate::context::Ctx;
use crate::request::Want;
use crate::selector::LabelSelector;
use crate::status::ApiError;
use crate::store::{ListOptions, ListVersion, parse_resource_version};

/// GET of one object (or its status subresource, which shows the whole object).
pub async fn get(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let stored = ctx
        .store()
        .get(&req.key())
        .await
        .map_err(|e| store_error(&req.rt, req.name(), e))?;
    let view = to_view(&req.rt, &stored);
    Ok(render_object(
        &req.rt,
        &req.want,
        &req.query,
        &view,
        StatusCode::OK,
    ))
}

/// Parses `labelSelector`.
pub fn label_selector(req: &Req) -> Result<LabelSelector, ApiError> {
    match req.query.non_empty("labelSelector") {
        None => Ok(LabelSelector::everything()),
        Some(text) => LabelSelector::parse(text)
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}"))),
    }
}

/// The list options of a request (selectors, paging, version).
pub fn list_options(req: &Req) -> Result<ListOptions, ApiError> {
    let mut options = ListOptions::new(req.rt.storage_resource.clone());
    options.namespace = req.namespace.clone();
    options.label_selector = label_selector(req)?;
    options.field_selector = field_selector(&req.rt, &req.query)?;
    options.limit = req
        .query
        .int("limit")?
        .and_then(|l| usize::try_from(l).ok())
        .filter(|l| *l > 0);
    options.continue_token = req.query.non_empty("continue").map(str::to_string);
    let rv = req.query.non_empty("resourceVersion");
    options.version = match (rv, req.query.non_empty("resourceVersionMatch")) {
        (None | Some("0"), _) => ListVersion::Latest,
        (Some(v), Some("Exact")) => ListVersion::Exact(parse_rv(v)?),
        (Some(v), None | Some("NotOlderThan")) => ListVersion::NotOlderThan(parse_rv(v)?),
        (Some(_), Some(other)) => {
            return Err(ApiError::bad_request(format!(
                "invalid resourceVersionMatch {other:?}: must be Exact or NotOlderThan"
            )));
        }
    };
    if options.continue_token.is_some() {
        options.version = ListVersion::Latest;
    }
    Ok(options)
}

fn parse_rv(text: &str) -> Result<u64, ApiError> {
    parse_resource_version(text).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// GET of a collection.
pub async fn list(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let options = list_options(req)?;
    if req.want == Want::Json && view_is_stored(&req.rt) {
        // The common case (controllers' caches, kubectl get -o json): the stored texts go
        // out as they are, without being parsed and serialised again.
        let result = ctx
            .store()
            .list_json(&options)
            .await
            .map_err(|e| store_error(&req.rt, "", e))?;
        return Ok(render_json_list(
            &req.rt,
            &result.items,
            result.resource_version,
            result.continue_token,
        ));
    }
    let result = ctx
        .store()
        .list(&options)
        .await
        .map_err(|e| store_error(&req.rt, "", e))?;
    let items = result.items.iter().map(|o| to_view(&req.rt, o)).collect();
    Ok(render_list(
        &req.rt,
        &req.want,
        &req.query,
        items,
        result.resource_version,
        result.continue_token,
    ))
}
