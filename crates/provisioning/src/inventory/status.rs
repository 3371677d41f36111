//! A Device's status, its ConfigDrift alarm and the Events of its transitions. Pure.

use ferrule_crds::condition::{find_condition, set_condition, types};
use ferrule_crds::oss::alarm::{AlarmSource, AlarmType, Severity};
use ferrule_crds::oss::device::{DevicePhase, DeviceStatus, Drift};
use ferrule_crds::{AlarmStatus, Condition, ConditionStatus, Timestamp};

use ferrule_operator::context::Note;

/// What connecting to the device gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A session is up.
    Connected {
        /// Announced capabilities.
        capabilities: Vec<String>,
    },
    /// No session.
    Unreachable {
        /// Condition reason.
        reason: &'static str,
        /// Why.
        message: String,
    },
}

/// The outcome of a drift check, when one ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftCheck {
    /// Owned configuration is on the device as recorded.
    InSync,
    /// Owned configuration is missing or different.
    Drifted {
        /// What differs.
        entries: Vec<String>,
        /// The subscriptions whose configuration differs.
        affected: Vec<String>,
    },
    /// Drift was found and repaired.
    Repaired {
        /// What differed.
        entries: Vec<String>,
    },
    /// Drift was found; repair failed or was held by maintenance.
    NotRepaired {
        /// What differs.
        entries: Vec<String>,
        /// The subscriptions whose configuration differs.
        affected: Vec<String>,
        /// Why it stays.
        why: String,
    },
    /// The check could not run.
    Failed {
        /// Why.
        message: String,
    },
}

/// The next Device status.
pub fn next_status(
    current: &DeviceStatus,
    probe: &Probe,
    drift: Option<&DriftCheck>,
    now: Timestamp,
    generation: Option<i64>,
) -> DeviceStatus {
    let mut status = current.clone();
    status.observed_generation = generation;
    let condition = |type_: &str, value: ConditionStatus, reason: &str, message: String| {
        Condition::new(type_, value, reason, message, now, generation)
    };
    match probe {
        Probe::Connected { capabilities } => {
            status.phase = Some(DevicePhase::Connected);
            status.capabilities = capabilities.clone();
            set_condition(
                &mut status.conditions,
                condition(
                    types::REACHABLE,
                    ConditionStatus::True,
                    "Connected",
                    String::new(),
                ),
            );
        }
        Probe::Unreachable { reason, message } => {
            status.phase = Some(DevicePhase::Unreachable);
            set_condition(
                &mut status.conditions,
                condition(
                    types::REACHABLE,
                    ConditionStatus::False,
                    reason,
                    message.clone(),
                ),
            );
            set_condition(
                &mut status.conditions,
                condition(
                    types::IN_SYNC,
                    ConditionStatus::Unknown,
                    "Unreachable",
                    "the device cannot be read".into(),
                ),
            );
        }
    }
    let Some(drift) = drift else {
        return status;
    };
    let record = |entries: &[String], affected: &[String], detected: bool| Drift {
        detected,
        entries: entries.to_vec(),
        affected: affected.to_vec(),
        checked_at: now,
    };
    let (value, reason, message, recorded) = match drift {
        DriftCheck::InSync => (
            ConditionStatus::True,
            "InSync",
            String::new(),
            Some(record(&[], &[], false)),
        ),
        DriftCheck::Drifted { entries, affected } => (
            ConditionStatus::False,
            "ConfigDrift",
            entries.join("; "),
            Some(record(entries, affected, true)),
        ),
        DriftCheck::Repaired { entries } => (
            ConditionStatus::True,
            "Repaired",
            format!("repaired: {}", entries.join("; ")),
            Some(record(entries, &[], false)),
        ),
        DriftCheck::NotRepaired {
            entries,
            affected,
            why,
        } => (
            ConditionStatus::False,
            "ConfigDrift",
            format!("{} (not repaired: {why})", entries.join("; ")),
            Some(record(entries, affected, true)),
        ),
        DriftCheck::Failed { message } => (
            ConditionStatus::Unknown,
            "DriftCheckFailed",
            message.clone(),
            None,
        ),
    };
    if let Some(recorded) = recorded {
        status.drift = Some(recorded);
    }
    set_condition(
        &mut status.conditions,
        condition(types::IN_SYNC, value, reason, message),
    );
    status
}

