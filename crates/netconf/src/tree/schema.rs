//! What the tree code needs to know of the YANG schema: qualified names, which lists are keyed
//! by which leaves, which leaves are leaf-lists, and the prefixes used to write paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A qualified name: namespace URI + local name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    /// Namespace URI (empty for no namespace).
    pub ns: String,
    /// Local name.
    pub name: String,
}

/// A keyed YANG list the controller may own entries of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedList {
    /// Element names from the top-level element down to the list entry element, e.g.
    /// `[if:interfaces, if:interface]`.
    pub path: Vec<QName>,
    /// The key leaves (children of the entry element), in the order of the YANG `key`
    /// statement.
    pub keys: Vec<QName>,
}

/// The list knowledge the tree code works with: keyed lists (entries identified by their
/// keys) and leaf-lists (entries identified by their value). Any other element may appear at
/// most once under its parent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSchema {
    lists: BTreeMap<Vec<QName>, Vec<QName>>,
    leaf_lists: BTreeSet<Vec<QName>>,
}

/// Prefixes for writing and reading [`DataPath`](super::DataPath) strings, e.g.
/// `if` ↔ `urn:ietf:params:xml:ns:yang:ietf-interfaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixMap {
    by_ns: BTreeMap<String, String>,
    by_prefix: BTreeMap<String, String>,
}

/// A schema or prefix map that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A list or leaf-list with an empty path.
    #[error("list path must not be empty")]
    EmptyPath,
    /// A keyed list without key leaves.
    #[error("keyed list {path} has no key leaves")]
    NoKeys {
        /// The list path in `{ns}name` form.
        path: String,
    },
    /// The same path declared twice.
    #[error("list {path} is declared twice")]
    Duplicate {
        /// The list path in `{ns}name` form.
        path: String,
    },
    /// A key leaf listed twice for one list.
    #[error("keyed list {path} names a key leaf twice")]
    DuplicateKey {
        /// The list path in `{ns}name` form.
        path: String,
    },
    /// A prefix that is not an XML name, or is reserved (`xml`, `xmlns`).
    #[error("'{prefix}' cannot be used as a namespace prefix")]
    BadPrefix {
        /// The prefix.
        prefix: String,
    },
    /// A prefix or namespace mapped twice, differently.
    #[error("prefix '{prefix}' and namespace '{ns}' conflict with an earlier mapping")]
    PrefixConflict {
        /// The prefix.
        prefix: String,
        /// The namespace.
        ns: String,
    },
}

// === impl QName ===

impl QName {
    /// A qualified name.
    pub fn new(ns: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            ns: ns.into(),
            name: name.into(),
        }
    }
}

/// `{ns}name` (James Clark notation), or `name` without a namespace.
impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{{{}}}{}", self.ns, self.name)
        }
    }
}

fn show_path(path: &[QName]) -> String {
    path.iter().map(|q| format!("/{q}")).collect()
}

// === impl ListSchema ===

impl ListSchema {
    /// An empty schema: no lists (every element must then be unique under its parent).
    pub fn new() -> Self {
        Self::default()
    }

    /// A schema with these keyed lists.
    pub fn from_lists(lists: impl IntoIterator<Item = KeyedList>) -> Result<Self, SchemaError> {
        let mut schema = Self::new();
        for list in lists {
            schema.add_list(list)?;
        }
        Ok(schema)
    }

    /// Declares a keyed list.
    pub fn add_list(&mut self, list: KeyedList) -> Result<(), SchemaError> {
        if list.path.is_empty() {
            return Err(SchemaError::EmptyPath);
        }
        let path = show_path(&list.path);
        if list.keys.is_empty() {
            return Err(SchemaError::NoKeys { path });
        }
        let unique: BTreeSet<&QName> = list.keys.iter().collect();
        if unique.len() != list.keys.len() {
            return Err(SchemaError::DuplicateKey { path });
        }
        if self.lists.contains_key(&list.path) || self.leaf_lists.contains(&list.path) {
            return Err(SchemaError::Duplicate { path });
        }
        self.lists.insert(list.path, list.keys);
        Ok(())
    }

    /// Declares a leaf-list (path down to the leaf-list element).
    pub fn add_leaf_list(&mut self, path: Vec<QName>) -> Result<(), SchemaError> {
        if path.is_empty() {
            return Err(SchemaError::EmptyPath);
        }
        if self.lists.contains_key(&path) || self.leaf_lists.contains(&path) {
            return Err(SchemaError::Duplicate {
                path: show_path(&path),
            });
        }
        self.leaf_lists.insert(path);
        Ok(())
    }

