//! Operational data: which configured entries are interfaces, and the state elements a
//! device reports for them where its profile's `state` section says to read them.
//!
//! Interfaces are found generically in the running config: entries of the profile's keyed
//! lists named `interface`, `subinterface`, `unit` or `interface-configuration` under a
//! top-level `interfaces`, `configuration` or `interface-configurations` element (ietf,
//! OpenConfig, Junos and IOS-XR shapes). An entry nested in another interface entry is named
//! `<parent>.<key>` and rides on its parent; a top-level one rides on the port before the first
//! `.` of its name. It is enabled unless an `enabled` leaf says `false` or a `disable` or
//! `shutdown` leaf is present; its rates come from its `description` (see
//! [`rates_from_text`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use ferrule_netconf::tree::Children;
use ferrule_netconf::tree::{ConfigTree, DataPath, Ident, Key, ListSchema, Node, QName};
use ferrule_netconf::xml::Element;
use ferrule_render::{StateSpec, UpRule, XmlName};

use super::traffic::{Counters, InterfaceView, port_of, rates_from_text};

/// Top-level elements under which interface lists live.
const INTERFACE_ROOTS: &[&str] = &["interfaces", "configuration", "interface-configurations"];
/// Names of list entries that are interfaces.
const INTERFACE_ENTRIES: &[&str] = &[
    "interface",
    "subinterface",
    "unit",
    "interface-configuration",
];
/// Key leaves that name an interface, in order of preference.
const NAME_KEYS: &[&str] = &["name", "interface-name", "index"];

/// An interface found in the running config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredInterface {
    /// Name, port, enabled flag and rates.
    pub view: InterfaceView,
    /// Where its entry is in the config.
    pub path: DataPath,
    /// It is an entry inside another interface entry (an OpenConfig subinterface, a Junos
    /// unit).
    pub nested: bool,
}

/// One interface as reported in state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Interface name.
    pub name: String,
    /// The `enabled` leaf (administrative status).
    pub enabled: bool,
    /// Operational status.
    pub up: bool,
    /// Its counters.
    pub counters: Counters,
    /// Its config entry, whose keys are copied where the state tree shares its lists.
    pub path: Option<DataPath>,
}

/// The keyed lists of `schema` that hold interfaces.
pub fn interface_lists(schema: &ListSchema) -> Vec<Vec<QName>> {
    schema
        .lists()
        .map(|list| list.path)
        .filter(|path| {
            path.first()
                .is_some_and(|root| INTERFACE_ROOTS.contains(&root.name.as_str()))
                && path
                    .last()
                    .is_some_and(|entry| INTERFACE_ENTRIES.contains(&entry.name.as_str()))
        })
        .collect()
}

/// The interfaces configured in `tree`, with where they are. Only the subtrees on the way to
/// an interface list are looked into.
pub fn configured_interfaces(tree: &ConfigTree, lists: &[Vec<QName>]) -> Vec<ConfiguredInterface> {
    let mut out = Vec::new();
    walk(
        &tree.roots,
        lists,
        &mut Vec::new(),
        None,
        &mut |view, steps, nested| {
            out.push(ConfiguredInterface {
                view,
                path: DataPath {
                    steps: steps.iter().map(|&step| step.clone()).collect(),
                },
                nested,
            });
        },
    );
    out
}

/// The views of [`configured_interfaces`] alone (what traffic accounting needs), in the same
/// order, without copying their paths.
pub fn interface_views(tree: &ConfigTree, lists: &[Vec<QName>]) -> Vec<InterfaceView> {
    let mut out = Vec::new();
    walk(
        &tree.roots,
        lists,
        &mut Vec::new(),
        None,
        &mut |view, _, _| {
            out.push(view);
        },
    );
    out
}

