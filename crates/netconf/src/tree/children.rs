//! The children of a config-tree node: a map from identity to node, kept as a vector sorted by
//! identity.
//!
//! Most nodes have a handful of children (a list entry's leaves, a container's few members);
//! a `BTreeMap` allocates room for eleven entries for even one child, which made a subscriber's
//! configuration cost kilobytes per node in the simulator's datastores. The vector holds
//! exactly what is there; lookups are binary searches. The API is the part of `BTreeMap`'s
//! that the tree code uses, with the same iteration order.

use std::borrow::Borrow;

use super::node::{Ident, Node};

/// Children of a node (or the top-level nodes of a tree), in identity order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Children {
    entries: Vec<(Ident, Node)>,
}

impl Children {
    /// No children.
    pub fn new() -> Self {
        Self::default()
    }

    /// Children from `entries` already sorted by identity without repeats.
    pub(super) fn from_sorted(mut entries: Vec<(Ident, Node)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        entries.shrink_to_fit();
        Self { entries }
    }

    fn find<Q>(&self, ident: &Q) -> Result<usize, usize>
    where
        Ident: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries
            .binary_search_by(|(k, _)| k.borrow().cmp(ident))
    }

    /// How many children.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The child `ident`.
    pub fn get(&self, ident: &Ident) -> Option<&Node> {
        self.find(ident).ok().map(|i| &self.entries[i].1)
    }

    /// The child `ident`, mutable.
    pub fn get_mut(&mut self, ident: &Ident) -> Option<&mut Node> {
        self.find(ident).ok().map(|i| &mut self.entries[i].1)
    }

    /// The stored identity and node of `ident`.
    pub fn get_key_value(&self, ident: &Ident) -> Option<(&Ident, &Node)> {
        self.find(ident).ok().map(|i| {
            let (k, v) = &self.entries[i];
            (k, v)
        })
    }

    /// Whether `ident` is a child.
    pub fn contains_key(&self, ident: &Ident) -> bool {
        self.find(ident).is_ok()
    }

    /// Sets the child `ident`, returning the node it replaced.
    pub fn insert(&mut self, ident: Ident, node: Node) -> Option<Node> {
        match self.find(&ident) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, node)),
            Err(i) => {
                self.entries.insert(i, (ident, node));
                None
            }
        }
    }

    /// Removes the child `ident`.
    pub fn remove(&mut self, ident: &Ident) -> Option<Node> {
        self.find(ident).ok().map(|i| self.entries.remove(i).1)
    }

    /// The child `ident`, inserted from `make` when missing.
    pub fn get_or_insert_with(&mut self, ident: Ident, make: impl FnOnce() -> Node) -> &mut Node {
        let i = match self.find(&ident) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (ident, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// The slot of `ident`, filled or not.
    pub fn entry(&mut self, ident: Ident) -> Entry<'_> {
        match self.find(&ident) {
            Ok(index) => Entry::Occupied(OccupiedEntry {
                children: self,
                index,
            }),
            Err(index) => Entry::Vacant(VacantEntry {
                children: self,
                index,
                ident,
            }),
        }
    }

    /// Children in identity order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Ident, &Node)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Children in identity order, mutable.
    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&Ident, &mut Node)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// Identities in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Ident> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Nodes in identity order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Node> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Nodes in identity order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Node> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Keeps the children for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Ident, &mut Node) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Removes every child.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The slot of one identity ([`Children::entry`]).
#[derive(Debug)]
pub enum Entry<'a> {
    /// The child exists.
    Occupied(OccupiedEntry<'a>),
    /// No child has the identity.
    Vacant(VacantEntry<'a>),
}

/// An existing child.
#[derive(Debug)]
pub struct OccupiedEntry<'a> {
    children: &'a mut Children,
    index: usize,
}

/// The place of a missing child.
#[derive(Debug)]
pub struct VacantEntry<'a> {
    children: &'a mut Children,
    index: usize,
    ident: Ident,
}

impl<'a> Entry<'a> {
    /// The child, inserted from `make` when missing.
    pub fn or_insert_with(self, make: impl FnOnce() -> Node) -> &'a mut Node {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(make()),
        }
    }
}

impl<'a> OccupiedEntry<'a> {
    /// The child's identity.
    pub fn key(&self) -> &Ident {
        &self.children.entries[self.index].0
    }

    /// The child, for as long as the borrow of the children lasts.
    pub fn into_mut(self) -> &'a mut Node {
        &mut self.children.entries[self.index].1
    }
}

impl<'a> VacantEntry<'a> {
    /// The missing child's identity.
    pub fn key(&self) -> &Ident {
        &self.ident
    }

    /// Inserts the child.
    pub fn insert(self, node: Node) -> &'a mut Node {
        self.children.entries.insert(self.index, (self.ident, node));
        &mut self.children.entries[self.index].1
    }
}

impl Extend<(Ident, Node)> for Children {
    fn extend<T: IntoIterator<Item = (Ident, Node)>>(&mut self, iter: T) {
        for (ident, node) in iter {
            self.insert(ident, node);
        }
    }
}

impl FromIterator<(Ident, Node)> for Children {
    fn from_iter<T: IntoIterator<Item = (Ident, Node)>>(iter: T) -> Self {
        let mut entries: Vec<(Ident, Node)> = iter.into_iter().collect();
        // Stable sort, then keep the last of equal identities, as inserting in turn would.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Ident, Node)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        out.shrink_to_fit();
        Self { entries: out }
    }
}

impl IntoIterator for Children {
    type Item = (Ident, Node);
    type IntoIter = std::vec::IntoIter<(Ident, Node)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Children {
    type Item = (&'a Ident, &'a Node);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Ident, Node)>,
        fn(&'a (Ident, Node)) -> (&'a Ident, &'a Node),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> IntoIterator for &'a mut Children {
    type Item = (&'a Ident, &'a mut Node);
    type IntoIter = std::iter::Map<
        std::slice::IterMut<'a, (Ident, Node)>,
        fn(&'a mut (Ident, Node)) -> (&'a Ident, &'a mut Node),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::tree::QName;

    fn ident(n: u8) -> Ident {
        Ident::single(QName {
            ns: "urn:x".into(),
            name: format!("n{n}"),
        })
    }

    fn node(v: u8) -> Node {
        Node::leaf(
            QName {
                ns: "urn:x".into(),
                name: "v".into(),
            },
            v.to_string(),
        )
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8),
        Remove(u8),
        Retain(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..16, any::<u8>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (0u8..16).prop_map(Op::Remove),
            (0u8..16).prop_map(Op::Retain),
        ]
    }

    proptest! {
        /// The same operations on a BTreeMap and on Children give the same contents, in the
        /// same order, with the same answers.
        #[test]
        fn behaves_as_an_ordered_map(ops in proptest::collection::vec(op(), 0..64)) {
            let mut map: BTreeMap<Ident, Node> = BTreeMap::new();
            let mut children = Children::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(
                        map.insert(ident(k), node(v)),
                        children.insert(ident(k), node(v))
                    ),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&ident(k)), children.remove(&ident(k))),
                    Op::Retain(k) => {
                        map.retain(|i, _| *i != ident(k));
                        children.retain(|i, _| *i != ident(k));
                    }
                }
                prop_assert_eq!(map.len(), children.len());
                prop_assert!(map.iter().eq(children.iter()));
            }
            let rebuilt: Children = map.clone().into_iter().rev().collect();
            prop_assert_eq!(&rebuilt, &children);
            for k in 0..16 {
                prop_assert_eq!(map.get(&ident(k)), children.get(&ident(k)));
            }
        }
    }
}
