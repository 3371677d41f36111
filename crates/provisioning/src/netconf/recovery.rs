//! Finishing the network transactions a previous process (or a failed confirm) left behind.
//!
//! At start, before any controller runs, and then on an interval, every journal ConfigMap
//! ([`super::journal`]) whose transaction is not running in this process is carried to its
//! end with [`transaction::recover`] from new sessions: when the record's decision is
//! *commit*, pending confirmed commits are confirmed by persist id (so a device that had not
//! confirmed yet does not roll back on its own while the others keep the change); otherwise
//! they are cancelled by persist id and running-only edits compensated. The record is then
//! deleted.
//!
//! A device that answers the confirming commit by persist id with "no such pending commit"
//! ([`no_pending_commit`]) confirmed before the process died, or its confirm timeout expired
//! and it rolled back by itself; a device that refuses the cancel-commit for good has nothing
//! to cancel, or rolls back at its confirm timeout anyway. Nothing is left to do there;
//! the recovery logs the device's answer and counts the transaction as finished (a device that
//! rolled back on its own is then out of step with the record, which the owner's next
//! reconcile or the drift check repairs: edits are idempotent). A device that cannot be
//! reached keeps the record for the next pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use ferrule_crds::Device;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use kube::{Api, Client};

use crate::transactor::DeviceTarget;
use ferrule_netconf::client::{ClientError, Connector, DeviceSession, no_pending_commit};
use ferrule_netconf::rpc::Rpc;
use ferrule_netconf::transaction::{
    self, Decision, Phase, RecoverError, TransactionRecord, needs_recovery,
};
use ferrule_operator::cache::Scope;

use super::journal::{self, Entry, InFlight, RECORD_LABEL};
use super::sessions::DeviceSessions;

/// Finishes recorded transactions.
pub trait TransactionRecovery: Send + Sync + fmt::Debug {
    /// Carries every recorded transaction in `scope` that is not running in this process to
    /// its end.
    fn recover_all<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Report>;
}

/// What a recovery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Transactions finished (record deleted), with the decision carried out.
    pub finished: Vec<(String, Decision)>,
    /// Transactions left for the next pass, with the reason.
    pub left: Vec<(String, String)>,
}

/// The devices of one record recovery touches.
struct Devices<'a> {
    /// `namespace/name` per record device.
    keys: &'a [String],
    /// Indices needing recovery steps (ascending).
    needed: &'a [usize],
    /// Indices with an orphaned session, and its id.
    orphans: &'a [(usize, u32)],
}

/// Recovery over pooled NETCONF sessions.
pub struct NetconfRecovery<C: Connector> {
    client: Client,
    sessions: Arc<DeviceSessions<C>>,
    in_flight: InFlight,
}

impl<C: Connector> fmt::Debug for NetconfRecovery<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetconfRecovery")
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

impl<C: Connector> NetconfRecovery<C> {
    /// Recovery through `sessions` (shared with the transactor, so one writer per device
    /// holds), skipping the transactions in `in_flight`.
    pub fn new(client: Client, sessions: Arc<DeviceSessions<C>>, in_flight: InFlight) -> Self {
        Self {
            client,
            sessions,
            in_flight,
        }
    }

