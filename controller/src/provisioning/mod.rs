//! Provisioning: ServiceOrders and Subscriptions become configured devices.
//!
//! The Subscription controller is a fixed pipeline — dereference → validate → allocate →
//! render → transact → status — whose middle steps are plain functions in this module's
//! files, unit-tested without a server.

pub mod allocate;
