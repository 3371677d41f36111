//! Provisioning: ServiceOrders and Subscriptions become configured devices.
//!
//! The Subscription controller is a fixed pipeline — dereference → validate → allocate →
//! render → transact → status — whose middle steps are plain functions in this module's
//! files, unit-tested without a server.

pub mod allocate;
pub mod changes;
pub mod context;
pub mod events;
pub mod index;
pub mod netconf;
pub mod order;
pub mod patch;
pub mod plan;
pub mod reasons;
pub mod start;
pub mod stores;
pub mod subscription;
pub mod topology;
pub mod transactor;

#[cfg(test)]
pub(crate) mod fixtures;
