//! Allocation of VLAN ids and IPv4 subnets from resource pools.
//!
//! Pure functions over a pool's range and the set of values already claimed. The API server
//! makes an allocation final: the controller creates a ResourceClaim named from pool and
//! value, and a name conflict means another subscription won the race, so it asks for the
//! next free value again. Nothing here talks to the API.
//!
//! IPv4 pools hand out one subnet of `prefixLength` per subscription, carved from `cidr` in
//! address order. The subscription's address is the first usable host of its subnet (the
//! gateway side that the BNG configures; the customer's equipment takes the next one). A
//! subnet that contains a reserved address is never handed out. With `prefixLength` 31 or
//! 32 every address of the subnet is usable (RFC 3021 point-to-point links, unnumbered
//! designs).

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 prefix such as `100.64.0.0/22`, always stored with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Prefix {
    network: u32,
    len: u8,
}

/// Why a prefix string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The text is not `a.b.c.d/len`.
    #[error("{0:?} is not an IPv4 prefix of the form a.b.c.d/len")]
    Syntax(String),
    /// The length is above 32.
    #[error("prefix length {0} is above 32")]
    Length(u8),
    /// Host bits are set where a network address is expected.
    #[error("{0} has host bits set; the network address is {1}")]
    HostBits(String, String),
}

impl Ipv4Prefix {
    /// Builds a prefix from an address and a length, clearing host bits.
    pub fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixError> {
        if len > 32 {
            return Err(PrefixError::Length(len));
        }
        Ok(Self {
            network: u32::from(addr) & mask(len),
            len,
        })
    }

    /// Parses `a.b.c.d/len` strictly: host bits must be clear.
    pub fn parse_network(text: &str) -> Result<Self, PrefixError> {
        let (addr, len) = split_prefix(text)?;
        let prefix = Self::new(addr, len)?;
        if prefix.network() != addr {
            return Err(PrefixError::HostBits(text.to_owned(), prefix.to_string()));
        }
        Ok(prefix)
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Number of addresses in the prefix.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    /// Whether the prefix holds the address.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & mask(self.len) == self.network
    }

    /// The first usable host: the network address itself for /31 and /32, else the next one.
    pub fn first_host(&self) -> Ipv4Addr {
        if self.len >= 31 {
            self.network()
        } else {
            Ipv4Addr::from(self.network + 1)
        }
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_network(s)
    }
}

/// Reads `a.b.c.d/len` into an address (host bits kept) and a length.
pub fn split_prefix(text: &str) -> Result<(Ipv4Addr, u8), PrefixError> {
    let syntax = || PrefixError::Syntax(text.to_owned());
    let (addr, len) = text.split_once('/').ok_or_else(syntax)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| syntax())?;
    if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    let len: u8 = len.parse().map_err(|_| syntax())?;
    if len > 32 {
        return Err(PrefixError::Length(len));
    }
    Ok((addr, len))
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// The values a pool can hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolRange {
    /// VLAN ids `from..=to`.
    Vlan {
        /// First id.
        from: u16,
        /// Last id.
        to: u16,
    },
    /// Subnets of `subnet_len` carved from `cidr`, skipping those holding a reserved address.
    Ipv4 {
        /// The pool's address range.
        cidr: Ipv4Prefix,
        /// Length of each subscriber subnet.
        subnet_len: u8,
        /// Addresses that must never be handed out.
        reserved: BTreeSet<Ipv4Addr>,
    },
}

/// A pool definition that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The VLAN range is empty or outside 1–4094.
    #[error("VLAN range {from}-{to} is invalid: ids are 1-4094 and from must not exceed to")]
    VlanRange {
        /// First id.
        from: u16,
        /// Last id.
        to: u16,
    },
    /// The subnet length is shorter than the pool's prefix.
    #[error("prefixLength {subnet_len} is shorter than the pool's cidr {cidr}")]
    SubnetLen {
        /// The pool's range.
        cidr: Ipv4Prefix,
        /// The requested subnet length.
        subnet_len: u8,
    },
    /// The pool's cidr could not be read.
    #[error("cidr: {0}")]
    Prefix(#[from] PrefixError),
}

/// One value handed out by a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Allocation {
    /// A VLAN id.
    Vlan(u16),
    /// A subscriber subnet.
    Ipv4(Ipv4Prefix),
}

impl Allocation {
    /// The value as stored in a ResourceClaim's `spec.value`: `1203`, `100.64.0.4/30`.
    pub fn claim_value(&self) -> String {
        match self {
            Self::Vlan(id) => id.to_string(),
            Self::Ipv4(prefix) => prefix.to_string(),
        }
    }

    /// The value as recorded in a Subscription's `status.allocations.ipv4`: the subnet's first
    /// usable host with the subnet length, e.g. `100.64.0.5/30`.
    pub fn interface_address(&self) -> Option<String> {
        match self {
            Self::Vlan(_) => None,
            Self::Ipv4(prefix) => Some(format!("{}/{}", prefix.first_host(), prefix.prefix_len())),
        }
    }
}

