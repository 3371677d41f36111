//! The ServiceOrder controller: validates each item, changes the Subscriptions, and follows
//! them until every item completed or failed.
//!
//! [`validate`] and [`progress`] are pure; the controller reads the graph and carries out
//! the changes.

pub mod controller;
pub mod graph;
pub mod progress;
pub mod status;
pub mod validate;
