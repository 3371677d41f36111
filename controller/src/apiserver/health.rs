//! The plain HTTP port's health endpoints (`/healthz`, `/readyz`) while `ferrule up` or
//! `ferrule run` runs, and the port's server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::conn::{self, ConnLimits};
use super::response::text;

/// Readiness shared between the process and the health endpoints.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the process ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether the process is ready.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The health routes: `/healthz` answers while the process runs, `/readyz` once ready.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok") }))
        .route(
            "/readyz",
            get(move || {
                let ready = readiness.get();
                async move {
                    if ready {
                        text(StatusCode::OK, "ok")
                    } else {
                        text(StatusCode::SERVICE_UNAVAILABLE, "not ready")
                    }
                }
            }),
        )
}

/// Serves `router` over plain HTTP on `addr` within `limits` (the same accept loop as the API
/// port) until the task is aborted; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    limits: ConnLimits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(conn::accept_loop(
        listener,
        router,
        None,
        limits,
        std::future::pending(),
    ));
    Ok((bound, task))
}
