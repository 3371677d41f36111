//! The transaction layer against real netconfd peers: create/modify/delete, a rejected edit
//! on one of two devices, lock contention, devices rolling back by themselves after the
//! controller died, recovery from new sessions, and concurrent transactions queueing.

// Helpers report failures by panicking, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use ferrule::southbound::client::{
    DeviceSession, ManagerPolicy, NetconfSession, SessionConfig, SessionManager, SshConnector,
};
use ferrule::southbound::rpc::Datastore;
use ferrule::southbound::rpc_error::{ErrorSeverity, ErrorTag, ErrorType};
use ferrule::southbound::transaction::{
    CommitMode, Decision, DeviceEdit, Journal, JournalError, Outcome, Phase, Transaction,
    TransactionError, TransactionRecord, apply, apply_pooled, recover, recover_pooled,
};

use crate::netconf_peer::{
    Peer, delete_xml, has_interface, interface_xml, peers, running_interfaces, serial,
};

/// netconfd's profile: candidate, no validate right before commit (quirk 2).
fn edit(device: &str, config: String, compensation: Option<String>) -> DeviceEdit {
    DeviceEdit {
        device: device.to_owned(),
        mode: CommitMode::Candidate {
            validate: false,
            lock_running: false,
        },
        edit: config,
        compensation,
    }
}

fn configs(peers: &[Peer]) -> Vec<SessionConfig> {
    peers.iter().map(Peer::config_password).collect()
}

async fn connect(peer: &Peer) -> NetconfSession {
    NetconfSession::connect(&peer.config_password())
        .await
        .unwrap()
}

/// Whether each of the first two peers holds `name` in running, read from new sessions.
async fn present_on_both(peers: &[Peer], name: &str) -> [bool; 2] {
    let mut out = [false; 2];
    for (i, peer) in peers[..2].iter().enumerate() {
        let mut s = connect(peer).await;
        out[i] = has_interface(&mut s, name).await;
        s.close().await;
    }
    out
}

