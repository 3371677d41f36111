//! The single writer: one task owning the only writing SQLite connection.
//!
//! Requests queue on a bounded channel. The writer takes every request waiting (up to
//! `max_batch`), runs each inside its own savepoint of one `BEGIN IMMEDIATE` transaction, and
//! commits once (group commit: one WAL sync for the whole batch). A request that fails is rolled
//! back to its savepoint alone. Only after `COMMIT` returns does the writer publish the batch's
//! changes on the broadcast channel, in resource-version order, and answer the callers; so
//! every acknowledged write is on disk, and every event a watcher sees is committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Row};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::key::{from_sql, to_sql};
use super::labels;
use super::ops::{Change, ChangeKind, check_object, parse_stored, set_resource_version};
use super::schema::{KIND_ADDED, KIND_DELETED, KIND_MODIFIED};
use super::{ObjectKey, Outcome, StoreError, WriteOp, Written};

/// A request to the writer task.
#[derive(Debug)]
pub(super) enum Command {
    /// Apply operations atomically.
    Write {
        ops: Vec<WriteOp>,
        reply: oneshot::Sender<Result<Vec<Written>, StoreError>>,
    },
    /// Advance the compaction horizon to `target` (capped at the newest version).
    Compact {
        target: u64,
        reply: oneshot::Sender<Result<CompactStep, StoreError>>,
    },
    /// Stop, and answer once the connection is closed.
    Shutdown { reply: oneshot::Sender<()> },
}

/// What one compaction step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CompactStep {
    /// The horizon after the step.
    pub horizon: u64,
    /// Log rows removed.
    pub removed: u64,
}

/// Counters the writer publishes for lock-free reads.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Newest committed (and published) resource version.
    pub last_rv: AtomicU64,
    /// Current compaction horizon.
    pub horizon: AtomicU64,
}

type Reply = oneshot::Sender<Result<Vec<Written>, StoreError>>;

/// The result of one request inside a batch, before the commit.
struct Applied {
    written: Vec<Written>,
    changes: Vec<Arc<Change>>,
}

/// The writer task's state.
pub(super) struct Writer {
    pub conn: SqliteConnection,
    pub last_rv: u64,
    pub last_ts: i64,
    pub shared: Arc<Shared>,
    pub events: broadcast::Sender<Arc<Change>>,
    pub max_batch: usize,
}

