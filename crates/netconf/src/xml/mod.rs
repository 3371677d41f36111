//! A small namespace-aware XML layer for NETCONF: a size-limited parser into a plain element
//! tree ([`Element`]), escaping helpers, and a writer that emits self-contained XML (every
//! namespace the output needs is declared in it).
//!
//! NETCONF content is data, not documents: mixed content, DTDs and entities beyond the five
//! predefined ones have no place in it, so the parser rejects DTDs and unknown entities and
//! ignores comments and processing instructions.

mod dom;
mod escape;
mod write;

pub use dom::{Attribute, Element, parse_document, parse_fragment};
pub use escape::{check_xml_chars, escape_attr, escape_text};
pub use write::write_element;

/// The NETCONF base namespace (RFC 6241), also the namespace of the `operation` attribute.
pub const NETCONF_BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// The namespace bound to the reserved `xml` prefix (`xml:lang`).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Bounds applied while parsing untrusted XML. Every limit turns into an error, never into
/// unbounded memory or recursion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest accepted input in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting.
    pub max_depth: usize,
    /// Most elements in one input.
    pub max_elements: usize,
    /// Longest element name, prefix or namespace URI in bytes.
    pub max_name_len: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
}

impl Default for XmlLimits {
    /// 32 MiB, depth 64, 500 000 elements, names up to 1 KiB, 64 attributes per element.
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 64,
            max_elements: 500_000,
            max_name_len: 1024,
            max_attributes: 64,
        }
    }
}

/// Why an XML input was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The input is larger than [`XmlLimits::max_bytes`].
    #[error("XML input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Elements nest deeper than [`XmlLimits::max_depth`].
    #[error("XML nesting deeper than {limit} elements")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// More elements than [`XmlLimits::max_elements`].
    #[error("XML input has more than {limit} elements")]
    TooManyElements {
        /// The element limit.
        limit: usize,
    },
    /// A name, prefix or namespace URI longer than [`XmlLimits::max_name_len`].
    #[error("XML name or namespace longer than {limit} bytes")]
    NameTooLong {
        /// The length limit in bytes.
        limit: usize,
    },
    /// More attributes on one element than [`XmlLimits::max_attributes`].
    #[error("XML element <{element}> has more than {limit} attributes")]
    TooManyAttributes {
        /// Local name of the element.
        element: String,
        /// The attribute limit.
        limit: usize,
    },
    /// The input is not well-formed XML.
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset where the problem was detected.
        position: u64,
        /// What the XML reader reported.
        message: String,
    },
    /// A prefix is used without a namespace declaration in scope.
    #[error("undeclared namespace prefix '{prefix}'")]
    UnknownPrefix {
        /// The prefix.
        prefix: String,
    },
    /// A `<!DOCTYPE>` declaration: DTDs are not accepted in NETCONF content.
    #[error("DTDs are not allowed in NETCONF content")]
    Doctype,
    /// An entity reference other than the five predefined ones or a character reference.
    #[error("unknown entity '&{name};'")]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// Text found outside any element.
    #[error("text outside of any element")]
    TextOutsideElement,
    /// A document was expected to have exactly one root element.
    #[error("expected exactly one root element, found {found}")]
    RootCount {
        /// How many top-level elements were found.
        found: usize,
    },
    /// A processing instruction or XML declaration where only elements are allowed.
    #[error("XML declarations and processing instructions are not allowed here")]
    Declaration,
}