impl PoolRange {
    /// A VLAN range, checked.
    pub fn vlan(from: u16, to: u16) -> Result<Self, PoolError> {
        if from == 0 || to > 4094 || from > to {
            return Err(PoolError::VlanRange { from, to });
        }
        Ok(Self::Vlan { from, to })
    }

    /// An IPv4 range, checked.
    pub fn ipv4(cidr: &str, subnet_len: u8, reserved: &[Ipv4Addr]) -> Result<Self, PoolError> {
        let cidr = Ipv4Prefix::parse_network(cidr)?;
        if subnet_len < cidr.prefix_len() || subnet_len > 32 {
            return Err(PoolError::SubnetLen { cidr, subnet_len });
        }
        Ok(Self::Ipv4 {
            cidr,
            subnet_len,
            reserved: reserved.iter().copied().collect(),
        })
    }

    /// How many values the pool holds in all (reserved subnets excluded).
    pub fn capacity(&self) -> u64 {
        match self {
            Self::Vlan { from, to } => u64::from(to - from) + 1,
            Self::Ipv4 {
                cidr,
                subnet_len,
                reserved,
            } => {
                let subnets = 1u64 << (subnet_len - cidr.prefix_len());
                let blocked: BTreeSet<Ipv4Prefix> = reserved
                    .iter()
                    .filter(|a| cidr.contains(**a))
                    .filter_map(|a| Ipv4Prefix::new(*a, *subnet_len).ok())
                    .collect();
                subnets - blocked.len() as u64
            }
        }
    }

    /// Whether a value belongs to this pool and may be handed out (used for values pinned in
    /// a Subscription's spec).
    pub fn admits(&self, value: &Allocation) -> bool {
        match (self, value) {
            (Self::Vlan { from, to }, Allocation::Vlan(id)) => (*from..=*to).contains(id),
            (
                Self::Ipv4 {
                    cidr,
                    subnet_len,
                    reserved,
                },
                Allocation::Ipv4(prefix),
            ) => {
                prefix.prefix_len() == *subnet_len
                    && cidr.contains(prefix.network())
                    && !reserved.iter().any(|a| prefix.contains(*a))
            }
            _ => false,
        }
    }

    /// The lowest free value, skipping `taken`; `None` when the pool is exhausted.
    ///
    /// Cost is linear in the number of taken values below the answer, which stays small
    /// compared with a round trip to the API server.
    pub fn next_free(&self, taken: &BTreeSet<Allocation>) -> Option<Allocation> {
        match self {
            Self::Vlan { from, to } => (*from..=*to)
                .map(Allocation::Vlan)
                .find(|candidate| !taken.contains(candidate)),
            Self::Ipv4 {
                cidr,
                subnet_len,
                reserved,
            } => {
                let step = 1u64 << (32 - u32::from(*subnet_len));
                let start = u64::from(u32::from(cidr.network()));
                let end = start + cidr.size();
                let mut at = start;
                while at < end {
                    let addr = Ipv4Addr::from(u32::try_from(at).ok()?);
                    let subnet = Ipv4Prefix::new(addr, *subnet_len).ok()?;
                    let candidate = Allocation::Ipv4(subnet);
                    if !taken.contains(&candidate) && !reserved.iter().any(|a| subnet.contains(*a))
                    {
                        return Some(candidate);
                    }
                    at += step;
                }
                None
            }
        }
    }