/// What [`walk`] hands over for each interface: its view, the steps to its entry, and
/// whether it is nested in another interface.
type Found<'f, 't> = dyn FnMut(InterfaceView, &[&'t Ident], bool) + 'f;

fn walk<'t>(
    children: &'t Children,
    lists: &[Vec<QName>],
    steps: &mut Vec<&'t Ident>,
    parent: Option<&str>,
    found: &mut Found<'_, 't>,
) {
    for (ident, node) in children {
        steps.push(ident);
        let (on_the_way, at_a_list) = position(lists, steps);
        if !on_the_way {
            steps.pop();
            continue;
        }
        if ident.is_entry() && at_a_list {
            let key = key_value(ident);
            let name = match parent {
                Some(parent) => format!("{parent}.{key}"),
                None => key,
            };
            let port = parent.map_or_else(|| port_of(&name).to_owned(), str::to_owned);
            let (enabled, description) = scan(node);
            let (down_bps, up_bps) = rates_from_text(description.unwrap_or_default());
            let view = InterfaceView {
                name: name.clone(),
                port,
                enabled,
                down_bps,
                up_bps,
            };
            found(view, steps, parent.is_some());
            walk(&node.children, lists, steps, Some(&name), found);
        } else {
            walk(&node.children, lists, steps, parent, found);
        }
        steps.pop();
    }
}

/// Whether the element names of `steps` lead to one of `lists` (are a prefix of its path),
/// and whether they are one of them.
fn position(lists: &[Vec<QName>], steps: &[&Ident]) -> (bool, bool) {
    let mut on_the_way = false;
    for list in lists {
        let leads = list.len() >= steps.len()
            && list
                .iter()
                .zip(steps)
                .all(|(name, step)| *name == step.name);
        if leads && list.len() == steps.len() {
            return (true, true);
        }
        on_the_way |= leads;
    }
    (on_the_way, false)
}

fn key_value(ident: &Ident) -> String {
    let Key::Entry(pairs) = &ident.key else {
        return String::new();
    };
    NAME_KEYS
        .iter()
        .find_map(|want| pairs.iter().find(|(q, _)| q.name == *want))
        .or_else(|| pairs.first())
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

/// The enabled flag and description of an interface entry, not looking into nested entries.
fn scan(node: &Node) -> (bool, Option<&str>) {
    let mut enabled = true;
    let mut description = None;
    let mut stack: Vec<&Node> = vec![node];
    while let Some(current) = stack.pop() {
        for (ident, child) in &current.children {
            if ident.is_entry() {
                continue;
            }
            let text = child.value.as_ref().map(|v| v.text.as_str());
            match child.name.name.as_str() {
                "enabled" if text == Some("false") => enabled = false,
                "disable" | "shutdown" => enabled = false,
                "description" if description.is_none() => description = text,
                _ => {}
            }
            stack.push(child);
        }
    }
    (enabled, description)
}

/// The state elements (top-level) for `reports`, laid out as `spec` says a reader finds them.
/// Unprefixed steps of the spec take `default_ns`.
pub fn state_elements(spec: &StateSpec, reports: &[Report], default_ns: &str) -> Vec<Element> {
    let Some((root_step, _)) = spec.entries.split_first() else {
        return Vec::new();
    };
    let mut root = element(root_step, default_ns);
    for report in reports {
        let chain = chain(spec, report, default_ns);
        if let Some((_, below)) = chain.split_first() {
            insert_chain(&mut root, below);
        }
    }
    if root.children.is_empty() {
        Vec::new()
    } else {
        vec![root]
    }
}

/// The elements from the root of `spec.entries` down to the entry of one report.
fn chain(spec: &StateSpec, report: &Report, default_ns: &str) -> Vec<Element> {
    let mut levels: Vec<Element> = spec
        .entries
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut level = element(step, default_ns);
            copy_keys(&mut level, report.path.as_ref(), i);
            level
        })
        .collect();
    if let Some(entry) = levels.last_mut() {
        fill_entry(entry, spec, report, default_ns);
    }
    levels
}

/// Copies the key leaves of config step `i` when the state element is that same list.
fn copy_keys(level: &mut Element, path: Option<&DataPath>, i: usize) {
    let Some(step) = path.and_then(|p| p.steps.get(i)) else {
        return;
    };
    if *level.ns != *step.name.ns || level.name != step.name.name {
        return;
    }
    if let Key::Entry(pairs) = &step.key {
        for (name, value) in pairs {
            level.children.push(leaf(&name.ns, &name.name, value));
        }
    }
}

fn fill_entry(entry: &mut Element, spec: &StateSpec, report: &Report, default_ns: &str) {
    put(entry, &spec.name, default_ns, Some(report.name.clone()));
    let (up_value, down_value) = match &spec.up {
        UpRule::Values(values) => {
            let up = values.first().cloned().unwrap_or_else(|| "up".to_owned());
            let down = opposite(&up);
            (Some(up), Some(down))
        }
        UpRule::Present => (Some(String::new()), None),
    };
    let status = if report.up {
        up_value.clone()
    } else {
        down_value.clone()
    };
    if let Some(status) = status {
        put(entry, &spec.oper_status, default_ns, Some(status));
    }
    if spec
        .oper_status
        .last()
        .is_some_and(|s| s.local == "oper-status")
    {
        let admin = sibling(&spec.oper_status, "admin-status");
        let value = if report.enabled { up_value } else { down_value };
        put(entry, &admin, default_ns, value.filter(|v| !v.is_empty()));
    }
    let c = report.counters;
    put(
        entry,
        &spec.in_octets,
        default_ns,
        Some(c.in_octets.to_string()),
    );
    put(
        entry,
        &spec.out_octets,
        default_ns,
        Some(c.out_octets.to_string()),
    );
    if let Some(path) = packets_path(&spec.in_octets) {
        put(entry, &path, default_ns, Some(c.in_packets().to_string()));
    }
    if let Some(path) = packets_path(&spec.out_octets) {
        put(entry, &path, default_ns, Some(c.out_packets().to_string()));
    }
}

