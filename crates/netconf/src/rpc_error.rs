//! `<rpc-error>` (RFC 6241 section 4.3) as a typed value, the way users get to see it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tree::{DataPath, PrefixMap};
use super::xml::{self, Element, NETCONF_BASE_NS, XML_NS, escape_attr, escape_text};

/// The layer an error comes from (`error-type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorType {
    /// Secure transport layer.
    Transport,
    /// Messages layer.
    Rpc,
    /// Operations layer.
    Protocol,
    /// Content layer.
    Application,
    /// A value outside RFC 6241, kept verbatim (empty when the server left it out).
    Other(String),
}

/// The error condition (`error-tag`, RFC 6241 Appendix A).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[allow(missing_docs)] // The variants are the RFC tags, spelled out by `as_str`.
pub enum ErrorTag {
    InUse,
    InvalidValue,
    TooBig,
    MissingAttribute,
    BadAttribute,
    UnknownAttribute,
    MissingElement,
    BadElement,
    UnknownElement,
    UnknownNamespace,
    AccessDenied,
    LockDenied,
    ResourceDenied,
    RollbackFailed,
    DataExists,
    DataMissing,
    OperationNotSupported,
    OperationFailed,
    PartialOperation,
    MalformedMessage,
    /// A tag outside RFC 6241, kept verbatim (empty when the server left it out).
    Other(String),
}

/// `error-severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorSeverity {
    /// The operation failed.
    Error,
    /// The operation went through; the server reports something worth knowing.
    Warning,
    /// A value outside RFC 6241, treated as an error.
    Other(String),
}

/// `error-message` with its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// The message text, trimmed.
    pub text: String,
    /// The `xml:lang` attribute, if present.
    pub lang: Option<String>,
}

/// `error-info`: the raw content plus the RFC 6241 fields extracted from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// The content of `<error-info>` as self-contained XML (namespaces declared where used).
    pub xml: String,
    /// `session-id`: the session holding a lock (`lock-denied`, `in-use`); 0 when a
    /// non-NETCONF entity holds it.
    pub session_id: Option<u32>,
    /// `bad-element`: the element at fault, verbatim (may carry a prefix such as `nc:bogus`).
    pub bad_element: Option<String>,
    /// `bad-attribute`.
    pub bad_attribute: Option<String>,
    /// `bad-namespace`.
    pub bad_namespace: Option<String>,
}

/// One `<rpc-error>` of a reply. Serialised (camelCase) for transaction records and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcError {
    /// `error-type`.
    pub error_type: ErrorType,
    /// `error-tag`.
    pub error_tag: ErrorTag,
    /// `error-severity`.
    pub error_severity: ErrorSeverity,
    /// `error-app-tag`.
    pub error_app_tag: Option<String>,
    /// `error-path`: an XPath into the request or the datastore, verbatim.
    pub error_path: Option<String>,
    /// Prefix bindings the `error-path` uses (they are usually declared on `<rpc-reply>`).
    pub error_path_namespaces: Vec<(String, String)>,
    /// `error-message`.
    pub error_message: Option<ErrorMessage>,
    /// `error-info`.
    pub error_info: Option<ErrorInfo>,
}

// === impl ErrorType / ErrorTag / ErrorSeverity ===

impl ErrorType {
    /// Reads the RFC spelling; anything else is kept in [`ErrorType::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "transport" => Self::Transport,
            "rpc" => Self::Rpc,
            "protocol" => Self::Protocol,
            "application" => Self::Application,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The RFC spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Transport => "transport",
            Self::Rpc => "rpc",
            Self::Protocol => "protocol",
            Self::Application => "application",
            Self::Other(s) => s,
        }
    }
}

const TAGS: [(ErrorTag, &str); 20] = [
    (ErrorTag::InUse, "in-use"),
    (ErrorTag::InvalidValue, "invalid-value"),
    (ErrorTag::TooBig, "too-big"),
    (ErrorTag::MissingAttribute, "missing-attribute"),
    (ErrorTag::BadAttribute, "bad-attribute"),
    (ErrorTag::UnknownAttribute, "unknown-attribute"),
    (ErrorTag::MissingElement, "missing-element"),
    (ErrorTag::BadElement, "bad-element"),
    (ErrorTag::UnknownElement, "unknown-element"),
    (ErrorTag::UnknownNamespace, "unknown-namespace"),
    (ErrorTag::AccessDenied, "access-denied"),
    (ErrorTag::LockDenied, "lock-denied"),
    (ErrorTag::ResourceDenied, "resource-denied"),
    (ErrorTag::RollbackFailed, "rollback-failed"),
    (ErrorTag::DataExists, "data-exists"),
    (ErrorTag::DataMissing, "data-missing"),
    (ErrorTag::OperationNotSupported, "operation-not-supported"),
    (ErrorTag::OperationFailed, "operation-failed"),
    (ErrorTag::PartialOperation, "partial-operation"),
    (ErrorTag::MalformedMessage, "malformed-message"),
];

