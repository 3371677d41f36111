//! How a [`Store`](super::Store) is opened: file, durability, history retention, watch buffers.

use std::path::PathBuf;
use std::time::Duration;

/// When a write is acknowledged relative to the disk.
///
/// Both levels survive the death of the process (`kill -9`): SQLite has written the WAL frames
/// of a transaction to the operating system before `COMMIT` returns, and the kernel keeps them
/// when the process dies. They differ on a power cut or kernel crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsync'd before a commit is acknowledged, so an
    /// acknowledged write also survives power loss and kernel crashes. Concurrent writers
    /// share one fsync per group commit, but the fsync still bounds the write rate (on the
    /// reference machine about 1 250 creates/s through the API server against about 3 900 with
    /// `normal`, see docs/performance.md). For machines without a UPS where losing the last
    /// acknowledged writes after a power cut is not acceptable.
    Full,
    /// `synchronous=NORMAL` (the default): no fsync per commit; the WAL is synced at
    /// checkpoints. Acknowledged writes survive the process being killed; a power cut or
    /// kernel crash may lose the last transactions before the crash (the database stays
    /// consistent, at an older version). In one process with the controllers, a power cut
    /// also stops the controllers; they then act again on what the store kept (see
    /// docs/apiserver.md for what that means for devices).
    #[default]
    Normal,
}

/// How much history the log keeps beyond the current state.
///
/// A version is kept while either limit still wants it: the compaction horizon is the lower of
/// the two. With both unset nothing is ever compacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep at least the last `versions` resource versions.
    pub versions: Option<u64>,
    /// Keep at least the versions written during the last `duration`.
    pub duration: Option<Duration>,
}

impl Default for Retention {
    /// Five minutes, like the etcd compaction interval of `kube-apiserver`, and at least the
    /// last 10 000 versions so a quiet system keeps resumable watches for longer.
    fn default() -> Self {
        Self {
            versions: Some(10_000),
            duration: Some(Duration::from_secs(300)),
        }
    }
}

impl Retention {
    /// Keep everything: no compaction.
    pub fn forever() -> Self {
        Self {
            versions: None,
            duration: None,
        }
    }
}

/// What happens to a watcher whose consumer falls behind the in-memory event buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LagPolicy {
    /// Re-read the missed events from the log and carry on; the watcher only gets
    /// [`StoreError::Expired`](super::StoreError::Expired) once its position has been
    /// compacted away. This is what a client would do itself after a dropped watch
    /// (re-watch from its last version), without the round trip.
    #[default]
    CatchUp,
    /// End the watch with [`StoreError::WatchLagged`](super::StoreError::WatchLagged)
    /// (a 410 for the client, which then re-lists).
    Expire,
}

/// Settings of one store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The SQLite database file; created if missing (its directory must exist).
    pub path: PathBuf,
    /// When writes are acknowledged; see [`Durability`].
    pub durability: Durability,
    /// History kept for watches and paginated lists.
    pub retention: Retention,
    /// How often the background compactor runs (when retention is set).
    pub compaction_interval: Duration,
    /// Capacity of the in-memory event broadcast shared by all watchers, in events. An event
    /// is freed once every watcher has read it, so memory for unread events is bounded by
    /// this whatever the number or speed of watchers; a watcher that falls further behind
    /// is handled by [`LagPolicy`].
    pub event_buffer: usize,
    /// What a lagging watcher gets; see [`LagPolicy`].
    pub lag_policy: LagPolicy,
    /// Size of the read connection pool (lists, gets, watch replay).
    pub read_connections: u32,
    /// Most write requests committed together in one transaction (group commit).
    pub max_batch: usize,
    /// Log rows fetched per query when a watch replays history.
    pub replay_page: usize,
}

impl StoreConfig {
    /// Defaults for a store in `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::default(),
            retention: Retention::default(),
            compaction_interval: Duration::from_secs(60),
            event_buffer: 1024,
            lag_policy: LagPolicy::default(),
            read_connections: 4,
            max_batch: 256,
            replay_page: 512,
        }
    }
}
