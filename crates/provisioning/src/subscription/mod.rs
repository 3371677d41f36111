//! The Subscription controller: a fixed pipeline of small steps.
//!
//! dereference (reads the API) → [`validate`] (pure) → allocate ([`allocation`] pure,
//! claims on the API) → [`render`] (pure) → transact (the [`NetworkTransactor`]) →
//! [`status`] (pure, patched when changed). Each step has its own error type; the
//! controller's `error_policy` waits for a change when the user must fix something and
//! retries with backoff otherwise.
//!
//! [`NetworkTransactor`]: crate::transactor::NetworkTransactor

pub mod allocation;
pub mod applied;
pub mod claims;
mod cleanup;
pub mod controller;
pub mod dereference;
pub mod drift;
pub mod dry_run;
pub mod error;
pub mod ledger;
pub mod render;
pub mod status;
pub mod triggers;
pub mod validate;
mod writer;
