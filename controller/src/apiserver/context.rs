//! The server's shared state: registry of served types, storage, readiness.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::openapi::OpenApiDocs;
use super::registry::Registry;
use super::request::ResourcePath;
use super::server::ServeError;
use super::status::ApiError;

/// A registry together with the documents derived from it.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The served types.
    pub registry: Registry,
    openapi: OnceLock<OpenApiDocs>,
}

impl Snapshot {
    fn new(registry: Registry) -> Self {
        Snapshot {
            registry,
            openapi: OnceLock::new(),
        }
    }

    /// The OpenAPI documents, generated on first use.
    pub fn openapi(&self) -> &OpenApiDocs {
        self.openapi
            .get_or_init(|| OpenApiDocs::generate(&self.registry))
    }
}

/// State shared by every request.
#[derive(Debug)]
pub struct Ctx {
    token: String,
    server_address: String,
    ready: AtomicBool,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl Ctx {
    /// Opens the state kept in `dir`.
    pub async fn open(
        _dir: &Path,
        token: String,
        server_address: String,
    ) -> Result<Arc<Self>, ServeError> {
        Ok(Arc::new(Ctx {
            token,
            server_address,
            ready: AtomicBool::new(false),
            snapshot: RwLock::new(Arc::new(Snapshot::new(Registry::build(&[])))),
        }))
    }

    /// The bearer token clients must present.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `host:port` clients reach the server at.
    pub fn server_address(&self) -> &str {
        &self.server_address
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

    /// Replaces the registry after CRDs changed.
    pub fn set_crds(&self, crds: &[Value]) {
        let next = Arc::new(Snapshot::new(Registry::build(crds)));
        match self.snapshot.write() {
            Ok(mut s) => *s = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
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

    /// Creates or updates the given CRDs.
    pub async fn install_crds(&self, crds: &[Value]) -> Result<(), ServeError> {
        if let Some(crd) = crds.first() {
            return Err(ServeError::Crd {
                name: crd
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                error: ApiError::unavailable("resource storage is not available"),
            });
        }
        Ok(())
    }

    /// Starts the background tasks (garbage collection, namespace cleanup).
    pub fn spawn_background(
        self: &Arc<Self>,
        _shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        Vec::new()
    }

    /// Releases resources held by the state.
    pub async fn close(&self) {}

    /// Serves a request for a resource path.
    pub async fn handle_resource(&self, path: ResourcePath, _request: Request<Body>) -> Response {
        let registry = self.registry();
        match registry.lookup(&path.group, &path.version, &path.plural) {
            None => ApiError::no_route(&format!("{}/{}", path.group, path.plural)).into_response(),
            Some(_) => ApiError::unavailable("resource storage is not available").into_response(),
        }
    }
}
