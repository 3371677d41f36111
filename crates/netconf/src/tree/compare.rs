//! Drift: how a device's running configuration departs from what an owner applied.

use super::children::Children;

use super::edit::{Edit, Operation};
use super::node::{ConfigTree, Ident, Key, Node};
use super::path::DataPath;
use super::schema::PrefixMap;

/// One difference between owned configuration and the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The owned node that is missing or different.
    pub path: DataPath,
    /// What is wrong with it.
    pub kind: DriftKind,
}

/// What is wrong with an owned node on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftKind {
    /// The node (and everything below it) is not on the device.
    Missing,
    /// The leaf has another value on the device.
    Differs {
        /// The owned value.
        expected: String,
        /// The device's value (empty for an empty leaf, `(subtree)` for a container).
        found: String,
    },
}

// === impl Drift ===

impl Drift {
    /// A one-line description with paths written with `prefixes`.
    pub fn describe(&self, prefixes: &PrefixMap) -> String {
        match &self.kind {
            DriftKind::Missing => format!("missing {}", self.path.format(prefixes)),
            DriftKind::Differs { expected, found } => format!(
                "{} is '{found}', expected '{expected}'",
                self.path.format(prefixes)
            ),
        }
    }
}

/// The owned nodes that are missing from `running` or differ there. Configuration on the
/// device that is not in `owned` is ignored. A missing subtree is reported once, at its top.
pub fn compare(owned: &ConfigTree, running: &ConfigTree) -> Vec<Drift> {
    let mut drifts = Vec::new();
    compare_children(&owned.roots, &running.roots, &mut Vec::new(), &mut drifts);
    drifts
}

/// The edit putting owned configuration back where it drifted (`merge` of each missing or
/// different node); `None` without drift.
pub fn repair(owned: &ConfigTree, running: &ConfigTree) -> Option<Edit> {
    let mut roots: Children = Children::new();
    for drift in compare(owned, running) {
        let Some(node) = owned.get(&drift.path) else {
            continue;
        };
        let mut node = node.clone();
        node.strip_ops();
        node.op = Some(Operation::Merge);
        insert_at(&mut roots, &owned.roots, &drift.path.steps, node);
    }
    Edit::from_roots(roots)
}

/// Puts `node` at `steps` in `into`, creating the nodes on the way from `source` (list
/// entries with their keys).
fn insert_at(into: &mut Children, source: &Children, steps: &[Ident], node: Node) {
    let Some((first, rest)) = steps.split_first() else {
        return;
    };
    if rest.is_empty() {
        into.insert(first.clone(), node);
        return;
    }
    let Some(source_node) = source.get(first) else {
        return;
    };
    let lead = into
        .entry(first.clone())
        .or_insert_with(|| source_node.identity_only(first));
    insert_at(&mut lead.children, &source_node.children, rest, node);
}

fn shown(node: &Node) -> String {
    match &node.value {
        Some(value) => value.text.clone(),
        None if node.children.is_empty() => String::new(),
        None => "(subtree)".to_owned(),
    }
}

fn compare_children(
    owned: &Children,
    running: &Children,
    path: &mut Vec<Ident>,
    drifts: &mut Vec<Drift>,
) {
    for (ident, want) in owned {
        path.push(ident.clone());
        match running.get(ident) {
            Some(found) => compare_node(want, found, path, drifts),
            None => {
                // A device may repeat an element the schema does not describe; then any
                // copy that matches will do.
                let copies: Vec<&Node> = running
                    .iter()
                    .filter(|(id, _)| id.name == ident.name && matches!(id.key, Key::Position(_)))
                    .map(|(_, node)| node)
                    .collect();
                let mut best: Option<Vec<Drift>> = None;
                for copy in copies {
                    let mut found = Vec::new();
                    compare_node(want, copy, path, &mut found);
                    if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                        best = Some(found);
                    }
                }
                match best {
                    Some(found) => drifts.extend(found),
                    None => drifts.push(Drift {
                        path: DataPath {
                            steps: path.clone(),
                        },
                        kind: DriftKind::Missing,
                    }),
                }
            }
        }
        path.pop();
    }
}

fn compare_node(want: &Node, found: &Node, path: &mut Vec<Ident>, drifts: &mut Vec<Drift>) {
    let differs = match (&want.value, &found.value) {
        (Some(a), Some(b)) => a != b,
        (None, None) => false,
        _ => true,
    };
    if differs {
        drifts.push(Drift {
            path: DataPath {
                steps: path.clone(),
            },
            kind: DriftKind::Differs {
                expected: shown(want),
                found: shown(found),
            },
        });
        return;
    }
    compare_children(&want.children, &found.children, path, drifts);
}
