//! Running a transaction: phases on all devices concurrently, the decision, the rollback.

use futures::future::join_all;

use super::device::{self, Failure, Request};
use super::{
    Decision, DeviceRecord, Journal, JournalError, Phase, Transaction, TransactionError,
    TransactionRecord,
};
use crate::client::device_session::confirm_timeout_secs;
use crate::client::{ClientError, DeviceSession};

/// Confirming commits are tried this many times on transient errors.
const CONFIRM_ATTEMPTS: usize = 3;

/// Applies `tx` all or nothing; `sessions[i]` carries `tx.edits[i]`. Sessions are left open
/// (except base:1.0 sessions closed to roll back their confirmed commit).
///
/// Returns the record of what was sent; on failure the error carries it. See the module
/// documentation for the phases.
pub async fn apply<S: DeviceSession, J: Journal>(
    tx: &Transaction,
    sessions: &mut [&mut S],
    journal: &mut J,
) -> Result<TransactionRecord, TransactionError> {
    tx.check()?;
    if sessions.len() != tx.edits.len() {
        return Err(TransactionError::Invalid {
            id: tx.id.clone(),
            reason: format!("{} edits but {} sessions", tx.edits.len(), sessions.len()),
        });
    }
    let mut record = TransactionRecord {
        id: tx.id.clone(),
        confirm_timeout_secs: confirm_timeout_secs(tx.confirm_timeout),
        decision: Decision::Pending,
        devices: tx.edits.iter().cloned().map(DeviceRecord::new).collect(),
    };
    check(&tx.id, sessions, &mut record)?;

    // Lock, then prepare (running-only devices change running here), then the confirmed
    // commits; the record is stored before each phase that can change running.
    for (phase, durable) in [
        (Phase::Lock, false),
        (Phase::Edit, true),
        (Phase::Commit, true),
    ] {
        let plans = record
            .devices
            .iter()
            .map(|d| match phase {
                Phase::Lock => device::lock(&d.edit),
                Phase::Edit => device::prepare(&d.edit),
                _ => device::commit(d, tx.confirm_timeout),
            })
            .collect();
        if let Err(cause) = run_phase(sessions, &mut record, journal, plans, durable).await {
            return Err(abort(sessions, record, journal, cause).await);
        }
    }

    // Every device holds its change. From here the transaction commits; a crash leaves a
    // record that says so, and recover() confirms by persist id.
    record.decision = Decision::Commit;
    if let Err(e) = journal.save(&record).await {
        record.decision = Decision::Pending;
        return Err(abort(sessions, record, journal, Cause::Journal(e)).await);
    }
    let unconfirmed = confirm_all(sessions, &mut record).await;

    let plans: Vec<Vec<Request>> = record.devices.iter().map(device::unlock).collect();
    stage(&mut record, &plans);
    for (i, result) in run_staged_all(sessions, &mut record, plans, true)
        .await
        .into_iter()
        .enumerate()
    {
        if let Err((_, e)) = result {
            let device = &tx.edits[i].device;
            tracing::warn!(%device, error = %e, "unlock after the transaction failed");
        }
    }
    save_final(journal, &record).await;

    if unconfirmed.is_empty() {
        Ok(record)
    } else {
        Err(TransactionError::ConfirmIncomplete {
            id: tx.id.clone(),
            unconfirmed,
            record: Box::new(record),
        })
    }
}

/// Fills in the session facts and checks each device's capabilities before anything is sent.
fn check<S: DeviceSession>(
    id: &str,
    sessions: &[&mut S],
    record: &mut TransactionRecord,
) -> Result<(), TransactionError> {
    for (session, device) in sessions.iter().zip(record.devices.iter_mut()) {
        device.address = session.address().to_owned();
        device.session_id = session.session_id();
        let caps = session.capabilities();
        if let Some(capability) = device::missing_capability(&device.edit, caps) {
            let source = ClientError::MissingCapability {
                address: device.address.clone(),
                capability: capability.to_owned(),
                operation: "network transaction".into(),
            };
            return Err(TransactionError::RolledBack {
                id: id.to_owned(),
                device: device.edit.device.clone(),
                phase: Phase::Check,
                source: Box::new(source),
                record: Box::new(record.clone()),
            });
        }
        if device.on_candidate() && device::can_persist(caps, session.framing()) {
            device.persist_id = Some(id.to_owned());
        }
    }
    Ok(())
}

