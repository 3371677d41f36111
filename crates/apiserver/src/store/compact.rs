//! Compaction: bounding the log by the retention policy.
//!
//! The horizon only moves forward. Advancing it to `H` removes the versions superseded at or
//! before `H` and the tombstones at or before `H`: nothing a snapshot at `H` or later, or a
//! watch from `H` or later, can still need. Live objects keep their current version whatever
//! its age. Work is done in steps of at most [`STEP`] versions, each its own transaction
//! queued behind the writes waiting at that moment, so compaction never stalls writers for
//! long.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use tokio::sync::oneshot;

use super::key::{from_sql, to_sql};
use super::writer::{Command, now_millis};
use super::{Store, StoreError};

/// Most versions the horizon moves per transaction.
const STEP: u64 = 5_000;

/// What a compaction run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionReport {
    /// The horizon afterwards: watches and lists need a version at least this.
    pub horizon: u64,
    /// Log rows removed.
    pub removed: u64,
}

impl Store {
    /// Compacts according to [`StoreConfig::retention`](super::StoreConfig::retention)
    /// (the background compactor calls this every `compaction_interval`).
    pub async fn compact(&self) -> Result<CompactionReport, StoreError> {
        match self.retention_target().await? {
            Some(target) => self.compact_to(target).await,
            None => Ok(CompactionReport {
                horizon: self.oldest_resource_version(),
                removed: 0,
            }),
        }
    }

    /// Moves the horizon to `rv` (at most the newest version), whatever the retention says.
    pub async fn compact_to(&self, rv: u64) -> Result<CompactionReport, StoreError> {
        self.ensure_open()?;
        let mut removed = 0;
        loop {
            let before = self.oldest_resource_version();
            let (reply, answer) = oneshot::channel();
            let target = rv.min(before.saturating_add(STEP));
            self.inner
                .commands
                .send(Command::Compact { target, reply })
                .await
                .map_err(|_| StoreError::Closed)?;
            let step = answer.await.map_err(|_| StoreError::Closed)??;
            removed += step.removed;
            if step.horizon >= rv || step.horizon == before {
                return Ok(CompactionReport {
                    horizon: step.horizon,
                    removed,
                });
            }
        }
    }

    /// The horizon the retention policy allows, `None` when it keeps everything.
    async fn retention_target(&self) -> Result<Option<u64>, StoreError> {
        let retention = self.config().retention;
        let last = self.current_resource_version();
        let by_versions = retention.versions.map(|n| last.saturating_sub(n));
        let by_time = match retention.duration {
            None => None,
            Some(keep) => {
                let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
                let cutoff = now_millis().saturating_sub(keep_ms);
                // Timestamps grow with versions, so the first row too young to drop bounds
                // the horizon; rows below the current horizon are not looked at.
                let young =
                    sqlx::query("SELECT rv FROM log WHERE rv > ?1 AND ts > ?2 ORDER BY rv LIMIT 1")
                        .bind(to_sql(self.oldest_resource_version()))
                        .bind(cutoff)
                        .fetch_optional(self.readers())
                        .await?;
                Some(match young {
                    Some(row) => from_sql(row.try_get(0)?).saturating_sub(1),
                    None => last,
                })
            }
        };
        Ok(match (by_versions, by_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

/// Runs [`Store::compact`] every `compaction_interval` while the store is open.
pub(super) fn spawn_compactor(store: &Store) {
    let config = store.config();
    if config.retention.versions.is_none() && config.retention.duration.is_none() {
        return;
    }
    let period = config.compaction_interval.max(Duration::from_millis(100));
    let weak = Arc::downgrade(&store.inner);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(inner) = weak.upgrade() else {
                break;
            };
            let store = Store { inner };
            match store.compact().await {
                Ok(report) if report.removed > 0 => {
                    tracing::debug!(
                        horizon = report.horizon,
                        removed = report.removed,
                        "compacted the store"
                    );
                }
                Ok(_) => {}
                Err(StoreError::Closed) => break,
                Err(e) => tracing::warn!(error = %e, "compacting the store failed; will retry"),
            }
        }
    });
}
