//! The hello exchange: capability URIs, the client hello, and parsing the server hello.

use super::message::{MessageError, parse_root, unexpected};
use super::rpc::RpcBuildError;
use super::xml::{Element, NETCONF_BASE_NS, XmlLimits, escape_text};

/// NETCONF base:1.0 (end-of-message framing).
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// NETCONF base:1.1 (chunked framing once both sides announce it).
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// The candidate datastore.
pub const CANDIDATE: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
/// Confirmed commit, base:1.0 flavour (no persist).
pub const CONFIRMED_COMMIT_1_0: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.0";
/// Confirmed commit with `persist` / `persist-id`.
pub const CONFIRMED_COMMIT_1_1: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
/// `<validate>`, base:1.0 flavour.
pub const VALIDATE_1_0: &str = "urn:ietf:params:netconf:capability:validate:1.0";
/// `<validate>`, base:1.1 flavour.
pub const VALIDATE_1_1: &str = "urn:ietf:params:netconf:capability:validate:1.1";
/// `error-option` `rollback-on-error`.
pub const ROLLBACK_ON_ERROR: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
/// `edit-config` directly on running.
pub const WRITABLE_RUNNING: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";
/// The startup datastore.
pub const STARTUP: &str = "urn:ietf:params:netconf:capability:startup:1.0";
/// XPath filters.
pub const XPATH: &str = "urn:ietf:params:netconf:capability:xpath:1.0";

/// The capabilities one side announced, as announced (order kept, whitespace trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(Vec<String>);

/// A YANG module announced as a capability
/// (`<namespace>?module=<name>&revision=<date>&features=a,b&deviations=c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCapability {
    /// The module's XML namespace.
    pub namespace: String,
    /// The module name.
    pub module: String,
    /// The revision date, if announced.
    pub revision: Option<String>,
    /// Enabled features.
    pub features: Vec<String>,
    /// Modules deviating this one.
    pub deviations: Vec<String>,
}

/// A parsed server `<hello>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// What the server supports.
    pub capabilities: Capabilities,
    /// The session-id the server assigned (1..=4294967295).
    pub session_id: u32,
}

// === impl Capabilities ===

impl Capabilities {
    /// Capabilities from URIs.
    pub fn new<I, S>(uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(
            uris.into_iter()
                .map(|u| u.into().trim().to_owned())
                .collect(),
        )
    }

    /// What Ferrule announces as a client: base:1.0 and base:1.1.
    pub fn client_default() -> Self {
        Self::new([BASE_1_0, BASE_1_1])
    }

    /// The URIs in announcement order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether `uri` was announced; parameters after `?` are ignored on both sides, so
    /// `has(CANDIDATE)` matches `...candidate:1.0` and `...:with-defaults:1.0?basic-mode=...`
    /// matches `...:with-defaults:1.0`.
    pub fn has(&self, uri: &str) -> bool {
        let base = |u: &str| u.split('?').next().unwrap_or_default().to_owned();
        let wanted = base(uri);
        self.0.iter().any(|c| base(c) == wanted)
    }

    /// Whether chunked framing (base:1.1) is supported.
    pub fn supports_chunked(&self) -> bool {
        self.has(BASE_1_1)
    }

    /// `:candidate`.
    pub fn candidate(&self) -> bool {
        self.has(CANDIDATE)
    }

    /// `:confirmed-commit` in either version.
    pub fn confirmed_commit(&self) -> bool {
        self.has(CONFIRMED_COMMIT_1_0) || self.has(CONFIRMED_COMMIT_1_1)
    }

    /// `:confirmed-commit:1.1`, which adds `<persist>`, `<persist-id>` and `<cancel-commit>`.
    pub fn confirmed_commit_persist(&self) -> bool {
        self.has(CONFIRMED_COMMIT_1_1)
    }

    /// `:validate` in either version.
    pub fn validate(&self) -> bool {
        self.has(VALIDATE_1_0) || self.has(VALIDATE_1_1)
    }

    /// `:writable-running`.
    pub fn writable_running(&self) -> bool {
        self.has(WRITABLE_RUNNING)
    }

    /// `:rollback-on-error`.
    pub fn rollback_on_error(&self) -> bool {
        self.has(ROLLBACK_ON_ERROR)
    }

    /// Every announced YANG module.
    pub fn modules(&self) -> Vec<ModuleCapability> {
        self.0.iter().filter_map(|c| parse_module(c)).collect()
    }

    /// The announced module called `name`.
    pub fn module(&self, name: &str) -> Option<ModuleCapability> {
        self.0
            .iter()
            .filter_map(|c| parse_module(c))
            .find(|m| m.module == name)
    }
}