async fn clean(peers: &[Peer], name: &str) {
    for peer in &peers[..2] {
        let mut s = connect(peer).await;
        peer.cleanup(&mut s, &[name]).await;
        s.close().await;
    }
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn transactions_create_modify_and_delete_on_two_devices() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/1";
    clean(&peers, name).await;
    let manager = SessionManager::new(SshConnector, ManagerPolicy::default());
    let configs = configs(&peers);
    let both = |config: &dyn Fn(usize) -> String| {
        Transaction::new(
            vec![edit("a", config(0), None), edit("b", config(1), None)],
            Duration::from_secs(60),
        )
    };

    let create = both(&|i| interface_xml(name, &format!("created on {i}"), "true", None));
    let mut journal = Vec::new();
    let record = apply_pooled(&manager, &create, &configs, &mut journal)
        .await
        .unwrap();
    assert_eq!(record.decision, Decision::Commit);
    for device in &record.devices {
        assert_eq!(device.persist_id.as_deref(), Some(create.id.as_str()));
        assert!(device.did(Phase::Confirm), "{device:?}");
    }
    assert_eq!(journal.last(), Some(&record));
    assert_eq!(present_on_both(&peers, name).await, [true, true]);

    let modify = both(&|i| interface_xml(name, &format!("modified on {i}"), "false", None));
    apply_pooled(&manager, &modify, &configs, &mut Vec::new())
        .await
        .unwrap();
    for (i, peer) in peers[..2].iter().enumerate() {
        let mut s = connect(peer).await;
        let found = running_interfaces(&mut s).await;
        let wanted = (name.to_owned(), Some(format!("modified on {i}")));
        assert!(found.contains(&wanted), "{found:?}");
        s.close().await;
    }

    let delete = both(&|_| delete_xml(&[name]));
    apply_pooled(&manager, &delete, &configs, &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(present_on_both(&peers, name).await, [false, false]);
    manager.close_all().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn a_rejected_edit_on_the_second_device_leaves_both_unchanged_and_is_shown_verbatim() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/2";
    clean(&peers, name).await;
    let (mut a, mut b) = (connect(&peers[0]).await, connect(&peers[1]).await);
    let tx = Transaction::new(
        vec![
            edit("a", interface_xml(name, "olt side", "true", None), None),
            edit("b", interface_xml(name, "bng side", "maybe", None), None),
        ],
        Duration::from_secs(60),
    );
    let err = apply(&tx, &mut [&mut a, &mut b], &mut Vec::new())
        .await
        .unwrap_err();
    let TransactionError::RolledBack {
        device,
        phase,
        source,
        record,
        ..
    } = &err
    else {
        panic!("expected a rollback, got {err}");
    };
    assert_eq!((device.as_str(), *phase), ("b", Phase::Edit));
    let errors = source.rpc_errors().expect("the device's rpc-errors");
    let e = errors.first().unwrap();
    assert_eq!(e.error_type, ErrorType::Protocol);
    assert_eq!(e.error_tag, ErrorTag::InvalidValue);
    assert_eq!(e.error_severity, ErrorSeverity::Error);
    assert_eq!(e.error_app_tag.as_deref(), Some("data-invalid"));
    assert_eq!(
        e.error_path.as_deref(),
        Some(
            "/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='ge-2/0/2']/if:enabled"
        )
    );
    assert_eq!(
        e.error_message.as_ref().map(|m| m.text.as_str()),
        Some("invalid value")
    );
    let info = e.error_info.as_ref().expect("error-info");
    assert!(info.xml.contains(">maybe<"), "{info:?}");
    assert!(!err.is_transient());
    let shown = err.to_string();
    for part in [
        "invalid-value",
        "if:enabled",
        "invalid value",
        "on b at edit-config",
    ] {
        assert!(shown.contains(part), "{part} missing from {shown}");
    }
    // The record carries the same errors for the caller to store.
    let step = record.devices[1]
        .steps
        .iter()
        .find(|s| s.phase == Phase::Edit)
        .unwrap();
    assert_eq!(
        step.outcome,
        Outcome::Rejected {
            errors: errors.clone()
        }
    );
    assert!(record.cleanup_failures().is_empty(), "{err}");

    assert!(!has_interface(&mut a, name).await);
    assert!(!has_interface(&mut b, name).await);
    // Candidate was discarded and the locks released: another session can lock both.
    for peer in &peers[..2] {
        let mut other = NetconfSession::connect(&peer.config_key()).await.unwrap();
        other.lock(Datastore::Candidate).await.unwrap();
        other.unlock(Datastore::Candidate).await.unwrap();
        other.close().await;
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn a_lock_held_by_another_session_fails_the_transaction_until_released() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/3";
    clean(&peers, name).await;
    let mut holder = NetconfSession::connect(&peers[1].config_key())
        .await
        .unwrap();
    holder.lock(Datastore::Candidate).await.unwrap();

    let (mut a, mut b) = (connect(&peers[0]).await, connect(&peers[1]).await);
    let tx = Transaction::new(
        vec![
            edit("a", interface_xml(name, "a", "true", None), None),
            edit("b", interface_xml(name, "b", "true", None), None),
        ],
        Duration::from_secs(60),
    );
    let err = apply(&tx, &mut [&mut a, &mut b], &mut Vec::new())
        .await
        .unwrap_err();
    match &err {
        TransactionError::RolledBack {
            device,
            phase: Phase::Lock,
            source,
            ..
        } if device == "b" => {
            let errors = source.rpc_errors().unwrap();
            assert!(errors.has_tag(&ErrorTag::LockDenied), "{err}");
            let held_by = errors
                .first()
                .and_then(|e| e.error_info.as_ref())
                .and_then(|i| i.session_id);
            assert_eq!(held_by, Some(holder.session_id()), "{err}");
        }
        other => panic!("expected lock-denied on b, got {other}"),
    }
    assert!(err.is_transient());
    assert!(!has_interface(&mut a, name).await);

    // Once the other session lets go, the same transaction goes through.
    holder.unlock(Datastore::Candidate).await.unwrap();
    apply(&tx, &mut [&mut a, &mut b], &mut Vec::new())
        .await
        .unwrap();
    assert!(has_interface(&mut a, name).await && has_interface(&mut b, name).await);
    holder.close().await;
    a.close().await;
    b.close().await;
    clean(&peers, name).await;
}

/// Stores records until the `stall_at`-th save (0-based), which never returns: the
/// controller dies there. With `store_stalled` that last record is stored first.
struct DyingJournal {
    records: Vec<TransactionRecord>,
    stall_at: usize,
    store_stalled: bool,
    died: Arc<Notify>,
}

impl DyingJournal {
    fn new(stall_at: usize, store_stalled: bool) -> Self {
        Self {
            records: Vec::new(),
            stall_at,
            store_stalled,
            died: Arc::default(),
        }
    }
}

impl Journal for DyingJournal {
    async fn save(&mut self, record: &TransactionRecord) -> Result<(), JournalError> {
        let n = self.records.len();
        if n < self.stall_at || self.store_stalled {
            self.records.push(record.clone());
        }
        if n >= self.stall_at {
            self.died.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

/// Runs `tx` on new sessions to both peers until the journal stalls, then drops everything
/// (sessions included, without closing them): what a controller crash leaves behind.
async fn die_during(
    peers: &[Peer],
    tx: &Transaction,
    mut journal: DyingJournal,
) -> TransactionRecord {
    let (mut a, mut b) = (connect(&peers[0]).await, connect(&peers[1]).await);
    let mut sessions = [&mut a, &mut b];
    let died = journal.died.clone();
    tokio::select! {
        result = apply(tx, &mut sessions, &mut journal) => {
            panic!("the transaction was expected to stall: {result:?}")
        }
        () = died.notified() => {}
    }
    // The controller is gone: its sessions drop without <close-session>.
    drop((a, b));
    journal.records.pop().expect("a stored record")
}

fn two_interfaces(name: &str, timeout: Duration) -> Transaction {
    Transaction::new(
        vec![
            edit("a", interface_xml(name, "a", "true", None), None),
            edit("b", interface_xml(name, "b", "true", None), None),
        ],
        timeout,
    )
}

/// Polls (slowly: netconfd runs its timers only when idle for about a second) until `name`
/// is gone from both peers.
async fn wait_until_absent(peers: &[Peer], name: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        if present_on_both(peers, name).await == [false, false] {
            return;
        }
        assert!(Instant::now() < deadline, "{name} was never rolled back");
    }
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn devices_roll_back_by_themselves_when_the_controller_dies_before_confirming() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/4";
    clean(&peers, name).await;
    // Saves: 0 before the edits, 1 before the commits, 2 the decision: die there.
    let journal = DyingJournal::new(2, true);
    let tx = two_interfaces(name, Duration::from_secs(5));
    let record = die_during(&peers, &tx, journal).await;
    assert_eq!(record.decision, Decision::Commit);
    // Both confirmed commits happened (persistent, so they outlive the dropped sessions)...
    assert_eq!(present_on_both(&peers, name).await, [true, true]);
    // ...and nobody confirms them: each device restores its previous running config.
    wait_until_absent(&peers, name).await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn recovery_confirms_from_new_sessions_after_the_controller_died() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/5";
    clean(&peers, name).await;
    let journal = DyingJournal::new(2, true);
    let timeout = Duration::from_secs(8);
    let mut record = die_during(&peers, &two_interfaces(name, timeout), journal).await;
    assert_eq!(record.decision, Decision::Commit);

    let manager = SessionManager::new(SshConnector, ManagerPolicy::default());
    let decision = recover_pooled(&manager, &mut record, &configs(&peers))
        .await
        .unwrap();
    assert_eq!(decision, Decision::Commit);
    assert!(record.devices.iter().all(|d| d.did(Phase::Confirm)));
    manager.close_all().await;
    // Still there well after the confirm timeout: the confirmation took.
    tokio::time::sleep(timeout + Duration::from_millis(2500)).await;
    assert_eq!(present_on_both(&peers, name).await, [true, true]);
    clean(&peers, name).await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn recovery_cancels_from_new_sessions_when_the_decision_was_not_stored() {
    let peers = peers(2);
    let _serial = serial().await;
    let name = "ge-2/0/6";
    clean(&peers, name).await;
    // The decision is never stored: the last record is the one written before the commits.
    let journal = DyingJournal::new(2, false);
    let mut record = die_during(
        &peers,
        &two_interfaces(name, Duration::from_secs(120)),
        journal,
    )
    .await;
    assert_eq!(record.decision, Decision::Pending);
    assert_eq!(present_on_both(&peers, name).await, [true, true]);

    let (mut a, mut b) = (connect(&peers[0]).await, connect(&peers[1]).await);
    let decision = recover(&mut record, &mut [&mut a, &mut b]).await.unwrap();
    assert_eq!(decision, Decision::Abort);
    assert!(!has_interface(&mut a, name).await);
    assert!(!has_interface(&mut b, name).await);
    a.close().await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs a NETCONF peer: FERRULE_NETCONF_PEER_ENV"]
async fn concurrent_transactions_on_a_shared_device_both_complete() {
    let peers = peers(2);
    let _serial = serial().await;
    let (first, second) = ("ge-2/0/7", "ge-2/0/8");
    clean(&peers, first).await;
    clean(&peers, second).await;
    let manager = SessionManager::new(SshConnector, ManagerPolicy::default());
    let configs = configs(&peers);
    let one = two_interfaces(first, Duration::from_secs(60));
    // The second transaction touches only b, which the first also holds.
    let two = Transaction::new(
        vec![edit("b", interface_xml(second, "b", "true", None), None)],
        Duration::from_secs(60),
    );
    let (m1, m2, c1, c2) = (
        manager.clone(),
        manager.clone(),
        configs.clone(),
        configs[1..].to_vec(),
    );
    let runs = (
        tokio::spawn(async move { apply_pooled(&m1, &one, &c1, &mut Vec::new()).await }),
        tokio::spawn(async move { apply_pooled(&m2, &two, &c2, &mut Vec::new()).await }),
    );
    let (one, two) = (runs.0.await.unwrap(), runs.1.await.unwrap());
    one.unwrap();
    two.unwrap();
    manager.close_all().await;
    assert_eq!(present_on_both(&peers, first).await, [true, true]);
    assert_eq!(present_on_both(&peers, second).await, [false, true]);
    clean(&peers, first).await;
    clean(&peers, second).await;
}
