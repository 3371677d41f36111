//! Interfaces read back from a device's running config (ietf-interfaces + ietf-ip), and the
//! checks every drill makes on them.

use std::collections::BTreeMap;

use anyhow::Context as _;
use ferrule_netconf::xml::{Element, XmlLimits, parse_fragment};

use crate::lab::IF_NS;

const IP_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-ip";

/// One interface entry as the device holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Interface {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    /// The local name of the `type` identity (`l2vlan`).
    pub(crate) kind: Option<String>,
    pub(crate) enabled: Option<String>,
    /// `ip/prefix-length` of every ietf-ip address.
    pub(crate) addresses: Vec<String>,
}

impl Interface {
    /// The VLAN of a `{port}.{vlan}` sub-interface.
    pub(crate) fn vlan(&self) -> Option<u16> {
        self.name.rsplit_once('.')?.1.parse().ok()
    }
}

/// Every interface under the top-level `interfaces` containers of `data`.
pub(crate) fn interfaces(data: &[Element]) -> Vec<Interface> {
    let mut found: Vec<Interface> = data
        .iter()
        .filter(|e| e.is(IF_NS, "interfaces"))
        .flat_map(|e| e.children.iter())
        .filter(|e| e.is(IF_NS, "interface"))
        .map(|e| Interface {
            name: e.child_text(IF_NS, "name").unwrap_or_default().to_owned(),
            description: e.child_text(IF_NS, "description").map(str::to_owned),
            kind: e
                .child_text(IF_NS, "type")
                .map(|t| t.rsplit(':').next().unwrap_or(t).to_owned()),
            enabled: e.child_text(IF_NS, "enabled").map(str::to_owned),
            addresses: e
                .child(IP_NS, "ipv4")
                .into_iter()
                .flat_map(|v4| v4.children.iter())
                .filter(|a| a.is(IP_NS, "address"))
                .map(|a| {
                    format!(
                        "{}/{}",
                        a.child_text(IP_NS, "ip").unwrap_or_default(),
                        a.child_text(IP_NS, "prefix-length").unwrap_or_default()
                    )
                })
                .collect(),
        })
        .collect();
    found.sort();
    found
}

/// The interfaces of a running config given as XML text (as netsim's control API returns it).
pub(crate) fn interfaces_in_xml(xml: &str) -> anyhow::Result<Vec<Interface>> {
    let data = parse_fragment(xml, &XmlLimits::default()).context("running config")?;
    Ok(interfaces(&data))
}

/// Fails when two sub-interfaces of the device carry the same VLAN, or two interfaces the
/// same address; returns the VLANs in use.
pub(crate) fn distinct_units(device: &str, found: &[Interface]) -> anyhow::Result<Vec<u16>> {
    let mut vlans: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    let mut addresses: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for interface in found {
        if let Some(vlan) = interface.vlan() {
            vlans.entry(vlan).or_default().push(&interface.name);
        }
        for address in &interface.addresses {
            addresses.entry(address).or_default().push(&interface.name);
        }
    }
    let shared_vlans: Vec<_> = vlans.iter().filter(|(_, names)| names.len() > 1).collect();
    anyhow::ensure!(
        shared_vlans.is_empty(),
        "{device} has VLANs on several units: {shared_vlans:?}"
    );
    let shared: Vec<_> = addresses.iter().filter(|(_, n)| n.len() > 1).collect();
    anyhow::ensure!(
        shared.is_empty(),
        "{device} has addresses on several units: {shared:?}"
    );
    Ok(vlans.into_keys().collect())
}
