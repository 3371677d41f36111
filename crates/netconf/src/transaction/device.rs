//! One device's part of a transaction: the requests of each phase (pure, from the edit and
//! the record) and sending them with every step recorded.

use std::time::Duration;

use super::record::describe;
use super::{CommitMode, DeviceEdit, DeviceRecord, Outcome, Phase, Step};
use crate::client::device_session::confirm_timeout_secs;
use crate::client::{ClientError, DeviceSession};
use crate::framing::Framing;
use crate::hello::{
    CANDIDATE, CONFIRMED_COMMIT_1_0, Capabilities, ROLLBACK_ON_ERROR, VALIDATE_1_1,
    WRITABLE_RUNNING,
};
use crate::rpc::{Commit, Datastore, EditConfig, ErrorOption, Rpc};

/// One request of a phase.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Request {
    /// The phase it is recorded under.
    pub phase: Phase,
    /// What is sent. [`Phase::Close`] closes the session instead of sending it.
    pub rpc: Rpc,
    /// Which payload an edit-config carries (`edit` or `compensation`), for the record.
    pub payload: &'static str,
}

/// A device's failure: the phase and the error.
pub(super) type Failure = (Phase, ClientError);

impl Request {
    pub(super) fn new(phase: Phase, rpc: Rpc) -> Self {
        Self {
            phase,
            rpc,
            payload: "",
        }
    }
}

/// The capability a device lacks for its mode, if any.
pub(super) fn missing_capability(edit: &DeviceEdit, caps: &Capabilities) -> Option<&'static str> {
    match edit.mode {
        CommitMode::Candidate { validate, .. } => [
            (caps.candidate(), CANDIDATE),
            (caps.confirmed_commit(), CONFIRMED_COMMIT_1_0),
            (!validate || caps.validate(), VALIDATE_1_1),
        ]
        .into_iter()
        .find_map(|(present, uri)| (!present).then_some(uri)),
        CommitMode::Running => [
            (caps.writable_running(), WRITABLE_RUNNING),
            (caps.rollback_on_error(), ROLLBACK_ON_ERROR),
        ]
        .into_iter()
        .find_map(|(present, uri)| (!present).then_some(uri)),
    }
}

/// Whether the device's confirmed commit can carry the persist id: `:confirmed-commit:1.1` on
/// a base:1.1 session.
pub(super) fn can_persist(caps: &Capabilities, framing: Framing) -> bool {
    caps.confirmed_commit_persist() && framing == Framing::Chunked
}

/// Lock candidate (and running where the profile says), or running.
pub(super) fn lock(edit: &DeviceEdit) -> Vec<Request> {
    let lock = |target| Request::new(Phase::Lock, Rpc::Lock { target });
    match edit.mode {
        CommitMode::Candidate { lock_running, .. } => {
            let mut out = vec![lock(Datastore::Candidate)];
            if lock_running {
                out.push(lock(Datastore::Running));
            }
            out
        }
        CommitMode::Running => vec![lock(Datastore::Running)],
    }
}

/// Candidate: discard leftovers of a dead session, edit, validate where the profile says.
/// Running: the edit with rollback-on-error.
pub(super) fn prepare(edit: &DeviceEdit) -> Vec<Request> {
    match edit.mode {
        CommitMode::Candidate { validate, .. } => {
            let mut out = vec![
                Request::new(Phase::Discard, Rpc::DiscardChanges),
                edit_config(Phase::Edit, Datastore::Candidate, &edit.edit, "edit"),
            ];
            if validate {
                out.push(Request::new(
                    Phase::Validate,
                    Rpc::Validate {
                        source: Datastore::Candidate,
                    },
                ));
            }
            out
        }
        CommitMode::Running => vec![edit_config(
            Phase::Edit,
            Datastore::Running,
            &edit.edit,
            "edit",
        )],
    }
}

/// The confirmed commit of a candidate device.
pub(super) fn commit(record: &DeviceRecord, timeout: Duration) -> Vec<Request> {
    if !record.on_candidate() {
        return Vec::new();
    }
    let commit = Commit::confirmed(confirm_timeout_secs(timeout), record.persist_id.clone());
    vec![Request::new(Phase::Commit, Rpc::Commit(commit))]
}

/// The confirming commit of a candidate device whose confirmed commit is not confirmed yet.
pub(super) fn confirm(record: &DeviceRecord) -> Vec<Request> {
    if !record.on_candidate() || record.did(Phase::Confirm) {
        return Vec::new();
    }
    let commit = record
        .persist_id
        .as_deref()
        .map_or_else(Commit::plain, Commit::confirm);
    vec![Request::new(Phase::Confirm, Rpc::Commit(commit))]
}