impl ErrorTag {
    /// Reads the RFC spelling; anything else is kept in [`ErrorTag::Other`].
    pub fn parse(s: &str) -> Self {
        TAGS.iter()
            .find(|(_, name)| *name == s)
            .map(|(tag, _)| tag.clone())
            .unwrap_or_else(|| Self::Other(s.to_owned()))
    }

    /// The RFC spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => TAGS
                .iter()
                .find(|(tag, _)| tag == known)
                .map_or("", |(_, name)| name),
        }
    }
}

impl ErrorSeverity {
    /// Reads the RFC spelling; anything else is kept in [`ErrorSeverity::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "error" => Self::Error,
            "warning" => Self::Warning,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The RFC spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Other(s) => s,
        }
    }
}

/// `From<String>` / `Into<String>` through `parse` / `as_str`, so that the enumerations are
/// serialised as the RFC spelling.
macro_rules! rfc_string_conversions {
    ($($ty:ident),*) => {$(
        impl From<String> for $ty {
            fn from(s: String) -> Self {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
    )*};
}

rfc_string_conversions!(ErrorType, ErrorTag, ErrorSeverity);

// === impl RpcError ===

impl RpcError {
    /// A new error with the given type, tag and severity `error`.
    pub fn new(error_type: ErrorType, error_tag: ErrorTag) -> Self {
        Self {
            error_type,
            error_tag,
            error_severity: ErrorSeverity::Error,
            error_app_tag: None,
            error_path: None,
            error_path_namespaces: Vec::new(),
            error_message: None,
            error_info: None,
        }
    }

    /// Whether this is only a warning (any other severity counts as an error).
    pub fn is_warning(&self) -> bool {
        self.error_severity == ErrorSeverity::Warning
    }

    /// The `error-path` as a [`DataPath`] into the configuration, when it is an
    /// instance-identifier with declared prefixes: a path into the `<config>` of an
    /// edit-config (`/nc:rpc/nc:edit-config/nc:config/...`, as netconfd reports it) or into a
    /// datastore. Lets a failure be traced to the owned entry it concerns.
    pub fn data_path(&self) -> Option<DataPath> {
        let path = self.error_path.as_deref()?;
        let prefixes = PrefixMap::from_pairs(self.error_path_namespaces.iter().cloned()).ok()?;
        let mut rest = path;
        if let Some(nc) = prefixes.prefix(NETCONF_BASE_NS) {
            let envelope = format!("/{nc}:rpc/{nc}:edit-config/{nc}:config");
            rest = path.strip_prefix(&envelope).unwrap_or(path);
        }
        DataPath::parse(rest, &prefixes).ok()
    }

    /// Reads an `<rpc-error>` element. Missing fields stay empty rather than failing: a
    /// server's error must reach the user even when the server gets the format wrong.
    pub fn from_element(element: &Element) -> Self {
        let text = |name: &str| element.child_text(NETCONF_BASE_NS, name);
        let owned = |name: &str| text(name).map(str::to_owned);
        let path = element.child(NETCONF_BASE_NS, "error-path");
        Self {
            error_type: ErrorType::parse(text("error-type").unwrap_or_default()),
            error_tag: ErrorTag::parse(text("error-tag").unwrap_or_default()),
            error_severity: ErrorSeverity::parse(text("error-severity").unwrap_or_default()),
            error_app_tag: owned("error-app-tag"),
            error_path: path.map(|p| p.text.trim().to_owned()),
            error_path_namespaces: path.map(|p| p.text_namespaces.clone()).unwrap_or_default(),
            error_message: element
                .child(NETCONF_BASE_NS, "error-message")
                .map(|m| ErrorMessage {
                    text: m.text.trim().to_owned(),
                    lang: m.attribute(XML_NS, "lang").map(str::to_owned),
                }),
            error_info: element
                .child(NETCONF_BASE_NS, "error-info")
                .map(ErrorInfo::from_element),
        }
    }

    /// Writes this error as an `<rpc-error>` element in the NETCONF base namespace (what a
    /// server puts inside `<rpc-reply>`). `error_info.xml` is inserted as it is and must be
    /// well-formed.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<rpc-error>");
        let mut leaf = |name: &str, value: &str| {
            out.push_str(&format!("<{name}>{}</{name}>", escape_text(value)));
        };
        leaf("error-type", self.error_type.as_str());
        leaf("error-tag", self.error_tag.as_str());
        leaf("error-severity", self.error_severity.as_str());
        if let Some(app_tag) = &self.error_app_tag {
            leaf("error-app-tag", app_tag);
        }
        if let Some(path) = &self.error_path {
            out.push_str("<error-path");
            for (prefix, ns) in &self.error_path_namespaces {
                out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape_attr(ns)));
            }
            out.push_str(&format!(">{}</error-path>", escape_text(path)));
        }
        if let Some(message) = &self.error_message {
            out.push_str("<error-message");
            if let Some(lang) = &message.lang {
                out.push_str(&format!(" xml:lang=\"{}\"", escape_attr(lang)));
            }
            out.push_str(&format!(">{}</error-message>", escape_text(&message.text)));
        }
        if let Some(info) = &self.error_info {
            out.push_str("<error-info>");
            out.push_str(&info.xml);
            out.push_str("</error-info>");
        }
        out.push_str("</rpc-error>");
    }
}

