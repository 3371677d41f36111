//! Commit, confirmed commit (RFC 6241 §8.4, `:confirmed-commit:1.1`), cancel-commit and
//! discard-changes over a device's datastores, as a pure state machine.
//!
//! The configuration type is generic so that the rules can be tested on plain values; the
//! simulator uses shared config trees (`Arc<ConfigTree>`), so that a commit, a rollback, a
//! discard or a cancel moves a pointer instead of copying a configuration, and a candidate
//! that is the running snapshot itself compares equal to it at once (std's `Arc` compares
//! pointers first when the content is `Eq`). Timers live outside: a confirmed commit returns a
//! [`Deadline`] and the caller calls [`Datastores::expire`] with its generation when the
//! timeout fires; a stale generation (the commit was confirmed or extended since) does nothing.

use std::time::Duration;

use super::locks::SessionId;
use super::rpc_error::RpcFailure;
use ferrule_netconf::rpc_error::ErrorType;

/// The confirm-timeout when a confirmed commit gives none (RFC 6241: 600 seconds).
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(600);

/// The running and (on candidate devices) candidate configuration of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datastores<T> {
    /// The running configuration.
    pub running: T,
    /// The candidate configuration, on devices with `:candidate`.
    pub candidate: Option<T>,
    pending: Option<Pending<T>>,
    generation: u64,
}

/// A confirmed commit waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<T> {
    /// The running configuration from before the confirmed commit.
    pub rollback: T,
    /// The persist token, when the commit survives its session.
    pub persist: Option<String>,
    /// The session that issued it.
    pub session: SessionId,
    /// Which timer belongs to it.
    pub generation: u64,
}

/// The parameters of a `<commit>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitRequest {
    /// `<confirmed/>` was given.
    pub confirmed: bool,
    /// `<confirm-timeout>`, if given.
    pub timeout: Option<Duration>,
    /// `<persist>`, if given.
    pub persist: Option<String>,
    /// `<persist-id>`, if given.
    pub persist_id: Option<String>,
}

/// When to roll a confirmed commit back unless it is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// Pass this to [`Datastores::expire`] when the timer fires.
    pub generation: u64,
    /// How long from now.
    pub after: Duration,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The candidate became running; no confirmation is pending.
    Committed,
    /// The candidate became running and will be rolled back at the deadline unless confirmed.
    AwaitingConfirm(Deadline),
}

// === impl Datastores ===

impl<T: Clone + PartialEq> Datastores<T> {
    /// Datastores starting from `initial`; `with_candidate` gives the device a candidate.
    pub fn new(initial: T, with_candidate: bool) -> Self {
        Self {
            candidate: with_candidate.then(|| initial.clone()),
            running: initial,
            pending: None,
            generation: 0,
        }
    }

    /// The confirmed commit waiting for confirmation, if any.
    pub fn pending(&self) -> Option<&Pending<T>> {
        self.pending.as_ref()
    }

    /// Whether the candidate holds changes that are not in running.
    pub fn candidate_dirty(&self) -> bool {
        self.candidate.as_ref().is_some_and(|c| *c != self.running)
    }

    fn candidate_or_fail(&self) -> Result<&T, RpcFailure> {
        self.candidate.as_ref().ok_or_else(no_candidate)
    }

    /// `<commit>` from `session`: makes the candidate running, per RFC 6241 §8.3 and §8.4.
    pub fn commit(
        &mut self,
        request: &CommitRequest,
        session: SessionId,
    ) -> Result<CommitOutcome, RpcFailure> {
        let candidate = self.candidate_or_fail()?.clone();
        match &self.pending {
            Some(pending) => authorize(pending, request.persist_id.as_deref(), session)?,
            None if request.persist_id.is_some() => {
                return Err(RpcFailure::invalid_value(
                    "no confirmed commit is pending for this persist-id",
                )
                .with_info("bad-element", "persist-id"));
            }
            None => {}
        }
        let before = std::mem::replace(&mut self.running, candidate);
        self.generation += 1;
        if !request.confirmed {
            self.pending = None;
            return Ok(CommitOutcome::Committed);
        }
        let rollback = match self.pending.take() {
            // A follow-up confirmed commit keeps the configuration from before the first one.
            Some(previous) => previous.rollback,
            None => before,
        };
        self.pending = Some(Pending {
            rollback,
            persist: request.persist.clone(),
            session,
            generation: self.generation,
        });
        Ok(CommitOutcome::AwaitingConfirm(Deadline {
            generation: self.generation,
            after: request.timeout.unwrap_or(DEFAULT_CONFIRM_TIMEOUT),
        }))
    }

