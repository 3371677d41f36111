//! ServiceOrder: a customer's request to add, change, suspend, resume or terminate
//! subscriptions (TMF622-like).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::subscription::Access;
use crate::condition::Condition;
use crate::params::Parameters;
use crate::patterns;

/// The desired state of a ServiceOrder: the customer and the items to carry out.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bss.ferrule.dev",
    version = "v1alpha1",
    kind = "ServiceOrder",
    namespaced,
    status = "ServiceOrderStatus",
    derive = "PartialEq",
    shortname = "so",
    category = "ferrule",
    doc = "An order of one customer: a list of items that add, modify, suspend, resume or terminate subscriptions. Ready when every item is Completed.",
    printcolumn(name = "Customer", type_ = "string", json_path = ".spec.customer"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOrderSpec {
    /// Name of the Customer (same namespace) placing the order.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub customer: String,
    /// The order items, carried out independently of each other.
    #[schemars(length(min = 1, max = 100))]
    pub items: Vec<OrderItem>,
}

/// One thing to do to one subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// What to do.
    pub action: OrderAction,
    /// Name of the Subscription to create or act on.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub subscription: String,
    /// Product to subscribe to (Add) or change to (Modify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub product: Option<String>,
    /// Where to deliver the service (Add) or move it to (Modify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// Fixed customer VLAN (1-4094) instead of one from a pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4094))]
    pub vlan: Option<i32>,
    /// Fixed IPv4 address with prefix length instead of one from a pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::IPV4_CIDR))]
    pub ipv4: Option<String>,
    /// Parameter overrides for the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
}

/// The action of an order item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrderAction {
    /// Create the subscription (needs product and access).
    Add,
    /// Change product, access or parameters of an existing subscription.
    Modify,
    /// Set the subscription's desired state to Suspended.
    Suspend,
    /// Set the subscription's desired state back to Active.
    Resume,
    /// Delete the subscription; its configuration is removed and its claims released.
    Terminate,
}

/// State of a whole order: Acknowledged (accepted, not started), Rejected (invalid as a whole,
/// nothing done), InProgress, Completed (every item completed), Failed (every item failed or
/// was rejected), Partial (some items completed, others failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrderState {
    /// Accepted, not started.
    Acknowledged,
    /// Invalid as a whole (e.g. unknown customer); nothing was done.
    Rejected,
    /// Items are being carried out.
    InProgress,
    /// Every item completed.
    Completed,
    /// Every item failed or was rejected.
    Failed,
    /// Some items completed, others failed.
    Partial,
}

/// State of one order item: Pending, InProgress, Completed, Failed (see the message) or
/// Rejected (invalid item, nothing done).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ItemState {
    /// Not started.
    Pending,
    /// Being carried out.
    InProgress,
    /// Done.
    Completed,
    /// Tried and failed; see the message.
    Failed,
    /// Invalid item; nothing was done.
    Rejected,
}

/// Progress of one order item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// The subscription the item is about.
    pub subscription: String,
    /// Its state.
    pub state: ItemState,
    /// Why it failed or was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The machine-readable reason of a rejection, in CamelCase (`UnknownProduct`,
    /// `PortInUse`, `CustomerClosed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The observed state of a ServiceOrder, written by the provisioning controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOrderStatus {
    /// State of the whole order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OrderState>,
    /// Progress of every item, in the order of `spec.items`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemStatus>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the order (Ready when Completed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