/// Whether a drift check is due: on (re)connect, after a spec change, or when the last one
/// is older than `interval_secs`.
pub fn drift_due(
    current: &DeviceStatus,
    generation: Option<i64>,
    now: Timestamp,
    interval_secs: i64,
) -> bool {
    drift_due_in(current, generation, now, interval_secs).is_none()
}

/// How long until the next drift check of a connected device whose spec did not change;
/// `None` when one is due now.
pub fn drift_due_in(
    current: &DeviceStatus,
    generation: Option<i64>,
    now: Timestamp,
    interval_secs: i64,
) -> Option<std::time::Duration> {
    if current.phase != Some(DevicePhase::Connected) || current.observed_generation != generation {
        return None;
    }
    let elapsed =
        (now.as_datetime() - current.drift.as_ref()?.checked_at.as_datetime()).num_seconds();
    let left = interval_secs
        .checked_sub(elapsed)
        .filter(|left| *left > 0)?;
    Some(std::time::Duration::from_secs(u64::try_from(left).ok()?))
}

/// The Events of a Device's transitions.
pub fn transitions(old: &DeviceStatus, new: &DeviceStatus) -> Vec<Note> {
    let mut notes = Vec::new();
    let cond = |s: &DeviceStatus, t: &str| {
        find_condition(&s.conditions, t).map(|c| (c.status, c.reason.clone(), c.message.clone()))
    };
    let (before, after) = (cond(old, types::REACHABLE), cond(new, types::REACHABLE));
    if let Some((status, reason, message)) = &after
        && before.as_ref().map(|b| (&b.0, &b.1)) != Some((status, reason))
    {
        let up = *status == ConditionStatus::True;
        notes.push(Note {
            warning: !up,
            reason: if up {
                "Connected".into()
            } else {
                reason.clone()
            },
            message: if up {
                format!(
                    "NETCONF session up, {} capabilities",
                    new.capabilities.len()
                )
            } else {
                message.clone()
            },
            action: "Connect",
        });
    }
    let (before, after) = (cond(old, types::IN_SYNC), cond(new, types::IN_SYNC));
    if let Some((status, reason, message)) = &after
        && before.as_ref() != after.as_ref()
        && matches!(reason.as_str(), "ConfigDrift" | "Repaired")
    {
        notes.push(Note {
            warning: *status != ConditionStatus::True,
            reason: reason.clone(),
            message: message.clone(),
            action: "CheckDrift",
        });
    }
    notes
}

/// The name of a device's ConfigDrift alarm.
pub fn drift_alarm_name(device: &str) -> String {
    format!("{device}-configdrift")
}

