//! Tests of the transaction's ordering and rollback against scripted sessions.

use std::sync::{Arc, Mutex};

use super::*;
use crate::southbound::client::capabilities::{BASE_1_0, BASE_1_1, Capabilities};
use crate::southbound::client::error::{RpcError, RpcErrors};
use crate::southbound::client::reply::ParsedReply;

type Log = Arc<Mutex<Vec<String>>>;

/// A session that logs each operation as `device:operation` and fails the scripted one.
#[derive(Debug)]
struct Scripted {
    name: &'static str,
    log: Log,
    fail_on: Option<&'static str>,
    /// How many times the scripted operation fails (then succeeds).
    failures_left: usize,
    transient: bool,
    caps: Capabilities,
    version: BaseVersion,
    usable: bool,
}

impl Scripted {
    fn new(name: &'static str, log: &Log) -> Self {
        Self {
            name,
            log: log.clone(),
            fail_on: None,
            failures_left: usize::MAX,
            transient: false,
            caps: Capabilities::new(
                [BASE_1_0, BASE_1_1, CANDIDATE, CONFIRMED_COMMIT_1_1]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            version: BaseVersion::V1_1,
            usable: true,
        }
    }

    fn failing(mut self, op: &'static str) -> Self {
        self.fail_on = Some(op);
        self
    }

    fn step(&mut self, op: &str) -> Result<(), ClientError> {
        self.log.lock().unwrap().push(format!("{}:{op}", self.name));
        if self.fail_on == Some(op) && self.failures_left > 0 {
            self.failures_left -= 1;
            let tag = if self.transient {
                "in-use"
            } else {
                "invalid-value"
            };
            return Err(ClientError::Rpc {
                address: self.name.into(),
                errors: RpcErrors {
                    operation: op.into(),
                    errors: vec![RpcError {
                        error_type: "application".into(),
                        tag: tag.into(),
                        severity: "error".into(),
                        ..RpcError::default()
                    }],
                },
            });
        }
        Ok(())
    }
}

impl DeviceSession for Scripted {
    fn address(&self) -> &str {
        self.name
    }
    fn session_id(&self) -> u32 {
        1
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn base_version(&self) -> BaseVersion {
        self.version
    }
    fn is_usable(&self) -> bool {
        self.usable
    }
    async fn rpc(&mut self, _operation: &str) -> Result<ParsedReply, ClientError> {
        self.step("rpc").map(|()| ParsedReply::default())
    }
    async fn close(&mut self) {
        let _ = self.step("close");
        self.usable = false;
    }
    async fn lock(&mut self, _: Datastore) -> Result<(), ClientError> {
        self.step("lock")
    }
    async fn unlock(&mut self, _: Datastore) -> Result<(), ClientError> {
        self.step("unlock")
    }
    async fn discard_changes(&mut self) -> Result<(), ClientError> {
        self.step("discard")
    }
    async fn edit_config(
        &mut self,
        _: Datastore,
        _: &str,
        _: EditOptions,
    ) -> Result<(), ClientError> {
        self.step("edit")
    }
    async fn validate(&mut self, _: Datastore) -> Result<(), ClientError> {
        self.step("validate")
    }
    async fn commit_confirmed(
        &mut self,
        _: Duration,
        persist: Option<&str>,
    ) -> Result<(), ClientError> {
        let op = if persist.is_some() {
            "commit-confirmed-persist"
        } else {
            "commit-confirmed"
        };
        self.step(op)
    }
    async fn confirm_commit(&mut self, persist_id: Option<&str>) -> Result<(), ClientError> {
        self.step(if persist_id.is_some() {
            "confirm-persist"
        } else {
            "confirm"
        })
    }
    async fn cancel_commit(&mut self, persist_id: Option<&str>) -> Result<(), ClientError> {
        self.step(if persist_id.is_some() {
            "cancel-persist"
        } else {
            "cancel"
        })
    }
}

fn tx(devices: &[&str], validate: bool) -> Transaction {
    Transaction {
        id: "ferrule-test".into(),
        confirm_timeout: Duration::from_secs(60),
        edits: devices
            .iter()
            .map(|d| DeviceEdit {
                device: d.to_string(),
                config: "<x/>".into(),
                options: EditOptions::default(),
                validate,
            })
            .collect(),
    }
}

fn log_of(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn success_prepares_commits_then_confirms_everywhere() {
    let log = Log::default();
    let (mut a, mut b) = (Scripted::new("a", &log), Scripted::new("b", &log));
    apply(&tx(&["a", "b"], true), &mut [&mut a, &mut b])
        .await
        .unwrap();
    assert_eq!(
        log_of(&log),
        [
            "a:lock",
            "a:discard",
            "a:edit",
            "a:validate",
            "b:lock",
            "b:discard",
            "b:edit",
            "b:validate",
            "a:commit-confirmed-persist",
            "b:commit-confirmed-persist",
            "a:confirm-persist",
            "b:confirm-persist",
            "a:unlock",
            "b:unlock",
        ]
    );
}

#[tokio::test]
async fn an_edit_rejected_on_the_second_device_rolls_back_both() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log).failing("edit");
    let err = apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b])
        .await
        .unwrap_err();
    match &err {
        TransactionError::RolledBack {
            device,
            phase,
            source,
            cleanup,
            ..
        } => {
            assert_eq!(device, "b");
            assert_eq!(*phase, Phase::Edit);
            assert!(source.rpc_errors().unwrap().has_tag("invalid-value"));
            assert!(cleanup.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        log_of(&log),
        [
            "a:lock",
            "a:discard",
            "a:edit",
            "b:lock",
            "b:discard",
            "b:edit",
            "b:discard",
            "b:unlock",
            "a:discard",
            "a:unlock",
        ]
    );
    assert!(err.to_string().contains("invalid-value"));
}

#[tokio::test]
async fn a_failed_commit_cancels_the_commits_already_made() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log).failing("commit-confirmed-persist");
    let err = apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::RolledBack {
            phase: Phase::Commit,
            ..
        }
    ));
    let log = log_of(&log);
    let tail: Vec<&str> = log.iter().skip(6).map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "a:commit-confirmed-persist",
            "b:commit-confirmed-persist",
            "b:cancel-persist",
            "b:discard",
            "b:unlock",
            "a:cancel-persist",
            "a:discard",
            "a:unlock",
        ]
    );
}

