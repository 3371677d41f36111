//! Subscription: the service intent, one product delivered to one customer on one port.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::params::Parameters;
use crate::patterns;
use crate::time::Timestamp;

/// The desired state of a Subscription: who gets which product where, and whether it runs.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "bss.ferrule.dev",
    version = "v1alpha1",
    kind = "Subscription",
    namespaced,
    status = "SubscriptionStatus",
    derive = "PartialEq",
    shortname = "sub",
    shortname = "subs",
    category = "ferrule",
    doc = "A product delivered to a customer on a subscriber port. Ferrule configures every device involved in one network transaction, bills it while it is active, and removes exactly its configuration when it is deleted.",
    printcolumn(name = "Customer", type_ = "string", json_path = ".spec.customer"),
    printcolumn(name = "Product", type_ = "string", json_path = ".spec.product"),
    printcolumn(name = "State", type_ = "string", json_path = ".spec.state"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Device", type_ = "string", json_path = ".spec.access.device"),
    printcolumn(name = "Port", type_ = "string", json_path = ".spec.access.port"),
    printcolumn(
        name = "VLAN",
        type_ = "integer",
        json_path = ".status.allocations.vlan"
    ),
    printcolumn(
        name = "IPv4",
        type_ = "string",
        json_path = ".status.allocations.ipv4",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSpec {
    /// Name of the Customer (same namespace) who is billed.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub customer: String,
    /// Name of the Product (same namespace) that is delivered.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub product: String,
    /// Desired state: Active delivers the service, Suspended applies the suspended variant
    /// of the configuration (and stops recurring charges).
    #[serde(default)]
    pub state: DesiredState,
    /// Where the subscriber is connected.
    pub access: Access,
    /// Fixed customer VLAN (1-4094); allocated from a pool that selects the access device when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4094))]
    pub vlan: Option<i32>,
    /// Fixed IPv4 address with prefix length (`a.b.c.d/len`); allocated from a pool that
    /// selects the BNG (or the access device without a BNG) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::IPV4_CIDR))]
    pub ipv4: Option<String>,
    /// Overrides of the product's parameters for this subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
}

/// Desired state of a subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DesiredState {
    /// Deliver the service.
    #[default]
    Active,
    /// Keep the subscription but apply the suspended variant.
    Suspended,
}

/// A subscriber attachment point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// Name of the access Device (same namespace).
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub device: String,
    /// Subscriber port on that device, as listed in its `spec.ports`, e.g. `ge-0/0/1`.
    #[schemars(length(min = 1, max = 128))]
    pub port: String,
}

/// Lifecycle phase of a subscription: Pending (waiting for references or resources),
/// Provisioning (a network transaction is running), Active (delivered), Suspended (suspended
/// variant applied), Failed (last transaction failed and was rolled back; see the conditions),
/// Terminating (configuration being removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SubscriptionPhase {
    /// Waiting for its references or resources.
    Pending,
    /// A network transaction is in progress.
    Provisioning,
    /// Configured and delivered.
    Active,
    /// Configured with the suspended variant.
    Suspended,
    /// The last transaction failed and was rolled back; see the conditions.
    Failed,
    /// Being deleted: its configuration is being removed.
    Terminating,
}

/// Values allocated to a subscription from resource pools (or copied from its spec).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Allocations {
    /// Customer VLAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4094))]
    pub vlan: Option<i32>,
    /// IPv4 address with prefix length, `a.b.c.d/len`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
}

/// What the subscription owns on one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceConfig {
    /// Name of the Device.
    pub name: String,
    /// Identifier of the network transaction that last changed it.
    pub transaction: String,
    /// Digest of the configuration this subscription owns on the device.
    pub digest: String,
    /// Canonical paths of the keyed list entries this subscription created on the device;
    /// exactly these are removed when it goes.
    #[serde(default)]
    pub owned: Vec<String>,
}

/// The observed state of a Subscription, written by the provisioning controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionStatus {
    /// Lifecycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<SubscriptionPhase>,
    /// Allocated VLAN and address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<Allocations>,
    /// The configuration owned on every device involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceConfig>,
    /// When the service was first delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<Timestamp>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready, Provisioned, Billable, Degraded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