impl Writer {
    /// Serves commands until `Shutdown` or until every sender is gone.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut deferred = None;
        let mut shutdown = None;
        loop {
            let command = match deferred.take() {
                Some(c) => c,
                None => match commands.recv().await {
                    Some(c) => c,
                    None => break,
                },
            };
            match command {
                Command::Write { ops, reply } => {
                    let mut batch = vec![(ops, reply)];
                    while batch.len() < self.max_batch.max(1) {
                        match commands.try_recv() {
                            Ok(Command::Write { ops, reply }) => batch.push((ops, reply)),
                            Ok(other) => {
                                deferred = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit_batch(batch).await;
                }
                Command::Compact { target, reply } => {
                    let _ = reply.send(self.compact(target).await);
                }
                Command::Shutdown { reply } => {
                    shutdown = Some(reply);
                    break;
                }
            }
        }
        if let Err(e) = self.conn.close().await {
            tracing::warn!(error = %e, "closing the store's writer connection failed");
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    async fn commit_batch(&mut self, batch: Vec<(Vec<WriteOp>, Reply)>) {
        let ts = now_millis().max(self.last_ts);
        let (requests, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let mut results = Vec::with_capacity(requests.len());
        match apply_batch(&mut self.conn, self.last_rv, ts, requests, &mut results).await {
            Ok(new_rv) => {
                self.last_rv = new_rv;
                self.last_ts = ts;
                self.shared.last_rv.store(new_rv, Ordering::SeqCst);
                for (reply, result) in replies.into_iter().zip(results) {
                    let answer = result.map(|applied| {
                        for change in applied.changes {
                            // An error only means that nobody is watching right now.
                            let _ = self.events.send(change);
                        }
                        applied.written
                    });
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "committing a batch of writes failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }

    async fn compact(&mut self, target: u64) -> Result<CompactStep, StoreError> {
        let old = self.shared.horizon.load(Ordering::SeqCst);
        let target = target.min(self.last_rv);
        if target <= old {
            return Ok(CompactStep {
                horizon: old,
                removed: 0,
            });
        }
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        // Versions superseded at or before the new horizon are visible in no snapshot that
        // can still be read, and no watch can start before them. Successors at or below the
        // old horizon were handled (with their predecessors) by earlier steps.
        let superseded = sqlx::query(
            "DELETE FROM log WHERE rv IN
                (SELECT prev_rv FROM log WHERE rv > ?1 AND rv <= ?2 AND prev_rv IS NOT NULL)",
        )
        .bind(to_sql(old))
        .bind(to_sql(target))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let tombstones = sqlx::query("DELETE FROM log WHERE kind = ?3 AND rv > ?1 AND rv <= ?2")
            .bind(to_sql(old))
            .bind(to_sql(target))
            .bind(KIND_DELETED)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE meta SET horizon = ?1 WHERE id = 1")
            .bind(to_sql(target))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.shared.horizon.store(target, Ordering::SeqCst);
        Ok(CompactStep {
            horizon: target,
            removed: superseded + tombstones,
        })
    }
}

/// Runs a batch in one transaction; returns the newest version after the commit. `results`
/// gets one entry per request; a request's error leaves the others untouched.
async fn apply_batch(
    conn: &mut SqliteConnection,
    last_rv: u64,
    ts: i64,
    requests: Vec<Vec<WriteOp>>,
    results: &mut Vec<Result<Applied, StoreError>>,
) -> Result<u64, StoreError> {
    let mut rv = last_rv;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // A lone request needs no savepoint: the transaction is its own.
    let alone = requests.len() == 1;
    for ops in requests {
        if alone {
            match apply_request(&mut tx, ops, &mut rv, ts).await {
                Ok(applied) => results.push(Ok(applied)),
                Err(e) => {
                    tx.rollback().await?;
                    results.push(Err(e));
                    return Ok(last_rv);
                }
            }
            continue;
        }
        let before = rv;
        let mut savepoint = Connection::begin(&mut *tx).await?;
        match apply_request(&mut savepoint, ops, &mut rv, ts).await {
            Ok(applied) => {
                savepoint.commit().await?;
                results.push(Ok(applied));
            }
            Err(e) => {
                savepoint.rollback().await?;
                rv = before;
                results.push(Err(e));
            }
        }
    }
    if rv != last_rv {
        sqlx::query("UPDATE meta SET last_rv = ?1 WHERE id = 1")
            .bind(to_sql(rv))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(rv)
}

async fn apply_request(
    conn: &mut SqliteConnection,
    ops: Vec<WriteOp>,
    rv: &mut u64,
    ts: i64,
) -> Result<Applied, StoreError> {
    let mut applied = Applied {
        written: Vec::with_capacity(ops.len()),
        changes: Vec::with_capacity(ops.len()),
    };
    for op in ops {
        let (written, change) = match op {
            WriteOp::Create { key, object } => create(conn, key, object, rv, ts).await?,
            WriteOp::Update {
                key,
                object,
                expected_rv,
            } => update(conn, key, object, expected_rv, rv, ts).await?,
            WriteOp::Delete { key, expected_rv } => delete(conn, key, expected_rv, rv, ts).await?,
        };
        applied.written.push(written);
        applied.changes.extend(change);
    }
    Ok(applied)
}

type OpResult = Result<(Written, Option<Arc<Change>>), StoreError>;

async fn create(
    conn: &mut SqliteConnection,
    key: ObjectKey,
    mut object: Value,
    rv: &mut u64,
    ts: i64,
) -> OpResult {
    check_object(&key, &object)?;
    // The primary key of `current` detects a taken name without a separate read.
    let inserted =
        sqlx::query("INSERT INTO current (resource, namespace, name, rv) VALUES (?1, ?2, ?3, ?4)")
            .bind(&key.resource)
            .bind(&key.namespace)
            .bind(&key.name)
            .bind(to_sql(*rv + 1))
            .execute(&mut *conn)
            .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.kind() == ErrorKind::UniqueViolation => {
            return Err(StoreError::AlreadyExists { key });
        }
        Err(e) => return Err(e.into()),
    }
    *rv += 1;
    set_resource_version(&mut object, *rv);
    insert_log(conn, *rv, &key, KIND_ADDED, None, ts, &object).await?;
    labels::update(conn, &key, None, Some(&object)).await?;
    Ok(finish(key, *rv, object, Outcome::Created, None))
}

async fn update(
    conn: &mut SqliteConnection,
    key: ObjectKey,
    mut object: Value,
    expected_rv: Option<u64>,
    rv: &mut u64,
    ts: i64,
) -> OpResult {
    check_object(&key, &object)?;
    let Some((current_rv, prev)) = load_current(conn, &key).await? else {
        return Err(StoreError::NotFound { key });
    };
    check_expected(&key, expected_rv, current_rv)?;
    set_resource_version(&mut object, current_rv);
    if object == prev {
        let written = Written {
            key,
            resource_version: current_rv,
            object: Arc::new(prev),
            outcome: Outcome::Unchanged,
        };
        return Ok((written, None));
    }
    *rv += 1;
    set_resource_version(&mut object, *rv);
    insert_log(
        conn,
        *rv,
        &key,
        KIND_MODIFIED,
        Some(current_rv),
        ts,
        &object,
    )
    .await?;
    set_current(conn, &key, *rv).await?;
    labels::update(conn, &key, Some(&prev), Some(&object)).await?;
    Ok(finish(key, *rv, object, Outcome::Updated, Some(prev)))
}

async fn delete(
    conn: &mut SqliteConnection,
    key: ObjectKey,
    expected_rv: Option<u64>,
    rv: &mut u64,
    ts: i64,
) -> OpResult {
    let Some((current_rv, mut object)) = load_current(conn, &key).await? else {
        return Err(StoreError::NotFound { key });
    };
    check_expected(&key, expected_rv, current_rv)?;
    *rv += 1;
    set_resource_version(&mut object, *rv);
    insert_log(conn, *rv, &key, KIND_DELETED, Some(current_rv), ts, &object).await?;
    sqlx::query("DELETE FROM current WHERE resource = ?1 AND namespace = ?2 AND name = ?3")
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .execute(&mut *conn)
        .await?;
    labels::update(conn, &key, Some(&object), None).await?;
    Ok(finish(key, *rv, object, Outcome::Deleted, None))
}

fn check_expected(key: &ObjectKey, expected: Option<u64>, actual: u64) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != actual => Err(StoreError::Conflict {
            key: key.clone(),
            expected,
            actual,
        }),
        _ => Ok(()),
    }
}

fn finish(
    key: ObjectKey,
    rv: u64,
    object: Value,
    outcome: Outcome,
    prev: Option<Value>,
) -> (Written, Option<Arc<Change>>) {
    let object = Arc::new(object);
    let kind = match outcome {
        Outcome::Created => ChangeKind::Added,
        Outcome::Deleted => ChangeKind::Deleted,
        Outcome::Updated | Outcome::Unchanged => ChangeKind::Modified,
    };
    let change = Change {
        rv,
        resource: key.resource.clone(),
        namespace: key.namespace.clone(),
        kind,
        object: Arc::clone(&object),
        prev: prev.map(Arc::new),
    };
    let written = Written {
        key,
        resource_version: rv,
        object,
        outcome,
    };
    (written, Some(Arc::new(change)))
}

async fn load_current(
    conn: &mut SqliteConnection,
    key: &ObjectKey,
) -> Result<Option<(u64, Value)>, StoreError> {
    let row = sqlx::query(
        "SELECT c.rv, l.object FROM current c JOIN log l ON l.rv = c.rv
         WHERE c.resource = ?1 AND c.namespace = ?2 AND c.name = ?3",
    )
    .bind(&key.resource)
    .bind(&key.namespace)
    .bind(&key.name)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let rv = from_sql(row.try_get(0)?);
    let text: &str = row.try_get(1)?;
    Ok(Some((rv, parse_stored(rv, text)?)))
}

async fn set_current(
    conn: &mut SqliteConnection,
    key: &ObjectKey,
    rv: u64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE current SET rv = ?4 WHERE resource = ?1 AND namespace = ?2 AND name = ?3")
        .bind(&key.resource)
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(to_sql(rv))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_log(
    conn: &mut SqliteConnection,
    rv: u64,
    key: &ObjectKey,
    kind: i64,
    prev_rv: Option<u64>,
    ts: i64,
    object: &Value,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(object).map_err(|e| StoreError::InvalidObject {
        key: key.clone(),
        reason: e.to_string(),
    })?;
    sqlx::query(
        "INSERT INTO log (rv, resource, namespace, name, kind, prev_rv, ts, object)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(to_sql(rv))
    .bind(&key.resource)
    .bind(&key.namespace)
    .bind(&key.name)
    .bind(kind)
    .bind(prev_rv.map(to_sql))
    .bind(ts)
    .bind(text)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Wall-clock milliseconds, used only to decide what the time-based retention keeps.
pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