    /// The key leaves of the keyed list whose entries sit at `path`.
    pub fn keys(&self, path: &[QName]) -> Option<&[QName]> {
        self.lists.get(path).map(Vec::as_slice)
    }

    /// Whether `path` is a leaf-list.
    pub fn is_leaf_list(&self, path: &[QName]) -> bool {
        self.leaf_lists.contains(path)
    }

    /// The declared keyed lists.
    pub fn lists(&self) -> impl Iterator<Item = KeyedList> + '_ {
        self.lists.iter().map(|(path, keys)| KeyedList {
            path: path.clone(),
            keys: keys.clone(),
        })
    }
}

// === impl PrefixMap ===

impl PrefixMap {
    /// An empty map: every name is written in `{ns}name` form.
    pub fn new() -> Self {
        Self::default()
    }

    /// A map from `(prefix, namespace)` pairs.
    pub fn from_pairs<P, N>(pairs: impl IntoIterator<Item = (P, N)>) -> Result<Self, SchemaError>
    where
        P: Into<String>,
        N: Into<String>,
    {
        let mut map = Self::new();
        for (prefix, ns) in pairs {
            map.insert(prefix, ns)?;
        }
        Ok(map)
    }

    /// Adds a mapping; mapping the same pair twice is allowed, conflicting mappings are not.
    pub fn insert(
        &mut self,
        prefix: impl Into<String>,
        ns: impl Into<String>,
    ) -> Result<(), SchemaError> {
        let (prefix, ns) = (prefix.into(), ns.into());
        let valid = prefix
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && prefix
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !prefix.eq_ignore_ascii_case("xml")
            && prefix != "xmlns";
        if !valid {
            return Err(SchemaError::BadPrefix { prefix });
        }
        match (self.by_prefix.get(&prefix), self.by_ns.get(&ns)) {
            (None, None) => {
                self.by_prefix.insert(prefix.clone(), ns.clone());
                self.by_ns.insert(ns, prefix);
                Ok(())
            }
            (Some(n), Some(p)) if *n == ns && *p == prefix => Ok(()),
            _ => Err(SchemaError::PrefixConflict { prefix, ns }),
        }
    }

    /// The prefix of `ns`.
    pub fn prefix(&self, ns: &str) -> Option<&str> {
        self.by_ns.get(ns).map(String::as_str)
    }

    /// The namespace of `prefix`.
    pub fn namespace(&self, prefix: &str) -> Option<&str> {
        self.by_prefix.get(prefix).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &str) -> QName {
        QName::new("urn:x", name)
    }

    #[test]
    fn schema_rejects_bad_declarations() {
        let mut schema = ListSchema::new();
        assert_eq!(
            schema.add_list(KeyedList {
                path: vec![],
                keys: vec![q("k")]
            }),
            Err(SchemaError::EmptyPath)
        );
        assert!(matches!(
            schema.add_list(KeyedList {
                path: vec![q("a")],
                keys: vec![]
            }),
            Err(SchemaError::NoKeys { .. })
        ));
        assert!(matches!(
            schema.add_list(KeyedList {
                path: vec![q("a")],
                keys: vec![q("k"), q("k")]
            }),
            Err(SchemaError::DuplicateKey { .. })
        ));
        schema
            .add_list(KeyedList {
                path: vec![q("a")],
                keys: vec![q("k")],
            })
            .unwrap();
        assert!(matches!(
            schema.add_leaf_list(vec![q("a")]),
            Err(SchemaError::Duplicate { .. })
        ));
        assert_eq!(schema.keys(&[q("a")]), Some(&[q("k")][..]));
        assert_eq!(schema.lists().count(), 1);
    }

    #[test]
    fn prefix_map_is_a_bijection() {
        let mut map = PrefixMap::from_pairs([("if", "urn:if")]).unwrap();
        map.insert("if", "urn:if").unwrap();
        assert!(matches!(
            map.insert("if", "urn:other"),
            Err(SchemaError::PrefixConflict { .. })
        ));
        assert!(matches!(
            map.insert("if2", "urn:if"),
            Err(SchemaError::PrefixConflict { .. })
        ));
        assert!(matches!(
            map.insert("a:b", "urn:z"),
            Err(SchemaError::BadPrefix { .. })
        ));
        assert!(matches!(
            map.insert("xml", "urn:z"),
            Err(SchemaError::BadPrefix { .. })
        ));
        assert_eq!(map.prefix("urn:if"), Some("if"));
        assert_eq!(map.namespace("if"), Some("urn:if"));
    }
}