    /// Reads a claim value of this pool back (`1203`, `100.64.0.4/30`).
    pub fn parse_value(&self, value: &str) -> Option<Allocation> {
        match self {
            Self::Vlan { .. } => value.parse().ok().map(Allocation::Vlan),
            Self::Ipv4 { .. } => Ipv4Prefix::parse_network(value).ok().map(Allocation::Ipv4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn taken(values: &[Allocation]) -> BTreeSet<Allocation> {
        values.iter().copied().collect()
    }

    #[test]
    fn vlans_are_handed_out_lowest_first_and_exhaust() {
        let pool = PoolRange::vlan(1200, 1202).unwrap();
        assert_eq!(pool.capacity(), 3);
        let mut used = BTreeSet::new();
        for expected in [1200, 1201, 1202] {
            let next = pool.next_free(&used).unwrap();
            assert_eq!(next, Allocation::Vlan(expected));
            used.insert(next);
        }
        assert_eq!(pool.next_free(&used), None);
        // A released value in the middle is handed out again first.
        used.remove(&Allocation::Vlan(1201));
        assert_eq!(pool.next_free(&used), Some(Allocation::Vlan(1201)));
    }

    #[test]
    fn vlan_ranges_are_checked() {
        assert!(PoolRange::vlan(0, 10).is_err());
        assert!(PoolRange::vlan(10, 4095).is_err());
        assert!(PoolRange::vlan(20, 10).is_err());
        assert!(PoolRange::vlan(4094, 4094).is_ok());
    }

    #[test]
    fn ipv4_subnets_skip_reserved_and_report_gateway_address() {
        let pool = PoolRange::ipv4("100.64.0.0/28", 30, &["100.64.0.1".parse().unwrap()]).unwrap();
        assert_eq!(pool.capacity(), 3);
        let first = pool.next_free(&BTreeSet::new()).unwrap();
        assert_eq!(first.claim_value(), "100.64.0.4/30");
        assert_eq!(first.interface_address().unwrap(), "100.64.0.5/30");
        let second = pool.next_free(&taken(&[first])).unwrap();
        assert_eq!(second.claim_value(), "100.64.0.8/30");
        let third = pool.next_free(&taken(&[first, second])).unwrap();
        assert_eq!(pool.next_free(&taken(&[first, second, third])), None);
    }

    #[test]
    fn ipv4_point_to_point_and_host_subnets() {
        let pool = PoolRange::ipv4("192.0.2.0/30", 31, &[]).unwrap();
        let first = pool.next_free(&BTreeSet::new()).unwrap();
        assert_eq!(first.interface_address().unwrap(), "192.0.2.0/31");
        let hosts = PoolRange::ipv4("192.0.2.0/30", 32, &[]).unwrap();
        assert_eq!(hosts.capacity(), 4);
    }

    #[test]
    fn ipv4_pool_definitions_are_checked() {
        assert!(matches!(
            PoolRange::ipv4("100.64.0.1/22", 30, &[]),
            Err(PoolError::Prefix(PrefixError::HostBits(..)))
        ));
        assert!(matches!(
            PoolRange::ipv4("100.64.0.0/22", 20, &[]),
            Err(PoolError::SubnetLen { .. })
        ));
        assert!(PoolRange::ipv4("100.64.0.0/33", 33, &[]).is_err());
        assert!(PoolRange::ipv4("not-a-prefix", 30, &[]).is_err());
    }

    #[test]
    fn pinned_values_are_admitted_only_inside_the_pool() {
        let pool = PoolRange::ipv4("100.64.0.0/24", 30, &["100.64.0.9".parse().unwrap()]).unwrap();
        let inside = pool.parse_value("100.64.0.4/30").unwrap();
        assert!(pool.admits(&inside));
        let reserved = pool.parse_value("100.64.0.8/30").unwrap();
        assert!(!pool.admits(&reserved));
        let outside = Allocation::Ipv4(Ipv4Prefix::parse_network("10.0.0.0/30").unwrap());
        assert!(!pool.admits(&outside));
        assert!(!pool.admits(&Allocation::Vlan(5)));
        let vlans = PoolRange::vlan(100, 200).unwrap();
        assert!(vlans.admits(&Allocation::Vlan(150)));
        assert!(!vlans.admits(&Allocation::Vlan(201)));
    }

    proptest! {
        /// Whatever is taken, the answer is free, inside the pool, and the lowest such value.
        #[test]
        fn next_free_is_the_lowest_admitted_free_value(
            from in 1u16..4000, width in 0u16..60, picks in proptest::collection::vec(0u16..60, 0..60)
        ) {
            let to = (from + width).min(4094);
            let pool = PoolRange::vlan(from, to).unwrap();
            let used: BTreeSet<Allocation> =
                picks.iter().map(|p| Allocation::Vlan(from + p % (to - from + 1))).collect();
            match pool.next_free(&used) {
                Some(Allocation::Vlan(id)) => {
                    prop_assert!(pool.admits(&Allocation::Vlan(id)));
                    prop_assert!(!used.contains(&Allocation::Vlan(id)));
                    prop_assert!((from..id).all(|lower| used.contains(&Allocation::Vlan(lower))));
                }
                Some(other) => prop_assert!(false, "unexpected {other:?}"),
                None => prop_assert_eq!(used.len() as u64, pool.capacity()),
            }
        }

        /// Subnets handed out one after another never overlap and stay inside the cidr.
        #[test]
        fn ipv4_allocations_never_overlap(len in 24u8..29, sub in 29u8..33) {
            let pool = PoolRange::ipv4(&format!("100.64.0.0/{len}"), sub, &[]).unwrap();
            let mut used = BTreeSet::new();
            while let Some(next) = pool.next_free(&used) {
                prop_assert!(pool.admits(&next));
                used.insert(next);
            }
            prop_assert_eq!(used.len() as u64, pool.capacity());
            let total: u64 = used.iter().map(|a| match a {
                Allocation::Ipv4(p) => p.size(),
                Allocation::Vlan(_) => 0,
            }).sum();
            prop_assert_eq!(total, 1u64 << (32 - u32::from(len)));
        }

        /// Prefix parsing never panics and round-trips what it accepts.
        #[test]
        fn prefix_parse_round_trips(text in "\\PC{0,24}") {
            if let Ok(prefix) = Ipv4Prefix::parse_network(&text) {
                prop_assert_eq!(Ipv4Prefix::parse_network(&prefix.to_string()), Ok(prefix));
            }
        }
    }
}
