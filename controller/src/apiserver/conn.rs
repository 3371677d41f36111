//! Serving HTTP connections with limits: the accept loop shared by the API port and the HTTP
//! port.
//!
//! Without limits a client that opens connections and sends nothing (or half a request, or no
//! TLS ClientHello) holds a socket and a task for ever. Every connection here gets:
//!
//! - a deadline for the TLS handshake ([`ConnLimits::tls_handshake_timeout`]);
//! - a deadline for each request's header ([`ConnLimits::header_read_timeout`]), enforced by
//!   hyper's HTTP/1 server once it has a timer. hyper runs it from the moment it waits for a
//!   request, so it also closes HTTP/1 keep-alive connections idle for that long;
//! - an idle deadline ([`ConnLimits::idle_timeout`]): a connection with no request in flight
//!   for that long is shut down gracefully. A request counts as in flight until its response
//!   body has been sent or dropped, so a watch stream that lasts an hour keeps its connection;
//! - HTTP/2 keep-alive pings ([`ConnLimits::h2_keepalive_interval`] and
//!   [`ConnLimits::h2_keepalive_timeout`]), which end connections whose peer went away;
//! - a cap on open connections ([`ConnLimits::max_connections`]). A connection beyond the cap
//!   is accepted and closed at once (refused, not queued): a queued connection would wait
//!   behind the very connections that exhaust the server, while a refused one tells its client
//!   straight away, and the idle deadlines above keep slots from being held by silent peers.
//!
//! Settings, defaults and flags are listed in `docs/security.md` ("Connection limits").

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Limits on the connections of one listening port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// How long a client has to complete the TLS handshake (HTTPS ports only).
    pub tls_handshake_timeout: Option<Duration>,
    /// How long a client has to send a request's complete header once the server waits for
    /// it (HTTP/1).
    pub header_read_timeout: Option<Duration>,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Option<Duration>,
    /// How often an HTTP/2 connection is pinged.
    pub h2_keepalive_interval: Option<Duration>,
    /// How long an HTTP/2 ping may go unanswered before the connection is closed.
    pub h2_keepalive_timeout: Duration,
    /// Most connections open at once; further ones are closed as soon as they are accepted.
    pub max_connections: usize,
}

