//! The phases, the decision and the rollback of `apply`.

use std::time::Duration;

use super::scripted::{Fault, Log, Scripted, requests_of};
use super::{candidate, pair, running, tx};
use crate::rpc_error::ErrorTag;
use crate::transaction::{
    Decision, Journal, JournalError, NoJournal, Outcome, Phase, TransactionError,
    TransactionRecord, apply,
};

#[tokio::test]
async fn success_locks_edits_commits_then_confirms_every_device() {
    let log = Log::default();
    let (mut a, mut b) = (Scripted::new("a", &log), Scripted::new("b", &log));
    let tx = tx(vec![candidate("a", true), candidate("b", false)]);
    let mut journal = Vec::new();
    let record = apply(&tx, &mut [&mut a, &mut b], &mut journal)
        .await
        .unwrap();

    assert_eq!(
        requests_of(&log, "a"),
        [
            "lock candidate".to_owned(),
            "discard-changes".into(),
            "edit-config candidate config=<a/>".into(),
            "validate candidate".into(),
            format!("commit confirmed confirm-timeout=60 persist={}", tx.id),
            format!("commit persist-id={}", tx.id),
            "unlock candidate".into(),
        ]
    );
    // The profile of b says not to validate.
    assert!(
        !requests_of(&log, "b")
            .iter()
            .any(|r| r.starts_with("validate"))
    );
    for device in [&a, &b] {
        let state = device.device.lock().unwrap();
        assert_eq!(state.running, [format!("<{}/>", device.name)]);
        assert_eq!(state.pending, None);
    }
    assert_eq!(record.decision, Decision::Commit);
    assert!(
        record
            .devices
            .iter()
            .all(|d| d.persist_id.as_deref() == Some(tx.id.as_str()))
    );
    assert!(
        record
            .devices
            .iter()
            .flat_map(|d| &d.steps)
            .all(|s| s.outcome == Outcome::Ok)
    );

    // Written ahead: before the edits, before the commits, the decision, the final record.
    let decisions: Vec<Decision> = journal.iter().map(|r| r.decision).collect();
    assert_eq!(
        decisions,
        [
            Decision::Pending,
            Decision::Pending,
            Decision::Commit,
            Decision::Commit
        ]
    );
    let before_commit = &journal[1].devices[0];
    assert_eq!(before_commit.steps.last().unwrap().phase, Phase::Commit);
    assert_eq!(
        before_commit.steps.last().unwrap().outcome,
        Outcome::Pending
    );
    assert_eq!(journal.last(), Some(&record));
}

#[tokio::test]
async fn phases_run_on_all_devices_concurrently() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log);
    a.delay = Duration::from_millis(20);
    b.delay = Duration::from_millis(20);
    let tx = tx(vec![candidate("a", false), candidate("b", false)]);
    apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap();
    // Both devices are locked before either edits: phases start together and end together.
    let all = log.lock().unwrap().clone();
    let first_edit = all.iter().position(|l| l.contains("edit-config")).unwrap();
    let locks = all[..first_edit]
        .iter()
        .filter(|l| l.ends_with("lock candidate") && !l.contains("unlock"))
        .count();
    assert_eq!(locks, 2, "{all:?}");
}

#[tokio::test]
async fn an_edit_rejected_on_the_second_device_leaves_both_unchanged() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.rejecting("edit-config", ErrorTag::InvalidValue);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
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
        panic!("{err}");
    };
    assert_eq!((device.as_str(), *phase), ("b", Phase::Edit));
    assert!(
        source
            .rpc_errors()
            .unwrap()
            .has_tag(&ErrorTag::InvalidValue)
    );
    assert_eq!(record.decision, Decision::Abort);
    assert!(record.cleanup_failures().is_empty(), "{err}");
    let b_edit = record.devices[1]
        .steps
        .iter()
        .find(|s| s.phase == Phase::Edit)
        .unwrap();
    assert!(matches!(b_edit.outcome, Outcome::Rejected { .. }));
    assert!(err.to_string().contains("invalid-value"), "{err}");
    assert!(!err.is_transient());

    for device in [&a, &b] {
        assert!(device.device.lock().unwrap().running.is_empty());
        let requests = requests_of(&log, &device.name);
        assert!(
            !requests.iter().any(|r| r.starts_with("commit")),
            "{requests:?}"
        );
        assert_eq!(
            requests.last().map(String::as_str),
            Some("unlock candidate")
        );
        assert!(requests.contains(&"discard-changes".to_owned()));
    }
}

