//! Small builders for the unit tests of provisioning and inventory: the resource builders of
//! `ferrule_crds::testing`, and the NETCONF-side values built here.

pub(crate) use ferrule_crds::testing::*;

use crate::transactor::DeviceTarget;

/// The record of a candidate device `name` before anything was sent.
pub(crate) fn mk_candidate_record(name: &str) -> ferrule_netconf::transaction::DeviceRecord {
    use ferrule_netconf::transaction::{CommitMode, DeviceEdit, DeviceRecord};
    DeviceRecord::new(DeviceEdit {
        device: name.into(),
        mode: CommitMode::Candidate {
            validate: false,
            lock_running: false,
        },
        edit: "<x/>".into(),
        compensation: None,
    })
}

/// The target of an ietf device `name` in [`NS`].
pub(crate) fn mk_target(name: &str) -> DeviceTarget {
    DeviceTarget {
        namespace: NS.into(),
        name: name.into(),
        profile: "ietf".into(),
        address: "127.0.0.1:830".into(),
        credentials_secret: "c".into(),
        host_key: None,
        insecure_skip_host_key_verification: true,
    }
}
