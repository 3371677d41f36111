//! Helpers shared by the tests that run the `ferrule` binary.

pub mod up;