    /// `<cancel-commit>`: rolls a pending confirmed commit back now.
    pub fn cancel(
        &mut self,
        persist_id: Option<&str>,
        session: SessionId,
    ) -> Result<(), RpcFailure> {
        let Some(pending) = &self.pending else {
            return Err(RpcFailure::operation_failed(
                "no confirmed commit is pending",
            ));
        };
        authorize(pending, persist_id, session)?;
        self.roll_back();
        Ok(())
    }

    /// The confirm-timeout of `generation` fired: rolls back if it is still the pending one.
    /// Returns whether a rollback happened.
    pub fn expire(&mut self, generation: u64) -> bool {
        match &self.pending {
            Some(pending) if pending.generation == generation => {
                self.roll_back();
                true
            }
            _ => false,
        }
    }

    /// `session` ended: a confirmed commit it issued without `<persist>` is rolled back.
    /// Returns whether a rollback happened.
    pub fn session_closed(&mut self, session: SessionId) -> bool {
        match &self.pending {
            Some(pending) if pending.persist.is_none() && pending.session == session => {
                self.roll_back();
                true
            }
            _ => false,
        }
    }

    /// `<discard-changes>`: the candidate becomes running again.
    pub fn discard(&mut self) -> Result<(), RpcFailure> {
        self.candidate_or_fail()?;
        self.candidate = Some(self.running.clone());
        Ok(())
    }

    /// Restores running from the pending rollback; the candidate follows, so that the
    /// rolled-back changes are not committed again by accident.
    fn roll_back(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.running = pending.rollback;
            if self.candidate.is_some() {
                self.candidate = Some(self.running.clone());
            }
            self.generation += 1;
        }
    }
}

/// Whether `session` (with `persist_id`) may confirm, extend or cancel `pending`.
fn authorize<T>(
    pending: &Pending<T>,
    persist_id: Option<&str>,
    session: SessionId,
) -> Result<(), RpcFailure> {
    match (&pending.persist, persist_id) {
        (Some(token), Some(given)) if token == given => Ok(()),
        (Some(_), Some(_)) => Err(RpcFailure::invalid_value(
            "persist-id does not match the pending confirmed commit",
        )
        .with_info("bad-element", "persist-id")),
        (Some(_), None) => Err(RpcFailure::new(
            ErrorType::Protocol,
            "operation-failed",
            "a confirmed commit with persist is pending: give its persist-id",
        )),
        (None, Some(_)) => Err(RpcFailure::invalid_value(
            "the pending confirmed commit has no persist token",
        )
        .with_info("bad-element", "persist-id")),
        (None, None) if pending.session == session => Ok(()),
        (None, None) => Err(RpcFailure::in_use(
            format!(
                "a confirmed commit of session {} is pending; only that session may confirm it",
                pending.session
            ),
            pending.session,
        )),
    }
}

