//! Watches: replay from the log, then follow the live broadcast of committed changes.
//!
//! A watch subscribes to the broadcast *before* it reads anything from the database. Every
//! change it later receives live is therefore either already in what it read (its version is
//! at most the watch's cursor, and it is skipped) or newer (and delivered). That is why no
//! event is lost or duplicated at the switch from replay to follow. When the broadcast drops
//! messages for a slow watcher (`Lagged`), the dropped changes are committed and in the log,
//! so the watch goes back to replaying from its cursor.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::Stream;
use serde_json::Value;
use sqlx::Row;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::key::{from_sql, parse_resource_version, to_sql};
use super::list::{Filter, ListVersion, PageRequest, Snapshot, read_page};
use super::ops::{Change, ChangeKind, parse_stored, set_resource_version};
use super::schema::{KIND_ADDED, KIND_DELETED, read_meta};
use super::{LagPolicy, Store, StoreError};
use crate::field_selector::FieldSelector;
use crate::selector::LabelSelector;

/// Objects per page while sending the synthetic initial events.
const INITIAL_PAGE: usize = 500;

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Synthetic ADDED events for every selected object at the newest version, then the
    /// changes after it (`resourceVersion` unset, `""` or `"0"`).
    InitialState,
    /// The changes after this version (`resourceVersion=N`). Compacted versions give
    /// [`StoreError::Expired`], versions newer than the store
    /// [`StoreError::TooLargeResourceVersion`], as the first item of the watch.
    After(u64),
    /// Only changes after the newest version, without initial events
    /// (`sendInitialEvents=false` without a `resourceVersion`).
    Now,
}

impl WatchStart {
    /// Interprets a watch request's `resourceVersion` parameter like Kubernetes.
    pub fn from_resource_version(rv: Option<&str>) -> Result<Self, StoreError> {
        match rv {
            None | Some("") | Some("0") => Ok(WatchStart::InitialState),
            Some(text) => parse_resource_version(text).map(WatchStart::After),
        }
    }
}

/// What to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Resource key.
    pub resource: String,
    /// Only this namespace; `None` for all.
    pub namespace: Option<String>,
    /// `labelSelector`; objects entering it are ADDED, leaving it DELETED.
    pub label_selector: LabelSelector,
    /// `fieldSelector`, with the same transitions.
    pub field_selector: FieldSelector,
    /// Where to start.
    pub start: WatchStart,
    /// After the initial events, send [`WatchEvent::InitialEventsEnd`] (for
    /// `sendInitialEvents=true`, which ends them with the `k8s.io/initial-events-end`
    /// bookmark).
    pub initial_events_end: bool,
}

impl WatchOptions {
    /// Every object of `resource`, from `start`.
    pub fn new(resource: impl Into<String>, start: WatchStart) -> Self {
        Self {
            resource: resource.into(),
            namespace: None,
            label_selector: LabelSelector::everything(),
            field_selector: FieldSelector::everything(),
            start,
            initial_events_end: false,
        }
    }
}

/// One item of a watch. Objects carry `metadata.resourceVersion` of the event.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The object was created, entered the selection, or is part of the initial state.
    Added(Arc<Value>),
    /// The object changed and is still selected.
    Modified(Arc<Value>),
    /// The object was deleted (its final state) or left the selection (its last selected
    /// state, at the version of the change).
    Deleted(Arc<Value>),
    /// All initial events have been sent; the state they describe is at this version.
    InitialEventsEnd {
        /// Version of the initial state.
        resource_version: u64,
    },
}

impl WatchEvent {
    /// The Kubernetes watch event type: ADDED, MODIFIED, DELETED or BOOKMARK.
    pub fn event_type(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::InitialEventsEnd { .. } => "BOOKMARK",
        }
    }

    /// The object, if the event has one.
    pub fn object(&self) -> Option<&Arc<Value>> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
            WatchEvent::InitialEventsEnd { .. } => None,
        }
    }
}

#[derive(Debug)]
enum Phase {
    /// Sending the initial state, page by page, at snapshot `snapshot` (`None` before the
    /// first page picks it).
    Initial {
        snapshot: Option<u64>,
        after: Option<(String, String)>,
    },
    /// Reading committed changes after the cursor from the log.
    Replay,
    /// Receiving live changes.
    Follow,
}

/// A running watch. Pull events with [`Watch::next`] or turn it into a stream.
///
/// [`Watch::next`] is cancel-safe: it can be raced in `tokio::select!` (against a bookmark
/// timer or a client timeout) without losing events.
#[derive(Debug)]
pub struct Watch {
    store: Store,
    resource: String,
    namespace: Option<String>,
    filter: Filter,
    receiver: broadcast::Receiver<Arc<Change>>,
    phase: Phase,
    /// Every change with a version up to the cursor has been queued or skipped.
    cursor: u64,
    /// Events ready for the consumer, with the version that delivering them reaches
    /// (`None` for initial events, which are no resumable point).
    pending: VecDeque<(Option<u64>, WatchEvent)>,
    /// Version reached by what the consumer has received.
    delivered: Option<u64>,
    initial_events_end: bool,
    finished: bool,
}

