//! What the server creates at start: the `default` namespace and the configured CRDs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::context::{CRD_RESOURCE, Ctx, SERVER_MANAGER};
use super::error::ServeError;
use super::managed::{Actor, Scope};
use super::registry::ResourceType;
use super::rest::{self, Managed, WriteOptions};
use super::status::ApiError;
use super::store::{ObjectKey, StoreError};

fn server_actor(rt: &ResourceType) -> Actor {
    Actor {
        manager: SERVER_MANAGER.to_string(),
        api_version: rt.api_version(),
        scope: Scope::Main {
            status_separate: rt.status_subresource,
        },
    }
}

/// Creates the `default` namespace when missing.
pub async fn ensure_default_namespace(ctx: &Arc<Ctx>) -> Result<(), ApiError> {
    let key = ObjectKey::new("/namespaces", "", "default");
    match ctx.store().get(&key).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => {
            let registry = ctx.registry();
            let rt = registry
                .lookup("", "v1", "namespaces")
                .ok_or_else(|| ApiError::internal("namespaces are not registered"))?;
            let ns =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
            let actor = server_actor(&rt);
            match rest::create_object(
                ctx,
                &rt,
                ns,
                Managed::Track(actor),
                &WriteOptions::internal(),
            )
            .await
            {
                Ok(_) => Ok(()),
                Err(e) if e.reason == "AlreadyExists" => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// Creates the given CRDs, or updates their spec when it differs from the stored one.
pub async fn install_crds(ctx: &Arc<Ctx>, crds: &[Value]) -> Result<(), ServeError> {
    let registry = ctx.registry();
    let Some(rt) = registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return Ok(());
    };
    for crd in crds {
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let fail = |error: ApiError| ServeError::Install {
            name: format!("CustomResourceDefinition {name:?}"),
            error,
        };
        let key = ObjectKey::new(CRD_RESOURCE, "", name.clone());
        let actor = server_actor(&rt);
        let mut wanted = crd.clone();
        wanted["apiVersion"] = json!("apiextensions.k8s.io/v1");
        wanted["kind"] = json!("CustomResourceDefinition");
        match ctx.store().get(&key).await {
            Err(StoreError::NotFound { .. }) => {
                rest::create_object(
                    ctx,
                    &rt,
                    wanted,
                    Managed::Track(actor),
                    &WriteOptions::internal(),
                )
                .await
                .map_err(fail)?;
            }
            Ok(existing) => {
                if existing.get("spec") == wanted.get("spec") {
                    continue;
                }
                let mut next = existing.clone();
                next["spec"] = wanted.get("spec").cloned().unwrap_or(Value::Null);
                let change = rest::Change {
                    key: &key,
                    old: &existing,
                    new: next,
                    scope: actor.scope,
                    managed: Managed::Track(actor.clone()),
                };
                rest::update_object(ctx, &rt, change, &WriteOptions::internal())
                    .await
                    .map_err(fail)?;
            }
            Err(e) => return Err(fail(ApiError::internal(e.to_string()))),
        }
    }
    Ok(())
}
