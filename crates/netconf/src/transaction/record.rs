//! The transaction record: what was sent to each device and how every step ended.
//!
//! The record is plain serialisable data. It is written to the caller's [`super::Journal`]
//! before every phase that can change a device's running configuration, with that phase's
//! steps marked [`Outcome::Pending`], so a controller that dies at any point leaves a record
//! saying what may have reached each device; [`super::recover`] finishes the transaction from
//! it.

use serde::{Deserialize, Serialize};

use super::{CommitMode, DeviceEdit};
use crate::client::ClientError;
use crate::rpc::{Commit, Rpc};
use crate::rpc_error::RpcErrors;

/// What became of the transaction as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Not decided: devices may hold pending confirmed commits or running edits.
    Pending,
    /// Every device accepted its change: pending confirmed commits are to be confirmed.
    Commit,
    /// The transaction is rolled back on every device.
    Abort,
}

/// The phase a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Capability check before anything is sent.
    Check,
    /// `<lock>` of candidate or running.
    Lock,
    /// `<discard-changes>`: leftovers before the edit, or the candidate edit on rollback.
    Discard,
    /// edit-config with the forward edit (candidate, or running on running-only devices).
    Edit,
    /// `<validate>` of candidate.
    Validate,
    /// The confirmed commit (with the transaction id as persist id where possible).
    Commit,
    /// The confirming commit.
    Confirm,
    /// `<cancel-commit>` of the pending confirmed commit.
    Cancel,
    /// edit-config of running with the compensating edit.
    Compensate,
    /// `<unlock>`.
    Unlock,
    /// Closing the session, which rolls back a base:1.0 confirmed commit.
    Close,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Check => "capability check",
            Self::Lock => "lock",
            Self::Discard => "discard-changes",
            Self::Edit => "edit-config",
            Self::Validate => "validate",
            Self::Commit => "confirmed commit",
            Self::Confirm => "confirming commit",
            Self::Cancel => "cancel-commit",
            Self::Compensate => "compensating edit-config",
            Self::Unlock => "unlock",
            Self::Close => "close-session",
        })
    }
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Written before sending: the step may or may not have reached the device.
    Pending,
    /// The device answered `<ok/>` (or data).
    Ok,
    /// The device answered with rpc-errors, kept verbatim; it did not perform the operation.
    Rejected {
        /// The errors (warnings left out).
        errors: RpcErrors,
    },
    /// No answer (timeout, lost session) or a local failure: whether the device performed the
    /// operation is unknown unless `sent` is false.
    Failed {
        /// What went wrong.
        error: String,
        /// Whether the request may have reached the device.
        sent: bool,
    },
}

/// One request sent to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The phase.
    pub phase: Phase,
    /// The request with every parameter, e.g. `commit confirmed confirm-timeout=60
    /// persist=ferrule-…`; an edit-config names its payload (`config=edit` is
    /// [`DeviceEdit::edit`], `config=compensation` is [`DeviceEdit::compensation`]).
    pub request: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// Everything about one device in a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRecord {
    /// The edit as given, with its compensation.
    #[serde(flatten)]
    pub edit: DeviceEdit,
    /// `host:port` of the session used.
    pub address: String,
    /// The device's session-id of that session.
    pub session_id: u32,
    /// The persist id of the confirmed commit, when it carries one (base:1.1 sessions with
    /// `:confirmed-commit:1.1`); any later session can confirm or cancel it with this id.
    pub persist_id: Option<String>,
    /// The requests sent, in order.
    pub steps: Vec<Step>,
}

/// The record of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionRecord {
    /// The transaction id, also the persist id of the confirmed commits.
    pub id: String,
    /// Seconds the devices wait for the confirming commit.
    pub confirm_timeout_secs: u32,
    /// The decision.
    pub decision: Decision,
    /// One record per device, in the order of the transaction's edits.
    pub devices: Vec<DeviceRecord>,
}

// === impl Outcome ===

impl Outcome {
    /// The outcome of a request that was handed to the session.
    pub fn of(result: &Result<(), ClientError>) -> Self {
        match result {
            Ok(()) => Self::Ok,
            Err(ClientError::Rpc { errors, .. }) => Self::Rejected {
                errors: errors.clone(),
            },
            Err(err) => Self::Failed {
                error: err.to_string(),
                sent: !matches!(
                    err,
                    ClientError::MissingCapability { .. } | ClientError::Build { .. }
                ),
            },
        }
    }