/// The next status of a device's ConfigDrift alarm; `None` when it does not change (no drift
/// and no active alarm).
pub fn drift_alarm(
    current: Option<&AlarmStatus>,
    device: &str,
    report: Option<(&[String], &[String])>,
    now: Timestamp,
) -> Option<AlarmStatus> {
    let active = current.is_some_and(|a| a.severity.is_some_and(|s| s != Severity::Cleared));
    match report {
        Some((entries, affected)) => {
            let base = if active {
                current.cloned().unwrap_or_default()
            } else {
                AlarmStatus::default()
            };
            Some(AlarmStatus {
                severity: Some(Severity::Major),
                type_: Some(AlarmType::ConfigDrift),
                source: Some(AlarmSource {
                    kind: "Device".into(),
                    name: device.to_owned(),
                }),
                affected_subscriptions: affected.to_vec(),
                raised_at: base.raised_at.or(Some(now)),
                cleared_at: None,
                count: Some(base.count.unwrap_or(0) + 1),
                message: Some(entries.join("; ")),
                ..base
            })
        }
        None if active => {
            let mut cleared = current.cloned().unwrap_or_default();
            cleared.severity = Some(Severity::Cleared);
            cleared.cleared_at = Some(now);
            Some(cleared)
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn connected() -> Probe {
        Probe::Connected {
            capabilities: vec!["urn:ietf:params:netconf:base:1.1".into()],
        }
    }

    #[test]
    fn connecting_and_checking_sets_phase_conditions_and_drift() {
        let status = next_status(
            &DeviceStatus::default(),
            &connected(),
            Some(&DriftCheck::InSync),
            at("2024-01-01T00:00:00Z"),
            Some(1),
        );
        assert_eq!(status.phase, Some(DevicePhase::Connected));
        assert_eq!(status.capabilities.len(), 1);
        assert!(!status.drift.as_ref().unwrap().detected);
        let notes = transitions(&DeviceStatus::default(), &status);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].reason, "Connected");

        let drift = DriftCheck::Drifted {
            entries: vec!["missing /x".into()],
            affected: vec!["a".into()],
        };
        let drifted = next_status(
            &status,
            &connected(),
            Some(&drift),
            at("2024-01-01T00:05:00Z"),
            Some(1),
        );
        let in_sync = find_condition(&drifted.conditions, types::IN_SYNC).unwrap();
        assert_eq!(
            (in_sync.status, in_sync.reason.as_str()),
            (ConditionStatus::False, "ConfigDrift")
        );
        assert_eq!(drifted.drift.as_ref().unwrap().entries, ["missing /x"]);
        assert_eq!(drifted.drift.as_ref().unwrap().affected, ["a"]);
        let notes = transitions(&status, &drifted);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            ("ConfigDrift", true)
        );
        // The same drift again is no new Event.
        let again = next_status(
            &drifted,
            &connected(),
            Some(&drift),
            at("2024-01-01T00:10:00Z"),
            Some(1),
        );
        assert!(transitions(&drifted, &again).is_empty());
    }

    #[test]
    fn unreachable_makes_sync_unknown() {
        let probe = Probe::Unreachable {
            reason: "ConnectFailed",
            message: "connection refused".into(),
        };
        let status = next_status(
            &DeviceStatus::default(),
            &probe,
            None,
            at("2024-01-01T00:00:00Z"),
            Some(1),
        );
        assert_eq!(status.phase, Some(DevicePhase::Unreachable));
        let sync = find_condition(&status.conditions, types::IN_SYNC).unwrap();
        assert_eq!(sync.status, ConditionStatus::Unknown);
        let notes = transitions(&DeviceStatus::default(), &status);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            ("ConnectFailed", true)
        );
    }

    #[test]
    fn drift_checks_are_due_on_connect_change_and_interval() {
        let now = at("2024-01-01T00:10:00Z");
        assert!(drift_due(&DeviceStatus::default(), Some(1), now, 300));
        let checked = next_status(
            &DeviceStatus::default(),
            &connected(),
            Some(&DriftCheck::InSync),
            at("2024-01-01T00:08:00Z"),
            Some(1),
        );
        assert!(!drift_due(&checked, Some(1), now, 300));
        assert!(drift_due(&checked, Some(2), now, 300));
        assert!(drift_due(
            &checked,
            Some(1),
            at("2024-01-01T00:13:00Z"),
            300
        ));
    }

    #[test]
    fn the_drift_alarm_is_raised_counted_and_cleared() {
        let entries = vec!["missing /x".to_owned()];
        let affected = vec!["sub-a".to_owned()];
        let raised = drift_alarm(
            None,
            "olt1",
            Some((&entries, &affected)),
            at("2024-01-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(raised.severity, Some(Severity::Major));
        assert_eq!(raised.count, Some(1));
        assert_eq!(raised.affected_subscriptions, affected);
        let again = drift_alarm(
            Some(&raised),
            "olt1",
            Some((&entries, &affected)),
            at("2024-01-01T00:05:00Z"),
        )
        .unwrap();
        assert_eq!(again.count, Some(2));
        assert_eq!(again.raised_at, raised.raised_at);
        let cleared = drift_alarm(Some(&again), "olt1", None, at("2024-01-01T00:06:00Z")).unwrap();
        assert_eq!(cleared.severity, Some(Severity::Cleared));
        assert_eq!(cleared.cleared_at, Some(at("2024-01-01T00:06:00Z")));
        assert_eq!(
            drift_alarm(Some(&cleared), "olt1", None, at("2024-01-01T00:07:00Z")),
            None
        );
        let reraised = drift_alarm(
            Some(&cleared),
            "olt1",
            Some((&entries, &affected)),
            at("2024-01-01T01:00:00Z"),
        )
        .unwrap();
        assert_eq!((reraised.count, reraised.cleared_at), (Some(1), None));
        assert_eq!(reraised.raised_at, Some(at("2024-01-01T01:00:00Z")));
    }
}
