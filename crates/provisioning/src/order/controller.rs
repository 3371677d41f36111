//! The ServiceOrder reconciler: acknowledges or rejects the order, carries out each valid
//! item on its Subscription, and follows the Subscriptions to the end.
//!
//! A Subscription outlives its order, so it is not owned by it (no ownerReference): it is
//! labelled with the name of the order that created it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferrule_crds::bss::service_order::{ItemState, ItemStatus, OrderState, ServiceOrderStatus};
use ferrule_crds::{ServiceOrder, Subscription};
use futures::StreamExt;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;

use ferrule_operator::changes::Changes;
use kube::{Api, Resource, ResourceExt};

use crate::context::{Context, FIELD_MANAGER};
use ferrule_operator::context::now;
use ferrule_operator::patch::status_patch;

use super::graph::Graph;
use super::progress::{is_final, item_state, order_state};
use super::status::{next_status, transitions};
use super::validate::{ItemChange, check_items, check_order, rejects_anything};

/// Controller name in metrics and Events.
pub const CONTROLLER: &str = "serviceorder";

/// The label naming the order that created a Subscription.
pub const ORDER_LABEL: &str = "bss.ferrule.dev/order";

/// How often an order in progress is looked at even without a Subscription event.
const RECHECK: Duration = Duration::from_secs(30);

/// Why an order reconcile failed; every case is retried with backoff (an invalid order is
/// not an error: it is Rejected in its status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

impl Error {
    /// A guarded write met a newer version: retried at once with fresh data.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Kube(kube::Error::Api(s)) if s.code == 409)
    }
}

/// Reconciles one ServiceOrder.
pub async fn reconcile(order: Arc<ServiceOrder>, ctx: Arc<Context>) -> Result<Action, Error> {
    let timer = ctx.metrics.reconcile_started(CONTROLLER);
    let result = fulfil(&order, &ctx).await;
    match &result {
        Ok(_) => {
            ctx.backoff.succeeded(&key(&order));
            timer.finish("success");
        }
        Err(_) => timer.finish("error"),
    }
    result
}

/// Retries with backoff.
pub fn error_policy(order: Arc<ServiceOrder>, err: &Error, ctx: Arc<Context>) -> Action {
    if err.is_conflict() {
        return Action::requeue(Duration::from_millis(500));
    }
    let delay = ctx.backoff.failed(&key(&order));
    tracing::warn!(order = %key(&order), retry_in = ?delay, "order reconcile failed: {err}");
    Action::requeue(delay)
}

fn key(order: &ServiceOrder) -> String {
    format!(
        "{}/{}",
        order.namespace().unwrap_or_default(),
        order.name_any()
    )
}

/// Patches the order's status from `current`, guarded by its resourceVersion.
async fn write_status(
    api: &Api<ServiceOrder>,
    current: &mut ServiceOrder,
    new: ServiceOrderStatus,
) -> Result<(), kube::Error> {
    let old = current.status.clone().unwrap_or_default();
    let (Ok(old_json), Ok(new_json)) = (serde_json::to_value(&old), serde_json::to_value(&new))
    else {
        return Ok(());
    };
    let Some(patch) = status_patch(current.resource_version().as_deref(), &old_json, &new_json)
    else {
        return Ok(());
    };
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..Default::default()
    };
    *current = api
        .patch_status(&current.name_any(), &params, &Patch::Merge(&patch))
        .await?;
    Ok(())
}

async fn fulfil(order: &ServiceOrder, ctx: &Context) -> Result<Action, Error> {
    let ns = order.namespace().unwrap_or_default();
    let api: Api<ServiceOrder> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(mut current) = api.get_opt(&order.name_any()).await? else {
        return Ok(Action::await_change());
    };
    let before = current.status.clone().unwrap_or_default();
    if before.state.is_some_and(is_final) {
        return Ok(Action::await_change());
    }
    let generation = current.metadata.generation;
    let subs_api: Api<Subscription> = Api::namespaced(ctx.client.clone(), &ns);
    let subscriptions: Vec<Arc<Subscription>> = subs_api
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .map(Arc::new)
        .collect();
    let customer = &current.spec.customer;
    let mut graph = Graph::cached(&ctx.stores, &ns, customer);
    if before.state.is_none() {
        graph.read_customer(&ctx.client, &ns, customer).await?;
    }
    if rejects_anything(&current, &before, graph.refs(&subscriptions)) {
        graph = Graph::read(&ctx.client, &ns, customer).await?;
    }
    let refs = graph.refs(&subscriptions);

    if before.state.is_none() {
        let (state, items, message) = match check_order(&current, refs) {
            Err(rejection) => {
                let message = rejection.to_string();
                let items = current
                    .spec
                    .items
                    .iter()
                    .map(|i| rejected(&i.subscription, message.clone(), rejection.reason()))
                    .collect();
                (OrderState::Rejected, items, Some(message))
            }
            Ok(()) => {
                let items = current
                    .spec
                    .items
                    .iter()
                    .map(|i| item(&i.subscription, ItemState::Pending, None))
                    .collect();
                (OrderState::Acknowledged, items, None)
            }
        };
        let next = next_status(&before, state, items, message, now(), generation);
        write_status(&api, &mut current, next).await?;
        if state == OrderState::Rejected {
            publish(ctx, &current, &before).await;
            return Ok(Action::await_change());
        }
    }

    let mut items = current.status.clone().unwrap_or_default().items;
    let checks = check_items(&current, refs);
    let mut failure = None;
    let mut touched = Vec::new();
    for (index, spec_item) in current.spec.items.iter().enumerate() {
        let Some(status) = items.get_mut(index) else {
            continue;
        };
        if status.state != ItemState::Pending {
            continue;
        }
        match &checks[index] {
            Err(rejection) => {
                *status = rejected(
                    &spec_item.subscription,
                    rejection.to_string(),
                    rejection.reason(),
                );
            }
            Ok(change) => {
                if let Err(err) =
                    execute(&subs_api, &current, &spec_item.subscription, change).await
                {
                    failure = Some(err);
                    break;
                }
                *status = item(&spec_item.subscription, ItemState::InProgress, None);
                touched.push(index);
            }
        }
    }

    // Items carried out before this reconcile: follow their Subscriptions.
    for (index, spec_item) in current.spec.items.iter().enumerate() {
        let Some(status) = items.get_mut(index) else {
            continue;
        };
        if status.state != ItemState::InProgress || touched.contains(&index) {
            continue;
        }
        let sub = subs_api.get_opt(&spec_item.subscription).await?;
        let (state, message) = item_state(spec_item.action, sub.as_ref());
        *status = item(&spec_item.subscription, state, message);
    }

    let states: Vec<ItemState> = items.iter().map(|i| i.state).collect();
    let state = order_state(&states);
    let old = current.status.clone().unwrap_or_default();
    let next = next_status(&old, state, items, None, now(), generation);
    write_status(&api, &mut current, next).await?;
    publish(ctx, &current, &before).await;
    if let Some(err) = failure {
        return Err(err.into());
    }
    Ok(if is_final(state) {
        Action::await_change()
    } else {
        Action::requeue(RECHECK)
    })
}

