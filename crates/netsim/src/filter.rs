//! Subtree filtering (RFC 6241 §6) of the data a `<get>` or `<get-config>` returns.
//!
//! Supported: namespace selection (a filter element without a namespace matches any),
//! containment nodes, selection nodes (empty elements) and content match nodes (leaves with
//! text), at any depth. Attribute match expressions are not supported and are ignored.

use std::collections::HashMap;

use ferrule_netconf::xml::Element;

/// The parts of `data` (top-level elements) that `filter` (the children of `<filter>`)
/// selects. An empty filter selects nothing, as RFC 6241 §6.4.2 says.
pub fn apply(data: &[Element], filter: &[Element]) -> Vec<Element> {
    let filter: Vec<&Element> = filter.iter().collect();
    select_siblings(data, &filter)
}

/// Filters a sibling set `data` by the filter sibling set `filter`.
fn select_siblings(data: &[Element], filter: &[&Element]) -> Vec<Element> {
    let index = Candidates::new(filter);
    let mut out = Vec::new();
    for item in data {
        let mut merged: Option<Element> = None;
        for f in index.of(item).filter(|f| same_name(f, item)) {
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

/// The filter elements of one sibling set that can select a data element, found without
/// trying every one of them: a filter of many list entries told apart by a key (a drift check
/// reading back every owned entry) would otherwise cost entries times filters.
struct Candidates<'f> {
    filter: &'f [&'f Element],
    /// Filter elements without a content match node among their children: always tried.
    always: Vec<usize>,
    /// The others, by local name and value of their first content match node: an element
    /// can only be selected by them when it has a child with that name and value.
    by_match: HashMap<(&'f str, &'f str), Vec<usize>>,
}

// === impl Candidates ===

impl<'f> Candidates<'f> {
    fn new(filter: &'f [&'f Element]) -> Self {
        let mut always = Vec::new();
        let mut by_match: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, f) in filter.iter().enumerate() {
            match f.children.iter().find(|c| is_content_match(c)) {
                Some(m) => by_match
                    .entry((m.name.as_str(), m.text.trim()))
                    .or_default()
                    .push(i),
                None => always.push(i),
            }
        }
        Self {
            filter,
            always,
            by_match,
        }
    }

    /// The filter elements that may select `item`, in filter order.
    fn of(&self, item: &Element) -> impl Iterator<Item = &'f Element> + use<'f> {
        let mut found = self.always.clone();
        if !self.by_match.is_empty() {
            for child in &item.children {
                if let Some(more) = self.by_match.get(&(child.name.as_str(), child.text.trim())) {
                    found.extend_from_slice(more);
                }
            }
            found.sort_unstable();
            found.dedup();
        }
        let filter = self.filter;
        found.into_iter().map(move |i| filter[i])
    }
}

/// A leaf of a filter with a value to compare (RFC 6241 §6.2.5).
fn is_content_match(f: &Element) -> bool {
    f.children.is_empty() && !f.text.trim().is_empty()
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
    let (matches, others): (Vec<&Element>, Vec<&Element>) =
        f.children.iter().partition(|c| is_content_match(c));
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
    use ferrule_netconf::xml::{XmlLimits, parse_fragment};

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

    /// The same selection trying every filter element on every data element, at every level:
    /// what the index must agree with.
    fn apply_trying_all(data: &[Element], filter: &[Element]) -> Vec<Element> {
        let mut out = Vec::new();
        for item in data {
            let mut merged: Option<Element> = None;
            for f in filter.iter().filter(|f| same_name(f, item)) {
                if let Some(selected) = element_trying_all(item, f) {
                    match &mut merged {
                        None => merged = Some(selected),
                        Some(previous) => merge_children(previous, selected),
                    }
                }
            }
            out.extend(merged);
        }
        out
    }

    fn element_trying_all(item: &Element, f: &Element) -> Option<Element> {
        if f.children.is_empty() {
            let wanted = f.text.trim();
            return (wanted.is_empty() || item.text.trim() == wanted).then(|| item.clone());
        }
        let (matches, others): (Vec<Element>, Vec<Element>) =
            f.children.iter().cloned().partition(is_content_match);
        let found = |m: &Element| {
            item.children
                .iter()
                .any(|c| same_name(m, c) && c.text.trim() == m.text.trim())
        };
        if !matches.iter().all(found) {
            return None;
        }
        if others.is_empty() {
            return Some(item.clone());
        }
        let mut result = shallow(item);
        for child in &item.children {
            if matches.iter().any(|m| same_name(m, child)) {
                result.children.push(child.clone());
            }
        }
        let selected = apply_trying_all(&item.children, &others);
        if selected.is_empty() && matches.is_empty() {
            return None;
        }
        for child in selected {
            if !result.children.contains(&child) {
                result.children.push(child);
            }
        }
        Some(result)
    }

    #[test]
    fn many_keyed_entries_select_each_their_own() {
        let entries: String = (0..300)
            .map(|i| format!("<interface><name>e{i}</name><enabled>true</enabled></interface>"))
            .collect();
        let data = parse(&format!(
            "<interfaces xmlns=\"urn:if\">{entries}</interfaces>"
        ));
        let wanted: String = (0..300)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("<interface><name>e{i}</name></interface>"))
            .collect();
        let filter = parse(&format!(
            "<interfaces xmlns=\"urn:if\">{wanted}<interface><name> e1 </name><enabled/></interface></interfaces>"
        ));
        let out = apply(&data, &filter);
        assert_eq!(out[0].children.len(), 101);
        assert_eq!(render(&out), render(&apply_trying_all(&data, &filter)));
    }

    proptest::proptest! {
        #[test]
        fn the_index_selects_what_trying_every_filter_selects(
            data in "(<a xmlns=\"urn:x\">(<e><k>[a-c]</k>(<v>[a-c]</v>)?(<w> [a-c]</w>)?</e>|<b>[a-c]{0,2}</b>){0,6}</a>){0,2}",
            filter in "(<a( xmlns=\"urn:(x|y)\")?>(<e><k>[a-c] ?</k>(<v>[a-c]</v>)?(<w/>)?</e>|<e><v>[a-c]</v><w/></e>|<b>[a-c]</b>){1,5}</a>){0,2}",
        ) {
            let data = parse(&data);
            let filter = parse(&filter);
            proptest::prop_assert_eq!(
                render(&apply(&data, &filter)),
                render(&apply_trying_all(&data, &filter))
            );
        }
    }

    #[test]
    fn no_match_returns_nothing() {
        let filter = parse(
            r#"<interfaces xmlns="urn:if"><interface><name>zz</name></interface></interfaces>"#,
        );
        assert!(apply(&parse(DATA), &filter).is_empty());
    }
}
