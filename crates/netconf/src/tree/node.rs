//! The config tree data: nodes keyed by their identity among siblings.

use super::children::Children;
use std::borrow::Cow;

use super::edit::Operation;
use super::path::DataPath;
use super::schema::QName;

/// A leaf value.
///
/// Values that are a qualified name (`prefix:local` with the prefix bound where the value
/// appeared, as YANG identityref values are) compare by namespace and local name, so
/// `ianaift:ethernetCsmacd` equals `x:ethernetCsmacd` when both prefixes mean the IANA
/// if-type namespace. A plain string that merely looks like that is affected too when its
/// prefix happens to be bound; both sides then usually agree anyway.
#[derive(Debug, Clone)]
pub struct Value {
    /// The value text, trimmed.
    pub text: String,
    /// Prefix bindings the text uses (declared again on the leaf when written).
    pub namespaces: Vec<(String, String)>,
}

/// How a node is told apart from its siblings of the same name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// Not a list: at most one per parent.
    Single,
    /// An entry of a keyed list: key leaves and their canonical values, in key order.
    Entry(Vec<(QName, String)>),
    /// An entry of a leaf-list: its canonical value.
    LeafList(String),
    /// A repeated element the schema does not describe, by 1-based position. Only appears in
    /// trees read leniently from a device.
    Position(usize),
}

/// The identity of a node among its siblings: name plus key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident {
    /// The element name.
    pub name: QName,
    /// The key among same-named siblings.
    pub key: Key,
}

/// One element of a config tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The element name.
    pub name: QName,
    /// The value of a leaf; `None` for containers, list entries and empty leaves.
    pub value: Option<Value>,
    /// Child nodes in canonical order.
    pub children: Children,
    /// The `nc:operation` of an edit node; always `None` in a plain config tree.
    pub op: Option<Operation>,
}

/// A configuration: the top-level elements of a `<config>` payload, canonically ordered.
///
/// Children are kept sorted by identity (namespace, name, then key values), whitespace is
/// trimmed, and entries are identified by their keys, so two payloads that differ only in
/// element order, indentation or prefix choice give equal trees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    /// Top-level nodes.
    pub roots: Children,
}

// === impl Value ===

impl Value {
    /// A value without prefix bindings.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            namespaces: Vec::new(),
        }
    }

    /// The comparable form: `{ns}local` for a bound qualified name, the text otherwise.
    pub fn canonical(&self) -> Cow<'_, str> {
        if let Some((prefix, local)) = self.text.split_once(':')
            && !local.is_empty()
            && !local.contains(':')
            && !local.contains(char::is_whitespace)
            && let Some((_, ns)) = self.namespaces.iter().find(|(p, _)| p == prefix)
        {
            return Cow::Owned(format!("{{{ns}}}{local}"));
        }
        Cow::Borrowed(&self.text)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for Value {}

// === impl Ident ===

impl Ident {
    /// The identity of a non-list element.
    pub fn single(name: QName) -> Self {
        Self {
            name,
            key: Key::Single,
        }
    }

    /// Whether this is a keyed list entry.
    pub fn is_entry(&self) -> bool {
        matches!(self.key, Key::Entry(_))
    }

    /// The key leaves of a keyed list entry (empty otherwise).
    pub fn key_names(&self) -> impl Iterator<Item = &QName> {
        let pairs: &[(QName, String)] = match &self.key {
            Key::Entry(pairs) => pairs,
            _ => &[],
        };
        pairs.iter().map(|(name, _)| name)
    }
}

// === impl Node ===

impl Node {
    /// A childless node without value or operation.
    pub fn empty(name: QName) -> Self {
        Self {
            name,
            value: None,
            children: Children::new(),
            op: None,
        }
    }

    /// A leaf with `text`.
    pub fn leaf(name: QName, text: impl Into<String>) -> Self {
        Self {
            value: Some(Value::new(text)),
            ..Self::empty(name)
        }
    }

    /// Whether the node has a value (a non-empty leaf).
    pub fn is_leaf(&self) -> bool {
        self.value.is_some()
    }

    /// The node reduced to what identifies it under `ident`: the key leaves of an entry, the
    /// value of a leaf-list entry, nothing else.
    pub fn identity_only(&self, ident: &Ident) -> Node {
        let mut node = Node::empty(self.name.clone());
        match &ident.key {
            Key::Entry(_) => {
                for name in ident.key_names() {
                    let key = Ident::single(name.clone());
                    if let Some(leaf) = self.children.get(&key) {
                        node.children.insert(key, leaf.clone());
                    }
                }
            }
            Key::LeafList(_) => node.value = self.value.clone(),
            Key::Single | Key::Position(_) => {}
        }
        node
    }

    /// Clears every operation in this subtree.
    pub fn strip_ops(&mut self) {
        self.op = None;
        for child in self.children.values_mut() {
            child.strip_ops();
        }
    }
}

// === impl ConfigTree ===

impl ConfigTree {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The node at `path`.
    pub fn get(&self, path: &DataPath) -> Option<&Node> {
        let (first, rest) = path.steps.split_first()?;
        let mut node = self.roots.get(first)?;
        for step in rest {
            node = node.children.get(step)?;
        }
        Some(node)
    }

    /// Every keyed-list entry, at any depth, in canonical order. These paths are what a
    /// Subscription records as `owned` (written with [`DataPath::format`]).
    pub fn entries(&self) -> Vec<DataPath> {
        fn walk(children: &Children, path: &mut Vec<Ident>, out: &mut Vec<DataPath>) {
            for (ident, node) in children {
                path.push(ident.clone());
                if ident.is_entry() {
                    out.push(DataPath {
                        steps: path.clone(),
                    });
                }
                walk(&node.children, path, out);
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.roots, &mut Vec::new(), &mut out);
        out
    }
}

/// Every keyed-list entry of `tree` (see [`ConfigTree::entries`]).
pub fn entries(tree: &ConfigTree) -> Vec<DataPath> {
    tree.entries()
}
