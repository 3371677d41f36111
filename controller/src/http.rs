//! The HTTP port of the long-lived commands (`up`, `run`): health and metrics, and the
//! signals that stop them.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use ferrule_apiserver::conn::ConnLimits;
use ferrule_apiserver::health;
use ferrule_operator::metrics::Metrics;

/// The HTTP port of a long-lived command: health and metrics.
pub(crate) struct HttpPort {
    /// Flipped to ready once the controllers run.
    pub(crate) readiness: health::Readiness,
    /// The controllers' metrics, served at `/metrics`.
    pub(crate) metrics: Arc<Metrics>,
    /// The bound address.
    pub(crate) addr: SocketAddr,
    /// The server task (abort to stop).
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl HttpPort {
    /// Serves `/healthz`, `/readyz` and `/metrics` on `listen` within `limits`.
    pub(crate) async fn serve(listen: SocketAddr, limits: ConnLimits) -> anyhow::Result<Self> {
        let readiness = health::Readiness::default();
        let metrics = Arc::new(Metrics::new());
        let router = health::router(readiness.clone()).merge(router(metrics.clone()));
        let (addr, task) = health::serve(listen, router, limits)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        Ok(Self {
            readiness,
            metrics,
            addr,
            task,
        })
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from [`ShutdownSignal::install`] on. Before that
/// (while starting) they end the process at once, which the store and the transaction journal
/// are safe against, like a crash; installed before the "ready" line is printed, so that a
/// signal sent after it always gets the ordered, bounded shutdown.
#[derive(Debug)]
pub(crate) struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Starts catching SIGINT and SIGTERM.
    pub(crate) fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("catching SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("catching SIGTERM")?,
        })
    }

    /// Completes on the next SIGINT or SIGTERM (at once for one received since
    /// [`ShutdownSignal::install`]).
    pub(crate) async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// The content type of the OpenMetrics text exposition.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `/metrics` route, to merge into the HTTP port's router.
pub(crate) fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                match metrics.encode() {
                    Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text)
                        .into_response(),
                    Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        }),
    )
}
