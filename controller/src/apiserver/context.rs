//! The server's shared state: the store, the registry of served types (rebuilt when CRDs
//! change), readiness and the garbage collector's trigger.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use ferrule_crds::schema::StructuralSchema;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::gc_owners::OwnerTracker;
use super::managed::{Actor, Scope};
use super::openapi::OpenApiDocs;
use super::registry::{Builtin, Registry, ResourceType};
use super::request::ResourcePath;
use super::rest::{self, Managed, WriteOptions};
use super::server::ServeError;
use super::status::ApiError;
use super::store::{ListOptions, ObjectKey, Store, StoreConfig, StoreError};
use super::validation::SchemaCache;

/// The field manager of the server's own writes.
pub const SERVER_MANAGER: &str = "ferrule";

const CRD_RESOURCE: &str = "apiextensions.k8s.io/customresourcedefinitions";

/// A registry together with what is derived from it.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The served types.
    pub registry: Registry,
    openapi: OnceLock<OpenApiDocs>,
    schemas: SchemaCache,
}

impl Snapshot {
    fn new(registry: Registry) -> Self {
        Snapshot {
            registry,
            openapi: OnceLock::new(),
            schemas: SchemaCache::default(),
        }
    }

    /// The OpenAPI documents, generated on first use.
    pub fn openapi(&self) -> &OpenApiDocs {
        self.openapi
            .get_or_init(|| OpenApiDocs::generate(&self.registry))
    }
}

/// Tunables of the running server.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// How often watches with `allowWatchBookmarks` get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Settings of the object store.
    pub store: StoreConfig,
}

/// State shared by every request. `Debug` leaves the token out.
pub struct Ctx {
    token: String,
    server_address: String,
    ready: AtomicBool,
    snapshot: RwLock<Arc<Snapshot>>,
    store: Store,
    gc: Notify,
    owners: OwnerTracker,
    bookmark_interval: Duration,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("token", &"<redacted>")
            .field("server_address", &self.server_address)
            .field("ready", &self.ready)
            .field("store", &self.store)
            .field("bookmark_interval", &self.bookmark_interval)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Opens the store in `dir` and loads the CRDs it holds.
    pub async fn open(
        _dir: &Path,
        token: String,
        server_address: String,
        tuning: Tuning,
    ) -> Result<Arc<Self>, ServeError> {
        let store = Store::open(tuning.store.clone())
            .await
            .map_err(|e| ServeError::Store(e.to_string()))?;
        let ctx = Arc::new(Ctx {
            token,
            server_address,
            ready: AtomicBool::new(false),
            snapshot: RwLock::new(Arc::new(Snapshot::new(Registry::build(&[])))),
            store,
            gc: Notify::new(),
            owners: OwnerTracker::default(),
            bookmark_interval: tuning.bookmark_interval,
        });
        ctx.refresh_crds()
            .await
            .map_err(|e| ServeError::Store(e.to_string()))?;
        Ok(ctx)
    }

