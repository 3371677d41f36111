//! Parsing XML into a plain, namespace-resolved element tree.

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{XML_NS, XmlError, XmlLimits};

/// Most prefix bindings recorded for the text of one element.
const MAX_TEXT_NAMESPACES: usize = 16;

/// One XML element with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI; empty when the element is in no namespace.
    pub ns: Arc<str>,
    /// Local name.
    pub name: String,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Character data directly inside the element (entities resolved, not trimmed). Dropped
    /// when it is only whitespace between child elements.
    pub text: String,
    /// Prefix bindings in scope that the text uses as `prefix:...`, e.g. the `ianaift` of an
    /// identityref value `ianaift:ethernetCsmacd`, or the prefixes of an XPath in
    /// `<error-path>`. Keeping them makes such values meaningful once the element is moved.
    pub text_namespaces: Vec<(String, String)>,
}

/// One attribute with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI; empty for unprefixed attributes.
    pub ns: String,
    /// The prefix used in the input (empty for unprefixed attributes).
    pub prefix: String,
    /// Local name.
    pub name: String,
    /// Value with entities resolved.
    pub value: String,
}

// === impl Element ===

impl Element {
    /// Whether the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        &*self.ns == ns && self.name == name
    }

    /// The first child `{ns}name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The trimmed text of the first child `{ns}name`.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name).map(|c| c.text.trim())
    }

    /// The value of the attribute `{ns}name` (`ns` empty for unprefixed attributes).
    pub fn attribute(&self, ns: &str, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// This element as self-contained XML: namespaces are declared where needed, whitespace
    /// between children is not reproduced.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        super::write_element(self, "", &mut out);
        out
    }
}

/// Parses a document with exactly one root element (an XML declaration may precede it).
pub fn parse_document(input: &str, limits: &XmlLimits) -> Result<Element, XmlError> {
    let mut roots = Parser::new(limits).run(input, true)?;
    match (roots.pop(), roots.len()) {
        (Some(root), 0) => Ok(root),
        (root, rest) => Err(XmlError::RootCount {
            found: rest + usize::from(root.is_some()),
        }),
    }
}

/// Parses a fragment: any number of top-level elements, such as the content of `<config>`.
/// XML declarations and processing instructions are refused, so the fragment can be embedded
/// in a larger message as it is.
pub fn parse_fragment(input: &str, limits: &XmlLimits) -> Result<Vec<Element>, XmlError> {
    Parser::new(limits).run(input, false)
}

struct Parser<'l> {
    limits: &'l XmlLimits,
    /// Prefix bindings in scope, innermost last; the default namespace has prefix "".
    scope: Vec<(String, Arc<str>)>,
    /// Length of `scope` before each open element.
    marks: Vec<usize>,
    interned: HashMap<String, Arc<str>>,
    open: Vec<Element>,
    roots: Vec<Element>,
    elements: usize,
}

impl<'l> Parser<'l> {
    fn new(limits: &'l XmlLimits) -> Self {
        Self {
            limits,
            scope: Vec::new(),
            marks: Vec::new(),
            interned: HashMap::new(),
            open: Vec::new(),
            roots: Vec::new(),
            elements: 0,
        }
    }

    fn run(mut self, input: &str, document: bool) -> Result<Vec<Element>, XmlError> {
        if input.len() > self.limits.max_bytes {
            return Err(XmlError::TooLarge {
                size: input.len(),
                limit: self.limits.max_bytes,
            });
        }
        let mut reader = Reader::from_str(input);
        let malformed = |reader: &Reader<&[u8]>, err: &dyn std::fmt::Display| XmlError::Malformed {
            position: reader.error_position(),
            message: err.to_string(),
        };
        loop {
            let event = reader.read_event().map_err(|e| malformed(&reader, &e))?;
            match event {
                Event::Start(start) => self.open_element(&start)?,
                Event::Empty(start) => {
                    self.open_element(&start)?;
                    self.close_element();
                }
                Event::End(_) => self.close_element(),
                Event::Text(text) => {
                    let text = text.xml10_content().map_err(|e| malformed(&reader, &e))?;
                    self.text(&text)?;
                }
                Event::CData(data) => {
                    let data = data.xml10_content().map_err(|e| malformed(&reader, &e))?;
                    self.text(&data)?;
                }
                Event::GeneralRef(reference) => {
                    if let Some(c) = reference
                        .resolve_char_ref()
                        .map_err(|e| malformed(&reader, &e))?
                    {
                        self.text(c.encode_utf8(&mut [0; 4]))?;
                    } else {
                        let name = reference.decode().map_err(|e| malformed(&reader, &e))?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(value) => self.text(value)?,
                            None => {
                                return Err(XmlError::UnknownEntity {
                                    name: name.into_owned(),
                                });
                            }
                        }
                    }
                }
                Event::Comment(_) => {}
                Event::Decl(_) | Event::PI(_) if !document => return Err(XmlError::Declaration),
                Event::Decl(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::Eof => break,
            }
        }
        if let Some(open) = self.open.last() {
            return Err(XmlError::Malformed {
                position: input.len() as u64,
                message: format!("input ends inside <{}>", open.name),
            });
        }
        Ok(self.roots)
    }

