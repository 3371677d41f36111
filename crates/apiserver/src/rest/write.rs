//! create (POST) and update (PUT), and the write pipeline they share with patch: server-set
//! fields, schema admission, managedFields, compare-and-swap.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::Req;
use super::view::{check_type, render_object, store_error, to_storage, to_view};
use crate::context::Ctx;
use crate::decode::{body_format, decode_object};
use crate::fieldset::ListTypes;
use crate::managed::{self, Actor, Entry, Scope};
use crate::metadata::{self, generate_name, meta_str};
use crate::registry::ResourceType;
use crate::request::Query;
use crate::status::ApiError;
use crate::store::{ObjectKey, StoreError, WriteOp, parse_resource_version};
use crate::strategy;
use crate::validation::{self, FieldValidation};

/// Attempts at a write that lost a race with another writer before giving up.
pub(super) const RETRIES: usize = 5;

/// Per-request write options.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// `dryRun=All`: everything but the write.
    pub dry_run: bool,
    /// What unknown fields cause.
    pub validation: FieldValidation,
}

impl WriteOptions {
    /// The options of a request's query.
    pub fn from_query(q: &Query) -> Result<Self, ApiError> {
        let dry_run = match q.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "invalid dryRun value {other:?}: only All is supported"
                )));
            }
        };
        Ok(WriteOptions {
            dry_run,
            validation: FieldValidation::parse(q.get("fieldValidation"))?,
        })
    }

    /// Options for the server's own writes.
    pub fn internal() -> Self {
        WriteOptions {
            dry_run: false,
            validation: FieldValidation::Strict,
        }
    }
}

/// How managedFields are set on a write.
#[derive(Debug, Clone)]
pub enum Managed {
    /// Record an update by this actor.
    Track(Actor),
    /// Use these entries (computed by server-side apply).
    Given(Vec<Entry>),
}

/// The outcome of a write: the stored object and the warnings for the client.
#[derive(Debug, Clone)]
pub struct Written {
    /// The object as stored (stored form).
    pub object: Value,
    /// Warnings (unknown fields under `fieldValidation=Warn`).
    pub warnings: Vec<String>,
}

/// Why an update did not happen.
#[derive(Debug)]
pub(super) enum UpdateError {
    /// Another write came first; the caller may re-read and retry.
    Stale,
    /// A final answer.
    Api(ApiError),
}

impl From<ApiError> for UpdateError {
    fn from(e: ApiError) -> Self {
        UpdateError::Api(e)
    }
}

pub(super) fn list_types(rt: &ResourceType) -> ListTypes<'_> {
    ListTypes::new(if rt.is_custom() {
        rt.schema.as_ref()
    } else {
        None
    })
}

fn set_managed(obj: &mut Value, entries: &[Entry]) {
    if let Some(meta) = metadata::meta_mut(obj) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), managed::encode(entries));
        }
    }
}

pub(super) fn resource_version(obj: &Value) -> Result<Option<u64>, ApiError> {
    match meta_str(obj, "resourceVersion").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => parse_resource_version(text)
            .map(Some)
            .map_err(|e| ApiError::bad_request(e.to_string())),
    }
}