fn item(subscription: &str, state: ItemState, message: Option<String>) -> ItemStatus {
    ItemStatus {
        subscription: subscription.to_owned(),
        state,
        message,
        reason: None,
    }
}

fn rejected(subscription: &str, message: String, reason: &str) -> ItemStatus {
    ItemStatus {
        reason: Some(reason.to_owned()),
        ..item(subscription, ItemState::Rejected, Some(message))
    }
}

async fn publish(ctx: &Context, order: &ServiceOrder, before: &ServiceOrderStatus) {
    let after = order.status.clone().unwrap_or_default();
    let reference = order.object_ref(&());
    for note in transitions(before, &after) {
        ctx.publish(&reference, &note).await;
    }
}

/// Carries out one item on its Subscription.
async fn execute(
    api: &Api<Subscription>,
    order: &ServiceOrder,
    name: &str,
    change: &ItemChange,
) -> Result<(), kube::Error> {
    match change {
        ItemChange::Nothing => Ok(()),
        ItemChange::Create(spec) => {
            let sub = Subscription {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    namespace: order.namespace(),
                    labels: Some([(ORDER_LABEL.to_owned(), order.name_any())].into()),
                    ..Default::default()
                },
                spec: spec.clone(),
                status: None,
            };
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..Default::default()
            };
            match api.create(&params, &sub).await {
                Ok(_) => Ok(()),
                // Created by this order's previous reconcile whose status write was lost.
                Err(kube::Error::Api(status))
                    if status.is_already_exists() || status.code == 409 =>
                {
                    Ok(())
                }
                Err(err) => Err(err),
            }
        }
        ItemChange::Patch(patch) => {
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..Default::default()
            };
            api.patch(name, &params, &Patch::Merge(patch))
                .await
                .map(|_| ())
        }
        ItemChange::Delete => match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
            Err(err) => Err(err),
        },
    }
}

/// Orders still running that name `sub` in an item.
pub fn orders_for(
    sub: &Subscription,
    orders: &[Arc<ServiceOrder>],
) -> Vec<ObjectRef<ServiceOrder>> {
    let name = sub.name_any();
    orders
        .iter()
        .filter(|o| o.namespace() == sub.namespace())
        .filter(|o| {
            !o.status
                .as_ref()
                .and_then(|s| s.state)
                .is_some_and(is_final)
        })
        .filter(|o| o.spec.items.iter().any(|i| i.subscription == name))
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

/// Runs the ServiceOrder controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    orders: Changes<ServiceOrder>,
    subscriptions: Changes<Subscription>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let stores = ctx.stores.clone();
    Controller::for_shared_stream(orders.stream(), stores.orders.clone())
        .watches_shared_stream(subscriptions.stream(), move |sub: Arc<Subscription>| {
            let ns = sub.namespace().unwrap_or_default();
            orders_for(&sub, &stores.orders_naming(&ns, &sub.name_any()))
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(error = %err, "order reconcile");
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use ferrule_crds::bss::service_order::OrderState;
    use serde_json::json;

    #[test]
    fn subscription_events_reach_running_orders_that_name_it() {
        let running = mk_order(
            "o1",
            "c",
            json!([{"action": "Suspend", "subscription": "s1"}]),
        );
        let mut done = mk_order(
            "o2",
            "c",
            json!([{"action": "Add", "subscription": "s1",
            "product": "p", "access": {"device": "d", "port": "x"}}]),
        );
        done.status = Some(ServiceOrderStatus {
            state: Some(OrderState::Completed),
            ..Default::default()
        });
        let other = mk_order(
            "o3",
            "c",
            json!([{"action": "Suspend", "subscription": "s2"}]),
        );
        let orders = vec![Arc::new(running), Arc::new(done), Arc::new(other)];
        let sub = mk_subscription("s1", "c", "p", "d", "x");
        let names: Vec<String> = orders_for(&sub, &orders)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["o1"]);
        // The index a subscription event looks in holds running orders only, by the
        // subscriptions their items name.
        let keys = |o: &Arc<ServiceOrder>| crate::stores::order_keys(o);
        assert_eq!(
            keys(&orders[0]),
            [format!(
                "subscription/{}/s1",
                orders[0].namespace().unwrap_or_default()
            )]
        );
        assert!(keys(&orders[1]).is_empty(), "a completed order");
    }
}
