//! IPv4 prefix assigned to a subscription and the addresses templates derive from it.
//!
//! An allocation is written `a.b.c.d/len`. When it names the network itself (host bits all
//! zero, as pool allocations do) the device interface takes the first usable address as the
//! subscriber's gateway and the customer gets the rest. When it names a host address (a
//! hand-written `spec.ipv4` such as `198.51.100.9/29`) that address is the gateway.
//! /31 follows RFC 3021 (both addresses usable, the lower one is the gateway) and /32 is the
//! address itself.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An IPv4 address with prefix length, as allocated to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    address: Ipv4Addr,
    len: u8,
}

/// Why an IPv4 prefix could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ipv4PrefixError {
    /// The text is not `a.b.c.d/len`.
    #[error("`{0}` is not an IPv4 prefix like 198.51.100.8/29")]
    Syntax(String),
    /// The prefix length is outside 1..=32.
    #[error("`{0}`: prefix length must be between 1 and 32")]
    Length(String),
    /// The address is the broadcast address of its prefix, so it cannot be a gateway.
    #[error("`{0}` is the broadcast address of its prefix; give the network or a host address")]
    Broadcast(String),
}

impl Ipv4Prefix {
    /// Builds a prefix from an address and a length in 1..=32; the address must not be the
    /// broadcast address of a /30 or shorter prefix.
    pub fn new(address: Ipv4Addr, len: u8) -> Result<Self, Ipv4PrefixError> {
        if !(1..=32).contains(&len) {
            return Err(Ipv4PrefixError::Length(format!("{address}/{len}")));
        }
        let prefix = Self { address, len };
        if len <= 30 && address == prefix.broadcast() {
            return Err(Ipv4PrefixError::Broadcast(format!("{address}/{len}")));
        }
        Ok(prefix)
    }

    /// The address as written.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The netmask, e.g. 255.255.255.248 for /29.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask_bits())
    }

    /// The broadcast address (host bits set); for /31 and /32 simply the last address.
    pub fn broadcast(&self) -> Ipv4Addr {
        self.last_address()
    }

    /// The address the device interface takes (see the module documentation).
    pub fn gateway(&self) -> Ipv4Addr {
        let network = u32::from(self.network());
        if u32::from(self.address) != network || self.len == 32 {
            return self.address;
        }
        if self.len == 31 {
            return self.network();
        }
        Ipv4Addr::from(network + 1)
    }

    /// The first address left for the customer after the gateway, if any.
    pub fn first_customer(&self) -> Option<Ipv4Addr> {
        let gateway = u32::from(self.gateway());
        let (first, last) = self.usable_range();
        (first..=last).find(|a| *a != gateway).map(Ipv4Addr::from)
    }

    /// The last usable address of the prefix.
    pub fn last_usable(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.usable_range().1)
    }

    fn mask_bits(&self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0)
    }

    fn last_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) | !self.mask_bits())
    }

    fn usable_range(&self) -> (u32, u32) {
        let network = u32::from(self.network());
        let last = u32::from(self.last_address());
        if self.len >= 31 {
            (network, last)
        } else {
            (network + 1, last - 1)
        }
    }
}

