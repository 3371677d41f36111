//! ResourcePool: a range of VLANs or IPv4 addresses subscriptions are allocated from.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::device::DeviceRole;
use crate::condition::Condition;
use crate::patterns;

/// The desired state of a ResourcePool: what it hands out and to which devices.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "oss.ferrule.dev",
    version = "v1alpha1",
    kind = "ResourcePool",
    plural = "resourcepools",
    namespaced,
    status = "ResourcePoolStatus",
    derive = "PartialEq",
    shortname = "pool",
    category = "ferrule",
    doc = "A pool of VLAN IDs or IPv4 addresses. Every allocated value is a ResourceClaim named after pool and value, so the API server's name uniqueness rules out double allocation.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Allocated", type_ = "integer", json_path = ".status.allocated"),
    printcolumn(name = "Free", type_ = "integer", json_path = ".status.free"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePoolSpec {
    /// What the pool hands out; the matching `vlan` or `ipv4` section must be set.
    #[serde(rename = "type")]
    pub type_: PoolType,
    /// The VLAN range (for type Vlan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<VlanRange>,
    /// The address range (for type IPv4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Range>,
    /// Which devices the pool serves; a pool without selector serves every device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<PoolSelector>,
}

/// Kind of values in a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PoolType {
    /// Customer VLAN IDs, allocated per access device.
    Vlan,
    /// IPv4 addresses, allocated per BNG (or access device without BNG).
    #[serde(rename = "IPv4")]
    Ipv4,
}

/// An inclusive range of VLAN IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VlanRange {
    /// First VLAN ID.
    #[schemars(range(min = 1, max = 4094))]
    pub from: i32,
    /// Last VLAN ID (inclusive).
    #[schemars(range(min = 1, max = 4094))]
    pub to: i32,
}

/// A subnet addresses are taken from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ipv4Range {
    /// The subnet, `a.b.c.d/len`. Its network and broadcast addresses are never handed out.
    #[schemars(regex(pattern = patterns::IPV4_CIDR))]
    pub cidr: String,
    /// Prefix length written with every allocated address (`/24` gives `100.64.0.5/24`).
    #[schemars(range(min = 8, max = 32))]
    pub prefix_length: i32,
    /// Addresses never handed out (gateways, servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(regex(pattern = patterns::IPV4_ADDRESS)))]
    pub reserved: Option<Vec<String>>,
}

/// Devices a pool serves; a device matches when it matches every non-empty list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSelector {
    /// Device names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Device roles (`access`, `bng`, `core`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<DeviceRole>,
    /// Device sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
}

/// The observed state of a ResourcePool, written by the inventory controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePoolStatus {
    /// Number of values currently claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub allocated: Option<i64>,
    /// Number of values still available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub free: Option<i64>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions of the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
