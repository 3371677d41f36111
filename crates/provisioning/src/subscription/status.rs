//! Status: the subscription's phase and conditions from the outcome of the pipeline, and the
//! Events that announce a transition.
//!
//! Pure. Conditions written by other controllers (Billable, Degraded) are carried over
//! untouched; the controller patches the status only when [`next_status`] changed it.

use ferrule_crds::bss::subscription::{
    Allocations, DeviceConfig, SubscriptionPhase, SubscriptionStatus,
};
use ferrule_crds::condition::{find_condition, set_condition, types};
use ferrule_crds::{Condition, ConditionStatus, Timestamp};

use ferrule_operator::context::Note;
use ferrule_operator::reasons;

/// How far the pipeline got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The spec or a referenced resource must change.
    Invalid {
        /// Condition reason.
        reason: &'static str,
        /// What to fix.
        message: String,
    },
    /// Pushes wait for something outside Ferrule (a device in maintenance).
    Waiting {
        /// Condition reason.
        reason: &'static str,
        /// What is awaited.
        message: String,
    },
    /// A transaction is about to run.
    Provisioning {
        /// Which devices.
        message: String,
    },
    /// The transaction failed; the devices were rolled back (or not reached).
    Failed {
        /// Condition reason.
        reason: &'static str,
        /// The error, device errors verbatim.
        message: String,
    },
    /// Every device carries the desired configuration.
    Converged {
        /// Which devices, which transaction.
        message: String,
    },
    /// The configuration was provisioned, but a device's drift check found it missing or
    /// different and did not repair it.
    Drifted {
        /// Which devices, what differs.
        message: String,
    },
    /// The subscription is being deleted and its configuration removed.
    Terminating {
        /// Progress, or why removal waits.
        message: String,
    },
}

/// What the status is computed with, besides the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInput {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Whether the desired state is Suspended.
    pub suspended: bool,
    /// The clock.
    pub now: Timestamp,
    /// New allocations, when the allocate step ran.
    pub allocations: Option<Allocations>,
    /// New per-device configuration, when a transaction (or a no-op plan) ran.
    pub devices: Option<Vec<DeviceConfig>>,
}

/// The next status from the current one and the outcome.
pub fn next_status(
    current: &SubscriptionStatus,
    outcome: &Outcome,
    input: StatusInput,
) -> SubscriptionStatus {
    let mut status = current.clone();
    if let Some(allocations) = input.allocations {
        status.allocations = (allocations != Allocations::default()).then_some(allocations);
    }
    if let Some(devices) = input.devices {
        status.devices = devices;
    }
    let configured = !status.devices.is_empty();
    let kept_phase = if configured {
        current.phase.unwrap_or(SubscriptionPhase::Pending)
    } else {
        SubscriptionPhase::Pending
    };
    let (phase, status_value, reason, ready_reason, message) = match outcome {
        Outcome::Invalid { reason, message } | Outcome::Waiting { reason, message } => (
            kept_phase,
            ConditionStatus::False,
            *reason,
            *reason,
            message,
        ),
        Outcome::Provisioning { message } => (
            SubscriptionPhase::Provisioning,
            ConditionStatus::False,
            reasons::PROVISIONING,
            reasons::PROVISIONING,
            message,
        ),
        Outcome::Failed { reason, message } => (
            SubscriptionPhase::Failed,
            ConditionStatus::False,
            *reason,
            *reason,
            message,
        ),
        Outcome::Converged { message } => {
            let (phase, ready) = if input.suspended {
                (SubscriptionPhase::Suspended, reasons::SUSPENDED)
            } else {
                (SubscriptionPhase::Active, "Active")
            };
            (
                phase,
                ConditionStatus::True,
                reasons::PROVISIONED,
                ready,
                message,
            )
        }
        Outcome::Drifted { message } => (
            if input.suspended {
                SubscriptionPhase::Suspended
            } else {
                SubscriptionPhase::Active
            },
            ConditionStatus::False,
            reasons::CONFIG_DRIFT,
            reasons::CONFIG_DRIFT,
            message,
        ),
        Outcome::Terminating { message } => (
            SubscriptionPhase::Terminating,
            ConditionStatus::False,
            reasons::TERMINATING,
            reasons::TERMINATING,
            message,
        ),
    };
    status.phase = Some(phase);
    if phase == SubscriptionPhase::Active && status.activated_at.is_none() {
        status.activated_at = Some(input.now);
    }
    status.observed_generation = input.generation;
    let condition = |type_: &str, reason: &str| {
        Condition::new(
            type_,
            status_value,
            reason,
            message.clone(),
            input.now,
            input.generation,
        )
    };
    set_condition(
        &mut status.conditions,
        condition(types::PROVISIONED, reason),
    );
    set_condition(
        &mut status.conditions,
        condition(types::READY, ready_reason),
    );
    status
}

