//! Why a transaction or its recovery did not complete.

use super::{Decision, JournalError, Phase, TransactionRecord};
use crate::client::{ClientError, ManagerError};

/// Why a transaction did not complete. Every variant that touched devices carries the record
/// of what was sent, for the caller to store.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// The transaction is malformed (a caller bug: duplicate device, missing compensation,
    /// sessions not matching the edits); nothing was sent.
    #[error("transaction {id} is invalid: {reason}")]
    Invalid {
        /// The transaction id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A device failed (or lacks a capability) before the decision to commit, so every device
    /// was rolled back (`record` says whether a rollback step failed). The device's error is
    /// kept verbatim (`source.rpc_errors()` for a rejection). Fix the
    /// intent unless [`TransactionError::is_transient`] says a retry may succeed.
    #[error("transaction {id} failed on {device} at {phase}: {source}; no device keeps the change{}", cleanup_note(.record))]
    RolledBack {
        /// The transaction id.
        id: String,
        /// The device that failed (the first in edit order when several failed).
        device: String,
        /// The phase it failed in.
        phase: Phase,
        /// The device's error.
        source: Box<ClientError>,
        /// What was sent, including the rollback steps.
        record: Box<TransactionRecord>,
    },
    /// The journal could not store the record before the decision, so the transaction was
    /// rolled back rather than committed without a durable record.
    #[error("transaction {id} rolled back: {source}{}", cleanup_note(.record))]
    Journal {
        /// The transaction id.
        id: String,
        /// The journal's error.
        source: JournalError,
        /// What was sent.
        record: Box<TransactionRecord>,
    },
    /// The decision was commit, but some devices did not confirm. Their pending commits roll
    /// back at the confirm timeout unless [`super::recover`] confirms them by persist id
    /// first (from any session); the other devices keep the change.
    #[error("transaction {id} is committed but not confirmed on {}", unconfirmed_note(.unconfirmed))]
    ConfirmIncomplete {
        /// The transaction id (the persist id).
        id: String,
        /// Devices whose confirming commit failed, with the error.
        unconfirmed: Vec<(String, ClientError)>,
        /// What was sent.
        record: Box<TransactionRecord>,
    },
    /// No session could be leased for a device; nothing was sent to any device.
    #[error("transaction {id} could not start: {source}")]
    Session {
        /// The transaction id.
        id: String,
        /// The session manager's error.
        source: Box<ManagerError>,
    },
}

/// Why [`super::recover`] could not finish a transaction.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The sessions do not match the record's devices (a caller bug).
    #[error("recovery of {id}: {reason}")]
    Invalid {
        /// The transaction id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// Some devices could not be confirmed, cancelled or compensated; the record says which
    /// steps failed. Retry, or check the devices by hand.
    #[error("recovery of {id} ({decision:?}) failed on {}", failure_note(.failures))]
    Incomplete {
        /// The transaction id.
        id: String,
        /// The decision being carried out.
        decision: Decision,
        /// The failed steps: device, phase, error.
        failures: Vec<(String, Phase, ClientError)>,
        /// The updated record.
        record: Box<TransactionRecord>,
    },
    /// No session could be leased for a device.
    #[error("recovery of {id} could not start: {source}")]
    Session {
        /// The transaction id.
        id: String,
        /// The session manager's error.
        source: Box<ManagerError>,
    },
}

// === impl TransactionError ===

impl TransactionError {
    /// Whether retrying the same transaction later may succeed (a lock held by someone else,
    /// network trouble), as opposed to an intent the device refuses.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RolledBack { source, .. } => source.is_transient(),
            Self::Journal { .. } | Self::ConfirmIncomplete { .. } => true,
            Self::Session { source, .. } => source.is_transient(),
            Self::Invalid { .. } => false,
        }
    }

    /// The record of what was sent, when any device was touched.
    pub fn record(&self) -> Option<&TransactionRecord> {
        match self {
            Self::RolledBack { record, .. }
            | Self::Journal { record, .. }
            | Self::ConfirmIncomplete { record, .. } => Some(record),
            Self::Invalid { .. } | Self::Session { .. } => None,
        }
    }
}

fn cleanup_note(record: &TransactionRecord) -> String {
    let failures = record.cleanup_failures();
    if failures.is_empty() {
        return String::new();
    }
    let steps: Vec<String> = failures
        .iter()
        .map(|(device, step)| format!("{} on {device}: {:?}", step.request, step.outcome))
        .collect();
    format!(" (rollback problems: {})", steps.join("; "))
}

fn unconfirmed_note(unconfirmed: &[(String, ClientError)]) -> String {
    let parts: Vec<String> = unconfirmed
        .iter()
        .map(|(device, e)| format!("{device} ({e})"))
        .collect();
    parts.join(", ")
}

fn failure_note(failures: &[(String, Phase, ClientError)]) -> String {
    let parts: Vec<String> = failures
        .iter()
        .map(|(device, phase, e)| format!("{device} at {phase}: {e}"))
        .collect();
    parts.join("; ")
}
