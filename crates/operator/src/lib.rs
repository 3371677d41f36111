//! The controller kit: what Ferrule's controllers share and that knows nothing of ISPs —
//! shared watched caches and their change streams ([`cache`], [`changes`], [`index`]), a
//! bounded Event recorder ([`events`]), status merge patches ([`patch`]), the condition reason
//! vocabulary ([`reasons`]), per-object retry delays ([`backoff`]), the controllers' metrics
//! ([`metrics`]) and the small helpers of [`context`].

// Tests report failures by panicking; library code is still checked by the non-test build.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backoff;
pub mod cache;
pub mod changes;
pub mod context;
pub mod events;
pub mod index;
pub mod metrics;
pub mod patch;
pub mod reasons;
