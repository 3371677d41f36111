//! Simulated interface state and traffic counters.
//!
//! An interface is operationally up when it is enabled and neither it nor its port has been
//! taken down through fault control. While up, its octet counters grow at the configured rate
//! times the device's load factor: `in` with the upstream rate (traffic from the subscriber),
//! `out` with the downstream rate. Packets are octets divided by a fixed mean packet size.
//! Everything here is a pure function of the configuration, the faults and elapsed time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The mean packet size used to derive packet counters from octet counters.
pub const MEAN_PACKET_BYTES: u64 = 800;

/// What the simulator knows about one configured interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceView {
    /// The interface name (`ge-0/0/1.1203`).
    pub name: String,
    /// The physical port it rides on (`ge-0/0/1`); its own name for a port.
    pub port: String,
    /// The `enabled` leaf.
    pub enabled: bool,
    /// Downstream (towards the subscriber) rate in bits per second.
    pub down_bps: u64,
    /// Upstream (from the subscriber) rate in bits per second.
    pub up_bps: u64,
}

/// Counters of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Octets received (from the subscriber).
    pub in_octets: u64,
    /// Octets sent (towards the subscriber).
    pub out_octets: u64,
}

/// Accumulated traffic of every configured interface.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Per interface: bit-nanoseconds-percent received and sent (see [`Traffic::advance`]).
    acc: BTreeMap<String, (u128, u128)>,
    last: Option<Instant>,
}

// === impl InterfaceView ===

impl InterfaceView {
    /// Whether the interface is operationally up given the interfaces taken down.
    pub fn oper_up(&self, down: &BTreeSet<String>) -> bool {
        self.enabled && !down.contains(&self.name) && !down.contains(&self.port)
    }
}

// === impl Counters ===

impl Counters {
    /// Packets received.
    pub fn in_packets(&self) -> u64 {
        self.in_octets / MEAN_PACKET_BYTES
    }

    /// Packets sent.
    pub fn out_packets(&self) -> u64 {
        self.out_octets / MEAN_PACKET_BYTES
    }

    fn add(&mut self, other: Counters) {
        self.in_octets = self.in_octets.saturating_add(other.in_octets);
        self.out_octets = self.out_octets.saturating_add(other.out_octets);
    }
}

// === impl Traffic ===

/// Bits → octets, nanoseconds → seconds and percent → fraction in one divisor.
const DIVISOR: u128 = 8 * 1_000_000_000 * 100;

impl Traffic {
    /// Accounts the traffic of the time since the previous call, with the state that held
    /// during that time. Call it before every change of configuration or faults, and before
    /// reading counters. Interfaces no longer configured lose their counters.
    pub fn advance(
        &mut self,
        now: Instant,
        interfaces: &[InterfaceView],
        down: &BTreeSet<String>,
        load_percent: u8,
    ) {
        let elapsed = self
            .last
            .map(|last| now.saturating_duration_since(last))
            .unwrap_or(Duration::ZERO);
        self.last = Some(now);
        let nanos = elapsed.as_nanos();
        let load = u128::from(load_percent);
        for iface in interfaces {
            // Look up before inserting: the name is copied only for a new interface.
            let entry = match self.acc.get_mut(&iface.name) {
                Some(entry) => entry,
                None => self.acc.entry(iface.name.clone()).or_default(),
            };
            if iface.oper_up(down) {
                entry.0 = entry.0.saturating_add(bit_nanos(iface.up_bps, nanos, load));
                entry.1 = entry
                    .1
                    .saturating_add(bit_nanos(iface.down_bps, nanos, load));
            }
        }
        // Every interface has an entry now, so there are others only when the sizes differ
        // (or when names repeat, which is rare and only costs this check).
        if self.acc.len() != interfaces.len() {
            let names: BTreeSet<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
            self.acc.retain(|name, _| names.contains(name.as_str()));
        }
    }

    /// The counters of one interface (zero when it is unknown).
    pub fn counters(&self, name: &str) -> Counters {
        self.acc
            .get(name)
            .map(|&(rx, tx)| Counters {
                in_octets: to_octets(rx),
                out_octets: to_octets(tx),
            })
            .unwrap_or_default()
    }