/// The Events announcing the change from `old` to `new`: one when the Provisioned condition
/// takes a new reason or message, or when a new transaction was recorded; none otherwise.
pub fn transitions(old: &SubscriptionStatus, new: &SubscriptionStatus) -> Vec<Note> {
    let before = find_condition(&old.conditions, types::PROVISIONED);
    let Some(after) = find_condition(&new.conditions, types::PROVISIONED) else {
        return Vec::new();
    };
    let same_condition = before.is_some_and(|b| {
        b.status == after.status && b.reason == after.reason && b.message == after.message
    });
    let transactions = |s: &SubscriptionStatus| {
        s.devices
            .iter()
            .map(|d| d.transaction.clone())
            .collect::<Vec<_>>()
    };
    let new_transaction = transactions(old) != transactions(new) && !new.devices.is_empty();
    if same_condition && !new_transaction {
        return Vec::new();
    }
    if after.reason == reasons::PROVISIONING {
        // The outcome follows within the same reconcile; announce that instead.
        return Vec::new();
    }
    let converged = after.status == ConditionStatus::True;
    let drift_cleared = before.is_some_and(|b| b.reason == reasons::CONFIG_DRIFT);
    let (reason, action) = match new.phase {
        Some(SubscriptionPhase::Active | SubscriptionPhase::Suspended)
            if converged && drift_cleared =>
        {
            ("InSync", "CheckDrift")
        }
        Some(SubscriptionPhase::Active)
            if converged && old.phase == Some(SubscriptionPhase::Active) =>
        {
            ("Reconfigured", "Provision")
        }
        Some(SubscriptionPhase::Active) if converged => ("Activated", "Provision"),
        Some(SubscriptionPhase::Suspended) if converged => (reasons::SUSPENDED, "Provision"),
        Some(SubscriptionPhase::Terminating) => (reasons::TERMINATING, "Deprovision"),
        _ => (after.reason.as_str(), "Provision"),
    };
    vec![Note {
        warning: !converged
            && after.reason != reasons::TERMINATING
            && after.reason != reasons::DRY_RUN,
        reason: reason.to_owned(),
        message: after.message.clone(),
        action,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn input(suspended: bool, now: &str) -> StatusInput {
        StatusInput {
            generation: Some(2),
            suspended,
            now: at(now),
            allocations: None,
            devices: None,
        }
    }

    fn device(transaction: &str) -> DeviceConfig {
        DeviceConfig {
            name: "olt1".into(),
            transaction: transaction.into(),
            digest: "d".into(),
            owned: vec![],
        }
    }

    fn converged() -> Outcome {
        Outcome::Converged {
            message: "configured on olt1".into(),
        }
    }

    #[test]
    fn drift_on_a_device_takes_ready_away_until_it_is_gone() {
        let mut first = input(false, "2024-05-01T10:00:00Z");
        first.devices = Some(vec![device("t1")]);
        let active = next_status(&SubscriptionStatus::default(), &converged(), first);
        let drifted = next_status(
            &active,
            &Outcome::Drifted {
                message: "configuration drifted on olt1: missing /x".into(),
            },
            input(false, "2024-05-01T10:05:00Z"),
        );
        assert_eq!(drifted.phase, Some(SubscriptionPhase::Active));
        for type_ in [types::READY, types::PROVISIONED] {
            let c = find_condition(&drifted.conditions, type_).unwrap();
            assert_eq!(
                (c.status, c.reason.as_str()),
                (ConditionStatus::False, reasons::CONFIG_DRIFT)
            );
            assert!(c.message.contains("olt1"), "{}", c.message);
        }
        let notes = transitions(&active, &drifted);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            (reasons::CONFIG_DRIFT, true)
        );
        let again = next_status(&drifted, &converged(), input(false, "2024-05-01T10:10:00Z"));
        assert!(
            find_condition(&again.conditions, types::READY)
                .unwrap()
                .is_true()
        );
        assert_eq!(transitions(&drifted, &again)[0].reason, "InSync");
    }

    #[test]
    fn converging_activates_once_and_sets_both_conditions() {
        let mut first = input(false, "2024-05-01T10:00:00Z");
        first.devices = Some(vec![device("t1")]);
        first.allocations = Some(Allocations {
            vlan: Some(1200),
            ipv4: None,
        });
        let status = next_status(&SubscriptionStatus::default(), &converged(), first);
        assert_eq!(status.phase, Some(SubscriptionPhase::Active));
        assert_eq!(status.activated_at, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(status.observed_generation, Some(2));
        let ready = find_condition(&status.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::True, "Active")
        );
        let prov = find_condition(&status.conditions, types::PROVISIONED).unwrap();
        assert_eq!(prov.reason, reasons::PROVISIONED);
        let notes = transitions(&SubscriptionStatus::default(), &status);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            ("Activated", false)
        );

        // The same outcome later changes nothing: no patch, no Event.
        let again = next_status(&status, &converged(), input(false, "2024-05-02T10:00:00Z"));
        assert_eq!(again, status);
        assert!(transitions(&status, &again).is_empty());
    }

    #[test]
    fn suspension_keeps_activation_time() {
        let mut first = input(false, "2024-05-01T10:00:00Z");
        first.devices = Some(vec![device("t1")]);
        let active = next_status(&SubscriptionStatus::default(), &converged(), first);
        let mut later = input(true, "2024-06-01T10:00:00Z");
        later.devices = Some(vec![device("t2")]);
        let suspended = next_status(&active, &converged(), later);
        assert_eq!(suspended.phase, Some(SubscriptionPhase::Suspended));
        assert_eq!(suspended.activated_at, Some(at("2024-05-01T10:00:00Z")));
        let ready = find_condition(&suspended.conditions, types::READY).unwrap();
        assert_eq!(ready.reason, reasons::SUSPENDED);
        let notes = transitions(&active, &suspended);
        assert_eq!(notes[0].reason, reasons::SUSPENDED);
    }

    #[test]
    fn invalid_spec_keeps_a_configured_phase_but_is_not_ready() {
        let mut first = input(false, "2024-05-01T10:00:00Z");
        first.devices = Some(vec![device("t1")]);
        let active = next_status(&SubscriptionStatus::default(), &converged(), first);
        let outcome = Outcome::Invalid {
            reason: reasons::UNKNOWN_PRODUCT,
            message: "Product x does not exist".into(),
        };
        let broken = next_status(&active, &outcome, input(false, "2024-05-03T10:00:00Z"));
        assert_eq!(broken.phase, Some(SubscriptionPhase::Active));
        let ready = find_condition(&broken.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::False, reasons::UNKNOWN_PRODUCT)
        );
        assert_eq!(ready.last_transition_time, at("2024-05-03T10:00:00Z"));
        let notes = transitions(&active, &broken);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            (reasons::UNKNOWN_PRODUCT, true)
        );

        let fresh = next_status(
            &SubscriptionStatus::default(),
            &outcome,
            input(false, "2024-05-03T10:00:00Z"),
        );
        assert_eq!(fresh.phase, Some(SubscriptionPhase::Pending));
    }

    #[test]
    fn failures_are_announced_once_with_the_device_error() {
        let outcome = Outcome::Failed {
            reason: reasons::DEVICE_REJECTED,
            message: "Device olt1 rejected the edit-config: rpc-error invalid-value".into(),
        };
        let failed = next_status(
            &SubscriptionStatus::default(),
            &outcome,
            input(false, "2024-05-01T10:00:00Z"),
        );
        assert_eq!(failed.phase, Some(SubscriptionPhase::Failed));
        let notes = transitions(&SubscriptionStatus::default(), &failed);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].warning);
        assert!(notes[0].message.contains("invalid-value"));
        let retried = next_status(&failed, &outcome, input(false, "2024-05-01T10:01:00Z"));
        assert!(transitions(&failed, &retried).is_empty());
    }

    #[test]
    fn other_controllers_conditions_survive() {
        let mut current = SubscriptionStatus::default();
        current.conditions.push(Condition::new(
            "Billable",
            ConditionStatus::True,
            "Charging",
            "",
            at("2024-01-01T00:00:00Z"),
            Some(1),
        ));
        let next = next_status(&current, &converged(), input(false, "2024-05-01T10:00:00Z"));
        assert!(find_condition(&next.conditions, "Billable").is_some());
        assert_eq!(next.conditions.len(), 3);
    }

    #[test]
    fn a_new_transaction_while_active_is_a_reconfiguration() {
        let mut first = input(false, "2024-05-01T10:00:00Z");
        first.devices = Some(vec![device("t1")]);
        let active = next_status(&SubscriptionStatus::default(), &converged(), first);
        let mut second = input(false, "2024-05-02T10:00:00Z");
        second.devices = Some(vec![device("t2")]);
        let modified = next_status(&active, &converged(), second);
        let notes = transitions(&active, &modified);
        assert_eq!(notes[0].reason, "Reconfigured");
    }
}
