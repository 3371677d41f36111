//! PATCH: merge patch, JSON patch, strategic merge patch (built-in types) and server-side
//! apply, all through the shared write pipeline.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::Value;

use super::Req;
use super::view::{check_type, store_error, to_storage, to_view};
use super::write::{
    Change, Managed, RETRIES, UpdateError, WriteOptions, actor, create_object, list_types, manager,
    place, resource_version, respond, stored_rv, update_inner,
};
use crate::apply;
use crate::context::Ctx;
use crate::decode::{BodyFormat, body_format, parse_json, parse_yaml};
use crate::merge_patch;
use crate::metadata;
use crate::registry::ResourceType;
use crate::status::ApiError;
use crate::store::StoreError;

fn apply_patch(
    rt: &ResourceType,
    format: BodyFormat,
    target: &mut Value,
    patch: &Value,
) -> Result<(), ApiError> {
    match format {
        BodyFormat::MergePatch => {
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            merge_patch::merge_patch(target, patch);
            Ok(())
        }
        BodyFormat::JsonPatch => merge_patch::json_patch(target, patch),
        BodyFormat::StrategicMergePatch if rt.is_custom() => Err(ApiError::unsupported(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        )),
        BodyFormat::StrategicMergePatch => {
            merge_patch::strategic_merge_patch(target, patch, &merge_patch::builtin_list_strategy)
        }
        _ => Err(ApiError::unsupported("not a patch media type")),
    }
}

/// PATCH on an object or its status.
pub async fn patch(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let opts = WriteOptions::from_query(&req.query)?;
    let format = body_format(req.content_type.as_deref())?;
    if format == BodyFormat::ApplyPatch {
        return apply(ctx, req, &opts).await;
    }
    if !matches!(
        format,
        BodyFormat::MergePatch | BodyFormat::JsonPatch | BodyFormat::StrategicMergePatch
    ) {
        return Err(ApiError::unsupported(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
        ));
    }
    let patch_body = parse_json(&req.body)?;
    let key = req.key();
    let who = actor(req, manager(req));
    for _ in 0..RETRIES {
        let old = ctx
            .store()
            .get(&key)
            .await
            .map_err(|e| store_error(&req.rt, req.name(), e))?;
        let mut patched = to_view(&req.rt, &old);
        apply_patch(&req.rt, format, &mut patched, &patch_body)?;
        if !patched.is_object() {
            return Err(ApiError::unprocessable(
                "the patched object is not a JSON object",
            ));
        }
        check_type(&req.rt, &mut patched)?;
        let mut new = to_storage(&req.rt, patched);
        place(req, &mut new)?;
        let precondition = resource_version(&new)?;
        if let Some(rv) = precondition
            && rv != stored_rv(&old)
        {
            return Err(ApiError::stale(&req.rt.group, &req.rt.plural, req.name()));
        }
        match update_inner(
            ctx,
            &req.rt,
            Change {
                key: &key,
                old: &old,
                new,
                scope: who.scope,
                managed: Managed::Track(who.clone()),
            },
            &opts,
        )
        .await
        {
            Ok(w) => return Ok(respond(req, &w, StatusCode::OK)),
            Err(UpdateError::Stale) => continue,
            Err(UpdateError::Api(e)) => return Err(e),
        }
    }
    Err(ApiError::stale(&req.rt.group, &req.rt.plural, req.name()))
}

/// Server-side apply (`application/apply-patch+yaml`).
async fn apply(ctx: &Arc<Ctx>, req: &Req, opts: &WriteOptions) -> Result<Response, ApiError> {
    let Some(manager) = req.query.non_empty("fieldManager").map(str::to_string) else {
        return Err(ApiError::bad_request(
            "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
        ));
    };
    let force = req.query.flag("force");
    let mut config = parse_yaml(&req.body)?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "an apply configuration must be an object",
        ));
    }
    for f in ["apiVersion", "kind"] {
        if config
            .get(f)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(format!(
                "{f} must be set in an apply configuration"
            )));
        }
    }
    check_type(&req.rt, &mut config)?;
    let mut config = to_storage(&req.rt, config);
    place(req, &mut config)?;
    if let Some(meta) = metadata::meta_mut(&mut config) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    let key = req.key();
    let who = actor(req, manager);
    let lt = list_types(&req.rt);
    for _ in 0..RETRIES {
        let live = match ctx.store().get(&key).await {
            Ok(o) => Some(o),
            Err(StoreError::NotFound { .. }) if !req.status => None,
            Err(e) => return Err(store_error(&req.rt, req.name(), e)),
        };
        let now = metadata::timestamp(Utc::now());
        let (merged, entries) = apply::apply(live.as_ref(), &config, &who, force, &lt, &now)?;
        match live {
            None => {
                match create_object(ctx, &req.rt, merged, Managed::Given(entries), opts).await {
                    Ok(w) => return Ok(respond(req, &w, StatusCode::CREATED)),
                    Err(e) if e.reason == "AlreadyExists" => continue,
                    Err(e) => return Err(e),
                }
            }
            Some(old) => {
                match update_inner(
                    ctx,
                    &req.rt,
                    Change {
                        key: &key,
                        old: &old,
                        new: merged,
                        scope: who.scope,
                        managed: Managed::Given(entries),
                    },
                    opts,
                )
                .await
                {
                    Ok(w) => return Ok(respond(req, &w, StatusCode::OK)),
                    Err(UpdateError::Stale) => continue,
                    Err(UpdateError::Api(e)) => return Err(e),
                }
            }
        }
    }
    Err(ApiError::stale(&req.rt.group, &req.rt.plural, req.name()))
}