    /// The counters of a port: the sum over the interfaces riding on it.
    pub fn port_counters(&self, port: &str, interfaces: &[InterfaceView]) -> Counters {
        let mut total = Counters::default();
        for iface in interfaces.iter().filter(|i| i.port == port) {
            total.add(self.counters(&iface.name));
        }
        total
    }
}

fn bit_nanos(bps: u64, nanos: u128, load: u128) -> u128 {
    u128::from(bps).saturating_mul(nanos).saturating_mul(load)
}

fn to_octets(acc: u128) -> u64 {
    u64::try_from(acc / DIVISOR).unwrap_or(u64::MAX)
}

/// The port an interface rides on: the part of its name before the first `.`.
pub fn port_of(name: &str) -> &str {
    name.split_once('.').map_or(name, |(port, _)| port)
}

/// Reads the downstream and upstream rates from an interface description, in bits per
/// second (0 when absent). Two spellings are understood:
/// - `D/U <unit>` as the built-in templates write it (`"cust ana sub s1 500/100 Mbps"`), with
///   unit `kbps`, `Mbps` or `Gbps` (also glued: `500/100Mbps`);
/// - `down=500M up=100M`, `downMbps:500`, `upMbps=100` (keys in any case, `=` or `:`;
///   values with an optional `k`, `M` or `G` suffix, plain megabits for the `…Mbps` keys).
pub fn rates_from_text(text: &str) -> (u64, u64) {
    let mut down = 0;
    let mut up = 0;
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        if let Some((d, u)) = pair_rate(token, tokens.get(i + 1).copied()) {
            (down, up) = (d, u);
            continue;
        }
        let Some((key, value)) = token.split_once(['=', ':']) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let (target, mbps) = match key.as_str() {
            "down" | "downstream" => (&mut down, false),
            "up" | "upstream" => (&mut up, false),
            "downmbps" => (&mut down, true),
            "upmbps" => (&mut up, true),
            _ => continue,
        };
        if let Some(bps) = parse_rate(value, mbps) {
            *target = bps;
        }
    }
    (down, up)
}

/// `500/100` followed by a unit token, or `500/100Mbps`.
fn pair_rate(token: &str, next: Option<&str>) -> Option<(u64, u64)> {
    let (d, rest) = token.split_once('/')?;
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (u, glued_unit) = rest.split_at(digits_end);
    let unit = if glued_unit.is_empty() {
        next?
    } else {
        glued_unit
    };
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "kbps" | "kbit/s" => 1_000,
        "mbps" | "mbit/s" => 1_000_000,
        "gbps" | "gbit/s" => 1_000_000_000,
        _ => return None,
    };
    let d: u64 = d.parse().ok()?;
    let u: u64 = u.parse().ok()?;
    Some((d.checked_mul(multiplier)?, u.checked_mul(multiplier)?))
}

