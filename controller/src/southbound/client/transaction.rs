//! A network transaction across several devices, all or nothing (first version).
//!
//! Phases, device by device in the given order:
//! 1. prepare: lock candidate, discard leftovers, edit-config, optionally validate;
//! 2. commit: confirmed commit with the transaction id as persist id (when the session can
//!    carry it), so that a controller dying from here on leaves nothing behind: the device
//!    rolls back by itself after the confirm timeout;
//! 3. confirm: the confirming commit on every device.
//!
//! A failure in phases 1-2 rolls every device back (cancel-commit, discard-changes, unlock)
//! and reports the device, phase and the device's error verbatim. A failure while confirming
//! cannot be undone on devices already confirmed; it is reported as
//! [`TransactionError::ConfirmIncomplete`] so the caller can retry the confirmation (by persist
//! id, from any session) before the timeout or re-apply the previous intent.

use std::fmt;
use std::time::Duration;

use super::capabilities::{BaseVersion, CANDIDATE, CONFIRMED_COMMIT_1_0, CONFIRMED_COMMIT_1_1};
use super::device_session::DeviceSession;
use super::error::ClientError;
use super::request::{Datastore, EditOptions};

/// Confirming commits are retried this many times on transient errors.
const CONFIRM_ATTEMPTS: usize = 3;

/// The change for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEdit {
    /// The device key (for reports).
    pub device: String,
    /// The content of `<config>` for edit-config on candidate.
    pub config: String,
    /// edit-config options.
    pub options: EditOptions,
    /// Whether to `<validate>` candidate before committing. Off for servers where validate
    /// right before commit is harmful (netconfd: the commit then loses the edits).
    pub validate: bool,
}

/// A transaction: its id (also the persist id of the confirmed commits), the confirm timeout,
/// and one edit per device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Unique id, e.g. `ferrule-<uuid>`; recorded so a restarted controller can find it.
    pub id: String,
    /// How long devices wait for the confirming commit before rolling back by themselves.
    pub confirm_timeout: Duration,
    /// The edits, in the order devices are prepared and committed.
    pub edits: Vec<DeviceEdit>,
}

/// Where a transaction failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Capability check before touching any device.
    Check,
    /// `<lock>` of candidate.
    Lock,
    /// discard-changes / edit-config.
    Edit,
    /// `<validate>`.
    Validate,
    /// Confirmed commit.
    Commit,
    /// Confirming commit.
    Confirm,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Check => "capability check",
            Self::Lock => "lock",
            Self::Edit => "edit-config",
            Self::Validate => "validate",
            Self::Commit => "confirmed commit",
            Self::Confirm => "confirming commit",
        })
    }
}

/// A rollback or unlock step that failed (the device may still roll back by itself when its
/// confirm timeout expires, or when the session closes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupIssue {
    /// The device key.
    pub device: String,
    /// The step, e.g. `cancel-commit`.
    pub step: &'static str,
    /// The error text.
    pub error: String,
}

/// Why a transaction did not complete.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// A device failed before every device was confirmed; every device was rolled back
    /// (see `cleanup` for steps that failed). Fix the intent if the error is not transient.
    #[error("transaction {id} failed on {device} at {phase}: {source}; all devices rolled back{}", cleanup_note(.cleanup))]
    RolledBack {
        /// The transaction id.
        id: String,
        /// The device that failed.
        device: String,
        /// The phase it failed in.
        phase: Phase,
        /// The device's error, verbatim.
        source: ClientError,
        /// Rollback steps that failed.
        cleanup: Vec<CleanupIssue>,
    },
    /// Some devices confirmed, others did not. The unconfirmed ones roll back when their
    /// confirm timeout expires unless confirmed by persist id before then.
    #[error("transaction {id} is confirmed on {confirmed:?} but not on {}", unconfirmed_note(.unconfirmed))]
    ConfirmIncomplete {
        /// The transaction id (the persist id).
        id: String,
        /// Devices whose confirming commit succeeded.
        confirmed: Vec<String>,
        /// Devices whose confirming commit failed, with the error.
        unconfirmed: Vec<(String, ClientError)>,
    },
    /// The number of sessions differs from the number of edits (a caller bug).
    #[error("transaction {id} has {edits} edits but {sessions} sessions")]
    Mismatched {
        /// The transaction id.
        id: String,
        /// Number of edits.
        edits: usize,
        /// Number of sessions.
        sessions: usize,
    },
}

fn cleanup_note(cleanup: &[CleanupIssue]) -> String {
    if cleanup.is_empty() {
        return String::new();
    }
    let steps: Vec<String> = cleanup
        .iter()
        .map(|c| format!("{} on {}: {}", c.step, c.device, c.error))
        .collect();
    format!(" (cleanup problems: {})", steps.join("; "))
}

fn unconfirmed_note(unconfirmed: &[(String, ClientError)]) -> String {
    let parts: Vec<String> = unconfirmed
        .iter()
        .map(|(d, e)| format!("{d} ({e})"))
        .collect();
    parts.join(", ")
}

/// Progress of one device, for rollback.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    locked: bool,
    edited: bool,
    committed: bool,
    persist: bool,
}

