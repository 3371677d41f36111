//! Device: a network element Ferrule configures over NETCONF/SSH.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::patterns;
use crate::time::Timestamp;

/// The type a Secret must have for a Device to use it as its `credentialsSecret`. A Secret's
/// type is fixed when it is created, so only someone who writes Secrets can make one.
pub const CREDENTIALS_SECRET_TYPE: &str = "ferrule.dev/device-credentials";

/// The desired state of a Device: how to reach it and what it does in the network.
// Every `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "oss.ferrule.dev",
    version = "v1alpha1",
    kind = "Device",
    namespaced,
    status = "DeviceStatus",
    derive = "PartialEq",
    shortname = "dev",
    category = "ferrule",
    doc = "A network device managed over NETCONF/SSH: its address, credentials, device profile and role (access, BNG or core).",
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Site", type_ = "string", json_path = ".spec.site"),
    printcolumn(name = "Profile", type_ = "string", json_path = ".spec.profile"),
    printcolumn(
        name = "Address",
        type_ = "string",
        json_path = ".spec.address",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSpec {
    /// NETCONF endpoint, `host:port`: a DNS name, an IPv4 address or a bracketed IPv6
    /// address, and a port (830 is NETCONF's).
    #[schemars(length(max = 261), regex(pattern = patterns::HOST_PORT))]
    pub address: String,
    /// Device profile (a file name under `device-profiles/` without `.yaml`), e.g.
    /// `ietf-interfaces`, `junos`.
    #[schemars(length(min = 1, max = 63), regex(pattern = patterns::DNS1123_LABEL))]
    pub profile: String,
    /// Name of the Secret (same namespace) with `username` and `password` or `privateKey`.
    /// The Secret must be of type `ferrule.dev/device-credentials`: Ferrule refuses any other
    /// Secret (condition reason `CredentialsNotPermitted`) and sends nothing to the address.
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub credentials_secret: String,
    /// Pinned SSH host key fingerprint, `SHA256:` and 43 base64 characters, as printed by
    /// `ssh-keygen -lf`. Required unless `insecureSkipHostKeyVerification` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::SSH_FINGERPRINT))]
    pub host_key: Option<String>,
    /// Connect without verifying the SSH host key. Only for labs: anyone on the path can
    /// impersonate the device.
    #[serde(default)]
    pub insecure_skip_host_key_verification: bool,
    /// Role in the network: `access` (subscriber ports), `bng` (subscriber addressing) or
    /// `core`.
    pub role: DeviceRole,
    /// Site the device is located at; an access device uses the BNG of its site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub site: Option<String>,
    /// Subscriber ports of an access device, e.g. `ge-0/0/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub ports: Option<Vec<String>>,
    /// Name of the BNG Device serving this access device. When absent, the bng-role Device of
    /// the same site; when there is none, services are configured on the access device alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::DNS1123_SUBDOMAIN))]
    pub bng: Option<String>,
    /// Port of the BNG that faces this access device; the BNG side of every subscription on
    /// this access device (its layer-3 sub-interface, e.g. `ge-0/0/0.1203`) is configured on
    /// it. When absent, the port is named after this access device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub bng_port: Option<String>,
    /// What to do when the device's configuration drifts from what Ferrule owns: Report
    /// raises a ConfigDrift alarm, Repair also re-applies the owned configuration.
    #[serde(default)]
    pub drift_policy: DriftPolicy,
    /// Maintenance mode: while true, Ferrule pushes no configuration to the device; changes
    /// wait until it is cleared.
    #[serde(default)]
    pub maintenance: bool,
}

/// Role of a device in the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceRole {
    /// Has subscriber ports (OLT, DSLAM, access switch).
    Access,
    /// Terminates subscribers and assigns their addresses.
    Bng,
    /// Transport only.
    Core,
}

/// Reaction to configuration drift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DriftPolicy {
    /// Raise a ConfigDrift alarm only.
    #[default]
    Report,
    /// Raise the alarm and re-apply the owned configuration.
    Repair,
}

/// Connection phase of a device: Pending (not contacted yet), Connected (a NETCONF session is
/// established), Unreachable (the last connection attempt failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DevicePhase {
    /// Not contacted yet.
    Pending,
    /// A NETCONF session is established.
    Connected,
    /// The last connection attempt failed.
    Unreachable,
}

/// Result of the last drift check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Whether the running configuration differs from what Ferrule owns.
    pub detected: bool,
    /// Canonical paths of the owned entries that differ.
    #[serde(default)]
    pub entries: Vec<String>,
    /// Subscriptions whose configuration on the device is missing or different and was not
    /// repaired; they are not Ready (reason ConfigDrift) until the drift goes away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<String>,
    /// When the check ran.
    pub checked_at: Timestamp,
}

/// The observed state of a Device, written by the inventory controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// Connection phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DevicePhase>,
    /// NETCONF capabilities the device announced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Identifier of the last network transaction committed on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transaction: Option<String>,
    /// Result of the last drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Reachable, InSync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
