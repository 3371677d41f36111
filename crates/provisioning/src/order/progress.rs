//! Progress of a ServiceOrder: each item's state from its Subscription, and the order's state
//! from its items.
//!
//! Pure. An item completes when its Subscription reached the item's target (Active,
//! Suspended, or gone) for the Subscription's current generation; it fails when the
//! Subscription reports a problem the user must fix, or a device rejected its configuration.

use ferrule_crds::Subscription;
use ferrule_crds::bss::service_order::{ItemState, OrderAction, OrderState};
use ferrule_crds::bss::subscription::SubscriptionPhase;
use ferrule_crds::condition::{find_condition, types};

use ferrule_operator::reasons::{self, Remedy};

/// Where the Subscription of an item should end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Phase Active.
    Active,
    /// Phase Suspended.
    Suspended,
    /// Deleted.
    Gone,
}

/// The target of an action.
pub fn target(action: OrderAction) -> Target {
    match action {
        OrderAction::Add | OrderAction::Modify | OrderAction::Resume => Target::Active,
        OrderAction::Suspend => Target::Suspended,
        OrderAction::Terminate => Target::Gone,
    }
}

/// The state of an item that was carried out, from its Subscription (`None`: not found).
pub fn item_state(action: OrderAction, sub: Option<&Subscription>) -> (ItemState, Option<String>) {
    let target = target(action);
    let Some(sub) = sub else {
        return match target {
            Target::Gone => (ItemState::Completed, None),
            _ => (
                ItemState::InProgress,
                Some("waiting for the Subscription to appear".into()),
            ),
        };
    };
    if target == Target::Gone {
        return (
            ItemState::InProgress,
            Some("removing its configuration".into()),
        );
    }
    let Some(status) = &sub.status else {
        return (ItemState::InProgress, None);
    };
    let current = status.observed_generation.is_some()
        && status.observed_generation >= sub.metadata.generation;
    if !current {
        return (ItemState::InProgress, None);
    }
    let wanted = match target {
        Target::Active => SubscriptionPhase::Active,
        _ => SubscriptionPhase::Suspended,
    };
    let ready = find_condition(&status.conditions, types::READY);
    if status.phase == Some(wanted) && ready.is_some_and(|c| c.is_true()) {
        return (ItemState::Completed, None);
    }
    if let Some(ready) = ready.filter(|c| !c.is_true()) {
        let permanent = reasons::remedy(&ready.reason) == Remedy::FixSpec
            || ready.reason == reasons::DEVICE_REJECTED;
        let message = format!("{}: {}", ready.reason, ready.message);
        if permanent {
            return (ItemState::Failed, Some(message));
        }
        return (ItemState::InProgress, Some(message));
    }
    (ItemState::InProgress, None)
}

/// The order's state from its items' states.
pub fn order_state(items: &[ItemState]) -> OrderState {
    let open = |s: &&ItemState| matches!(s, ItemState::Pending | ItemState::InProgress);
    if items.iter().any(|s| open(&s)) {
        return OrderState::InProgress;
    }
    let completed = items.iter().filter(|s| **s == ItemState::Completed).count();
    match completed {
        n if n == items.len() => OrderState::Completed,
        0 => OrderState::Failed,
        _ => OrderState::Partial,
    }
}

/// Whether the order is finished.
pub fn is_final(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Completed | OrderState::Failed | OrderState::Partial | OrderState::Rejected
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::{Condition, ConditionStatus, SubscriptionStatus, Timestamp};

    fn sub_with(
        phase: SubscriptionPhase,
        ready: ConditionStatus,
        reason: &str,
        observed: i64,
    ) -> Subscription {
        let mut sub = mk_subscription("s", "c", "p", "olt1", "ge-0/0/1");
        sub.metadata.generation = Some(2);
        sub.status = Some(SubscriptionStatus {
            phase: Some(phase),
            observed_generation: Some(observed),
            conditions: vec![Condition::new(
                types::READY,
                ready,
                reason,
                "details",
                Timestamp::parse("2024-01-01T00:00:00Z").unwrap(),
                Some(observed),
            )],
            ..Default::default()
        });
        sub
    }

    #[test]
    fn items_complete_at_their_target_for_the_current_generation() {
        let active = sub_with(
            SubscriptionPhase::Active,
            ConditionStatus::True,
            "Active",
            2,
        );
        assert_eq!(
            item_state(OrderAction::Add, Some(&active)).0,
            ItemState::Completed
        );
        assert_eq!(
            item_state(OrderAction::Resume, Some(&active)).0,
            ItemState::Completed
        );
        assert_eq!(
            item_state(OrderAction::Suspend, Some(&active)).0,
            ItemState::InProgress
        );
        let stale = sub_with(
            SubscriptionPhase::Active,
            ConditionStatus::True,
            "Active",
            1,
        );
        assert_eq!(
            item_state(OrderAction::Modify, Some(&stale)).0,
            ItemState::InProgress
        );
        let suspended = sub_with(
            SubscriptionPhase::Suspended,
            ConditionStatus::True,
            "Suspended",
            2,
        );
        assert_eq!(
            item_state(OrderAction::Suspend, Some(&suspended)).0,
            ItemState::Completed
        );
        assert_eq!(
            item_state(OrderAction::Terminate, None).0,
            ItemState::Completed
        );
        assert_eq!(
            item_state(OrderAction::Terminate, Some(&active)).0,
            ItemState::InProgress
        );
        assert_eq!(item_state(OrderAction::Add, None).0, ItemState::InProgress);
    }

    #[test]
    fn spec_problems_and_device_rejections_fail_the_item() {
        let exhausted = sub_with(
            SubscriptionPhase::Pending,
            ConditionStatus::False,
            reasons::POOL_EXHAUSTED,
            2,
        );
        let (state, message) = item_state(OrderAction::Add, Some(&exhausted));
        assert_eq!(state, ItemState::Failed);
        assert_eq!(message.unwrap(), "PoolExhausted: details");
        let rejected = sub_with(
            SubscriptionPhase::Failed,
            ConditionStatus::False,
            reasons::DEVICE_REJECTED,
            2,
        );
        assert_eq!(
            item_state(OrderAction::Add, Some(&rejected)).0,
            ItemState::Failed
        );
        let unreachable = sub_with(
            SubscriptionPhase::Failed,
            ConditionStatus::False,
            reasons::DEVICE_UNREACHABLE,
            2,
        );
        assert_eq!(
            item_state(OrderAction::Add, Some(&unreachable)).0,
            ItemState::InProgress
        );
        let maintenance = sub_with(
            SubscriptionPhase::Pending,
            ConditionStatus::False,
            reasons::MAINTENANCE,
            2,
        );
        assert_eq!(
            item_state(OrderAction::Add, Some(&maintenance)).0,
            ItemState::InProgress
        );
    }

    #[test]
    fn order_state_summarises_items() {
        use ItemState::*;
        assert_eq!(order_state(&[Completed, Completed]), OrderState::Completed);
        assert_eq!(
            order_state(&[Completed, InProgress]),
            OrderState::InProgress
        );
        assert_eq!(order_state(&[Completed, Rejected]), OrderState::Partial);
        assert_eq!(order_state(&[Failed, Rejected]), OrderState::Failed);
        assert!(is_final(OrderState::Partial));
        assert!(!is_final(OrderState::Acknowledged));
    }
}
