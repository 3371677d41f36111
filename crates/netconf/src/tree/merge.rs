//! Merging the fragments several owners want on one device into one desired tree.

use super::children::Children;

use super::node::{ConfigTree, Ident, Node};
use super::path::DataPath;
use super::schema::PrefixMap;

/// One owner's desired configuration on a device.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Who wants it (a Subscription name).
    pub owner: &'a str,
    /// What it wants.
    pub tree: &'a ConfigTree,
}

/// Two owners want different things at the same place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Two owners set one leaf to different values (or one wants a leaf where another wants
    /// a container).
    #[error(
        "conflicting configuration at {path}: '{first_value}' wanted by {first_owner}, '{second_value}' wanted by {second_owner}"
    )]
    Conflict {
        /// The leaf, written with the prefix map given to [`merge`].
        path: String,
        /// The owner whose value came first.
        first_owner: String,
        /// Its value (`(subtree)` for a container).
        first_value: String,
        /// The owner whose value conflicts.
        second_owner: String,
        /// Its value (`(subtree)` for a container).
        second_value: String,
    },
}

/// Merges the fragments in order. Shared containers and list entries are merged; a leaf set by
/// several owners must have the same value everywhere, otherwise the conflict names the path
/// (written with `prefixes`) and both owners.
pub fn merge(fragments: &[Fragment<'_>], prefixes: &PrefixMap) -> Result<ConfigTree, MergeError> {
    let mut merged = ConfigTree::new();
    for (index, fragment) in fragments.iter().enumerate() {
        let mut path = Vec::new();
        if let Err(clash) = merge_children(&mut merged.roots, &fragment.tree.roots, &mut path) {
            let path = DataPath { steps: clash.path };
            let first_owner = fragments[..index]
                .iter()
                .find(|f| {
                    f.tree
                        .get(&path)
                        .is_some_and(|n| shown(n) == clash.existing)
                })
                .map_or("another owner", |f| f.owner);
            return Err(MergeError::Conflict {
                path: path.format(prefixes),
                first_owner: first_owner.to_owned(),
                first_value: clash.existing,
                second_owner: fragment.owner.to_owned(),
                second_value: clash.incoming,
            });
        }
    }
    Ok(merged)
}

struct Clash {
    path: Vec<Ident>,
    existing: String,
    incoming: String,
}

fn shown(node: &Node) -> String {
    match &node.value {
        Some(value) => value.text.clone(),
        None if node.children.is_empty() => String::new(),
        None => "(subtree)".to_owned(),
    }
}

fn merge_children(
    into: &mut Children,
    from: &Children,
    path: &mut Vec<Ident>,
) -> Result<(), Clash> {
    for (ident, node) in from {
        path.push(ident.clone());
        match into.get_mut(ident) {
            None => {
                into.insert(ident.clone(), node.clone());
            }
            Some(existing) => merge_node(existing, node, path)?,
        }
        path.pop();
    }
    Ok(())
}

fn merge_node(existing: &mut Node, node: &Node, path: &mut Vec<Ident>) -> Result<(), Clash> {
    let clash = |existing: &Node| Clash {
        path: path.clone(),
        existing: shown(existing),
        incoming: shown(node),
    };
    match (&existing.value, &node.value) {
        (Some(a), Some(b)) if a != b => Err(clash(existing)),
        (Some(_), Some(_)) => Ok(()),
        (Some(_), None) if node.children.is_empty() => Ok(()),
        (Some(_), None) => Err(clash(existing)),
        (None, Some(_)) if existing.children.is_empty() => {
            existing.value = node.value.clone();
            Ok(())
        }
        (None, Some(_)) => Err(clash(existing)),
        (None, None) => merge_children(&mut existing.children, &node.children, path),
    }
}
