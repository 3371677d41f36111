//! Building NETCONF requests (RFC 6241 and RFC 6241 §8.4 confirmed commit). Pure functions:
//! every value that comes from outside is XML-escaped, and configuration payloads are checked
//! for well-formedness before they are sent.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The NETCONF base namespace.
pub const NETCONF_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// A configuration datastore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Datastore {
    /// `<running/>`.
    Running,
    /// `<candidate/>` (needs `:candidate`).
    Candidate,
    /// `<startup/>` (needs `:startup`).
    Startup,
}

impl Datastore {
    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Candidate => "candidate",
            Self::Startup => "startup",
        }
    }
}

/// A `<filter>` for get and get-config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A subtree filter: the XML placed inside `<filter type="subtree">`.
    Subtree(String),
    /// An XPath filter (needs `:xpath`): the expression and the prefixes it uses.
    XPath {
        /// The `select` expression.
        select: String,
        /// `(prefix, namespace URI)` pairs declared on the filter element.
        namespaces: Vec<(String, String)>,
    },
}

/// `default-operation` of edit-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultOperation {
    /// Merge the payload into the datastore (the protocol default).
    Merge,
    /// Replace the datastore's content with the payload.
    Replace,
    /// Touch only nodes with an explicit `operation` attribute.
    None,
}

/// `error-option` of edit-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOption {
    /// Stop at the first error (the protocol default).
    StopOnError,
    /// Apply what can be applied.
    ContinueOnError,
    /// Undo everything on error (needs `:rollback-on-error`).
    RollbackOnError,
}

/// `test-option` of edit-config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOption {
    /// Validate, then set.
    TestThenSet,
    /// Set without validation.
    Set,
    /// Validate only.
    TestOnly,
}

/// The optional parameters of edit-config; `Default` leaves all of them to the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditOptions {
    /// `default-operation`.
    pub default_operation: Option<DefaultOperation>,
    /// `error-option`.
    pub error_option: Option<ErrorOption>,
    /// `test-option`.
    pub test_option: Option<TestOption>,
}

/// The `<rpc>` envelope around an operation. The `nc` prefix is declared for the base
/// namespace so payloads may use `nc:operation="delete"` without declaring it themselves.
pub fn envelope(message_id: u64, operation: &str) -> String {
    format!(
        "<rpc message-id=\"{message_id}\" xmlns=\"{NETCONF_NS}\" xmlns:nc=\"{NETCONF_NS}\">{operation}</rpc>"
    )
}

