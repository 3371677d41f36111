//! Writing [`Element`] trees back as self-contained XML.

use super::{Element, XML_NS, escape_attr, escape_text};

/// Appends `element` to `out`. `parent_ns` is the default namespace in effect where the element
/// is written; a default namespace declaration is emitted whenever the element's namespace
/// differs. Prefixes used by attributes and by the text are declared on the element itself.
pub fn write_element(element: &Element, parent_ns: &str, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    if *element.ns != *parent_ns {
        push_attr(out, "xmlns", &element.ns);
    }
    let mut declared: Vec<(String, &str)> = Vec::new();
    for (prefix, ns) in &element.text_namespaces {
        if prefix != "xml" && prefix != "xmlns" && !declared.iter().any(|(p, _)| p == prefix) {
            push_attr(out, &format!("xmlns:{prefix}"), ns);
            declared.push((prefix.clone(), ns));
        }
    }
    for attribute in &element.attributes {
        let name = if attribute.ns.is_empty() {
            attribute.name.clone()
        } else if attribute.ns == XML_NS {
            format!("xml:{}", attribute.name)
        } else {
            let prefix = attribute_prefix(&attribute.prefix, &attribute.ns, &declared);
            if !declared
                .iter()
                .any(|(p, ns)| *p == prefix && *ns == attribute.ns)
            {
                push_attr(out, &format!("xmlns:{prefix}"), &attribute.ns);
                declared.push((prefix.clone(), &attribute.ns));
            }
            format!("{prefix}:{}", attribute.name)
        };
        push_attr(out, &name, &attribute.value);
    }
    let text = if element.children.is_empty() || !element.text.trim().is_empty() {
        element.text.as_str()
    } else {
        ""
    };
    if element.children.is_empty() && text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    out.push_str(&escape_text(text));
    for child in &element.children {
        write_element(child, &element.ns, out);
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// The prefix to write an attribute of namespace `ns` with: the one it had, unless that is
/// unusable or already bound to another namespace on this element.
fn attribute_prefix(original: &str, ns: &str, declared: &[(String, &str)]) -> String {
    let free = |p: &str| !declared.iter().any(|(d, dns)| d == p && *dns != ns);
    if !original.is_empty() && original != "xml" && original != "xmlns" && free(original) {
        return original.to_owned();
    }
    (1..)
        .map(|n| format!("a{n}"))
        .find(|p| free(p))
        .unwrap_or_default()
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(&escape_attr(value));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::{XmlLimits, parse_document};

    #[test]
    fn moved_elements_stay_meaningful() {
        let doc = r#"<r xmlns="urn:r" xmlns:p="urn:p" xmlns:ianaift="urn:iana"><x p:a="1" xml:lang="en"><type>ianaift:eth</type></x></r>"#;
        let root = parse_document(doc, &XmlLimits::default()).unwrap();
        let x = root.children[0].to_xml();
        assert_eq!(
            x,
            r#"<x xmlns="urn:r" xmlns:p="urn:p" p:a="1" xml:lang="en"><type xmlns:ianaift="urn:iana">ianaift:eth</type></x>"#
        );
        let again = parse_document(&x, &XmlLimits::default()).unwrap();
        assert_eq!(again, root.children[0]);
    }

    #[test]
    fn unqualified_child_of_namespaced_parent_resets_default() {
        let root = parse_document(
            r#"<a xmlns="urn:a"><b xmlns=""/></a>"#,
            &XmlLimits::default(),
        )
        .unwrap();
        assert_eq!(root.to_xml(), r#"<a xmlns="urn:a"><b xmlns=""/></a>"#);
    }
}
