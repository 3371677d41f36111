//! Watches: chunked HTTP, one `{"type","object"}` JSON document per line, bookmarks when
//! asked for, `timeoutSeconds`, and an in-stream ERROR event (HTTP 200) when the requested
//! version was compacted away, which is what makes clients re-list.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use super::Req;
use super::read::label_selector;
use super::view::{field_selector, store_error, to_view};
use crate::context::Ctx;
use crate::registry::ResourceType;
use crate::request::Want;
use crate::response::{JSON, metadata_media_type, table_media_type};
use crate::status::ApiError;
use crate::store::{WatchEvent, WatchOptions, WatchStart};
use crate::table::{self, IncludeObject};

/// Longest a watch stays open when the client gives no `timeoutSeconds` (as Kubernetes'
/// default minimum request timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Events buffered between the store and a slow client.
const BUFFER: usize = 64;

fn event_line(kind: &str, object: Value) -> Bytes {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

struct Renderer {
    rt: Arc<ResourceType>,
    want: Want,
    include: IncludeObject,
}

impl Renderer {
    fn object(&self, stored: &Value) -> Value {
        let view = to_view(&self.rt, stored);
        match &self.want {
            Want::Table(v) => {
                let rv = view
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                table::table(
                    &self.rt,
                    std::slice::from_ref(&view),
                    json!({"resourceVersion": rv}),
                    v,
                    self.include,
                    Utc::now(),
                )
            }
            Want::Metadata(v) => table::partial_metadata(&view, v),
            _ => view,
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let (kind, api_version) = match &self.want {
            Want::Metadata(v) => (
                "PartialObjectMetadata".to_string(),
                format!("meta.k8s.io/{v}"),
            ),
            _ => (self.rt.kind.clone(), self.rt.api_version()),
        };
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": kind, "apiVersion": api_version, "metadata": meta})
    }

    fn content_type(&self) -> String {
        match &self.want {
            Want::Table(v) => table_media_type(v),
            Want::Metadata(v) => metadata_media_type(v, false),
            _ => JSON.to_string(),
        }
    }
}

/// GET with `watch=true`.
pub async fn watch(ctx: &Arc<Ctx>, req: Req) -> Result<Response, ApiError> {
    let rv = req.query.non_empty("resourceVersion");
    let send_initial = req.query.get("sendInitialEvents").map(|v| v == "true");
    let start = match (send_initial, rv) {
        (Some(false), None) => WatchStart::Now,
        (Some(true), None | Some("0")) => WatchStart::InitialState,
        _ => WatchStart::from_resource_version(rv).map_err(|e| store_error(&req.rt, "", e))?,
    };
    let mut options = WatchOptions::new(req.rt.storage_resource.clone(), start);
    options.namespace = req.namespace.clone();
    options.label_selector = label_selector(&req)?;
    options.field_selector = field_selector(&req.rt, &req.query)?;
    options.initial_events_end = send_initial == Some(true);
    let timeout = req
        .query
        .int("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t.unsigned_abs()))
        .unwrap_or(DEFAULT_TIMEOUT)
        .min(DEFAULT_TIMEOUT * 2);
    let bookmarks = req.query.flag("allowWatchBookmarks");
    let mut watch = ctx
        .store()
        .watch(options)
        .map_err(|e| store_error(&req.rt, "", e))?;
    let renderer = Renderer {
        rt: req.rt.clone(),
        want: req.want.clone(),
        include: IncludeObject::parse(req.query.get("includeObject")),
    };
    let content_type = renderer.content_type();
    let bookmark_every = ctx.bookmark_interval();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            let line = tokio::select! {
                _ = &mut deadline => break,
                // The client went away: stop watching now rather than at the next event.
                _ = tx.closed() => break,
                _ = ticker.tick(), if bookmarks => match watch.progress() {
                    Some(rv) => event_line("BOOKMARK", renderer.bookmark(rv, false)),
                    None => continue,
                },
                event = watch.next() => match event {
                    None => break,
                    Some(Ok(WatchEvent::InitialEventsEnd { resource_version })) => {
                        event_line("BOOKMARK", renderer.bookmark(resource_version, true))
                    }
                    Some(Ok(e)) => match e.object() {
                        Some(o) => event_line(e.event_type(), renderer.object(o)),
                        None => continue,
                    },
                    Some(Err(e)) => {
                        let status = store_error(&renderer.rt, "", e).to_status();
                        let _ = tx.send(event_line("ERROR", status)).await;
                        break;
                    }
                },
            };
            if tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let lines = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, Infallible>(line), rx))
    });
    let mut resp = Response::new(Body::from_stream(lines));
    *resp.status_mut() = StatusCode::OK;
    if let Ok(ct) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}
