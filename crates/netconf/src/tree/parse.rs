//! Reading XML elements into a config tree.

use super::children::Children;
use std::collections::BTreeMap;

use super::TreeError;
use super::edit::Operation;
use super::node::{ConfigTree, Ident, Key, Node, Value};
use super::schema::{ListSchema, QName};
use crate::xml::{self, Element, NETCONF_BASE_NS, XmlLimits};

/// Fixed cost charged per node on top of its strings, to bound memory for tiny elements.
const NODE_OVERHEAD: usize = 128;

/// How strictly XML is read into a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// A payload Ferrule renders: every repeated element must be a declared list, operations
    /// are ignored.
    Config,
    /// An edit-config payload: like `Config`, but `nc:operation` attributes are kept.
    Edit,
    /// Data read from a device: repeated elements the schema does not describe are kept by
    /// position instead of being refused; operations are ignored.
    Device,
}

// === impl ConfigTree (parsing) ===

impl ConfigTree {
    /// Reads a config payload (the content of `<config>`: one or more namespaced elements)
    /// with default limits.
    pub fn parse(xml: &str, schema: &ListSchema) -> Result<Self, TreeError> {
        from_xml(xml, schema, &XmlLimits::default(), ParseMode::Config)
    }

    /// Reads XML with explicit limits and mode.
    pub fn parse_with(
        xml: &str,
        schema: &ListSchema,
        limits: &XmlLimits,
        mode: ParseMode,
    ) -> Result<Self, TreeError> {
        from_xml(xml, schema, limits, mode)
    }

    /// Builds a tree from parsed elements, such as the `<data>` of an rpc-reply (read in
    /// [`ParseMode::Device`]). Memory is bounded by `limits.max_bytes` times four.
    pub fn from_elements(
        elements: &[Element],
        schema: &ListSchema,
        limits: &XmlLimits,
        mode: ParseMode,
    ) -> Result<Self, TreeError> {
        let mut builder = Builder {
            schema,
            mode,
            budget: limits.max_bytes.saturating_mul(4),
            limit: limits.max_bytes.saturating_mul(4),
            path: Vec::new(),
            names: Vec::new(),
        };
        Ok(ConfigTree {
            roots: builder.children(elements)?,
        })
    }
}

pub(super) fn from_xml(
    xml: &str,
    schema: &ListSchema,
    limits: &XmlLimits,
    mode: ParseMode,
) -> Result<ConfigTree, TreeError> {
    let elements = xml::parse_fragment(xml, limits)?;
    ConfigTree::from_elements(&elements, schema, limits, mode)
}

struct Builder<'s> {
    schema: &'s ListSchema,
    mode: ParseMode,
    budget: usize,
    limit: usize,
    /// Schema path of the element being built.
    path: Vec<QName>,
    /// Local names of the same path, for error messages.
    names: Vec<String>,
}

impl Builder<'_> {
    fn where_(&self) -> String {
        self.names.iter().map(|n| format!("/{n}")).collect()
    }

    /// The children of one element. They are collected in document order and sorted once (a
    /// sorted insert per child would be quadratic in a long list given in reverse order);
    /// among equal identities the first in the document is kept (device mode) or the document
    /// is refused.
    fn children(&mut self, elements: &[Element]) -> Result<Children, TreeError> {
        let mut out: Vec<(Ident, Node)> = Vec::with_capacity(elements.len());
        // Device mode: names that repeat without a schema entry are keyed by position.
        let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        if self.mode == ParseMode::Device {
            for e in elements {
                *counts.entry((&*e.ns, e.name.as_str())).or_insert(0) += 1;
            }
        }
        let mut positions: BTreeMap<QName, usize> = BTreeMap::new();
        for element in elements {
            let (ident, node) = self.node(element)?;
            let repeated = counts
                .get(&(&*element.ns, element.name.as_str()))
                .is_some_and(|n| *n > 1);
            if repeated && ident.key == Key::Single {
                let n = positions.entry(ident.name.clone()).or_insert(0);
                *n += 1;
                let ident = Ident {
                    name: ident.name,
                    key: Key::Position(*n),
                };
                out.push((ident, node));
                continue;
            }
            out.push((ident, node));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(Ident, Node)> = Vec::with_capacity(out.len());
        for (ident, node) in out {
            match unique.last() {
                Some((last, _)) if *last == ident => {
                    if self.mode != ParseMode::Device {
                        return Err(TreeError::Duplicate {
                            path: format!("{}/{}", self.where_(), ident.name.name),
                        });
                    }
                }
                _ => unique.push((ident, node)),
            }
        }
        Ok(Children::from_sorted(unique))
    }

    fn node(&mut self, element: &Element) -> Result<(Ident, Node), TreeError> {
        let name = QName::new(element.ns.to_string(), element.name.clone());
        let cost = NODE_OVERHEAD + name.ns.len() + name.name.len() + element.text.len();
        self.budget = self
            .budget
            .checked_sub(cost)
            .ok_or(TreeError::TooLarge { limit: self.limit })?;
        self.path.push(name.clone());
        self.names.push(element.name.clone());
        let result = self.node_inner(element, name);
        self.path.pop();
        self.names.pop();
        result
    }

    fn node_inner(&mut self, element: &Element, name: QName) -> Result<(Ident, Node), TreeError> {
        let text = element.text.trim();
        if !element.children.is_empty() && !text.is_empty() {
            return Err(TreeError::MixedContent {
                path: self.where_(),
            });
        }
        let op =
            match (self.mode, element.attribute(NETCONF_BASE_NS, "operation")) {
                (ParseMode::Edit, Some(value)) => Some(Operation::parse(value).ok_or_else(
                    || TreeError::BadOperation {
                        path: self.where_(),
                        value: value.to_owned(),
                    },
                )?),
                _ => None,
            };
        let children = self.children(&element.children)?;
        let value = (!text.is_empty()).then(|| Value {
            text: text.to_owned(),
            namespaces: element.text_namespaces.clone(),
        });
        let key = if let Some(keys) = self.schema.keys(&self.path) {
            let mut pairs = Vec::with_capacity(keys.len());
            for key in keys {
                let leaf = children.get(&Ident::single(key.clone())).ok_or_else(|| {
                    TreeError::MissingKey {
                        path: self.where_(),
                        key: key.name.clone(),
                    }
                })?;
                if !leaf.children.is_empty() {
                    return Err(TreeError::MissingKey {
                        path: self.where_(),
                        key: key.name.clone(),
                    });
                }
                let value = leaf.value.as_ref().map(|v| v.canonical().into_owned());
                pairs.push((key.clone(), value.unwrap_or_default()));
            }
            Key::Entry(pairs)
        } else if self.schema.is_leaf_list(&self.path) {
            Key::LeafList(
                value
                    .as_ref()
                    .map(|v| v.canonical().into_owned())
                    .unwrap_or_default(),
            )
        } else {
            Key::Single
        };
        let ident = Ident {
            name: name.clone(),
            key,
        };
        Ok((
            ident,
            Node {
                name,
                value,
                children,
                op,
            },
        ))
    }
}