    async fn pass(&self, scope: &Scope) -> Report {
        let mut report = Report::default();
        // Devices that could not be had in this pass: later records wait for the next one
        // rather than paying the connect timeout again.
        let mut unreachable = BTreeSet::new();
        let api: Api<ConfigMap> = scope.api(self.client.clone());
        let params = ListParams::default().labels(&format!("{RECORD_LABEL}=true"));
        let list = match api.list(&params).await {
            Ok(list) => list,
            Err(e) => {
                report
                    .left
                    .push((String::new(), format!("listing transaction records: {e}")));
                return report;
            }
        };
        for cm in list.items {
            let name = cm.metadata.name.clone().unwrap_or_default();
            if self.in_flight.contains(&name) {
                continue;
            }
            let namespace = cm.metadata.namespace.clone().unwrap_or_default();
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &namespace);
            let outcome = match Entry::read(&cm) {
                Ok(entry) => self.finish(&api, entry, &mut unreachable).await,
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(decision) => {
                    tracing::info!(transaction = %name, ?decision, "recorded transaction finished");
                    report.finished.push((name, decision));
                }
                Err(reason) => {
                    tracing::warn!(transaction = %name, %reason, "recorded transaction left for the next recovery pass");
                    report.left.push((name, reason));
                }
            }
        }
        report
    }

    /// Carries one entry to its end and deletes its record; the reason when it stays.
    async fn finish(
        &self,
        api: &Api<ConfigMap>,
        mut entry: Entry,
        unreachable: &mut BTreeSet<String>,
    ) -> Result<Decision, String> {
        let id = entry.record.id.clone();
        let needed = needs_recovery(&entry.record);
        let orphans = orphaned_sessions(&entry.record);
        let result = if needed.is_empty() && orphans.is_empty() {
            Ok(settled_decision(&entry.record))
        } else {
            let devices = Devices {
                keys: &entry.devices,
                needed: &needed,
                orphans: &orphans,
            };
            self.recover(&mut entry.record, devices, unreachable)
                .await?
        };
        let decision = match result {
            Ok(decision) => decision,
            Err(RecoverError::Incomplete {
                failures,
                record,
                decision,
                ..
            }) => {
                entry.record = *record;
                if !failures
                    .iter()
                    .all(|(_, phase, e)| nothing_pending(*phase, e))
                {
                    let text = serde_json::to_string(&entry.record).map_err(|e| e.to_string())?;
                    journal::store(api, &id, text)
                        .await
                        .map_err(|e| e.to_string())?;
                    let failed: Vec<String> = failures
                        .iter()
                        .map(|(device, phase, e)| format!("{device} at {phase}: {e}"))
                        .collect();
                    return Err(failed.join("; "));
                }
                for (device, phase, e) in &failures {
                    tracing::warn!(transaction = %id, %device, %phase, error = %e, "no confirmed commit pending under the transaction id: confirmed, cancelled or rolled back before");
                }
                decision
            }
            Err(e) => return Err(e.to_string()),
        };
        journal::delete(api, &id).await.map_err(|e| e.to_string())?;
        Ok(decision)
    }

    /// Leases the devices that need recovery or hold an orphaned session (in key order, as
    /// transactions do), ends the orphaned sessions, and recovers; the outer error says why a
    /// device could not be had.
    async fn recover(
        &self,
        record: &mut TransactionRecord,
        Devices {
            keys,
            needed,
            orphans,
        }: Devices<'_>,
        unreachable: &mut BTreeSet<String>,
    ) -> Result<Result<Decision, RecoverError>, String> {
        let mut devices: Vec<usize> = needed.to_vec();
        devices.extend(orphans.iter().map(|(i, _)| *i));
        devices.sort_by_key(|&i| &keys[i]);
        devices.dedup();
        let mut targets = Vec::with_capacity(devices.len());
        for &i in &devices {
            let key = &keys[i];
            if unreachable.contains(key) {
                return Err(format!("Device {key} could not be reached in this pass"));
            }
            targets.push(self.target(key).await?);
        }
        // Leased together, as transactions do: nothing is held while waiting for a slot.
        let refs: Vec<&DeviceTarget> = targets.iter().collect();
        let leased = match self.sessions.lease_all(&refs).await {
            Ok(leased) => leased,
            Err((device, e)) => {
                if let Some(target) = targets.iter().find(|t| t.name == device) {
                    unreachable.insert(target.key());
                }
                return Err(format!("Device {device}: {e}"));
            }
        };
        let mut leases: BTreeMap<usize, _> = devices.into_iter().zip(leased).collect();
        for &(i, old) in orphans {
            let Some(session) = leases.get_mut(&i) else {
                continue;
            };
            if session.session_id() == old {
                continue;
            }
            let device = &keys[i];
            match session.request(Rpc::KillSession { session_id: old }).await {
                Ok(_) => {
                    tracing::info!(transaction = %record.id, %device, session = old, "ended the session the previous process left holding locks");
                }
                Err(e) => {
                    tracing::debug!(transaction = %record.id, %device, session = old, error = %e, "the previous session is gone already");
                }
            }
        }
        let mut sessions: Vec<_> = leases
            .iter_mut()
            .filter(|(i, _)| needed.contains(i))
            .map(|(_, lease)| lease)
            .collect();
        // `needed` is ascending, as the map iterates: sessions[k] serves needed[k].
        Ok(transaction::recover(record, &mut sessions).await)
    }

    async fn target(&self, key: &str) -> Result<DeviceTarget, String> {
        let (namespace, name) = key
            .split_once('/')
            .ok_or_else(|| format!("device key {key} is not namespace/name"))?;
        let api: Api<Device> = Api::namespaced(self.client.clone(), namespace);
        let device = api
            .get(name)
            .await
            .map_err(|e| format!("Device {key}: {e}"))?;
        Ok(DeviceTarget::of(&device))
    }
}

impl<C: Connector> TransactionRecovery for NetconfRecovery<C> {
    fn recover_all<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Report> {
        Box::pin(self.pass(scope))
    }
}

/// Whether a failed recovery step leaves nothing to do on the device:
///
/// - a confirming commit answered with [`no_pending_commit`]: the device confirmed before,
///   or already rolled back on its own (the owner's next reconcile re-pushes);
/// - a cancel-commit refused for good (an rpc-error that is not transient): either nothing
///   is pending (netconfd says only `operation-failed`), or the device will not cancel, in
///   which case its confirm timeout rolls the commit back by itself, which is the abort the
///   recovery wanted. Transient refusals (a lock held, the session lost) are retried.
fn nothing_pending(phase: Phase, error: &ClientError) -> bool {
    match phase {
        Phase::Confirm => no_pending_commit(error),
        Phase::Cancel => error.rpc_errors().is_some() && !error.is_transient(),
        _ => false,
    }
}