impl ConnLimits {
    /// Default TLS handshake deadline.
    pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default header read deadline.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default idle deadline: longer than the 90 s after which Go's and hyper's client pools drop
    /// an idle connection, so that clients, not the server, usually close idle HTTP/2
    /// connections (a request crossing a server-side close fails).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
    /// Default HTTP/2 ping interval.
    pub const DEFAULT_H2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
    /// Default HTTP/2 ping deadline.
    pub const DEFAULT_H2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
    /// Default connection cap.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            tls_handshake_timeout: Some(Self::DEFAULT_TLS_HANDSHAKE_TIMEOUT),
            header_read_timeout: Some(Self::DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
            h2_keepalive_interval: Some(Self::DEFAULT_H2_KEEPALIVE_INTERVAL),
            h2_keepalive_timeout: Self::DEFAULT_H2_KEEPALIVE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The connection limits as command-line options (shared by `ferrule up` and `ferrule run`;
/// they apply to every port the command serves). A timeout of 0 turns that deadline off.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnLimitArgs {
    /// Seconds a client has to complete the TLS handshake (0: no deadline).
    #[arg(long, env = "FERRULE_TLS_HANDSHAKE_TIMEOUT", default_value_t = ConnLimits::DEFAULT_TLS_HANDSHAKE_TIMEOUT.as_secs())]
    pub tls_handshake_timeout: u64,
    /// Seconds a client has to send a complete request header (0: no deadline).
    #[arg(long, env = "FERRULE_HEADER_READ_TIMEOUT", default_value_t = ConnLimits::DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    pub header_read_timeout: u64,
    /// Seconds a connection may stay open with no request in flight; a running watch is in
    /// flight (0: no deadline).
    #[arg(long, env = "FERRULE_IDLE_TIMEOUT", default_value_t = ConnLimits::DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Seconds between HTTP/2 keep-alive pings (0: no pings).
    #[arg(long, env = "FERRULE_H2_KEEPALIVE_INTERVAL", default_value_t = ConnLimits::DEFAULT_H2_KEEPALIVE_INTERVAL.as_secs())]
    pub h2_keepalive_interval: u64,
    /// Seconds an HTTP/2 keep-alive ping may go unanswered before the connection is closed.
    #[arg(long, env = "FERRULE_H2_KEEPALIVE_TIMEOUT", default_value_t = ConnLimits::DEFAULT_H2_KEEPALIVE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub h2_keepalive_timeout: u64,
    /// Most connections open at once on each port; connections beyond it are closed at once.
    #[arg(long, env = "FERRULE_MAX_CONNECTIONS", default_value_t = ConnLimits::DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
}

impl ConnLimitArgs {
    /// The limits these options describe.
    pub fn limits(&self) -> ConnLimits {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        ConnLimits {
            tls_handshake_timeout: secs(self.tls_handshake_timeout),
            header_read_timeout: secs(self.header_read_timeout),
            idle_timeout: secs(self.idle_timeout),
            h2_keepalive_interval: secs(self.h2_keepalive_interval),
            h2_keepalive_timeout: Duration::from_secs(self.h2_keepalive_timeout.max(1)),
            max_connections: self.max_connections.max(1),
        }
    }
}

/// Accepts connections on `listener` and serves `router` on each (over TLS when `tls` is
/// given) within `limits`, until `shutdown` completes; then every open connection, watch
/// streams included, is ended.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                // Out of file descriptors and the like: give the open connections a moment
                // to end instead of spinning on the error.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, cap = limits.max_connections, "connection refused: cap reached");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let tls = match limits.tls_handshake_timeout {
                        Some(d) => match tokio::time::timeout(d, handshake).await {
                            Ok(r) => r,
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        },
                        None => handshake.await,
                    };
                    match tls {
                        Ok(tls) => serve_connection(tls, router, limits, peer).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                }
                None => serve_connection(stream, router, limits, peer).await,
            }
        });
    }
    // Aborting the set ends every open connection, watch streams included.
    connections.abort_all();
}

/// Serves HTTP/1 or HTTP/2 on one connection until the client closes it, it fails, or it has
/// been idle for [`ConnLimits::idle_timeout`].
async fn serve_connection<I>(io: I, router: Router, limits: ConnLimits, peer: SocketAddr)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (in_flight, mut idle) = watch::channel(0usize);
    let in_flight = Arc::new(in_flight);
    let service = tower::service_fn(move |request: Request<Incoming>| {
        let request = request.map(Body::new);
        let guard = InFlight::begin(in_flight.clone());
        let router = router.clone();
        async move {
            let response: Response = router.oneshot(request).await?;
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.h2_keepalive_interval)
        .keep_alive_timeout(limits.h2_keepalive_timeout);
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = idle_for(&mut idle, limits.idle_timeout), if !closing => {
                tracing::debug!(%peer, "closing idle connection");
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Completes once no request has been in flight for `timeout` (never when `None`).
async fn idle_for(in_flight: &mut watch::Receiver<usize>, timeout: Option<Duration>) {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    loop {
        if in_flight.wait_for(|n| *n == 0).await.is_err() {
            return std::future::pending().await;
        }
        // Any change (a request starting) restarts the wait.
        if tokio::time::timeout(timeout, in_flight.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Counts one request as in flight until dropped.
#[derive(Debug)]
struct InFlight(Arc<watch::Sender<usize>>);

impl InFlight {
    fn begin(counter: Arc<watch::Sender<usize>>) -> Self {
        counter.send_modify(|n| *n += 1);
        InFlight(counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
#[derive(Debug)]
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl HttpBody for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
