//! Server-side `<rpc-error>`s in the RFC 6241 §4.3 shape.

use std::fmt;

use quick_xml::escape::escape;

/// The layer an error belongs to (`error-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Secure transport layer.
    Transport,
    /// Messages layer (framing, `<rpc>` envelope).
    Rpc,
    /// Operations layer.
    Protocol,
    /// Content layer.
    Application,
}

/// An error the simulated device reports in an `<rpc-reply>` (boxed: errors travel through
/// many `Result`s and are rare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure(Box<ErrorBody>);

/// The fields of an [`RpcFailure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// `error-type`.
    pub error_type: ErrorType,
    /// `error-tag`, e.g. `lock-denied`, `data-exists`, `invalid-value`.
    pub tag: String,
    /// `error-app-tag`, when there is one.
    pub app_tag: Option<String>,
    /// `error-path`: an XPath to the offending node, when known.
    pub path: Option<String>,
    /// `error-message`, for humans.
    pub message: String,
    /// `error-info` children as (element name, text), e.g. `("session-id", "7")`.
    pub info: Vec<(String, String)>,
}

// === impl ErrorType ===

impl ErrorType {
    /// The RFC 6241 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transport => "transport",
            Self::Rpc => "rpc",
            Self::Protocol => "protocol",
            Self::Application => "application",
        }
    }
}

// === impl RpcFailure ===

impl RpcFailure {
    /// An error of the given type and tag.
    pub fn new(error_type: ErrorType, tag: &str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorBody {
            error_type,
            tag: tag.to_owned(),
            app_tag: None,
            path: None,
            message: message.into(),
            info: Vec::new(),
        }))
    }

    /// `operation-not-supported` for an RPC the device does not implement.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, "operation-not-supported", message)
    }

    /// `invalid-value` in the protocol layer (a bad RPC parameter).
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, "invalid-value", message)
    }

    /// `missing-element` for a required RPC parameter, with `bad-element` info.
    pub fn missing_element(element: &str) -> Self {
        Self::new(
            ErrorType::Protocol,
            "missing-element",
            format!("<{element}> is required"),
        )
        .with_info("bad-element", element)
    }

    /// `operation-failed` in the protocol layer.
    pub fn operation_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, "operation-failed", message)
    }

    /// `in-use`: another session holds the resource.
    pub fn in_use(message: impl Into<String>, holder: u32) -> Self {
        Self::new(ErrorType::Protocol, "in-use", message)
            .with_info("session-id", &holder.to_string())
    }

    /// `lock-denied` with the holder's session id in `error-info`.
    pub fn lock_denied(holder: u32) -> Self {
        Self::new(
            ErrorType::Protocol,
            "lock-denied",
            format!("lock is already held by session {holder}"),
        )
        .with_info("session-id", &holder.to_string())
    }

    /// `malformed-message` for an `<rpc>` that cannot be parsed.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Rpc, "malformed-message", message)
    }

    /// Adds an `error-info` child.
    pub fn with_info(mut self, name: &str, value: &str) -> Self {
        self.info.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the `error-path`.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The `<rpc-error>` element (in the NETCONF base namespace of the enclosing reply).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("<rpc-error><error-type>");
        out.push_str(self.error_type.as_str());
        out.push_str("</error-type><error-tag>");
        out.push_str(&escape(self.tag.as_str()));
        out.push_str("</error-tag><error-severity>error</error-severity>");
        if let Some(app_tag) = &self.app_tag {
            out.push_str("<error-app-tag>");
            out.push_str(&escape(app_tag.as_str()));
            out.push_str("</error-app-tag>");
        }
        if let Some(path) = &self.path {
            out.push_str("<error-path>");
            out.push_str(&escape(path.as_str()));
            out.push_str("</error-path>");
        }
        out.push_str("<error-message xml:lang=\"en\">");
        out.push_str(&escape(self.message.as_str()));
        out.push_str("</error-message>");
        if !self.info.is_empty() {
            out.push_str("<error-info>");
            for (name, value) in &self.info {
                out.push('<');
                out.push_str(name);
                out.push('>');
                out.push_str(&escape(value.as_str()));
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            out.push_str("</error-info>");
        }
        out.push_str("</rpc-error>");
        out
    }
}

impl std::ops::Deref for RpcFailure {
    type Target = ErrorBody;

    fn deref(&self) -> &ErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for RpcFailure {
    fn deref_mut(&mut self) -> &mut ErrorBody {
        &mut self.0
    }
}

impl fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.error_type.as_str(),
            self.tag,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_denied_has_the_rfc_shape() {
        let xml = RpcFailure::lock_denied(7).to_xml();
        assert_eq!(
            xml,
            "<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag>\
             <error-severity>error</error-severity><error-message xml:lang=\"en\">lock is \
             already held by session 7</error-message><error-info><session-id>7</session-id>\
             </error-info></rpc-error>"
        );
    }

    #[test]
    fn text_is_escaped() {
        let xml = RpcFailure::invalid_value("a <b> & c")
            .with_path("/if:interfaces/if:interface[if:name='x']")
            .to_xml();
        assert!(xml.contains("a &lt;b&gt; &amp; c"), "{xml}");
        assert!(xml.contains("[if:name=&apos;x&apos;]"), "{xml}");
    }
}
