//! Transactions on pooled sessions: one writer per device across concurrent transactions.

use super::{
    Decision, Journal, RecoverError, Transaction, TransactionError, TransactionRecord, apply,
    needs_recovery, recover,
};
use crate::client::{Connector, ManagerError, SessionConfig, SessionLease, SessionManager};

/// [`apply`] on the manager's sessions; `configs[i]` reaches the device of `tx.edits[i]`.
///
/// The devices' leases are taken together ([`SessionManager::lease_all`]) and held until the
/// transaction ends, so a concurrent transaction touching any of the same devices waits for
/// this one. When confirming commits fail (e.g.
/// a session died after the decision), the leases are released and [`recover_pooled`]
/// confirms by persist id from fresh sessions before giving up.
pub async fn apply_pooled<C: Connector, J: Journal>(
    manager: &SessionManager<C>,
    tx: &Transaction,
    configs: &[SessionConfig],
    journal: &mut J,
) -> Result<TransactionRecord, TransactionError> {
    tx.check()?;
    if configs.len() != tx.edits.len() {
        return Err(TransactionError::Invalid {
            id: tx.id.clone(),
            reason: format!(
                "{} edits but {} session configs",
                tx.edits.len(),
                configs.len()
            ),
        });
    }
    let devices: Vec<&str> = tx.edits.iter().map(|e| e.device.as_str()).collect();
    let mut leases = lease_all(manager, &devices, configs)
        .await
        .map_err(|source| TransactionError::Session {
            id: tx.id.clone(),
            source: Box::new(source),
        })?;
    let mut sessions: Vec<&mut SessionLease<C::Session>> = leases.iter_mut().collect();
    let result = apply(tx, &mut sessions, journal).await;
    drop(sessions);
    drop(leases);
    let Err(TransactionError::ConfirmIncomplete {
        id,
        unconfirmed,
        mut record,
    }) = result
    else {
        return result;
    };
    match recover_pooled(manager, &mut record, configs).await {
        Ok(_) => {
            if let Err(e) = journal.save(&record).await {
                tracing::warn!(transaction = %id, error = %e, "cannot store the recovered transaction record");
            }
            Ok(*record)
        }
        Err(e) => {
            tracing::warn!(transaction = %id, error = %e, "confirming from fresh sessions failed");
            let record = match e {
                RecoverError::Incomplete { record, .. } => record,
                _ => record,
            };
            Err(TransactionError::ConfirmIncomplete {
                id,
                unconfirmed,
                record,
            })
        }
    }
}

/// [`recover`] on the manager's sessions; `configs[i]` reaches the device of
/// `record.devices[i]`. Only the devices that need something are leased.
pub async fn recover_pooled<C: Connector>(
    manager: &SessionManager<C>,
    record: &mut TransactionRecord,
    configs: &[SessionConfig],
) -> Result<Decision, RecoverError> {
    if configs.len() != record.devices.len() {
        return Err(RecoverError::Invalid {
            id: record.id.clone(),
            reason: format!(
                "{} devices but {} session configs",
                record.devices.len(),
                configs.len()
            ),
        });
    }
    let needed = needs_recovery(record);
    let devices: Vec<&str> = needed
        .iter()
        .map(|&i| record.devices[i].edit.device.as_str())
        .collect();
    let configs: Vec<SessionConfig> = needed.iter().map(|&i| configs[i].clone()).collect();
    let mut leases = lease_all(manager, &devices, &configs)
        .await
        .map_err(|source| RecoverError::Session {
            id: record.id.clone(),
            source: Box::new(source),
        })?;
    let mut sessions: Vec<&mut SessionLease<C::Session>> = leases.iter_mut().collect();
    recover(record, &mut sessions).await
}

/// Leases every device at once (see [`SessionManager::lease_all`]); the leases come back in
/// the order of `devices`.
async fn lease_all<C: Connector>(
    manager: &SessionManager<C>,
    devices: &[&str],
    configs: &[SessionConfig],
) -> Result<Vec<SessionLease<C::Session>>, ManagerError> {
    let pairs: Vec<(&str, &SessionConfig)> = devices.iter().copied().zip(configs).collect();
    manager.lease_all(&pairs).await
}
