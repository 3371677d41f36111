//! Ferrule: an intent-based OSS/BSS controller for Internet Service Providers.
//!
//! The library holds every part of the `ferrule` binary; `main.rs` only parses the command
//! line. See `docs/architecture.md` for how the modules fit together.

pub mod bench;
pub mod cli;
pub mod client;
pub mod commands;
pub mod http;
pub mod logging;
pub mod manifests;
pub mod summary;

// Transitional: the parts already moved to crates of their own, under their old module
// names, so that the code not yet moved compiles unchanged (docs/architecture.md).
pub use ferrule_apiserver as apiserver;
pub use ferrule_netconf as southbound;
pub use ferrule_netsim as netsim;
pub use ferrule_operator::metrics;
pub use ferrule_provisioning as provisioning;
pub use ferrule_provisioning::inventory;
pub use ferrule_render as render;
