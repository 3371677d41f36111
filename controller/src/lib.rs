//! Ferrule: an intent-based OSS/BSS controller for Internet Service Providers.
//!
//! The library holds the parts that belong to the `ferrule` binary alone (the command line,
//! its commands, the benchmarks, logging and the HTTP listener); everything else lives in the
//! crates under `crates/`, which this library names directly. `main.rs` only parses the
//! command line. See `docs/architecture.md` for how the crates fit together.

pub mod bench;
pub mod cli;
pub mod client;
pub mod commands;
pub mod http;
pub mod logging;
pub mod manifests;
pub mod summary;