#[tokio::test]
async fn a_failed_commit_cancels_the_commits_already_made_by_persist_id() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.rejecting("commit confirmed", ErrorTag::OperationFailed);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::RolledBack {
            phase: Phase::Commit,
            ..
        }
    ));
    let a_requests = requests_of(&log, "a");
    assert!(
        a_requests.contains(&format!("cancel-commit persist-id={}", tx.id)),
        "{a_requests:?}"
    );
    // b rejected its commit: nothing to cancel there.
    assert!(
        !requests_of(&log, "b")
            .iter()
            .any(|r| r.starts_with("cancel"))
    );
    for device in [&a, &b] {
        let state = device.device.lock().unwrap();
        assert!(state.running.is_empty() && state.pending.is_none());
    }
}

#[tokio::test]
async fn running_only_devices_are_compensated_when_another_device_fails() {
    let log = Log::default();
    let mut r = Scripted::new("r", &log).running_only();
    let mut c = Scripted::new("c", &log).rejecting("commit confirmed", ErrorTag::OperationFailed);
    let tx = tx(vec![running("r"), candidate("c", false)]);
    let err = apply(&tx, &mut [&mut r, &mut c], &mut NoJournal)
        .await
        .unwrap_err();
    assert!(matches!(err, TransactionError::RolledBack { ref device, .. } if device == "c"));
    assert_eq!(
        requests_of(&log, "r"),
        [
            "lock running",
            "edit-config running error-option=rollback-on-error config=<r/>",
            "edit-config running error-option=rollback-on-error config=<undo-r/>",
            "unlock running",
        ]
    );
    assert_eq!(r.device.lock().unwrap().running, ["<r/>", "<undo-r/>"]);
}

#[tokio::test]
async fn a_rejected_running_edit_needs_no_compensation() {
    let log = Log::default();
    let mut r = Scripted::new("r", &log)
        .running_only()
        .rejecting("edit-config", ErrorTag::InvalidValue);
    let err = apply(&tx(vec![running("r")]), &mut [&mut r], &mut NoJournal)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::RolledBack {
            phase: Phase::Edit,
            ..
        }
    ));
    assert_eq!(requests_of(&log, "r").len(), 3, "lock, edit, unlock");
}

#[tokio::test]
async fn base_1_0_sessions_commit_without_persist_and_roll_back_by_closing() {
    let log = Log::default();
    let (a, b, tx) = pair(&log);
    let mut a = a.base_1_0();
    let mut b = b.rejecting("commit confirmed", ErrorTag::OperationFailed);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap_err();
    let record = err.record().unwrap();
    assert_eq!(record.devices[0].persist_id, None);
    let requests = requests_of(&log, "a");
    assert!(requests.contains(&"commit confirmed confirm-timeout=60".to_owned()));
    assert_eq!(requests.last().map(String::as_str), Some("close"));
    assert!(a.device.lock().unwrap().running.is_empty());
}

#[tokio::test]
async fn lock_running_where_the_profile_says_and_release_in_reverse() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut edit = candidate("a", false);
    edit.mode = crate::transaction::CommitMode::Candidate {
        validate: false,
        lock_running: true,
    };
    apply(&tx(vec![edit]), &mut [&mut a], &mut NoJournal)
        .await
        .unwrap();
    let requests = requests_of(&log, "a");
    assert_eq!(requests[..2], ["lock candidate", "lock running"]);
    assert_eq!(
        requests[requests.len() - 2..],
        ["unlock running", "unlock candidate"]
    );
}