    /// Whether the device may have performed the operation: it succeeded, or its fate is
    /// unknown.
    pub fn may_have_happened(&self) -> bool {
        match self {
            Self::Ok | Self::Pending => true,
            Self::Rejected { .. } => false,
            Self::Failed { sent, .. } => *sent,
        }
    }
}

// === impl DeviceRecord ===

impl DeviceRecord {
    /// A record for `edit` before anything was sent.
    pub fn new(edit: DeviceEdit) -> Self {
        Self {
            edit,
            address: String::new(),
            session_id: 0,
            persist_id: None,
            steps: Vec::new(),
        }
    }

    /// Whether a step of `phase` may have taken effect on the device.
    pub fn may_have(&self, phase: Phase) -> bool {
        self.steps
            .iter()
            .any(|s| s.phase == phase && s.outcome.may_have_happened())
    }

    /// Whether a step of `phase` succeeded.
    pub fn did(&self, phase: Phase) -> bool {
        self.steps
            .iter()
            .any(|s| s.phase == phase && s.outcome == Outcome::Ok)
    }

    /// The datastores this device holds locks on (locked and not yet unlocked), in locking
    /// order.
    pub fn held_locks(&self) -> Vec<String> {
        let mut held: Vec<String> = Vec::new();
        for step in &self.steps {
            let target = step.request.rsplit(' ').next().unwrap_or_default();
            match (step.phase, &step.outcome) {
                (Phase::Lock, Outcome::Ok) => held.push(target.to_owned()),
                (Phase::Unlock, _) => held.retain(|t| t != target),
                _ => {}
            }
        }
        held
    }

    /// Whether this device takes its change on candidate.
    pub fn on_candidate(&self) -> bool {
        matches!(self.edit.mode, CommitMode::Candidate { .. })
    }
}

// === impl TransactionRecord ===

impl TransactionRecord {
    /// Steps of the rollback or recovery that did not succeed, as `(device, step)`; after an
    /// abort these are what an operator may have to check by hand.
    pub fn cleanup_failures(&self) -> Vec<(&str, &Step)> {
        self.devices
            .iter()
            .flat_map(|d| d.steps.iter().map(move |s| (d.edit.device.as_str(), s)))
            .filter(|(_, s)| {
                matches!(
                    s.phase,
                    Phase::Cancel | Phase::Compensate | Phase::Discard | Phase::Unlock
                ) && s.outcome != Outcome::Ok
            })
            .collect()
    }
}

/// The request as recorded: the operation and every parameter, with edit-config payloads
/// named by `payload`.
pub fn describe(rpc: &Rpc, payload: &str) -> String {
    match rpc {
        Rpc::EditConfig(edit) => {
            let mut out = format!("edit-config {}", edit.target.as_str());
            if let Some(op) = edit.default_operation {
                out.push_str(&format!(" default-operation={}", op.as_str()));
            }
            if let Some(test) = edit.test_option {
                out.push_str(&format!(" test-option={}", test.as_str()));
            }
            if let Some(error) = edit.error_option {
                out.push_str(&format!(" error-option={}", error.as_str()));
            }
            out.push_str(&format!(" config={payload}"));
            out
        }
        Rpc::Commit(commit) => describe_commit(commit),
        Rpc::CancelCommit { persist_id } => match persist_id {
            Some(id) => format!("cancel-commit persist-id={id}"),
            None => "cancel-commit".to_owned(),
        },
        Rpc::Lock { target } | Rpc::Unlock { target } | Rpc::Validate { source: target } => {
            format!("{} {}", rpc.name(), target.as_str())
        }
        other => other.name().to_owned(),
    }
}

fn describe_commit(commit: &Commit) -> String {
    let mut out = String::from("commit");
    if commit.confirmed {
        out.push_str(" confirmed");
    }
    if let Some(timeout) = commit.confirm_timeout {
        out.push_str(&format!(" confirm-timeout={timeout}"));
    }
    if let Some(persist) = &commit.persist {
        out.push_str(&format!(" persist={persist}"));
    }
    if let Some(id) = &commit.persist_id {
        out.push_str(&format!(" persist-id={id}"));
    }
    out
}
