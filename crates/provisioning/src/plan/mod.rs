//! `ferrule plan`: a dry run of manifests against the running system.
//!
//! [`manifests`] reads the files, [`dryrun`] runs the Subscription pipeline's own pure steps
//! (validate, allocate without creating claims, render, plan the per-device edits) over the
//! cluster's resources with the manifests laid on top, [`report`] prints the exact NETCONF
//! payload per device and the claims that would be made, and [`cluster`] reads the running
//! system (the CLI is the binary's `commands::plan`). Nothing is written to the cluster or
//! pushed to a device.

pub mod cluster;
pub mod dryrun;
pub mod manifests;
pub mod report;
