//! Parsing what a device sends: its `<hello>` and `<rpc-reply>` messages.
//!
//! Only the NETCONF envelope is interpreted (ok, data, rpc-error); the content of `<data>`
//! is handed on as XML text. Elements are matched by local name so that prefixed envelopes
//! (`<nc:rpc-reply>`) work. The input is bounded by the framing layer's size limit and the
//! reader is iterative, so hostile input cannot exhaust the stack.

use std::ops::Range;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::RpcError;

/// The device's `<hello>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Announced capability URIs, unescaped, in order.
    pub capabilities: Vec<String>,
    /// The session id the device assigned.
    pub session_id: u32,
}

/// The `<data>` element of a reply as a self-contained XML document: the element carries
/// every namespace declaration that was in scope on the `<rpc-reply>`, so prefixes used inside
/// still resolve once it is cut out of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataReply {
    xml: String,
    inner: Range<usize>,
}

impl DataReply {
    /// The `<data ...>...</data>` element, self-contained.
    pub fn document(&self) -> &str {
        &self.xml
    }

    /// What is between `<data>` and `</data>`, verbatim.
    pub fn inner(&self) -> &str {
        self.xml.get(self.inner.clone()).unwrap_or_default()
    }

    /// Whether `<data>` holds no element.
    pub fn is_empty(&self) -> bool {
        !self.inner().contains('<')
    }
}

/// One message from the device after the hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// An `<rpc-reply>`.
    Reply(ParsedReply),
    /// A `<notification>`, which this client does not subscribe to and skips.
    Notification,
}

/// The envelope of an `<rpc-reply>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedReply {
    /// The `message-id` attribute, if present.
    pub message_id: Option<String>,
    /// Whether `<ok/>` was present.
    pub ok: bool,
    /// The `<data>` element, if present.
    pub data: Option<DataReply>,
    /// Every `<rpc-error>`, warnings included, in document order.
    pub errors: Vec<RpcError>,
}

impl ParsedReply {
    /// Whether any rpc-error has severity error (warnings alone do not fail an operation).
    pub fn failed(&self) -> bool {
        self.errors.iter().any(|e| !e.is_warning())
    }
}