/// The client `<hello>`.
pub fn hello(offer_1_1: bool) -> String {
    let mut caps = String::from("<capability>urn:ietf:params:netconf:base:1.0</capability>");
    if offer_1_1 {
        caps.push_str("<capability>urn:ietf:params:netconf:base:1.1</capability>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><hello xmlns=\"{NETCONF_NS}\"><capabilities>{caps}</capabilities></hello>"
    )
}

fn filter_xml(filter: Option<&Filter>) -> String {
    match filter {
        None => String::new(),
        Some(Filter::Subtree(xml)) => format!("<filter type=\"subtree\">{xml}</filter>"),
        Some(Filter::XPath { select, namespaces }) => {
            let mut out = String::from("<filter type=\"xpath\"");
            for (prefix, uri) in namespaces {
                let _ = write!(out, " xmlns:{}=\"{}\"", escape(prefix), escape(uri));
            }
            let _ = write!(out, " select=\"{}\"/>", escape(select));
            out
        }
    }
}

/// `<get-config>`.
pub fn get_config(source: Datastore, filter: Option<&Filter>) -> String {
    format!(
        "<get-config><source><{}/></source>{}</get-config>",
        source.name(),
        filter_xml(filter)
    )
}

/// `<get>`.
pub fn get(filter: Option<&Filter>) -> String {
    format!("<get>{}</get>", filter_xml(filter))
}

/// `<edit-config>`; `config` is the content of `<config>`.
pub fn edit_config(target: Datastore, config: &str, options: EditOptions) -> String {
    let mut out = format!("<edit-config><target><{}/></target>", target.name());
    if let Some(op) = options.default_operation {
        let op = match op {
            DefaultOperation::Merge => "merge",
            DefaultOperation::Replace => "replace",
            DefaultOperation::None => "none",
        };
        let _ = write!(out, "<default-operation>{op}</default-operation>");
    }
    if let Some(opt) = options.test_option {
        let opt = match opt {
            TestOption::TestThenSet => "test-then-set",
            TestOption::Set => "set",
            TestOption::TestOnly => "test-only",
        };
        let _ = write!(out, "<test-option>{opt}</test-option>");
    }
    if let Some(opt) = options.error_option {
        let opt = match opt {
            ErrorOption::StopOnError => "stop-on-error",
            ErrorOption::ContinueOnError => "continue-on-error",
            ErrorOption::RollbackOnError => "rollback-on-error",
        };
        let _ = write!(out, "<error-option>{opt}</error-option>");
    }
    let _ = write!(out, "<config>{config}</config></edit-config>");
    out
}

/// `<lock>`.
pub fn lock(target: Datastore) -> String {
    format!("<lock><target><{}/></target></lock>", target.name())
}

/// `<unlock>`.
pub fn unlock(target: Datastore) -> String {
    format!("<unlock><target><{}/></target></unlock>", target.name())
}

/// A plain `<commit/>`; with `persist_id`, the confirming commit of a persistent confirmed
/// commit (which may come from another session).
pub fn commit(persist_id: Option<&str>) -> String {
    match persist_id {
        None => "<commit/>".to_string(),
        Some(id) => format!("<commit><persist-id>{}</persist-id></commit>", escape(id)),
    }
}

/// A confirmed commit that the device rolls back after `timeout_secs` unless confirmed;
/// with `persist`, the pending commit survives the session and is addressed by that id.
pub fn commit_confirmed(timeout_secs: u32, persist: Option<&str>) -> String {
    let mut out = format!("<commit><confirmed/><confirm-timeout>{timeout_secs}</confirm-timeout>");
    if let Some(id) = persist {
        let _ = write!(out, "<persist>{}</persist>", escape(id));
    }
    out.push_str("</commit>");
    out
}

/// `<cancel-commit>`, optionally for a persistent confirmed commit.
pub fn cancel_commit(persist_id: Option<&str>) -> String {
    match persist_id {
        None => "<cancel-commit/>".to_string(),
        Some(id) => format!(
            "<cancel-commit><persist-id>{}</persist-id></cancel-commit>",
            escape(id)
        ),
    }
}

/// `<discard-changes/>`.
pub fn discard_changes() -> String {
    "<discard-changes/>".to_string()
}

/// `<validate>`.
pub fn validate(source: Datastore) -> String {
    format!("<validate><source><{}/></source></validate>", source.name())
}

/// `<close-session/>`.
pub fn close_session() -> String {
    "<close-session/>".to_string()
}

/// Checks that an XML fragment (possibly several sibling elements) is well formed, so that a
/// broken template is reported locally instead of as a device parse error (which some devices
/// answer by dropping the session).
pub fn check_fragment(fragment: &str) -> Result<(), String> {
    let mut reader = Reader::from_str(fragment);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::DocType(_)) => return Err("DOCTYPE is not allowed".into()),
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| e.to_string())?;
                if !name.starts_with('#')
                    && quick_xml::escape::resolve_predefined_entity(&name).is_none()
                {
                    return Err(format!("unknown entity &{name};"));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!("{e} at byte {}", reader.error_position()));
            }
        }
    }
    if depth != 0 {
        return Err("unclosed element".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_ids_are_escaped() {
        assert_eq!(
            commit_confirmed(2, Some("tx<1>&")),
            "<commit><confirmed/><confirm-timeout>2</confirm-timeout><persist>tx&lt;1&gt;&amp;</persist></commit>"
        );
        assert_eq!(
            commit(Some("a\"b")),
            "<commit><persist-id>a&quot;b</persist-id></commit>"
        );
        assert_eq!(
            cancel_commit(Some("x")),
            "<cancel-commit><persist-id>x</persist-id></cancel-commit>"
        );
        assert_eq!(commit(None), "<commit/>");
    }

    #[test]
    fn edit_config_orders_parameters_as_the_schema_does() {
        let xml = edit_config(
            Datastore::Candidate,
            "<x/>",
            EditOptions {
                default_operation: Some(DefaultOperation::None),
                error_option: Some(ErrorOption::RollbackOnError),
                test_option: Some(TestOption::TestThenSet),
            },
        );
        assert_eq!(
            xml,
            "<edit-config><target><candidate/></target><default-operation>none</default-operation>\
             <test-option>test-then-set</test-option><error-option>rollback-on-error</error-option>\
             <config><x/></config></edit-config>"
        );
    }

    #[test]
    fn xpath_filter_declares_prefixes() {
        let f = Filter::XPath {
            select: "/if:interfaces/if:interface[if:name='a']".into(),
            namespaces: vec![(
                "if".into(),
                "urn:ietf:params:xml:ns:yang:ietf-interfaces".into(),
            )],
        };
        assert_eq!(
            get_config(Datastore::Running, Some(&f)),
            "<get-config><source><running/></source><filter type=\"xpath\" \
             xmlns:if=\"urn:ietf:params:xml:ns:yang:ietf-interfaces\" \
             select=\"/if:interfaces/if:interface[if:name=&apos;a&apos;]\"/></get-config>"
        );
    }

    #[test]
    fn fragments_are_checked() {
        assert!(check_fragment("<a><b>x &amp; y</b></a><c/>").is_ok());
        assert!(check_fragment("<a><b></a>").is_err());
        assert!(check_fragment("<a>").is_err());
        assert!(check_fragment("<a>&nbsp;</a>").is_err());
        assert!(check_fragment("<!DOCTYPE a><a/>").is_err());
    }
}
