//! Classifying and parsing what a NETCONF server sends: a hello, an rpc-reply or a
//! notification.

use super::hello::ServerHello;
use super::reply::RpcReply;
use super::xml::{self, Element, NETCONF_BASE_NS, XmlError, XmlLimits};

/// The namespace of `<notification>` messages (RFC 5277).
pub const NOTIFICATION_NS: &str = "urn:ietf:params:xml:ns:netconf:notification:1.0";

/// One message received from a server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The server's `<hello>`.
    Hello(ServerHello),
    /// An `<rpc-reply>`.
    Reply(RpcReply),
    /// A `<notification>`, kept as XML.
    Notification(Element),
}

/// Why a received message could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message is not UTF-8 (NETCONF messages are UTF-8, RFC 6241 section 4).
    #[error("NETCONF message is not valid UTF-8")]
    NotUtf8,
    /// The message is not acceptable XML.
    #[error("NETCONF message is not acceptable XML: {0}")]
    Xml(#[from] XmlError),
    /// The root element is not the one expected here.
    #[error("unexpected NETCONF message <{name}> in namespace '{ns}'")]
    UnexpectedRoot {
        /// Namespace of the root element.
        ns: String,
        /// Local name of the root element.
        name: String,
    },
    /// A server `<hello>` without a usable `<session-id>` (RFC 6241 section 8.1).
    #[error("server hello has no valid session-id ({found:?})")]
    BadSessionId {
        /// The session-id text, if any.
        found: Option<String>,
    },
}

/// Parses one message from a server.
pub fn parse_server_message(
    bytes: &[u8],
    limits: &XmlLimits,
) -> Result<ServerMessage, MessageError> {
    let root = parse_root(bytes, limits)?;
    if root.is(NETCONF_BASE_NS, "hello") {
        ServerHello::from_element(&root).map(ServerMessage::Hello)
    } else if root.is(NETCONF_BASE_NS, "rpc-reply") {
        RpcReply::from_element(root).map(ServerMessage::Reply)
    } else if root.is(NOTIFICATION_NS, "notification") {
        Ok(ServerMessage::Notification(root))
    } else {
        Err(unexpected(&root))
    }
}

/// Decodes UTF-8 and parses the single root element of a message.
pub(crate) fn parse_root(bytes: &[u8], limits: &XmlLimits) -> Result<Element, MessageError> {
    if bytes.len() > limits.max_bytes {
        return Err(MessageError::Xml(XmlError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        }));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| MessageError::NotUtf8)?;
    Ok(xml::parse_document(text, limits)?)
}

pub(crate) fn unexpected(root: &Element) -> MessageError {
    MessageError::UnexpectedRoot {
        ns: root.ns.to_string(),
        name: root.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_real_netconfd_messages() {
        let limits = XmlLimits::default();
        let hello = include_bytes!("testdata/netconfd-hello.xml");
        assert!(matches!(
            parse_server_message(hello, &limits),
            Ok(ServerMessage::Hello(_))
        ));
        let ok = include_bytes!("testdata/netconfd-ok.xml");
        assert!(matches!(
            parse_server_message(ok, &limits),
            Ok(ServerMessage::Reply(_))
        ));
        let note = br#"<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><eventTime>2024-01-01T00:00:00Z</eventTime></notification>"#;
        assert!(matches!(
            parse_server_message(note, &limits),
            Ok(ServerMessage::Notification(_))
        ));
        assert!(matches!(
            parse_server_message(
                b"<rpc xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"/>",
                &limits
            ),
            Err(MessageError::UnexpectedRoot { .. })
        ));
        assert_eq!(
            parse_server_message(b"<a>\xff</a>", &limits),
            Err(MessageError::NotUtf8)
        );
    }
}
