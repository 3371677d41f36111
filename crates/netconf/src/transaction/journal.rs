//! Where transaction records go while a transaction runs.

use std::future::Future;

use super::TransactionRecord;

/// Stores transaction records durably (e.g. in a Subscription's status), so that a restarted
/// controller can [`super::recover`] a transaction it did not finish.
///
/// [`super::apply`] saves the record before every phase that can change a device's running
/// configuration (with that phase's steps marked pending) and once more at the end. A save
/// that fails before the decision to commit aborts the transaction; later failures are
/// logged, because the devices' outcome is settled by then.
pub trait Journal: Send {
    /// Stores `record`, replacing the previous version of the same transaction.
    fn save(
        &mut self,
        record: &TransactionRecord,
    ) -> impl Future<Output = Result<(), JournalError>> + Send;
}

/// A journal could not store a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot store the transaction record: {0}")]
pub struct JournalError(pub String);

/// A journal that keeps nothing: for callers that store only the final record (a crash
/// mid-transaction then relies on the devices' confirm timeout alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJournal;

impl Journal for NoJournal {
    async fn save(&mut self, _record: &TransactionRecord) -> Result<(), JournalError> {
        Ok(())
    }
}

/// Keeps every saved version in memory, oldest first.
impl Journal for Vec<TransactionRecord> {
    async fn save(&mut self, record: &TransactionRecord) -> Result<(), JournalError> {
        self.push(record.clone());
        Ok(())
    }
}
