//! `<rpc-reply>` parsing: `<ok/>`, `<data>`, `<rpc-error>`s (errors and warnings).

use super::message::{MessageError, parse_root, unexpected};
use super::rpc_error::{RpcError, RpcErrors};
use super::xml::{self, Element, NETCONF_BASE_NS, XmlLimits, escape_attr};

/// A parsed `<rpc-reply>`.
///
/// RFC 6241 allows `<ok/>` or `<data>` together with warnings, and one or more errors
/// instead of them; output of other operations is kept in [`RpcReply::other`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RpcReply {
    /// The echoed `message-id` (absent in replies to messages the server could not parse).
    pub message_id: Option<String>,
    /// Whether the reply carried `<ok/>`.
    pub ok: bool,
    /// The children of `<data>`, if the reply carried it.
    pub data: Option<Vec<Element>>,
    /// Every `<rpc-error>` in order, warnings included.
    pub errors: Vec<RpcError>,
    /// Any other reply content (output of operations that return something else).
    pub other: Vec<Element>,
}

// === impl RpcReply ===

impl RpcReply {
    /// Parses one received message as an rpc-reply.
    pub fn parse(bytes: &[u8], limits: &XmlLimits) -> Result<Self, MessageError> {
        Self::from_element(parse_root(bytes, limits)?)
    }

    /// Reads an rpc-reply from its parsed root element.
    pub fn from_element(root: Element) -> Result<Self, MessageError> {
        if !root.is(NETCONF_BASE_NS, "rpc-reply") {
            return Err(unexpected(&root));
        }
        let mut reply = RpcReply {
            message_id: root.attribute("", "message-id").map(str::to_owned),
            ..RpcReply::default()
        };
        for child in root.children {
            if child.is(NETCONF_BASE_NS, "ok") {
                reply.ok = true;
            } else if child.is(NETCONF_BASE_NS, "rpc-error") {
                reply.errors.push(RpcError::from_element(&child));
            } else if child.is(NETCONF_BASE_NS, "data") && reply.data.is_none() {
                reply.data = Some(child.children);
            } else {
                reply.other.push(child);
            }
        }
        Ok(reply)
    }

    /// Whether this reply answers the request sent with `message_id`. A reply without
    /// message-id answers nothing in particular (the server could not read the request) and
    /// is treated as answering the request in flight.
    pub fn answers(&self, message_id: &str) -> bool {
        self.message_id.as_deref().is_none_or(|id| id == message_id)
    }

    /// Whether the operation succeeded: no rpc-error other than warnings.
    pub fn is_success(&self) -> bool {
        self.errors.iter().all(RpcError::is_warning)
    }

    /// The rpc-errors that are errors.
    pub fn failures(&self) -> impl Iterator<Item = &RpcError> {
        self.errors.iter().filter(|e| !e.is_warning())
    }

    /// The rpc-errors that are warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &RpcError> {
        self.errors.iter().filter(|e| e.is_warning())
    }

    /// The reply when it is a success, otherwise its errors (warnings left out).
    pub fn into_result(self) -> Result<RpcReply, RpcErrors> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(RpcErrors(self.failures().cloned().collect()))
        }
    }

    /// The content of `<data>` as self-contained XML, empty when there is none.
    pub fn data_xml(&self) -> String {
        let mut out = String::new();
        for element in self.data.iter().flatten() {
            xml::write_element(element, "", &mut out);
        }
        out
    }

    /// Writes the reply as a server sends it (used by simulated devices and tests).
    pub fn to_xml(&self) -> String {
        let mut out = format!("<rpc-reply xmlns=\"{NETCONF_BASE_NS}\"");
        if let Some(id) = &self.message_id {
            out.push_str(&format!(" message-id=\"{}\"", escape_attr(id)));
        }
        out.push('>');
        for error in &self.errors {
            error.write_xml(&mut out);
        }
        if self.ok {
            out.push_str("<ok/>");
        }
        if let Some(data) = &self.data {
            out.push_str("<data>");
            for element in data {
                xml::write_element(element, NETCONF_BASE_NS, &mut out);
            }
            out.push_str("</data>");
        }
        for element in &self.other {
            xml::write_element(element, NETCONF_BASE_NS, &mut out);
        }
        out.push_str("</rpc-reply>");
        out
    }
}

#[cfg(test)]
mod tests;