/// The confirming commits, retried on transient errors while the session is usable. Returns
/// the devices that stay unconfirmed.
async fn confirm_all<S: DeviceSession>(
    sessions: &mut [&mut S],
    record: &mut TransactionRecord,
) -> Vec<(String, ClientError)> {
    let mut errors: Vec<Option<ClientError>> = record.devices.iter().map(|_| None).collect();
    for attempt in 0..CONFIRM_ATTEMPTS {
        let plans: Vec<Vec<Request>> = record
            .devices
            .iter()
            .zip(sessions.iter())
            .zip(&errors)
            .map(|((d, s), error)| {
                let retry = attempt == 0
                    || error
                        .as_ref()
                        .is_some_and(|e| e.is_transient() && s.is_usable());
                if retry {
                    device::confirm(d)
                } else {
                    Vec::new()
                }
            })
            .collect();
        if plans.iter().all(Vec::is_empty) {
            break;
        }
        let ran: Vec<bool> = plans.iter().map(|p| !p.is_empty()).collect();
        stage(record, &plans);
        let results = run_staged_all(sessions, record, plans, false).await;
        for ((error, result), ran) in errors.iter_mut().zip(results).zip(ran) {
            if ran {
                *error = result.err().map(|(_, e)| e);
            }
        }
    }
    record
        .devices
        .iter()
        .zip(errors)
        .filter_map(|(d, e)| e.map(|e| (d.edit.device.clone(), e)))
        .collect()
}

/// Why a transaction is aborted.
enum Cause {
    /// A device failed: its index, phase and error.
    Device(usize, Failure),
    /// The journal could not store the record.
    Journal(JournalError),
}

impl From<(usize, Failure)> for Cause {
    fn from((index, failure): (usize, Failure)) -> Self {
        Self::Device(index, failure)
    }
}

/// Rolls every device back from what its record says may have reached it.
async fn abort<S: DeviceSession, J: Journal>(
    sessions: &mut [&mut S],
    mut record: TransactionRecord,
    journal: &mut J,
    cause: Cause,
) -> TransactionError {
    let plans: Vec<Vec<Request>> = record.devices.iter().map(device::roll_back).collect();
    stage(&mut record, &plans);
    run_staged_all(sessions, &mut record, plans, true).await;
    record.decision = Decision::Abort;
    save_final(journal, &record).await;
    let id = record.id.clone();
    match cause {
        Cause::Device(index, (phase, source)) => TransactionError::RolledBack {
            id,
            device: record.devices[index].edit.device.clone(),
            phase,
            source: Box::new(source),
            record: Box::new(record),
        },
        Cause::Journal(source) => TransactionError::Journal {
            id,
            source,
            record: Box::new(record),
        },
    }
}

async fn save_final<J: Journal>(journal: &mut J, record: &TransactionRecord) {
    if let Err(e) = journal.save(record).await {
        tracing::warn!(transaction = %record.id, error = %e, "cannot store the final transaction record");
    }
}

/// Stages one phase on every device, stores the record first when `durable`, and runs it;
/// the first failure in edit order.
async fn run_phase<S: DeviceSession, J: Journal>(
    sessions: &mut [&mut S],
    record: &mut TransactionRecord,
    journal: &mut J,
    plans: Vec<Vec<Request>>,
    durable: bool,
) -> Result<(), Cause> {
    stage(record, &plans);
    if durable && let Err(e) = journal.save(record).await {
        unstage(record, &plans);
        return Err(Cause::Journal(e));
    }
    let results = run_staged_all(sessions, record, plans, false).await;
    match results
        .into_iter()
        .enumerate()
        .find_map(|(i, r)| r.err().map(|f| (i, f)))
    {
        Some(failure) => Err(failure.into()),
        None => Ok(()),
    }
}

/// Records every device's requests as pending.
pub(super) fn stage(record: &mut TransactionRecord, plans: &[Vec<Request>]) {
    for (device, plan) in record.devices.iter_mut().zip(plans) {
        device::stage(device, plan);
    }
}

/// Takes staged requests out of the record again (they were never sent).
fn unstage(record: &mut TransactionRecord, plans: &[Vec<Request>]) {
    for (device, plan) in record.devices.iter_mut().zip(plans) {
        let keep = device.steps.len().saturating_sub(plan.len());
        device.steps.truncate(keep);
    }
}

/// Runs staged requests on every device concurrently; one result per device.
pub(super) async fn run_staged_all<S: DeviceSession>(
    sessions: &mut [&mut S],
    record: &mut TransactionRecord,
    plans: Vec<Vec<Request>>,
    keep_going: bool,
) -> Vec<Result<(), Failure>> {
    join_all(
        sessions
            .iter_mut()
            .zip(record.devices.iter_mut())
            .zip(plans)
            .map(|((session, device), plan)| device::run(&mut **session, device, plan, keep_going)),
    )
    .await
}
