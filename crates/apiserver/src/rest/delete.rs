//! delete and deletecollection: finalizers (deletionTimestamp until they are gone),
//! propagation policies, namespaces and CRDs that empty themselves first.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::Req;
use super::read::list_options;
use super::view::{render_list, render_object, store_error, to_view};
use crate::context::Ctx;
use crate::crd;
use crate::decode::parse_json;
use crate::metadata::{self, meta_str};
use crate::registry::{Builtin, ResourceType};
use crate::status::ApiError;
use crate::store::ObjectKey;

/// Finalizer of foreground deletion: the owner stays until its dependents are gone.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer of orphaning deletion: dependents lose their owner reference first.
pub const ORPHAN: &str = "orphan";

/// `propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletePolicy {
    /// Delete now; the garbage collector removes dependents afterwards.
    Background,
    /// Keep the object (with a finalizer) until its dependents are deleted.
    Foreground,
    /// Remove the owner references from dependents, then delete.
    Orphan,
}

#[derive(Debug, Default)]
struct DeleteOptions {
    policy: Option<DeletePolicy>,
    dry_run: bool,
    uid: Option<String>,
    resource_version: Option<String>,
}

fn parse_policy(text: &str) -> Result<DeletePolicy, ApiError> {
    match text {
        "Background" => Ok(DeletePolicy::Background),
        "Foreground" => Ok(DeletePolicy::Foreground),
        "Orphan" => Ok(DeletePolicy::Orphan),
        other => Err(ApiError::bad_request(format!(
            "propagationPolicy must be Background, Foreground or Orphan, not {other:?}"
        ))),
    }
}

fn options(req: &Req) -> Result<DeleteOptions, ApiError> {
    let mut o = DeleteOptions::default();
    if !req.body.iter().all(u8::is_ascii_whitespace) {
        let body = parse_json(&req.body)?;
        if let Some(p) = body.get("propagationPolicy").and_then(Value::as_str) {
            o.policy = Some(parse_policy(p)?);
        }
        if body.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
            o.policy = Some(DeletePolicy::Orphan);
        }
        o.dry_run = body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"));
        o.uid = body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        o.resource_version = body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    if let Some(p) = req.query.non_empty("propagationPolicy") {
        o.policy = Some(parse_policy(p)?);
    }
    if req.query.get("dryRun") == Some("All") {
        o.dry_run = true;
    }
    Ok(o)
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn stored_rv(obj: &Value) -> Option<u64> {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok())
}

/// Deletes `old` (as read at its version): marks it (deletionTimestamp, finalizers) when
/// something must happen first, else removes it. Returns the object as it now is.
pub async fn delete_object(
    ctx: &Arc<Ctx>,
    rt: &ResourceType,
    key: &ObjectKey,
    old: &Value,
    policy: DeletePolicy,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let mut wanted = finalizers(old);
    match rt.builtin {
        Some(Builtin::Crd) => wanted.push(crd::CLEANUP_FINALIZER.to_string()),
        Some(Builtin::Namespace) => {}
        _ => {}
    }
    match policy {
        DeletePolicy::Foreground => wanted.push(FOREGROUND.to_string()),
        DeletePolicy::Orphan => wanted.push(ORPHAN.to_string()),
        DeletePolicy::Background => {}
    }
    let mut unique: Vec<String> = Vec::new();
    for f in wanted {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    let namespace = rt.builtin == Some(Builtin::Namespace);
    let already = old.pointer("/metadata/deletionTimestamp").is_some();
    if unique.is_empty() && !namespace {
        if dry_run {
            return Ok(old.clone());
        }
        let w = ctx
            .store()
            .delete(key.clone(), stored_rv(old))
            .await
            .map_err(|e| store_error(rt, &key.name, e))?;
        let object = (*w.object).clone();
        ctx.after_delete(rt, &object).await;
        return Ok(object);
    }
    if already && unique == finalizers(old) {
        return Ok(old.clone());
    }
    let now = Utc::now();
    let mut obj = old.clone();
    if let Some(meta) = metadata::meta_mut(&mut obj) {
        if !already {
            meta.insert("deletionTimestamp".into(), json!(metadata::timestamp(now)));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        }
        if unique.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), json!(unique));
        }
    }
    match rt.builtin {
        Some(Builtin::Namespace) => obj["status"] = json!({"phase": "Terminating"}),
        Some(Builtin::Crd) => {
            obj["status"] = crd::status(&obj, Some(old), &metadata::timestamp(now))
        }
        _ => {}
    }
    if dry_run {
        return Ok(obj);
    }
    let w = ctx
        .store()
        .update(key.clone(), obj, stored_rv(old))
        .await
        .map_err(|e| store_error(rt, &key.name, e))?;
    let object = (*w.object).clone();
    ctx.after_write(rt, &object).await;
    Ok(object)
}

fn precondition_failed(what: &str, expected: &str, actual: &str) -> ApiError {
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Precondition failed: {what} in precondition: {expected}, {what} in object meta: {actual}"
        ),
        details: None,
    }
}

/// DELETE of one object.
pub async fn delete(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let opts = options(req)?;
    let key = req.key();
    let policy = opts.policy.unwrap_or(DeletePolicy::Background);
    let mut last = None;
    for _ in 0..5 {
        let old = ctx
            .store()
            .get(&key)
            .await
            .map_err(|e| store_error(&req.rt, req.name(), e))?;
        if let Some(uid) = &opts.uid {
            let actual = meta_str(&old, "uid").unwrap_or("");
            if uid != actual {
                return Err(precondition_failed("UID", uid, actual));
            }
        }
        if let Some(rv) = &opts.resource_version {
            let actual = meta_str(&old, "resourceVersion").unwrap_or("");
            if rv != actual {
                return Err(precondition_failed("ResourceVersion", rv, actual));
            }
        }
        match delete_object(ctx, &req.rt, &key, &old, policy, opts.dry_run).await {
            Ok(obj) => {
                let view = to_view(&req.rt, &obj);
                return Ok(render_object(
                    &req.rt,
                    &req.want,
                    &req.query,
                    &view,
                    StatusCode::OK,
                ));
            }
            // Lost a race with another writer: read again.
            Err(e) if e.code == 409 && opts.resource_version.is_none() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::stale(&req.rt.group, &req.rt.plural, req.name())))
}

/// DELETE of a collection (selected by labelSelector/fieldSelector).
pub async fn delete_collection(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let opts = options(req)?;
    let mut list = list_options(req)?;
    list.limit = None;
    list.continue_token = None;
    let result = ctx
        .store()
        .list(&list)
        .await
        .map_err(|e| store_error(&req.rt, "", e))?;
    let policy = opts.policy.unwrap_or(DeletePolicy::Background);
    let mut deleted = Vec::new();
    for obj in &result.items {
        let key = ObjectKey::new(
            req.rt.storage_resource.clone(),
            meta_str(obj, "namespace").unwrap_or(""),
            meta_str(obj, "name").unwrap_or(""),
        );
        match delete_object(ctx, &req.rt, &key, obj, policy, opts.dry_run).await {
            Ok(o) => deleted.push(to_view(&req.rt, &o)),
            Err(e) if e.code == 404 || e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = ctx.store().current_resource_version();
    Ok(render_list(
        &req.rt, &req.want, &req.query, deleted, rv, None,
    ))
}