    /// The bearer token clients must present.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `host:port` clients reach the server at.
    pub fn server_address(&self) -> &str {
        &self.server_address
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How often bookmarks are sent on watches that allow them.
    pub fn bookmark_interval(&self) -> Duration {
        self.bookmark_interval
    }

    /// Whether start-up has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Marks start-up as finished.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// The current snapshot of served types.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current registry.
    pub fn registry(&self) -> Registry {
        self.snapshot().registry.clone()
    }

    /// The compiled schema of a custom resource type.
    pub fn schema(&self, rt: &ResourceType) -> Option<Arc<StructuralSchema>> {
        self.snapshot().schemas.get(rt)
    }

    /// Rebuilds the registry from the stored CRDs.
    pub async fn refresh_crds(&self) -> Result<(), StoreError> {
        let crds = self
            .store
            .list(&ListOptions::new(CRD_RESOURCE))
            .await?
            .items;
        let next = Arc::new(Snapshot::new(Registry::build(&crds)));
        match self.snapshot.write() {
            Ok(mut s) => *s = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        Ok(())
    }

    /// What every successful create or update does afterwards: CRD changes rebuild the
    /// registry, the object's owners become known owners, and an object being deleted
    /// (finalizers, foreground or orphan deletion, a terminating namespace) wakes the garbage
    /// collector. Other writes cannot make anything collectable, except a dependent written
    /// with owners that are already gone, which the periodic sweep finds; a pass reads every
    /// object, so waking it on every write would cost a full scan per write under load.
    pub async fn after_write(&self, rt: &ResourceType, object: &Value) {
        self.refresh_if_crd(rt).await;
        self.owners.written(object);
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            self.gc.notify_one();
        }
    }

    /// What every successful deletion does afterwards: CRD changes rebuild the registry, and
    /// when `object` owned something the garbage collector looks for dependents left without
    /// owners (deleting an object nothing names as owner cannot, see [`OwnerTracker`]).
    pub async fn after_delete(&self, rt: &ResourceType, object: &Value) {
        self.refresh_if_crd(rt).await;
        if self.owners.deleted(object) {
            self.gc.notify_one();
        }
    }

    /// A full garbage-collector pass read these owner uids.
    pub(super) fn owners_seen<'a>(&self, uids: impl IntoIterator<Item = &'a str>) {
        self.owners.passed(uids);
    }

    async fn refresh_if_crd(&self, rt: &ResourceType) {
        if rt.builtin == Some(Builtin::Crd)
            && let Err(e) = self.refresh_crds().await
        {
            tracing::warn!(error = %e, "reloading CRDs failed");
        }
    }

    /// Resolves when a write asked the garbage collector to look again.
    pub async fn gc_triggered(&self) {
        self.gc.notified().await;
    }

    /// The OpenAPI v3 index.
    pub fn openapi_index(&self) -> Value {
        self.snapshot().openapi().index()
    }

    /// The OpenAPI v3 document of `group/version`.
    pub fn openapi_document(&self, group: &str, version: &str) -> Result<Value, ApiError> {
        self.snapshot()
            .openapi()
            .document(group, version)
            .cloned()
            .ok_or_else(|| ApiError::no_route(&format!("/openapi/v3/{group}/{version}")))
    }

    fn server_actor(&self, rt: &ResourceType) -> Actor {
        Actor {
            manager: SERVER_MANAGER.to_string(),
            api_version: rt.api_version(),
            scope: Scope::Main {
                status_separate: rt.status_subresource,
            },
        }
    }

    /// Creates the `default` namespace when missing.
    pub async fn ensure_default_namespace(self: &Arc<Self>) -> Result<(), ApiError> {
        let key = ObjectKey::new("/namespaces", "", "default");
        match self.store.get(&key).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => {
                let registry = self.registry();
                let rt = registry
                    .lookup("", "v1", "namespaces")
                    .ok_or_else(|| ApiError::internal("namespaces are not registered"))?;
                let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
                let actor = self.server_actor(&rt);
                match rest::create_object(
                    self,
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
    pub async fn install_crds(self: &Arc<Self>, crds: &[Value]) -> Result<(), ServeError> {
        let registry = self.registry();
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
            let actor = self.server_actor(&rt);
            let mut wanted = crd.clone();
            wanted["apiVersion"] = json!("apiextensions.k8s.io/v1");
            wanted["kind"] = json!("CustomResourceDefinition");
            match self.store.get(&key).await {
                Err(StoreError::NotFound { .. }) => {
                    rest::create_object(
                        self,
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
                    rest::update_object(self, &rt, change, &WriteOptions::internal())
                        .await
                        .map_err(fail)?;
                }
                Err(e) => return Err(fail(ApiError::internal(e.to_string()))),
            }
        }
        Ok(())
    }

    /// Starts the background tasks (garbage collection, namespace and CRD cleanup).
    pub fn spawn_background(
        self: &Arc<Self>,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        vec![tokio::spawn(super::gc::run(self.clone(), shutdown))]
    }

    /// Closes the store; open watches end.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Serves a request for a resource path.
    pub async fn handle_resource(
        self: &Arc<Self>,
        path: ResourcePath,
        request: Request<Body>,
    ) -> Response {
        rest::handle(self, path, request).await
    }
}
