//! The SQLite schema and connection settings (see the module documentation of
//! [`store`](super) for what each table means).

use std::fs::{File, TryLockError};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};

use super::key::from_sql;
use super::labels;
use super::{Durability, StoreConfig, StoreError};

/// Schema version written to `meta.schema_version`. Version 2 added the label index
/// (`labels.rs`); a version 1 database gets it filled when it is opened.
const SCHEMA_VERSION: i64 = 2;

/// Statements creating the schema; each is idempotent.
const DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS log (
        rv        INTEGER PRIMARY KEY,
        resource  TEXT    NOT NULL,
        namespace TEXT    NOT NULL,
        name      TEXT    NOT NULL,
        kind      INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
        prev_rv   INTEGER,
        ts        INTEGER NOT NULL,
        object    TEXT    NOT NULL
    ) STRICT",
    // A version has at most one successor: the compare-and-swap invariant, enforced by the
    // database itself even if the writer's own check were wrong.
    "CREATE UNIQUE INDEX IF NOT EXISTS log_prev ON log (prev_rv) WHERE prev_rv IS NOT NULL",
    // Snapshot reads in key order (continue pages, lists at an exact version).
    "CREATE INDEX IF NOT EXISTS log_key ON log (resource, namespace, name, rv)",
    // Watch replay: the events of one resource in version order.
    "CREATE INDEX IF NOT EXISTS log_resource ON log (resource, rv)",
    "CREATE TABLE IF NOT EXISTS current (
        resource  TEXT    NOT NULL,
        namespace TEXT    NOT NULL,
        name      TEXT    NOT NULL,
        rv        INTEGER NOT NULL,
        PRIMARY KEY (resource, namespace, name)
    ) STRICT, WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        schema_version INTEGER NOT NULL,
        last_rv        INTEGER NOT NULL,
        horizon        INTEGER NOT NULL
    ) STRICT",
];

/// Log row kinds, i.e. watch event types.
pub(super) const KIND_ADDED: i64 = 0;
/// An update of an existing object.
pub(super) const KIND_MODIFIED: i64 = 1;
/// A tombstone: the object's final state, at the version of its deletion.
pub(super) const KIND_DELETED: i64 = 2;

/// The store-wide counters, as of one read transaction.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    /// Newest committed resource version.
    pub last_rv: u64,
    /// Compaction horizon: versions `>= horizon` can be watched from and listed at.
    pub horizon: u64,
}

/// Page cache of the writer connection, in KiB: it keeps the index and log pages that every
/// write touches.
const WRITER_CACHE_KIB: u32 = 8 * 1024;
/// Page cache of each read connection, in KiB. Reads of pages outside it come from the
/// operating system's file cache (which is not the process's memory); five connections of
/// 16 MiB each were a tenth of the resident memory at 10,000 subscriptions.
const READER_CACHE_KIB: u32 = 2 * 1024;

fn base_options(config: &StoreConfig, cache_kib: u32) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(&config.path)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(false)
        .pragma("cache_size", format!("-{cache_kib}"))
        .pragma("temp_store", "memory")
}

/// Creates the database file 0600 before SQLite opens it, and restricts an existing one (and
/// its write-ahead log and shared-memory index) to the owner. SQLite creates a new database
/// with mode 0644, and gives the `-wal` and `-shm` files it creates the mode of the database
/// file: every Secret passes through the log, so none of them may be readable by others.
fn create_private_files(config: &StoreConfig) -> Result<(), StoreError> {
    let mut paths = vec![config.path.clone()];
    for suffix in ["-wal", "-shm"] {
        let mut path = config.path.clone().into_os_string();
        path.push(suffix);
        let path = std::path::PathBuf::from(path);
        if path.exists() {
            paths.push(path);
        }
    }
    for path in paths {
        ferrule_datadir::create_private_file(&path).map_err(|e| StoreError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Opens the single writer connection, creating the file (owner-only) and schema when needed.
pub(super) async fn open_writer(
    config: &StoreConfig,
) -> Result<(SqliteConnection, Meta), StoreError> {
    create_private_files(config)?;
    let synchronous = match config.durability {
        Durability::Full => SqliteSynchronous::Full,
        Durability::Normal => SqliteSynchronous::Normal,
    };
    let mut conn = base_options(config, WRITER_CACHE_KIB)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .connect()
        .await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    for statement in DDL.iter().chain(labels::DDL) {
        sqlx::query(*statement).execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO meta (id, schema_version, last_rv, horizon) VALUES (1, ?1, 0, 0)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(SCHEMA_VERSION)
    .execute(&mut *tx)
    .await?;
    let found: i64 = sqlx::query("SELECT schema_version FROM meta WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    if found == 1 {
        let objects = labels::backfill(&mut tx).await?;
        sqlx::query("UPDATE meta SET schema_version = ?1 WHERE id = 1")
            .bind(SCHEMA_VERSION)
            .execute(&mut *tx)
            .await?;
        tracing::info!(objects, "store upgraded to schema 2 (label index)");
    } else if found != SCHEMA_VERSION {
        return Err(StoreError::UnsupportedSchema { found });
    }
    let meta = read_meta(&mut tx).await?;
    tx.commit().await?;
    Ok((conn, meta))
}

/// Opens the pool of read connections. They are `query_only`: only the writer writes.
pub(super) async fn open_readers(config: &StoreConfig) -> Result<SqlitePool, StoreError> {
    let options = base_options(config, READER_CACHE_KIB).pragma("query_only", "ON");
    let pool = SqlitePoolOptions::new()
        .max_connections(config.read_connections.max(1))
        .min_connections(1)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Reads the counters; inside a transaction they belong to that transaction's snapshot.
pub(super) async fn read_meta(conn: &mut SqliteConnection) -> Result<Meta, StoreError> {
    let row = sqlx::query("SELECT last_rv, horizon FROM meta WHERE id = 1")
        .fetch_one(conn)
        .await?;
    Ok(Meta {
        last_rv: from_sql(row.try_get(0)?),
        horizon: from_sql(row.try_get(1)?),
    })
}

/// Takes the exclusive advisory lock on `<path>.lock`, held while the returned file stays
/// open. The writer keeps the newest version in memory, so a second writing process would
/// corrupt the version sequence; the lock turns that into a clear error. A separate file is
/// used because closing any descriptor of the database file itself would drop SQLite's own
/// POSIX locks.
pub(super) fn lock(config: &StoreConfig) -> Result<File, StoreError> {
    let mut lock_path = config.path.clone().into_os_string();
    lock_path.push(".lock");
    let path = config.path.display().to_string();
    // Owner-only: anyone who can open the lock file can take the lock and keep the server
    // from starting.
    let file =
        ferrule_datadir::create_private_file(std::path::Path::new(&lock_path)).map_err(|e| {
            StoreError::LockFile {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
        Err(TryLockError::Error(e)) => Err(StoreError::LockFile {
            path,
            message: e.to_string(),
        }),
    }
}
