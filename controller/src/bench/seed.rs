//! The generated ISP of `ferrule bench provision` (pure): simulated devices, and the
//! Namespace, Secret, Product, Customers, Devices, ResourcePools and Subscriptions that use
//! them.
//!
//! Access devices `olt0001`… each get one subscriber port per subscription they carry
//! (`ge-0/0/1`…) and their own VLAN pool; every `per_bng` access devices share a BNG
//! `bng001`…, which reaches each of them on its own port `xe-0/0/N` and gives addresses from
//! its own IPv4 pool (one /30 per subscription). Without BNGs the access devices get the
//! IPv4 pools. Subscription `i` goes to access device `i mod devices`, so every device gets
//! the same share.

use std::net::{Ipv4Addr, SocketAddr};

use serde_json::{Value, json};

use ferrule_netsim::{DeviceSpec, Topology};

/// The namespace everything lives in.
pub const NAMESPACE: &str = "bench-isp";
/// The credentials Secret of every device.
const SECRET: &str = "netsim-admin";
/// The product every subscription uses.
const PRODUCT: &str = "fibre-500";
/// Customers the subscriptions are spread over (at most one per subscription).
const CUSTOMERS: usize = 100;
/// First VLAN of every access device's pool.
const FIRST_VLAN: usize = 100;
/// Highest VLAN id.
const LAST_VLAN: usize = 4094;

/// The size of the generated network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Subscriptions.
    pub subscriptions: usize,
    /// Access devices.
    pub devices: usize,
    /// Access devices per BNG; 0 for none.
    pub per_bng: usize,
}

impl Shape {
    /// Subscriber ports (and VLANs) each access device needs.
    pub fn ports_per_device(&self) -> usize {
        self.subscriptions.div_ceil(self.devices.max(1)).max(1)
    }

    /// How many BNGs there are.
    pub fn bngs(&self) -> usize {
        if self.per_bng == 0 {
            0
        } else {
            self.devices.div_ceil(self.per_bng)
        }
    }

    /// Checks that the network can carry the subscriptions.
    pub fn check(&self) -> Result<(), String> {
        if self.devices == 0 {
            return Err("at least one access device is needed".into());
        }
        if self.devices > 4000 {
            return Err("at most 4000 access devices".into());
        }
        let ports = self.ports_per_device();
        if FIRST_VLAN + ports - 1 > LAST_VLAN {
            return Err(format!(
                "{ports} subscriptions per device do not fit in one VLAN range; add devices"
            ));
        }
        Ok(())
    }

    /// The name of access device `i` (0-based).
    pub fn access_name(i: usize) -> String {
        format!("olt{:04}", i + 1)
    }

    /// The name of BNG `b` (0-based).
    pub fn bng_name(b: usize) -> String {
        format!("bng{:03}", b + 1)
    }

    /// The BNG of access device `i` and the port it reaches it on.
    fn bng_of(&self, i: usize) -> Option<(usize, String)> {
        (self.per_bng > 0).then(|| (i / self.per_bng, format!("xe-0/0/{}", i % self.per_bng + 1)))
    }

    /// Subscriptions carried by access device `i`.
    fn subscriptions_on(&self, i: usize) -> usize {
        (i..self.subscriptions).step_by(self.devices.max(1)).count()
    }
}

fn ports(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|p| format!("{prefix}{p}")).collect()
}

/// The simulated devices, on free loopback ports.
pub fn topology(shape: &Shape) -> Vec<DeviceSpec> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut specs = Vec::with_capacity(shape.devices + shape.bngs());
    for i in 0..shape.devices {
        let mut spec = DeviceSpec::new(Shape::access_name(i), any);
        spec.ports = ports("ge-0/0/", shape.ports_per_device());
        specs.push(spec);
    }
    for b in 0..shape.bngs() {
        let mut spec = DeviceSpec::new(Shape::bng_name(b), any);
        spec.ports = ports("xe-0/0/", shape.per_bng);
        specs.push(spec);
    }
    specs
}

/// A running device, as the Device objects need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachable {
    /// `host:port`.
    pub address: String,
    /// Host key fingerprint.
    pub host_key: String,
}

