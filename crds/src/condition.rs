//! Status conditions in the Kubernetes shape, and the pure helpers that keep them tidy.
//!
//! Every Ferrule status carries `conditions`; controllers upsert them with [`set_condition`],
//! which keeps `lastTransitionTime` when the status did not flip and says whether anything
//! changed, so a status patch is only sent when there is news.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::patterns;
use crate::time::Timestamp;

/// The condition types Ferrule's controllers set.
pub mod types {
    /// The object is fully reconciled and doing its job.
    pub const READY: &str = "Ready";
    /// A Subscription's configuration is on every device involved.
    pub const PROVISIONED: &str = "Provisioned";
    /// A Subscription is being charged.
    pub const BILLABLE: &str = "Billable";
    /// A Subscription's service is affected by an alarm.
    pub const DEGRADED: &str = "Degraded";
    /// A Device answers over NETCONF.
    pub const REACHABLE: &str = "Reachable";
    /// A Device's running configuration contains everything Ferrule owns there.
    pub const IN_SYNC: &str = "InSync";
}

/// The three-valued status of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The controller cannot tell (yet).
    Unknown,
}

/// One aspect of an object's current state, as in Kubernetes' `metav1.Condition`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of the condition in CamelCase, e.g. `Ready`, `Provisioned`, `Reachable`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = patterns::CONDITION_TYPE))]
    pub type_: String,
    /// Status of the condition: True, False or Unknown.
    pub status: ConditionStatus,
    /// Machine-readable CamelCase reason for the last transition, e.g. `DeviceUnreachable`.
    #[schemars(length(min = 1, max = 1024), regex(pattern = patterns::CONDITION_REASON))]
    pub reason: String,
    /// Human-readable details about the last transition; may be empty.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// When the condition last changed from one status to another.
    pub last_transition_time: Timestamp,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// Builds a condition; `observed_generation` is the object's `metadata.generation`.
    pub fn new(
        type_: impl Into<String>,
        status: ConditionStatus,
        reason: impl Into<String>,
        message: impl Into<String>,
        now: Timestamp,
        observed_generation: Option<i64>,
    ) -> Self {
        Condition {
            type_: type_.into(),
            status,
            reason: reason.into(),
            message: message.into(),
            last_transition_time: now,
            observed_generation,
        }
    }

    /// Whether the status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// Inserts or updates the condition of `new.type_`.
///
/// When a condition of that type exists with the same status, its `lastTransitionTime` is
/// kept and only reason, message and observed generation are updated. Returns `true` when the
/// list changed in any way, `false` when it already said exactly this.
pub fn set_condition(conditions: &mut Vec<Condition>, new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        None => {
            conditions.push(new);
            true
        }
        Some(existing) => {
            let transition_time = if existing.status == new.status {
                existing.last_transition_time
            } else {
                new.last_transition_time
            };
            let updated = Condition {
                last_transition_time: transition_time,
                ..new
            };
            if *existing == updated {
                false
            } else {
                *existing = updated;
                true
            }
        }
    }
}

/// Removes the condition of the given type; returns whether one was removed.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// The condition of the given type, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of the given type is present and `True`.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(Condition::is_true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn ready(status: ConditionStatus, reason: &str, now: &str) -> Condition {
        Condition::new("Ready", status, reason, "", at(now), Some(1))
    }

    #[test]
    fn inserts_a_new_condition() {
        let mut list = Vec::new();
        assert!(set_condition(
            &mut list,
            ready(ConditionStatus::True, "Provisioned", "2024-01-01T00:00:00Z")
        ));
        assert!(is_condition_true(&list, "Ready"));
        assert!(!is_condition_true(&list, "Degraded"));
    }

    #[test]
    fn keeps_transition_time_when_status_is_unchanged() {
        let mut list = vec![ready(
            ConditionStatus::True,
            "Provisioned",
            "2024-01-01T00:00:00Z",
        )];
        let changed = set_condition(
            &mut list,
            ready(ConditionStatus::True, "Provisioned", "2024-02-01T00:00:00Z"),
        );
        assert!(!changed, "same status, reason and message is no change");
        assert_eq!(list[0].last_transition_time, at("2024-01-01T00:00:00Z"));

        let changed = set_condition(
            &mut list,
            ready(ConditionStatus::True, "Repaired", "2024-03-01T00:00:00Z"),
        );
        assert!(changed, "a new reason is a change");
        assert_eq!(list[0].reason, "Repaired");
        assert_eq!(list[0].last_transition_time, at("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn moves_transition_time_when_status_flips() {
        let mut list = vec![ready(
            ConditionStatus::True,
            "Provisioned",
            "2024-01-01T00:00:00Z",
        )];
        assert!(set_condition(
            &mut list,
            ready(
                ConditionStatus::False,
                "DeviceUnreachable",
                "2024-02-01T00:00:00Z"
            )
        ));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].last_transition_time, at("2024-02-01T00:00:00Z"));
        assert_eq!(
            find_condition(&list, "Ready").map(|c| c.status),
            Some(ConditionStatus::False)
        );
    }

    #[test]
    fn removes_by_type() {
        let mut list = vec![ready(
            ConditionStatus::True,
            "Provisioned",
            "2024-01-01T00:00:00Z",
        )];
        assert!(!remove_condition(&mut list, "Degraded"));
        assert!(remove_condition(&mut list, "Ready"));
        assert!(list.is_empty());
    }

    #[test]
    fn serializes_in_kubernetes_shape() {
        let c = ready(ConditionStatus::True, "Provisioned", "2024-01-01T00:00:00Z");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "Ready", "status": "True", "reason": "Provisioned", "message": "",
                "lastTransitionTime": "2024-01-01T00:00:00Z", "observedGeneration": 1
            })
        );
    }
}