impl Store {
    /// Starts a watch. Errors about the starting version (compacted, too new) arrive as the
    /// first item, so the HTTP layer can send them in-stream as Kubernetes does.
    pub fn watch(&self, options: WatchOptions) -> Result<Watch, StoreError> {
        let receiver = self.subscribe()?;
        let (phase, cursor, delivered) = match options.start {
            WatchStart::InitialState => (
                Phase::Initial {
                    snapshot: None,
                    after: None,
                },
                0,
                None,
            ),
            WatchStart::After(rv) => (Phase::Replay, rv, Some(rv)),
            WatchStart::Now => {
                // Read after subscribing: anything newer arrives on the receiver.
                let rv = self.current_resource_version();
                (Phase::Follow, rv, Some(rv))
            }
        };
        Ok(Watch {
            store: self.clone(),
            resource: options.resource,
            namespace: options.namespace,
            filter: Filter {
                label: options.label_selector,
                field: options.field_selector,
            },
            receiver,
            phase,
            cursor,
            pending: VecDeque::new(),
            delivered,
            initial_events_end: options.initial_events_end,
            finished: false,
        })
    }
}

impl Watch {
    /// The next event; `None` when the store closed. After an error the watch is over and
    /// returns `None`.
    pub async fn next(&mut self) -> Option<Result<WatchEvent, StoreError>> {
        loop {
            if let Some((rv, event)) = self.pending.pop_front() {
                if rv.is_some() {
                    self.delivered = rv;
                }
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            let step = match self.phase {
                Phase::Initial { .. } => self.initial_page().await,
                Phase::Replay => self.replay_page().await,
                Phase::Follow => self.follow().await,
            };
            if let Err(e) = step {
                self.finished = true;
                // Reads fail while the store closes; that is the end of the watch, not an
                // error to report.
                return self.store.ensure_open().ok().map(|()| Err(e));
            }
        }
    }

    /// The version up to which the consumer has seen every selected change, for BOOKMARK
    /// events; `None` while initial events are still being sent.
    pub fn progress(&self) -> Option<u64> {
        if self.pending.is_empty() && !matches!(self.phase, Phase::Initial { .. }) {
            Some(self.cursor)
        } else {
            self.delivered
        }
    }

    /// The watch as a stream of events.
    pub fn into_stream(self) -> impl Stream<Item = Result<WatchEvent, StoreError>> + Send {
        futures::stream::unfold(self, |mut watch| async move {
            watch.next().await.map(|item| (item, watch))
        })
    }

    async fn initial_page(&mut self) -> Result<(), StoreError> {
        let Phase::Initial { snapshot, after } = &self.phase else {
            return Ok(());
        };
        let page = read_page::<Value>(
            self.store.readers(),
            PageRequest {
                resource: &self.resource,
                namespace: self.namespace.as_deref(),
                filter: &self.filter,
                snapshot: Snapshot::List(snapshot.map_or(ListVersion::Latest, ListVersion::Exact)),
                after: after.clone(),
                limit: Some(INITIAL_PAGE),
            },
        )
        .await?;
        for object in page.items {
            self.pending
                .push_back((None, WatchEvent::Added(Arc::new(object))));
        }
        match page.next {
            Some(after) => {
                self.phase = Phase::Initial {
                    snapshot: Some(page.rv),
                    after: Some(after),
                };
            }
            None => {
                self.cursor = page.rv;
                if self.initial_events_end {
                    self.pending.push_back((
                        Some(page.rv),
                        WatchEvent::InitialEventsEnd {
                            resource_version: page.rv,
                        },
                    ));
                }
                self.phase = Phase::Replay;
            }
        }
        Ok(())
    }

    async fn replay_page(&mut self) -> Result<(), StoreError> {
        let page_size = self.store.config().replay_page.max(1);
        let (last_rv, changes) = read_log(
            &self.store,
            &self.resource,
            self.namespace.as_deref(),
            self.cursor,
            page_size,
            !self.filter.is_empty(),
        )
        .await?;
        let exhausted = changes.len() < page_size;
        for change in changes {
            self.cursor = change.rv;
            if let Some(event) = convert(&self.filter, &change) {
                self.pending.push_back((Some(change.rv), event));
            }
        }
        if exhausted {
            // The page was read at snapshot `last_rv` and nothing of ours followed.
            self.cursor = self.cursor.max(last_rv);
            self.phase = Phase::Follow;
        }
        Ok(())
    }

    async fn follow(&mut self) -> Result<(), StoreError> {
        match self.receiver.recv().await {
            Ok(change) => {
                if change.rv <= self.cursor {
                    return Ok(());
                }
                self.cursor = change.rv;
                if change.resource == self.resource
                    && self
                        .namespace
                        .as_ref()
                        .is_none_or(|ns| *ns == change.namespace)
                    && let Some(event) = convert(&self.filter, &change)
                {
                    self.pending.push_back((Some(change.rv), event));
                }
                Ok(())
            }
            Err(RecvError::Lagged(missed)) => match self.store.config().lag_policy {
                LagPolicy::CatchUp => {
                    tracing::debug!(
                        resource = %self.resource,
                        missed,
                        position = self.cursor,
                        "watch fell behind the event buffer; catching up from the log"
                    );
                    self.phase = Phase::Replay;
                    Ok(())
                }
                LagPolicy::Expire => Err(StoreError::WatchLagged {
                    position: self.cursor,
                }),
            },
            Err(RecvError::Closed) => {
                self.finished = true;
                Ok(())
            }
        }
    }
}

/// Turns a change into the event a filtered watcher sees, as the Kubernetes watch cache
/// does: selected before and after is MODIFIED, only after is ADDED, only before is DELETED
/// (with the last selected state at the change's version).
fn convert(filter: &Filter, change: &Change) -> Option<WatchEvent> {
    if filter.is_empty() {
        return Some(match change.kind {
            ChangeKind::Added => WatchEvent::Added(Arc::clone(&change.object)),
            ChangeKind::Modified => WatchEvent::Modified(Arc::clone(&change.object)),
            ChangeKind::Deleted => WatchEvent::Deleted(Arc::clone(&change.object)),
        });
    }
    let (now, before) = match change.kind {
        ChangeKind::Added => (filter.matches(&change.object), false),
        ChangeKind::Modified => (
            filter.matches(&change.object),
            change.prev.as_ref().is_some_and(|p| filter.matches(p)),
        ),
        ChangeKind::Deleted => (false, filter.matches(&change.object)),
    };
    match (now, before) {
        (true, false) => Some(WatchEvent::Added(Arc::clone(&change.object))),
        (true, true) => Some(WatchEvent::Modified(Arc::clone(&change.object))),
        (false, true) => match (&change.kind, &change.prev) {
            (ChangeKind::Modified, Some(prev)) => {
                let mut last = Value::clone(prev);
                set_resource_version(&mut last, change.rv);
                Some(WatchEvent::Deleted(Arc::new(last)))
            }
            _ => Some(WatchEvent::Deleted(Arc::clone(&change.object))),
        },
        (false, false) => None,
    }
}

const REPLAY_ALL: &str = "SELECT l.rv, l.namespace, l.kind, l.object,
        CASE WHEN ?4 THEN p.object END
    FROM log l LEFT JOIN log p ON p.rv = l.prev_rv
    WHERE l.resource = ?1 AND l.rv > ?2 ORDER BY l.rv LIMIT ?3";

const REPLAY_NS: &str = "SELECT l.rv, l.namespace, l.kind, l.object,
        CASE WHEN ?4 THEN p.object END
    FROM log l LEFT JOIN log p ON p.rv = l.prev_rv
    WHERE l.resource = ?1 AND l.rv > ?2 AND l.namespace = ?5 ORDER BY l.rv LIMIT ?3";

/// Reads up to `limit` changes of a resource after `after`, and the newest version of the
/// snapshot they were read at.
async fn read_log(
    store: &Store,
    resource: &str,
    namespace: Option<&str>,
    after: u64,
    limit: usize,
    with_prev: bool,
) -> Result<(u64, Vec<Change>), StoreError> {
    let mut tx = store.readers().begin().await?;
    let meta = read_meta(&mut tx).await?;
    if after < meta.horizon {
        return Err(StoreError::Expired {
            requested: after,
            oldest: meta.horizon,
        });
    }
    if after > meta.last_rv {
        return Err(StoreError::TooLargeResourceVersion {
            requested: after,
            current: meta.last_rv,
        });
    }
    let rows = sqlx::query(if namespace.is_some() {
        REPLAY_NS
    } else {
        REPLAY_ALL
    })
    .bind(resource)
    .bind(to_sql(after))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(with_prev)
    .bind(namespace)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        let rv = from_sql(row.try_get(0)?);
        let kind = match row.try_get::<i64, _>(2)? {
            KIND_ADDED => ChangeKind::Added,
            KIND_DELETED => ChangeKind::Deleted,
            _ => ChangeKind::Modified,
        };
        let prev = match row.try_get::<Option<&str>, _>(4)? {
            Some(text) => Some(Arc::new(parse_stored(rv, text)?)),
            None => None,
        };
        changes.push(Change {
            rv,
            resource: resource.to_string(),
            namespace: row.try_get(1)?,
            kind,
            object: Arc::new(parse_stored(rv, row.try_get(3)?)?),
            prev,
        });
    }
    Ok((meta.last_rv, changes))
}
