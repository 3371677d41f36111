//! The server side of the `<hello>` exchange (RFC 6241 §8.1).

use ferrule_netconf::hello::{BASE_1_0, BASE_1_1};
use ferrule_netconf::xml::{NETCONF_BASE_NS, XmlError, XmlLimits, escape_text, parse_document};

/// The largest client hello accepted, in bytes.
const MAX_HELLO_BYTES: usize = 256 * 1024;

/// What the server needs from the client's hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The client offers base:1.1 (chunked framing).
    pub base_1_1: bool,
}

/// Why a client hello is refused (the session is dropped).
#[derive(Debug, thiserror::Error)]
pub enum HelloError {
    /// The hello is not UTF-8.
    #[error("hello is not UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// The hello is not well-formed XML (or exceeds the limits).
    #[error("bad hello: {0}")]
    Xml(#[source] XmlError),
    /// The root element is not `<hello>`.
    #[error("expected <hello>, got <{0}>")]
    NotHello(String),
    /// The client sent a session-id.
    #[error("a client hello must not carry a session-id")]
    SessionId,
    /// No `<capabilities>`.
    #[error("hello without capabilities")]
    NoCapabilities,
    /// Neither base:1.0 nor base:1.1.
    #[error("the client offers no base capability")]
    NoBase,
}

/// The server's `<hello>` with its capabilities and session-id.
pub fn server_hello(uris: &[String], session_id: u32) -> String {
    let mut out = String::with_capacity(128 + uris.iter().map(|u| u.len() + 25).sum::<usize>());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hello xmlns=\"");
    out.push_str(NETCONF_BASE_NS);
    out.push_str("\"><capabilities>");
    for uri in uris {
        out.push_str("<capability>");
        out.push_str(&escape_text(uri));
        out.push_str("</capability>");
    }
    out.push_str("</capabilities><session-id>");
    out.push_str(&session_id.to_string());
    out.push_str("</session-id></hello>");
    out
}

/// Parses a client hello; the error says why the session must be dropped.
pub fn parse_client_hello(bytes: &[u8]) -> Result<ClientHello, HelloError> {
    let text = std::str::from_utf8(bytes).map_err(HelloError::NotUtf8)?;
    let limits = XmlLimits {
        max_bytes: MAX_HELLO_BYTES,
        ..XmlLimits::default()
    };
    let root = parse_document(text, &limits).map_err(HelloError::Xml)?;
    if !root.is(NETCONF_BASE_NS, "hello") {
        return Err(HelloError::NotHello(root.name.to_string()));
    }
    if root.child(NETCONF_BASE_NS, "session-id").is_some() {
        return Err(HelloError::SessionId);
    }
    let caps = root
        .child(NETCONF_BASE_NS, "capabilities")
        .ok_or(HelloError::NoCapabilities)?;
    let uris: Vec<&str> = caps
        .children
        .iter()
        .filter(|c| c.is(NETCONF_BASE_NS, "capability"))
        .map(|c| c.text.trim())
        .collect();
    let base_1_0 = uris.contains(&BASE_1_0);
    let base_1_1 = uris.contains(&BASE_1_1);
    if !base_1_0 && !base_1_1 {
        return Err(HelloError::NoBase);
    }
    Ok(ClientHello { base_1_1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hellos() {
        let hello = |caps: &str| {
            format!(
                "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>{caps}\
                 </capabilities></hello>"
            )
        };
        let both = hello(
            "<capability>urn:ietf:params:netconf:base:1.0</capability>\
             <capability> urn:ietf:params:netconf:base:1.1 </capability>",
        );
        assert!(parse_client_hello(both.as_bytes()).unwrap().base_1_1);
        let old = hello("<capability>urn:ietf:params:netconf:base:1.0</capability>");
        assert!(!parse_client_hello(old.as_bytes()).unwrap().base_1_1);
        let refused = |bytes: &[u8]| parse_client_hello(bytes).unwrap_err();
        assert_eq!(
            refused(hello("").as_bytes()).to_string(),
            "the client offers no base capability"
        );
        assert!(
            refused(b"<rpc/>")
                .to_string()
                .starts_with("expected <hello>, got <"),
        );
        let not_utf8 = refused(b"\xff\xfe");
        assert_eq!(not_utf8.to_string(), "hello is not UTF-8");
        let source = std::error::Error::source(&not_utf8).expect("keeps the UTF-8 error");
        assert!(source.is::<std::str::Utf8Error>());
        let bad = refused(b"<hello");
        assert!(bad.to_string().starts_with("bad hello: "), "{bad}");
        let xml = std::error::Error::source(&bad).expect("keeps the XML error");
        assert!(xml.is::<XmlError>());
        assert_eq!(bad.to_string(), format!("bad hello: {xml}"));
        let with_id = "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
            <capability>urn:ietf:params:netconf:base:1.0</capability></capabilities>\
            <session-id>4</session-id></hello>";
        assert_eq!(
            refused(with_id.as_bytes()).to_string(),
            "a client hello must not carry a session-id"
        );
    }

    #[test]
    fn server_hello_lists_capabilities_and_session() {
        let xml = server_hello(&[BASE_1_0.to_owned(), "urn:x?a=1&b=2".to_owned()], 9);
        assert!(
            xml.contains("<capability>urn:x?a=1&amp;b=2</capability>"),
            "{xml}"
        );
        assert!(xml.ends_with("<session-id>9</session-id></hello>"), "{xml}");
    }
}
