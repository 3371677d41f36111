//! Server-side `<rpc-error>`s in the RFC 6241 §4.3 shape: builders over the southbound
//! [`RpcError`] type, which also writes them.

use std::fmt;

use ferrule_netconf::rpc_error::{ErrorInfo, ErrorMessage, ErrorTag, RpcError};
use ferrule_netconf::xml::escape_text;

use ferrule_netconf::rpc_error::ErrorType;

/// An error a simulated device reports in an `<rpc-reply>` (boxed: errors travel through many
/// `Result`s and are rare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure(Box<RpcError>);

// === impl RpcFailure ===

impl RpcFailure {
    /// An error of the given type and tag (an RFC 6241 spelling), with a message.
    pub fn new(error_type: ErrorType, tag: &str, message: impl Into<String>) -> Self {
        let mut error = RpcError::new(error_type, ErrorTag::parse(tag));
        error.error_message = Some(ErrorMessage {
            text: message.into(),
            lang: Some("en".to_owned()),
        });
        Self(Box::new(error))
    }

    /// `operation-not-supported` for an RPC or feature the device does not implement.
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

    /// `in-use`: another session holds the resource (its id in `error-info`).
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

    /// Adds an `error-info` child (`session-id`, `bad-element`, …). `name` is an element
    /// name chosen by the simulator; `value` is escaped.
    pub fn with_info(mut self, name: &str, value: &str) -> Self {
        let info = self.0.error_info.get_or_insert_with(ErrorInfo::default);
        info.xml
            .push_str(&format!("<{name}>{}</{name}>", escape_text(value)));
        match name {
            "session-id" => info.session_id = value.parse().ok(),
            "bad-element" => info.bad_element = Some(value.to_owned()),
            "bad-attribute" => info.bad_attribute = Some(value.to_owned()),
            "bad-namespace" => info.bad_namespace = Some(value.to_owned()),
            _ => {}
        }
        self
    }

    /// Sets the `error-path` and the prefixes it uses.
    pub fn with_path(mut self, path: impl Into<String>, namespaces: Vec<(String, String)>) -> Self {
        self.0.error_path = Some(path.into());
        self.0.error_path_namespaces = namespaces;
        self
    }

    /// The `error-tag`.
    pub fn tag(&self) -> &str {
        self.0.error_tag.as_str()
    }

    /// The `error-message` text.
    pub fn message(&self) -> &str {
        self.0
            .error_message
            .as_ref()
            .map_or("", |m| m.text.as_str())
    }

    /// The error as the southbound type.
    pub fn error(&self) -> &RpcError {
        &self.0
    }

    /// The `<rpc-error>` element.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        self.0.write_xml(&mut out);
        out
    }
}

impl From<RpcError> for RpcFailure {
    fn from(error: RpcError) -> Self {
        Self(Box::new(error))
    }
}

impl fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_denied_has_the_rfc_shape() {
        let failure = RpcFailure::lock_denied(7);
        assert_eq!(
            failure.to_xml(),
            "<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag>\
             <error-severity>error</error-severity><error-message xml:lang=\"en\">lock is \
             already held by session 7</error-message><error-info><session-id>7</session-id>\
             </error-info></rpc-error>"
        );
        assert_eq!(
            failure.error().error_info.as_ref().unwrap().session_id,
            Some(7)
        );
    }

    #[test]
    fn text_is_escaped() {
        let xml = RpcFailure::invalid_value("a <b> & c")
            .with_path("/if:interfaces/if:interface[if:name='x']", Vec::new())
            .with_info("bad-element", "<x>")
            .to_xml();
        assert!(xml.contains("a &lt;b&gt; &amp; c"), "{xml}");
        assert!(
            xml.contains("<bad-element>&lt;x&gt;</bad-element>"),
            "{xml}"
        );
        assert!(
            xml.contains("<error-path>/if:interfaces/if:interface[if:name='x']</error-path>"),
            "{xml}"
        );
    }
}