fn parse_module(uri: &str) -> Option<ModuleCapability> {
    let (namespace, query) = uri.split_once('?')?;
    let mut module = None;
    let mut capability = ModuleCapability {
        namespace: namespace.to_owned(),
        module: String::new(),
        revision: None,
        features: Vec::new(),
        deviations: Vec::new(),
    };
    let list = |v: &str| {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("module", v)) => module = Some(v.to_owned()),
            Some(("revision", v)) => capability.revision = Some(v.to_owned()),
            Some(("features", v)) => capability.features = list(v),
            Some(("deviations", v)) => capability.deviations = list(v),
            _ => {}
        }
    }
    capability.module = module?;
    Some(capability)
}

/// The client `<hello>` announcing `capabilities` (every URI escaped).
pub fn client_hello(capabilities: &Capabilities) -> Result<String, RpcBuildError> {
    let mut out = format!("<hello xmlns=\"{NETCONF_BASE_NS}\"><capabilities>");
    for uri in capabilities.iter() {
        super::rpc::check_value("capability", uri)?;
        out.push_str("<capability>");
        out.push_str(&escape_text(uri));
        out.push_str("</capability>");
    }
    out.push_str("</capabilities></hello>");
    Ok(out)
}

// === impl ServerHello ===

impl ServerHello {
    /// Parses a server hello message.
    pub fn parse(bytes: &[u8], limits: &XmlLimits) -> Result<Self, MessageError> {
        let root = parse_root(bytes, limits)?;
        Self::from_element(&root)
    }

    /// Reads a server hello from its parsed root element.
    pub fn from_element(root: &Element) -> Result<Self, MessageError> {
        if !root.is(NETCONF_BASE_NS, "hello") {
            return Err(unexpected(root));
        }
        let capabilities = root
            .child(NETCONF_BASE_NS, "capabilities")
            .map(|caps| {
                Capabilities::new(
                    caps.children
                        .iter()
                        .filter(|c| c.is(NETCONF_BASE_NS, "capability"))
                        .map(|c| c.text.as_str()),
                )
            })
            .unwrap_or_default();
        let found = root.child_text(NETCONF_BASE_NS, "session-id");
        let session_id = found
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|id| *id != 0)
            .ok_or_else(|| MessageError::BadSessionId {
                found: found.map(str::to_owned),
            })?;
        Ok(Self {
            capabilities,
            session_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_netconfd_hello() {
        let hello = ServerHello::parse(
            include_bytes!("testdata/netconfd-hello.xml"),
            &XmlLimits::default(),
        )
        .unwrap();
        assert_eq!(hello.session_id, 2);
        let caps = &hello.capabilities;
        for uri in [
            BASE_1_0,
            BASE_1_1,
            CANDIDATE,
            CONFIRMED_COMMIT_1_1,
            VALIDATE_1_1,
            ROLLBACK_ON_ERROR,
        ] {
            assert!(caps.has(uri), "{uri}");
        }
        assert!(!caps.has(WRITABLE_RUNNING));
        assert!(caps.has("urn:ietf:params:netconf:capability:with-defaults:1.0"));
        let ip = caps.module("ietf-ip").unwrap();
        assert_eq!(ip.namespace, "urn:ietf:params:xml:ns:yang:ietf-ip");
        assert_eq!(ip.revision.as_deref(), Some("2014-06-16"));
        assert_eq!(
            ip.features,
            ["ipv4-non-contiguous-netmasks", "ipv6-privacy-autoconf"]
        );
        assert!(caps.modules().len() > 20);
    }

    #[test]
    fn session_id_is_required_and_positive() {
        let limits = XmlLimits::default();
        for body in [
            "",
            "<session-id>0</session-id>",
            "<session-id>x</session-id>",
        ] {
            let doc = format!(
                "<hello xmlns=\"{NETCONF_BASE_NS}\"><capabilities><capability>{BASE_1_0}</capability></capabilities>{body}</hello>"
            );
            assert!(matches!(
                ServerHello::parse(doc.as_bytes(), &limits),
                Err(MessageError::BadSessionId { .. })
            ));
        }
    }

    #[test]
    fn client_hello_escapes_and_round_trips() {
        let caps = Capabilities::new([BASE_1_1, "urn:x?a=1&b=2"]);
        let xml = client_hello(&caps).unwrap();
        assert!(xml.contains("urn:x?a=1&amp;b=2"));
        let root = super::super::xml::parse_document(&xml, &XmlLimits::default()).unwrap();
        let back = Capabilities::new(root.children[0].children.iter().map(|c| c.text.as_str()));
        assert_eq!(back, caps);
        assert!(client_hello(&Capabilities::new(["bad\u{1}"])).is_err());
    }
}
