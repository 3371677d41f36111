//! Well-formedness check of rendered payloads and profile XML snippets.
//!
//! A template that renders broken XML must fail here, at render time with the template's
//! name, rather than as an rpc-error halfway through a network transaction.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Whether every element must be in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespaces {
    /// NETCONF configuration payloads: every element must resolve to a namespace.
    Required,
    /// Vendor RPC bodies (Junos `<get-interface-information/>`) may be unqualified.
    Optional,
}

/// The entities XML predefines; anything else would need a DTD.
const PREDEFINED: [&[u8]; 5] = [b"lt", b"gt", b"amp", b"apos", b"quot"];

/// Checks that `xml` is a sequence of one or more well-formed elements (a `<config>`
/// payload has several top-level elements), with no declaration, DTD or processing
/// instruction, no text outside elements, only predefined or character references, and
/// (with [`Namespaces::Required`]) every element namespaced.
pub fn check_payload(xml: &str, namespaces: Namespaces) -> Result<(), String> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut depth: usize = 0;
    let mut elements: usize = 0;
    loop {
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("at byte {position}: {e}"))?;
        let at = || format!("at byte {position}");
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if namespaces == Namespaces::Required
                    && !matches!(resolved, ResolveResult::Bound(_))
                {
                    return Err(format!(
                        "{}: element <{}> has no namespace",
                        at(),
                        String::from_utf8_lossy(start.name().as_ref())
                    ));
                }
                if let ResolveResult::Unknown(prefix) = resolved {
                    return Err(format!(
                        "{}: prefix `{}` is not declared",
                        at(),
                        String::from_utf8_lossy(&prefix)
                    ));
                }
                for attr in start.attributes().with_checks(true) {
                    let attr = attr.map_err(|e| format!("{}: {e}", at()))?;
                    attr.unescape_value()
                        .map_err(|e| format!("{}: attribute value: {e}", at()))?;
                }
                elements += 1;
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref text) => {
                if depth == 0 && !text.iter().all(u8::is_ascii_whitespace) {
                    return Err(format!("{}: text outside any element", at()));
                }
            }
            Event::CData(_) => {
                if depth == 0 {
                    return Err(format!("{}: CDATA outside any element", at()));
                }
            }
            Event::GeneralRef(ref reference) => {
                if depth == 0 {
                    return Err(format!("{}: reference outside any element", at()));
                }
                if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => {}
                        _ => return Err(format!("{}: invalid character reference", at())),
                    }
                } else if !PREDEFINED.contains(&reference.as_ref()) {
                    return Err(format!(
                        "{}: unknown entity `&{};`",
                        at(),
                        String::from_utf8_lossy(reference.as_ref())
                    ));
                }
            }
            Event::Comment(_) => {}
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {
                return Err(format!(
                    "{}: declarations, DTDs and processing instructions are not allowed",
                    at()
                ));
            }
            Event::Eof => break,
        }
    }
    if depth != 0 {
        return Err(format!("{depth} element(s) not closed at the end"));
    }
    if elements == 0 {
        return Err("no element".to_owned());
    }
    Ok(())
}

/// Characters XML 1.0 allows in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IETF: &str = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
  <interface><name>ge-0/0/1.5</name><description>a &lt;b&gt; &amp; &#233;</description></interface>
</interfaces>"#;

    #[test]
    fn accepts_namespaced_payloads() {
        check_payload(IETF, Namespaces::Required).unwrap();
        check_payload("<a xmlns='u'/><b xmlns='v'/>", Namespaces::Required).unwrap();
        check_payload(
            "<get-interface-information><detail/></get-interface-information>",
            Namespaces::Optional,
        )
        .unwrap();
    }

    #[test]
    fn rejects_broken_payloads() {
        for (bad, why) in [
            ("<a xmlns='u'><b></a>", "mismatched"),
            ("<a xmlns='u'>", "not closed"),
            ("</a>", "unmatched"),
            ("<a/>", "no namespace"),
            ("<x:a xmlns='u'/>", "prefix"),
            ("text<a xmlns='u'/>", "outside"),
            ("<a xmlns='u'>&nbsp;</a>", "entity"),
            ("<a xmlns='u'>&#0;</a>", "character"),
            ("<?xml version='1.0'?><a xmlns='u'/>", "declaration"),
            ("<!DOCTYPE a><a xmlns='u'/>", "DTD"),
            ("<a xmlns='u' b='1' b='2'/>", "duplicate"),
            ("", "no element"),
            ("<a xmlns='u'><!-- x -- y --></a>", "comment"),
        ] {
            assert!(
                check_payload(bad, Namespaces::Required).is_err(),
                "{why}: {bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = check_payload(&text, Namespaces::Required);
        }

        #[test]
        fn never_panics_on_tag_soup(parts in proptest::collection::vec(
            prop_oneof![
                Just("<a xmlns='u'>"), Just("</a>"), Just("<b/>"), Just("&amp;"), Just("&#x"),
                Just("<!--"), Just("-->"), Just("<![CDATA["), Just("]]>"), Just("x"), Just("'"),
            ], 0..20)) {
            let _ = check_payload(&parts.concat(), Namespaces::Required);
        }
    }
}
