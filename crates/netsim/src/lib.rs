//! Simulated NETCONF devices: SSH servers with candidate/running datastores, locks,
//! confirmed commit, interface state and counters, and fault injection, for users who want to
//! try Ferrule without a network and for tests.
//!
//! - [`start`] / [`start_with`] run a [`Topology`] on the caller's tokio runtime and return a
//!   [`Netsim`] handle (addresses, fingerprints, [`Control`], shutdown);
//! - every device is a russh server with the `netconf` subsystem; its datastores are config
//!   trees with the keyed lists of its device profile, edited with RFC 6241 semantics by
//!   `southbound::tree::apply_edit`;
//! - [`Control`] (and the HTTP API in `http.rs`) injects faults: interfaces down, device
//!   unreachable, latency, rejected commits, changes behind the controller's back;
//! - with [`Options::state_dir`], each device keeps its running configuration across
//!   restarts in `STATE_DIR/<device>.xml` (`persist.rs`), like a real device's startup
//!   configuration.
//!
//! See `docs/netsim.md` for the topology format and the control API.

pub mod auth;
pub mod capabilities;
pub mod commit;
pub mod control;
pub mod device;
mod dispatch;
pub mod error;
pub mod faults;
pub mod filter;
pub mod hello;
pub mod hostkey;
pub mod http;
pub mod interfaces;
pub mod locks;
pub mod model;
pub mod oper;
pub mod persist;
#[cfg(test)]
mod proptests;
pub mod rpc;
pub mod rpc_error;
mod runtime;
mod session;
mod ssh;
pub mod state;
pub mod topology;
pub mod traffic;

pub use control::{Control, DeviceStatus, DeviceSummary};
pub use device::Device;
pub use dispatch::Reply;
pub use error::NetsimError;
pub use faults::CommitRejection;
pub use runtime::{DEFAULT_CONTROL_LISTEN, Netsim, Options, fingerprints, start, start_with};
pub use session::MAX_MESSAGE_BYTES;
pub use topology::{DeviceSpec, Topology};
