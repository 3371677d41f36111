//! Network transactions: a set of per-device edits applied all or nothing (DESIGN.md §5).
//!
//! A [`Transaction`] holds one [`DeviceEdit`] per device. Each device takes its change in one
//! of two ways, chosen by its profile ([`CommitMode`]):
//!
//! - **candidate + confirmed commit**: lock candidate (and running where the device needs
//!   it), discard leftovers, edit-config candidate, validate where the profile says, then a
//!   confirmed commit with the transaction id as persist id, then the confirming
//!   `<commit><persist-id>`;
//! - **running only**: lock running, edit-config running with `rollback-on-error`; undone
//!   by the edit's compensation (the reverse diff given with it) if the transaction fails
//!   later.
//!
//! Every phase runs on all devices concurrently; a phase starts when the previous one ended
//! on every device. Once every device holds its change (confirmed commits pending, running
//! edits applied) the decision is *commit* and the confirming commits go out. Any failure
//! before that decision aborts: cancel-commit (by persist id) where a confirmed commit may have
//! happened, the compensating edit where a running edit may have happened, discard-changes and
//! unlock everywhere ([`apply`]).
//!
//! The [`TransactionRecord`] says what was sent to each device and how each step ended; it is
//! written to a [`Journal`] before every phase that can change running configuration, so a
//! controller that dies mid-transaction can finish it from the record with [`recover`], from
//! new sessions: confirm by persist id when the decision was commit, otherwise cancel by
//! persist id and compensate running edits. Devices with a pending confirmed commit also roll
//! back by themselves when the confirm timeout expires.
//!
//! [`apply_pooled`] and [`recover_pooled`] run on a [`SessionManager`]'s sessions: the leases
//! are taken in device-name order and held for the whole transaction, so concurrent
//! transactions touching a device queue behind each other (one writer per device) and cannot
//! deadlock.

mod apply;
mod device;
mod error;
mod journal;
mod pool;
mod record;
mod recover;

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use apply::apply;
pub use error::{RecoverError, TransactionError};
pub use journal::{Journal, JournalError, NoJournal};
pub use pool::{apply_pooled, recover_pooled};
pub use record::{Decision, DeviceRecord, Outcome, Phase, Step, TransactionRecord, describe};
pub use recover::{needs_recovery, recover};

#[cfg(doc)]
use crate::client::SessionManager;

/// How a device takes configuration (from its profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "datastore", rename_all = "camelCase")]
pub enum CommitMode {
    /// Edit candidate, then confirmed commit and confirming commit.
    #[serde(rename_all = "camelCase")]
    Candidate {
        /// `<validate>` candidate before the commit. Off for servers where validate right
        /// before commit is harmful (netconfd: the commit then loses the edits).
        validate: bool,
        /// Also lock running, for devices where other writers change running directly.
        lock_running: bool,
    },
    /// Edit running directly (`:writable-running`, `:rollback-on-error`); a failure elsewhere
    /// is undone with the compensating edit.
    Running,
}

/// The change for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEdit {
    /// The device key (e.g. `namespace/name`), as used by the session manager.
    pub device: String,
    /// How the device takes configuration.
    pub mode: CommitMode,
    /// The content of `<config>`: the forward edit, self-contained XML.
    pub edit: String,
    /// The content of `<config>` that undoes `edit` on running (the reverse diff). Required
    /// for [`CommitMode::Running`]; on candidate devices it is only recorded. It must not
    /// depend on removing what may already be gone (netconfd answers `data-missing`). An
    /// empty string says there is nothing to undo: no compensating edit is sent.
    pub compensation: Option<String>,
}

/// A transaction: its id (also the persist id of the confirmed commits), the confirm timeout,
/// and one edit per device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Unique id; recorded so a restarted controller can find the pending commits.
    pub id: String,
    /// How long devices wait for the confirming commit before rolling back by themselves.
    pub confirm_timeout: Duration,
    /// The edits, at most one per device.
    pub edits: Vec<DeviceEdit>,
}

// === impl Transaction ===

impl Transaction {
    /// A transaction with a fresh id (`ferrule-<uuid>`).
    pub fn new(edits: Vec<DeviceEdit>, confirm_timeout: Duration) -> Self {
        Self {
            id: format!("ferrule-{}", uuid::Uuid::new_v4()),
            confirm_timeout,
            edits,
        }
    }

    /// Checks what can be checked without a device: an id, one edit per device, and a
    /// compensation for every running-only device.
    pub fn check(&self) -> Result<(), TransactionError> {
        let invalid = |reason: String| TransactionError::Invalid {
            id: self.id.clone(),
            reason,
        };
        if self.id.trim().is_empty() {
            return Err(invalid("the transaction id is empty".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for edit in &self.edits {
            if !seen.insert(edit.device.as_str()) {
                return Err(invalid(format!("device {} has two edits", edit.device)));
            }
            if edit.mode == CommitMode::Running && edit.compensation.is_none() {
                return Err(invalid(format!(
                    "device {} edits running but has no compensating edit",
                    edit.device
                )));
            }
        }
        Ok(())
    }
}