fn no_candidate() -> RpcFailure {
    RpcFailure::not_supported("this device has no candidate datastore")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores() -> Datastores<&'static str> {
        Datastores::new("a", true)
    }

    fn confirmed(timeout: u64, persist: Option<&str>) -> CommitRequest {
        CommitRequest {
            confirmed: true,
            timeout: Some(Duration::from_secs(timeout)),
            persist: persist.map(str::to_owned),
            persist_id: None,
        }
    }

    #[test]
    fn plain_commit_copies_candidate() {
        let mut s = stores();
        s.candidate = Some("b");
        assert!(s.candidate_dirty());
        assert_eq!(
            s.commit(&CommitRequest::default(), 1).unwrap(),
            CommitOutcome::Committed
        );
        assert_eq!(s.running, "b");
        assert!(!s.candidate_dirty());
    }

    #[test]
    fn confirmed_commit_times_out_and_restores_both() {
        let mut s = stores();
        s.candidate = Some("b");
        let CommitOutcome::AwaitingConfirm(deadline) = s.commit(&confirmed(2, None), 1).unwrap()
        else {
            panic!("expected a deadline");
        };
        assert_eq!(deadline.after, Duration::from_secs(2));
        assert_eq!(s.running, "b");
        assert!(s.expire(deadline.generation));
        assert_eq!((s.running, s.candidate), ("a", Some("a")));
        assert!(!s.expire(deadline.generation), "a timer fires once");
    }

    #[test]
    fn confirming_commit_disarms_the_timer() {
        let mut s = stores();
        s.candidate = Some("b");
        let CommitOutcome::AwaitingConfirm(deadline) = s.commit(&confirmed(2, None), 1).unwrap()
        else {
            panic!("expected a deadline");
        };
        assert_eq!(
            s.commit(&CommitRequest::default(), 1).unwrap(),
            CommitOutcome::Committed
        );
        assert!(!s.expire(deadline.generation));
        assert_eq!(s.running, "b");
    }

    #[test]
    fn follow_up_confirmed_commit_keeps_the_first_rollback() {
        let mut s = stores();
        s.candidate = Some("b");
        let first = s.commit(&confirmed(60, None), 1).unwrap();
        s.candidate = Some("c");
        let CommitOutcome::AwaitingConfirm(second) = s.commit(&confirmed(60, None), 1).unwrap()
        else {
            panic!("expected a deadline");
        };
        let CommitOutcome::AwaitingConfirm(first) = first else {
            panic!("expected a deadline");
        };
        assert!(!s.expire(first.generation), "the first timer is stale");
        assert_eq!(s.running, "c");
        assert!(s.expire(second.generation));
        assert_eq!(s.running, "a");
    }

    #[test]
    fn without_persist_only_the_issuing_session_confirms_and_close_rolls_back() {
        let mut s = stores();
        s.candidate = Some("b");
        s.commit(&confirmed(60, None), 1).unwrap();
        assert_eq!(
            s.commit(&CommitRequest::default(), 2).unwrap_err().tag(),
            "in-use"
        );
        assert!(!s.session_closed(2));
        assert!(s.session_closed(1));
        assert_eq!(s.running, "a");
    }

    #[test]
    fn persist_survives_the_session_and_needs_the_id() {
        let mut s = stores();
        s.candidate = Some("b");
        s.commit(&confirmed(60, Some("tx-1")), 1).unwrap();
        assert!(!s.session_closed(1));
        assert_eq!(s.running, "b");
        let plain = CommitRequest::default();
        assert_eq!(s.commit(&plain, 2).unwrap_err().tag(), "operation-failed");
        let wrong = CommitRequest {
            persist_id: Some("tx-2".to_owned()),
            ..CommitRequest::default()
        };
        assert_eq!(s.commit(&wrong, 2).unwrap_err().tag(), "invalid-value");
        let right = CommitRequest {
            persist_id: Some("tx-1".to_owned()),
            ..CommitRequest::default()
        };
        assert_eq!(s.commit(&right, 2).unwrap(), CommitOutcome::Committed);
        assert!(s.pending().is_none());
        assert_eq!(s.commit(&right, 2).unwrap_err().tag(), "invalid-value");
    }

    #[test]
    fn cancel_commit_rules() {
        let mut s = stores();
        assert_eq!(s.cancel(None, 1).unwrap_err().tag(), "operation-failed");
        s.candidate = Some("b");
        s.commit(&confirmed(60, Some("p")), 1).unwrap();
        assert!(s.cancel(None, 1).is_err());
        assert!(s.cancel(Some("q"), 1).is_err());
        s.cancel(Some("p"), 3).unwrap();
        assert_eq!((s.running, s.candidate), ("a", Some("a")));
    }

    #[test]
    fn discard_and_running_only_devices() {
        let mut s = stores();
        s.candidate = Some("b");
        s.discard().unwrap();
        assert_eq!(s.candidate, Some("a"));
        let mut r = Datastores::new("a", false);
        assert_eq!(r.discard().unwrap_err().tag(), "operation-not-supported");
        assert!(r.commit(&CommitRequest::default(), 1).is_err());
        assert!(!r.candidate_dirty());
    }
}