/// Runs the transaction; `sessions[i]` carries `tx.edits[i]`. Sessions are left open.
pub async fn apply<S: DeviceSession>(
    tx: &Transaction,
    sessions: &mut [&mut S],
) -> Result<(), TransactionError> {
    if sessions.len() != tx.edits.len() {
        return Err(TransactionError::Mismatched {
            id: tx.id.clone(),
            edits: tx.edits.len(),
            sessions: sessions.len(),
        });
    }
    let mut progress = vec![Progress::default(); sessions.len()];
    for (i, session) in sessions.iter().enumerate() {
        let caps = session.capabilities();
        if !caps.has(CANDIDATE) {
            return Err(check_failed(tx, i, &**session, CANDIDATE));
        }
        if !caps.has(CONFIRMED_COMMIT_1_0) && !caps.has(CONFIRMED_COMMIT_1_1) {
            return Err(check_failed(tx, i, &**session, CONFIRMED_COMMIT_1_0));
        }
        progress[i].persist =
            caps.has(CONFIRMED_COMMIT_1_1) && session.base_version() == BaseVersion::V1_1;
    }

    // Phase 1: prepare.
    for i in 0..sessions.len() {
        let edit = &tx.edits[i];
        let s = &mut *sessions[i];
        if let Err(e) = s.lock(Datastore::Candidate).await {
            return Err(roll_back(tx, sessions, &progress, i, Phase::Lock, e).await);
        }
        progress[i].locked = true;
        // Candidate may hold changes left by a session that died; it is ours now.
        progress[i].edited = true;
        let prepared = match s.discard_changes().await {
            Ok(()) => {
                s.edit_config(Datastore::Candidate, &edit.config, edit.options)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = prepared {
            return Err(roll_back(tx, sessions, &progress, i, Phase::Edit, e).await);
        }
        if edit.validate
            && let Err(e) = s.validate(Datastore::Candidate).await
        {
            return Err(roll_back(tx, sessions, &progress, i, Phase::Validate, e).await);
        }
    }

    // Phase 2: confirmed commit everywhere. Marked before the call: a timed-out commit may
    // still have happened, and cancelling a commit that did not happen is harmless.
    for i in 0..sessions.len() {
        progress[i].committed = true;
        let persist = progress[i].persist.then_some(tx.id.as_str());
        if let Err(e) = sessions[i]
            .commit_confirmed(tx.confirm_timeout, persist)
            .await
        {
            return Err(roll_back(tx, sessions, &progress, i, Phase::Commit, e).await);
        }
    }

    // Phase 3: confirm.
    let mut confirmed = Vec::new();
    let mut unconfirmed = Vec::new();
    for i in 0..sessions.len() {
        let persist = progress[i].persist.then_some(tx.id.as_str());
        let mut result = sessions[i].confirm_commit(persist).await;
        for _ in 1..CONFIRM_ATTEMPTS {
            match &result {
                Err(e) if e.is_transient() && sessions[i].is_usable() => {
                    result = sessions[i].confirm_commit(persist).await;
                }
                _ => break,
            }
        }
        match result {
            Ok(()) => confirmed.push(tx.edits[i].device.clone()),
            Err(e) => unconfirmed.push((tx.edits[i].device.clone(), e)),
        }
    }
    for (i, session) in sessions.iter_mut().enumerate() {
        if let Err(e) = session.unlock(Datastore::Candidate).await {
            tracing::warn!(device = %tx.edits[i].device, error = %e, "unlock after transaction failed");
        }
    }
    if unconfirmed.is_empty() {
        Ok(())
    } else {
        Err(TransactionError::ConfirmIncomplete {
            id: tx.id.clone(),
            confirmed,
            unconfirmed,
        })
    }
}

fn check_failed<S: DeviceSession>(
    tx: &Transaction,
    i: usize,
    session: &S,
    capability: &str,
) -> TransactionError {
    TransactionError::RolledBack {
        id: tx.id.clone(),
        device: tx.edits[i].device.clone(),
        phase: Phase::Check,
        source: ClientError::MissingCapability {
            address: session.address().to_string(),
            capability: capability.to_string(),
            operation: "network transaction".into(),
        },
        cleanup: Vec::new(),
    }
}

/// Undoes every device's progress, last device first.
async fn roll_back<S: DeviceSession>(
    tx: &Transaction,
    sessions: &mut [&mut S],
    progress: &[Progress],
    failed: usize,
    phase: Phase,
    source: ClientError,
) -> TransactionError {
    let mut cleanup = Vec::new();
    for i in (0..sessions.len()).rev() {
        let p = progress[i];
        let s = &mut *sessions[i];
        let device = &tx.edits[i].device;
        let mut issue = |step: &'static str, e: ClientError| {
            cleanup.push(CleanupIssue {
                device: device.clone(),
                step,
                error: e.to_string(),
            })
        };
        if p.committed {
            if p.persist {
                if let Err(e) = s.cancel_commit(Some(&tx.id)).await {
                    issue("cancel-commit", e);
                }
            } else if s.capabilities().has(CONFIRMED_COMMIT_1_1) {
                if let Err(e) = s.cancel_commit(None).await {
                    issue("cancel-commit", e);
                }
            } else {
                // A base:1.0 confirmed commit is rolled back when its session ends.
                s.close().await;
                continue;
            }
        }
        if p.edited
            && s.is_usable()
            && let Err(e) = s.discard_changes().await
        {
            issue("discard-changes", e);
        }
        if p.locked
            && s.is_usable()
            && let Err(e) = s.unlock(Datastore::Candidate).await
        {
            issue("unlock", e);
        }
    }
    TransactionError::RolledBack {
        id: tx.id.clone(),
        device: tx.edits[failed].device.clone(),
        phase,
        source,
        cleanup,
    }
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