fn parse_rate(value: &str, mbps: bool) -> Option<u64> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let stripped = lower.strip_suffix("bps").unwrap_or(&lower);
    let (digits, multiplier) = match stripped.chars().last()? {
        'k' => (&stripped[..stripped.len() - 1], 1_000),
        'm' => (&stripped[..stripped.len() - 1], 1_000_000),
        'g' => (&stripped[..stripped.len() - 1], 1_000_000_000),
        _ if mbps => (stripped, 1_000_000),
        _ => (stripped, 1),
    };
    let number: u64 = digits.parse().ok()?;
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, enabled: bool, down_mbps: u64, up_mbps: u64) -> InterfaceView {
        InterfaceView {
            name: name.to_owned(),
            port: port_of(name).to_owned(),
            enabled,
            down_bps: down_mbps * 1_000_000,
            up_bps: up_mbps * 1_000_000,
        }
    }

    #[test]
    fn counters_grow_with_rate_time_and_load() {
        let t0 = Instant::now();
        let ifaces = [iface("ge-0/0/1.100", true, 500, 100)];
        let none = BTreeSet::new();
        let mut traffic = Traffic::default();
        traffic.advance(t0, &ifaces, &none, 10);
        traffic.advance(t0 + Duration::from_secs(2), &ifaces, &none, 10);
        let c = traffic.counters("ge-0/0/1.100");
        // 100 Mbit/s * 10% * 2 s = 20 Mbit = 2.5 MB in; 500 Mbit/s → 12.5 MB out.
        assert_eq!(c.in_octets, 2_500_000);
        assert_eq!(c.out_octets, 12_500_000);
        assert_eq!(c.in_packets(), 2_500_000 / MEAN_PACKET_BYTES);
        assert_eq!(traffic.port_counters("ge-0/0/1", &ifaces), c);
    }

    #[test]
    fn down_or_disabled_interfaces_do_not_count() {
        let t0 = Instant::now();
        let mut ifaces = vec![iface("ge-0/0/1.100", true, 8, 8)];
        let mut down = BTreeSet::from(["ge-0/0/1".to_owned()]);
        let mut traffic = Traffic::default();
        traffic.advance(t0, &ifaces, &down, 100);
        traffic.advance(t0 + Duration::from_secs(1), &ifaces, &down, 100);
        assert!(!ifaces[0].oper_up(&down));
        assert_eq!(traffic.counters("ge-0/0/1.100").in_octets, 0);
        down.clear();
        traffic.advance(t0 + Duration::from_secs(2), &ifaces, &down, 100);
        assert_eq!(traffic.counters("ge-0/0/1.100").in_octets, 1_000_000);
        ifaces[0].enabled = false;
        traffic.advance(t0 + Duration::from_secs(3), &ifaces, &down, 100);
        assert_eq!(traffic.counters("ge-0/0/1.100").in_octets, 1_000_000);
        traffic.advance(t0 + Duration::from_secs(4), &[], &down, 100);
        assert_eq!(traffic.counters("ge-0/0/1.100"), Counters::default());
    }

    #[test]
    fn renamed_and_repeated_interfaces_keep_one_counter_per_name() {
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let none = BTreeSet::new();
        let mut traffic = Traffic::default();
        let a = [iface("ge-0/0/1.1", true, 8, 8)];
        traffic.advance(t0, &a, &none, 100);
        traffic.advance(at(1), &a, &none, 100);
        let b = [iface("ge-0/0/1.2", true, 8, 8)];
        traffic.advance(at(2), &b, &none, 100);
        assert_eq!(traffic.counters("ge-0/0/1.1"), Counters::default());
        // An interface counts from the previous call: it held since then.
        assert_eq!(traffic.counters("ge-0/0/1.2").in_octets, 1_000_000);
        let twice = [
            iface("ge-0/0/1.2", true, 8, 8),
            iface("ge-0/0/1.2", true, 8, 8),
        ];
        traffic.advance(at(3), &twice, &none, 100);
        traffic.advance(at(4), &twice, &none, 100);
        // A repeated name has one counter that both entries add to.
        assert_eq!(traffic.counters("ge-0/0/1.2").in_octets, 5_000_000);
        traffic.advance(at(5), &a, &none, 100);
        assert_eq!(traffic.counters("ge-0/0/1.2"), Counters::default());
        assert_eq!(traffic.counters("ge-0/0/1.1").in_octets, 1_000_000);
    }

    #[test]
    fn rates_are_read_from_descriptions() {
        assert_eq!(
            rates_from_text("ana fibre-500 down=500M up=100M"),
            (500_000_000, 100_000_000)
        );
        assert_eq!(
            rates_from_text("downMbps:1000, upMbps:200"),
            (1_000_000_000, 200_000_000)
        );
        assert_eq!(rates_from_text("down=64kbps up=2000"), (64_000, 2_000));
        assert_eq!(rates_from_text("no rates here up= down=x"), (0, 0));
        assert_eq!(
            rates_from_text("cust ana-silva sub ana-home 500/100 Mbps suspended"),
            (500_000_000, 100_000_000)
        );
        assert_eq!(rates_from_text("x 1/2Gbps"), (1_000_000_000, 2_000_000_000));
        assert_eq!(rates_from_text("ge-0/0/1 is a port"), (0, 0));
        assert_eq!(rates_from_text("10/20 apples"), (0, 0));
        assert_eq!(rates_from_text("down=99999999999999999999G"), (0, 0));
        assert_eq!(port_of("ge-0/0/1.1203"), "ge-0/0/1");
        assert_eq!(port_of("ge-0/0/1"), "ge-0/0/1");
    }
}
