//! The device-facing edge of provisioning: one network transaction per subscription change.
//!
//! The controllers describe what one owner (a Subscription) wants on each device —
//! [`ChangeSet`] — and a [`NetworkTransactor`] turns it into NETCONF: [`plan`] computes, without
//! touching a device, the exact edit per device (the difference between what the owner
//! applied before and what it wants now, or the removal of exactly its entries), the canonical
//! configuration it will own and the digest of it; [`apply`] pushes a plan as one all-or-nothing
//! transaction across its devices.
//!
//! The southbound module provides the implementation over NETCONF sessions; provisioning
//! only depends on this trait, so its controllers are tested with a recording implementation.
//!
//! [`plan`]: NetworkTransactor::plan
//! [`apply`]: NetworkTransactor::apply

use std::collections::BTreeSet;
use std::fmt;

use ferrule_crds::Device;
use futures::future::BoxFuture;
use kube::ResourceExt;

use ferrule_operator::reasons;

/// How to reach one device: what the southbound needs to open (or reuse) its session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceTarget {
    /// Namespace of the Device.
    pub namespace: String,
    /// Device name.
    pub name: String,
    /// Device profile name.
    pub profile: String,
    /// `host:port`.
    pub address: String,
    /// Name of the Secret with the credentials.
    pub credentials_secret: String,
    /// Pinned host key fingerprint.
    pub host_key: Option<String>,
    /// Connect without verifying the host key (explicit opt-out).
    pub insecure_skip_host_key_verification: bool,
}

impl DeviceTarget {
    /// The target of a Device resource.
    pub fn of(device: &Device) -> Self {
        Self {
            namespace: device.namespace().unwrap_or_default(),
            name: device.name_any(),
            profile: device.spec.profile.clone(),
            address: device.spec.address.clone(),
            credentials_secret: device.spec.credentials_secret.clone(),
            host_key: device.spec.host_key.clone(),
            insecure_skip_host_key_verification: device.spec.insecure_skip_host_key_verification,
        }
    }

    /// `namespace/name`, the key of the device's session.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Configuration one owner has on one device, in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedConfig {
    /// Canonical XML of the owner's configuration (the inner `<config>` payload).
    pub canonical: String,
    /// Digest of the canonical XML.
    pub digest: String,
    /// Keyed list entries the owner created, as instance-identifier paths.
    pub owned: Vec<String>,
}

/// What one owner wants on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChange {
    /// The device.
    pub target: DeviceTarget,
    /// The rendered payload now wanted; `None` removes everything the owner has there.
    pub desired: Option<String>,
    /// What the owner applied before; `None` when it has nothing there.
    pub previous: Option<AppliedConfig>,
    /// Entries other owners hold on the device: a removal leaves them in place. Only those
    /// among the owner's previous entries matter (nothing else can be removed), so a caller may
    /// leave the others out.
    pub held_by_others: BTreeSet<String>,
}

/// Everything one owner wants changed, as one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// The owner, `namespace/name` of the Subscription (used in transaction ids and logs).
    pub owner: String,
    /// One change per device, in the order devices are prepared.
    pub changes: Vec<DeviceChange>,
}

/// The planned change of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    /// The device.
    pub target: DeviceTarget,
    /// The edit-config payload (inner `<config>`), `None` when the device needs nothing.
    pub edit: Option<String>,
    /// The payload undoing `edit` for this owner (see
    /// [`compensate`](crate::netconf::compensate)): what a running-only device
    /// gets when the transaction fails after its edit. `Some("")` when there is nothing to
    /// undo; `None` when none was computed (no edit), which running-only devices refuse.
    pub compensation: Option<String>,
    /// What the owner will have on the device afterwards; `None` when nothing.
    pub applied: Option<AppliedConfig>,
}

/// A whole planned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    /// The owner.
    pub owner: String,
    /// One plan per device of the change set, same order.
    pub devices: Vec<DevicePlan>,
}

impl NetworkPlan {
    /// Whether any device needs an edit.
    pub fn is_noop(&self) -> bool {
        self.devices.iter().all(|d| d.edit.is_none())
    }

    /// The devices that get an edit.
    pub fn pushed(&self) -> impl Iterator<Item = &DevicePlan> {
        self.devices.iter().filter(|d| d.edit.is_some())
    }
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Transaction id (also the confirmed-commit persist id on the devices).
    pub transaction: String,
    /// Devices that committed an edit.
    pub devices: Vec<String>,
}

