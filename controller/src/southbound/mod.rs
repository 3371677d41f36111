//! Southbound: how Ferrule talks to network devices (NETCONF over SSH).

pub mod client;
