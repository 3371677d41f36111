//! Errors of the store, with the HTTP status each one maps to.

use std::sync::Arc;

use super::ObjectKey;

/// Why a store operation failed. [`StoreError::status_code`] gives the Kubernetes HTTP status
/// and [`StoreError::reason`] the `Status.reason` the HTTP layer should answer with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (404). Create it, or re-read the list to see what exists.
    #[error("{key} not found")]
    NotFound {
        /// The missing object.
        key: ObjectKey,
    },
    /// An object with this name already exists (409). Pick another name or update it.
    #[error("{key} already exists")]
    AlreadyExists {
        /// The existing object.
        key: ObjectKey,
    },
    /// The object changed since the caller read it (409): re-read it and apply the change
    /// again.
    #[error(
        "operation cannot be fulfilled on {key}: the object has been modified; please apply \
         your changes to the latest version (expected resourceVersion {expected}, found {actual})"
    )]
    Conflict {
        /// The object.
        key: ObjectKey,
        /// The version the caller expected.
        expected: u64,
        /// The version stored.
        actual: u64,
    },
    /// The requested version has been compacted away (410): list again and watch from the
    /// list's version.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version asked for.
        requested: u64,
        /// The oldest version still available.
        oldest: u64,
    },
    /// The snapshot of a continue token has been compacted away (410): restart the list
    /// without the token.
    #[error(
        "the provided continue parameter is too old to display a consistent list result \
         (snapshot {requested}, oldest kept {oldest}); start a new list without it"
    )]
    ContinueExpired {
        /// Snapshot version in the token.
        requested: u64,
        /// The oldest version still available.
        oldest: u64,
    },
    /// A watcher fell behind the event buffer and the store is configured to drop such
    /// watchers (410): list again and watch from the list's version.
    #[error("watch fell behind at resource version {position}; list again and re-watch")]
    WatchLagged {
        /// The last version the watcher had processed.
        position: u64,
    },
    /// A version newer than anything this store has issued (504, like Kubernetes' "Too large
    /// resource version"): the client's state comes from another store; list again.
    #[error("too large resource version: {requested}, current resource version is {current}")]
    TooLargeResourceVersion {
        /// The version asked for.
        requested: u64,
        /// The newest version of the store.
        current: u64,
    },
    /// A `resourceVersion` that is not a decimal number (400).
    #[error("invalid resourceVersion {value:?}: expected a decimal number")]
    InvalidResourceVersion {
        /// The rejected text (truncated).
        value: String,
    },
    /// A continue token that this store did not issue or that does not fit the request (400).
    #[error("invalid continue token: {reason}")]
    InvalidContinue {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The object cannot be stored under this key (400 from the caller's point of view; it
    /// usually means the HTTP layer built a wrong key).
    #[error("invalid object for {key}: {reason}")]
    InvalidObject {
        /// Where it was to be stored.
        key: ObjectKey,
        /// What is wrong.
        reason: String,
    },
    /// Another process has the store open; only one may write it. Stop the other process
    /// or use another file.
    #[error("the store {path} is in use by another process (lock file {path}.lock)")]
    Locked {
        /// The database file.
        path: String,
    },
    /// The lock file next to the database could not be created; check the directory's
    /// permissions.
    #[error("cannot create the lock file {path}.lock: {message}")]
    LockFile {
        /// The database file.
        path: String,
        /// The operating system's error.
        message: String,
    },
    /// The database file (or its write-ahead log) could not be created owner-only or have its
    /// mode restricted; check the directory's permissions and owner.
    #[error("cannot create the database file {path} readable by its owner only: {message}")]
    File {
        /// The file.
        path: String,
        /// The operating system's error.
        message: String,
    },
    /// The database file was written by a newer version of Ferrule; upgrade Ferrule.
    #[error("unsupported store schema version {found}; this build understands version 1")]
    UnsupportedSchema {
        /// Version found in the file.
        found: i64,
    },
    /// A stored object is not valid JSON: the file was damaged outside Ferrule. Restore it
    /// from a backup.
    #[error("stored object at resource version {rv} is not valid JSON: {message}")]
    Corrupt {
        /// Its version.
        rv: u64,
        /// The JSON parser's complaint.
        message: String,
    },
    /// The store has been closed; open it again.
    #[error("the store is closed")]
    Closed,
    /// SQLite failed (500): often a full or read-only disk. Check the disk and retry.
    #[error("database error: {0}")]
    Database(#[source] Arc<sqlx::Error>),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(Arc::new(e))
    }
}

impl StoreError {
    /// The HTTP status code Kubernetes uses for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            StoreError::NotFound { .. } => 404,
            StoreError::AlreadyExists { .. } | StoreError::Conflict { .. } => 409,
            StoreError::Expired { .. }
            | StoreError::ContinueExpired { .. }
            | StoreError::WatchLagged { .. } => 410,
            StoreError::TooLargeResourceVersion { .. } => 504,
            StoreError::InvalidResourceVersion { .. }
            | StoreError::InvalidContinue { .. }
            | StoreError::InvalidObject { .. } => 400,
            StoreError::UnsupportedSchema { .. }
            | StoreError::Locked { .. }
            | StoreError::LockFile { .. }
            | StoreError::File { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Closed
            | StoreError::Database(_) => 500,
        }
    }

    /// The Kubernetes `Status.reason` for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "NotFound",
            StoreError::AlreadyExists { .. } => "AlreadyExists",
            StoreError::Conflict { .. } => "Conflict",
            StoreError::Expired { .. }
            | StoreError::ContinueExpired { .. }
            | StoreError::WatchLagged { .. } => "Expired",
            StoreError::TooLargeResourceVersion { .. } => "Timeout",
            StoreError::InvalidResourceVersion { .. }
            | StoreError::InvalidContinue { .. }
            | StoreError::InvalidObject { .. } => "BadRequest",
            StoreError::UnsupportedSchema { .. }
            | StoreError::Locked { .. }
            | StoreError::LockFile { .. }
            | StoreError::File { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Closed
            | StoreError::Database(_) => "InternalError",
        }
    }

    /// True for the 410 family: the client must list again.
    pub fn is_expired(&self) -> bool {
        self.status_code() == 410
    }
}
