//! The minimal edit that turns one configuration into another.

use super::children::Children;

use super::edit::{Edit, Operation};
use super::node::{ConfigTree, Ident, Key, Node};

/// How entries that appear or disappear are written.
///
/// `create` is only safe when `previous` is everything the device holds in the lists
/// concerned: diff the merge of all owners on a device (see [`merge`](super::merge)), or use
/// [`NewEntries::Merge`] when diffing one owner whose entries may be shared with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// Operation for keyed entries that are new: `create` (fails with `data-exists` when the
    /// entry is already on the device, which catches stale state) or `merge` (idempotent,
    /// for re-pushing after an interrupted transaction).
    pub new_entries: NewEntries,
    /// Operation for keyed entries that are gone.
    pub removal: Removal,
}

/// Operation for new keyed entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewEntries {
    /// `nc:operation="create"`.
    Create,
    /// `nc:operation="merge"`.
    Merge,
}

/// Operation for keyed entries that go away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `delete`: `data-missing` when the entry is not there.
    Delete,
    /// `remove`: nothing happens when the entry is not there (see netconfd quirk 5 in the
    /// NETCONF notes: some servers still fail when the parent container is gone; drop such
    /// removals with [`prune_absent`](super::prune_absent)).
    Remove,
}

impl Default for DiffOptions {
    /// `create` for new entries, `remove` for entries gone.
    fn default() -> Self {
        Self {
            new_entries: NewEntries::Create,
            removal: Removal::Remove,
        }
    }
}

impl Removal {
    pub(super) fn operation(self) -> Operation {
        match self {
            Self::Delete => Operation::Delete,
            Self::Remove => Operation::Remove,
        }
    }
}

/// The edit that turns `previous` (what was applied) into `desired`, with default options;
/// `None` when they are equal.
pub fn diff(previous: &ConfigTree, desired: &ConfigTree) -> Option<Edit> {
    diff_with(previous, desired, &DiffOptions::default())
}

/// The edit that turns `previous` into `desired`; `None` when they are equal.
///
/// - a new keyed entry is written whole with `create` (or `merge`, see [`DiffOptions`]);
/// - any other new node is written whole with `merge`;
/// - a changed leaf is written with `merge`;
/// - a keyed entry that is gone is written with its keys only and `remove` (or `delete`);
///   other nodes that are gone get `remove`;
/// - a node whose shape changed (leaf ↔ container) is written with `replace`;
/// - nodes on the way carry no operation, and list entries on the way carry their keys.
///
/// The edit is correct with `default-operation` `merge` (the NETCONF default) or `none`.
pub fn diff_with(
    previous: &ConfigTree,
    desired: &ConfigTree,
    options: &DiffOptions,
) -> Option<Edit> {
    let roots = diff_children(&previous.roots, &desired.roots, options);
    Edit::from_roots(roots)
}

fn diff_children(previous: &Children, desired: &Children, options: &DiffOptions) -> Children {
    let mut out = Children::new();
    for (ident, want) in desired {
        match previous.get(ident) {
            None => {
                let op = match (ident.is_entry(), options.new_entries) {
                    (true, NewEntries::Create) => Operation::Create,
                    _ => Operation::Merge,
                };
                out.insert(ident.clone(), with_op(want, op));
            }
            Some(had) => {
                if let Some(change) = diff_node(ident, had, want, options) {
                    out.insert(ident.clone(), change);
                }
            }
        }
    }
    for (ident, had) in previous {
        if !desired.contains_key(ident) {
            out.insert(ident.clone(), removal(ident, had, options.removal));
        }
    }
    out
}

fn diff_node(ident: &Ident, had: &Node, want: &Node, options: &DiffOptions) -> Option<Node> {
    if had.value.is_none() && want.value.is_none() {
        let mut children = diff_children(&had.children, &want.children, options);
        if children.is_empty() {
            return None;
        }
        // An entry on the way is identified by its keys.
        for name in ident.key_names() {
            let key = Ident::single(name.clone());
            if let Some(leaf) = want.children.get(&key) {
                children.entry(key).or_insert_with(|| leaf.clone());
            }
        }
        return Some(Node {
            children,
            ..Node::empty(want.name.clone())
        });
    }
    if had.value == want.value && had.children.is_empty() && want.children.is_empty() {
        return None;
    }
    if had.children.is_empty() && want.children.is_empty() {
        return Some(with_op(want, Operation::Merge));
    }
    Some(with_op(want, Operation::Replace))
}

fn with_op(node: &Node, op: Operation) -> Node {
    let mut node = node.clone();
    node.strip_ops();
    node.op = Some(op);
    node
}

/// The node removing `had`: an entry by its keys, a leaf-list entry by its value.
pub(super) fn removal(ident: &Ident, had: &Node, removal: Removal) -> Node {
    let op = match ident.key {
        Key::Entry(_) => removal.operation(),
        _ => Operation::Remove,
    };
    let mut node = had.identity_only(ident);
    node.op = Some(op);
    node
}