pub(super) fn stored_rv(obj: &Value) -> u64 {
    meta_str(obj, "resourceVersion")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn ensure_namespace(
    ctx: &Ctx,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let key = ObjectKey::new("/namespaces", "", ns);
    match ctx.store().get(&key).await {
        Ok(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
            Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                crate::status::qualified(&rt.plural, &rt.group)
            )))
        }
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(ApiError::not_found("", "namespaces", ns)),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// Creates an object (stored form, namespace already set): server-set fields, admission,
/// managedFields, then the store. Names from `generateName` are retried on collisions.
pub async fn create_object(
    ctx: &Arc<Ctx>,
    rt: &ResourceType,
    obj: Value,
    managed_fields: Managed,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    let name = meta_str(&obj, "name").unwrap_or("").to_string();
    let prefix = meta_str(&obj, "generateName").unwrap_or("").to_string();
    let generated = name.is_empty() && !prefix.is_empty();
    let namespace = meta_str(&obj, "namespace").unwrap_or("").to_string();
    if rt.namespaced {
        ensure_namespace(ctx, rt, &namespace, &name).await?;
    }
    let now = metadata::timestamp(Utc::now());
    let schema = ctx.schema(rt);
    let lt = list_types(rt);
    for _ in 0..RETRIES {
        let mut candidate = obj.clone();
        if generated && let Some(meta) = metadata::meta_mut(&mut candidate) {
            meta.insert("name".into(), json!(generate_name(&prefix)));
        }
        strategy::prepare_create(rt, &mut candidate, &now)?;
        let warnings = validation::admit(rt, schema.as_deref(), &mut candidate, opts.validation)?;
        let entries = match &managed_fields {
            Managed::Track(actor) => managed::track_update(None, &candidate, actor, &lt, &now),
            Managed::Given(entries) => entries.clone(),
        };
        set_managed(&mut candidate, &entries);
        if opts.dry_run {
            return Ok(Written {
                object: candidate,
                warnings,
            });
        }
        let final_name = meta_str(&candidate, "name").unwrap_or("").to_string();
        let key = ObjectKey::new(
            rt.storage_resource.clone(),
            namespace.clone(),
            final_name.clone(),
        );
        match ctx.store().create(key, candidate).await {
            Ok(w) => {
                let object = (*w.object).clone();
                ctx.after_write(rt, &object).await;
                return Ok(Written { object, warnings });
            }
            Err(StoreError::AlreadyExists { .. }) if generated => continue,
            Err(e) => return Err(store_error(rt, &final_name, e)),
        }
    }
    Err(ApiError::internal(format!(
        "could not find a free name for generateName {prefix:?}"
    )))
}

/// An update to make: the object as read (at its version) and what it should become.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// The object's key.
    pub key: &'a ObjectKey,
    /// The object as read.
    pub old: &'a Value,
    /// The requested new state (stored form).
    pub new: Value,
    /// Which part of the object the request may change.
    pub scope: Scope,
    /// How managedFields are set.
    pub managed: Managed,
}

pub(super) async fn update_inner(
    ctx: &Arc<Ctx>,
    rt: &ResourceType,
    change: Change<'_>,
    opts: &WriteOptions,
) -> Result<Written, UpdateError> {
    let Change {
        key,
        old,
        mut new,
        scope,
        managed: managed_fields,
    } = change;
    let now = metadata::timestamp(Utc::now());
    strategy::prepare_update(rt, old, &mut new, scope, &now)?;
    let schema = ctx.schema(rt);
    let warnings = validation::admit(rt, schema.as_deref(), &mut new, opts.validation)?;
    let entries = match managed_fields {
        Managed::Track(actor) => {
            managed::track_update(Some(old), &new, &actor, &list_types(rt), &now)
        }
        Managed::Given(entries) => entries,
    };
    set_managed(&mut new, &entries);
    let old_rv = stored_rv(old);
    if let Some(meta) = metadata::meta_mut(&mut new) {
        meta.insert("resourceVersion".into(), json!(old_rv.to_string()));
    }
    if new == *old {
        return Ok(Written {
            object: new,
            warnings,
        });
    }
    if opts.dry_run {
        return Ok(Written {
            object: new,
            warnings,
        });
    }
    let finished = new.pointer("/metadata/deletionTimestamp").is_some()
        && new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
    let result = if finished {
        // The last finalizer is gone: the update and the deletion happen together, so
        // watchers see the object without finalizers, then its deletion.
        ctx.store()
            .transaction(vec![
                WriteOp::Update {
                    key: key.clone(),
                    object: new,
                    expected_rv: Some(old_rv),
                },
                WriteOp::Delete {
                    key: key.clone(),
                    expected_rv: None,
                },
            ])
            .await
            .map(|mut ws| ws.pop())
    } else {
        ctx.store()
            .update(key.clone(), new, Some(old_rv))
            .await
            .map(Some)
    };
    match result {
        Ok(Some(w)) => {
            let object = (*w.object).clone();
            ctx.after_write(rt, &object).await;
            Ok(Written { object, warnings })
        }
        Ok(None) => Err(UpdateError::Api(ApiError::internal("empty write result"))),
        Err(StoreError::Conflict { .. }) => Err(UpdateError::Stale),
        Err(e) => Err(UpdateError::Api(store_error(rt, &key.name, e))),
    }
}

