//! Config trees: what a device should have, what it had, and the edits in between.
//!
//! A [`ConfigTree`] is read from a rendered `<config>` payload (several namespaced top-level
//! elements) with a [`ListSchema`] that says which lists are keyed by which leaves. Children
//! are kept in canonical order and list entries are identified by their keys, so the tree,
//! its canonical XML ([`ConfigTree::to_xml`]) and its [`digest`](ConfigTree::digest) do not
//! depend on how the payload was laid out. `nc:operation` attributes are ignored when reading
//! a config; [`Edit`] keeps them.
//!
//! The operations on trees:
//! - [`merge`] joins the fragments of several owners on one device, refusing conflicting leaf
//!   values with both owners named;
//! - [`ConfigTree::entries`] lists the keyed entries (as [`DataPath`]s, written like
//!   `/if:interfaces/if:interface[if:name='ge-0/0/1.1203']`, see [`path`]) that an owner
//!   records as owned;
//! - [`diff`] computes the minimal edit from what was applied to what is desired;
//! - [`reverse`] removes what one owner created while keeping entries others still hold,
//!   and [`prune_absent`] drops removals of what a device no longer has;
//! - [`compare`] and [`repair`] find and fix drift of owned config on a device;
//! - [`apply_edit`] applies an edit with RFC 6241 semantics: the datastore engine of
//!   simulated devices and the reference the diff is checked against.
//!
//! Deliberate simplifications, all documented where they apply:
//! - leaf values are trimmed (templates indent freely; YANG values with significant outer
//!   whitespace are not supported);
//! - every list is treated as `ordered-by system`: entry order is not kept and the YANG
//!   `insert` attribute is ignored;
//! - a value of the form `prefix:local` whose prefix is bound where it appears is compared as
//!   a qualified name (identityref), see [`Value`];
//! - an element that repeats must be a declared keyed list or leaf-list, except in data read
//!   from a device ([`ParseMode::Device`]), where undeclared repeats are kept by position.

mod apply;
mod children;
mod compare;
mod diff;
mod edit;
mod merge;
mod node;
mod parse;
pub mod path;
mod reverse;
mod schema;
mod write;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use apply::{EditError, EditErrorTag, apply_edit};
pub use children::Children;
pub use compare::{Drift, DriftKind, compare, repair};
pub use diff::{DiffOptions, NewEntries, Removal, diff, diff_with};
pub use edit::{DefaultOperation, Edit, Operation};
pub use merge::{Fragment, MergeError, merge};
pub use node::{ConfigTree, Ident, Key, Node, Value, entries};
pub use parse::ParseMode;
pub use path::{DataPath, PathError};
pub use reverse::{prune_absent, reverse};
pub use schema::{KeyedList, ListSchema, PrefixMap, QName, SchemaError};

use crate::xml::XmlError;

/// Why XML could not be read as a config tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The payload is not acceptable XML.
    #[error("config payload is not acceptable XML: {0}")]
    Xml(#[from] XmlError),
    /// An element holds both text and child elements.
    #[error("{path} mixes text and child elements")]
    MixedContent {
        /// Where, by local names.
        path: String,
    },
    /// A keyed list entry lacks one of its keys (or the key is not a leaf).
    #[error("list entry {path} has no key leaf '{key}'")]
    MissingKey {
        /// Where, by local names.
        path: String,
        /// The missing key leaf.
        key: String,
    },
    /// An element repeats under one parent but is neither a keyed list nor a leaf-list of the
    /// schema (or a list entry repeats with the same keys). Declare the list in the device
    /// profile, or fix the template.
    #[error(
        "{path} appears more than once; declare it as a keyed list or leaf-list in the device profile"
    )]
    Duplicate {
        /// Where, by local names.
        path: String,
    },
    /// An `nc:operation` value outside RFC 6241.
    #[error("{path} has an unknown operation '{value}'")]
    BadOperation {
        /// Where, by local names.
        path: String,
        /// The value found.
        value: String,
    },
    /// The tree would use more memory than the limits allow.
    #[error("config tree larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}