/// `up` → `down`, `UP` → `DOWN`, `im-state-up` → `im-state-down`.
fn opposite(up: &str) -> String {
    if let Some(stem) = up.strip_suffix("up") {
        format!("{stem}down")
    } else if let Some(stem) = up.strip_suffix("UP") {
        format!("{stem}DOWN")
    } else {
        "down".to_owned()
    }
}

fn sibling(path: &[XmlName], local: &str) -> Vec<XmlName> {
    let mut out = path.to_vec();
    if let Some(last) = out.last_mut() {
        last.local = local.to_owned();
    }
    out
}

/// The packet counter next to an octet counter: `in-octets` → `in-unicast-pkts`,
/// `bytes-received` → `packets-received`, `input-bytes` → `input-packets`.
fn packets_path(octets: &[XmlName]) -> Option<Vec<XmlName>> {
    let last = &octets.last()?.local;
    let local = if last.contains("octets") {
        last.replace("octets", "unicast-pkts")
    } else if last.contains("bytes") {
        last.replace("bytes", "packets")
    } else {
        return None;
    };
    Some(sibling(octets, &local))
}

/// Puts a leaf at `path` (relative to `entry`), creating the containers on the way.
fn put(entry: &mut Element, path: &[XmlName], default_ns: &str, value: Option<String>) {
    let Some(value) = value else { return };
    let Some((last, containers)) = path.split_last() else {
        return;
    };
    let mut current = entry;
    for step in containers {
        let ns = step.namespace.as_deref().unwrap_or(default_ns);
        let index = match current
            .children
            .iter()
            .position(|c| c.name == step.local && *c.ns == *ns)
        {
            Some(index) => index,
            None => {
                current.children.push(element(step, default_ns));
                current.children.len() - 1
            }
        };
        current = &mut current.children[index];
    }
    let ns = last.namespace.as_deref().unwrap_or(default_ns);
    if !current
        .children
        .iter()
        .any(|c| c.name == last.local && *c.ns == *ns)
    {
        current.children.push(leaf(ns, &last.local, &value));
    }
}

/// Inserts `chain` (nested levels, outermost first) below `parent`, sharing a level with an
/// existing element of the same name whose leading children are the same key leaves (a level's
/// children when it is created are its key leaves; unkeyed levels are shared by everyone).
fn insert_chain(parent: &mut Element, chain: &[Element]) {
    let Some((first, rest)) = chain.split_first() else {
        return;
    };
    if rest.is_empty() {
        parent.children.push(first.clone());
        return;
    }
    let keys = &first.children;
    let existing = parent.children.iter().position(|c| {
        c.ns == first.ns
            && c.name == first.name
            && c.children.len() >= keys.len()
            && c.children[..keys.len()] == keys[..]
    });
    let index = match existing {
        Some(index) => index,
        None => {
            parent.children.push(first.clone());
            parent.children.len() - 1
        }
    };
    insert_chain(&mut parent.children[index], rest);
}

fn element(step: &XmlName, default_ns: &str) -> Element {
    Element {
        ns: Arc::from(step.namespace.as_deref().unwrap_or(default_ns)),
        name: step.local.clone(),
        attributes: Vec::new(),
        children: Vec::new(),
        text: String::new(),
        text_namespaces: Vec::new(),
    }
}

fn leaf(ns: &str, name: &str, value: &str) -> Element {
    Element {
        ns: Arc::from(ns),
        name: name.to_owned(),
        attributes: Vec::new(),
        children: Vec::new(),
        text: value.to_owned(),
        text_namespaces: Vec::new(),
    }
}

/// Reports for the configured interfaces plus the declared ports not configured. Where the
/// state entries are a flat list (ietf-interfaces, IOS-XR) every interface is an entry; where
/// they are nested (OpenConfig subinterfaces, Junos logical interfaces) only the nested
/// interfaces are.
pub fn reports(
    spec: &StateSpec,
    configured: &[ConfiguredInterface],
    ports: &[String],
    down: &BTreeSet<String>,
    counters: impl Fn(&str) -> Counters,
    port_counters: impl Fn(&str) -> Counters,
) -> Vec<Report> {
    let flat = spec.entries.len() == 2;
    let mut out: Vec<Report> = configured
        .iter()
        .filter(|c| flat || c.nested)
        .map(|c| Report {
            name: c.view.name.clone(),
            enabled: c.view.enabled,
            up: c.view.oper_up(down),
            counters: if c.view.name == c.view.port {
                port_counters(&c.view.name)
            } else {
                counters(&c.view.name)
            },
            path: Some(c.path.clone()),
        })
        .collect();
    if flat {
        for port in ports {
            if configured.iter().any(|c| &c.view.name == port) {
                continue;
            }
            out.push(Report {
                name: port.clone(),
                enabled: true,
                up: !down.contains(port),
                counters: port_counters(port),
                path: None,
            });
        }
    }
    out
}
