//! Southbound: how Ferrule talks to network devices (NETCONF over SSH).
//!
//! The pure core turns bytes and XML into typed values with no sockets; [`client`] runs SSH
//! sessions and the session manager on top of it, and [`transaction`] applies a set of
//! per-device edits all or nothing.
//!
//! How the parts fit, from the wire up:
//!
//! 1. [`framing`] splits the SSH channel's byte stream into messages. A session starts in
//!    base:1.0 end-of-message framing (`]]>]]>`) for the hellos and switches to base:1.1
//!    chunked framing when both hellos announce it ([`framing::Framing::negotiate`]). The
//!    decoder is incremental, size-limited and never panics on hostile input.
//! 2. [`hello`] builds the client hello and reads the server's capabilities and session-id;
//!    [`rpc`] builds every RPC Ferrule sends (escaping every value, checking XML payloads
//!    before embedding them) and hands out message-ids.
//! 3. [`message`] classifies what the server sends; [`reply`] reads an `<rpc-reply>` into
//!    `<ok/>`, `<data>` and typed [`rpc_error::RpcError`]s whose `Display` shows tag, path and
//!    message verbatim, as users see them in Kubernetes conditions.
//! 4. [`tree`] holds configurations as canonical trees: templates render a `<config>`
//!    payload, the tree module reads it with the device profile's keyed lists, merges the
//!    owners of a device, computes the minimal edit-config against what was applied, the
//!    reverse edit when an owner goes, and drift against the device's running config.
//!    Owned entries are recorded as instance-identifier strings such as
//!    `/if:interfaces/if:interface[if:name='ge-0/0/1.1203']` (syntax in [`tree::path`]).
//!
//! All XML goes through [`xml`], which parses with limits (size, depth, element count, name
//! length), resolves namespaces, and writes self-contained XML back.

// Tests report failures by panicking; library code is still checked by the non-test build.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod client;
pub mod framing;
pub mod hello;
pub mod message;
pub mod reply;
pub mod rpc;
pub mod rpc_error;
pub mod transaction;
pub mod tree;
pub mod xml;
