//! Canonical XML for config trees and edits, and the tree digest.
//!
//! Elements are written in the default-namespace style NETCONF servers use themselves
//! (`<interfaces xmlns="urn:...">`): a namespace is declared where it changes, so elements
//! never need prefixes. Qualified-name values keep the prefix they were written with and
//! declare it on their own leaf; operations use `nc:` declared on the top-level element.
//! Children come in canonical order, except that a list entry's keys come first, in key
//! order, as RFC 7950 section 7.8.5 requires.

use super::children::Children;

use sha2::{Digest, Sha256};

use super::node::{ConfigTree, Ident, Node};
use crate::xml::{NETCONF_BASE_NS, escape_attr, escape_text};

/// How to write a tree.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// Indent with two spaces, one element per line.
    pretty: bool,
    /// Write qualified-name values as `{ns}local` and no value prefixes (digest only).
    canonical_values: bool,
}

impl Style {
    pub(super) const COMPACT: Style = Style {
        pretty: false,
        canonical_values: false,
    };
    pub(super) const PRETTY: Style = Style {
        pretty: true,
        canonical_values: false,
    };
    const DIGEST: Style = Style {
        pretty: false,
        canonical_values: true,
    };
}

// === impl ConfigTree (writing) ===

impl ConfigTree {
    /// Canonical compact XML of the tree: equal trees give identical strings, and parsing
    /// the string gives the tree back.
    pub fn to_xml(&self) -> String {
        to_xml(&self.roots, Style::COMPACT)
    }

    /// [`ConfigTree::to_xml`] indented for people to read.
    pub fn to_xml_pretty(&self) -> String {
        to_xml(&self.roots, Style::PRETTY)
    }

    /// SHA-256 (lowercase hex) of the canonical form. Independent of element order,
    /// whitespace and prefix choices in the payload the tree was read from.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(
            to_xml(&self.roots, Style::DIGEST).as_bytes(),
        ))
    }
}

pub(super) fn to_xml(roots: &Children, style: Style) -> String {
    let mut out = String::new();
    for (ident, node) in roots {
        let declare_nc = has_op(node);
        write_node(ident, node, "", 0, declare_nc, style, &mut out);
    }
    out
}

fn has_op(node: &Node) -> bool {
    node.op.is_some() || node.children.values().any(has_op)
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(&escape_attr(value));
    out.push('"');
}

fn write_node(
    ident: &Ident,
    node: &Node,
    parent_ns: &str,
    depth: usize,
    declare_nc: bool,
    style: Style,
    out: &mut String,
) {
    if style.pretty {
        out.extend(std::iter::repeat_n("  ", depth));
    }
    out.push('<');
    out.push_str(&node.name.name);
    if node.name.ns != parent_ns {
        attr(out, "xmlns", &node.name.ns);
    }
    let value_namespaces: &[(String, String)] = match &node.value {
        Some(value) if !style.canonical_values => &value.namespaces,
        _ => &[],
    };
    let mut declared: Vec<&str> = Vec::new();
    for (prefix, ns) in value_namespaces {
        if prefix != "xml" && prefix != "xmlns" && !declared.contains(&prefix.as_str()) {
            attr(out, &format!("xmlns:{prefix}"), ns);
            declared.push(prefix);
        }
    }
    // A value may bind `nc` itself; the operation then needs another prefix here.
    let value_nc = value_namespaces
        .iter()
        .find(|(p, _)| p == "nc")
        .map(|(_, ns)| ns == NETCONF_BASE_NS);
    if declare_nc && value_nc.is_none() {
        attr(out, "xmlns:nc", NETCONF_BASE_NS);
    }
    if let Some(op) = node.op {
        if value_nc == Some(false) {
            attr(out, "xmlns:ncop", NETCONF_BASE_NS);
            attr(out, "ncop:operation", op.as_str());
        } else {
            attr(out, "nc:operation", op.as_str());
        }
    }
    let text = match &node.value {
        Some(value) if style.canonical_values => value.canonical(),
        Some(value) => std::borrow::Cow::Borrowed(value.text.as_str()),
        None => std::borrow::Cow::Borrowed(""),
    };
    if node.children.is_empty() && text.is_empty() {
        out.push_str("/>");
    } else if node.children.is_empty() {
        out.push('>');
        out.push_str(&escape_text(&text));
        push_end(out, &node.name.name);
    } else {
        out.push('>');
        let keys: Vec<Ident> = ident.key_names().cloned().map(Ident::single).collect();
        let ordered = keys
            .iter()
            .filter_map(|k| node.children.get_key_value(k))
            .chain(node.children.iter().filter(|(id, _)| !keys.contains(id)));
        for (child_ident, child) in ordered {
            if style.pretty {
                out.push('\n');
            }
            write_node(
                child_ident,
                child,
                &node.name.ns,
                depth + 1,
                false,
                style,
                out,
            );
        }
        if style.pretty {
            out.push('\n');
            out.extend(std::iter::repeat_n("  ", depth));
        }
        push_end(out, &node.name.name);
    }
    if style.pretty && depth == 0 {
        out.push('\n');
    }
}

fn push_end(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}
