//! Edits: config trees whose nodes carry `nc:operation` (RFC 6241 section 7.2).

use super::TreeError;
use super::node::ConfigTree;
use super::parse::{ParseMode, from_xml};
use super::schema::ListSchema;
use super::write;
use crate::xml::XmlLimits;

/// The `operation` attribute of an edit-config node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Merge into what exists, creating what is missing.
    Merge,
    /// Replace what exists (or create it).
    Replace,
    /// Create; `data-exists` if it exists.
    Create,
    /// Delete; `data-missing` if it does not exist.
    Delete,
    /// Delete if it exists, otherwise do nothing.
    Remove,
}

/// The `default-operation` of an edit-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultOperation {
    /// Nodes without operation are merged (the NETCONF default).
    Merge,
    /// Nodes without operation replace what exists.
    Replace,
    /// Nodes without operation only lead to the nodes that carry one.
    None,
}

/// An edit-config payload: a tree whose nodes may carry an [`Operation`]. The content of
/// `<config>` is [`Edit::to_xml`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    /// The nodes, with operations.
    pub tree: ConfigTree,
}

// === impl Operation / DefaultOperation ===

impl Operation {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Replace => "replace",
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Remove => "remove",
        }
    }

    /// Reads an attribute value.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Merge,
            Self::Replace,
            Self::Create,
            Self::Delete,
            Self::Remove,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }
}

impl DefaultOperation {
    /// The element value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => "merge",
            Self::Replace => "replace",
            Self::None => "none",
        }
    }

    /// Reads an element value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Merge, Self::Replace, Self::None]
            .into_iter()
            .find(|op| op.as_str() == s)
    }
}

// === impl Edit ===

impl Edit {
    /// An edit of these top-level nodes, `None` when there are none.
    pub(super) fn from_roots(roots: super::Children) -> Option<Self> {
        if roots.is_empty() {
            None
        } else {
            Some(Self {
                tree: ConfigTree { roots },
            })
        }
    }

    /// Reads an edit-config payload (the content of `<config>`), keeping operations. List
    /// entries must carry their keys.
    pub fn parse(xml: &str, schema: &ListSchema) -> Result<Self, TreeError> {
        Self::parse_with(xml, schema, &XmlLimits::default())
    }

    /// [`Edit::parse`] with explicit limits.
    pub fn parse_with(
        xml: &str,
        schema: &ListSchema,
        limits: &XmlLimits,
    ) -> Result<Self, TreeError> {
        Ok(Self {
            tree: from_xml(xml, schema, limits, ParseMode::Edit)?,
        })
    }

    /// Builds an edit from parsed elements, such as the children of `<config>` in a received
    /// `<edit-config>`.
    pub fn from_elements(
        elements: &[crate::xml::Element],
        schema: &ListSchema,
        limits: &XmlLimits,
    ) -> Result<Self, TreeError> {
        Ok(Self {
            tree: ConfigTree::from_elements(elements, schema, limits, ParseMode::Edit)?,
        })
    }

    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The payload for `<config>`, with `xmlns:nc` declared on each top-level element that
    /// needs it.
    pub fn to_xml(&self) -> String {
        write::to_xml(&self.tree.roots, write::Style::COMPACT)
    }

    /// [`Edit::to_xml`], indented for people to read (`ferrule plan`).
    pub fn to_xml_pretty(&self) -> String {
        write::to_xml(&self.tree.roots, write::Style::PRETTY)
    }
}
