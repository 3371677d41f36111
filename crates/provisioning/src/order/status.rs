//! The status of a ServiceOrder and the Events announcing its transitions. Pure.

use ferrule_crds::bss::service_order::{ItemState, ItemStatus, OrderState, ServiceOrderStatus};
use ferrule_crds::condition::{set_condition, types};
use ferrule_crds::{Condition, ConditionStatus, Timestamp};

use ferrule_operator::context::Note;

/// The name of a state as written in conditions and Events.
pub fn state_name(state: OrderState) -> &'static str {
    match state {
        OrderState::Acknowledged => "Acknowledged",
        OrderState::Rejected => "Rejected",
        OrderState::InProgress => "InProgress",
        OrderState::Completed => "Completed",
        OrderState::Failed => "Failed",
        OrderState::Partial => "Partial",
    }
}

/// The next status: the given state and items, the Ready condition (True only when
/// Completed) with `message` or a summary of the items.
pub fn next_status(
    current: &ServiceOrderStatus,
    state: OrderState,
    items: Vec<ItemStatus>,
    message: Option<String>,
    now: Timestamp,
    generation: Option<i64>,
) -> ServiceOrderStatus {
    let mut status = current.clone();
    let message = message.unwrap_or_else(|| summary(&items));
    status.state = Some(state);
    status.items = items;
    status.observed_generation = generation;
    let ready = if state == OrderState::Completed {
        ConditionStatus::True
    } else {
        ConditionStatus::False
    };
    set_condition(
        &mut status.conditions,
        Condition::new(
            types::READY,
            ready,
            state_name(state),
            message,
            now,
            generation,
        ),
    );
    status
}

/// `2 of 3 items completed, 1 failed`.
fn summary(items: &[ItemStatus]) -> String {
    let count = |s: ItemState| items.iter().filter(|i| i.state == s).count();
    let mut parts = vec![format!(
        "{} of {} items completed",
        count(ItemState::Completed),
        items.len()
    )];
    for (state, word) in [
        (ItemState::InProgress, "in progress"),
        (ItemState::Failed, "failed"),
        (ItemState::Rejected, "rejected"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(", ")
}

/// Events for a change of the order's state and for items that failed or were rejected.
pub fn transitions(old: &ServiceOrderStatus, new: &ServiceOrderStatus) -> Vec<Note> {
    let mut notes = Vec::new();
    for item in &new.items {
        let before = old
            .items
            .iter()
            .find(|i| i.subscription == item.subscription)
            .map(|i| i.state);
        let bad = matches!(item.state, ItemState::Failed | ItemState::Rejected);
        if bad && before != Some(item.state) {
            notes.push(Note {
                warning: true,
                reason: format!(
                    "Item{}",
                    if item.state == ItemState::Failed {
                        "Failed"
                    } else {
                        "Rejected"
                    }
                ),
                message: format!(
                    "{}: {}",
                    item.subscription,
                    item.message.as_deref().unwrap_or("no details")
                ),
                action: "Fulfil",
            });
        }
    }
    if let Some(state) = new.state
        && old.state != Some(state)
    {
        let message = new
            .conditions
            .iter()
            .find(|c| c.type_ == types::READY)
            .map(|c| c.message.clone())
            .unwrap_or_default();
        notes.push(Note {
            warning: matches!(
                state,
                OrderState::Rejected | OrderState::Failed | OrderState::Partial
            ),
            reason: state_name(state).to_owned(),
            message,
            action: "Fulfil",
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrule_crds::condition::find_condition;

    fn item(sub: &str, state: ItemState, message: Option<&str>) -> ItemStatus {
        ItemStatus {
            subscription: sub.into(),
            state,
            message: message.map(str::to_owned),
            reason: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn ready_only_when_completed_with_a_summary() {
        let items = vec![
            item("a", ItemState::Completed, None),
            item("b", ItemState::InProgress, None),
        ];
        let status = next_status(
            &ServiceOrderStatus::default(),
            OrderState::InProgress,
            items,
            None,
            at("2024-01-01T00:00:00Z"),
            Some(1),
        );
        let ready = find_condition(&status.conditions, types::READY).unwrap();
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.message, "1 of 2 items completed, 1 in progress");
        let done = next_status(
            &status,
            OrderState::Completed,
            vec![
                item("a", ItemState::Completed, None),
                item("b", ItemState::Completed, None),
            ],
            None,
            at("2024-01-01T00:01:00Z"),
            Some(1),
        );
        let ready = find_condition(&done.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            (ConditionStatus::True, "Completed")
        );
        let notes = transitions(&status, &done);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].reason.as_str(), notes[0].warning),
            ("Completed", false)
        );
        assert!(transitions(&done, &done).is_empty());
    }

    #[test]
    fn failed_and_rejected_items_are_announced_once() {
        let old = ServiceOrderStatus {
            state: Some(OrderState::InProgress),
            items: vec![
                item("a", ItemState::InProgress, None),
                item("b", ItemState::Rejected, Some("x")),
            ],
            ..Default::default()
        };
        let new = next_status(
            &old,
            OrderState::Failed,
            vec![
                item("a", ItemState::Failed, Some("PoolExhausted: full")),
                item("b", ItemState::Rejected, Some("x")),
            ],
            None,
            at("2024-01-01T00:00:00Z"),
            Some(1),
        );
        let notes = transitions(&old, &new);
        let reasons: Vec<&str> = notes.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(reasons, ["ItemFailed", "Failed"]);
        assert_eq!(notes[0].message, "a: PoolExhausted: full");
        assert!(notes.iter().all(|n| n.warning));
    }
}
