//! Tests of the transaction layer against scripted sessions.

mod apply_tests;
mod pool_tests;
mod recover_tests;
mod scripted;

use std::time::Duration;

use super::{CommitMode, DeviceEdit, Transaction};
use scripted::{Log, Scripted};

/// A transaction with a fresh id and a 60 s confirm timeout.
fn tx(edits: Vec<DeviceEdit>) -> Transaction {
    Transaction::new(edits, Duration::from_secs(60))
}

/// A candidate device's edit `<NAME/>` (compensation `<undo-NAME/>`).
fn candidate(device: &str, validate: bool) -> DeviceEdit {
    DeviceEdit {
        device: device.to_owned(),
        mode: CommitMode::Candidate {
            validate,
            lock_running: false,
        },
        edit: format!("<{device}/>"),
        compensation: Some(format!("<undo-{device}/>")),
    }
}

/// A running-only device's edit `<NAME/>` with compensation `<undo-NAME/>`.
fn running(device: &str) -> DeviceEdit {
    DeviceEdit {
        mode: CommitMode::Running,
        ..candidate(device, false)
    }
}

/// Candidate devices `a` and `b` logging to `log`, and a transaction editing both.
fn pair(log: &Log) -> (Scripted, Scripted, Transaction) {
    (
        Scripted::new("a", log),
        Scripted::new("b", log),
        tx(vec![candidate("a", false), candidate("b", false)]),
    )
}