#[tokio::test]
async fn confirm_is_retried_on_transient_errors() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.failing("commit persist-id", Fault::Reject(ErrorTag::InUse), 2);
    let record = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap();
    let confirms = requests_of(&log, "b")
        .iter()
        .filter(|r| r.starts_with("commit persist-id"))
        .count();
    assert_eq!(confirms, 3);
    assert!(record.devices[1].did(Phase::Confirm));
    assert!(b.device.lock().unwrap().pending.is_none());
}

#[tokio::test]
async fn a_confirm_that_keeps_failing_is_reported_with_the_record() {
    let log = Log::default();
    let (mut a, b, tx) = pair(&log);
    let mut b = b.rejecting("commit persist-id", ErrorTag::OperationFailed);
    let err = apply(&tx, &mut [&mut a, &mut b], &mut NoJournal)
        .await
        .unwrap_err();
    let TransactionError::ConfirmIncomplete {
        unconfirmed,
        record,
        ..
    } = err
    else {
        panic!("expected an incomplete confirmation");
    };
    assert_eq!(unconfirmed.len(), 1);
    assert_eq!(unconfirmed[0].0, "b");
    assert_eq!(record.decision, Decision::Commit);
    assert!(record.devices[0].did(Phase::Confirm));
    assert!(!record.devices[1].did(Phase::Confirm));
    assert!(b.device.lock().unwrap().pending.is_some());
    assert_eq!(
        requests_of(&log, "b").last().map(String::as_str),
        Some("unlock candidate")
    );
}

#[tokio::test]
async fn checks_happen_before_anything_is_sent() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log).running_only();
    let err = apply(
        &tx(vec![candidate("a", false), candidate("b", false)]),
        &mut [&mut a, &mut b],
        &mut NoJournal,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, TransactionError::RolledBack { phase: Phase::Check, ref device, .. } if device == "b")
    );

    let mut no_compensation = running("b");
    no_compensation.compensation = None;
    let mut no_id = tx(vec![candidate("a", false)]);
    no_id.id.clear();
    let twice = tx(vec![candidate("a", false), candidate("a", false)]);
    let one = tx(vec![candidate("a", false)]);
    for (bad, why) in [
        (tx(vec![no_compensation]), "no compensating edit"),
        (no_id, "id is empty"),
        (twice, "two edits"),
        (one, "1 edits but 2 sessions"),
    ] {
        let err = apply(&bad, &mut [&mut a, &mut b], &mut NoJournal)
            .await
            .unwrap_err();
        assert!(matches!(err, TransactionError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
    assert!(log.lock().unwrap().is_empty());
}

/// Refuses the n-th save (0-based) and every later one.
struct FailingJournal {
    saves: usize,
    fail_from: usize,
}

impl Journal for FailingJournal {
    async fn save(&mut self, _record: &TransactionRecord) -> Result<(), JournalError> {
        self.saves += 1;
        if self.saves > self.fail_from {
            return Err(JournalError("status update refused".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_journal_that_cannot_store_the_decision_aborts_the_transaction() {
    for fail_from in 0..3 {
        let log = Log::default();
        let mut a = Scripted::new("a", &log);
        let mut journal = FailingJournal {
            saves: 0,
            fail_from,
        };
        let err = apply(
            &tx(vec![candidate("a", false)]),
            &mut [&mut a],
            &mut journal,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, TransactionError::Journal { .. }), "{err}");
        let state = a.device.lock().unwrap();
        assert!(
            state.running.is_empty() && state.pending.is_none(),
            "{fail_from}"
        );
        let requests = requests_of(&log, "a");
        assert!(!requests.iter().any(|r| r.starts_with("commit persist-id")));
        assert_eq!(
            requests.last().map(String::as_str),
            Some("unlock candidate")
        );
    }
}