#[tokio::test]
async fn base_1_0_sessions_commit_without_persist_and_roll_back_by_closing() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    a.version = BaseVersion::V1_0;
    a.caps = Capabilities::new(vec![
        BASE_1_0.into(),
        CANDIDATE.into(),
        CONFIRMED_COMMIT_1_0.into(),
    ]);
    let mut b = Scripted::new("b", &log).failing("commit-confirmed-persist");
    let err = apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::RolledBack {
            phase: Phase::Commit,
            ..
        }
    ));
    let log = log_of(&log);
    assert!(log.contains(&"a:commit-confirmed".to_string()), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("a:close"), "{log:?}");
}

#[tokio::test]
async fn confirm_is_retried_on_transient_errors_and_partial_confirms_are_reported() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log).failing("confirm-persist");
    b.transient = true;
    b.failures_left = 2;
    apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b])
        .await
        .unwrap();
    let confirms = log_of(&log)
        .iter()
        .filter(|l| *l == "b:confirm-persist")
        .count();
    assert_eq!(confirms, 3);

    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log).failing("confirm-persist");
    match apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b]).await {
        Err(TransactionError::ConfirmIncomplete {
            confirmed,
            unconfirmed,
            ..
        }) => {
            assert_eq!(confirmed, ["a"]);
            assert_eq!(unconfirmed.len(), 1);
            assert_eq!(unconfirmed[0].0, "b");
        }
        other => panic!("{other:?}"),
    }
    assert!(log_of(&log).ends_with(&["a:unlock".to_string(), "b:unlock".to_string()]));
}

#[tokio::test]
async fn missing_capabilities_stop_before_touching_any_device() {
    let log = Log::default();
    let mut a = Scripted::new("a", &log);
    let mut b = Scripted::new("b", &log);
    b.caps = Capabilities::new(vec![BASE_1_1.into()]);
    let err = apply(&tx(&["a", "b"], false), &mut [&mut a, &mut b])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::RolledBack {
            phase: Phase::Check,
            ..
        }
    ));
    assert!(log_of(&log).is_empty());
    let err = apply(&tx(&["a"], false), &mut [&mut a, &mut b])
        .await
        .unwrap_err();
    assert!(matches!(err, TransactionError::Mismatched { .. }));
}