/// Aligned IPv4 blocks from 100.64.0.0/10 big enough for `counts[k]` /30 subnets each (plus
/// slack), as `a.b.c.d/len`.
pub fn ipv4_blocks(counts: &[usize]) -> Result<Vec<String>, String> {
    let base = u32::from(Ipv4Addr::new(100, 64, 0, 0));
    let end = u32::from(Ipv4Addr::new(100, 127, 255, 255));
    let mut next = base;
    let mut blocks = Vec::with_capacity(counts.len());
    for &count in counts {
        let needed = u32::try_from(count.saturating_add(2).saturating_mul(4))
            .map_err(|_| "too many subscriptions for 100.64.0.0/10".to_owned())?;
        let size = needed.next_power_of_two().max(8);
        let start = next.div_ceil(size) * size;
        let last = start
            .checked_add(size - 1)
            .filter(|last| *last <= end)
            .ok_or_else(|| "the IPv4 pools do not fit in 100.64.0.0/10".to_owned())?;
        blocks.push(format!(
            "{}/{}",
            Ipv4Addr::from(start),
            32 - size.trailing_zeros()
        ));
        next = last + 1;
    }
    Ok(blocks)
}

/// Everything but the subscriptions, in creation order: Namespace, Secret, Product,
/// Customers, Devices, ResourcePools. `reach(name)` says where a device listens.
pub fn inventory(
    shape: &Shape,
    reach: impl Fn(&str) -> Option<Reachable>,
) -> Result<Vec<Value>, String> {
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": SECRET, "namespace": NAMESPACE},
               "type": ferrule_crds::CREDENTIALS_SECRET_TYPE,
               "stringData": {"username": "admin", "password": "admin"}}),
        json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Product",
               "metadata": {"name": PRODUCT, "namespace": NAMESPACE},
               "spec": {"displayName": "Fibre 500/100", "serviceType": "internet-access",
                        "parameters": {"downMbps": 500, "upMbps": 100},
                        "pricing": {"currency": "EUR", "monthly": "39.90"}}}),
    ];
    for c in 0..customers(shape) {
        out.push(
            json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Customer",
            "metadata": {"name": customer_name(c), "namespace": NAMESPACE},
            "spec": {"displayName": format!("Customer {c}"),
                     "contact": {"email": format!("c{c}@example.net")},
                     "billing": {"currency": "EUR", "cycleDay": 1}}}),
        );
    }
    let device = |name: &str, role: &str, extra: Value| -> Result<Value, String> {
        let at = reach(name).ok_or_else(|| format!("device {name} is not running"))?;
        let mut spec = json!({"address": at.address, "profile": "ietf",
            "credentialsSecret": SECRET, "hostKey": at.host_key, "role": role,
            "driftPolicy": "Report"});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        Ok(
            json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "Device",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}),
        )
    };
    let per_device = shape.ports_per_device();
    for b in 0..shape.bngs() {
        out.push(device(
            &Shape::bng_name(b),
            "bng",
            json!({"ports": ports("xe-0/0/", shape.per_bng)}),
        )?);
    }
    for i in 0..shape.devices {
        let mut extra = json!({"ports": ports("ge-0/0/", per_device)});
        if let (Some((b, port)), Some(map)) = (shape.bng_of(i), extra.as_object_mut()) {
            map.insert("bng".into(), json!(Shape::bng_name(b)));
            map.insert("bngPort".into(), json!(port));
        }
        out.push(device(&Shape::access_name(i), "access", extra)?);
    }
    for i in 0..shape.devices {
        let name = Shape::access_name(i);
        out.push(pool(
            &format!("{name}-vlans"),
            json!({"type": "Vlan", "vlan": {"from": FIRST_VLAN, "to": FIRST_VLAN + per_device - 1},
                   "selector": {"devices": [name]}}),
        ));
    }
    // Addresses come from the BNG, or from the access device when there is none.
    let holders: Vec<(String, usize)> = if shape.bngs() > 0 {
        (0..shape.bngs())
            .map(|b| {
                let subs = (0..shape.devices)
                    .filter(|i| i / shape.per_bng == b)
                    .map(|i| shape.subscriptions_on(i))
                    .sum();
                (Shape::bng_name(b), subs)
            })
            .collect()
    } else {
        (0..shape.devices)
            .map(|i| (Shape::access_name(i), shape.subscriptions_on(i)))
            .collect()
    };
    let counts: Vec<usize> = holders.iter().map(|(_, n)| *n).collect();
    for ((name, _), cidr) in holders.iter().zip(ipv4_blocks(&counts)?) {
        out.push(pool(
            &format!("{name}-v4"),
            json!({"type": "IPv4", "ipv4": {"cidr": cidr, "prefixLength": 30},
                   "selector": {"devices": [name]}}),
        ));
    }
    Ok(out)
}

fn pool(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "oss.ferrule.dev/v1alpha1", "kind": "ResourcePool",
           "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec})
}

fn customers(shape: &Shape) -> usize {
    shape.subscriptions.clamp(1, CUSTOMERS)
}

fn customer_name(c: usize) -> String {
    format!("cust-{c:03}")
}

/// The name of subscription `i`.
pub fn subscription_name(i: usize) -> String {
    format!("sub-{i:06}")
}

