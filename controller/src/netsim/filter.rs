//! Subtree filtering (RFC 6241 §6) of the data a `<get>` or `<get-config>` returns.
//!
//! Supported: namespace selection (a filter element without a namespace matches any),
//! containment nodes, selection nodes (empty elements) and content match nodes (leaves with
//! text), at any depth. Attribute match expressions are not supported and are ignored.

use crate::southbound::xml::Element;

/// The parts of `data` (top-level elements) that `filter` (the children of `<filter>`)
/// selects. An empty filter selects nothing, as RFC 6241 §6.4.2 says.
pub fn apply(data: &[Element], filter: &[Element]) -> Vec<Element> {
    select_siblings(data, filter)
}

/// Filters a sibling set `data` by the filter sibling set `filter`.
fn select_siblings(data: &[Element], filter: &[Element]) -> Vec<Element> {
    let mut out = Vec::new();
    for item in data {
        let mut merged: Option<Element> = None;
        for f in filter.iter().filter(|f| same_name(f, item)) {
            if let Some(selected) = select_element(item, f) {
                merged = Some(match merged {
                    None => selected,
                    Some(mut previous) => {
                        merge_children(&mut previous, selected);
                        previous
                    }
                });
            }
        }
        if let Some(selected) = merged {
            out.push(selected);
        }
    }
    out
}

/// Applies one filter element to one data element of the same name.
fn select_element(item: &Element, f: &Element) -> Option<Element> {
    // A content match node at this level compares the leaf's value.
    if f.children.is_empty() {
        let wanted = f.text.trim();
        return if wanted.is_empty() || item.text.trim() == wanted {
            Some(item.clone())
        } else {
            None
        };
    }
    let (matches, others): (Vec<&Element>, Vec<&Element>) = f
        .children
        .iter()
        .partition(|c| c.children.is_empty() && !c.text.trim().is_empty());
    for m in &matches {
        let found = item
            .children
            .iter()
            .any(|c| same_name(m, c) && c.text.trim() == m.text.trim());
        if !found {
            return None;
        }
    }
    if others.is_empty() {
        // Only content match nodes: the whole entry is selected.
        return Some(item.clone());
    }
    let mut result = shallow(item);
    for child in &item.children {
        if matches.iter().any(|m| same_name(m, child)) {
            result.children.push(child.clone());
        }
    }
    let others: Vec<Element> = others.into_iter().cloned().collect();
    let selected = select_siblings(&item.children, &others);
    if selected.is_empty() && matches.is_empty() {
        return None;
    }
    for child in selected {
        if !result
            .children
            .iter()
            .any(|c| same_name(c, &child) && c == &child)
        {
            result.children.push(child);
        }
    }
    Some(result)
}

fn same_name(filter: &Element, item: &Element) -> bool {
    filter.name == item.name && (filter.ns.is_empty() || filter.ns == item.ns)
}

fn shallow(item: &Element) -> Element {
    Element {
        ns: item.ns.clone(),
        name: item.name.clone(),
        attributes: item.attributes.clone(),
        children: Vec::new(),
        text: String::new(),
        text_namespaces: item.text_namespaces.clone(),
    }
}

fn merge_children(into: &mut Element, from: Element) {
    for child in from.children {
        if !into.children.contains(&child) {
            into.children.push(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::southbound::xml::{XmlLimits, parse_fragment};

    fn parse(xml: &str) -> Vec<Element> {
        parse_fragment(xml, &XmlLimits::default()).unwrap()
    }

    fn render(elements: &[Element]) -> String {
        elements.iter().map(Element::to_xml).collect()
    }

    const DATA: &str = r#"<interfaces xmlns="urn:if"><interface><name>a</name><enabled>true</enabled><description>x</description></interface><interface><name>b</name><enabled>false</enabled></interface></interfaces><system xmlns="urn:sys"><hostname>r1</hostname></system>"#;

    #[test]
    fn top_level_selection() {
        let out = apply(&parse(DATA), &parse(r#"<interfaces xmlns="urn:if"/>"#));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].children.len(), 2);
        assert!(apply(&parse(DATA), &parse(r#"<interfaces xmlns="urn:other"/>"#)).is_empty());
        assert!(apply(&parse(DATA), &[]).is_empty());
        let both = apply(
            &parse(DATA),
            &parse(r#"<interfaces xmlns="urn:if"/><system xmlns="urn:sys"/>"#),
        );
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn content_match_selects_entries() {
        let filter = parse(
            r#"<interfaces xmlns="urn:if"><interface><name>b</name></interface></interfaces>"#,
        );
        let out = render(&apply(&parse(DATA), &filter));
        assert_eq!(
            out,
            r#"<interfaces xmlns="urn:if"><interface><name>b</name><enabled>false</enabled></interface></interfaces>"#
        );
    }

    #[test]
    fn selection_nodes_pick_leaves() {
        let filter = parse(
            r#"<interfaces xmlns="urn:if"><interface><name/><description/></interface></interfaces>"#,
        );
        let out = render(&apply(&parse(DATA), &filter));
        assert_eq!(
            out,
            r#"<interfaces xmlns="urn:if"><interface><name>a</name><description>x</description></interface><interface><name>b</name></interface></interfaces>"#
        );
        let filter = parse(
            r#"<interfaces xmlns="urn:if"><interface><name>a</name><enabled/></interface></interfaces>"#,
        );
        let out = render(&apply(&parse(DATA), &filter));
        assert_eq!(
            out,
            r#"<interfaces xmlns="urn:if"><interface><name>a</name><enabled>true</enabled></interface></interfaces>"#
        );
    }

    #[test]
    fn no_match_returns_nothing() {
        let filter = parse(
            r#"<interfaces xmlns="urn:if"><interface><name>zz</name></interface></interfaces>"#,
        );
        assert!(apply(&parse(DATA), &filter).is_empty());
    }
}
