//! Finishing a transaction from its record after the controller (or a session) died.

use futures::future::join_all;

use super::device::{self, Request};
use super::{Decision, DeviceRecord, RecoverError, TransactionRecord};
use crate::client::DeviceSession;

/// The indices (into `record.devices`) of the devices [`recover`] has to contact, in order.
pub fn needs_recovery(record: &TransactionRecord) -> Vec<usize> {
    record
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| !plan(d, record.decision).is_empty())
        .map(|(i, _)| i)
        .collect()
}

/// Carries out the transaction's decision from new sessions; `sessions[k]` is a session to
/// the device `needs_recovery(record)[k]`.
///
/// - Decision [`Decision::Commit`]: confirms every pending confirmed commit by persist id
///   (a persistent confirmed commit can be confirmed by any session).
/// - Otherwise: cancels by persist id every confirmed commit that may have happened, and
///   applies the compensating edit (rollback-on-error) where a running edit may have
///   happened. A pending decision becomes [`Decision::Abort`].
///
/// The steps are appended to `record`. A confirmed commit made without persist id (base:1.0
/// session) cannot be reached from another session; the device rolled it back when that
/// session ended. Returns the decision carried out.
pub async fn recover<S: DeviceSession>(
    record: &mut TransactionRecord,
    sessions: &mut [&mut S],
) -> Result<Decision, RecoverError> {
    let needed = needs_recovery(record);
    if needed.len() != sessions.len() {
        return Err(RecoverError::Invalid {
            id: record.id.clone(),
            reason: format!(
                "{} devices need recovery but {} sessions were given",
                needed.len(),
                sessions.len()
            ),
        });
    }
    let decision = record.decision;
    let devices = record
        .devices
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| needed.contains(i))
        .map(|(_, d)| d);
    let results = join_all(sessions.iter_mut().zip(devices).map(|(session, d)| {
        let requests = plan(d, decision);
        device::stage(d, &requests);
        async move {
            d.address = session.address().to_owned();
            d.session_id = session.session_id();
            let result = device::run(&mut **session, d, requests, true).await;
            (d.edit.device.clone(), result)
        }
    }))
    .await;
    let failures: Vec<_> = results
        .into_iter()
        .filter_map(|(device, r)| r.err().map(|(phase, e)| (device, phase, e)))
        .collect();
    if decision == Decision::Pending {
        record.decision = Decision::Abort;
    }
    if failures.is_empty() {
        Ok(record.decision)
    } else {
        Err(RecoverError::Incomplete {
            id: record.id.clone(),
            decision: record.decision,
            failures,
            record: Box::new(record.clone()),
        })
    }
}

/// What a new session must send to one device to carry out `decision`.
fn plan(d: &DeviceRecord, decision: Decision) -> Vec<Request> {
    match decision {
        Decision::Commit if d.persist_id.is_some() => device::confirm(d),
        Decision::Commit => Vec::new(),
        Decision::Pending | Decision::Abort => device::undo(d),
    }
}
