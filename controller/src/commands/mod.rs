//! The subcommands of the `ferrule` binary that have a module of their own.

pub mod netsim;
pub mod plan;
pub mod run;
