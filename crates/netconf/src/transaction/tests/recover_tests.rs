//! Finishing transactions from their record, from new sessions.

use std::time::Duration;

use super::scripted::{Fault, Log, Scripted, requests_of};
use super::{candidate, pair, running, tx};
use crate::rpc_error::ErrorTag;
use crate::transaction::{
    Decision, NoJournal, Phase, RecoverError, TransactionError, TransactionRecord, apply,
    needs_recovery, recover,
};

/// Runs `apply` until it stalls on a hanging request, then drops it: the controller died.
/// Returns the last record the journal holds.
async fn crash(
    tx: &crate::transaction::Transaction,
    sessions: &mut [&mut Scripted],
) -> TransactionRecord {
    let mut journal = Vec::new();
    let run = apply(tx, sessions, &mut journal);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), run)
            .await
            .is_err(),
        "the transaction was expected to stall"
    );
    journal.pop().expect("a saved record")
}

#[tokio::test]
async fn a_crash_after_the_decision_is_confirmed_by_persist_id_from_a_new_session() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.failing("commit persist-id", Fault::Stall, 1);
    let mut record = crash(&tx, &mut [&mut a, &mut b]).await;
    assert_eq!(record.decision, Decision::Commit);
    assert!(b.device.lock().unwrap().pending.is_some());

    // Only b's confirmation may be missing from the record; a new session to it confirms.
    let needed = needs_recovery(&record);
    assert_eq!(needed, [0, 1]);
    let mut a2 = Scripted::on("a", &log, &a.device);
    let mut b2 = Scripted::on("b", &log, &b.device);
    let decision = recover(&mut record, &mut [&mut a2, &mut b2]).await;
    // a was confirmed before the crash (the record had it pending): confirming again is
    // refused, b is confirmed now.
    match decision {
        Err(RecoverError::Incomplete { failures, .. }) => {
            assert_eq!(failures.len(), 1);
            assert_eq!(
                (failures[0].0.as_str(), failures[0].1),
                ("a", Phase::Confirm)
            );
        }
        other => panic!("{other:?}"),
    }
    for device in [&a, &b] {
        let state = device.device.lock().unwrap();
        assert_eq!(state.running, [format!("<{}/>", device.name)]);
        assert!(state.pending.is_none());
    }
}

#[tokio::test]
async fn a_confirm_incomplete_transaction_is_finished_by_recover() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.rejecting("commit persist-id", ErrorTag::OperationFailed);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap_err();
    let TransactionError::ConfirmIncomplete { mut record, .. } = err else {
        panic!("{err}");
    };
    assert_eq!(needs_recovery(&record), [1]);
    let mut b2 = Scripted::on("b", &log, &b.device);
    let decision = recover(&mut record, &mut [&mut b2]).await.unwrap();
    assert_eq!(decision, Decision::Commit);
    assert!(b.device.lock().unwrap().pending.is_none());
    assert_eq!(b.device.lock().unwrap().running, ["<b/>"]);
    assert!(needs_recovery(&record).is_empty());
}

#[tokio::test]
async fn a_confirmation_whose_answer_was_lost_is_reported_not_hidden() {
    let log = Log::default();
    let mut b = Scripted::new("b", &log).failing("commit persist-id", Fault::Timeout, 1);
    let err = apply(
        &tx(vec![candidate("b", false)]),
        &mut [&mut b],
        &mut NoJournal,
    )
    .await
    .unwrap_err();
    let TransactionError::ConfirmIncomplete { mut record, .. } = err else {
        panic!("{err}");
    };
    // The timed-out confirmation did take effect; the record cannot know, so recovery tries
    // again and the device no longer knows the persist id.
    assert_eq!(needs_recovery(&record), [0]);
    let mut b2 = Scripted::on("b", &log, &b.device);
    let err = recover(&mut record, &mut [&mut b2]).await.unwrap_err();
    assert!(matches!(err, RecoverError::Incomplete { .. }), "{err}");
    assert_eq!(b.device.lock().unwrap().running, ["<b/>"]);
}

#[tokio::test]
async fn a_crash_before_the_decision_is_cancelled_and_compensated() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut r = Scripted::new("r", &log).running_only();
    let mut b = Scripted::new("b", &log).failing("commit confirmed", Fault::Hang, 1);
    let tx = tx(vec![
        candidate("a", false),
        running("r"),
        candidate("b", false),
    ]);
    let mut record = crash(&tx, &mut [&mut a, &mut r, &mut b]).await;
    assert_eq!(record.decision, Decision::Pending);
    assert!(a.device.lock().unwrap().pending.is_some());
    assert_eq!(r.device.lock().unwrap().running, ["<r/>"]);

    assert_eq!(needs_recovery(&record), [0, 1, 2]);
    let mut a2 = Scripted::on("a", &log, &a.device);
    let mut r2 = Scripted::on("r", &log, &r.device).running_only();
    let mut b2 = Scripted::on("b", &log, &b.device);
    let decision = recover(&mut record, &mut [&mut a2, &mut r2, &mut b2])
        .await
        .unwrap();
    assert_eq!(decision, Decision::Abort);
    assert_eq!(record.decision, Decision::Abort);
    for device in [&a, &b] {
        let state = device.device.lock().unwrap();
        assert!(state.running.is_empty() && state.pending.is_none());
    }
    assert_eq!(r.device.lock().unwrap().running, ["<r/>", "<undo-r/>"]);
    assert!(
        requests_of(&log, "a")
            .last()
            .is_some_and(|l| *l == format!("cancel-commit persist-id={}", tx.id))
    );
    // Everything is done: nothing left to recover.
    assert!(needs_recovery(&record).is_empty());
}

#[tokio::test]
async fn rollback_steps_that_failed_are_finished_by_recover() {
    let log = Log::default();
    let (a, b, tx) = pair(&log);
    let mut a = a.failing("cancel-commit", Fault::Timeout, 1);
    let mut b = b.rejecting("commit confirmed", ErrorTag::OperationFailed);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap_err();
    let TransactionError::RolledBack { mut record, .. } = err else {
        panic!("{err}");
    };
    let cleanup = format!("{:?}", record.cleanup_failures());
    assert!(cleanup.contains("cancel-commit"), "{cleanup}");
    // The timed-out cancel did take effect; a new session finds nothing to cancel.
    assert_eq!(needs_recovery(&record), [0]);
    let mut a2 = Scripted::on("a", &log, &a.device);
    assert!(recover(&mut record, &mut [&mut a2]).await.is_err());
    assert!(a.device.lock().unwrap().running.is_empty());

    assert!(matches!(
        recover::<Scripted>(&mut record, &mut []).await,
        Err(RecoverError::Invalid { .. })
    ));
}

#[test]
fn records_survive_json_as_a_caller_stores_them() {
    let mut record = TransactionRecord {
        id: "ferrule-1".into(),
        confirm_timeout_secs: 60,
        decision: Decision::Commit,
        devices: vec![crate::transaction::DeviceRecord::new(candidate("a", true))],
    };
    record.devices[0].persist_id = Some("ferrule-1".into());
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["devices"][0]["mode"]["datastore"], "candidate");
    assert_eq!(json["devices"][0]["device"], "a");
    let back: TransactionRecord = serde_json::from_value(json).unwrap();
    assert_eq!(back, record);
}
