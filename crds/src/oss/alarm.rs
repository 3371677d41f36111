//! Alarm: a problem in the network or in provisioning (TMF642/X.733-like).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::time::Timestamp;

/// The operator-owned part of an Alarm. Everything else is status, written by Ferrule.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "oss.ferrule.dev",
    version = "v1alpha1",
    kind = "Alarm",
    namespaced,
    status = "AlarmStatus",
    derive = "PartialEq",
    shortname = "alarm",
    category = "ferrule",
    doc = "An alarm raised by Ferrule's assurance: what is wrong, where, since when, and which subscriptions it affects. Operators acknowledge it by patching spec.acknowledged.",
    printcolumn(name = "Severity", type_ = "string", json_path = ".status.severity"),
    printcolumn(name = "Type", type_ = "string", json_path = ".status.type"),
    printcolumn(name = "Source", type_ = "string", json_path = ".status.source.name"),
    printcolumn(name = "Acked", type_ = "boolean", json_path = ".spec.acknowledged"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSpec {
    /// Set to true by an operator who has taken note of the alarm.
    #[serde(default)]
    pub acknowledged: bool,
}

/// Perceived severity (X.733): Critical, Major, Minor, Warning, or Cleared once the condition
/// has gone away.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Severity {
    /// Service is down for many subscribers.
    Critical,
    /// Service is down or degraded for some subscribers.
    Major,
    /// A fault without service impact yet.
    Minor,
    /// A potential problem.
    Warning,
    /// The condition has gone away.
    Cleared,
}

/// What the alarm is about: DeviceUnreachable (no NETCONF session), InterfaceDown (a subscriber
/// interface is down), ConfigDrift (running configuration differs from what Ferrule owns),
/// ProvisioningFailed (a network transaction failed), SlaBreach (availability below the SLA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AlarmType {
    /// Ferrule cannot reach the device over NETCONF.
    DeviceUnreachable,
    /// A subscriber interface is operationally down.
    InterfaceDown,
    /// The device's running configuration differs from what Ferrule owns.
    ConfigDrift,
    /// A network transaction for a subscription failed.
    ProvisioningFailed,
    /// A subscription's availability fell below its product's SLA.
    SlaBreach,
}

/// The object an alarm is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSource {
    /// Kind of the object, e.g. `Device` or `Subscription`.
    pub kind: String,
    /// Name of the object (same namespace).
    pub name: String,
}

/// The observed state of an Alarm, written by the assurance controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatus {
    /// Current severity; Cleared once the condition has gone away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What the alarm is about.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<AlarmType>,
    /// The object the alarm is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AlarmSource>,
    /// Names of the Subscriptions whose service is affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_subscriptions: Vec<String>,
    /// When the alarm was first raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_at: Option<Timestamp>,
    /// When the alarm was cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<Timestamp>,
    /// How many times the condition was observed since the alarm was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub count: Option<i64>,
    /// Name of the correlated parent Alarm (e.g. the DeviceUnreachable alarm that explains
    /// this InterfaceDown alarm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
    /// Human-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the alarm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
