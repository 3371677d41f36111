//! The versioned object store of the embedded API server, on SQLite.
//!
//! It gives the HTTP layer what etcd and the watch cache give `kube-apiserver`: objects as
//! `serde_json::Value`, keyed by [`ObjectKey`] `(resource, namespace, name)`, one store-wide
//! monotonic `resourceVersion`, compare-and-swap writes, atomic multi-object transactions,
//! consistent paginated lists and watches that resume from any retained version.
//!
//! # Schema
//!
//! * `log(rv, resource, namespace, name, kind, prev_rv, ts, object)` — append-only history.
//!   Its row id `rv` **is** the resourceVersion: one counter for all resources. `kind` is the
//!   watch event type (0 ADDED, 1 MODIFIED, 2 DELETED); a deletion is a tombstone row holding
//!   the object's final state. `prev_rv` links a version to the one it replaced (`NULL` for a
//!   creation); a unique index on it means a version has at most one successor, which is the
//!   compare-and-swap invariant enforced by SQLite itself. `object` is the full JSON object
//!   with `metadata.resourceVersion` set to `rv`. `ts` (wall-clock ms) serves time-based
//!   retention only.
//! * `current(resource, namespace, name, rv)` — the current-state index: for each live object
//!   the `rv` of its log row. Gets, writes and lists at the newest version read it.
//! * `labels(resource, key, value, namespace, name)` — every label of every live object, the
//!   index of lists with an equality requirement (`labels.rs`).
//! * `meta(schema_version, last_rv, horizon)` — the newest version (it survives compaction of
//!   the log's tail, so the counter never goes back) and the compaction horizon.
//!
//! * `<file>.lock` — an advisory lock held while the store is open: one process writes a
//!   file (the writer keeps the newest version in memory).
//!
//! The state at any version `S >= horizon` can be read from the log: the rows with
//! `rv <= S`, not tombstones, with no successor at or below `S`. Continue tokens and
//! `resourceVersionMatch=Exact` use that; lists at the newest version use `current`.
//!
//! # Guarantees
//!
//! * **Durability.** A write is acknowledged only after `COMMIT` returned, in WAL mode with
//!   `synchronous=NORMAL` by default: acknowledged writes survive `kill -9`
//!   ([`Durability::Full`] also power loss). One writer task owns the only writing
//!   connection and commits concurrent requests together (group commit), so concurrent
//!   writers share the fsync of `Full`.
//! * **Ordering.** Versions are assigned in commit order; watchers receive events strictly in
//!   version order, each exactly once, including across the switch from log replay to live
//!   events and after falling behind.
//! * **Compare-and-swap.** An update or delete with an expected version fails with
//!   [`StoreError::Conflict`] unless it is the stored version; a create fails with
//!   [`StoreError::AlreadyExists`]. A [`Store::transaction`] applies all of its operations or
//!   none. An update that changes nothing writes nothing ([`Outcome::Unchanged`]).
//! * **Metadata.** The store sets `metadata.resourceVersion` (a decimal string) on every
//!   write and keeps every other field as given: `uid`, `creationTimestamp`, `generation`,
//!   finalizers and the like are the caller's.
//! * **Consistent pages.** A continue token carries the snapshot version and the last key;
//!   every page of a list shows the same snapshot. Once compaction passes the snapshot the
//!   token fails with [`StoreError::ContinueExpired`] (410).
//! * **Bounded memory.** Watchers share one broadcast buffer of
//!   [`StoreConfig::event_buffer`] events; writers never wait for watchers. A watcher that
//!   falls behind re-reads the log from its position ([`LagPolicy::CatchUp`]) or ends with a
//!   410 ([`LagPolicy::Expire`]); replays read the log in pages.
//! * **Retention.** Compaction ([`Retention`]) removes versions superseded before the
//!   horizon and older tombstones. Watches and lists at versions below the horizon get
//!   [`StoreError::Expired`] (410); the HTTP layer sends it as the in-stream ERROR event.
//! * **Restart.** Reopening a file continues the counter; watches from retained versions
//!   resume.

mod bench;
mod compact;
mod config;
mod continue_token;
mod error;
mod key;
mod labels;
mod list;
mod ops;
mod schema;
mod watch;
mod writer;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use bench::{BenchConfig, BenchReport, run_benchmark};
pub use compact::CompactionReport;
pub use config::{Durability, LagPolicy, Retention, StoreConfig};
pub use error::StoreError;
pub use key::{ObjectKey, parse_resource_version, resource_key};
pub use list::{ListOptions, ListResult, ListVersion};
pub use ops::{Outcome, WriteOp, Written};
pub use watch::{Watch, WatchEvent, WatchOptions, WatchStart};

use key::from_sql;
use ops::{Change, parse_stored};
use writer::{Command, Shared, Writer};

/// Capacity of the queue of write requests waiting for the writer.
const COMMAND_QUEUE: usize = 1024;

/// A handle to an open store; cheap to clone, all clones share the same database.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: StoreConfig,
    readers: SqlitePool,
    commands: mpsc::Sender<Command>,
    /// Used to subscribe watchers; `None` once closed, so that watchers end.
    events: Mutex<Option<broadcast::Sender<Arc<Change>>>>,
    shared: Arc<Shared>,
    closed: AtomicBool,
    /// The lock file; released by `close` so that the file can be reopened at once.
    lock: Mutex<Option<std::fs::File>>,
}