    fn open_element(&mut self, start: &BytesStart<'_>) -> Result<(), XmlError> {
        let limits = self.limits;
        if self.open.len() >= limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: limits.max_depth,
            });
        }
        self.elements += 1;
        if self.elements > limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: limits.max_elements,
            });
        }
        let start_name = start.name();
        let qname = utf8(start_name.as_ref())?;
        let (prefix, local) = split_qname(qname);
        let malformed = |message: String| XmlError::Malformed {
            position: 0,
            message,
        };

        // Namespace declarations first: they apply to the element's own name and attributes.
        self.marks.push(self.scope.len());
        let mut raw_attributes = Vec::new();
        for (count, attribute) in start.attributes().enumerate() {
            if count >= limits.max_attributes {
                return Err(XmlError::TooManyAttributes {
                    element: local.to_owned(),
                    limit: limits.max_attributes,
                });
            }
            let attribute = attribute.map_err(|e| malformed(e.to_string()))?;
            let key = utf8(attribute.key.as_ref())?.to_owned();
            let value = attribute
                .unescape_value()
                .map_err(|e| malformed(e.to_string()))?
                .into_owned();
            if key == "xmlns" {
                self.declare("", &value)?;
            } else if let Some(declared) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(malformed(format!(
                        "prefix '{declared}' bound to an empty namespace"
                    )));
                }
                self.declare(declared, &value)?;
            } else {
                raw_attributes.push((key, value));
            }
        }

        self.check_name(local)?;
        let ns = match prefix {
            Some(prefix) => self.lookup(prefix)?,
            None => self.default_ns(),
        };
        let mut attributes = Vec::with_capacity(raw_attributes.len());
        for (key, value) in raw_attributes {
            let (prefix, name) = split_qname(&key);
            let ns = match prefix {
                Some(prefix) => self.lookup(prefix)?.to_string(),
                None => String::new(),
            };
            attributes.push(Attribute {
                ns,
                prefix: prefix.unwrap_or_default().to_owned(),
                name: name.to_owned(),
                value,
            });
        }
        self.open.push(Element {
            ns,
            name: local.to_owned(),
            attributes,
            children: Vec::new(),
            text: String::new(),
            text_namespaces: Vec::new(),
        });
        Ok(())
    }

    fn close_element(&mut self) {
        // quick-xml checks that end tags match, so an End always has an open element.
        let Some(mut element) = self.open.pop() else {
            return;
        };
        if !element.children.is_empty() && element.text.trim().is_empty() {
            element.text = String::new();
        }
        if element.text.contains(':') {
            element.text_namespaces = self.text_namespaces(&element.text);
        }
        if let Some(mark) = self.marks.pop() {
            self.scope.truncate(mark);
        }
        match self.open.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.roots.push(element),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), XmlError> {
        match self.open.last_mut() {
            Some(element) => {
                element.text.push_str(text);
                Ok(())
            }
            None if text.trim().is_empty() => Ok(()),
            None => Err(XmlError::TextOutsideElement),
        }
    }

    fn declare(&mut self, prefix: &str, ns: &str) -> Result<(), XmlError> {
        self.check_name(prefix)?;
        self.check_name(ns)?;
        let ns = match self.interned.get(ns) {
            Some(ns) => ns.clone(),
            None => {
                let interned: Arc<str> = Arc::from(ns);
                self.interned.insert(ns.to_owned(), interned.clone());
                interned
            }
        };
        self.scope.push((prefix.to_owned(), ns));
        Ok(())
    }

    fn check_name(&self, name: &str) -> Result<(), XmlError> {
        if name.len() > self.limits.max_name_len {
            return Err(XmlError::NameTooLong {
                limit: self.limits.max_name_len,
            });
        }
        Ok(())
    }

    fn find(&self, prefix: &str) -> Option<Arc<str>> {
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.clone())
    }

    fn default_ns(&self) -> Arc<str> {
        self.find("").unwrap_or_else(|| Arc::from(""))
    }

    fn lookup(&self, prefix: &str) -> Result<Arc<str>, XmlError> {
        if prefix == "xml" {
            return Ok(Arc::from(XML_NS));
        }
        self.find(prefix).ok_or_else(|| XmlError::UnknownPrefix {
            prefix: prefix.to_owned(),
        })
    }

    /// Bindings in scope for every `prefix:` token of `text`.
    fn text_namespaces(&self, text: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        for prefix in prefix_tokens(text) {
            if found.len() >= MAX_TEXT_NAMESPACES {
                break;
            }
            if prefix == "xml" || prefix == "xmlns" || found.iter().any(|(p, _)| p == prefix) {
                continue;
            }
            if let Some(ns) = self.find(prefix) {
                found.push((prefix.to_owned(), ns.to_string()));
            }
        }
        found
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(bytes).map_err(|e| XmlError::Malformed {
        position: 0,
        message: e.to_string(),
    })
}