/// Parses a device `<hello>`.
pub fn parse_hello(xml: &str) -> Result<ServerHello, String> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut path: Vec<String> = Vec::new();
    let mut text = Text::default();
    let mut capabilities = Vec::new();
    let mut session_id = None;
    let mut saw_root = false;
    loop {
        match reader.read_event().map_err(|e| format!("XML error: {e}"))? {
            Event::Start(e) => {
                let name = local_name(&e);
                if depth == 0 {
                    if name != "hello" {
                        return Err(format!("expected <hello>, got <{name}>"));
                    }
                    saw_root = true;
                }
                path.push(name);
                depth += 1;
                text.clear();
            }
            Event::Empty(e) => {
                if depth == 0 {
                    return Err(format!("expected <hello>, got empty <{}>", local_name(&e)));
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                depth = depth.saturating_sub(1);
                let parent = path.last().map(String::as_str);
                match (name.as_str(), parent) {
                    ("capability", Some("capabilities")) => {
                        capabilities.push(text.take().trim().to_string())
                    }
                    ("session-id", Some("hello")) => {
                        let value = text.take();
                        session_id = Some(
                            value
                                .trim()
                                .parse::<u32>()
                                .map_err(|_| format!("session-id {value:?} is not a number"))?,
                        );
                    }
                    _ => text.clear(),
                }
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => text.push_ref(&r)?,
            Event::DocType(_) => return Err("DOCTYPE is not allowed".into()),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !saw_root {
        return Err("no <hello> element".into());
    }
    let session_id = session_id.ok_or("the device's hello has no session-id")?;
    if capabilities.is_empty() {
        return Err("the device's hello announces no capabilities".into());
    }
    Ok(ServerHello {
        capabilities,
        session_id,
    })
}

/// Parses one message received after the hello.
pub fn parse_incoming(xml: &str) -> Result<Incoming, String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = Text::default();
    let mut reply = ParsedReply::default();
    let mut root_ns: Vec<(String, String)> = Vec::new();
    let mut current_error: Option<RpcError> = None;
    let mut data_open: Option<OpenData> = None;
    let mut info_start: Option<usize> = None;
    let mut saw_root = false;
    loop {
        let before = position(&reader);
        let event = reader.read_event().map_err(|e| format!("XML error: {e}"))?;
        let after = position(&reader);
        if saw_root
            && path.is_empty()
            && !matches!(
                event,
                Event::Eof | Event::Text(_) | Event::Comment(_) | Event::PI(_)
            )
        {
            return Err("content after the <rpc-reply> element".into());
        }
        match event {
            Event::Start(e) if path.is_empty() => {
                if read_root(&e, &mut reply, &mut root_ns)? {
                    return Ok(Incoming::Notification);
                }
                saw_root = true;
                path.push(local_name(&e));
            }
            Event::Empty(e) if path.is_empty() => {
                if read_root(&e, &mut reply, &mut root_ns)? {
                    return Ok(Incoming::Notification);
                }
                saw_root = true;
            }
            Event::Start(e) => {
                let name = local_name(&e);
                match (path.len(), name.as_str()) {
                    (1, "data") => {
                        data_open = Some(OpenData {
                            content_start: after,
                            qname: qname(&e),
                            attrs: attributes(&e)?,
                        });
                    }
                    (1, "rpc-error") => current_error = Some(RpcError::default()),
                    (2, "error-info") if current_error.is_some() => info_start = Some(after),
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = local_name(&e);
                match (path.len(), name.as_str()) {
                    (1, "ok") => reply.ok = true,
                    (1, "data") => {
                        let attrs = attributes(&e)?;
                        reply.data = Some(build_data(&qname(&e), &root_ns, &attrs, ""));
                    }
                    (1, "rpc-error") => reply.errors.push(RpcError::default()),
                    _ => {}
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                match (path.len(), name.as_str()) {
                    (1, "data") => {
                        if let Some(open) = data_open.take() {
                            let inner = xml.get(open.content_start..before).unwrap_or_default();
                            reply.data =
                                Some(build_data(&open.qname, &root_ns, &open.attrs, inner));
                        }
                    }
                    (1, "rpc-error") => {
                        if let Some(err) = current_error.take() {
                            reply.errors.push(err);
                        }
                    }
                    (2, field) => {
                        if let Some(err) = current_error.as_mut() {
                            let value = text.take().trim().to_string();
                            match field {
                                "error-type" => err.error_type = value,
                                "error-tag" => err.tag = value,
                                "error-severity" => err.severity = value,
                                "error-app-tag" => err.app_tag = Some(value),
                                "error-path" => err.path = Some(value),
                                "error-message" => err.message = Some(value),
                                "error-info" => {
                                    let raw = info_start
                                        .take()
                                        .and_then(|s| xml.get(s..before))
                                        .unwrap_or_default();
                                    err.info = Some(raw.trim().to_string());
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => text.push_ref(&r)?,
            Event::DocType(_) => return Err("DOCTYPE is not allowed".into()),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !saw_root {
        return Err("no <rpc-reply> element".into());
    }
    if !path.is_empty() {
        return Err("reply ends inside an element".into());
    }
    Ok(Incoming::Reply(reply))
}

/// The `<data>` element being read.
struct OpenData {
    /// Byte offset where its content starts.
    content_start: usize,
    /// Its qualified name (`data` or `nc:data`).
    qname: String,
    /// Its own attributes.
    attrs: Vec<(String, String)>,
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Reads the root element; `Ok(true)` means it is a notification.
fn read_root(
    e: &BytesStart<'_>,
    reply: &mut ParsedReply,
    root_ns: &mut Vec<(String, String)>,
) -> Result<bool, String> {
    match local_name(e).as_str() {
        "rpc-reply" => {}
        "notification" => return Ok(true),
        other => return Err(format!("expected <rpc-reply>, got <{other}>")),
    }
    for (key, value) in attributes(e)? {
        if key == "message-id" {
            reply.message_id = Some(value);
        } else if key == "xmlns" || key.starts_with("xmlns:") {
            root_ns.push((key, value));
        }
    }
    Ok(false)
}

fn build_data(
    qname: &str,
    inherited: &[(String, String)],
    own: &[(String, String)],
    inner: &str,
) -> DataReply {
    let mut xml = String::with_capacity(inner.len() + 256);
    xml.push('<');
    xml.push_str(qname);
    for (key, value) in inherited {
        if !own.iter().any(|(k, _)| k == key) {
            push_attr(&mut xml, key, value);
        }
    }
    for (key, value) in own {
        push_attr(&mut xml, key, value);
    }
    xml.push('>');
    let start = xml.len();
    xml.push_str(inner);
    let end = xml.len();
    xml.push_str("</");
    xml.push_str(qname);
    xml.push('>');
    DataReply {
        xml,
        inner: start..end,
    }
}

fn push_attr(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    out.push_str(&quick_xml::escape::escape(value));
    out.push('"');
}

fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn qname(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|err| format!("bad attribute: {err}"))?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| format!("bad attribute value: {err}"))?
                .into_owned();
            Ok((key, value))
        })
        .collect()
}

/// Text content being collected for a leaf element, with references resolved.
#[derive(Debug, Default)]
struct Text(String);

impl Text {
    fn push_str(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn push_ref(&mut self, r: &BytesRef<'_>) -> Result<(), String> {
        if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
            self.0.push(c);
            return Ok(());
        }
        let name = r.decode().map_err(|e| e.to_string())?;
        let resolved = quick_xml::escape::resolve_predefined_entity(&name)
            .ok_or_else(|| format!("unknown entity &{name};"))?;
        self.0.push_str(resolved);
        Ok(())
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.0)
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NETCONFD_HELLO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<hello xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"
  xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <capabilities>
    <capability>urn:ietf:params:netconf:base:1.0</capability>
    <capability>urn:ietf:params:netconf:base:1.1</capability>
    <capability>urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&amp;also-supported=trim</capability>
  </capabilities>
  <session-id>3</session-id>
</hello>"#;

    const NETCONFD_ERROR: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rpc-reply message-id="1" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"
  xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces"
  xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <rpc-error>
    <error-type>protocol</error-type>
    <error-tag>invalid-value</error-tag>
    <error-severity>error</error-severity>
    <error-app-tag>data-invalid</error-app-tag>
    <error-path>/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='ge-0/0/9']/if:enabled</error-path>
    <error-message xml:lang="en">invalid value</error-message>
    <error-info>
      <bad-value xmlns="http://netconfcentral.org/ns/yuma-ncx">maybe</bad-value>
    </error-info>
  </rpc-error>
</rpc-reply>"#;

    #[test]
    fn hello_from_netconfd() {
        let hello = parse_hello(NETCONFD_HELLO).unwrap();
        assert_eq!(hello.session_id, 3);
        assert_eq!(hello.capabilities.len(), 3);
        assert!(hello.capabilities[2].ends_with("basic-mode=explicit&also-supported=trim"));
    }

    #[test]
    fn hello_without_session_id_is_refused() {
        let xml = "<hello><capabilities><capability>x</capability></capabilities></hello>";
        assert!(parse_hello(xml).unwrap_err().contains("session-id"));
        assert!(parse_hello("<rpc-reply/>").is_err());
        assert!(parse_hello("").is_err());
    }

    #[test]
    fn rpc_error_fields_are_kept_verbatim() {
        let Incoming::Reply(reply) = parse_incoming(NETCONFD_ERROR).unwrap() else {
            panic!("not a reply")
        };
        assert_eq!(reply.message_id.as_deref(), Some("1"));
        assert!(reply.failed());
        let e = &reply.errors[0];
        assert_eq!(e.error_type, "protocol");
        assert_eq!(e.tag, "invalid-value");
        assert_eq!(e.severity, "error");
        assert_eq!(e.app_tag.as_deref(), Some("data-invalid"));
        assert_eq!(
            e.path.as_deref(),
            Some(
                "/nc:rpc/nc:edit-config/nc:config/if:interfaces/if:interface[if:name='ge-0/0/9']/if:enabled"
            )
        );
        assert_eq!(e.message.as_deref(), Some("invalid value"));
        assert_eq!(
            e.info.as_deref(),
            Some(r#"<bad-value xmlns="http://netconfcentral.org/ns/yuma-ncx">maybe</bad-value>"#)
        );
    }

    #[test]
    fn data_is_self_contained() {
        let xml = r#"<nc:rpc-reply message-id="7" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:if="urn:x-if"><nc:data><if:interfaces><if:name>a &amp; b</if:name></if:interfaces></nc:data></nc:rpc-reply>"#;
        let Incoming::Reply(reply) = parse_incoming(xml).unwrap() else {
            panic!("not a reply")
        };
        let data = reply.data.unwrap();
        assert_eq!(
            data.inner(),
            "<if:interfaces><if:name>a &amp; b</if:name></if:interfaces>"
        );
        assert_eq!(
            data.document(),
            r#"<nc:data xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:if="urn:x-if"><if:interfaces><if:name>a &amp; b</if:name></if:interfaces></nc:data>"#
        );
        assert!(!data.is_empty());
    }

    #[test]
    fn ok_empty_data_and_notifications() {
        let ok = parse_incoming(r#"<rpc-reply message-id="2"><ok/></rpc-reply>"#).unwrap();
        assert!(matches!(ok, Incoming::Reply(ParsedReply { ok: true, .. })));
        let Incoming::Reply(empty) =
            parse_incoming(r#"<rpc-reply message-id="3"><data/></rpc-reply>"#).unwrap()
        else {
            panic!("not a reply")
        };
        assert!(empty.data.unwrap().is_empty());
        assert_eq!(
            parse_incoming("<notification><eventTime>x</eventTime></notification>").unwrap(),
            Incoming::Notification
        );
        assert!(parse_incoming("<rpc-reply><ok/>").is_err());
        assert!(parse_incoming("<rpc-reply><ok></x></rpc-reply>").is_err());
        assert!(parse_incoming(r#"<!DOCTYPE x [<!ENTITY a "b">]><rpc-reply/>"#).is_err());
    }

    #[test]
    fn warnings_do_not_fail() {
        let xml = r#"<rpc-reply><rpc-error><error-type>application</error-type><error-tag>x</error-tag><error-severity>warning</error-severity></rpc-error><ok/></rpc-reply>"#;
        let Incoming::Reply(reply) = parse_incoming(xml).unwrap() else {
            panic!("not a reply")
        };
        assert!(!reply.failed());
        assert_eq!(reply.errors.len(), 1);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "(<[a-z:-]{0,12}( [a-z:]{1,5}=\"[^\"]{0,5}\")?/?>|</[a-z:-]{0,12}>|[^<]{0,10}|&[a-z#0-9]{0,5};){0,40}") {
            let _ = parse_incoming(&s);
            let _ = parse_hello(&s);
        }
    }
}
