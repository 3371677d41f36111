//! `oss.ferrule.dev`: the network the ISP owns and what happens on it.

pub mod alarm;
pub mod device;
pub mod resource_claim;
pub mod resource_pool;
