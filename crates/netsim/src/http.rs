//! The HTTP control API of the simulator (loopback only), a thin layer over [`Control`].
//!
//! | method | path | body | effect |
//! |---|---|---|---|
//! | GET | `/devices` | | list devices |
//! | GET | `/devices/{name}` | | status: sessions, locks, faults |
//! | GET | `/devices/{name}/running` | | running config (XML) |
//! | POST | `/devices/{name}/running?operation=merge` | XML | edit running behind the controller's back |
//! | POST | `/devices/{name}/interface` | `{"name": "ge-0/0/1", "up": false}` | take an interface down/up |
//! | POST | `/devices/{name}/reachability` | `{"reachable": false}` | make unreachable/reachable |
//! | POST | `/devices/{name}/latency` | `{"millis": 200}` | add latency per RPC |
//! | POST | `/devices/{name}/reject-next-commit` | `{"errorTag": "…", "message": "…"}` | fail the next commit |
//! | DELETE | `/devices/{name}/reject-next-commit` | | disarm |
//! | POST | `/devices/{name}/kill-sessions` | | drop every NETCONF session |

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::control::Control;
use super::error::NetsimError;
use super::faults::CommitRejection;

/// The largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The routes of the control API.
pub fn router(control: Control) -> Router {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/{name}", get(status))
        .route("/devices/{name}/running", get(running).post(edit_running))
        .route("/devices/{name}/interface", post(interface))
        .route("/devices/{name}/reachability", post(reachability))
        .route("/devices/{name}/latency", post(latency))
        .route(
            "/devices/{name}/reject-next-commit",
            post(reject).delete(unreject),
        )
        .route("/devices/{name}/kill-sessions", post(kill_sessions))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(control)
}

/// Binds the control API to `addr` (which must be loopback); serves until `shutdown`.
pub(crate) async fn serve(
    control: Control,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), NetsimError> {
    let bind_error = |source| NetsimError::Bind {
        device: "control".to_owned(),
        addr,
        source,
    };
    if !addr.ip().is_loopback() {
        return Err(bind_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the control API listens on loopback only",
        )));
    }
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let app = router(control);
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "netsim control API stopped");
        }
    });
    Ok((bound, task))
}

/// A control API error as an HTTP response.
struct ApiError(NetsimError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = match &self.0 {
            NetsimError::NoSuchDevice(_) => StatusCode::NOT_FOUND,
            NetsimError::Datastore { .. } => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        (
            code,
            axum::Json(serde_json::json!({ "error": self.0.to_string() })),
        )
            .into_response()
    }
}

impl From<NetsimError> for ApiError {
    fn from(error: NetsimError) -> Self {
        Self(error)
    }
}

type ApiResult<T> = Result<T, ApiError>;

async fn list(State(control): State<Control>) -> impl IntoResponse {
    axum::Json(control.list())
}

async fn status(
    State(control): State<Control>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(axum::Json(control.status(&name)?))
}

async fn running(
    State(control): State<Control>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let xml = control.running_config(&name)?;
    Ok(([(header::CONTENT_TYPE, "application/xml")], xml))
}

#[derive(Debug, Deserialize)]
struct EditQuery {
    #[serde(default = "default_operation")]
    operation: String,
}

fn default_operation() -> String {
    "merge".to_owned()
}

async fn edit_running(
    State(control): State<Control>,
    Path(name): Path<String>,
    Query(query): Query<EditQuery>,
    body: String,
) -> ApiResult<impl IntoResponse> {
    control.edit_running(&name, &body, &query.operation)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceBody {
    name: String,
    up: bool,
}

async fn interface(
    State(control): State<Control>,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<InterfaceBody>,
) -> ApiResult<impl IntoResponse> {
    control.set_interface(&name, &body.name, body.up)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReachabilityBody {
    reachable: bool,
}

async fn reachability(
    State(control): State<Control>,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<ReachabilityBody>,
) -> ApiResult<impl IntoResponse> {
    control.set_reachable(&name, body.reachable)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyBody {
    millis: u64,
}

async fn latency(
    State(control): State<Control>,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<LatencyBody>,
) -> ApiResult<impl IntoResponse> {
    control.set_latency(&name, Duration::from_millis(body.millis))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reject(
    State(control): State<Control>,
    Path(name): Path<String>,
    axum::Json(body): axum::Json<CommitRejection>,
) -> ApiResult<impl IntoResponse> {
    control.reject_next_commit(&name, body)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unreject(
    State(control): State<Control>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    control.clear_commit_rejection(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn kill_sessions(
    State(control): State<Control>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let killed = control.kill_sessions(&name)?;
    Ok(axum::Json(serde_json::json!({ "killed": killed })))
}