/// Shows tag, path and message verbatim, then the details:
/// `invalid-value at /nc:rpc/…/if:enabled: invalid value (error-type protocol, error-app-tag
/// data-invalid, bad-value maybe)`.
impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_warning() {
            f.write_str("warning: ")?;
        }
        let tag = self.error_tag.as_str();
        f.write_str(if tag.is_empty() { "rpc-error" } else { tag })?;
        if let Some(path) = &self.error_path {
            write!(f, " at {path}")?;
        }
        if let Some(message) = &self.error_message {
            write!(f, ": {}", message.text)?;
        }
        let mut details = Vec::new();
        if !self.error_type.as_str().is_empty() {
            details.push(format!("error-type {}", self.error_type.as_str()));
        }
        if let Some(app_tag) = &self.error_app_tag {
            details.push(format!("error-app-tag {app_tag}"));
        }
        if let Some(info) = &self.error_info {
            if let Some(id) = info.session_id {
                details.push(format!("held by session {id}"));
            }
            for (name, value) in [
                ("bad-element", &info.bad_element),
                ("bad-attribute", &info.bad_attribute),
                ("bad-namespace", &info.bad_namespace),
            ] {
                if let Some(value) = value {
                    details.push(format!("{name} {value}"));
                }
            }
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

// === impl ErrorInfo ===

impl ErrorInfo {
    /// Reads `<error-info>`, keeping its content as XML.
    pub fn from_element(element: &Element) -> Self {
        let mut xml = String::new();
        for child in &element.children {
            xml::write_element(child, "", &mut xml);
        }
        let text = |name: &str| element.child_text(NETCONF_BASE_NS, name).map(str::to_owned);
        Self {
            xml,
            session_id: element
                .child_text(NETCONF_BASE_NS, "session-id")
                .and_then(|s| s.parse().ok()),
            bad_element: text("bad-element"),
            bad_attribute: text("bad-attribute"),
            bad_namespace: text("bad-namespace"),
        }
    }
}

/// Several errors of one reply, shown one after the other (`; `-separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RpcErrors(pub Vec<RpcError>);

// === impl RpcErrors ===

impl RpcErrors {
    /// The first error that is not a warning (what a one-line summary shows), else the first.
    pub fn first(&self) -> Option<&RpcError> {
        self.0.iter().find(|e| !e.is_warning()).or(self.0.first())
    }

    /// Whether any error carries `tag`.
    pub fn has_tag(&self, tag: &ErrorTag) -> bool {
        self.0.iter().any(|e| e.error_tag == *tag)
    }

    /// The errors in reply order.
    pub fn iter(&self) -> impl Iterator<Item = &RpcError> {
        self.0.iter()
    }
}

impl fmt::Display for RpcErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcErrors {}