/// Why a change could not be planned: the rendered configuration is unusable. The user must
/// fix the template, profile or intent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Device {device}: {message}")]
pub struct PlanError {
    /// The device.
    pub device: String,
    /// What is wrong, e.g. a payload that is no config tree, or a conflict with another owner.
    pub message: String,
}

/// One `<rpc-error>` of a device, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceRpcError {
    /// `error-type` (`application`, `protocol`, `rpc`, `transport`).
    pub error_type: String,
    /// `error-tag`, e.g. `invalid-value`.
    pub tag: String,
    /// `error-path`, when the device gave one.
    pub path: Option<String>,
    /// `error-message`, when the device gave one.
    pub message: Option<String>,
    /// `error-app-tag`, when the device gave one.
    pub app_tag: Option<String>,
}

impl fmt::Display for DeviceRpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rpc-error {}", self.tag)?;
        if let Some(app_tag) = &self.app_tag {
            write!(f, " ({app_tag})")?;
        }
        if let Some(path) = &self.path {
            write!(f, " at {path}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why a transaction did not commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactError {
    /// A device could not be reached (connection, authentication, host key). Nothing changed.
    #[error("Device {device} is unreachable: {message}")]
    Unreachable {
        /// The device.
        device: String,
        /// Why.
        message: String,
    },
    /// A device answered with rpc-errors; every device was rolled back.
    #[error("Device {device} rejected the {phase}: {}; all devices rolled back", join_errors(.errors))]
    Rejected {
        /// The device.
        device: String,
        /// The step that failed (`lock`, `edit-config`, `validate`, `commit`...).
        phase: String,
        /// The device's errors, verbatim.
        errors: Vec<DeviceRpcError>,
    },
    /// The transaction failed in another way (session lost, confirm incomplete); the
    /// message says what state the devices were left in.
    #[error("transaction {transaction} failed: {message}")]
    Failed {
        /// Transaction id.
        transaction: String,
        /// What happened.
        message: String,
    },
}

fn join_errors(errors: &[DeviceRpcError]) -> String {
    if errors.is_empty() {
        return "rpc-error without details".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl TransactError {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => reasons::DEVICE_UNREACHABLE,
            Self::Rejected { .. } => reasons::DEVICE_REJECTED,
            Self::Failed { .. } => reasons::TRANSACTION_FAILED,
        }
    }
}

/// Turns change sets into NETCONF transactions.
pub trait NetworkTransactor: Send + Sync + fmt::Debug {
    /// Plans a change set without touching any device: the edit per device, and what the
    /// owner will have there afterwards.
    fn plan(&self, changes: &ChangeSet) -> Result<NetworkPlan, PlanError>;

    /// Pushes the edits of `plan` as one transaction across its devices: every device
    /// commits, or none keeps anything.
    fn apply<'a>(
        &'a self,
        plan: &'a NetworkPlan,
    ) -> BoxFuture<'a, Result<Committed, TransactError>>;

    /// Drops the transactions this transactor runs on tasks of its own (at the end of a
    /// bounded shutdown, once their callers are gone). Each keeps its journal record for the
    /// next start's recovery. Nothing to do for a transactor that runs them in `apply`.
    fn abort_in_flight(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_errors_are_shown_verbatim() {
        let err = TransactError::Rejected {
            device: "bng1".into(),
            phase: "edit-config".into(),
            errors: vec![DeviceRpcError {
                error_type: "application".into(),
                tag: "invalid-value".into(),
                path: Some("/if:interfaces/if:interface[if:name='xe-0/0/0.1200']/ip:ipv4".into()),
                message: Some("prefix-length 33 out of range".into()),
                app_tag: None,
            }],
        };
        assert_eq!(
            err.to_string(),
            "Device bng1 rejected the edit-config: rpc-error invalid-value at \
             /if:interfaces/if:interface[if:name='xe-0/0/0.1200']/ip:ipv4: prefix-length 33 out \
             of range; all devices rolled back"
        );
        assert_eq!(err.reason(), reasons::DEVICE_REJECTED);
    }

    #[test]
    fn plans_know_when_nothing_is_pushed() {
        let target = crate::fixtures::mk_target("olt1");
        assert_eq!(target.key(), "isp/olt1");
        let mut plan = NetworkPlan {
            owner: "isp/s".into(),
            devices: vec![DevicePlan {
                target,
                edit: None,
                compensation: None,
                applied: None,
            }],
        };
        assert!(plan.is_noop());
        plan.devices[0].edit = Some("<x/>".into());
        assert!(!plan.is_noop());
        assert_eq!(plan.pushed().count(), 1);
    }
}