impl FromStr for Ipv4Prefix {
    type Err = Ipv4PrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || Ipv4PrefixError::Syntax(text.to_owned());
        let (address, len) = text.split_once('/').ok_or_else(syntax)?;
        let address: Ipv4Addr = address.parse().map_err(|_| syntax())?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let len: u8 = len.parse().map_err(|_| syntax())?;
        Self::new(address, len)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

impl Serialize for Ipv4Prefix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The IPv4 values a template sees as `ipv4.*` (camelCase keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ipv4View {
    /// The allocation as written, e.g. `198.51.100.8/29`.
    pub prefix: String,
    /// Network address, e.g. `198.51.100.8`.
    pub network: String,
    /// Prefix length, e.g. `29`.
    pub prefix_length: u8,
    /// Netmask, e.g. `255.255.255.248`.
    pub netmask: String,
    /// The device interface address, e.g. `198.51.100.9`.
    pub gateway: String,
    /// Gateway with length, e.g. `198.51.100.9/29` (Junos `address` names).
    pub gateway_cidr: String,
    /// First customer address, e.g. `198.51.100.10` (empty for /32).
    pub first_customer: String,
    /// Last usable address, e.g. `198.51.100.14`.
    pub last_usable: String,
    /// Broadcast address, e.g. `198.51.100.15`.
    pub broadcast: String,
}

impl From<&Ipv4Prefix> for Ipv4View {
    fn from(p: &Ipv4Prefix) -> Self {
        Self {
            prefix: p.to_string(),
            network: p.network().to_string(),
            prefix_length: p.prefix_len(),
            netmask: p.netmask().to_string(),
            gateway: p.gateway().to_string(),
            gateway_cidr: format!("{}/{}", p.gateway(), p.prefix_len()),
            first_customer: p
                .first_customer()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            last_usable: p.last_usable().to_string(),
            broadcast: p.broadcast().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(text: &str) -> Ipv4Prefix {
        text.parse().unwrap()
    }

    #[test]
    fn network_allocation_uses_first_host_as_gateway() {
        let v = Ipv4View::from(&p("198.51.100.8/29"));
        assert_eq!(v.network, "198.51.100.8");
        assert_eq!(v.netmask, "255.255.255.248");
        assert_eq!(v.gateway, "198.51.100.9");
        assert_eq!(v.gateway_cidr, "198.51.100.9/29");
        assert_eq!(v.first_customer, "198.51.100.10");
        assert_eq!(v.last_usable, "198.51.100.14");
        assert_eq!(v.broadcast, "198.51.100.15");
    }

    #[test]
    fn host_address_is_the_gateway() {
        let v = Ipv4View::from(&p("198.51.100.12/29"));
        assert_eq!(v.gateway, "198.51.100.12");
        assert_eq!(v.network, "198.51.100.8");
        assert_eq!(v.first_customer, "198.51.100.9");
    }

    #[test]
    fn point_to_point_and_host_routes() {
        let v = Ipv4View::from(&p("192.0.2.0/31"));
        assert_eq!(
            (v.gateway.as_str(), v.first_customer.as_str()),
            ("192.0.2.0", "192.0.2.1")
        );
        let v = Ipv4View::from(&p("192.0.2.7/32"));
        assert_eq!(v.gateway, "192.0.2.7");
        assert_eq!(v.first_customer, "");
        assert_eq!(v.netmask, "255.255.255.255");
    }

    #[test]
    fn rejects_malformed_prefixes() {
        for bad in [
            "",
            "1.2.3.4",
            "1.2.3.4/",
            "1.2.3.4/0",
            "1.2.3.4/33",
            "1.2.3/24",
            "1.2.3.4/+8",
            "1.2.3.4/024",
            "a.b.c.d/8",
            "1.2.3.4/8/9",
            "198.51.100.15/29",
        ] {
            assert!(bad.parse::<Ipv4Prefix>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<Ipv4Prefix>();
        }

        #[test]
        fn gateway_is_inside_the_prefix(addr in any::<u32>(), len in 1u8..=32) {
            let Ok(prefix) = Ipv4Prefix::new(Ipv4Addr::from(addr), len) else {
                // Only the broadcast address of a /30-or-shorter prefix is refused.
                prop_assert!(len <= 30);
                return Ok(());
            };
            let gw = u32::from(prefix.gateway());
            prop_assert!(gw >= u32::from(prefix.network()));
            prop_assert!(gw <= u32::from(prefix.broadcast()));
            prop_assert_eq!(prefix.to_string().parse::<Ipv4Prefix>().unwrap(), prefix);
        }
    }
}
