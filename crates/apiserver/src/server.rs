//! Starting and stopping the API server: listener, TLS, authentication and routing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::conn::{self, ConnLimits};
use super::context::{Ctx, Tuning};
use super::kubeconfig::{self, KubeconfigData};
use super::request::{Route, Want, negotiate, parse_path};
use super::response::{discovery_media_type, json_with, ok, text};
use super::status::ApiError;
use super::store::{Durability, Retention, Store, StoreConfig};
use super::{bootstrap, discovery, gc, pki, rest, review, token};

/// How to run the API server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Directory for the database, certificates, token and (by default) the kubeconfig.
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where to write the kubeconfig; `None` means `data_dir/kubeconfig`.
    pub kubeconfig_path: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (loopback only, for debugging).
    pub insecure_http: bool,
    /// Allow a non-loopback listen address.
    pub allow_remote: bool,
    /// CRD objects to create or update at start (Ferrule's own CRDs).
    pub crds: Vec<serde_json::Value>,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// How much history the store keeps for resuming watches.
    pub retention: Retention,
    /// When the store acknowledges a write relative to the disk.
    pub durability: Durability,
    /// Deadlines and the connection cap of the API port.
    pub limits: ConnLimits,
}

impl ServeConfig {
    /// A configuration for `data_dir` listening on `listen` with HTTPS and no CRDs.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServeConfig {
            data_dir: data_dir.into(),
            listen,
            kubeconfig_path: None,
            insecure_http: false,
            allow_remote: false,
            crds: Vec::new(),
            bookmark_interval: Duration::from_secs(15),
            retention: Retention::default(),
            durability: Durability::default(),
            limits: ConnLimits::default(),
        }
    }
}

pub use super::error::ServeError;

/// A running API server.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    kubeconfig: KubeconfigData,
    kubeconfig_path: PathBuf,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    ctx: Arc<Ctx>,
}

impl ApiServer {
    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Server URL and credentials, as written into the kubeconfig.
    pub fn kubeconfig(&self) -> &KubeconfigData {
        &self.kubeconfig
    }

    /// Where the kubeconfig was written.
    pub fn kubeconfig_path(&self) -> &std::path::Path {
        &self.kubeconfig_path
    }

    /// A kube-rs client for this server (what the in-process controllers use).
    pub async fn client(&self) -> Result<kube::Client, ServeError> {
        client(&self.kubeconfig).await
    }

    /// The object store (for administration and tests: compaction, benchmarks).
    pub fn store(&self) -> &Store {
        self.ctx.store()
    }

    /// Whether the server finished starting (CRDs installed).
    pub fn is_ready(&self) -> bool {
        self.ctx.is_ready()
    }

    /// Stops accepting connections, ends open streams and background tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.ctx.close().await;
    }
}

/// A kube-rs client for the server described by `kubeconfig`.
pub async fn client(kubeconfig: &KubeconfigData) -> Result<kube::Client, ServeError> {
    let config = kubeconfig::client_config(kubeconfig).await?;
    Ok(kube::Client::try_from(config)?)
}

fn io_err(what: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ServeError {
    let path = path.to_path_buf();
    move |source| ServeError::Io { what, path, source }
}

/// Starts the API server and returns once it is listening and its CRDs are installed.
pub async fn serve(config: ServeConfig) -> Result<ApiServer, ServeError> {
    let loopback = config.listen.ip().is_loopback();
    if config.insecure_http && !loopback {
        return Err(ServeError::InsecureRemote(config.listen));
    }
    if !loopback && !config.allow_remote {
        return Err(ServeError::RemoteRefused(config.listen));
    }
    let dir = &config.data_dir;
    // Refuses a directory other users could have written to; tightens what older versions
    // left readable (each change logged).
    ferrule_datadir::prepare_data_dir(dir)?;
    let token_path = dir.join("token");
    let token = token::load_or_create(&token_path).map_err(io_err("token", &token_path))?;

    let listener = TcpListener::bind(config.listen).await.map_err(io_err(
        "listening on",
        &PathBuf::from(config.listen.to_string()),
    ))?;
    let addr = listener.local_addr().map_err(io_err(
        "listening on",
        &PathBuf::from(config.listen.to_string()),
    ))?;
    let client_host: IpAddr = if addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    let client_addr = SocketAddr::new(client_host, addr.port());

    let tls = if config.insecure_http {
        None
    } else {
        let material = pki::load_or_create(&dir.join("pki"), &pki::subject_alt_names(addr.ip()))?;
        Some(material)
    };
    let kubeconfig = KubeconfigData {
        server: format!(
            "{}://{client_addr}",
            if tls.is_some() { "https" } else { "http" }
        ),
        ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()),
        token: token.clone(),
    };
    let kubeconfig_path = config
        .kubeconfig_path
        .clone()
        .unwrap_or_else(|| dir.join("kubeconfig"));
    if let Some(parent) = kubeconfig_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    let text = kubeconfig::render(&kubeconfig).map_err(ServeError::RenderKubeconfig)?;
    ferrule_datadir::write_private(&kubeconfig_path, text.as_bytes())
        .map_err(io_err("writing kubeconfig", &kubeconfig_path))?;

    let mut store = StoreConfig::new(dir.join("state.db"));
    store.retention = config.retention;
    store.durability = config.durability;
    let tuning = Tuning {
        bookmark_interval: config.bookmark_interval,
        store,
    };
    let ctx = Ctx::open(dir, token, client_addr.to_string(), tuning).await?;
    bootstrap::ensure_default_namespace(&ctx)
        .await
        .map_err(|error| ServeError::Install {
            name: "namespace \"default\"".into(),
            error,
        })?;
    bootstrap::install_crds(&ctx, &config.crds).await?;
    ctx.set_ready();

    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = router(ctx.clone());
    let tls_config = match &tls {
        Some(material) => Some(material.server_config()?),
        None => None,
    };
    let mut stop = shutdown_rx.clone();
    let mut tasks = vec![tokio::spawn(conn::accept_loop(
        listener,
        router,
        tls_config,
        config.limits,
        async move {
            let _ = stop.changed().await;
        },
    ))];
    tasks.push(tokio::spawn(gc::run(ctx.clone(), shutdown_rx)));
    tracing::info!(%addr, tls = !config.insecure_http, "API server listening");
    Ok(ApiServer {
        addr,
        kubeconfig,
        kubeconfig_path,
        shutdown,
        tasks,
        ctx,
    })
}

fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(ctx.clone(), authenticate))
        .with_state(ctx)
}

async fn authenticate(State(ctx): State<Arc<Ctx>>, request: Request, next: Next) -> Response {
    let public = matches!(request.uri().path(), "/healthz" | "/readyz" | "/livez");
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|h| h.as_bytes());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = if public || token::authorizes(header, ctx.token()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    };
    // Paths and status codes only: bodies and query strings may carry customer data.
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn dispatch(State(ctx): State<Arc<Ctx>>, request: Request<Body>) -> Response {
    let path = request.uri().path().to_string();
    let Some(route) = parse_path(&path) else {
        return ApiError::no_route(&path).into_response();
    };
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let read_only = request.method() == Method::GET || request.method() == Method::HEAD;
    if !read_only && !matches!(route, Route::Resource(_)) {
        return ApiError::method_not_allowed(format!(
            "the server does not allow this method on {path}"
        ))
        .into_response();
    }
    let result = match route {
        Route::Resource(rp) if review::is_review_group(&rp.group) => {
            return review::handle(&ctx, rp, request).await;
        }
        Route::Resource(rp) => return rest::handle(&ctx, rp, request).await,
        Route::Health => {
            return if ctx.is_ready() {
                text(StatusCode::OK, "ok")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "starting")
            };
        }
        Route::Version => Ok(ok(&discovery::version())),
        Route::Api | Route::Apis => {
            let legacy = route == Route::Api;
            match negotiate(accept.as_deref()) {
                Ok(Want::Discovery(v)) => {
                    let doc = discovery::aggregated(&ctx.registry(), legacy, &v);
                    Ok(json_with(StatusCode::OK, &doc, &discovery_media_type(&v)))
                }
                Ok(_) if legacy => Ok(ok(&discovery::api_versions(ctx.server_address()))),
                Ok(_) => Ok(ok(&discovery::api_group_list(&ctx.registry()))),
                Err(e) => Err(e),
            }
        }
        Route::Group(g) => {
            let registry = ctx.registry();
            if registry.versions(&g).is_empty() && !review::is_review_group(&g) {
                Err(ApiError::no_route(&path))
            } else {
                Ok(ok(&discovery::api_group(&registry, &g)))
            }
        }
        Route::GroupVersion(g, v) => {
            let registry = ctx.registry();
            if registry.serves_version(&g, &v) || !review::types_of(&g, &v).is_empty() {
                Ok(ok(&discovery::api_resource_list(&registry, &g, &v)))
            } else {
                Err(ApiError::no_route(&path))
            }
        }
        Route::OpenApiIndex => Ok(ok(&ctx.openapi_index())),
        Route::OpenApiDoc(g, v) => ctx.openapi_document(&g, &v).map(|doc| ok(&doc)),
        Route::OpenApiV2 => Err(ApiError::no_route(&path)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    fn config(dir: &std::path::Path) -> ServeConfig {
        ServeConfig::new(dir, "127.0.0.1:0".parse().unwrap())
    }

    #[tokio::test]
    async fn debug_output_leaves_the_token_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.insecure_http = true;
        let server = serve(config).await.unwrap();
        let token = server.kubeconfig().token.clone();
        assert_eq!(token.len(), 64);
        for debug in [
            format!("{server:?}"),
            format!("{:?}", server.ctx),
            format!("{:?}", server.kubeconfig()),
        ] {
            assert!(!debug.contains(&token), "token in {debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn everything_in_the_data_directory_is_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let server = serve(config(&dir)).await.unwrap();
        // The write-ahead log and shared-memory index exist while the store is open.
        assert!(dir.join("state.db-wal").exists());
        assert!(dir.join("state.db-shm").exists());
        let mut seen = 0;
        let mut pending = vec![dir.clone()];
        while let Some(current) = pending.pop() {
            let mode = std::fs::metadata(&current).unwrap().mode() & 0o7777;
            assert_eq!(mode, 0o700, "{}", current.display());
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    pending.push(path);
                } else {
                    assert_eq!(meta.mode() & 0o7777, 0o600, "{}", path.display());
                    seen += 1;
                }
            }
        }
        // token, kubeconfig, state.db(-wal, -shm, .lock), pki/{ca,server}.{crt,key}, sans
        assert!(seen >= 11, "only {seen} files");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_data_directory_others_can_write_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = serve(config(&dir)).await.unwrap_err();
        assert!(
            matches!(
                err,
                ServeError::DataDir(ferrule_datadir::DataDirError::WritableByOthers { .. })
            ),
            "{err}"
        );
        // Nothing was written into it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
}