fn split_qname(qname: &str) -> (Option<&str>, &str) {
    match qname.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, qname),
    }
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Every maximal NCName directly followed by ':' in `text`.
pub(crate) fn prefix_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(':').filter_map(move |(colon, _)| {
        let before = &text[..colon];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_name_char(*c))
            .last()
            .map(|(i, _)| i)?;
        let token = &before[start..];
        token
            .chars()
            .next()
            .filter(|c| is_name_start(*c))
            .map(|_| token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> XmlLimits {
        XmlLimits::default()
    }

    #[test]
    fn resolves_default_and_prefixed_namespaces() {
        let root = parse_document(
            r#"<?xml version="1.0"?><a:x xmlns:a="urn:a" xmlns="urn:d"><y a:k="v" z="w">t &amp; &#65;</y></a:x>"#,
            &limits(),
        )
        .unwrap();
        assert!(root.is("urn:a", "x"));
        let y = &root.children[0];
        assert!(y.is("urn:d", "y"));
        assert_eq!(y.text, "t & A");
        assert_eq!(y.attribute("urn:a", "k"), Some("v"));
        assert_eq!(y.attribute("", "z"), Some("w"));
    }

    #[test]
    fn records_prefixes_used_in_text() {
        let root = parse_document(
            r#"<type xmlns="urn:if" xmlns:ianaift="urn:iana">ianaift:ethernetCsmacd</type>"#,
            &limits(),
        )
        .unwrap();
        assert_eq!(
            root.text_namespaces,
            vec![("ianaift".to_owned(), "urn:iana".to_owned())]
        );
        let root = parse_document(r#"<d xmlns="urn:x">10:20 and foo:bar</d>"#, &limits()).unwrap();
        assert!(root.text_namespaces.is_empty());
    }

    #[test]
    fn rejects_bad_input() {
        let l = limits();
        assert!(matches!(
            parse_document("<a><b></a>", &l),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse_document("<p:a/>", &l),
            Err(XmlError::UnknownPrefix { .. })
        ));
        assert!(matches!(
            parse_document("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", &l),
            Err(XmlError::Doctype)
        ));
        assert!(matches!(
            parse_document("<a>&x;</a>", &l),
            Err(XmlError::UnknownEntity { .. })
        ));
        assert!(matches!(
            parse_document("<a/><b/>", &l),
            Err(XmlError::RootCount { found: 2 })
        ));
        assert!(matches!(
            parse_document("<a>", &l),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse_document("x<a/>", &l),
            Err(XmlError::TextOutsideElement)
        ));
        assert!(matches!(
            parse_fragment("<?xml version=\"1.0\"?><a/>", &l),
            Err(XmlError::Declaration)
        ));
        assert!(matches!(
            parse_document("<a x='1' x='2'/>", &l),
            Err(XmlError::Malformed { .. })
        ));
    }

    #[test]
    fn limits_hold() {
        let tight = XmlLimits {
            max_bytes: 100,
            max_depth: 3,
            max_elements: 4,
            max_name_len: 8,
            max_attributes: 2,
        };
        assert!(matches!(
            parse_document(&"<a/>".repeat(30), &tight),
            Err(XmlError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_document("<a><a><a><a/></a></a></a>", &tight),
            Err(XmlError::TooDeep { limit: 3 })
        ));
        assert!(matches!(
            parse_fragment("<a/><a/><a/><a/><a/>", &tight),
            Err(XmlError::TooManyElements { limit: 4 })
        ));
        assert!(matches!(
            parse_document("<abcdefghij/>", &tight),
            Err(XmlError::NameTooLong { .. })
        ));
        assert!(matches!(
            parse_document("<a x='1' y='2' z='3'/>", &tight),
            Err(XmlError::TooManyAttributes { .. })
        ));
    }

    #[test]
    fn whitespace_between_children_is_dropped() {
        let root = parse_document("<a>\n  <b> x </b>\n</a>", &limits()).unwrap();
        assert_eq!(root.text, "");
        assert_eq!(root.children[0].text, " x ");
    }
}
