//! The server's shared state: the store, the registry of served types (rebuilt when CRDs
//! change), readiness and the garbage collector's trigger.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use ferrule_crds::schema::StructuralSchema;
use serde_json::Value;
use tokio::sync::Notify;

use super::error::ServeError;
use super::gc_owners::OwnerTracker;
use super::openapi::OpenApiDocs;
use super::registry::{Builtin, Registry, ResourceType};
use super::status::ApiError;
use super::store::{ListOptions, Store, StoreConfig, StoreError};
use super::validation::SchemaCache;

/// The field manager of the server's own writes.
pub const SERVER_MANAGER: &str = "ferrule";

pub(super) const CRD_RESOURCE: &str = "apiextensions.k8s.io/customresourcedefinitions";

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
            .map_err(ServeError::Store)?;
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
        ctx.refresh_crds().await.map_err(ServeError::Store)?;
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

    /// Closes the store; open watches end.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_cannot_open_is_the_source_of_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("store.db");
        let tuning = Tuning {
            bookmark_interval: Duration::from_secs(60),
            store: StoreConfig::new(&missing),
        };
        let err = Ctx::open(dir.path(), "t".into(), "https://127.0.0.1:1".into(), tuning)
            .await
            .unwrap_err();
        let source = std::error::Error::source(&err).expect("the store error is kept");
        let store_error = source
            .downcast_ref::<StoreError>()
            .expect("the source is a StoreError");
        assert_eq!(err.to_string(), format!("opening the store: {store_error}"));
    }
}
