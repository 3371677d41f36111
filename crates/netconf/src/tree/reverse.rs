//! Undoing one owner's configuration while leaving what others still use, and dropping
//! removals of things a device no longer has.

use super::children::Children;
use std::collections::BTreeSet;

use super::diff::{Removal, removal};
use super::edit::{Edit, Operation};
use super::node::{ConfigTree, Ident};
use super::path::DataPath;

/// The edit removing what `owner_applied` created, except what other owners still hold.
///
/// Only keyed-list entries are owned (see [`ConfigTree::entries`]). An entry of
/// `owner_applied` is removed unless it, or an entry below it, is in
/// `still_owned_by_others`; kept entries are searched for entries below them that only this
/// owner had. Containers and leaves outside entries are never removed, and leaves this owner
/// set on a shared entry stay as they are (the remaining owners re-assert their own values).
/// `None` when nothing is to be removed.
pub fn reverse(
    owner_applied: &ConfigTree,
    still_owned_by_others: &BTreeSet<DataPath>,
    removal_op: Removal,
) -> Option<Edit> {
    let roots = reverse_children(
        &owner_applied.roots,
        &mut Vec::new(),
        still_owned_by_others,
        removal_op,
    );
    Edit::from_roots(roots)
}

fn reverse_children(
    children: &Children,
    path: &mut Vec<Ident>,
    others: &BTreeSet<DataPath>,
    removal_op: Removal,
) -> Children {
    let mut out = Children::new();
    for (ident, node) in children {
        path.push(ident.clone());
        let here = DataPath {
            steps: path.clone(),
        };
        let shared = others
            .range(&here..)
            .next()
            .is_some_and(|p| p.starts_with(&here));
        if ident.is_entry() && !shared {
            out.insert(ident.clone(), removal(ident, node, removal_op));
        } else {
            let below = reverse_children(&node.children, path, others, removal_op);
            if !below.is_empty() {
                let mut lead = node.identity_only(ident);
                lead.children.extend(below);
                out.insert(ident.clone(), lead);
            }
        }
        path.pop();
    }
    out
}

/// Drops from `edit` every `delete` / `remove` of a node that `running` does not have (and
/// the nodes that then lead nowhere), so the edit does not depend on removing what is already
/// gone. `None` when nothing is left.
pub fn prune_absent(edit: &Edit, running: &ConfigTree) -> Option<Edit> {
    let roots = prune_children(&edit.tree.roots, Some(&running.roots));
    Edit::from_roots(roots)
}

fn prune_children(edits: &Children, running: Option<&Children>) -> Children {
    let mut out = Children::new();
    for (ident, node) in edits {
        let present = running.and_then(|r| r.get(ident));
        match node.op {
            Some(Operation::Delete | Operation::Remove) if present.is_none() => {}
            Some(_) => {
                out.insert(ident.clone(), node.clone());
            }
            None if node.children.is_empty() => {
                out.insert(ident.clone(), node.clone());
            }
            None => {
                let below = prune_children(&node.children, present.map(|p| &p.children));
                let leads_somewhere = below.iter().any(|(id, n)| {
                    n.op.is_some() || !n.children.is_empty() || !is_key_of(ident, id)
                });
                if leads_somewhere {
                    let mut lead = node.clone();
                    lead.children = below;
                    out.insert(ident.clone(), lead);
                }
            }
        }
    }
    out
}

fn is_key_of(entry: &Ident, child: &Ident) -> bool {
    entry.key_names().any(|k| *k == child.name)
}