/// Devices where the recorded session (of the process that died) may still hold a lock, with
/// that session's id: a device keeps a dead client's session, and its locks, until it notices
/// the connection is gone, which can take long. Ending it with `<kill-session>` lets the
/// recovery and the next transactions in.
fn orphaned_sessions(record: &TransactionRecord) -> Vec<(usize, u32)> {
    record
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.session_id != 0 && d.may_have(Phase::Lock) && !d.did(Phase::Unlock))
        .map(|(i, d)| (i, d.session_id))
        .collect()
}

/// The decision of a record that needs nothing more (a pending one was aborted).
fn settled_decision(record: &TransactionRecord) -> Decision {
    match record.decision {
        Decision::Commit => Decision::Commit,
        Decision::Pending | Decision::Abort => Decision::Abort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::mk_candidate_record;
    use ferrule_netconf::rpc_error::{ErrorInfo, ErrorTag, ErrorType, RpcError, RpcErrors};
    use ferrule_netconf::transaction::{DeviceRecord, Outcome, Step};

    fn rejected(tag: ErrorTag) -> ClientError {
        ClientError::Rpc {
            address: "127.0.0.1:830".into(),
            operation: "commit",
            errors: RpcErrors(vec![RpcError::new(ErrorType::Protocol, tag)]),
        }
    }

    #[test]
    fn which_refusals_leave_nothing_pending() {
        assert!(nothing_pending(
            Phase::Confirm,
            &rejected(ErrorTag::InvalidValue)
        ));
        assert!(nothing_pending(
            Phase::Cancel,
            &rejected(ErrorTag::InvalidValue)
        ));
        // A lock held by another session: the commit is still pending, try again later.
        assert!(!nothing_pending(Phase::Confirm, &rejected(ErrorTag::InUse)));
        assert!(!nothing_pending(Phase::Cancel, &rejected(ErrorTag::InUse)));
        // netconfd's answer to cancel-commit of an unknown persist-id.
        assert!(nothing_pending(
            Phase::Cancel,
            &rejected(ErrorTag::OperationFailed)
        ));
        assert!(!nothing_pending(
            Phase::Confirm,
            &rejected(ErrorTag::OperationFailed)
        ));
        assert!(!nothing_pending(
            Phase::Compensate,
            &rejected(ErrorTag::InvalidValue)
        ));
        let lost = ClientError::Closed {
            address: "127.0.0.1:830".into(),
            reason: "gone".into(),
        };
        assert!(!nothing_pending(Phase::Confirm, &lost));
    }

    #[test]
    fn errors_pointing_at_the_persist_id_mean_nothing_pending() {
        // netconfd's answer.
        let mut netconfd = RpcError::new(ErrorType::Protocol, ErrorTag::OperationFailed);
        netconfd.error_path = Some("/nc:rpc/nc:commit/nc:persist-id".into());
        let mut by_element = RpcError::new(ErrorType::Protocol, ErrorTag::OperationFailed);
        by_element.error_info = Some(ErrorInfo {
            bad_element: Some("persist-id".into()),
            ..Default::default()
        });
        let mut elsewhere = RpcError::new(ErrorType::Protocol, ErrorTag::OperationFailed);
        elsewhere.error_path = Some("/nc:rpc/nc:commit/nc:persist".into());
        let answer = |errors: Vec<RpcError>| ClientError::Rpc {
            address: "127.0.0.1:830".into(),
            operation: "commit",
            errors: RpcErrors(errors),
        };
        assert!(no_pending_commit(&answer(vec![netconfd])));
        assert!(no_pending_commit(&answer(vec![by_element])));
        assert!(!no_pending_commit(&answer(vec![elsewhere])));
        assert!(!no_pending_commit(&answer(vec![])));
    }

    fn device(session_id: u32, steps: &[(Phase, Outcome)]) -> DeviceRecord {
        let mut d = mk_candidate_record("olt1");
        d.session_id = session_id;
        d.steps = steps
            .iter()
            .map(|(phase, outcome)| Step {
                phase: *phase,
                request: format!("{phase}"),
                outcome: outcome.clone(),
            })
            .collect();
        d
    }

    #[test]
    fn sessions_that_may_still_hold_locks_are_orphans() {
        let record = TransactionRecord {
            id: "t".into(),
            confirm_timeout_secs: 120,
            decision: Decision::Pending,
            devices: vec![
                device(
                    7,
                    &[(Phase::Lock, Outcome::Ok), (Phase::Edit, Outcome::Pending)],
                ),
                device(
                    8,
                    &[(Phase::Lock, Outcome::Ok), (Phase::Unlock, Outcome::Ok)],
                ),
                device(0, &[(Phase::Lock, Outcome::Pending)]),
                device(9, &[]),
            ],
        };
        assert_eq!(orphaned_sessions(&record), [(0, 7)]);
        assert_eq!(settled_decision(&record), Decision::Abort);
    }
}
