//! Simulated NETCONF devices: SSH servers with candidate/running datastores, locks,
//! confirmed commit, interface state and counters, and fault injection, for users who want to
//! try Ferrule without a network and for tests.
//!
//! See `docs/netsim.md` for the topology format and the control API.

pub mod auth;
pub mod capabilities;
pub mod commit;
pub mod error;
pub mod faults;
pub mod hostkey;
pub mod locks;
pub mod rpc_error;
pub mod topology;
pub mod traffic;

pub use error::NetsimError;
pub use topology::{DeviceSpec, Topology};
