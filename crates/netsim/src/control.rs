//! Fault injection and inspection of running simulated devices, in process.
//!
//! [`Control`] is what tests hold; the HTTP control API (`http.rs`) is a thin layer over it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::device::{Device, SessionInfo};
use super::error::NetsimError;
use super::faults::{CommitRejection, MAX_LATENCY};
use super::locks::{Datastore, SessionId};

/// Controls the devices of one running simulator. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    devices: Arc<BTreeMap<String, Arc<Device>>>,
}

/// One line of the device list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    /// Device name.
    pub name: String,
    /// `host:port` of its SSH server.
    pub address: SocketAddr,
    /// The profile it emulates.
    pub profile: String,
    /// Host key fingerprint (`SHA256:…`).
    pub host_key: String,
    /// Whether it accepts connections.
    pub reachable: bool,
    /// Open NETCONF sessions.
    pub sessions: usize,
}

/// Everything the control API tells about one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    /// The summary line.
    #[serde(flatten)]
    pub summary: DeviceSummary,
    /// Open sessions.
    pub session_list: Vec<SessionInfo>,
    /// Lock holders by datastore.
    pub locks: BTreeMap<String, SessionId>,
    /// Whether a confirmed commit waits for confirmation.
    pub confirm_pending: bool,
    /// Whether the candidate differs from running.
    pub candidate_dirty: bool,
    /// Interfaces taken down.
    pub down_interfaces: Vec<String>,
    /// Added latency per RPC, in milliseconds.
    pub latency_millis: u64,
    /// The rejection armed for the next commit.
    pub reject_next_commit: Option<CommitRejection>,
    /// RPCs answered so far.
    pub rpcs: u64,
    /// Successful `<commit>` RPCs so far (a confirmed commit and its confirmation are two).
    pub commits: u64,
    /// Replies held back by the latency fault so far.
    pub delayed_replies: u64,
    /// The time those replies were held back, in all, in milliseconds.
    pub delayed_millis: u64,
}

// === impl Control ===

impl Control {
    pub(crate) fn new(devices: Arc<BTreeMap<String, Arc<Device>>>) -> Self {
        Self { devices }
    }

    /// The device called `name`.
    pub fn device(&self, name: &str) -> Result<&Arc<Device>, NetsimError> {
        self.devices
            .get(name)
            .ok_or_else(|| NetsimError::NoSuchDevice(name.to_owned()))
    }

    /// Every device, by name.
    pub fn list(&self) -> Vec<DeviceSummary> {
        self.devices.values().map(|d| summary(d)).collect()
    }

    /// The status of one device.
    pub fn status(&self, name: &str) -> Result<DeviceStatus, NetsimError> {
        let device = self.device(name)?;
        let session_list = device.sessions();
        let state = device.state();
        let mut locks = BTreeMap::new();
        for store in [Datastore::Running, Datastore::Candidate] {
            if let Some(holder) = state.locks.holder(store) {
                locks.insert(store.as_str().to_owned(), holder);
            }
        }
        Ok(DeviceStatus {
            summary: DeviceSummary {
                sessions: session_list.len(),
                ..summary(device)
            },
            session_list,
            locks,
            confirm_pending: state.stores.pending().is_some(),
            candidate_dirty: state.stores.candidate_dirty(),
            down_interfaces: state.faults.down.iter().cloned().collect(),
            latency_millis: u64::try_from(state.faults.latency.as_millis()).unwrap_or(u64::MAX),
            reject_next_commit: state.faults.reject_next_commit.clone(),
            rpcs: device.rpc_count(),
            commits: device.commit_count(),
            delayed_replies: device.delayed_replies().0,
            delayed_millis: device.delayed_replies().1,
        })
    }

    /// Takes an interface (a port or a subinterface) down or brings it back up.
    pub fn set_interface(
        &self,
        device: &str,
        interface: &str,
        up: bool,
    ) -> Result<(), NetsimError> {
        let device = self.device(device)?;
        if interface.is_empty() || interface.len() > 255 {
            return Err(invalid(device, "interface names are 1-255 characters"));
        }
        device.state().set_interface(interface, up, Instant::now());
        Ok(())
    }

    /// Makes a device unreachable (sessions closed, connections refused) or reachable.
    pub fn set_reachable(&self, device: &str, reachable: bool) -> Result<(), NetsimError> {
        self.device(device)?.set_reachable(reachable);
        Ok(())
    }

    /// Adds `latency` before every RPC reply of the device (zero removes it).
    pub fn set_latency(&self, device: &str, latency: Duration) -> Result<(), NetsimError> {
        let device = self.device(device)?;
        if latency > MAX_LATENCY {
            return Err(invalid(device, "latency is over the limit of 600 s"));
        }
        device.state().faults.latency = latency;
        Ok(())
    }

    /// Makes the next `<commit>` of the device fail with `rejection`.
    pub fn reject_next_commit(
        &self,
        device: &str,
        rejection: CommitRejection,
    ) -> Result<(), NetsimError> {
        let device = self.device(device)?;
        rejection
            .validate()
            .map_err(|reason| invalid(device, &reason.to_string()))?;
        device.state().faults.reject_next_commit = Some(rejection);
        Ok(())
    }

    /// Disarms a commit rejection that has not fired yet.
    pub fn clear_commit_rejection(&self, device: &str) -> Result<(), NetsimError> {
        self.device(device)?.state().faults.reject_next_commit = None;
        Ok(())
    }

    /// Changes the running configuration directly, as an operator on the device's CLI would:
    /// `config` is the content of a `<config>` element, applied with `default_operation`
    /// (`merge`, `replace` or `none`) and `nc:operation` attributes as in `<edit-config>`.
    /// The candidate follows when it had no pending changes.
    pub fn edit_running(
        &self,
        device: &str,
        config: &str,
        default_operation: &str,
    ) -> Result<(), NetsimError> {
        let device = self.device(device)?;
        let result = device
            .state()
            .edit_running_directly(config, default_operation, Instant::now())
            .map_err(|failure| NetsimError::Datastore {
                device: device.name().to_owned(),
                message: failure.to_string(),
            });
        device.config_touched();
        result
    }

    /// The running configuration as XML (the content of `<data>`).
    pub fn running_config(&self, device: &str) -> Result<String, NetsimError> {
        Ok(self.device(device)?.state().running_xml())
    }

    /// Kills every NETCONF session of the device (their locks are released).
    pub fn kill_sessions(&self, device: &str) -> Result<usize, NetsimError> {
        let device = self.device(device)?;
        let ids: Vec<SessionId> = device.sessions().iter().map(|s| s.session_id).collect();
        Ok(ids.into_iter().filter(|id| device.end_session(*id)).count())
    }
}

fn summary(device: &Device) -> DeviceSummary {
    DeviceSummary {
        name: device.name().to_owned(),
        address: device.addr(),
        profile: device.spec().profile.clone(),
        host_key: device.fingerprint().to_owned(),
        reachable: device.is_reachable(),
        sessions: device.sessions().len(),
    }
}

fn invalid(device: &Device, reason: &str) -> NetsimError {
    NetsimError::InvalidDevice {
        device: device.name().to_owned(),
        reason: reason.to_owned(),
    }
}