/// Subscription `i`: on access device `i mod devices`, its own port, VLAN and address from
/// the pools.
pub fn subscription(shape: &Shape, i: usize) -> Value {
    let devices = shape.devices.max(1);
    json!({"apiVersion": "bss.ferrule.dev/v1alpha1", "kind": "Subscription",
        "metadata": {"name": subscription_name(i), "namespace": NAMESPACE},
        "spec": {"customer": customer_name(i % customers(shape)), "product": PRODUCT,
                 "state": "Active",
                 "access": {"device": Shape::access_name(i % devices),
                            "port": format!("ge-0/0/{}", i / devices + 1)}}})
}

/// The topology of the simulator.
pub fn netsim_topology(shape: &Shape) -> Result<Topology, ferrule_netsim::NetsimError> {
    Topology::new(topology(shape))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn reach(name: &str) -> Option<Reachable> {
        Some(Reachable {
            address: "127.0.0.1:1".into(),
            host_key: format!("SHA256:{name}"),
        })
    }

    fn kinds(objects: &[Value], kind: &str) -> Vec<Value> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect()
    }

    #[test]
    fn every_subscription_gets_its_own_port() {
        let shape = Shape {
            subscriptions: 1000,
            devices: 50,
            per_bng: 20,
        };
        assert_eq!(shape.ports_per_device(), 20);
        assert_eq!(shape.bngs(), 3);
        let mut seen = HashSet::new();
        for i in 0..shape.subscriptions {
            let sub = subscription(&shape, i);
            let access = &sub["spec"]["access"];
            let port = access["port"].as_str().unwrap();
            let n: usize = port.trim_start_matches("ge-0/0/").parse().unwrap();
            assert!((1..=20).contains(&n), "{port}");
            assert!(seen.insert((access["device"].to_string(), port.to_owned())));
        }
    }

    #[test]
    fn inventory_wires_access_devices_to_bngs_and_pools() {
        let shape = Shape {
            subscriptions: 45,
            devices: 5,
            per_bng: 2,
        };
        let objects = inventory(&shape, reach).unwrap();
        let devices = kinds(&objects, "Device");
        assert_eq!(devices.len(), 5 + 3);
        let olt5 = devices
            .iter()
            .find(|d| d["metadata"]["name"] == "olt0005")
            .unwrap();
        assert_eq!(olt5["spec"]["bng"], "bng003");
        assert_eq!(olt5["spec"]["bngPort"], "xe-0/0/1");
        assert_eq!(olt5["spec"]["ports"].as_array().unwrap().len(), 9);
        let pools = kinds(&objects, "ResourcePool");
        assert_eq!(pools.len(), 5 + 3);
        let v4: Vec<&Value> = pools
            .iter()
            .filter(|p| p["spec"]["type"] == "IPv4")
            .collect();
        assert_eq!(v4[0]["spec"]["selector"]["devices"][0], "bng001");
        // Devices are created before the pools that select them.
        let first_pool = objects.iter().position(|o| o["kind"] == "ResourcePool");
        let last_device = objects.iter().rposition(|o| o["kind"] == "Device");
        assert!(first_pool > last_device);
        assert!(inventory(&shape, |_| None).is_err());
    }

    #[test]
    fn without_bngs_the_access_devices_hold_the_addresses() {
        let shape = Shape {
            subscriptions: 10,
            devices: 2,
            per_bng: 0,
        };
        let objects = inventory(&shape, reach).unwrap();
        let v4: Vec<Value> = kinds(&objects, "ResourcePool")
            .into_iter()
            .filter(|p| p["spec"]["type"] == "IPv4")
            .collect();
        assert_eq!(v4.len(), 2);
        assert_eq!(v4[1]["spec"]["selector"]["devices"][0], "olt0002");
        assert!(
            !kinds(&objects, "Device")
                .iter()
                .any(|d| d["spec"]["role"] == "bng")
        );
    }

    #[test]
    fn ipv4_blocks_are_aligned_disjoint_and_large_enough() {
        let blocks = ipv4_blocks(&[1000, 1, 500]).unwrap();
        assert_eq!(
            blocks,
            ["100.64.0.0/20", "100.64.16.0/28", "100.64.24.0/21"]
        );
        assert!(ipv4_blocks(&[2_000_000]).is_err());
    }

    #[test]
    fn shapes_that_cannot_work_are_refused() {
        let too_dense = Shape {
            subscriptions: 10_000,
            devices: 2,
            per_bng: 0,
        };
        assert!(too_dense.check().is_err());
        let none = Shape {
            subscriptions: 1,
            devices: 0,
            per_bng: 0,
        };
        assert!(none.check().is_err());
    }
}
