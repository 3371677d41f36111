//! Provisioning: ServiceOrders and Subscriptions become configured devices.
//!
//! The Subscription controller is a fixed pipeline — dereference → validate → allocate →
//! render → transact → status — whose middle steps are plain functions in this module's
//! files, unit-tested without a server. [`inventory`] holds the Device and ResourcePool
//! controllers; [`start`] starts them all.

pub mod allocate;
pub mod context;
pub mod inventory;
pub mod netconf;
pub mod order;
pub mod plan;
pub mod start;
pub mod stores;
pub mod subscription;
pub mod topology;
pub mod transactor;

#[cfg(test)]
pub(crate) mod fixtures;