impl Store {
    /// Opens (or creates) the store file, recovers its counters, and starts the writer task
    /// and, when retention is configured, the background compactor. Needs a Tokio runtime.
    pub async fn open(config: StoreConfig) -> Result<Self, StoreError> {
        let lock = schema::lock(&config)?;
        let (conn, meta) = schema::open_writer(&config).await?;
        let readers = schema::open_readers(&config).await?;
        let last_ts = sqlx::query("SELECT ts FROM log ORDER BY rv DESC LIMIT 1")
            .fetch_optional(&readers)
            .await?
            .map(|row| row.try_get::<i64, _>(0))
            .transpose()?
            .unwrap_or(0);
        let shared = Arc::new(Shared::default());
        shared.last_rv.store(meta.last_rv, Ordering::SeqCst);
        shared.horizon.store(meta.horizon, Ordering::SeqCst);
        let (events, _) = broadcast::channel(config.event_buffer.max(16));
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let writer = Writer {
            conn,
            last_rv: meta.last_rv,
            last_ts,
            shared: Arc::clone(&shared),
            events: events.clone(),
            max_batch: config.max_batch,
        };
        tokio::spawn(writer.run(receiver));
        let store = Store {
            inner: Arc::new(Inner {
                config,
                readers,
                commands,
                events: Mutex::new(Some(events)),
                shared,
                closed: AtomicBool::new(false),
                lock: Mutex::new(Some(lock)),
            }),
        };
        compact::spawn_compactor(&store);
        tracing::debug!(
            path = %store.inner.config.path.display(),
            resource_version = meta.last_rv,
            horizon = meta.horizon,
            "store opened"
        );
        Ok(store)
    }

    /// Stops the writer after the requests already queued, ends every watch, closes the
    /// connections and releases the file's lock. Later calls on any clone fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let (reply, done) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
        if let Ok(mut events) = self.inner.events.lock() {
            events.take();
        }
        self.inner.readers.close().await;
        if let Ok(mut lock) = self.inner.lock.lock() {
            lock.take();
        }
    }

    /// The settings the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The newest acknowledged resource version.
    pub fn current_resource_version(&self) -> u64 {
        self.inner.shared.last_rv.load(Ordering::SeqCst)
    }

    /// The compaction horizon: the oldest version that can still be watched from or listed
    /// at.
    pub fn oldest_resource_version(&self) -> u64 {
        self.inner.shared.horizon.load(Ordering::SeqCst)
    }

    /// Reads one object at the newest version.
    pub async fn get(&self, key: &ObjectKey) -> Result<Value, StoreError> {
        self.ensure_open()?;
        let row = sqlx::query(
            "SELECT c.rv, l.object FROM current c JOIN log l ON l.rv = c.rv
             WHERE c.resource = ?1 AND c.namespace = ?2 AND c.name = ?3",
        )
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .fetch_optional(&self.inner.readers)
        .await?;
        let row = row.ok_or_else(|| StoreError::NotFound { key: key.clone() })?;
        let rv = from_sql(row.try_get(0)?);
        parse_stored(rv, row.try_get(1)?)
    }

    /// Creates an object; [`StoreError::AlreadyExists`] if the name is taken.
    pub async fn create(&self, key: ObjectKey, object: Value) -> Result<Written, StoreError> {
        self.single(WriteOp::Create { key, object }).await
    }

    /// Replaces an object. With `expected_rv`, fails with [`StoreError::Conflict`] unless the
    /// stored version is that one.
    pub async fn update(
        &self,
        key: ObjectKey,
        object: Value,
        expected_rv: Option<u64>,
    ) -> Result<Written, StoreError> {
        self.single(WriteOp::Update {
            key,
            object,
            expected_rv,
        })
        .await
    }

    /// Deletes an object, returning its final state at the deletion's version.
    pub async fn delete(
        &self,
        key: ObjectKey,
        expected_rv: Option<u64>,
    ) -> Result<Written, StoreError> {
        self.single(WriteOp::Delete { key, expected_rv }).await
    }

    /// Applies several writes atomically: all of them or, on the first error, none. Each
    /// operation sees the effect of the ones before it. Results are in the order of `ops`.
    pub async fn transaction(&self, ops: Vec<WriteOp>) -> Result<Vec<Written>, StoreError> {
        self.ensure_open()?;
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Write { ops, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn single(&self, op: WriteOp) -> Result<Written, StoreError> {
        self.transaction(vec![op])
            .await?
            .pop()
            .ok_or(StoreError::Closed)
    }

    fn ensure_open(&self) -> Result<(), StoreError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    fn subscribe(&self) -> Result<broadcast::Receiver<Arc<Change>>, StoreError> {
        self.ensure_open()?;
        let events = self.inner.events.lock().map_err(|_| StoreError::Closed)?;
        events
            .as_ref()
            .map(broadcast::Sender::subscribe)
            .ok_or(StoreError::Closed)
    }

    fn readers(&self) -> &SqlitePool {
        &self.inner.readers
    }
}