/// Undoes, as any session can, what may have reached the device: cancels a confirmed
/// commit by persist id, or applies the compensating edit after a running edit.
pub(super) fn undo(record: &DeviceRecord) -> Vec<Request> {
    if record.on_candidate() {
        match &record.persist_id {
            Some(id) if record.may_have(Phase::Commit) && !record.did(Phase::Cancel) => {
                let persist_id = Some(id.clone());
                vec![Request::new(
                    Phase::Cancel,
                    Rpc::CancelCommit { persist_id },
                )]
            }
            _ => Vec::new(),
        }
    } else if record.may_have(Phase::Edit) && !record.did(Phase::Compensate) {
        record
            .edit
            .compensation
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| edit_config(Phase::Compensate, Datastore::Running, c, "compensation"))
            .collect()
    } else {
        Vec::new()
    }
}

/// Rolls the device back on the transaction's own session: [`undo`], discard candidate,
/// release the locks. A confirmed commit without persist id (base:1.0 session) is rolled back
/// by closing the session (RFC 6241 §8.4.1), which also drops the locks and candidate edits.
pub(super) fn roll_back(record: &DeviceRecord) -> Vec<Request> {
    let on_candidate = record.on_candidate();
    if on_candidate && record.persist_id.is_none() && record.may_have(Phase::Commit) {
        return vec![Request::new(Phase::Close, Rpc::CloseSession)];
    }
    let mut out = undo(record);
    if on_candidate && (record.may_have(Phase::Edit) || record.may_have(Phase::Discard)) {
        out.push(Request::new(Phase::Discard, Rpc::DiscardChanges));
    }
    out.extend(unlock(record));
    out
}

/// Releases the locks the device holds, last taken first.
pub(super) fn unlock(record: &DeviceRecord) -> Vec<Request> {
    record
        .held_locks()
        .iter()
        .rev()
        .filter_map(|target| match target.as_str() {
            "candidate" => Some(Datastore::Candidate),
            "running" => Some(Datastore::Running),
            _ => None,
        })
        .map(|target| Request::new(Phase::Unlock, Rpc::Unlock { target }))
        .collect()
}

/// An edit-config of `target` with `config`; running edits roll back on error.
pub(super) fn edit_config(
    phase: Phase,
    target: Datastore,
    config: &str,
    payload: &'static str,
) -> Request {
    let error_option = (target == Datastore::Running).then_some(ErrorOption::RollbackOnError);
    Request {
        phase,
        rpc: Rpc::EditConfig(EditConfig {
            target,
            config: config.to_owned(),
            default_operation: None,
            test_option: None,
            error_option,
        }),
        payload,
    }
}

/// Records `requests` as pending steps, so a journal save made now says they may be sent.
pub(super) fn stage(record: &mut DeviceRecord, requests: &[Request]) {
    record.steps.extend(requests.iter().map(|r| Step {
        phase: r.phase,
        request: describe(&r.rpc, r.payload),
        outcome: Outcome::Pending,
    }));
}

/// Sends staged `requests` in order, recording each outcome; stops at the first failure and
/// drops the steps that were not sent. With `keep_going` (rollback) every request is tried and
/// the first failure is returned.
pub(super) async fn run<S: DeviceSession>(
    session: &mut S,
    record: &mut DeviceRecord,
    requests: Vec<Request>,
    keep_going: bool,
) -> Result<(), Failure> {
    let first = record.steps.len().saturating_sub(requests.len());
    let mut failure = None;
    let mut sent = 0;
    for (i, request) in requests.into_iter().enumerate() {
        if failure.is_some() && !keep_going {
            break;
        }
        sent = i + 1;
        let phase = request.phase;
        let (result, outcome) = if phase == Phase::Close {
            session.close().await;
            (Ok(()), Outcome::Ok)
        } else if !session.is_usable() && keep_going {
            let error = ClientError::Closed {
                address: session.address().to_owned(),
                reason: "the session broke earlier in the transaction".into(),
            };
            let outcome = Outcome::Failed {
                error: error.to_string(),
                sent: false,
            };
            (Err(error), outcome)
        } else {
            let result = session.request(request.rpc).await.map(drop);
            let outcome = Outcome::of(&result);
            (result, outcome)
        };
        if let Some(step) = record.steps.get_mut(first + i) {
            step.outcome = outcome;
        }
        if let Err(e) = result {
            failure.get_or_insert((phase, e));
        }
    }
    record.steps.truncate(first + sent);
    failure.map_or(Ok(()), Err)
}