/// Updates `old` (as read at its resourceVersion) to `new`: compare-and-swap on the old
/// version; a lost race is a 409.
pub async fn update_object(
    ctx: &Arc<Ctx>,
    rt: &ResourceType,
    change: Change<'_>,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    let name = change.key.name.clone();
    update_inner(ctx, rt, change, opts)
        .await
        .map_err(|e| match e {
            UpdateError::Stale => ApiError::stale(&rt.group, &rt.plural, &name),
            UpdateError::Api(e) => e,
        })
}

pub(super) fn manager(req: &Req) -> String {
    if let Some(m) = req.query.non_empty("fieldManager") {
        return m.to_string();
    }
    req.user_agent
        .as_deref()
        .and_then(|ua| ua.split('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

pub(super) fn actor(req: &Req, manager: String) -> Actor {
    Actor {
        manager,
        api_version: req.rt.api_version(),
        scope: strategy::scope(&req.rt, req.status),
    }
}

pub(super) fn respond(req: &Req, written: &Written, code: StatusCode) -> Response {
    let view = to_view(&req.rt, &written.object);
    let mut resp = render_object(&req.rt, &req.want, &req.query, &view, code);
    for w in &written.warnings {
        let text = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

/// Checks and fills the namespace and name of a body against the request path.
pub(super) fn place(req: &Req, obj: &mut Value) -> Result<(), ApiError> {
    let ns_in_body = meta_str(obj, "namespace")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let name_in_body = meta_str(obj, "name")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let Some(meta) = metadata::meta_mut(obj) else {
        return Err(ApiError::bad_request("the object has no metadata"));
    };
    if req.rt.namespaced {
        let ns = req.namespace.clone().unwrap_or_default();
        if let Some(b) = ns_in_body
            && b != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta.insert("namespace".into(), json!(ns));
    } else {
        meta.remove("namespace");
    }
    if let Some(path_name) = &req.name {
        match name_in_body {
            Some(b) if b != *path_name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({b}) does not match the name on the URL ({path_name})"
                )));
            }
            _ => {
                meta.insert("name".into(), json!(path_name));
            }
        }
    }
    // A missing name (without generateName) is left to metadata validation: a 422 on
    // metadata.name, as Kubernetes answers.
    Ok(())
}

/// POST on a collection.
pub async fn create(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    if req.status {
        return Err(ApiError::method_not_allowed(
            "create is not allowed on the status subresource",
        ));
    }
    let opts = WriteOptions::from_query(&req.query)?;
    let mut obj = decode_object(body_format(req.content_type.as_deref())?, &req.body)?;
    check_type(&req.rt, &mut obj)?;
    let mut obj = to_storage(&req.rt, obj);
    place(req, &mut obj)?;
    let written = create_object(
        ctx,
        &req.rt,
        obj,
        Managed::Track(actor(req, manager(req))),
        &opts,
    )
    .await?;
    Ok(respond(req, &written, StatusCode::CREATED))
}

/// PUT on an object or its status.
pub async fn update(ctx: &Arc<Ctx>, req: &Req) -> Result<Response, ApiError> {
    let opts = WriteOptions::from_query(&req.query)?;
    let mut obj = decode_object(body_format(req.content_type.as_deref())?, &req.body)?;
    check_type(&req.rt, &mut obj)?;
    let mut obj = to_storage(&req.rt, obj);
    place(req, &mut obj)?;
    let precondition = resource_version(&obj)?;
    let key = req.key();
    let who = actor(req, manager(req));
    for _ in 0..RETRIES {
        let old = ctx
            .store()
            .get(&key)
            .await
            .map_err(|e| store_error(&req.rt, req.name(), e))?;
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
                new: obj.clone(),
                scope: who.scope,
                managed: Managed::Track(who.clone()),
            },
            &opts,
        )
        .await
        {
            Ok(w) => return Ok(respond(req, &w, StatusCode::OK)),
            Err(UpdateError::Stale) if precondition.is_none() => continue,
            Err(UpdateError::Stale) => {
                return Err(ApiError::stale(&req.rt.group, &req.rt.plural, req.name()));
            }
            Err(UpdateError::Api(e)) => return Err(e),
        }
    }
    Err(ApiError::stale(&req.rt.group, &req.rt.plural, req.name()))
}
