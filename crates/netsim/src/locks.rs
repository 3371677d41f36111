//! Global datastore locks (RFC 6241 §7.5): one holder per datastore, released with the session.

use super::rpc_error::RpcFailure;

/// A NETCONF session id (never 0).
pub type SessionId = u32;

/// A configuration datastore of a simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datastore {
    /// `<running/>`.
    Running,
    /// `<candidate/>`.
    Candidate,
}

/// Who holds the lock of each datastore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockTable {
    running: Option<SessionId>,
    candidate: Option<SessionId>,
}

// === impl Datastore ===

impl Datastore {
    /// The element name (`running`, `candidate`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Candidate => "candidate",
        }
    }
}

// === impl LockTable ===

impl LockTable {
    fn slot(&mut self, store: Datastore) -> &mut Option<SessionId> {
        match store {
            Datastore::Running => &mut self.running,
            Datastore::Candidate => &mut self.candidate,
        }
    }

    /// The session holding the lock of `store`, if any.
    pub fn holder(&self, store: Datastore) -> Option<SessionId> {
        match store {
            Datastore::Running => self.running,
            Datastore::Candidate => self.candidate,
        }
    }

    /// Takes the lock for `session`; `lock-denied` naming the holder when anyone (the same
    /// session included, as RFC 6241 asks) already has it.
    pub fn lock(&mut self, store: Datastore, session: SessionId) -> Result<(), RpcFailure> {
        let slot = self.slot(store);
        match *slot {
            Some(holder) => Err(RpcFailure::lock_denied(holder)),
            None => {
                *slot = Some(session);
                Ok(())
            }
        }
    }

    /// Releases the lock `session` holds on `store`.
    pub fn unlock(&mut self, store: Datastore, session: SessionId) -> Result<(), RpcFailure> {
        let slot = self.slot(store);
        match *slot {
            Some(holder) if holder == session => {
                *slot = None;
                Ok(())
            }
            Some(holder) => Err(RpcFailure::in_use(
                format!("the {} lock is held by session {holder}", store.as_str()),
                holder,
            )),
            None => Err(RpcFailure::operation_failed(format!(
                "the {} datastore is not locked",
                store.as_str()
            ))),
        }
    }

    /// Whether `session` may change `store`: `in-use` when another session holds its lock.
    pub fn check_write(&self, store: Datastore, session: SessionId) -> Result<(), RpcFailure> {
        match self.holder(store) {
            Some(holder) if holder != session => Err(RpcFailure::in_use(
                format!(
                    "the {} datastore is locked by session {holder}",
                    store.as_str()
                ),
                holder,
            )),
            _ => Ok(()),
        }
    }

    /// Releases every lock of `session`; returns the datastores that were unlocked.
    pub fn release_all(&mut self, session: SessionId) -> Vec<Datastore> {
        let mut released = Vec::new();
        for store in [Datastore::Running, Datastore::Candidate] {
            let slot = self.slot(store);
            if *slot == Some(session) {
                *slot = None;
                released.push(store);
            }
        }
        released
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_session_is_denied_with_the_holder() {
        let mut locks = LockTable::default();
        locks.lock(Datastore::Candidate, 1).unwrap();
        let err = locks.lock(Datastore::Candidate, 2).unwrap_err();
        assert_eq!(err.tag(), "lock-denied");
        assert_eq!(err.error().error_info.as_ref().unwrap().session_id, Some(1));
        assert!(
            locks.lock(Datastore::Candidate, 1).is_err(),
            "no re-entrant locks"
        );
        locks.lock(Datastore::Running, 2).unwrap();
        assert_eq!(
            locks
                .check_write(Datastore::Candidate, 2)
                .unwrap_err()
                .tag(),
            "in-use"
        );
        locks.check_write(Datastore::Candidate, 1).unwrap();
    }

    #[test]
    fn unlock_only_by_holder_and_release_on_close() {
        let mut locks = LockTable::default();
        assert_eq!(
            locks.unlock(Datastore::Running, 1).unwrap_err().tag(),
            "operation-failed"
        );
        locks.lock(Datastore::Running, 1).unwrap();
        locks.lock(Datastore::Candidate, 1).unwrap();
        assert_eq!(
            locks.unlock(Datastore::Running, 2).unwrap_err().tag(),
            "in-use"
        );
        assert_eq!(
            locks.release_all(1),
            [Datastore::Running, Datastore::Candidate]
        );
        assert_eq!(locks.holder(Datastore::Running), None);
        locks.lock(Datastore::Running, 2).unwrap();
    }
}
