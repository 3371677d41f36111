//! Inventory: Devices (sessions, capabilities, reachability, drift) and ResourcePools
//! (allocated and free values).
//!
//! [`drift`] and [`status`] are pure; [`device`] and [`pool`] are the controllers; [`agent`]
//! is the device-facing edge, over the same pooled NETCONF sessions as the transactions;
//! [`verified`] is what was established about each device in this run of the process.

pub mod agent;
pub mod device;
pub mod drift;
pub mod pool;
pub mod status;
pub mod verified;
